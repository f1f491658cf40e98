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
_WRITTEN = re.compile(_WORD.pattern, re.IGNORECASE)
_CAPITALS = re.compile(r"\b[A-Z][A-Z0-9]+s?\b|\b[a-z]+[A-Z]\w*")
"""Words whose capitals are not a sentence's first letter: 'FSMA', 'ER', 'ZTRs', 'iPhone'."""
_NAMED = re.compile(r"\b[a-z][\w'’-]*,? +([A-Z][a-z0-9]+)\b")
"""A capitalised word after a lower-case one: a name ('owners of Riblet'), not a sentence's
first word."""
_SENTENCE = re.compile(r"(?<=[.!?;:])\s+")
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


def _kept_case(text: str) -> dict[str, str]:
    """Casefolded word -> as written, for acronyms and names ("FSMA", "ZTRs", "Riblet")."""
    found = [*_CAPITALS.findall(text), *(n for s in _SENTENCE.split(text) for n in _names(s))]
    return {w.casefold(): w for w in reversed(found)}


def _names(sentence: str) -> list[str]:
    """The names a sentence writes capitalised, none in a title's capitals ("Cuts Hit the
    Mountain": every word it writes in lower case is a stopword)."""
    lower = [w for w in _WRITTEN.findall(sentence) if w[0].islower()]
    return _NAMED.findall(sentence) if any(w not in STOPWORDS for w in lower) else []


def surface_words(text: str) -> dict[str, str]:
    """Each stemmed term of ``text`` -> the words the text used for it (for explanations).

    A rewritten phrase maps each of its replacement's terms to the original words, so a reason
    can say 'truckers' where the ranker saw "truck driver". Words are lower case, except
    acronyms and names (see :func:`_kept_case`), which keep their capitals.
    """
    tokens = _content_words(text)
    capitals = _kept_case(text)
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


def surface_phrase(text: str, phrase: Sequence[str]) -> str:
    """The stemmed ``phrase`` as ``text`` first wrote it ("fixed-grip chairs" for fix grip
    chair), lower case but for acronyms and names; "" when the text does not say it."""
    spans: list[tuple[int, int]] = []
    tokens: list[str] = []
    for m in _WRITTEN.finditer(text):
        word = m.group().casefold()
        base = word.replace("’", "'").split("'")[0]
        if len(base) > 1 and base not in STOPWORDS:
            spans.append(m.span())
            tokens.append(base)
    found = _rewritten_spans(tokens, spans)
    n = len(phrase)
    at = next(
        (i for i in range(len(found) - n + 1)
         if tuple(stem(t) for t, _ in found[i : i + n]) == tuple(phrase)),
        None,
    )  # fmt: skip
    if at is None or n == 0:
        return ""
    kept = _kept_case(text)
    said = text[found[at][1][0] : found[at + n - 1][1][1]]
    return _WRITTEN.sub(lambda m: kept.get(m.group().casefold(), m.group().casefold()), said)


def _rewritten_spans(
    tokens: list[str], spans: list[tuple[int, int]]
) -> list[tuple[str, tuple[int, int]]]:
    """The tokens with the same-as phrases rewritten, each with the span of the words it
    stands for (a rewritten phrase's words all stand for the phrase's span)."""
    table = _rewrites()
    out: list[tuple[str, tuple[int, int]]] = []
    i = 0
    while i < len(tokens):
        for variant, target in table.get(tokens[i], ()):
            if tuple(tokens[i : i + len(variant)]) == variant:
                span = (spans[i][0], spans[i + len(variant) - 1][1])
                out.extend((word, span) for word in target)
                i += len(variant)
                break
        else:
            out.append((tokens[i], spans[i]))
            i += 1
    return out
