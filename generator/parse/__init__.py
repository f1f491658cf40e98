"""Bytes -> entries: feed formats (RSS, Atom, JSON Feed) and the pure normalizers they share."""

from .feeds import parse_feed

__all__ = ["parse_feed"]
