"""Pure text helpers shared by the ranker: tokens, light stemming and phrase search."""

from __future__ import annotations

import re
from functools import lru_cache

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers him his how i if in into is it its itself just me more
    most my no nor not now of off on once only or other our ours out over own same she should so
    some such than that the their them then there these they this those through to too under
    until up very was we were what when where which while who whom why will with would you your
    yours new says said also get gets got make makes made many much per via amid across within
    without us them one two three year years week weeks day days""".split()
)  # fmt: skip

_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light suffix stripper: enough to meet 'drivers'/'driver', 'staffing'/'staff'."""
    word = word.replace("’", "'").split("'")[0]
    for suffix, keep in (
        ("ations", 3), ("ation", 3), ("ings", 3), ("ing", 3), ("edly", 3), ("ies", 3),
        ("ers", 3), ("ed", 3), ("er", 4), ("es", 4), ("ly", 4), ("s", 3),
    ):  # fmt: skip
        if word.endswith(suffix) and len(word) - len(suffix) >= keep:
            word = word[: -len(suffix)]
            if suffix == "ies":
                word += "y"
            break
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
        word = word[:-1]
    return word


def words(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def terms(text: str) -> list[str]:
    """Stemmed content words, in order, stopwords removed."""
    return [stem(w) for w in words(text) if w not in STOPWORDS and len(w) > 1]


def phrase_in(phrase_terms: tuple[str, ...], text_terms: list[str]) -> bool:
    """Whether the stemmed phrase occurs as a contiguous run in the stemmed text."""
    n = len(phrase_terms)
    if n == 0:
        return False
    if n == 1:
        return phrase_terms[0] in text_terms
    first = phrase_terms[0]
    return any(
        text_terms[i : i + n] == list(phrase_terms)
        for i, term in enumerate(text_terms[: len(text_terms) - n + 1])
        if term == first
    )
