"""The stored items and the account's needs as terms: analyzed once, shared by every account.

:class:`Corpus` keeps each item's terms, their rarity (IDF) and an inverted index from terms
and related-word groups to items, so ranking an account touches only the items that can
clear zero (:meth:`Corpus.meeting`). :class:`Need` is one problem statement as the concepts to
look for. Pure: no I/O.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import pairwise

from .lexicon import Lexicon, Phrase, lexicon
from .models import Item
from .text import phrase_in, surface_words, terms

MIN_COVERAGE = 0.3
"""A problem is met only when the item covers this share of its concepts' weight."""
MAX_CONCEPTS = 4
"""A long problem only has to cover its heaviest concepts."""


@dataclass(frozen=True)
class Doc:
    """An item's text, analyzed once and shared by every account."""

    item: Item
    title: Phrase
    body: Phrase
    title_set: frozenset[str]
    all_set: frozenset[str]
    groups: Mapping[int, tuple[Phrase, bool]]
    """Related groups the text touches -> (the member phrase found, whether in the title)."""

    def has(self, phrase: Phrase) -> bool:
        if len(phrase) == 1:
            return phrase[0] in self.all_set
        return self.all_set.issuperset(phrase) and (
            phrase_in(phrase, self.title) or phrase_in(phrase, self.body)
        )


def analyze(item: Item, lex: Lexicon | None = None) -> Doc:
    lex = lex or lexicon()
    title = tuple(terms(item.title))
    body = tuple(terms(f"{item.summary} {' '.join(item.categories)}"))
    groups: dict[int, tuple[Phrase, bool]] = {
        g: (member, True) for g, member in lex.groups_in(title).items()
    }
    for g, member in lex.groups_in(body).items():
        groups.setdefault(g, (member, False))
    return Doc(item, title, body, frozenset(title), frozenset(title + body), groups)


class Corpus:
    """The stored items with their term statistics, built once and reused across accounts."""

    def __init__(self, items: Iterable[Item], lex: Lexicon | None = None) -> None:
        self.lexicon = lex or lexicon()
        self.docs: tuple[Doc, ...] = tuple(analyze(i, self.lexicon) for i in items)
        frequency: Counter[str] = Counter()
        self.postings: dict[str, list[int]] = {}
        self.group_postings: dict[int, list[int]] = {}
        for index, doc in enumerate(self.docs):
            frequency.update(doc.all_set)
            for term in doc.all_set:
                self.postings.setdefault(term, []).append(index)
            for group in doc.groups:
                self.group_postings.setdefault(group, []).append(index)
        n = len(self.docs) or 1
        self._idf = {t: math.log(1 + (n - df + 0.5) / (df + 0.5)) for t, df in frequency.items()}
        self.default_idf = math.log(1 + (n + 0.5) / 0.5)
        self.by_url = {d.item.url: d for d in self.docs}
        self._shown: dict[str, dict[str, str]] = {}

    def idf(self, term: str) -> float:
        return self._idf.get(term, self.default_idf)

    def shown(self, doc: Doc) -> Mapping[str, str]:
        """The item's words for each of its terms (for reasons), worked out once per run."""
        key = doc.item.id
        if key not in self._shown:
            self._shown[key] = item_surface(doc.item)
        return self._shown[key]

    def with_concept(self, concept: Concept) -> set[int]:
        """Docs using the concept's word or a word of one of its related groups."""
        found = set(self.postings.get(concept.term, ()))
        for group in concept.groups:
            found.update(self.group_postings.get(group, ()))
        return found

    def with_phrase(self, phrase: Phrase) -> set[int]:
        """Docs holding every word of ``phrase`` (somewhere: :meth:`Doc.has` checks the order)."""
        found = set(self.postings.get(phrase[0], ()))
        for term in phrase[1:]:
            found.intersection_update(self.postings.get(term, ()))
        return found

    def meeting(self, need: Need) -> set[int]:
        """Docs that may meet ``need``: a superset of those where :attr:`NeedMatch.counts`.

        Counts the concepts each doc could meet (ignoring word senses, which only take
        matches away) and their best possible weight, so most docs are never scored.
        """
        weights = [self.idf(c.term) for c in need.concepts]
        if not weights:
            return set()
        sets = [self.with_concept(c) for c in need.concepts]
        seen: Counter[int] = Counter()
        for docs in sets:
            seen.update(docs)
        wanted = min(2, len(weights))
        # Slack for rounding: the gate may let a doc through, never keep a match out.
        floor = MIN_COVERAGE * sum(sorted(weights, reverse=True)[:MAX_CONCEPTS]) * (1 - 1e-9)
        return {
            d
            for d, n in seen.items()
            if n >= wanted
            and sum(w for w, docs in zip(weights, sets, strict=True) if d in docs) >= floor
        }


@dataclass(frozen=True)
class Concept:
    term: str
    word: str
    groups: tuple[int, ...]
    """The related groups of the word, in the lexicon's order (the first one found counts)."""


@dataclass(frozen=True)
class Need:
    """One problem statement (or a stakeholder's concern) as concepts to look for."""

    text: str
    concepts: tuple[Concept, ...]
    pairs: tuple[Phrase, ...]


def make_need(text: str, lex: Lexicon) -> Need:
    stems = terms(text)
    shown = surface_words(text)
    groups: dict[str, set[int]] = {t: set(lex.groups_for((t,))) for t in stems}
    for i in range(len(stems)):
        for member in lex.members_by_first.get(stems[i], ()):
            if len(member) > 1 and tuple(stems[i : i + len(member)]) == member:
                for t in member:
                    groups[t].update(lex.groups_of[member])
    concepts = tuple(
        Concept(t, shown.get(t, t), tuple(sorted(groups[t]))) for t in dict.fromkeys(stems)
    )
    pairs = tuple(dict.fromkeys((a, b) for a, b in pairwise(stems) if a != b))
    return Need(text, concepts, pairs)


def item_surface(item: Item) -> dict[str, str]:
    """The item's words as written, by term, for quoting in reasons."""
    return surface_words(f"{item.title} {item.summary} {' '.join(item.categories)}")
