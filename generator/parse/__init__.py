"""Bytes -> entries: feed formats (RSS, Atom, JSON Feed) and the pure normalizers they share.

``parse_feed`` (and feedparser with it) is imported when first asked for: the renderers use
the normalizers, and a digest on demand must not pay for the feed parser."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .feeds import parse_feed


def __getattr__(name: str) -> Any:
    if name != "parse_feed":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from .feeds import parse_feed

    return parse_feed


__all__ = ["parse_feed"]
