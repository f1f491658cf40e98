"""The judge: the field question's unsure band decided by reading the story and the account
together (generator/relevance/judge.py)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from conftest import REPO, run_kb
from test_relevance_score import FEEDS, NOW, item

from generator.config import load_project
from generator.models import Account, RankingSettings, Topic
from generator.newsletter import newsworthy
from generator.relevance import (
    Corpus,
    Mix,
    assess,
    candidate,
    gate,
    judge,
    make_profile,
    meaning,
    rank,
    select,
)
from generator.relevance.judge import (
    JUDGE_FILE,
    QUANTIZATION,
    SAVED_GRAPH,
    SAVED_WEIGHTS,
    Judge,
    StoredJudgements,
    _fingerprint,
    account_text,
    judge_id,
    reads,
)
from generator.relevance.semantic import _model_files, _packaged, item_text, text_hash
from generator.store import open_store

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

    def text_of(self, industry: str, problems: Sequence[str]) -> str:
        return reads(industry, problems)

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
    unsure = (a.field_sim >= gate.JUDGE_FROM) & (a.field_sim < gate.FIELD_MIN)
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


def test_a_story_with_a_field_word_needs_the_judges_bar_for_words(
    judged: Recording, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "lots" uses one of the trucker's field words ("drivers"), "rides" none: with a lower bar
    for a story with a field word, a doubtful judge lets the first in and keeps the second out
    (judge23's two bars are equal; the gate keeps them apart for a judge whose are not)."""
    monkeypatch.setattr(gate, "JUDGE_MIN_WITH_WORDS", gate.JUDGE_MIN - 1)
    judged.says = gate.JUDGE_MIN - 0.5
    sent = set(digest(Corpus(STORIES)))
    assert "lots" in sent and "rides" not in sent


PALLETS = item(
    "pallets", "Stolen pallets of electronics resurface online",
    "Investigators trace goods taken from parked trailers.",
)  # fmt: skip


def test_under_the_field_words_bar_a_story_gets_in_only_on_the_judges_word(
    judged: Recording,
) -> None:
    """Cargo theft in other words, a little under the field words' bar and with none of the
    trucker's field words: the judge's yes lets it in, its no or no judge keep it out."""
    corpus = Corpus([*STORIES, PALLETS])
    a = assess(make_profile(TRUCKING, TOPICS), corpus, FEEDS, JUDGED)
    k = next(k for k, i in enumerate(corpus.items) if i.id == "pallets")
    assert gate.JUDGE_FROM <= a.field_sim[k] < gate.FIELD_MIN_WITH_WORDS and a.unsure[k]
    assert "pallets" in digest(corpus)
    assert "pallets" not in digest(Corpus([*STORIES, PALLETS]), Mix(judge=False))
    judged.says = gate.JUDGE_MIN - 1
    assert "pallets" not in digest(Corpus([*STORIES, PALLETS]))


def test_without_the_judge_the_band_asks_for_a_field_word(judged: Recording) -> None:
    corpus = Corpus(STORIES)
    a = assess(make_profile(TRUCKING, TOPICS), corpus, FEEDS, Mix(judge=False))
    words = (a.field_sim >= gate.FIELD_MIN) | (
        (a.field_sim >= gate.FIELD_MIN_WITH_WORDS) & (a.lexical.field_words >= 1)
    )
    assert np.array_equal(a.field_ok, words)
    digest(corpus, Mix(judge=False))
    assert judged.asked == []


def test_the_newsletter_counts_the_band_by_field_words_and_asks_the_judge_nothing(
    judged: Recording,
) -> None:
    found = rank(
        make_profile(TRUCKING, TOPICS), Corpus(STORIES), feeds=FEEDS, now=NOW,
        settings=RankingSettings(), oldest=NOW - timedelta(days=30), mix=JUDGED,
    )  # fmt: skip
    week = {n.item.id for n in newsworthy(found, 0.0, NOW - timedelta(days=30), NOW)}
    assert judged.asked == []
    assert "lots" in week and "rides" not in week  # a field word ("drivers"), and none


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


def test_the_packaged_judge_reads_the_industry_alone_and_never_judges_an_account_without_one(
    judged: Recording,
) -> None:
    assert reads("Trucking", ["Drivers quitting"]) == "Trucking."
    assert reads(" ", ["Drivers quitting"]) == ""
    nameless = Account("anon", "Anon", problems=TRUCKING.problems, topics=("drivers",))
    a = assess(make_profile(nameless, TOPICS), Corpus(STORIES), FEEDS, JUDGED)
    assert a.judge is None and not a.unsure.any()  # the band asks for a field word


# --- the packaged judge ---------------------------------------------------------------------


def test_the_judge_reads_each_pair_alone_the_same_bytes_in_any_company() -> None:
    judge = Judge.load()
    said = reads(TRUCKING.industry, TRUCKING.problems)
    stories = [item_text(s) for s in STORIES]
    together = judge.logits(said, stories)
    alone = np.concatenate([judge.logits(said, [s]) for s in stories])
    assert together.tobytes() == alone.tobytes()
    assert judge.logits(said, stories[::-1]).tobytes() == together[::-1].tobytes()


def test_the_judge_answers_what_a_rep_would() -> None:
    """Its yes for a story on the trucker's problem, its no for one on another world's drivers
    (a graphics card's, a bus rider's)."""
    said = reads(TRUCKING.industry, TRUCKING.problems)
    quits, gpu, stops = (item_text(s) for s in STORIES if s.id in ("quits", "gpu", "stops"))
    logits = Judge.load().logits(said, [quits, gpu, stops])
    assert logits[0] >= gate.JUDGE_MIN
    assert max(logits[1:]) < gate.JUDGE_MIN_WITH_WORDS


def test_the_optimized_model_kept_in_the_cache_judges_the_same_and_a_damaged_one_is_made_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path))
    said = reads(TRUCKING.industry, TRUCKING.problems)
    stories = [item_text(s) for s in STORIES]

    def fresh() -> bytes:
        model, tokenizer, version = _model_files()
        judge = Judge(model, tokenizer, f"test@{version}", _packaged(JUDGE_FILE))
        return judge.logits(said, stories).tobytes()

    (tmp_path / "judge-0123456789abcdef01234567.onnx").write_bytes(b"an older judge's model")
    first = fresh()
    (saved,) = tmp_path.iterdir()  # the older one is gone
    graph, weights = saved / SAVED_GRAPH, saved / SAVED_WEIGHTS
    assert graph.stat().st_size > 0 and weights.stat().st_size > 50_000_000
    assert fresh() == first  # read from the cache
    weights.write_bytes(b"not a model")
    assert fresh() == first  # made again
    assert weights.stat().st_size > 50_000_000 and list(tmp_path.iterdir()) == [saved]


def test_a_first_digest_on_a_machine_prints_nothing_of_the_quantizer(
    fetched_example: Path, tmp_path: Path
) -> None:
    """Building the judge's int8 model on first use keeps onnxruntime's advice to model
    developers ("Please consider to run pre-processing ...") off the rep's terminal."""
    cache = tmp_path / "cache"
    kb = [sys.executable, "-c", "from generator.cli import main; main()"]
    done = subprocess.run(
        [*kb, "--project", str(fetched_example), "digest", "--all", "--dry-run"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env={**os.environ, "KB_CACHE_DIR": str(cache)},
    )
    assert done.returncode == 0, done.stderr
    assert list(cache.glob("judge-*")), "the digest built the judge's optimized model"
    assert done.stderr == ""


def test_a_new_int8_recipe_is_never_read_as_the_old_ones_logits_or_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model, _, version = _model_files()
    weights = _packaged(JUDGE_FILE)

    def keys() -> tuple[str, str]:
        return judge_id(version, weights), _fingerprint(model, weights, "1.0")

    before = keys()
    assert keys() == before
    monkeypatch.setattr(judge, "QUANTIZATION", {**QUANTIZATION, "per_channel": False})
    after = keys()
    assert after[0] != before[0] and after[1] != before[1]


# --- the setting ------------------------------------------------------------------------------


def with_judge(project: Path, value: str) -> None:
    kb = project / "kb.yml"
    text = kb.read_text(encoding="utf-8")
    kb.write_text(text.replace("ranking:\n", f"ranking:\n  judge: {value}\n", 1), encoding="utf-8")


def judged_stories(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The stories the judge is asked about in this process from now on."""
    asked: list[str] = []
    logits = Judge.logits

    def recording(self: Judge, account: str, stories: Sequence[str]) -> npt.NDArray[np.float32]:
        asked.extend(stories)
        return logits(self, account, stories)

    monkeypatch.setattr(Judge, "logits", recording)
    return asked


def test_the_judge_is_on_unless_the_project_turns_it_off(
    fetched_example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = judged_stories(monkeypatch)
    on = run_kb("--project", fetched_example, "digest", "--all", "--dry-run")
    assert on.exit_code == 0 and asked
    asked.clear()
    with_judge(fetched_example, "false")
    off = run_kb("--project", fetched_example, "digest", "--all", "--dry-run")
    assert off.exit_code == 0 and asked == []


def test_what_the_judge_said_is_kept_in_the_store_and_read_by_later_runs(
    fetched_example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_judge(fetched_example, "true")
    digest = ["--project", fetched_example, "digest", "--all", "--dry-run", "--format", "md"]
    pooled = run_kb(*digest, "--jobs", "2")  # worker processes judge, and keep what they said
    assert pooled.exit_code == 0, pooled.output
    store = open_store(fetched_example / ".kb")
    try:
        assert store.info().counts["judgements"] > 0
    finally:
        store.close()
    asked = judged_stories(monkeypatch)
    again = run_kb(*digest)
    assert again.exit_code == 0 and asked == []  # every pair read, none judged again
    assert again.output == pooled.output
    for account in ("polar-lane-logistics", "ridgeline-freight"):  # on demand: the same
        alone = run_kb("--project", fetched_example, "digest", account, "--dry-run")
        assert alone.exit_code == 0 and asked == []


def test_a_pools_workers_share_what_the_judge_said_as_it_is_said(fetched_example: Path) -> None:
    store = open_store(fetched_example / ".kb")
    try:
        first, second = (i.id for i in store.items()[:2])
        worker, other_worker = (StoredJudgements(store, shared=True) for _ in range(2))
        alone = StoredJudgements(store)
        both = (first, second)
        assert other_worker.since("j", "Trucking.", both) == {}
        worker.keep("j", "Trucking.", {first: 1.5})
        assert other_worker.since("j", "Trucking.", both) == {first: 1.5}  # before judging it
        assert other_worker.since("j", "Trucking.", [second]) == {}  # only what it asks about
        alone.keep("j", "Trucking.", {second: -2.0})  # one process: written with its chunk
        assert second not in worker.since("j", "Trucking.", both)
        assert alone.since("j", "Trucking.", both) == {}  # no other process to ask
        alone.save()
        assert worker.since("j", "Trucking.", both) == {first: 1.5, second: -2.0}
    finally:
        store.close()


def test_prune_drops_the_judgements_of_account_texts_no_account_has_and_of_earlier_judges(
    fetched_example: Path,
) -> None:
    with_judge(fetched_example, "true")
    assert run_kb("--project", fetched_example, "digest", "--all", "--dry-run").exit_code == 0
    state = fetched_example / ".kb"

    def judged() -> dict[str, int]:
        with sqlite3.connect(state / "kb.sqlite") as db:
            query = "SELECT account_hash, count(*) FROM judgements GROUP BY account_hash"
            return dict(db.execute(query).fetchall())

    before = judged()
    kept = next(iter(before))
    with sqlite3.connect(state / "kb.sqlite") as db:  # what an earlier version's judge said
        item = db.execute("SELECT item_id FROM judgements LIMIT 1").fetchone()[0]
        db.execute("INSERT INTO judgements VALUES ('judge0', ?, ?, ?)", (kept, item, b"\0" * 4))
    accounts = load_project(fetched_example).accounts
    said = {a.slug: text_hash(reads(a.industry, a.problems)) for a in accounts}
    gone = next(h for h in before if h in said.values())
    for account in (a for a in accounts if said[a.slug] == gone):  # every account that reads so
        path = fetched_example / "content" / "accounts" / f"{account.slug}.yml"
        line = f"industry: {account.industry}"
        path.write_text(path.read_text().replace(line, f"{line} Services"))
    now = "2026-11-16T09:00:00Z"
    result = run_kb("--project", fetched_example, "prune", "--older-than", "9999d", "--now", now)
    assert result.exit_code == 0, result.output
    assert (
        f"removed {before[gone] + 1} judgements of accounts' texts no account has any more"
        " or of an earlier judge"
    ) in result.output
    assert judged() == {h: n for h, n in before.items() if h != gone}


def test_a_judge_setting_that_is_not_true_or_false_is_reported_where_it_is(example: Path) -> None:
    with_judge(example, "maybe")
    result = run_kb("--project", example, "check")
    assert result.exit_code == 1
    line = (
        example.joinpath("kb.yml").read_text(encoding="utf-8").splitlines().index("  judge: maybe")
    )
    assert f"{example / 'kb.yml'}:{line + 1}: 'judge' must be true or false" in result.output
    assert "Traceback" not in result.output
