"""The wording of reasons: what a rep would say aloud about why an item is in a digest.

Reasons quote the item's own words as written (never a stem: "finding", not "find"), leave out
filler a rep would not say ("even", "keeps", "still"), and name the account's problem in its own
words. The one-sentence form a customer reads is built from the same parts by
:func:`generator.views.why_line`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from .index import Corpus, Doc, said_by
from .needs import Need
from .text import STOPWORDS, phrase_in, surface_phrase, terms

FILLER = frozenset(
    """
    even still keep keeps kept keeping just yet already again ever really way ways thing things
    lot lots bit kind sort set sets go goes going gone went come comes coming take takes taking
    put puts give gives look looks looking see seen say told tell use used uses using need needs
    want wants like likely way new big small top last next first second third early late latest
    another every other others more most less least find finds found finding help helps helped
    work works worked working start starts started run runs running show shows showed back
    almost alone along although always among amongst anyhow anyone anything anyway anywhere
    around afterwards away became become becomes becoming beforehand behind beside besides
    beyond cannot either else elsewhere enough everyone everything everywhere except former
    formerly hence however indeed instead latter meanwhile might moreover mostly namely neither
    never nevertheless nobody none nothing nowhere often onto otherwise perhaps please rather
    seem seemed seems several since somehow someone something sometimes somewhere thereby
    therefore though thus together toward towards upon whatever whenever whereas wherever
    whether whoever whole whose able unable quite fairly nearly simply soon later ago despite
    unless owner owners
    """.split()  # noqa: SIM905
)
"""Words too vague to quote as a reason: "the item says 'keeps'" tells a rep nothing. The
second part is the grammatical words (adverbs, pronouns, quantifiers, conjunctions) of the
classic English stop list of information retrieval (van Rijsbergen's, as scikit-learn ships
it), without its content words ("fire", "bill", "system"), which can be worth quoting; and
"owners", whom every trade has ("pet owners", "boat owners")."""


def quotable(word: str) -> bool:
    """Whether a word says something on its own (acronyms like 'ER' do)."""
    folded = word.casefold()
    if word.isupper() and len(word) > 1:
        return True
    return folded not in FILLER and folded not in STOPWORDS and len(folded) > 2


def met_words(
    need: Need, credit: npt.NDArray[np.float32], doc: Doc, corpus: Corpus
) -> list[tuple[str, str]]:
    """(the item's words as written, the problem's word they stand for), for each concept the
    item met, filler left out; a word the item shares with the problem stands for itself."""
    shown = corpus.shown(doc)
    said: list[tuple[str, str]] = []
    for concept, got in zip(need.concepts, credit, strict=True):
        if got <= 0:
            continue
        if concept.term in doc.all_set:  # the same word (maybe inflected): no "(for ...)"
            words = shown.get(concept.term, concept.word)
            if quotable(words):
                said.append((words, words))
            continue
        else:
            found = next((doc.groups[g][0] for g in concept.groups if g in doc.groups), ())
            words = surface_phrase(said_by(doc.item), found) or " ".join(
                dict.fromkeys(shown.get(t, t) for t in found)
            )
        if words and all(quotable(shown.get(t, t)) for t in found):
            said.append((words, concept.word))
    return said


def quote(said: Sequence[tuple[str, str]]) -> str:
    """'detention', 'truckers' (for 'drivers'): each of the item's words once ('bearings' (for
    'replacement' and 'parts')), and none that a longer one quoted holds ('fixed' beside
    'fixed-grip chairs')."""
    written: dict[str, str] = {}
    stands_for: dict[str, list[str]] = {}
    for words, word in said:
        key = words.casefold()
        written.setdefault(key, words)
        others = stands_for.setdefault(key, [])
        if word.casefold() != key and word not in others:
            others.append(word)
    held = {key: tuple(terms(key)) for key in written}
    parts = []
    for key, words in written.items():
        if any(k != key and phrase_in(held[key], held[k]) for k in held):
            continue
        meant = " and ".join(f"'{w}'" for w in stands_for[key])
        parts.append(f"'{words}' (for {meant})" if meant else f"'{words}'")
    return ", ".join(parts)


def problem_reason(problem: str, said: Sequence[tuple[str, str]], similarity: float) -> str:
    """ "Speaks to your problem “X”: the item says 'a', 'b'" (or, met in other words, how close
    in meaning it is)."""
    if said:
        return f"Speaks to your problem “{problem}”: the item says {quote(said)}"
    return f"Speaks to your problem “{problem}” in other words (similarity {similarity:.2f})"
