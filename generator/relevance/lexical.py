"""Lexical evidence: the account's words (or related words) in the item, for every item at once.

A problem is a few concepts (its content words). An item meets a concept when it uses the word
itself, or a word of one of the concept's related groups at a discount ("quit" for "keeping"),
and a word in the title counts more than one in the summary. Concepts weigh by their rarity in
the stored items (IDF; a word no stored item uses is the rarest of all). A problem counts as met
when the item meets at least two of its concepts, covers a fair share of its weight, and meets
one of its *distinctive* concepts (the heaviest ones that are not general words): "permit
backlog for food trucks" meets only the generic words of "permits for rooftop solar".

Ambiguous words ("driver", "recall"...) count only when the item carries a cue of the sense the
account means. Everything is computed as columns of the corpus' sparse matrices: a loop over
the account's few concepts, never over items.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .index import Corpus, Floats
from .lexicon import Phrase
from .needs import Need, PhraseRule, Profile
from .text import phrase_in

RELATED_CREDIT = 0.6
PHRASE_BONUS = 0.1
MIN_COVERAGE = 0.3
"""A problem is met only when the item covers this share of its concepts' weight."""
MAX_CONCEPTS = 4
"""A long problem only has to cover its heaviest concepts."""
DISTINCTIVE = 2
"""How many of a problem's heaviest non-general concepts are its distinctive ones."""

Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class NeedEvidence:
    """One need against every item."""

    need: Need
    credit: Floats
    """items x concepts: the credit each item gives each concept (0: not met)."""
    score: Floats
    """Coverage plus a bonus for the problem's word pairs, where the need counts; else 0."""


@dataclass(frozen=True)
class LexicalEvidence:
    needs: tuple[NeedEvidence, ...]
    best: Floats
    """The best score among the needs, per item."""
    best_need: npt.NDArray[np.int64]
    """The index of that need (-1: none counts)."""
    field_words: npt.NDArray[np.int64]
    """How many distinct words of the account's field the item uses (general words left out)."""
    phrases: tuple[tuple[PhraseRule, Bools], ...]
    """The account's topic phrases and keywords, each with the items holding it."""


def blocked(corpus: Corpus, senses: Mapping[Phrase, tuple[Phrase, ...]]) -> dict[Phrase, Bools]:
    """For each ambiguous word, the items using it in a sense the account does not mean."""
    out: dict[Phrase, Bools] = {}
    for word, cues in senses.items():
        uses = corpus.holding(word)
        if not uses.any():
            continue
        cued = np.zeros(len(corpus), bool)
        for cue in cues:
            cued |= corpus.holding(cue)
        out[word] = uses & ~cued
    return out


def _blocking(term_or_phrase: Phrase, blocks: Mapping[Phrase, Bools], n: int) -> Bools:
    """Items where ``term_or_phrase`` is used in a sense the account does not mean."""
    mask = np.zeros(n, bool)
    for word, where in blocks.items():
        if phrase_in(word, term_or_phrase):
            mask |= where
    return mask


def _group_credit(corpus: Corpus, groups: Sequence[int], blocks: Mapping[Phrase, Bools]) -> Floats:
    """The best related-group credit, leaving out a group reached where one of its ambiguous
    members is used in another sense (conservative: the item may have reached it otherwise)."""
    n = len(corpus)
    best = np.zeros(n, np.float32)
    for group in groups:
        column = corpus.group_column((group,))
        for word, where in blocks.items():
            if group in corpus.lexicon.groups_for(word):
                column = np.where(where, 0, column)
        best = np.maximum(best, column)
    return best * RELATED_CREDIT


def need_evidence(
    need: Need, corpus: Corpus, blocks: Mapping[Phrase, Bools], general: frozenset[str]
) -> NeedEvidence:
    n, k = len(corpus), len(need.concepts)
    credit = np.zeros((n, k), np.float32)
    if k == 0 or n == 0:
        return NeedEvidence(need, credit, np.zeros(n, np.float32))
    for j, concept in enumerate(need.concepts):
        direct = corpus.column(concept.term)
        direct = np.where(_blocking((concept.term,), blocks, n), 0, direct)
        related = _group_credit(corpus, concept.groups, blocks) if concept.groups else 0
        credit[:, j] = np.where(direct > 0, direct, related)
    weights = np.asarray([corpus.idf(c.term) for c in need.concepts], np.float32)
    heaviest = float(np.sort(weights)[::-1][:MAX_CONCEPTS].sum())
    met = credit > 0
    coverage = np.minimum(1.0, (credit @ weights) / heaviest)
    own = np.asarray([c.term not in general for c in need.concepts])
    counts = (met.sum(axis=1) >= min(2, k)) & (coverage >= MIN_COVERAGE)
    if own.any():
        # Not met by its general words alone, and met in one of its distinctive words.
        by_weight = [j for j in np.argsort(-weights, kind="stable") if own[j]]
        counts &= met[:, by_weight[:DISTINCTIVE]].any(axis=1)
    # A bonus for each of the problem's word pairs the item says as a phrase (two at most).
    column = {c.term: j for j, c in enumerate(need.concepts)}
    said = np.zeros(n, np.float32)
    for a, b in need.pairs:
        said += corpus.holding((a, b)) & met[:, column[a]] & met[:, column[b]]
    score = np.where(counts, coverage + PHRASE_BONUS * np.minimum(2, said), 0)
    return NeedEvidence(need, credit, score.astype(np.float32))


def evidence(
    profile: Profile, corpus: Corpus, needs: Sequence[Need] | None = None
) -> LexicalEvidence:
    """The account's lexical evidence on every item (``needs``: the problems by default)."""
    n = len(corpus)
    blocks = blocked(corpus, profile.senses)
    found = tuple(
        need_evidence(need, corpus, blocks, profile.general)
        for need in (profile.needs if needs is None else needs)
    )
    if found:
        scores = np.stack([e.score for e in found], axis=1)
        best = scores.max(axis=1)
        best_need = np.where(best > 0, scores.argmax(axis=1), -1)
    else:
        best, best_need = np.zeros(n, np.float32), np.full(n, -1)
    field_words = np.zeros(n, np.int64)
    for term in sorted(profile.domain):
        field_words += (corpus.column(term) > 0) & ~_blocking((term,), blocks, n)
    phrases = tuple(
        (rule, corpus.holding(rule.terms) & ~_blocking(rule.terms, blocks, n))
        for rule in (*profile.phrases, *profile.keywords)
    )
    return LexicalEvidence(found, best, best_need.astype(np.int64), field_words, phrases)
