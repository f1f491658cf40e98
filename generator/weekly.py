"""``kb build``'s run, whole or split over a CI matrix: wiring only.

A whole build ranks every account once (in worker processes), writes its digests, then the
newsletter and the site from the same ranking. Split, ``--shard K/N`` does the first part for a
stable share of accounts and leaves a summary (:mod:`generator.runstate`) in
``build/shards/K-of-N``; ``--assemble`` reads every shard's summary and does the second part, so
N runners together write exactly what one would.

A whole build keeps a manifest in the state folder; the next build reuses every account whose
inputs did not change (and the site, when nothing it shows changed). The manifest is written
last, after the site: a run killed before that leaves the previous manifest, whose records are
checked against the files' hashes, so nothing stale is ever kept.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from . import pipeline
from .batch import RunSpec
from .exceptions import KbError, UsageError
from .models import FeedState, Item, Project
from .newsletter import Newsletter
from .outputs import Writer
from .runstate import (
    AccountRecord,
    Manifest,
    RecordReader,
    json_text,
    listing_key,
    load_json,
    manifest_path,
    read_manifest,
    read_records,
    run_key,
    sendable,
    site_key,
    write_json,
)
from .site.pages import SiteLinks
from .store import Store

SUMMARY = "summary.json"


@dataclass(frozen=True)
class Outcome:
    """What a build did, for the report and the steps after it (site, manifest)."""

    digests: pipeline.DigestRun
    digest_dir: Path
    items: Sequence[Item]
    run: str
    issue: Newsletter | None = None
    newsletter: pipeline.IssueOutcome | None = None
    shard_dir: Path | None = None
    site_key: str = ""
    site_stale: bool = True
    digests_seconds: float = 0.0
    newsletter_seconds: float = 0.0
    manifest_accounts: int = -1
    states: tuple[FeedState, ...] = ()
    """The feeds' health at the start of the build (a page of the site)."""
    """How many accounts the manifest read at the start held (-1: none was read)."""


def shards_dir(project: Project) -> Path:
    return project.out_dir / "shards"


def build(
    project: Project,
    store: Store,
    now: datetime,
    items: Sequence[Item],
    *,
    jobs: int | None = None,
    shard: tuple[int, int] | None = None,
) -> Outcome:
    """Every account's digest (or a shard's) from the stored ``items``, then the newsletter
    (whole builds only)."""
    formats = tuple(project.settings.digest.formats)
    run = run_key(project, items, now, formats)
    digest_dir = project.out_dir / "digests"
    whole = shard is None
    manifest = read_manifest(project) if whole else None
    writer = pipeline.output_writer(project)
    started = time.perf_counter()
    runs = pipeline.run_digests(
        RunSpec(project, now, formats, digest_dir),
        store,
        pipeline.select_accounts(project, (), True, shard or (1, 1)),
        writer,
        run=run,
        items=items,
        jobs=jobs,
        manifest=manifest,
        reuse=RecordReader(project, items, manifest_path(project)).record,
    )
    took = time.perf_counter() - started
    if shard is not None:
        index, count = shard
        folder = shards_dir(project) / f"{index}-of-{count}"
        head = {"now": now.isoformat(), "shard": [index, count], "run": run}
        writer.write(folder / SUMMARY, json_text(head, runs.records))
        return Outcome(runs, digest_dir, items, run, shard_dir=folder, digests_seconds=took)
    outcome = _newsletter(project, store, now, items, run, runs, digest_dir, writer, manifest)
    held = len(manifest.accounts or {}) if manifest and manifest.run == run else -1
    return replace(outcome, digests_seconds=took, manifest_accounts=held)


def assemble(project: Project, store: Store, now: datetime, folders: Sequence[Path]) -> Outcome:
    """The newsletter (and, after it, the site) from the shards' summaries: nothing is ranked.

    Every shard of one split must be there, made at the same ``now``; what the shards sent is
    recorded in this store (the shards' runners recorded it in their own copies).
    """
    folders = list(folders) or sorted(p for p in shards_dir(project).glob("*-of-*") if p.is_dir())
    if not folders:
        raise UsageError(f"no shard summaries in {shards_dir(project)}: run kb build --shard first")
    items = store.items()
    records: dict[str, AccountRecord] = {}
    seen: dict[int, set[int]] = {}
    run = ""
    for folder in folders:
        path = folder / SUMMARY
        data = load_json(path)
        if data is None:
            raise KbError(f"{path}: missing, or not a shard summary this kb wrote")
        if data.get("now") != now.isoformat():
            raise KbError(
                f"{path}: ranked at {data.get('now')}, not at {now.isoformat()}: "
                "assemble with the shards' --now"
            )
        try:
            index, count = (int(x) for x in data["shard"])
        except (KeyError, TypeError, ValueError) as e:
            raise KbError(f"{path}: not a shard summary this kb wrote (no shard K/N)") from e
        seen.setdefault(count, set()).add(index)
        run = run or str(data.get("run", ""))
        for slug, record in read_records(project, items, path, data).items():
            if slug in records:
                raise KbError(f"{path}: account '{slug}' is in two shards")
            records[slug] = record
    _check_split(seen)
    missing = [a.slug for a in project.accounts if a.slug not in records]
    if missing:
        raise KbError(f"no shard has account(s) {', '.join(missing[:10])}: were they added since?")
    ordered = tuple(records[a.slug] for a in project.accounts)
    by_id = sendable(project, items)
    for record in ordered:
        for fmt, ids in record.sent:
            store.record_sent(record.slug, [by_id[i] for i in ids], now, fmt)
    runs = pipeline.DigestRun(ordered, 0, sum(len(r.files) for r in ordered), ())
    digest_dir = project.out_dir / "digests"
    writer = pipeline.output_writer(project)
    return _newsletter(project, store, now, items, run, runs, digest_dir, writer, None)


def _check_split(seen: dict[int, set[int]]) -> None:
    if len(seen) != 1:
        raise KbError(f"shards of different splits: of {', '.join(map(str, sorted(seen)))}")
    [(count, indexes)] = seen.items()
    lacking = sorted(set(range(1, count + 1)) - indexes)
    if lacking:
        raise KbError(f"shard(s) {', '.join(f'{k}/{count}' for k in lacking)} missing")


def _newsletter(
    project: Project,
    store: Store,
    now: datetime,
    items: Sequence[Item],
    run: str,
    runs: pipeline.DigestRun,
    digest_dir: Path,
    writer: Writer,
    manifest: Manifest | None,
) -> Outcome:
    started = time.perf_counter()
    issue = pipeline.newsletter_for(project, store, None, now, items=items, news=runs.news)
    written = pipeline.write_newsletter(
        project, store, issue, project.out_dir / "newsletter", writer
    )
    took = time.perf_counter() - started
    states = tuple(store.feed_states())
    key = site_key(project, run, [r.key for r in runs.records], repr(states))
    fresh = manifest is not None and manifest.site == key
    built = manifest is not None and manifest.site_files == listing_key(project.site_dir) != ""
    return Outcome(
        runs,
        digest_dir,
        items,
        run,
        issue,
        written,
        site_key=key,
        site_stale=not (fresh and built),
        newsletter_seconds=took,
        states=states,
    )


def site(project: Project, outcome: Outcome, now: datetime, links: SiteLinks) -> Path:
    """The site from the run's digests and issue, unless nothing it shows has changed (the
    feeds' health is on it: a run that fetched builds it again)."""
    if not outcome.site_stale:
        return project.site_dir
    assert outcome.issue is not None, "a whole build or an assembly has its issue"
    return pipeline.build_site(
        project,
        now,
        states=outcome.states,
        items=outcome.items,
        digests=outcome.digests.digests,
        newsletter=outcome.issue,
        links=links,
    )


def save_manifest(project: Project, outcome: Outcome, *, with_site: bool = True) -> None:
    """Last step of a build: what the next build may reuse (nothing to write when the build
    reused everything the manifest already holds)."""
    head = {
        "run": outcome.run,
        "site": outcome.site_key if with_site else "",
        "site_files": listing_key(project.site_dir) if with_site else "",
    }
    unchanged = outcome.digests.rendered == 0 and not outcome.site_stale and with_site
    if unchanged and outcome.manifest_accounts == len(outcome.digests.records):
        return
    write_json(manifest_path(project), head, outcome.digests.records)
