"""The judge: the field question's unsure band decided by reading the story and the account
together (generator/relevance/judge.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from conftest import run_kb
from test_relevance_score import FEEDS, NOW, item

from generator.models import Account, RankingSettings, Topic
from generator.relevance import (
    Corpus,
    Mix,
    assess,
    candidate,
    gate,
    make_profile,
    meaning,
    rank,
    select,
)
from generator.relevance.judge import JUDGE_FILE, Judge, account_text
from generator.relevance.semantic import _model_files, _packaged, item_text

TOPICS = {"drivers": Topic("drivers", "Driver recruiting", keywords=("CDL", "driver pay"))}
TRUCKING = Account(
    "haulright", "HaulRight Logistics", industry="Trucking",
    problems=("Drivers quitting in their first year", "Cargo theft at truck stops"),
    topics=("drivers",),
)  # fmt: skip


STORIES = [
    item("quits", "Truckers are walking away: nine in ten new hires quit within a year",
         "Fleets report first-year churn among newly licensed truckers."),
    item("thieves", "Freight thieves hit trailers parked at rest areas",
         "Carriers lose full truckloads of electronics."),
    item("lots", "Parking shortage leaves long-haul rigs on highway ramps overnight",
         "Drivers say full lots at night leave loads exposed to break-ins."),
    item("gpu", "New GPU driver update boosts frame rates", "Keep your graphics drivers current."),
    item("rides", "Ride-share drivers rally for higher pay", "App-based drivers cannot keep up."),
    item("stops", "Bus stops get shelters and heaters", "The transit agency adds 40 shelters."),
    item("old", "Parking shortage leaves long-haul rigs on highway ramps overnight",
         "Drivers say full lots at night leave loads exposed to break-ins.", days=400),
]  # fmt: skip


JUDGED = Mix(judge=True)


class Recording:
    """A judge that says yes (or no) to everything and records what it was asked."""

    def __init__(self, says: float) -> None:
        self.says = says
        self.asked: list[str] = []

    def logits(self, account: str, stories: Sequence[str]) -> npt.NDArray[np.float32]:
        self.asked += stories
        return np.full(len(stories), self.says, np.float32)


@pytest.fixture
def judged(monkeypatch: pytest.MonkeyPatch) -> Recording:
    judge = Recording(1.0)
    monkeypatch.setattr(meaning.Embeddings, "judge", property(lambda self: judge))
    return judge


def band(corpus: Corpus) -> set[str]:
    """The stories that speak to the trucker and sit in the unsure band of the field question."""
    a = assess(make_profile(TRUCKING, TOPICS), corpus, FEEDS, Mix(judge=False))
    unsure = (a.field_sim >= gate.FIELD_MIN_WITH_WORDS) & (a.field_sim < gate.FIELD_MIN)
    return {corpus.items[k].id for k in np.flatnonzero(unsure & a.speaks)}


def digest(corpus: Corpus, mix: Mix = JUDGED, settings: RankingSettings | None = None) -> list[str]:
    """The trucker's digest: the items :func:`select` picks of what :func:`rank` found."""
    settings = settings or RankingSettings()
    found = rank(
        make_profile(TRUCKING, TOPICS), corpus, feeds=FEEDS, now=NOW, settings=settings,
        oldest=NOW - timedelta(days=30), mix=mix,
    )  # fmt: skip
    return [p.item.id for p in select(found, settings)]


def test_the_judge_is_asked_only_about_recent_stories_in_the_band(judged: Recording) -> None:
    corpus = Corpus(STORIES)
    unsure = band(corpus)
    assert unsure, "the fixture must put a story in the band"
    digest(corpus)
    assert "old" in unsure
    texts = {item_text(s): s.id for s in STORIES if s.id != "old"}
    assert sorted(texts[t] for t in judged.asked) == sorted(unsure - {"old"})


def test_the_judges_no_turns_the_band_away_and_its_yes_lets_it_in(judged: Recording) -> None:
    unsure = band(Corpus(STORIES)) - {"old"}
    yes = set(digest(Corpus(STORIES)))
    judged.says = gate.JUDGE_MIN_WITH_WORDS - 1
    no = set(digest(Corpus(STORIES)))
    assert unsure <= yes and not unsure & no
    assert yes - no == unsure


def test_with_a_field_word_only_a_sure_no_turns_a_story_away(judged: Recording) -> None:
    """ "lots" uses one of the trucker's field words ("drivers"), "rides" none: a doubtful
    judge lets the first in and keeps the second out."""
    judged.says = (gate.JUDGE_MIN + gate.JUDGE_MIN_WITH_WORDS) / 2
    sent = set(digest(Corpus(STORIES)))
    assert "lots" in sent and "rides" not in sent


def test_without_the_judge_the_band_asks_for_a_field_word(judged: Recording) -> None:
    corpus = Corpus(STORIES)
    a = assess(make_profile(TRUCKING, TOPICS), corpus, FEEDS, Mix(judge=False))
    words = (a.field_sim >= gate.FIELD_MIN) | (
        (a.field_sim >= gate.FIELD_MIN_WITH_WORDS) & (a.lexical.field_words >= 1)
    )
    assert np.array_equal(a.field_ok, words)
    digest(corpus, Mix(judge=False))
    assert judged.asked == []


def test_a_full_digest_asks_the_judge_nothing_more(judged: Recording) -> None:
    """The judge costs a model's pass per story: a digest asks about the band's candidates it
    reaches, not about the ones ranked below a full digest."""
    corpus = Corpus(STORIES)
    settings = RankingSettings(max_items=1)
    assert digest(corpus, settings=settings) == ["quits"]
    assert judged.asked == []
    assert len(digest(corpus)) > 2 and judged.asked


def test_each_pair_is_judged_once_per_run(judged: Recording) -> None:
    corpus = Corpus(STORIES)
    digest(corpus)
    digest(corpus)
    assess(make_profile(TRUCKING, TOPICS), corpus, FEEDS, JUDGED).field_ok  # noqa: B018
    assert len(judged.asked) == len(band(corpus))  # "old" and "lots" read alike: rows count


def test_explain_says_what_the_judge_answered(judged: Recording) -> None:
    corpus = Corpus(STORIES)
    k = next(i for i, s in enumerate(STORIES) if s.id in band(corpus))
    a = assess(make_profile(TRUCKING, TOPICS), corpus, FEEDS, JUDGED)
    field = candidate(a, corpus, k, FEEDS, NOW, RankingSettings()).checks[0]
    assert field.passed
    assert "the judge's yes: +1.0, needs " in field.detail


def test_a_run_with_another_encoder_has_no_judge() -> None:
    from fake_encoder import FakeEncoder

    assert Corpus(STORIES, encoder=FakeEncoder()).embeddings.judge is None
    assert isinstance(Corpus(STORIES).embeddings.judge, Judge)


def test_the_account_is_read_as_its_industry_then_its_problems() -> None:
    said = account_text("Trucking", ["Drivers quitting", "Is cargo theft rising?"])
    assert said == "Trucking. Drivers quitting. Is cargo theft rising?"
    assert account_text("", ["Drivers quitting."]) == "Drivers quitting."


# --- the packaged judge ---------------------------------------------------------------------


def test_the_judge_reads_each_pair_alone_the_same_bytes_in_any_company() -> None:
    judge = Judge.load()
    said = account_text(TRUCKING.industry, TRUCKING.problems)
    stories = [item_text(s) for s in STORIES]
    together = judge.logits(said, stories)
    alone = np.concatenate([judge.logits(said, [s]) for s in stories])
    assert together.tobytes() == alone.tobytes()
    assert judge.logits(said, stories[::-1]).tobytes() == together[::-1].tobytes()


def test_the_judge_answers_what_a_rep_would() -> None:
    """Its yes for a story on the trucker's problem, its no for one on another world's drivers
    (a graphics card's, a bus rider's)."""
    said = account_text(TRUCKING.industry, TRUCKING.problems)
    quits, gpu, stops = (item_text(s) for s in STORIES if s.id in ("quits", "gpu", "stops"))
    logits = Judge.load().logits(said, [quits, gpu, stops])
    assert logits[0] >= gate.JUDGE_MIN
    assert max(logits[1:]) < gate.JUDGE_MIN_WITH_WORDS


def test_the_optimized_model_kept_in_the_cache_judges_the_same_and_a_damaged_one_is_made_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path))
    said = account_text(TRUCKING.industry, TRUCKING.problems)
    stories = [item_text(s) for s in STORIES]

    def fresh() -> bytes:
        model, tokenizer, version = _model_files()
        judge = Judge(model, tokenizer, f"test@{version}", _packaged(JUDGE_FILE))
        return judge.logits(said, stories).tobytes()

    first = fresh()
    (saved,) = tmp_path.iterdir()
    assert saved.suffix == ".onnx" and saved.stat().st_size > 0
    assert fresh() == first  # read from the cache
    saved.write_bytes(b"not a model")
    assert fresh() == first  # made again
    assert saved.stat().st_size > 1000 and [p.name for p in tmp_path.iterdir()] == [saved.name]


# --- the setting ------------------------------------------------------------------------------


def with_judge(project: Path, value: str) -> None:
    kb = project / "kb.yml"
    text = kb.read_text(encoding="utf-8")
    kb.write_text(text.replace("ranking:\n", f"ranking:\n  judge: {value}\n", 1), encoding="utf-8")


def test_the_judge_is_asked_only_when_the_project_turns_it_on(
    fetched_example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []
    logits = Judge.logits

    def recording(self: Judge, account: str, stories: Sequence[str]) -> npt.NDArray[np.float32]:
        asked.extend(stories)
        return logits(self, account, stories)

    monkeypatch.setattr(Judge, "logits", recording)
    off = run_kb("--project", fetched_example, "digest", "--all", "--dry-run")
    assert off.exit_code == 0 and asked == []
    with_judge(fetched_example, "true")
    on = run_kb("--project", fetched_example, "digest", "--all", "--dry-run")
    assert on.exit_code == 0 and asked


def test_a_judge_setting_that_is_not_true_or_false_is_reported_where_it_is(example: Path) -> None:
    with_judge(example, "maybe")
    result = run_kb("--project", example, "check")
    assert result.exit_code == 1
    line = (
        example.joinpath("kb.yml").read_text(encoding="utf-8").splitlines().index("  judge: maybe")
    )
    assert f"{example / 'kb.yml'}:{line + 1}: 'judge' must be true or false" in result.output
    assert "Traceback" not in result.output
