"""The ranker against the labelled evaluation parts (tests/data/eval), next to plain BM25.

Loading, rankers and metrics live in tests/evalset.py (shared with bench/relevance.py); this file
checks that each part is what it claims to be, that the metrics compute what they say, and that
the ranker meets its floors on each part.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from evalset import (
    EVAL,
    FITTED,
    PARTS,
    EvalSet,
    Figures,
    bm25_digests,
    dcg,
    evaluate,
    load_eval,
    ndcg_at,
    precision_at,
    ranker_digests,
)

from generator.config import load_project

EXAMPLE = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module", params=PARTS)
def ev(request: pytest.FixtureRequest) -> EvalSet:
    return load_eval(request.param)


# --- the metrics ------------------------------------------------------------------------------

GRADES = {"a": 2, "b": 2, "c": 1, "d": 1, "e": 1, "f": 2}


def test_precision_at_5_counts_the_first_five_sent_items_with_any_relevance() -> None:
    assert precision_at(GRADES, ["a", "x", "c", "y", "z", "b"]) == pytest.approx(2 / 5)
    assert precision_at(GRADES, ["x", "c"]) == pytest.approx(1 / 2)
    assert precision_at(GRADES, []) == 0.0


def test_ndcg_at_5_is_one_for_the_ideal_order_and_less_for_a_worse_one() -> None:
    assert ndcg_at(GRADES, ["a", "b", "f", "c", "d"]) == pytest.approx(1.0)
    swapped = ndcg_at(GRADES, ["c", "b", "f", "a", "d"])
    assert 0.0 < swapped < 1.0
    # gains 2^g - 1 discounted by log2(rank + 1): 1 + 3/log2(3) against the ideal 3 + 3/log2(3)
    assert ndcg_at({"a": 2, "b": 2}, ["x", "a"]) == pytest.approx(
        (3 / 1.5849625) / (3 + 3 / 1.5849625), rel=1e-6
    )
    assert dcg([2, 0, 1]) == pytest.approx(3 + 1 / 2)


def test_evaluate_counts_recall_traps_and_the_null_accounts(ev: EvalSet) -> None:
    strong = {s: [i for i, g in grades.items() if g == 2] for s, grades in ev.grades.items()}
    trap_of = {s: sorted(t) for s, t in ev.traps.items() if t and ev.grades[s]}
    slug, traps = next(iter(sorted(trap_of.items())))
    perfect = evaluate(ev, {s: ids for s, ids in strong.items()})
    assert perfect.recall_strong == 1.0
    assert perfect.digest_precision == 1.0
    assert perfect.traps_sent == perfect.null_sent == ()
    assert perfect.precision_at_5 == 1.0
    assert perfect.recall_paraphrase in (1.0, None)
    half = {s: ids[: len(ids) // 2] for s, ids in strong.items()}
    half[slug] = [*half[slug], traps[0]]
    for null in ev.null_accounts:
        half[null] = [ev.items[0].id]
    worse = evaluate(ev, half)
    wanted = sum(len(ids) for ids in strong.values())
    kept = sum(len(ids) // 2 for ids in strong.values())
    assert worse.recall_strong == pytest.approx(kept / wanted)
    assert worse.traps_sent == (f"{slug}:{traps[0]}",)
    # every null account's items count, together
    assert worse.null_sent == tuple(f"{null}:{ev.items[0].id}" for null in ev.null_accounts)
    assert worse.digest_precision < 1.0
    nothing = evaluate(ev, {s: [] for s in ev.grades})
    assert (nothing.recall_strong, nothing.precision_at_5, nothing.digest_precision) == (0, 0, 0)


# --- the parts --------------------------------------------------------------------------------


def _industries(project_dir: Path) -> set[str]:
    return {a.industry.lower() for a in load_project(project_dir).accounts}


PLAIN = (
    "dev9",
    "dev10",
    "dev11",
    "dev12",
    "heldout20",
    "heldout21",
    "heldout24",
    "heldout25",
    "heldout28",
    "heldout29",
    "heldout31",
    "dev14",
    "heldout33",
    "heldout35",
    "dev16",
    "dev18",
    "dev20",
    "dev22",
    "dev24",
    "dev26",
    "dev28",
    "dev30",
    "dev32",
    "dev34",
    "dev36",
    "dev38",
    "dev40",
    "dev42",
    "dev44",
    "dev46",
    "dev48",
    "dev50",
    "dev52",
    "heldout37",
    "heldout39",
    "heldout41",
    "heldout43",
    "heldout45",
    "heldout47",
    "heldout49",
    "heldout51",
    "heldout53",
    "heldout55",
    "heldout57",
    "heldout59",
    "heldout61",
    "heldout63",
    "heldout65",
    "heldout67",
    "heldout69",
    "heldout71",
    "heldout73",
    "heldout75",
    "heldout77",
    "heldout79",
    "heldout81",
    "heldout83",
    "heldout85",
    "heldout87",
    "heldout89",
    "heldout91",
    "heldout93",
    "heldout95",
)
"""Plain parts (fifth session): a real team's week of news, keyword traps only as often as they
turn up, one account nothing concerns, each account with a problem its topics do not cover."""


def test_each_part_is_what_it_claims(ev: EvalSet) -> None:
    ids = [i.id for i in ev.items]
    assert len(set(ids)) == len(ids)
    null = list(ev.null_accounts)
    # the trap-dense parts written since heldout2 have two accounts nothing concerns and dev
    # five, each with traps of its own
    two = tuple(p for p in PARTS if p not in ("near", "dev", "heldout", *PLAIN))
    expected = 2 if ev.name in two else {"dev": 5}.get(ev.name, 1)
    assert len(null) == expected, "accounts that nothing concerns"
    with_news = [a for a in ev.project.accounts if ev.grades[a.slug]]
    assert len({a.industry for a in with_news}) >= 5
    strong = [i for g in ev.grades.values() for i, grade in g.items() if grade == 2]
    traps = {i for t in ev.traps.values() for i in t}
    if ev.name == "near":
        assert len(ev.items) >= 40 and len(traps) >= 10
        assert null == ["lumen-dental-labs"]
        return
    # dev and held-out: the construction issue 16 asks for
    assert len(ev.paraphrases) >= 0.4 * len(strong)
    assert ev.paraphrases <= set(strong)
    if ev.name in PLAIN:
        # up to 15 trap items; heldout67 and heldout69 (eleventh session) were asked for 12
        # keyword traps and about 6 near misses on top, and hold 18 and 19
        assert 120 <= len(ids) <= 170 and 8 <= len(traps) <= 20
        assert all(ev.traps[slug] for slug in null), "near misses for the null account"
    else:
        assert len(traps) >= {"dev": 20, "heldout": 30}.get(ev.name, 35)
    assert len(with_news) >= (5 if ev.name == "dev" else 6)
    if ev.name in two:
        assert 170 <= len(ids) <= 220
        assert len(ev.paraphrases) >= 0.45 * len(strong)
        assert all(ev.traps[slug] for slug in null), "traps for every null account"
        assert all(sum(g == 1 for g in ev.grades[a.slug].values()) >= 1 for a in with_news)
    for a in with_news:
        assert 5 <= sum(g == 2 for g in ev.grades[a.slug].values()) <= 8, a.slug
    filler = [i for i in ids if i not in traps and all(i not in g for g in ev.grades.values())]
    assert len(filler) >= 40
    now = ev.project.settings.now
    assert now is not None
    assert all(now - timedelta(days=22) <= i.published < now for i in ev.items)


WRITTEN = (
    ("heldout2",),
    ("heldout3",),
    ("dev2", "heldout4"),
    ("heldout5",),
    ("heldout6",),
    ("heldout7",),
    ("heldout8", "heldout9"),
    tuple(f"dev{n}" for n in range(3, 9)),
    tuple(f"heldout{n}" for n in range(10, 14)),
    tuple(f"heldout{n}" for n in range(14, 18)),
    (*(f"dev{n}" for n in range(9, 13)), *(f"heldout{n}" for n in range(18, 22))),
    tuple(f"heldout{n}" for n in range(22, 26)),
    tuple(f"heldout{n}" for n in range(26, 30)),
    ("heldout30", "heldout31"),
    ("dev13", "dev14", "heldout32", "heldout33"),
    ("heldout34", "heldout35"),
    tuple(f"dev{n}" for n in range(15, 23)),
    tuple(f"dev{n}" for n in range(23, 31)),
    (*(f"dev{n}" for n in range(31, 37)), "heldout36", "heldout37"),
    (*(f"dev{n}" for n in range(37, 41)), *(f"heldout{n}" for n in range(38, 42))),
    tuple(f"dev{n}" for n in range(41, 49)),
    (*(f"dev{n}" for n in range(49, 53)), *(f"heldout{n}" for n in range(42, 46))),
    tuple(f"heldout{n}" for n in range(46, 50)),
    tuple(f"heldout{n}" for n in range(50, 54)),
    tuple(f"heldout{n}" for n in range(54, 58)),
    tuple(f"heldout{n}" for n in range(58, 62)),
    tuple(f"heldout{n}" for n in range(62, 66)),
    tuple(f"heldout{n}" for n in range(66, 70)),
    tuple(f"heldout{n}" for n in range(70, 74)),
    tuple(f"heldout{n}" for n in range(74, 78)),
    tuple(f"heldout{n}" for n in range(78, 84)),
    tuple(f"heldout{n}" for n in range(84, 90)),
    tuple(f"heldout{n}" for n in range(90, 96)),
)
"""The parts written blind since heldout2, in the order they were written; the parts of one
tuple were written at once, by different people (dev9 and dev11 both hold a commercial printer:
two tuning parts, so no held-out part is the less new for it)."""


def test_held_out_industries_are_new_to_the_example_near_and_dev() -> None:
    heldout, dev = _industries(EVAL / "heldout"), _industries(EVAL / "dev")
    seen = _industries(EXAMPLE) | _industries(EVAL / "near")
    assert len(heldout) >= 6 and len(dev) >= 5
    assert not _overlap(heldout, seen | dev)
    assert not _overlap(dev, seen)
    before = seen | dev | heldout
    for group in WRITTEN:
        industries = {name: _industries(EVAL / name) for name in group}
        for name, these in industries.items():
            if name.startswith("dev") and name != "dev2":
                continue  # tuning parts: what the held-out parts must be new to, no more
            # six with news, and two that nothing concerns (one in a plain part)
            assert len(these) >= (7 if name in PLAIN else 8), name
            others = set().union(*(v for other, v in industries.items() if other != name))
            assert _overlap(these, before | others) == KNOWN_OVERLAPS.get(name, set()), name
        before |= set().union(*industries.values())


def test_every_part_is_registered_once_with_its_floors() -> None:
    """A merge of parts written at once can repeat a registration; a repeated part would be
    measured twice and, for a development part, fitted on twice."""
    written = [name for group in WRITTEN for name in group]
    assert len(PARTS) == len(set(PARTS)) and len(written) == len(set(written))
    assert set(PARTS) == {d.name for d in EVAL.iterdir() if (d / "items.yml").exists()}
    assert set(FLOORS) == set(PARTS)
    assert set(PLAIN) <= set(PARTS) and len(PLAIN) == len(set(PLAIN))
    assert set(FITTED) <= set(PARTS) and len(FITTED) == len(set(FITTED)) == 74


KNOWN_OVERLAPS: dict[str, set[tuple[str, str]]] = {
    # The eleventh session's coordinator gave these writers industries that earlier parts already
    # held, and noticed only after judge21 was measured on them: judge21b's rule leaves heldout67
    # to heldout69 out of its held-out pool (bench/RESULTS.md). They stay, as held-out parts with
    # this caveat: never tuned on, but not new.
    "heldout66": {("mini golf courses", "golf courses")},  # dev2's; a family attraction
    "heldout67": {
        ("patent law firms", "law firms"),  # dev3
        ("harmonica repair shop", "harmonica repair shop"),  # heldout28's null account
        ("psychiatric hospitals", "hospitals"),  # near's hospital
    },
    "heldout68": {
        ("leather tanneries", "leather tanneries"),  # dev20
        ("chess club", "chess club"),  # dev6's null account
        ("horse racing tracks", "horse racing tracks"),  # heldout30
    },
    "heldout69": {("midwifery birth centers", "birth centers")},  # dev41, dev49
}
"""Held-out parts whose industries repeat earlier parts' (each pair: this part's, the other's)."""


def _overlap(these: set[str], those: set[str]) -> set[tuple[str, str]]:
    """Pairs naming one industry in other words: "funeral homes" and "funeral home", "car wash
    chain" and "car wash" (plurals dropped, one name inside the other)."""

    def norm(industry: str) -> str:
        return " " + " ".join(w.removesuffix("s") for w in industry.split()) + " "

    return {(a, b) for a in these for b in those if norm(a) in norm(b) or norm(b) in norm(a)}


# --- the ranker on each part ------------------------------------------------------------------


def floor(
    p5: float, ndcg: float, relevant: float, recall: float, traps: int, null: int
) -> dict[str, float]:
    """One part's floors: the least P@5, nDCG@5, share sent relevant and recall of grade-2 items,
    the most traps and items for accounts nothing concerns."""
    return {
        "p5": p5,
        "ndcg": ndcg,
        "relevant": relevant,
        "recall": recall,
        "traps": traps,
        "null": null,
    }


FLOORS: dict[str, dict[str, float]] = {
    # Every floor was set again on 2026-12-01 (fourteenth session) when judge27 was adopted: 0.02
    # under what the ranker measured then on each part, traps and null items as measured. The
    # judge is fitted on the development parts and on evalset.FITTED: their floors measure fit.
    # Before that, every floor was set again on 2026-11-30 (ninth session) when ft21 was adopted
    # (the tuning ft18 and the field question asking the bare industry too), the same way
    # (bench/RESULTS.md, "Ninth session"). The development parts near, dev and dev2 to dev52 are
    # what ft18 was fitted on: their floors measure fit. The figures in the comments below are
    # earlier measurements.
    # Just under what the ranker measured (bench/RESULTS.md). Issue 16 (2026-11-29; thresholds
    # chosen on dev, held-out run once after): near P@5 1.00, nDCG 1.00, recall 0.94, 0.97
    # relevant, no trap, nothing for the null account; held-out 0.93 / 0.90 / 0.76 / 0.92, 3
    # traps, 1 item for its null account: not the target of 0. Dev since 2026-11-30 has five
    # null accounts and near misses for them; the same ranker measures 0.96 / 0.97 / 0.83 /
    # 0.89, 2 traps, 1 item for a null account there (looser floors because the material is
    # harder, not because the ranker changed). A contrast with other fields tried on it did not
    # generalise and was not merged (bench/RESULTS.md). 2026-11-30, fourth session: a digest
    # sends news only beside a candidate that speaks clearly to a problem (gate.CLEAR_MIN,
    # chosen on dev and near): dev 0.96 / 0.97 / 0.83 / 0.91, 1 trap, 0 null items; heldout,
    # run once after, 0.93 / 0.90 / 0.76 / 0.94, 2 traps, 0 null items; heldout2 unchanged.
    "near": floor(0.98, 0.98, 0.95, 0.98, 0, 0),
    "dev": floor(0.98, 0.96, 0.95, 0.83, 0, 0),
    "heldout": floor(0.94, 0.9, 0.93, 0.78, 0, 0),
    # heldout2 was measured ONCE, 2026-11-30, on the ranker of issue 16 as merged (P@5 0.97,
    # nDCG 0.90, recall 0.83, 0.92 relevant, 3 traps, 2 items for its two null accounts); these
    # floors sit just under that and were never tuned: a change that needs one lowered regresses.
    "heldout2": floor(0.98, 0.91, 0.98, 0.9, 0, 0),
    # heldout3 was written blind on 2026-11-30 (fourth session), after the clear rule, and
    # measured ONCE (P@5 0.93, nDCG 0.85, recall 0.70, 0.88 relevant, 6 traps, 2 items for its
    # two null accounts: issue 16's targets of at most 3 traps and nothing for the null accounts
    # are NOT met here). Floors just under that, never tuned.
    "heldout3": floor(0.98, 0.84, 0.95, 0.77, 1, 0),
    # dev2 (tune here) and heldout4 were written blind at the same time, 2026-11-30 (fourth
    # session), in the construction of heldout3. The ranker as merged measures dev2 0.83 / 0.83
    # / 0.60 / 0.69, 11 traps, 3 null items, and heldout4 (measured once) 0.90 / 0.83 / 0.67 /
    # 0.88, 6 traps, 2 null items: issue 16's recall, traps and null targets are NOT met on
    # either. A field measure tried on dev2 was not adopted (bench/RESULTS.md).
    "dev2": floor(0.98, 0.91, 0.93, 0.8, 0, 0),
    "heldout4": floor(0.94, 0.82, 0.91, 0.68, 3, 0),
    # heldout5, written blind later the same session, measured once: 0.97 / 0.85 / 0.60 / 0.83,
    # 7 traps, 2 null items (recall, relevant, traps and null targets NOT met).
    "heldout5": floor(0.91, 0.84, 0.83, 0.71, 5, 2),
    # heldout6, written blind at the end of the session, measured once: 0.97 / 0.83 / 0.56 /
    # 0.80, 6 traps, 2 null items (recall, relevant, traps and null targets NOT met).
    "heldout6": floor(0.94, 0.81, 0.91, 0.74, 0, 0),
    # heldout7, written blind last, measured once: 0.87 / 0.80 / 0.72 / 0.75, 12 traps, 5 null
    # items (relevant, traps and null targets NOT met).
    "heldout7": floor(0.91, 0.83, 0.8, 0.83, 6, 3),
    # heldout8 and heldout9, written blind in the fifth session, measured once: heldout8 0.93 /
    # 0.84 / 0.59 / 0.79, 8 traps, 3 null items; heldout9 0.93 / 0.89 / 0.72 / 0.92, 4 traps,
    # 2 null items (heldout8: recall, relevant, traps and null targets NOT met; heldout9: traps
    # and null NOT met).
    "heldout8": floor(0.98, 0.86, 0.91, 0.73, 2, 0),
    "heldout9": floor(0.98, 0.93, 0.91, 0.72, 0, 0),
    # dev3 to dev8 (tune here) and heldout10 to heldout13 (never tune here), written blind in the
    # fifth session, the ranker as merged measured once on each (bench/RESULTS.md): recall is
    # 0.56-0.67 on all ten (target 0.7); heldout12 alone meets the trap and null targets.
    "dev3": floor(0.98, 0.9, 0.98, 0.93, 0, 0),
    "dev4": floor(0.98, 0.85, 0.93, 0.73, 0, 0),
    "dev5": floor(0.94, 0.83, 0.89, 0.7, 0, 0),
    "dev6": floor(0.98, 0.88, 0.89, 0.76, 0, 0),
    "dev7": floor(0.98, 0.89, 0.98, 0.88, 0, 0),
    "dev8": floor(0.98, 0.86, 0.89, 0.71, 1, 0),
    "heldout10": floor(0.98, 0.71, 0.95, 0.81, 0, 0),
    "heldout11": floor(0.94, 0.89, 0.83, 0.71, 0, 0),
    "heldout12": floor(0.98, 0.87, 0.91, 0.7, 0, 0),
    "heldout13": floor(0.94, 0.81, 0.89, 0.66, 1, 0),
    # heldout14 to heldout17, written blind at once after them, measured once: recall 0.58-0.67
    # on all four (target 0.7); heldout17 meets every other target (0 traps, 0 null items).
    "heldout14": floor(0.98, 0.88, 0.98, 0.81, 0, 0),
    "heldout15": floor(0.91, 0.81, 0.87, 0.74, 2, 0),
    "heldout16": floor(0.94, 0.82, 0.89, 0.68, 3, 1),
    "heldout17": floor(0.98, 0.83, 0.95, 0.71, 0, 0),
    # dev9 to dev12 (plain, tune here) and heldout18 to heldout21 (18 and 19 trap-dense, 20 and
    # 21 plain), written blind at once in the fifth session, measured once: the plain parts send
    # 0-2 traps and 0-2 null items at P@5 0.93-1.00, recall 0.60-0.71.
    "dev9": floor(0.98, 0.79, 0.95, 0.81, 0, 0),
    "dev10": floor(0.98, 0.87, 0.93, 0.78, 0, 0),
    "dev11": floor(0.98, 0.88, 0.95, 0.78, 0, 0),
    "dev12": floor(0.98, 0.84, 0.98, 0.78, 0, 0),
    "heldout18": floor(0.98, 0.87, 0.93, 0.82, 1, 1),
    "heldout19": floor(0.94, 0.87, 0.91, 0.78, 1, 0),
    "heldout20": floor(0.98, 0.92, 0.91, 0.83, 0, 0),
    "heldout21": floor(0.98, 0.84, 0.95, 0.76, 0, 0),
    # heldout22 to heldout25 (22 and 23 trap-dense, 24 and 25 plain), written blind at once to
    # decide the actor path (not merged), measured once: recall 0.57-0.76, 1-5 traps, no null item.
    "heldout22": floor(0.94, 0.92, 0.91, 0.86, 1, 0),
    "heldout23": floor(0.98, 0.98, 0.93, 0.88, 2, 0),
    "heldout24": floor(0.98, 0.88, 0.95, 0.83, 0, 0),
    "heldout25": floor(0.98, 0.84, 0.95, 0.83, 1, 0),
    # heldout26 to heldout29 (26 and 27 trap-dense, 28 and 29 plain), written blind at once in the
    # sixth session while the learned field question (vec16, not merged) was tried, measured once:
    # recall 0.46-0.69, 1-8 traps, at most one null item.
    "heldout26": floor(0.94, 0.8, 0.95, 0.88, 1, 0),
    "heldout27": floor(0.98, 0.85, 0.93, 0.76, 2, 0),
    "heldout28": floor(0.98, 0.81, 0.93, 0.74, 0, 0),
    "heldout29": floor(0.98, 0.87, 0.95, 0.72, 1, 0),
    "heldout30": floor(0.94, 0.85, 0.93, 0.75, 2, 0),
    "heldout31": floor(0.98, 0.8, 0.98, 0.7, 0, 0),
    # dev13 and dev14 (tune here) and heldout32 and heldout33 (never tune here; 13 and 32
    # trap-dense, 14 and 33 plain), written blind at once in the seventh session, measured once
    # with the encoder's fine-tuning ft16b (fitted before they existed).
    "dev13": floor(0.98, 0.87, 0.93, 0.76, 0, 0),
    "dev14": floor(0.98, 0.86, 0.95, 0.76, 0, 0),
    "heldout32": floor(0.94, 0.84, 0.93, 0.76, 1, 0),
    "heldout33": floor(0.98, 0.91, 0.93, 0.81, 0, 0),
    # heldout34 (trap-dense) and heldout35 (plain), written blind at once in the seventh session
    # to decide ft16d, measured once with ft16b (the package's weights: recall 0.63 and 0.57,
    # 15 and 8 traps + null items).
    "heldout34": floor(0.98, 0.93, 0.91, 0.77, 0, 0),
    "heldout35": floor(0.98, 0.78, 0.93, 0.74, 2, 1),
    # dev15 to dev40 (tune here) and heldout36 to heldout41 (never tune here) were written blind
    # in the eighth session; ft17 (not merged) was fitted on the development parts and decided on
    # the held-out parts, each measured once with ft16b and ft17 (bench/RESULTS.md).
    "dev15": floor(0.94, 0.9, 0.95, 0.83, 1, 0),
    "dev16": floor(0.98, 0.86, 0.98, 0.84, 0, 0),
    "dev17": floor(0.98, 0.86, 0.98, 0.83, 0, 0),
    "dev18": floor(0.98, 0.83, 0.98, 0.76, 0, 0),
    "dev19": floor(0.98, 0.87, 0.95, 0.86, 0, 0),
    "dev20": floor(0.98, 0.88, 0.98, 0.86, 0, 0),
    "dev21": floor(0.98, 0.89, 0.98, 0.83, 0, 0),
    "dev22": floor(0.94, 0.79, 0.93, 0.83, 2, 0),
    "dev23": floor(0.91, 0.83, 0.93, 0.68, 2, 0),
    "dev24": floor(0.98, 0.8, 0.98, 0.75, 0, 0),
    "dev25": floor(0.98, 0.89, 0.98, 0.76, 0, 0),
    "dev26": floor(0.98, 0.85, 0.98, 0.76, 0, 0),
    "dev27": floor(0.98, 0.89, 0.95, 0.86, 1, 0),
    "dev28": floor(0.98, 0.78, 0.95, 0.76, 1, 0),
    "dev29": floor(0.94, 0.9, 0.95, 0.8, 1, 0),
    "dev30": floor(0.98, 0.9, 0.98, 0.76, 0, 0),
    "dev31": floor(0.98, 0.85, 0.95, 0.81, 0, 0),
    "dev32": floor(0.98, 0.8, 0.98, 0.76, 0, 0),
    "dev33": floor(0.98, 0.84, 0.95, 0.88, 1, 0),
    "dev34": floor(0.98, 0.86, 0.93, 0.78, 1, 0),
    "dev35": floor(0.98, 0.87, 0.93, 0.78, 1, 0),
    "dev36": floor(0.98, 0.85, 0.98, 0.76, 0, 0),
    "dev37": floor(0.98, 0.83, 0.95, 0.71, 0, 0),
    "dev38": floor(0.98, 0.85, 0.93, 0.88, 1, 0),
    "dev39": floor(0.98, 0.81, 0.98, 0.82, 0, 0),
    "dev40": floor(0.98, 0.78, 0.95, 0.81, 0, 0),
    "heldout36": floor(0.98, 0.86, 0.93, 0.83, 2, 0),
    "heldout37": floor(0.98, 0.86, 0.95, 0.67, 1, 0),
    "heldout38": floor(0.94, 0.84, 0.93, 0.83, 1, 0),
    "heldout39": floor(0.98, 0.76, 0.98, 0.77, 0, 0),
    "heldout40": floor(0.98, 0.81, 0.98, 0.74, 0, 0),
    "heldout41": floor(0.98, 0.84, 0.9, 0.62, 3, 0),
    # dev41 to dev52 and heldout42 to heldout45 were written blind in the eighth session after
    # ft17 was fitted; the held-out ones decided ft18 (not adopted then; its tuning ships in ft21
    # since the ninth session), measured with ft17 and ft18.
    "dev41": floor(0.98, 0.8, 0.98, 0.78, 0, 0),
    "dev42": floor(0.98, 0.86, 0.95, 0.76, 0, 0),
    "dev43": floor(0.98, 0.88, 0.95, 0.83, 1, 0),
    "dev44": floor(0.98, 0.83, 0.95, 0.89, 0, 0),
    "dev45": floor(0.98, 0.85, 0.93, 0.84, 1, 0),
    "dev46": floor(0.98, 0.85, 0.95, 0.89, 0, 0),
    "dev47": floor(0.98, 0.82, 0.95, 0.92, 1, 0),
    "dev48": floor(0.98, 0.8, 0.95, 0.81, 0, 0),
    "dev49": floor(0.98, 0.89, 0.98, 0.81, 0, 0),
    "dev50": floor(0.98, 0.83, 0.98, 0.81, 0, 0),
    "dev51": floor(0.98, 0.9, 0.98, 0.86, 0, 0),
    "dev52": floor(0.98, 0.79, 0.95, 0.76, 0, 0),
    "heldout42": floor(0.98, 0.89, 0.95, 0.78, 0, 0),
    "heldout43": floor(0.98, 0.83, 0.95, 0.75, 0, 0),
    "heldout44": floor(0.98, 0.86, 0.95, 0.81, 0, 0),
    "heldout45": floor(0.98, 0.81, 0.91, 0.78, 2, 0),
    # heldout46 to heldout49: written blind to decide ft19 (not adopted), measured with ft17, ft19.
    "heldout46": floor(0.91, 0.83, 0.89, 0.84, 3, 0),
    "heldout47": floor(0.98, 0.88, 0.91, 0.86, 0, 0),
    "heldout48": floor(0.94, 0.78, 0.85, 0.67, 5, 1),
    "heldout49": floor(0.94, 0.86, 0.9, 0.7, 0, 0),
    # heldout50 to heldout53: written blind in the ninth session to decide ft21 (adopted),
    # measured once with ft16b and ft21: ft16b recall 107 of 172 and 13 traps + null items,
    # ft21 122 of 172 and 5 (bench/RESULTS.md, "Ninth session").
    "heldout50": floor(0.98, 0.88, 0.95, 0.74, 0, 0),
    "heldout51": floor(0.98, 0.85, 0.93, 0.71, 0, 0),
    "heldout52": floor(0.98, 0.89, 0.95, 0.87, 0, 0),
    "heldout53": floor(0.94, 0.87, 0.91, 0.79, 3, 0),
    # heldout54 to heldout57: written blind in the ninth session to decide ft22 (not adopted: it
    # failed the suite), measured once with ft21 and ft22 (bench/RESULTS.md, "Ninth session").
    "heldout54": floor(0.98, 0.8, 0.93, 0.76, 1, 0),
    "heldout55": floor(0.98, 0.89, 0.93, 0.77, 1, 0),
    "heldout56": floor(0.98, 0.86, 0.95, 0.78, 1, 0),
    "heldout57": floor(0.94, 0.82, 0.91, 0.78, 1, 0),
    "heldout58": floor(0.98, 0.87, 0.93, 0.77, 0, 0),
    "heldout59": floor(0.98, 0.88, 0.91, 0.83, 2, 0),
    "heldout60": floor(0.98, 0.73, 0.98, 0.76, 0, 0),
    "heldout61": floor(0.98, 0.82, 0.93, 0.7, 0, 0),
    "heldout62": floor(0.98, 0.9, 0.95, 0.78, 0, 0),
    "heldout63": floor(0.94, 0.81, 0.93, 0.7, 1, 0),
    "heldout64": floor(0.98, 0.93, 0.89, 0.81, 0, 0),
    "heldout65": floor(0.94, 0.86, 0.93, 0.78, 2, 0),
    # heldout66 to heldout73 (eleventh session), written blind; floors set with ft21, the ranker
    # as shipped (measured once, in the same runs as judge21 and judge21b: bench/RESULTS.md).
    "heldout66": floor(0.98, 0.91, 0.95, 0.9, 1, 0),
    "heldout67": floor(0.98, 0.84, 0.98, 0.86, 0, 0),
    "heldout68": floor(0.98, 0.9, 0.91, 0.78, 2, 0),
    "heldout69": floor(0.98, 0.88, 0.95, 0.88, 0, 0),
    "heldout70": floor(0.94, 0.84, 0.95, 0.78, 1, 0),
    "heldout71": floor(0.98, 0.89, 0.98, 0.83, 0, 0),
    "heldout72": floor(0.98, 0.87, 0.93, 0.69, 0, 0),
    "heldout73": floor(0.98, 0.89, 0.93, 0.83, 0, 0),
    # heldout74 to heldout77 (twelfth session), written blind for judge22, which failed before any
    # held-out figure, then decided judge23 (not adopted: bench/RESULTS.md). Floors set with ft21,
    # the ranker as shipped.
    "heldout74": floor(0.94, 0.89, 0.91, 0.81, 2, 0),
    "heldout75": floor(0.98, 0.84, 0.93, 0.81, 0, 0),
    "heldout76": floor(0.98, 0.87, 0.91, 0.78, 3, 0),
    "heldout77": floor(0.98, 0.86, 0.93, 0.83, 1, 0),
    # heldout78 to heldout83 (thirteenth session), written blind for judge24 (failed before any
    # held-out figure) and judge25 (adopted: bench/RESULTS.md).
    "heldout78": floor(0.98, 0.83, 0.91, 0.78, 2, 1),
    "heldout79": floor(0.98, 0.89, 0.93, 0.78, 0, 0),
    "heldout80": floor(0.98, 0.88, 0.93, 0.81, 2, 0),
    "heldout81": floor(0.98, 0.87, 0.95, 0.83, 0, 0),
    "heldout82": floor(0.98, 0.87, 0.93, 0.86, 1, 0),
    "heldout83": floor(0.94, 0.86, 0.89, 0.78, 0, 0),
    # heldout84 to heldout89 (fourteenth session), written blind to decide judge27, measured once
    # with judge25 and judge27 (bench/RESULTS.md, "judge27").
    "heldout84": floor(0.98, 0.86, 0.95, 0.76, 1, 0),
    "heldout85": floor(0.94, 0.87, 0.93, 0.81, 2, 0),
    "heldout86": floor(0.98, 0.86, 0.95, 0.76, 0, 0),
    "heldout87": floor(0.98, 0.88, 0.93, 0.71, 0, 0),
    "heldout88": floor(0.98, 0.9, 0.91, 0.76, 3, 0),
    "heldout89": floor(0.91, 0.85, 0.88, 0.67, 1, 0),
    # heldout90 to heldout95 (fifteenth session), written blind to measure judge27 once more,
    # measured once (bench/RESULTS.md, "Fifteenth session").
    "heldout90": floor(0.98, 0.89, 0.98, 0.76, 0, 0),
    "heldout91": floor(0.95, 0.79, 0.86, 0.62, 0, 0),
    "heldout92": floor(0.98, 0.91, 0.94, 0.75, 0, 0),
    "heldout93": floor(0.98, 0.89, 0.98, 0.70, 0, 0),
    "heldout94": floor(0.95, 0.77, 0.92, 0.69, 0, 0),
    "heldout95": floor(0.98, 0.91, 0.93, 0.84, 0, 0),
}


@pytest.fixture(scope="module")
def ours(ev: EvalSet) -> Figures:
    """The ranker's figures on the part, ranked once for every test that reads them."""
    return evaluate(ev, ranker_digests(ev))


@pytest.fixture(scope="module")
def bm25(ev: EvalSet) -> Figures:
    pytest.importorskip("bm25s")
    return evaluate(ev, bm25_digests(ev))


def test_ranker_meets_its_floors(ev: EvalSet, ours: Figures) -> None:
    floor = FLOORS[ev.name]
    print("\n" + ours.row(ev.name, "ours"), ours.traps_sent, ours.null_sent)
    assert len(ours.traps_sent) <= floor["traps"]
    assert len(ours.null_sent) <= floor["null"]
    assert ours.precision_at_5 >= floor["p5"]
    assert ours.ndcg_at_5 >= floor["ndcg"]
    assert ours.digest_precision >= floor["relevant"]
    assert ours.recall_strong >= floor["recall"]


NULL_NOT_UNDER_BM25: dict[str, tuple[int, str]] = {}
"""Parts on which the ranker sends the accounts nothing concerns at least as many items as plain
BM25 (issue 16 open): how many, as measured, and why. heldout21 was one (the ocularist got
eight eye-care stories, BM25 four) until judge27, which was fitted on heldout21 and sends it
none."""

AS_MANY_TRAPS_AS_BM25: dict[str, str] = {}
"""Parts on which the ranker sends as many keyword traps as plain BM25, no more (issue 16 open).
heldout65 was one (three traps) until judge25 (two)."""


def test_ranker_sends_fewer_traps_and_less_noise_than_plain_bm25(
    ev: EvalSet, ours: Figures, bm25: Figures
) -> None:
    print("\n" + ours.row(ev.name, "ours") + "\n" + bm25.row(ev.name, "bm25"))
    assert ours.digest_precision > bm25.digest_precision
    if ev.name in AS_MANY_TRAPS_AS_BM25:
        assert len(ours.traps_sent) == len(bm25.traps_sent), AS_MANY_TRAPS_AS_BM25[ev.name]
    else:
        assert len(ours.traps_sent) < len(bm25.traps_sent)
    if ev.name in NULL_NOT_UNDER_BM25:
        count, why = NULL_NOT_UNDER_BM25[ev.name]
        assert len(ours.null_sent) == count >= len(bm25.null_sent), why
    elif bm25.null_sent:
        assert len(ours.null_sent) < len(bm25.null_sent)
    else:  # plain BM25 sends the accounts nothing concerns nothing either: nothing is the target
        assert not ours.null_sent


BELOW_BM25: dict[str, str] = {}
"""Parts on which the ranker is known to find fewer strong stories than plain BM25 (issue 16
open): the test is expected to fail there, and fails loudly (strict) once it no longer does.
heldout28 was one (recall 0.46 against 0.57) until the encoder's fine-tuning ft16 (0.52); dev14,
dev30, dev42, heldout41, heldout48 and heldout49 were until ft21 (ninth session: the tuning ft18
and the field question asking the bare industry too). None is now."""


def test_ranker_finds_about_as_many_strong_stories_as_plain_bm25(
    ev: EvalSet, ours: Figures, bm25: Figures, request: pytest.FixtureRequest
) -> None:
    if ev.name in BELOW_BM25:
        request.applymarker(pytest.mark.xfail(strict=True, reason=BELOW_BM25[ev.name]))
    print("\n" + ours.row(ev.name, "ours") + "\n" + bm25.row(ev.name, "bm25"))
    # Near the example and on the plain parts (a week with few traps for BM25 to fall into) BM25
    # finds about as many strong stories (near 0.94 both; plain dev10 and heldout24 0.62 both,
    # heldout25 0.60 against 0.57): there the ranker's gain is what it does not send. Elsewhere
    # it finds more.
    if ev.name == "near" or ev.name in PLAIN:
        assert ours.recall_strong >= bm25.recall_strong - 0.05
    else:
        assert ours.recall_strong > bm25.recall_strong
