"""Pure text helpers shared by the ranker: tokens, light stemming, same-as rewrites, phrases.

Every text the ranker compares (an account's problems, a topic's phrases, a feed item) goes
through :func:`terms`, so both sides of a comparison are normalized the same way: casefolded
words, stopwords dropped, the lexicon's ``same`` phrases rewritten ("truckers" reads as "truck
driver", "lift truck" as "forklift"), then lightly stemmed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from importlib import resources
from typing import Any, TypeVar

import yaml

_STOPWORD_TEXT = """
    a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers him his how i if in into is it its itself
    just me more most my no nor not now of off on once only or other our ours out over own
    same she should so some such than that the their them then there these they this those
    through to too under until up very was we were what when where which while who whom why
    will with would you your yours new says said also get gets got make makes made many much
    per via amid across within without us them one two three year years week weeks day days
    don won isn aren doesn didn wasn weren haven hasn couldn shouldn wouldn let lets ve ll re
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())

_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
_CAPITALS = re.compile(r"\b[A-Z][A-Z0-9]+\b")
LEXICON_FILE = "lexicon.yml"


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


def _content_words(text: str) -> list[str]:
    """Words that carry meaning: no stopwords (also "can't" -> "can"), no single letters."""
    kept = []
    for w in words(text):
        base = w.replace("’", "'").split("'")[0] if "'" in w or "’" in w else w
        if len(base) > 1 and base not in STOPWORDS:
            kept.append(base)
    return kept


@lru_cache(maxsize=1)
def lexicon_data() -> Mapping[str, Any]:
    """The packaged lexicon (``generator/data/lexicon.yml``), read once per process."""
    text = (resources.files("generator") / "data" / LEXICON_FILE).read_text(encoding="utf-8")
    data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml: 10x
    return data if isinstance(data, dict) else {}


Rewrites = Mapping[str, Sequence[tuple[tuple[str, ...], tuple[str, ...]]]]


@lru_cache(maxsize=1)
def _rewrites() -> Rewrites:
    """First word -> [(variant words, replacement words)], longest variant first."""
    table: dict[str, list[tuple[tuple[str, ...], tuple[str, ...]]]] = {}
    for key, variants in (lexicon_data().get("same") or {}).items():
        target = tuple(_content_words(str(key)))
        for variant in variants or ():
            phrase = tuple(_content_words(str(variant)))
            if phrase and phrase != target:
                table.setdefault(phrase[0], []).append((phrase, target))
    for entries in table.values():
        entries.sort(key=lambda e: -len(e[0]))
    return table


def _rewrite(tokens: list[str]) -> list[str]:
    table = _rewrites()
    out: list[str] = []
    i = 0
    while i < len(tokens):
        for phrase, target in table.get(tokens[i], ()):
            if tuple(tokens[i : i + len(phrase)]) == phrase:
                out.extend(target)
                i += len(phrase)
                break
        else:
            out.append(tokens[i])
            i += 1
    return out


def terms(text: str) -> list[str]:
    """Stemmed content words, in order, stopwords removed, same-as phrases rewritten."""
    return [stem(w) for w in _rewrite(_content_words(text))]


T = TypeVar("T", str, int)


def phrase_in(phrase_terms: tuple[T, ...], text_terms: Sequence[T]) -> bool:
    """Whether the stemmed phrase occurs as a contiguous run in the stemmed text (terms, or
    their numbers in a corpus)."""
    n = len(phrase_terms)
    if n == 0:
        return False
    first = phrase_terms[0]
    if n == 1:
        return first in text_terms
    try:
        i = text_terms.index(first)
        while True:
            if tuple(text_terms[i : i + n]) == phrase_terms:
                return True
            i = text_terms.index(first, i + 1)
    except ValueError:
        return False


def _acronyms(text: str) -> dict[str, str]:
    """Casefolded word -> as written, for the words written in capitals ("FSMA", "ER")."""
    return {w.casefold(): w for w in reversed(_CAPITALS.findall(text))}


def surface_words(text: str) -> dict[str, str]:
    """Each stemmed term of ``text`` -> the words the text used for it (for explanations).

    A rewritten phrase maps each of its replacement's terms to the original words, so a reason
    can say 'truckers' where the ranker saw "truck driver". Words are lower case, except those
    written in capitals ('FSMA', 'ER'), which keep them.
    """
    tokens = _content_words(text)
    capitals = _acronyms(text)
    table = _rewrites()
    found: dict[str, str] = {}
    i = 0
    while i < len(tokens):
        for phrase, target in table.get(tokens[i], ()):
            if tuple(tokens[i : i + len(phrase)]) == phrase:
                for word in target:
                    found.setdefault(stem(word), " ".join(capitals.get(w, w) for w in phrase))
                i += len(phrase)
                break
        else:
            found.setdefault(stem(tokens[i]), capitals.get(tokens[i], tokens[i]))
            i += 1
    return found
