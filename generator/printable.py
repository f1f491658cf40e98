"""Text safe to print on a terminal, or to store for printing later. Pure, and imports nothing
of the project's, so every layer (the checker, the fetcher, the CLI) can use the one function.

Feeds, servers (an HTTP reason phrase) and the team's YAML files can all carry escape
sequences that recolour, retitle or rewrite a terminal, bidirectional overrides that make text
read backwards, and a stray byte-order mark (U+FEFF) from an editor that would otherwise travel
into every output.
"""

from __future__ import annotations

import re

# Whole escape sequences (ECMA-48), so none leaves its tail behind ("[31m" of ESC [31m): a
# control sequence (CSI: ESC [ or U+009B, parameters, intermediates, a final byte); a control
# string (OSC, DCS, SOS, PM, APC) with its terminator (BEL, ESC \ or U+009C; without one only
# its introducer goes, since text decoded with the wrong code page is full of C1 characters);
# ESC with intermediates and a final byte (ESC ( B); ESC and one byte (ESC c).
_ESCAPE_SEQUENCE = re.compile(
    "(?:\x1b\\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]"
    "|(?:\x1b[\\]PX^_]|[\x90\x98\x9d-\x9f])[^\x00-\x1f\x7f-\x9f]*(?:\x07|\x1b\\\\|\x9c)"
    "|\x1b[\x20-\x2f]+[\x30-\x7e]"
    "|\x1b[\x30-\x7e]"
)
_UNPRINTABLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\ud800-\udfff]"
)


def printable(text: str) -> str:
    """``text`` without escape sequences (whole), control characters (C0 but tab and line feed,
    DEL, C1), bidirectional controls, zero-width characters, byte-order marks or lone
    surrogates (JSON Feed's ``"\\ud800"`` decodes to one; no encoder accepts it)."""
    return _UNPRINTABLE.sub("", _ESCAPE_SEQUENCE.sub("", str(text)))
