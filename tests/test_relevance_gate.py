"""The digest's items from the candidates: the value gate, history, and caps that defer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from generator.models import Item, RankingSettings
from generator.relevance import Candidate, Check, decide, select
from generator.relevance.gate import Details, recency, shares

NOW = datetime(2026, 3, 16, 9, tzinfo=UTC)
PASSED = (Check("field", True, ""), Check("problem", True, ""))


def cand(
    key: str,
    source: str,
    score: float,
    topic: str = "t",
    relevance: float = 1.0,
    clear: bool = True,
) -> Candidate:
    item = Item(key, f"https://x.example/{key}", key, "", "", NOW, NOW, (source,))
    said = Details(("a reason",), "p", (topic,), checks=PASSED)
    return Candidate(item, score, relevance=relevance, clear=clear, details=said)


def test_caps_defer_and_the_digest_still_fills_up() -> None:
    found = [cand(f"a{i}", "one-feed", 10 - i) for i in range(6)] + [cand("b0", "other", 1)]
    tight = RankingSettings(max_items=4, max_share_per_source=0.5, max_share_per_topic=1.0)
    picks = [p.item.id for p in select(found, tight)]
    # two from the big feed, then the other feed's item, then the big feed fills what is left
    assert picks == ["a0", "a1", "b0", "a2"]
    reasons = {d.candidate.item.id: d.reason for d in decide(found, tight)}
    assert reasons["a2"].endswith("after the sources and topics with fewer items)")
    assert reasons["a3"] == (
        "relevant, but the digest is full (4 items, 3 from its source one-feed; past 2, "
        "a source's items wait behind the others)"
    )


def test_a_full_digest_names_the_topic_whose_share_held_an_item_back() -> None:
    found = [cand(f"a{i}", f"feed{i}", 10 - i, topic="t") for i in range(4)]
    found.append(cand("u", "feed9", 1, topic="u"))
    tight = RankingSettings(max_items=3, max_share_per_source=1.0, max_share_per_topic=0.5)
    reasons = {d.candidate.item.id: d.reason for d in decide(found, tight)}
    assert reasons["a3"] == (
        "relevant, but the digest is full (3 items, 2 from its topic t; past 1, "
        "a topic's items wait behind the others)"
    )


def test_with_one_source_of_relevant_items_nothing_is_dropped() -> None:
    found = [cand(f"a{i}", "only", 10 - i) for i in range(5)]
    settings = RankingSettings(max_items=8, max_share_per_source=0.25)
    assert [p.item.id for p in select(found, settings)] == ["a0", "a1", "a2", "a3", "a4"]


def test_the_value_gate_history_and_failed_gates_are_explained() -> None:
    weak = cand("weak", "f", 0.1, relevance=0.1)
    sent = cand("sent", "f", 5)
    check = Check("field", False, "similarity 0.10")
    off = cand("off", "f", 1).item
    failed = Candidate(off, 1, relevance=1, passed_gate=False, details=Details((), checks=(check,)))
    decisions = {
        d.candidate.item.id: d.reason
        for d in decide([sent, weak, failed], RankingSettings(), {"sent": NOW - timedelta(days=3)})
    }
    assert decisions["sent"] == "already sent on 2026-03-13"
    assert decisions["weak"] == "below the relevance bar (0.10 < 0.35)"
    off_reason = "did not pass the gate: not about the account's field: similarity 0.10"
    assert decisions["off"] == off_reason
    assert Check("problem", False, "x").detail == "does not speak to a problem: x"
    assert Check("problem", True, "x").detail == "speaks to a problem: x"


def test_borderline_items_go_out_only_beside_one_that_speaks_clearly() -> None:
    borderline = [cand(f"b{i}", f"feed{i}", 3 - i, clear=False) for i in range(3)]
    settings = RankingSettings()
    assert select(borderline, settings) == ()
    reasons = {d.candidate.item.id: d.reason for d in decide(borderline, settings)}
    assert reasons["b0"].startswith("relevant, but no candidate speaks clearly to one of")
    # one clear candidate, even the lowest, lets the borderline ones fill the digest in order
    clear = cand("c", "feed9", 0.5)
    assert [p.item.id for p in select([*borderline, clear], settings)] == ["b0", "b1", "b2", "c"]


def test_a_clear_item_already_sent_does_not_carry_this_weeks_borderline_ones() -> None:
    clear = cand("c", "f", 5)
    borderline = cand("b", "g", 4, clear=False)
    earlier = {"c": NOW - timedelta(days=7)}
    assert select([clear, borderline], RankingSettings(), earlier) == ()
    assert [p.item.id for p in select([clear, borderline], RankingSettings())] == ["c", "b"]


def test_shares_add_up_and_factors_are_kept_apart() -> None:
    parts = {"lexical": 0.2, "semantic problem": 0.6, "topic/keyword": 0.2}
    out = {s.signal: s for s in shares(parts, 0.8, 0.5)}
    assert sum(s.share for k, s in out.items() if k not in ("recency", "feed weight")) == 1.0
    assert out["semantic problem"].share == 0.6
    assert (out["feed weight"].value, out["recency"].value) == (0.8, 0.5)


def test_recency_halves_every_half_life() -> None:
    assert recency(NOW - timedelta(days=14), NOW, 14) == 0.5
    assert recency(NOW + timedelta(days=1), NOW, 14) == 1.0
