"""Ranking for ``kb build``'s digests and newsletter: once (now) against twice (before).

Run: python bench/newsletter.py [--accounts 200] [--items 10000]

Before, ``kb build`` ranked every account for its digest, then ``make_newsletter`` ranked every
account again over the week's items (a corpus of its own). Now one :class:`Ranking` serves both.
The peer, "twice", is that old path, re-created here from the same public functions: the digests
from the run's ranking, plus a second ranking of each account over the week's items. Both print
the same digests; the figure is the ranking and assembly time (rendering and writing excluded).

The items are bench/rank.py's (the evaluation set's stories, repeated and varied), with accounts
cycled from the evaluation set's.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path
from tempfile import TemporaryDirectory

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from evalset import load_eval
from rank import stored_items

from generator import pipeline
from generator.digest import candidates_for
from generator.newsletter import earlier_urls, make_newsletter, newsworthy, week_bounds, week_of
from generator.store import open_store


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    ev = load_eval()
    now = ev.project.settings.now
    assert now is not None
    base = ev.project.accounts
    accounts = tuple(
        replace(base[k % len(base)], slug=f"{base[k % len(base)].slug}-{k}")
        for k in range(args.accounts)
    )
    project = replace(ev.project, accounts=accounts)
    items = stored_items(ev, args.items)
    week = week_of(now)
    start, end = week_bounds(week)
    in_week = [i for i in items if start <= i.published < end]
    print(f"{len(accounts)} accounts, {len(items)} items ({len(in_week)} in {week})")
    with TemporaryDirectory() as state:
        store = open_store(Path(state))

        def once() -> int:
            ranking = pipeline.rank_accounts(project, accounts, items, now, store=store)
            digests = pipeline.digests_for(project, store, accounts, now, ranking=ranking)
            issue = pipeline.newsletter_for(project, store, week, now, ranking=ranking)
            return len(digests) + len(issue.stories)

        def twice() -> int:
            digests = pipeline.digests_for(project, store, accounts, now, items=items)
            corpus = pipeline.corpus_of(project, store, in_week)
            second = {
                a.slug: candidates_for(project, a, in_week, end, corpus=corpus) for a in accounts
            }
            threshold = project.settings.ranking.threshold
            news = {s: newsworthy(c, threshold, start, end) for s, c in second.items()}
            reasons = pipeline.ranked_reasons(pipeline.Ranking(end, in_week, corpus, second))
            issue = make_newsletter(
                project, news, week, reasons, earlier=earlier_urls(project, week)
            )
            return len(digests) + len(issue.stories)

        for name, run in (("twice (before: a second ranking for the newsletter)", twice),
                          ("once (the run's ranking serves both)", once)):  # fmt: skip
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                run()
                times.append(time.perf_counter() - started)
            print(f"  {name}: best {min(times):.1f} s of {', '.join(f'{t:.1f}' for t in times)}")
        store.close()


if __name__ == "__main__":
    main()
