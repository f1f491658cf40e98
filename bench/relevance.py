"""Relevance of the digests on the labelled evaluation parts, next to plain BM25 in the same run.

Run: python bench/relevance.py --part dev|heldout|near|all [--ranker ours|bm25|all]
(bm25 needs the bench or test extra: bm25s)

Prints a Markdown table, one row per part x ranker; the loading, the rankers and the metrics are
tests/evalset.py's, the same code tests/test_eval_ranking.py asserts floors with. Tune on ``dev``;
``heldout`` is for the final measurement only (see tests/data/eval/heldout/kb.yml).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from evalset import PARTS, RANKERS, Figures, evaluate, load_eval


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=[*PARTS, "all"], default="all")
    parser.add_argument("--ranker", choices=[*RANKERS, "all"], default="all")
    args = parser.parse_args(argv)
    parts = PARTS if args.part == "all" else (args.part,)
    rankers = list(RANKERS) if args.ranker == "all" else [args.ranker]
    print(Figures.HEADER)
    for part in parts:
        ev = load_eval(part)
        for name in rankers:
            print(Figures.row(evaluate(ev, RANKERS[name](ev)), part, name), flush=True)


if __name__ == "__main__":
    main()
