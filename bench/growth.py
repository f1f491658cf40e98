"""Growth exponents from S to M to L, per stage, from ``bench/run.py --json`` files.

    python bench/growth.py S.json M.json L-ingest.json L-build.json

Files of the same size are merged (an L run is usually made in two steps, ``--stages ingest``
then ``--stages build``). For each stage the exponent between two sizes is
``log(t2 / t1) / log(n2 / n1)``, where ``n`` is the stage's input: feeds for fetching, items for
embedding, accounts for checking and rendering, accounts x items for ranking (each account is
ranked against the stored items), pages for the site. An exponent of 1 means the stage grows as
fast as its input, below 1 slower. Peak memory is given against the stored items. Prints a
Markdown table for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Callable, Mapping
from itertools import pairwise
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_project import SIZES

ORDER = ["S", "M", "L"]

Inputs = Mapping[str, float]

#: Stage name (without its counts in brackets) -> (what it grows with, how to read it)
STAGES: dict[str, tuple[str, Callable[[Inputs], float]]] = {
    "fetch, first": ("feeds", lambda n: n["feeds"]),
    "fetch, second (conditional)": ("feeds", lambda n: n["feeds"]),
    "check": ("accounts", lambda n: n["accounts"]),
    "embed at ingest": ("items", lambda n: n["items"]),
    "build, feeds unchanged (whole)": ("accounts x items", lambda n: n["accounts"] * n["items"]),
    "rank (in workers, summed)": ("accounts x items", lambda n: n["accounts"] * n["items"]),
    "render (in workers, summed)": ("accounts", lambda n: n["accounts"]),
    "digests (wall)": ("accounts x items", lambda n: n["accounts"] * n["items"]),
    "newsletter": ("accounts", lambda n: n["accounts"]),
    "site": ("pages", lambda n: n["pages"]),
    "build, nothing changed": ("accounts", lambda n: n["accounts"]),
    "one digest on demand, first": ("items", lambda n: n["items"]),
    "one digest on demand, again": ("items", lambda n: n["items"]),
}


def stage_name(stage: str) -> str:
    return re.sub(r"\s*\(\d+ (items|pages)\)", "", stage).strip()


def load(paths: list[Path]) -> dict[str, dict[str, dict[str, float]]]:
    """size -> stage -> {"seconds", "peak_mib", and the counts found in the stage names}."""
    runs: dict[str, dict[str, dict[str, float]]] = {}
    for path in paths:
        data = json.loads(path.read_text(encoding="utf-8"))
        stages = runs.setdefault(data["size"], {})
        for row in data["rows"]:
            stages[stage_name(row["stage"])] = {
                "seconds": float(row["seconds"]),
                "peak_mib": float(row["peak_mib"] or 0),
            }
            count = re.search(r"\((\d+) (items|pages)\)", row["stage"])
            if count:
                stages.setdefault("_counts", {})[count[2]] = float(count[1])
    return runs


def inputs(size: str, counts: Mapping[str, float]) -> dict[str, float]:
    s = SIZES[size]
    return {
        "feeds": s.feeds,
        "accounts": s.accounts,
        "items": counts.get("items", s.feeds * s.entries),
        "pages": counts.get("pages", 0.0),
    }


def exponent(t1: float, t2: float, n1: float, n2: float) -> str:
    if min(t1, t2, n1, n2) <= 0 or n1 == n2:
        return "-"
    return f"{math.log(t2 / t1) / math.log(n2 / n1):.2f}"


def table(runs: Mapping[str, Mapping[str, Mapping[str, float]]]) -> list[str]:
    sizes = [s for s in ORDER if s in runs]
    n = {s: inputs(s, runs[s].get("_counts", {})) for s in sizes}
    pairs = list(pairwise(sizes))
    head = ["stage", "grows with", *sizes, *(f"exponent {a}->{b}" for a, b in pairs)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for stage, (basis, of) in STAGES.items():
        found = {s: runs[s][stage]["seconds"] for s in sizes if stage in runs[s]}
        if not found:
            continue
        cells = [f"{found[s]:.2f} s" if s in found else "-" for s in sizes]
        growth = [
            exponent(found[a], found[b], of(n[a]), of(n[b])) if a in found and b in found else "-"
            for a, b in pairs
        ]
        lines.append("| " + " | ".join([stage, basis, *cells, *growth]) + " |")
    memory = {
        s: max((r["peak_mib"] for k, r in runs[s].items() if k != "_counts"), default=0.0)
        for s in sizes
    }
    cells = [f"{memory[s]:.0f} MiB" for s in sizes]
    growth = [exponent(memory[a], memory[b], n[a]["items"], n[b]["items"]) for a, b in pairs]
    lines.append("| " + " | ".join(["peak memory (any stage)", "items", *cells, *growth]) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("json", nargs="+", type=Path, help="bench/run.py --json files")
    parser.add_argument(
        "--items",
        action="append",
        default=[],
        metavar="SIZE=N",
        help="stored items of a size whose files have no embedding row (an L build alone)",
    )
    args = parser.parse_args()
    runs = load(args.json)
    for given in args.items:
        size, count = given.split("=")
        runs.setdefault(size, {}).setdefault("_counts", {})["items"] = float(count)
    print("\n".join(table(runs)))


if __name__ == "__main__":
    main()
