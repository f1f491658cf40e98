"""The ranker's decisions, tested with plain values: phrases, senses, the gate, diversity."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from evalset import load_eval
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.corpus import Corpus
from generator.models import Account, Feed, Item, RankingSettings, Topic
from generator.rank import (
    Candidate,
    decide,
    make_profile,
    score_corpus,
    score_doc,
    score_items,
    select,
)
from generator.text import phrase_in, surface_words, terms

NOW = datetime(2026, 3, 16, 9, tzinfo=UTC)
TOPICS = {
    "drivers": Topic(
        "drivers",
        "Driver recruiting & retention",
        ("driver turnover", "CDL drivers", "sign-on bonus"),
    ),
}
FEEDS = {
    "trucking": Feed("trucking", "https://x.example/t.xml", topics=("drivers",)),
    "tech": Feed("tech", "https://x.example/g.xml"),
}
TRUCKING = Account(
    slug="blue-mesa",
    name="Blue Mesa Transport",
    industry="Trucking",
    problems=("Finding and keeping qualified truck drivers",),
    topics=("drivers",),
    exclude=("autonomous",),
)


def item(
    key: str, title: str, summary: str = "", source: str = "trucking", days: float = 1
) -> Item:
    when = NOW - timedelta(days=days)
    return Item(key, f"https://news.example/{key}", title, summary, "", when, when, (source,))


STORIES = [
    item(
        "quits",
        "Truckers are walking away: nine in ten new hires quit within a year",
        "Fleets report first-year churn among newly licensed truckers; "
        "recruiters add sign-on bonuses.",
    ),
    item(
        "gpu",
        "New GPU driver update boosts frame rates",
        "Keep your graphics drivers up to date.",
        "tech",
    ),
    item(
        "rides",
        "Ride-share drivers rally for higher pay",
        "App-based drivers say they cannot keep up.",
        "tech",
    ),
    item(
        "bikes", "City approves protected bike lanes", "Four streets get lanes this summer.", "tech"
    ),
]


def ranked(account: Account, items: list[Item], **kw: object) -> list[str]:
    found = score_items(
        account, items, topics=TOPICS, feeds=FEEDS, now=NOW, settings=RankingSettings(), **kw
    )  # type: ignore[arg-type]
    return [p.item.id for p in select(found, RankingSettings())]


def test_phrases_meet_in_other_words_and_keyword_traps_do_not() -> None:
    assert ranked(TRUCKING, STORIES) == ["quits"]


def test_the_reason_names_the_problem_and_the_words_that_met_it() -> None:
    found = score_items(
        TRUCKING, STORIES, topics=TOPICS, feeds=FEEDS, now=NOW, settings=RankingSettings()
    )
    best = found[0]
    assert best.item.id == "quits"
    assert best.why[0].startswith(
        "Speaks to your problem “Finding and keeping qualified truck drivers”: the item says "
    )
    assert best.why[0].endswith(
        "the item says 'walking away' (for 'keeping'), 'licensed' (for 'qualified'), 'truckers'"
    )
    assert "Your topic “Driver recruiting & retention”: mentions 'sign-on bonus'" in best.why


def test_a_driver_with_trucking_context_still_counts() -> None:
    story = item(
        "cdl",
        "Fleets struggle to retain experienced drivers",
        "Regional carriers say CDL drivers with clean records are the hardest to keep.",
        days=2,
    )
    assert ranked(TRUCKING, [*STORIES, story]) == ["quits", "cdl"]


def test_nothing_clears_the_bar_for_an_unrelated_account() -> None:
    dental = Account(
        "lumen",
        "Lumen Dental",
        industry="Dental laboratories",
        problems=("Crowns that don't fit and must be remade",),
    )
    assert ranked(dental, STORIES) == []


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(["autonomous", "Autonomous", "AUTONOMOUS"]),
    st.text(alphabet="abcdefgh ", max_size=30),
)
def test_an_excluded_phrase_never_lets_an_item_through(word: str, noise: str) -> None:
    story = item(
        "x",
        f"Truckers quit as {word} trucks arrive {noise}",
        "Driver turnover and sign-on bonus news for CDL drivers at fleets.",
    )
    assert "x" not in ranked(TRUCKING, [*STORIES, story])


def test_the_ranking_is_deterministic() -> None:
    first = score_items(
        TRUCKING, STORIES, topics=TOPICS, feeds=FEEDS, now=NOW, settings=RankingSettings()
    )
    again = score_items(
        TRUCKING,
        list(reversed(STORIES)),
        topics=TOPICS,
        feeds=FEEDS,
        now=NOW,
        settings=RankingSettings(),
    )
    assert first == again


def test_a_shared_corpus_gives_the_same_ranking_as_a_private_one() -> None:
    corpus = Corpus(STORIES)
    shared = score_items(
        TRUCKING,
        STORIES,
        topics=TOPICS,
        feeds=FEEDS,
        now=NOW,
        settings=RankingSettings(),
        corpus=corpus,
    )
    private = score_items(
        TRUCKING, STORIES, topics=TOPICS, feeds=FEEDS, now=NOW, settings=RankingSettings()
    )
    assert shared == private


def test_diversity_caps_the_share_of_one_source() -> None:
    stories = [
        item(
            f"s{i}",
            f"Truckers quit fleet {i} as driver turnover climbs",
            "Fleets add sign-on bonus pay for CDL drivers.",
            days=i,
        )
        for i in range(6)
    ]
    tight = RankingSettings(max_items=4, max_share_per_source=0.5)
    found = score_items(TRUCKING, stories, topics=TOPICS, feeds=FEEDS, now=NOW, settings=tight)
    decisions = decide(found, tight)
    assert [d.candidate.item.id for d in decisions if d.chosen] == ["s0", "s1"]
    assert decisions[2].reason == "relevant, but 2 items already come from trucking"


def test_the_value_gate_and_what_was_sent_are_explained() -> None:
    found = score_items(
        TRUCKING, STORIES, topics=TOPICS, feeds=FEEDS, now=NOW, settings=RankingSettings()
    )
    sent = {"quits": NOW - timedelta(days=3)}
    decisions = {d.candidate.item.id: d for d in decide(found, RankingSettings(), sent)}
    assert decisions["quits"].reason == "already sent on 2026-03-13"
    assert not any(d.chosen for d in decisions.values())
    assert all(
        d.reason.startswith("below the relevance bar") for k, d in decisions.items() if k != "quits"
    )


# --- general words and the account's field ---------------------------------------------------

COLD_STORAGE = Account(
    slug="polar",
    name="Polar Cold Storage",
    industry="Refrigerated warehousing",
    problems=(
        "Power bills for our freezer warehouses keep climbing",
        "We can't keep the second and third shifts staffed",
    ),
    topics=("cold",),
)
COLD_TOPICS = {"cold": Topic("cold", "Cold chain", ("cold storage", "blast freezer", "reefer"))}
NURSE_BILLS = item(
    "nurse-bills",
    "Travel nurse bill rates climb again ahead of winter",
    "Hospitals say agency bills keep climbing as second-shift vacancies stay open.",
    "tech",
)
WAREHOUSE_SHIFTS = item(
    "warehouse-shifts",
    "Cold storage warehouses struggle to staff second and third shifts",
    "Freezer operators add shift premiums as night crews quit.",
    "tech",
)


def ranked_cold(items: list[Item]) -> list[str]:
    found = score_items(
        COLD_STORAGE, items, topics=COLD_TOPICS, feeds=FEEDS, now=NOW, settings=RankingSettings()
    )
    return [p.item.id for p in select(found, RankingSettings())]


def test_general_words_alone_neither_meet_a_problem_nor_show_the_field() -> None:
    assert ranked_cold([NURSE_BILLS, *STORIES]) == []


def test_a_problem_in_general_words_is_met_by_an_item_of_the_accounts_field() -> None:
    assert ranked_cold([NURSE_BILLS, WAREHOUSE_SHIFTS, *STORIES]) == ["warehouse-shifts"]


def test_reasons_quote_the_items_words_as_written() -> None:
    hospital = Account(
        "lake",
        "Lakeshore Health",
        industry="Hospitals",
        problems=("Patients stuck in the ER for hours waiting for a bed",),
    )
    story = item(
        "boarding",
        "Boarding in emergency departments hits a record",
        "Patients waited 14 hours for an inpatient bed, a hospital survey says.",
        "tech",
    )
    found = score_items(
        hospital, [story, *STORIES], topics={}, feeds=FEEDS, now=NOW, settings=RankingSettings()
    )
    assert found[0].why[0] == (
        "Speaks to your problem “Patients stuck in the ER for hours waiting for a bed”: the item "
        "says 'patients', 'emergency departments' (for 'ER'), 'hours', 'waited', 'bed'"
    )


# --- the pre-filter never changes a ranking ---------------------------------------------------


def _every_doc(account: Account, items: list[Item], topics: dict[str, Topic]) -> list[Candidate]:
    """The account's candidates, scoring every doc one by one (no index, no pre-filter)."""
    corpus = Corpus(items)
    profile = make_profile(account, topics, None, corpus.lexicon)
    found = (score_doc(profile, doc, corpus, FEEDS, NOW, RankingSettings()) for doc in corpus.docs)
    kept = [c for c in found if c.relevance > 0 or c.why]
    return sorted(kept, key=lambda c: (-c.score, c.item.id))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(load_eval().items), min_size=1, max_size=30, unique=True))
def test_only_items_that_cannot_score_are_skipped(chosen: list[Item]) -> None:
    ev = load_eval()
    topics = {t.id: t for t in ev.project.topics}
    items = [replace(i, published=NOW - timedelta(days=1)) for i in chosen]
    for account in ev.project.accounts:
        corpus = Corpus(items)
        profile = make_profile(account, topics, None, corpus.lexicon)
        gated = score_corpus(profile, corpus, feeds=FEEDS, now=NOW, settings=RankingSettings())
        assert gated == _every_doc(account, items, topics), account.slug


# --- text helpers the ranker leans on ----------------------------------------------------------

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
