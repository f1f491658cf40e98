"""The ranker against a labelled evaluation set (``tests/data/eval``), next to plain BM25.

The set was written for this project before the ranker was tuned: six accounts in five
industries plus one that nothing should match, a taxonomy, 56 items with graded relevance
(2 = speaks to a problem, 1 = on a topic) and keyword traps (items that share a word but not
the meaning). Metrics, per account and then averaged over the accounts that have relevant items:

- precision@5: the share of the digest's first (up to) five items with relevance >= 1;
- nDCG@5 of the digest's order, gains 2^rel - 1;
- digest precision: the share of all digest items (every account) with relevance >= 1;
- recall: the share of the relevance-2 items that made their account's digest.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
import yaml

from generator.config import load_project
from generator.relevance import Corpus
from generator.digest import make_digest
from generator.models import Item, Project

EVAL = Path(__file__).resolve().parent / "data" / "eval"


@dataclass(frozen=True)
class EvalSet:
    project: Project
    items: tuple[Item, ...]
    grades: Mapping[str, Mapping[str, int]]
    """account slug -> item id -> grade (missing = 0)."""
    traps: Mapping[str, frozenset[str]]
    """account slug -> trap item ids."""


def load_eval(root: Path = EVAL) -> EvalSet:
    project = load_project(root)
    raw = yaml.safe_load((root / "items.yml").read_text(encoding="utf-8"))["items"]
    items: list[Item] = []
    grades: dict[str, dict[str, int]] = {a.slug: {} for a in project.accounts}
    traps: dict[str, set[str]] = {a.slug: set() for a in project.accounts}
    for entry in raw:
        day = entry["published"]
        assert isinstance(day, date)
        moment = datetime.combine(day, time(8, 0), UTC)
        items.append(
            Item(
                id=entry["id"],
                url=f"https://eval.example/{entry['id']}",
                title=entry["title"],
                summary=entry["summary"],
                summary_html="",
                published=moment,
                first_seen=moment,
                sources=(entry["feed"],),
            )
        )
        for slug, grade in (entry.get("relevance") or {}).items():
            grades[slug][entry["id"]] = grade
        for slug in entry.get("traps") or ():
            traps[slug].add(entry["id"])
    unknown = (set(grades) | set(traps)) - {a.slug for a in project.accounts}
    assert not unknown, unknown
    return EvalSet(project, tuple(items), grades, {k: frozenset(v) for k, v in traps.items()})


@dataclass(frozen=True)
class Figures:
    precision_at_5: float
    ndcg_at_5: float
    digest_precision: float
    recall_strong: float
    traps_sent: tuple[str, ...]
    null_sent: tuple[str, ...]

    def row(self, name: str) -> str:
        return (
            f"{name:<14} P@5 {self.precision_at_5:.3f}  nDCG@5 {self.ndcg_at_5:.3f}  "
            f"digest precision {self.digest_precision:.3f}  recall(2) {self.recall_strong:.3f}  "
            f"traps sent {len(self.traps_sent)}  null-account items {len(self.null_sent)}"
        )


def _dcg(gains: Sequence[int]) -> float:
    return sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(gains))


def evaluate(ev: EvalSet, digests: Mapping[str, Sequence[str]]) -> Figures:
    """Metrics for ``digests`` (account slug -> the item ids sent, in order)."""
    p5: list[float] = []
    ndcg: list[float] = []
    sent = relevant_sent = strong = strong_sent = 0
    traps: list[str] = []
    null: list[str] = []
    for slug, ids in sorted(digests.items()):
        grades = ev.grades[slug]
        traps += [f"{slug}:{i}" for i in ids if i in ev.traps[slug]]
        if not grades:
            null += [f"{slug}:{i}" for i in ids]
            continue
        top = list(ids[:5])
        p5.append(sum(grades.get(i, 0) >= 1 for i in top) / len(top) if top else 0.0)
        ideal = _dcg(sorted(grades.values(), reverse=True)[:5])
        ndcg.append(_dcg([grades.get(i, 0) for i in top]) / ideal)
        sent += len(ids)
        relevant_sent += sum(grades.get(i, 0) >= 1 for i in ids)
        wanted = {i for i, g in grades.items() if g == 2}
        strong += len(wanted)
        strong_sent += len(wanted & set(ids))
    return Figures(
        precision_at_5=sum(p5) / len(p5),
        ndcg_at_5=sum(ndcg) / len(ndcg),
        digest_precision=relevant_sent / sent if sent else 0.0,
        recall_strong=strong_sent / strong if strong else 1.0,
        traps_sent=tuple(traps),
        null_sent=tuple(null),
    )


def ranker_digests(ev: EvalSet) -> dict[str, list[str]]:
    now = ev.project.settings.now
    assert now is not None
    corpus = Corpus(ev.items)
    return {
        a.slug: [p.item.id for p in make_digest(ev.project, a, ev.items, now, corpus=corpus).picks]
        for a in ev.project.accounts
    }


def bm25_digests(ev: EvalSet, top: int = 5) -> dict[str, list[str]]:
    """Plain BM25 (rank-bm25) over title + summary; the query is everything the account says."""
    from rank_bm25 import BM25Okapi

    from generator.relevance.text import terms

    topics = {t.id: t for t in ev.project.topics}
    bm25 = BM25Okapi([terms(f"{i.title} {i.summary}") for i in ev.items])
    out: dict[str, list[str]] = {}
    for a in ev.project.accounts:
        phrases = [k for t in a.topics if t in topics for k in topics[t].keywords]
        query = terms(" ".join([*a.problems, *phrases, *a.keywords]))
        scores = bm25.get_scores(query)
        ranked = sorted(
            zip(scores, (i.id for i in ev.items), strict=True), key=lambda s: (-s[0], s[1])
        )
        out[a.slug] = [item_id for score, item_id in ranked[:top] if score > 0]
    return out


@pytest.fixture(scope="module")
def ev() -> EvalSet:
    return load_eval()


def test_the_evaluation_set_is_what_it_claims(ev: EvalSet) -> None:
    assert len(ev.items) >= 40
    assert len({i.id for i in ev.items}) == len(ev.items)
    assert sum(len(t) for t in ev.traps.values()) >= 10
    assert [slug for slug, g in ev.grades.items() if not g] == ["lumen-dental-labs"]
    assert len({a.industry for a in ev.project.accounts}) >= 5


def test_ranker_meets_its_floors_on_the_evaluation_set(ev: EvalSet) -> None:
    ours = evaluate(ev, ranker_digests(ev))
    print("\n" + ours.row("knowledge-broker"))
    assert ours.traps_sent == ()
    assert ours.null_sent == ()
    assert ours.precision_at_5 >= 0.95
    assert ours.digest_precision >= 0.95
    assert ours.recall_strong >= 0.95
    assert ours.ndcg_at_5 >= 0.95


def test_ranker_beats_plain_bm25_on_the_same_set(ev: EvalSet) -> None:
    pytest.importorskip("rank_bm25")
    ours = evaluate(ev, ranker_digests(ev))
    bm25 = evaluate(ev, bm25_digests(ev, top=ev.project.settings.ranking.max_items))
    bm25_5 = evaluate(ev, bm25_digests(ev, top=5))
    print(
        "\n"
        + ours.row("knowledge-broker")
        + "\n"
        + bm25.row("bm25 top-8")
        + "\n"
        + bm25_5.row("bm25 top-5")
    )
    assert ours.recall_strong > bm25.recall_strong
    assert ours.digest_precision > bm25.digest_precision
    assert len(ours.traps_sent) < len(bm25.traps_sent)
    assert len(ours.null_sent) < len(bm25.null_sent)
