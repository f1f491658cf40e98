"""Getting a feed's bytes: over HTTP (:mod:`.http`) or from a file in ``feeds/`` (:mod:`.local`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Fetched:
    """What a source returned: bytes to parse, or ``not_modified`` for a conditional hit."""

    url: str
    data: bytes = b""
    content_type: str = ""
    etag: str = ""
    last_modified: str = ""
    not_modified: bool = False
    moved_to: str = ""


__all__ = ["Fetched"]
