"""Rendering speed: digests for 1,000 synthetic accounts x 20 picks, in every format.

Run: ``python bench/render.py [--accounts 1000] [--picks 20]``. Prints seconds and files per
second for each format and for all together, rendering in memory (no disk), with one Jinja
environment for the whole run, as ``kb build`` does. The peer in the same run is Jinja alone
(the Markdown template with no inlining, MIME or note fitting), to show what our layers cost.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, date, datetime, timedelta

from generator.models import Account, Digest, Item, Note, NotePick, Pick, Rep, Stakeholder
from generator.render import EXTENSIONS, make_environment, render_formats, render_template
from generator.views import DigestStyle, digest_context

NOW = datetime(2026, 11, 16, 9, tzinfo=UTC)
PROBLEMS = (
    "Finding and keeping qualified truck drivers",
    "Trucks waiting hours at shipper docks (detention)",
    "Diesel bill eating into margins on lanes we already priced",
)
STYLE = DigestStyle(
    team="Bench Sales",
    utm={"utm_source": "kb", "utm_medium": "email", "utm_campaign": "bench"},
    intro="",
    source_titles={f"feed-{n}": f"Feed number {n}" for n in range(10)},
    topic_titles={"fuel": "Fuel & energy costs"},
)
NOTES = (
    NotePick(
        Note("n1", "An insight", date(2026, 11, 1), "Lead paragraph.\n\nFor the rep."), ("x",)
    ),
    NotePick(
        Note("q1", "Ask about it", date(2026, 11, 1), "The question?", kind="question"), ("x",)
    ),
    NotePick(Note("p1", "Our product", date(2026, 11, 1), "It helps.", kind="product"), ("x",)),
)


def synthetic_digest(n: int, picks: int) -> Digest:
    people = tuple(
        Stakeholder(f"Person{k} Surname", "Role", f"p{k}@acct{n}.example", ("driver turnover",))
        for k in range(3)
    )
    account = Account(
        slug=f"account-{n:04d}",
        name=f"Account {n}",
        industry="Trucking",
        problems=PROBLEMS,
        stakeholders=people,
        rep=Rep("Sam Ortega", "sam@ourcompany.example"),
    )
    chosen = []
    for k in range(picks):
        item = Item(
            id=f"{n}-{k}",
            url=f"https://news.example/{n}/{k}/a-story-about-drivers-and-detention",
            title=f"Story {k} for account {n}: drivers, detention & diesel <b>news</b>",
            summary="Drivers at fleets that pay detention from the first hour quit less. " * 6,
            summary_html="",
            published=NOW - timedelta(days=k % 20),
            first_seen=NOW,
            sources=(f"feed-{k % 10}",),
        )
        chosen.append(
            Pick(
                item,
                1 - k / 100,
                ("reason one", "reason two"),
                PROBLEMS[k % 4 % 3] if k % 4 else "",
            )
        )
    return Digest(account, NOW, tuple(chosen), NOTES, reason="")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--picks", type=int, default=20)
    args = parser.parse_args()
    digests = [synthetic_digest(n, args.picks) for n in range(args.accounts)]
    env = make_environment()
    print(f"{args.accounts} accounts x {args.picks} picks, one Jinja environment")

    start = time.perf_counter()
    for digest in digests:
        render_template(env, "digest.md.j2", digest_context(digest, STYLE))
    peer = time.perf_counter() - start
    print(
        f"{'peer: context + Jinja md only':<32} {peer:7.2f} s  {args.accounts / peer:8.0f} files/s"
    )

    for fmt in EXTENSIONS:
        start = time.perf_counter()
        size = 0
        for digest in digests:
            size += len(render_formats(env, digest, (fmt,), STYLE)[fmt])
        took = time.perf_counter() - start
        print(
            f"{fmt:<32} {took:7.2f} s  {args.accounts / took:8.0f} files/s"
            f"  {size / args.accounts / 1024:6.1f} KiB/file"
        )

    start = time.perf_counter()
    files = 0
    for digest in digests:
        files += len(render_formats(env, digest, tuple(EXTENSIONS), STYLE))
    took = time.perf_counter() - start
    print(
        f"{'all formats together':<32} {took:7.2f} s  {files / took:8.0f} files/s  ({files} files)"
    )


if __name__ == "__main__":
    main()
