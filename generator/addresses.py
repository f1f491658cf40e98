"""Email addresses: one validator for ``kb check`` and the ``.eml`` writer, and the one way an
address header is built.

Both sides use :class:`email.headerregistry.Address`, so an address ``kb check`` accepts is one
the draft can carry, exactly as written (``a(comment)@x.example`` would silently become
``a@x.example``: it is refused). A display name is text from the team's files; one that holds
an RFC 2047 encoded word (``=?utf-8?b?...?=``) would be decoded by mail readers, and by
Python's own header folding, into something else, even another recipient: the ``=?`` that
opens an encoded word is broken up before the name goes into the header.
"""

from __future__ import annotations

import re
from email.errors import HeaderParseError
from email.headerregistry import Address

_SHAPE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def email_problem(email: str) -> str | None:
    """Why ``email`` cannot be a recipient or sender, or None when it can."""
    if not email.isascii() or not _SHAPE.fullmatch(email):
        return "is not a plain (ASCII) email address"
    try:
        parsed = Address(addr_spec=email).addr_spec
    except (ValueError, IndexError, HeaderParseError):
        return "is not a valid email address"
    if parsed != email:
        return "is not a plain email address (comments and quoting are not allowed)"
    return None


def safe_display_name(name: str) -> str:
    """The name on one line, with no sequence a mail reader would decode as an encoded word."""
    return " ".join(name.replace("=?", "= ?").split())


def address(name: str, email: str) -> Address:
    """The header value for ``name <email>``; ValueError when the email is refused."""
    problem = email_problem(email)
    if problem:
        raise ValueError(problem)
    return Address(display_name=safe_display_name(name), addr_spec=email)
