"""The entry point with the real sentence encoder: paraphrases in, traps out, invariants hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.models import Account, Feed, Item, RankingSettings, Topic
from generator.relevance import Corpus, make_profile, rank, score_items, select
from generator.relevance.score import assess
from generator.relevance.semantic import Encoder, item_text

NOW = datetime(2026, 3, 16, 9, tzinfo=UTC)
TOPICS = {
    "drivers": Topic(
        "drivers",
        "Driver recruiting & retention",
        ("driver turnover", "CDL drivers", "sign-on bonus"),
    ),
}
FEEDS = {"trucking": Feed("trucking", "https://x.example/t.xml", topics=("drivers",))}
TRUCKING = Account(
    slug="blue-mesa",
    name="Blue Mesa Transport",
    industry="Trucking",
    problems=("Finding and keeping qualified truck drivers", "Cargo theft at truck stops"),
    topics=("drivers",),
    exclude=("autonomous",),
)


def item(key: str, title: str, summary: str = "", days: float = 1) -> Item:
    when = NOW - timedelta(days=days)
    return Item(key, f"https://news.example/{key}", title, summary, "", when, when, ("trucking",))


STORIES = [
    item("quits", "Truckers are walking away: nine in ten new hires quit within a year",
         "Fleets report first-year churn among newly licensed truckers."),
    item("thieves", "Freight thieves hit trailers parked at rest areas",
         "Carriers lose full truckloads of electronics."),
    item("gpu", "New GPU driver update boosts frame rates", "Keep your graphics drivers current."),
    item("rides", "Ride-share drivers rally for higher pay", "App-based drivers cannot keep up."),
    item("chess", "Grandmasters debate opening theory", "A new line in the Sicilian defence."),
    item("bikes", "City approves protected bike lanes", "Four streets get lanes this summer."),
]  # fmt: skip


@cache
def vector(text: str) -> bytes:
    return Encoder.load().encode([text])[0].tobytes()


def corpus_of(items: list[Item]) -> Corpus:
    """A corpus with each item's vector embedded once per test session (cached by text)."""
    rows = [np.frombuffer(vector(item_text(i)), np.float32) for i in items]
    return Corpus(items, vectors=np.stack(rows) if rows else None)


def ranked(account: Account, items: list[Item], topics: dict[str, Topic] = TOPICS) -> list[str]:
    found = score_items(
        account, items, topics=topics, feeds=FEEDS, now=NOW, settings=RankingSettings(),
        corpus=corpus_of(items),
    )  # fmt: skip
    return [p.item.id for p in select(found, RankingSettings())]


def test_paraphrases_reach_the_account_and_keyword_traps_do_not() -> None:
    assert set(ranked(TRUCKING, STORIES)) == {"quits", "thieves"}


def test_the_field_question_also_asks_the_bare_industry() -> None:
    """Cargo theft is a problem the trucker's one topic (driver recruiting) does not cover: its
    story meets only the industry, which the whole field text dilutes."""
    profile = make_profile(TRUCKING, TOPICS)
    k = next(i for i, s in enumerate(STORIES) if s.id == "thieves")
    story = np.frombuffer(vector(item_text(STORIES[k])), np.float32)

    def cosine(text: str) -> float:
        return float(story @ np.frombuffer(vector(text), np.float32))

    assessed = assess(profile, corpus_of(STORIES), FEEDS)
    assert cosine("Trucking") > cosine(profile.field_text)
    assert abs(float(assessed.field_sim[k]) - cosine("Trucking")) < 1e-5
    assert assessed.field_ok[k]


def test_the_reason_names_the_problem_and_each_signal_has_its_share() -> None:
    corpus = corpus_of(STORIES)
    found = rank(
        make_profile(TRUCKING, TOPICS), corpus, feeds=FEEDS, now=NOW, settings=RankingSettings()
    )
    thieves = next(c for c in found if c.item.id == "thieves")
    assert thieves.problem == "Cargo theft at truck stops"
    assert thieves.why[0] == (
        "Speaks to your problem “Cargo theft at truck stops”: the item says 'freight' (for "
        "'cargo'), 'thieves' (for 'theft'), 'truckloads' (for 'truck')"
    )
    shares = {s.signal: s.share for s in thieves.shares}
    assert shares["semantic problem"] > 0.5
    assert [c.name for c in thieves.checks] == ["field", "problem"]
    assert all(c.passed for c in thieves.checks)


def test_reasons_quote_the_items_words_that_say_something_never_grammatical_ones() -> None:
    hotels = Account(
        "seabright", "Seabright Hotels", industry="Hotels",
        problems=("Not enough housekeepers to turn rooms", "Guests who book and never show up"),
    )  # fmt: skip
    stories = [
        item("rooms", "Hotels without enough housekeepers leave rooms unturned for hours"),
        item("shows", "Guests who book and never show up cost hotels 5 percent of revenue"),
    ]
    found = rank(
        make_profile(hotels, {}), corpus_of(stories), feeds=FEEDS, now=NOW,
        settings=RankingSettings(),
    )  # fmt: skip
    said = {c.item.id: c.why[0] for c in found}
    assert "'housekeepers'" in said["rooms"] and "'rooms'" in said["rooms"]
    assert "'guests'" in said["shows"] and "'book'" in said["shows"]
    assert not any(f"'{w}'" in why for why in said.values() for w in ("enough", "never", "show"))


def test_nothing_reaches_an_account_nothing_concerns() -> None:
    dental = Account(
        "lumen", "Lumen Dental", industry="Dental laboratories",
        problems=("Crowns that don't fit and must be remade",),
    )  # fmt: skip
    assert ranked(dental, STORIES) == []


def test_a_neighbouring_fields_story_goes_out_only_beside_one_on_the_accounts_problems() -> None:
    topics = {"road-tests": Topic("road-tests", "Road tests", ("road test",))}
    school = Account(
        "green", "Green Light", industry="Driving schools", topics=("road-tests",),
        problems=(
            "Not enough instructors for evening lessons",
            "Students who cancel lessons at the last minute",
        ),
    )  # fmt: skip
    highway = item(
        "highway",
        "Road test adds a highway section from January",
        "Learner drivers will have to merge and change lanes at speed to pass.",
    )
    instructors = item(
        "instructors",
        "Driving schools run short of instructors as evening lessons fill up",
        "Learners wait weeks for a slot after work.",
    )
    # the highway story is the school's world and topic but none of its problems: it passes the
    # gate; on its own it is not worth a digest (until ft21 this test used "Driverless trucks
    # cleared for road tests", which shares the topic phrase, not the school's world: a trap)
    assert ranked(school, [*STORIES, highway], topics) == []
    assert ranked(school, [*STORIES, highway, instructors], topics) == ["instructors", "highway"]


def test_an_account_without_problems_gets_only_its_topics_and_keywords() -> None:
    no_problems = Account(
        "fleet", "Fleet", industry="Trucking", topics=("drivers",), keywords=("cargo theft",)
    )
    stories = [
        *STORIES,
        item(
            "bonus",
            "Carriers lift the sign-on bonus for CDL drivers",
            "Driver turnover stays high.",
        ),
    ]
    assert ranked(no_problems, stories) == ["bonus"]


def test_the_ranking_is_deterministic_whatever_the_order_of_the_items() -> None:
    first = ranked(TRUCKING, STORIES)
    assert ranked(TRUCKING, list(reversed(STORIES))) == first


_WORDS = st.sampled_from(["autonomous", "Autonomous", "AUTONOMOUS"])


@settings(max_examples=20, deadline=None)
@given(_WORDS, st.sampled_from(["", "trucks", "pilot", "lanes"]), st.booleans())
def test_an_excluded_phrase_never_lets_an_item_through(word: str, noise: str, title: bool) -> None:
    text = f"Truckers quit as {word} {noise} trucks arrive"
    story = (
        item("x", text, "Driver turnover for CDL drivers.")
        if title
        else item("x", "Truckers quit as driver turnover climbs", f"{text}; sign-on bonus.")
    )
    assert "x" not in ranked(TRUCKING, [*STORIES, story])


UNRELATED = [
    item(f"u{k}", title, summary)
    for k, (title, summary) in enumerate(
        [
            ("Museum opens a wing of impressionist paintings", "Monet and Degas on loan."),
            ("Local bakery wins sourdough prize", "The crust and crumb impressed judges."),
            ("Chess club hosts junior tournament", "Forty players entered the rapid event."),
            ("Orchestra announces its spring season", "Mahler and Brahms headline."),
            ("New species of frog found in the cloud forest", "Biologists named it."),
            ("Marathon route changes for the bridge repairs", "Runners will cross downtown."),
        ]
    )
]


@settings(max_examples=15, deadline=None)
@given(st.lists(st.sampled_from(UNRELATED), min_size=1, max_size=4, unique=True))
def test_adding_an_unrelated_item_never_changes_the_top_results(extra: list[Item]) -> None:
    assert ranked(TRUCKING, [*STORIES, *extra]) == ranked(TRUCKING, STORIES)


def test_the_array_scores_and_topics_are_the_ones_each_item_is_worded_with(
    fetched_example: Path,
) -> None:
    """rank() scores what passed as arrays and takes topics from the phrase hits; each candidate
    has the score, relevance and topics that scoring the item alone and wording it give, and
    the caps choose the same items with or without wording the others' verdicts. Every
    candidate has a reason (the newsletter keeps candidates without asking), and wording its
    reasons alone gives the same."""
    from generator import pipeline
    from generator.config import load_project
    from generator.digest import candidates_for
    from generator.relevance import assess, candidate, decide
    from generator.relevance.score import reasons

    project = load_project(fetched_example)
    now = datetime(2026, 11, 16, 9, tzinfo=UTC)
    feeds = {f.name: f for f in project.feeds}
    topics = {t.id: t for t in project.topics}
    settings = project.settings.ranking
    checked = 0
    with pipeline.opened_store(project) as store:
        items = store.items()
        corpus = pipeline.corpus_of(project, store, items)
        for account in project.accounts:
            found = candidates_for(project, account, items, now, corpus=corpus)
            a = assess(make_profile(account, topics, None, corpus.lexicon), corpus, feeds)
            for c in found:
                alone = candidate(a, corpus, corpus.position[c.item.id], feeds, now, settings)
                assert (c.score, c.relevance, c.topics) == (
                    alone.score, alone.relevance, alone.said.topics
                )  # fmt: skip
                assert c.why == alone.why and c.shares == alone.shares
                assert c.why and reasons(a, corpus, corpus.position[c.item.id]) == c.why
                checked += 1
            chosen = [d for d in decide(found, settings) if d.chosen]
            assert decide(found, settings, only_chosen=True) == chosen
            assert tuple(p.item for p in select(found, settings)) == tuple(
                d.candidate.item for d in chosen
            )
    assert checked > 50


def test_similarities_are_the_same_bytes_with_one_blas_thread_or_many() -> None:
    """Ranking processes limit BLAS to one thread (generator.batch.one_blas_thread): a run in
    one process and a pool of them must still compute the same products, to the last bit."""
    from generator.batch import one_blas_thread
    from generator.relevance.meaning import similarity

    rng = np.random.default_rng(11)
    items = rng.standard_normal((6000, 384)).astype(np.float32)
    for width in (1, 7, 40):
        texts = rng.standard_normal((width, 384)).astype(np.float32)
        many = similarity(items, texts)
        with one_blas_thread():
            one = similarity(items, texts)
        assert one.tobytes() == many.tobytes()


def test_reasons_quote_the_items_words_as_written_each_once() -> None:
    """A team's vocabulary meets a problem in the story's own words: quoted with their hyphens,
    plurals and capitals, each once, however many of the problem's words they stand for."""
    from generator.models import Vocabulary
    from generator.relevance import assess, candidate
    from generator.relevance.lexicon import lexicon

    vocabulary = Vocabulary(
        related=(
            ("chairlift", "fixed-grip chair", "Riblet"),
            ("replacement parts", "bullwheel bearing"),
        )
    )
    topics = {"lifts": Topic("lifts", "Lift maintenance", ("fixed-grip chair",))}
    resort = Account(
        "summit", "Summit", industry="Ski resorts", topics=("lifts",),
        problems=("Our old chairlifts break down and replacement parts are hard to get",),
    )  # fmt: skip
    stories = [
        item("older", "Older fixed-grip chairs face a drought as makers end support",
             "Mountains scavenge towers for bullwheel bearings."),
        item("riblet", "Riblet doubles idled by bullwheel bearing shortages",
             "Owners of Riblet chairs wait six months for them."),
    ]  # fmt: skip
    rows = [np.frombuffer(vector(item_text(i)), np.float32) for i in stories]
    corpus = Corpus(stories, lexicon(vocabulary), vectors=np.stack(rows))
    a = assess(make_profile(resort, topics, None, corpus.lexicon), corpus, FEEDS)
    older, riblet = (candidate(a, corpus, k, FEEDS, NOW, RankingSettings()) for k in (0, 1))
    assert older.why[0].endswith(
        "the item says 'fixed-grip chairs' (for 'chairlifts'), 'bullwheel bearings' "
        "(for 'replacement' and 'parts')"
    )
    assert older.phrases[:2] == ("fixed-grip chair", "bullwheel bearings")
    assert riblet.why[0].endswith(
        "the item says 'Riblet' (for 'chairlifts'), 'bullwheel bearing' (for 'replacement' and "
        "'parts')"
    )


def test_reasons_never_quote_owners_whom_every_trade_has() -> None:
    vet = Account(
        "paws", "Paws", industry="Veterinary clinics",
        problems=("Pet owners declining treatment because they can't afford the bill",),
    )  # fmt: skip
    story = item(
        "care", "Spectrum-of-care training lets clinics offer cheaper options to pet owners",
        "A range of treatment plans, so an owner who cannot afford the gold standard gets care.",
    )  # fmt: skip
    corpus = corpus_of([story, *STORIES])
    from generator.relevance import assess, candidate

    a = assess(make_profile(vet, {}, None, corpus.lexicon), corpus, FEEDS)
    found = candidate(a, corpus, 0, FEEDS, NOW, RankingSettings())
    assert found.why[0].endswith("the item says 'pet', 'treatment', 'afford'")
    assert found.phrases == ("pet", "treatment", "afford")
