"""Ranking accounts against 10,000 stored items, next to plain BM25 (rank-bm25).

Run: python bench/rank.py [--accounts 1000]   (needs the bench extra for the BM25 line)

The items are the ``near`` evaluation part's stories, repeated with varied ids, dates and a
suffix word, so the vocabulary stays realistic; the share of relevant items (about one in eight
for a broad account) is far above a real store's, so these are worst cases for the scoring step.
Vectors exist already (they are made once per item, at ingest: enc16's figures); each account's
problems and field are embedded on first use and cached for the run.

Figures printed:
- corpus build: once per run, shared by every account;
- one account: on a fresh corpus (nothing cached from another account), best of 3;
- cold: corpus build + one account, what ``kb digest ACCOUNT`` pays for ranking;
- N accounts: the accounts of the set cycled N times over one corpus (``kb build`` for a team).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from evalset import EvalSet, load_eval

from generator.digest import make_digest
from generator.models import Item
from generator.relevance import Corpus
from generator.relevance.meaning import Matrix
from generator.relevance.semantic import Encoder, item_text

N = 10_000


def stored_items(ev: EvalSet, n: int = N) -> list[Item]:
    return [
        replace(
            base,
            id=f"{base.id}-{k}",
            url=f"{base.url}-{k}",
            title=f"{base.title} {k % 97}",
            published=base.published - timedelta(hours=k % 700),
        )
        for k in range(n // len(ev.items) + 1)
        for base in ev.items
    ][:n]


def _timed_digest(ev: EvalSet, items: Sequence[Item], corpus: Corpus, slug: str) -> float:
    now = ev.project.settings.now
    assert now is not None
    account = next(a for a in ev.project.accounts if a.slug == slug)
    started = time.perf_counter()
    make_digest(ev.project, account, items, now, corpus=corpus)
    return time.perf_counter() - started


def stored_vectors(ev: EvalSet, items: Sequence[Item]) -> Matrix:
    """The items' vectors as the store would hand them in: each base story embedded once, its
    copies sharing its vector (the suffix word would move it by a hair)."""
    encoder = Encoder.load()
    base = {
        i.id: row
        for i, row in zip(ev.items, encoder.encode([item_text(i) for i in ev.items]), strict=True)
    }
    return np.stack([base[i.id.rsplit("-", 1)[0]] for i in items])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=1000)
    args = parser.parse_args()
    ev = load_eval("near")
    now = ev.project.settings.now
    assert now is not None
    items = stored_items(ev)
    vectors = stored_vectors(ev, items)
    builds = []
    for _ in range(3):
        started = time.perf_counter()
        Corpus(items, vectors=vectors)
        builds.append(time.perf_counter() - started)
    print(
        f"corpus of {len(items)} items and their vectors, once per run: "
        f"{min(builds):.2f} s (best of 3)"
    )
    print(
        "one account on a fresh corpus (its problems embedded; best of 3), "
        "then cold = build + that account:"
    )
    for account in ev.project.accounts:
        runs = []
        for _ in range(3):
            fresh = Corpus(items, vectors=vectors)
            runs.append(_timed_digest(ev, items, fresh, account.slug))
        started = time.perf_counter()
        cold = Corpus(items, vectors=vectors)
        _timed_digest(ev, items, cold, account.slug)
        cold_s = time.perf_counter() - started
        digest = make_digest(ev.project, account, items, now, corpus=cold)
        print(
            f"  {account.slug:<26} {min(runs) * 1000:6.1f} ms   cold {cold_s:5.2f} s   "
            f"({len(digest.picks)} chosen)"
        )
    corpus = Corpus(items, vectors=vectors)
    accounts = ev.project.accounts
    started = time.perf_counter()
    for k in range(args.accounts):
        account = accounts[k % len(accounts)]
        make_digest(
            ev.project, replace(account, slug=f"{account.slug}-{k}"), items, now, corpus=corpus
        )
    took = time.perf_counter() - started
    print(
        f"{args.accounts} accounts x {len(items)} items on one corpus: {took:.1f} s "
        f"({took / max(1, args.accounts) * 1000:.0f} ms per account; the set's problems are "
        "embedded once, then cached)"
    )
    texts = [f"{p} ({k})" for k in range(100) for a in accounts for p in a.problems][:1000]
    started = time.perf_counter()
    Encoder.load().encode(texts)
    took = time.perf_counter() - started
    print(
        f"embedding {len(texts)} distinct problem texts: {took:.1f} s ({len(texts) / took:.0f}/s)"
    )
    try:
        from rank_bm25 import BM25Okapi

        from generator.relevance.text import terms
    except ImportError:
        print("rank-bm25 not installed: pip install 'knowledge-broker[bench]'")
        return
    started = time.perf_counter()
    bm25 = BM25Okapi([terms(f"{i.title} {i.summary}") for i in items])
    print(f"bm25 index of {len(items)} items: {time.perf_counter() - started:.2f} s")
    account = ev.project.accounts[0]
    started = time.perf_counter()
    bm25.get_scores(terms(" ".join(account.problems)))
    print(f"  bm25 one account query: {(time.perf_counter() - started) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
