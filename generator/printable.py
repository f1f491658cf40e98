"""Text safe to print on a terminal, or to store for printing later. Pure, and imports nothing
of the project's, so every layer (the checker, the fetcher, the CLI) can use the one function.

Feeds, servers (an HTTP reason phrase) and the team's YAML files can all carry escape
sequences that recolour, retitle or rewrite a terminal, bidirectional overrides that make text
read backwards, and a stray byte-order mark (U+FEFF) from an editor that would otherwise travel
into every output.
"""

from __future__ import annotations

import re

_UNPRINTABLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\ud800-\udfff]"
)


def printable(text: str) -> str:
    """``text`` without control characters (C0 but tab and line feed, DEL, C1: so no escape
    sequence), bidirectional controls, zero-width characters, byte-order marks or lone
    surrogates (JSON Feed's ``"\\ud800"`` decodes to one; no encoder accepts it)."""
    return _UNPRINTABLE.sub("", str(text))
