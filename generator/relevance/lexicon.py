"""The ranker's vocabulary: related-word groups and word senses.

The package's ``data/lexicon.yml`` is the default; a project adds its own industry's words in
``content/lexicon.yml`` (:class:`~generator.models.Vocabulary`, merged over the default).
``related`` lets "keeping drivers" meet "truckers quit"; ``senses`` keeps "driver" from meeting
a GPU driver update (see the data file's header). Pure; each combination is built once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from ..models import Vocabulary
from .text import lexicon_data, phrase_in, terms

Phrase = tuple[str, ...]


@dataclass(frozen=True)
class Lexicon:
    """Stemmed lookups built from the data file."""

    groups_of: Mapping[Phrase, frozenset[int]]
    """A member phrase (usually one term) -> the ids of the groups it belongs to."""
    members_by_first: Mapping[str, tuple[Phrase, ...]]
    """First term -> member phrases starting with it, longest first (for scanning a text)."""
    senses: Mapping[Phrase, Mapping[str, tuple[Phrase, ...]]]
    """An ambiguous word or phrase -> sense name -> the cue phrases that signal that sense."""
    general: frozenset[str] = frozenset()
    """Terms any line of business uses: never on their own a sign of an account's field."""

    def groups_in(self, text_terms: Sequence[str]) -> dict[int, Phrase]:
        """The related groups a text touches, each with the first member phrase that touched it."""
        found: dict[int, Phrase] = {}
        for i, term in enumerate(text_terms):
            for member in self.members_by_first.get(term, ()):
                if tuple(text_terms[i : i + len(member)]) == member:
                    for group in self.groups_of[member]:
                        found.setdefault(group, member)
        return found

    def groups_for(self, phrase: Phrase) -> frozenset[int]:
        return self.groups_of.get(phrase, frozenset())

    def chosen_senses(self, context_terms: Sequence[str]) -> dict[Phrase, tuple[Phrase, ...]]:
        """For each ambiguous word, the cues of the senses the given context (an account) means.

        A word whose senses the context does not signal is left out: it then counts as is.
        """
        chosen: dict[Phrase, tuple[Phrase, ...]] = {}
        for word, senses in self.senses.items():
            cues = [
                cue
                for cue_list in senses.values()
                if any(phrase_in(c, context_terms) for c in cue_list)
                for cue in cue_list
            ]
            if cues:
                chosen[word] = tuple(cues)
        return chosen


def _phrases(values: Iterable[object]) -> list[Phrase]:
    return [p for p in (tuple(terms(str(v))) for v in values) if p]


NO_VOCABULARY = Vocabulary()


@lru_cache(maxsize=8)
def lexicon(vocabulary: Vocabulary = NO_VOCABULARY, *, package: bool = True) -> Lexicon:
    """The package lexicon (unless ``package`` is false) with the project's ``vocabulary``.

    A project's related group is one more group; a project's senses for a word replace the
    package's senses of that word (the team knows which senses its accounts mean).
    """
    data = lexicon_data() if package else {}
    related = [*(data.get("related") or ()), *vocabulary.related]
    raw_senses: dict[str, object] = dict(data.get("senses") or {})
    for word, own in vocabulary.senses:
        raw_senses[word] = dict(own)
    general_words = [str(w) for words in data.get("general") or () for w in words or ()]
    groups_of: dict[Phrase, set[int]] = {}
    for group_id, members in enumerate(related):
        for member in _phrases(members or ()):
            groups_of.setdefault(member, set()).add(group_id)
    by_first: dict[str, list[Phrase]] = {}
    for member in groups_of:
        by_first.setdefault(member[0], []).append(member)
    senses: dict[Phrase, dict[str, tuple[Phrase, ...]]] = {}
    for word, table in raw_senses.items():
        key = tuple(terms(str(word)))
        if key and isinstance(table, dict):
            senses[key] = {str(name): tuple(_phrases(cues or ())) for name, cues in table.items()}
    general = {t for w in [*general_words, *vocabulary.general] for t in terms(w)}
    return Lexicon(
        groups_of={m: frozenset(g) for m, g in groups_of.items()},
        members_by_first={
            k: tuple(sorted(v, key=lambda p: (-len(p), p))) for k, v in by_first.items()
        },
        senses=senses,
        general=frozenset(general),
    )
