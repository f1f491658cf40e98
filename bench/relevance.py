"""Relevance of the digests on the labelled evaluation parts, next to plain BM25 in the same run.

Run: python bench/relevance.py --part PART|all [--ranker ours|bm25|all] [--ablate] (PART: one of
tests/evalset.py's PARTS; bm25 needs the bench or test extra: bm25s)

``--ablate`` adds a row per signal set, each through the same ranking entry point: lexical
evidence only, semantic evidence only, both (the ranker as shipped, the judge deciding the field
question's unsure band), both without the judge (``ranking: judge: false``: one field word
decides there instead), and both without the package lexicon (related words, senses and general
words of generator/data/lexicon.yml off; its ``same`` rewrites stay, they are part of reading
text).

Prints a Markdown table, one row per part x ranker; the loading, the rankers and the metrics are
tests/evalset.py's, the same code tests/test_eval_ranking.py asserts floors with. Tune on the
``dev`` parts; the ``heldout`` parts are for measurement only (see their kb.yml).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from evalset import PARTS, RANKERS, EvalSet, Figures, evaluate, item_corpus, load_eval

from generator.relevance import ALL, Mix, score_items, select

ABLATIONS: dict[str, tuple[Mix, bool]] = {
    "lexical only": (Mix(lexical=True, semantic=False), True),
    "semantic only": (Mix(lexical=False, semantic=True), True),
    "combined": (ALL, True),
    "combined, without the judge": (Mix(judge=False), True),
    "combined, no package lexicon": (ALL, False),
}


def ablated_digests(ev: EvalSet, mix: Mix, package: bool) -> dict[str, list[str]]:
    """The digests' items with only some signals (no notes, no history: the items alone)."""
    now = ev.project.settings.now
    assert now is not None
    corpus = item_corpus(ev, package=package)
    settings = ev.project.settings.ranking
    topics = {t.id: t for t in ev.project.topics}
    feeds = {f.name: f for f in ev.project.feeds}
    out: dict[str, list[str]] = {}
    for account in ev.project.accounts:
        found = score_items(
            account, ev.items, topics=topics, feeds=feeds, now=now, settings=settings,
            corpus=corpus, mix=mix,
        )  # fmt: skip
        out[account.slug] = [p.item.id for p in select(found, settings)]
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=[*PARTS, "all"], default="all")
    parser.add_argument("--ranker", choices=[*RANKERS, "all"], default="all")
    parser.add_argument("--ablate", action="store_true", help="add a row per signal set")
    args = parser.parse_args(argv)
    parts = PARTS if args.part == "all" else (args.part,)
    rankers = list(RANKERS) if args.ranker == "all" else [args.ranker]
    print(Figures.HEADER)
    for part in parts:
        ev = load_eval(part)
        for name in rankers:
            print(Figures.row(evaluate(ev, RANKERS[name](ev)), part, name), flush=True)
        for name, (mix, package) in ABLATIONS.items() if args.ablate else ():
            figures = evaluate(ev, ablated_digests(ev, mix, package))
            print(Figures.row(figures, part, name), flush=True)


if __name__ == "__main__":
    main()
