"""What the clear rule costs and buys week by week, on the labelled evaluation parts.

Run: python bench/relevance_weeks.py [--part near|dev|...|all]

bench/relevance.py ranks each part once, over all its items (about three weeks): a digest's
items, with no history. Digests go out weekly, so this cuts each part into the four weeks before
its ``now`` and asks, per account and week, from the gate's arrays (no caps, no history):

- for an account with a strongly relevant (grade 2) item through the gate that week, whether
  one of that week's items is *clear* (``Candidate.clear``): if none is, the clear rule sends
  the account nothing that week (its items wait for a week that has a clear one);
- for an account nothing concerns, whether anything is through the gate that week, without the
  rule and with it.
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from evalset import PARTS, item_corpus, load_eval

from generator.relevance import assess, make_profile

WEEKS = 4


def weeks_of(part: str) -> tuple[int, int, int, int]:
    """(account-weeks with a grade-2 item through the gate, of them with no clear item,
    null account-weeks with an item through the gate, of them with a clear item)."""
    ev = load_eval(part)
    now = ev.project.settings.now
    assert now is not None
    corpus = item_corpus(ev)
    topics = {t.id: t for t in ev.project.topics}
    feeds = {f.name: f for f in ev.project.feeds}
    threshold = ev.project.settings.ranking.threshold
    published = np.array([i.published.timestamp() for i in ev.items])
    true_weeks = emptied = null_weeks = null_sent = 0
    for account in ev.project.accounts:
        a = assess(make_profile(account, topics, None, corpus.lexicon), corpus, feeds)
        grades = ev.grades[account.slug]
        strong = np.array([grades.get(i.id, 0) == 2 for i in ev.items])
        for w in range(WEEKS):
            end = now - timedelta(days=7 * w)
            start = end - timedelta(days=7)
            week = (published >= start.timestamp()) & (published < end.timestamp())
            through = a.passed & week & (a.relevance >= threshold)
            if not grades:
                null_weeks += bool(through.any())
                null_sent += bool((through & a.clear).any())
            elif (through & strong).any():
                true_weeks += 1
                emptied += not (through & a.clear).any()
    return true_weeks, emptied, null_weeks, null_sent


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=[*PARTS, "all"], default="all")
    args = parser.parse_args(argv)
    parts = PARTS if args.part == "all" else (args.part,)
    print(
        "| part | account-weeks with a grade-2 item | of them sent nothing by the clear rule "
        "| null account-weeks with an item, without the rule | with the rule |"
    )
    print("|---|---|---|---|---|")
    total = np.zeros(4, int)
    for part in parts:
        figures = weeks_of(part)
        total += figures
        print(f"| {part} | " + " | ".join(map(str, figures)) + " |", flush=True)
    print("| all | " + " | ".join(map(str, total)) + " |")


if __name__ == "__main__":
    main()
