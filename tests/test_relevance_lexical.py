"""Lexical evidence with plain values: related words, distinctive words, senses, phrases."""

from __future__ import annotations

from datetime import UTC, datetime

from fake_encoder import FakeEncoder

from generator.models import Account, Item, Topic
from generator.relevance import Corpus, make_profile
from generator.relevance.lexical import evidence
from generator.relevance.lexicon import lexicon
from generator.relevance.text import terms

NOW = datetime(2026, 3, 16, 9, tzinfo=UTC)


def item(key: str, title: str, summary: str = "") -> Item:
    return Item(key, f"https://news.example/{key}", title, summary, "", NOW, NOW, ("feed",))


def lexical_scores(account: Account, items: list[Item], topics: dict[str, Topic] | None = None):  # type: ignore[no-untyped-def]
    corpus = Corpus(items, encoder=FakeEncoder())
    found = evidence(make_profile(account, topics or {}, None, corpus.lexicon), corpus)
    return {i.id: float(found.best[k]) for k, i in enumerate(items)}, found


SOLAR = Account(
    "sun",
    "Sun Co",
    industry="Solar installers",
    problems=("Permits for rooftop solar take months",),
)
FILLER = [
    item(f"f{k}", f"City council meets on budget item {k}", "Permit fees and months of delay.")
    for k in range(6)
]


def test_meeting_only_a_problems_generic_words_is_not_a_match() -> None:
    trap = item("trap", "Food truck permit backlog stretches to months", "Vendors wait.")
    real = item("real", "Rooftop solar permits now take months in three states", "Installers wait.")
    scores, _ = lexical_scores(SOLAR, [trap, real, *FILLER])
    assert scores["trap"] == 0
    assert scores["real"] > 0


def test_a_word_no_stored_item_uses_weighs_the_most() -> None:
    corpus = Corpus(FILLER, encoder=FakeEncoder())
    assert corpus.idf("rooftop") == corpus.default_idf
    assert corpus.idf("rooftop") > max(corpus.idf(t) for t in ("permit", "month", "council"))


def test_related_words_meet_a_problem_in_other_words() -> None:
    trucking = Account(
        "t", "T", industry="Trucking", problems=("Finding and keeping qualified truck drivers",)
    )
    quits = item("quits", "Truckers are walking away: new hires quit within a year", "Fleets.")
    scores, found = lexical_scores(trucking, [quits, *FILLER])
    assert scores["quits"] > 0
    assert found.best_need[0] == 0


def test_an_ambiguous_word_counts_only_in_the_sense_the_account_means() -> None:
    trucking = Account(
        "t",
        "T",
        industry="Trucking",
        problems=("Keeping qualified drivers",),
        keywords=("driver pay",),
    )
    gpu = item("gpu", "GPU driver pay update for qualified drivers", "Graphics chip.")
    fleet = item("fleet", "Fleet raises driver pay for qualified drivers", "Truckload carrier.")
    scores, found = lexical_scores(trucking, [gpu, fleet, *FILLER])
    driver = [c.term for c in found.needs[0].need.concepts].index(terms("drivers")[0])
    assert list(found.needs[0].credit[:2, driver] > 0) == [False, True]
    assert scores["gpu"] == 0 and scores["fleet"] > 0
    holding = {rule.text: list(where) for rule, where in found.phrases}
    assert holding["driver pay"][:2] == [False, True]


def test_field_words_count_the_accounts_own_words_not_general_ones() -> None:
    cold = Account(
        "c", "C", industry="Refrigerated warehousing", problems=("Power bills keep climbing",)
    )
    _, found = lexical_scores(
        cold,
        [
            item("bills", "Travel nurse bill rates climb", "Agency bills keep climbing."),
            item("cold", "Refrigerated warehouses face power bills", "Warehousing costs."),
        ],
    )
    assert list(found.field_words) == [0, 2]


def test_the_project_vocabulary_adds_related_words() -> None:
    from generator.models import Vocabulary

    winery = Account("w", "W", industry="Winery", problems=("Smoke taint in our grapes",))
    story = item("s", "Wildfire ash spoils the vintage for valley growers", "Grapes lost.")
    plain = Corpus([story, *FILLER], encoder=FakeEncoder())
    own = Corpus(
        [story, *FILLER],
        lexicon(Vocabulary(related=(("smoke taint", "wildfire ash"),))),
        encoder=FakeEncoder(),
    )
    assert evidence(make_profile(winery, {}, None, plain.lexicon), plain).best[0] == 0
    assert evidence(make_profile(winery, {}, None, own.lexicon), own).best[0] > 0
