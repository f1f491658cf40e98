"""Text helpers the ranker leans on: phrases and the item's own words."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from generator.relevance.text import phrase_in, surface_phrase, surface_words, terms

_TEXT = st.text(alphabet="abcAB ER’'-.,0123", max_size=60)
_TERMS = st.lists(st.sampled_from(["a", "b", "c"]), max_size=12)


@settings(max_examples=200, deadline=None)
@given(_TERMS, st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3))
def test_phrase_in_finds_exactly_the_contiguous_runs(text: list[str], phrase: list[str]) -> None:
    n = len(phrase)
    naive = any(text[i : i + n] == phrase for i in range(len(text) - n + 1))
    assert phrase_in(tuple(phrase), tuple(text)) == naive
    assert phrase_in(tuple(phrase), text) == naive


@settings(max_examples=200, deadline=None)
@given(_TEXT)
def test_reasons_can_quote_every_term_in_the_texts_own_words(text: str) -> None:
    shown = surface_words(text)
    assert set(shown) == set(terms(text))
    written = text.casefold()
    for said in shown.values():
        assert all(word.casefold() in written for word in said.split())


def test_names_and_acronyms_keep_their_capitals_a_sentences_first_word_does_not() -> None:
    shown = surface_words(
        "Crews lose ZTRs at a lot. Owners of Riblet chairs wait. Lift Mechanics Are Rare"
    )
    assert (shown["ztr"], shown["riblet"], shown["own"]) == ("ZTRs", "Riblet", "owners")
    assert (shown["mechanic"], shown["rare"]) == ("mechanics", "rare")


def test_a_phrase_is_quoted_as_the_text_wrote_it() -> None:
    text = "SMI fan-gun fleets hit peaks. Ski hills running fan guns on cold nights pay most."
    assert surface_phrase(text, ("fan", "gun")) == "fan-gun"
    assert surface_phrase(text, ("cold", "night")) == "cold nights"
    assert surface_phrase("Half of truckers quit", tuple(terms("truck driver"))) == "truckers"
    assert surface_phrase(text, ("snow",)) == ""
