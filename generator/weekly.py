"""``kb build``'s run, whole or split over a CI matrix: wiring only.

A whole build ranks every account once (in worker processes), writes its digests, then the
newsletter and the site from the same ranking. Split, ``--shard K/N`` does the first part for a
stable share of accounts and leaves a summary (:mod:`generator.runstate`) in
``build/shards/K-of-N/summary.jsonl``; ``--assemble`` reads every shard's summary and does the
second part, so N runners together write exactly what one would.

Memory grows with the largest output, not with the number of accounts times their candidates:
each account's record goes, as it arrives (in project order), to the newsletter's tally
(:class:`generator.newsletter.NewsTally`) and to the manifest or the shard's summary on disk;
the run keeps each account's digest (the site shows them) and key. A shard's summary is one
JSON line per account after a head line, so it is written and read a line at a time; the
assembly merges the shards' lines back into project order.

A whole build keeps a manifest in the state folder (SQLite, one row per account, read a row at
a time); the next build reuses every account whose inputs did not change (and the site, when
nothing it shows changed). The manifest is written to a temporary file as accounts arrive and
renamed over the old one last, after the site: a run killed before that leaves the previous
manifest, whose records are checked against the files' hashes, so nothing stale is ever kept.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from . import pipeline
from .batch import RunSpec
from .exceptions import KbError, UsageError
from .models import Digest, FeedState, Item, Project
from .newsletter import Newsletter, NewsTally, earlier_urls, week_of
from .outputs import Writer
from .runstate import (
    AccountRecord,
    Manifest,
    ManifestWriter,
    RecordReader,
    Sent,
    head_line,
    listing_key,
    manifest_path,
    read_head,
    read_lines,
    record_line,
    run_key,
    sendable,
    site_key,
)
from .site.pages import SiteLinks
from .store import Store

SUMMARY = "summary.jsonl"


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
    """How many accounts the manifest read at the start held (-1: none was read)."""
    states: tuple[FeedState, ...] = ()
    """The feeds' health at the start of the build (a page of the site)."""
    rows: ManifestWriter | None = None
    """The next manifest, written as accounts arrived: :func:`save_manifest` commits it."""
    warning: str = ""
    """Why the last manifest could not be used (every account it held was built again)."""


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
    writer = pipeline.output_writer(project)
    spec = RunSpec(project, now, formats, digest_dir)
    accounts = pipeline.select_accounts(project, (), True, shard or (1, 1))
    started = time.perf_counter()
    if shard is not None:
        index, count = shard
        folder = shards_dir(project) / f"{index}-of-{count}"
        with writer.stream(folder / SUMMARY) as summary:
            summary.write(head_line({"now": now.isoformat(), "shard": [index, count], "run": run}))

            def keep(record: AccountRecord) -> None:
                summary.write(record_line(record))

            runs = pipeline.run_digests(
                spec, store, accounts, writer, keep, run=run, items=items, jobs=jobs
            )
        took = time.perf_counter() - started
        return Outcome(runs, digest_dir, items, run, shard_dir=folder, digests_seconds=took)
    manifest = Manifest(manifest_path(project))
    rows = ManifestWriter(manifest_path(project))
    tally = _tally(project, now)
    try:
        runs = pipeline.run_digests(
            spec,
            store,
            accounts,
            writer,
            _keeper(tally, rows),
            run=run,
            items=items,
            jobs=jobs,
            manifest=manifest,
        )
    except BaseException:
        rows.discard()
        raise
    finally:
        manifest.close()
    took = time.perf_counter() - started
    outcome = _newsletter(project, store, now, items, run, runs, tally, rows, writer, manifest)
    held = manifest.accounts if manifest.run == run else -1
    warning = manifest.problem and (
        f"{manifest.path}: damaged ({manifest.problem}); what it could not give back is built again"
    )
    return replace(outcome, digests_seconds=took, manifest_accounts=held, warning=warning)


def _tally(project: Project, now: datetime) -> NewsTally:
    """This week's issue, to be folded account by account."""
    week = week_of(now)
    return NewsTally(week, earlier_urls(project, week))


def _keeper(tally: NewsTally, rows: ManifestWriter) -> pipeline.Keep:
    """Where each account's record goes as it arrives: the issue's tally and the manifest."""

    def keep(record: AccountRecord) -> None:
        tally.add(record.digest.account, record.news)
        rows.add(record)

    return keep


def assemble(project: Project, store: Store, now: datetime, folders: Sequence[Path]) -> Outcome:
    """The newsletter (and, after it, the site) from the shards' summaries: no account is
    ranked (the issue's printed stories are worded for their first accounts).

    Every shard of one split must be there, made at the same ``now``; what the shards sent is
    recorded in this store (the shards' runners recorded it in their own copies), once every
    summary has been read through.
    """
    folders = list(folders) or sorted(p for p in shards_dir(project).glob("*-of-*") if p.is_dir())
    if not folders:
        raise UsageError(f"no shard summaries in {shards_dir(project)}: run kb build --shard first")
    items = store.items()
    with ExitStack() as files:
        heads: dict[Path, Iterator[str]] = {}
        seen: dict[int, set[int]] = {}
        run = ""
        for folder in folders:
            path = folder / SUMMARY
            try:
                lines = iter(files.enter_context(path.open(encoding="utf-8")))
            except OSError as e:
                raise KbError(f"{path}: missing, or not readable ({e.strerror or e})") from e
            head = read_head(path, lines)
            index, count = _check_head(path, head, now)
            seen.setdefault(count, set()).add(index)
            run = run or str(head.get("run", ""))
            heads[path] = lines
        _check_split(seen)
        tally = _tally(project, now)
        rows = ManifestWriter(manifest_path(project))
        try:
            runs, sends = _merge(project, items, heads, _keeper(tally, rows))
            by_id = sendable(project, items)
            for slug, sent in sends:
                for fmt, ids in sent:
                    store.record_sent(slug, [by_id[i] for i in ids], now, fmt)
        except BaseException:
            rows.discard()
            raise
    writer = pipeline.output_writer(project)
    return _newsletter(project, store, now, items, run, runs, tally, rows, writer, None)


def _check_head(path: Path, head: dict[str, Any], now: datetime) -> tuple[int, int]:
    if head.get("now") != now.isoformat():
        raise KbError(
            f"{path}:1: ranked at {head.get('now')}, not at {now.isoformat()}: "
            "assemble with the shards' --now"
        )
    try:
        index, count = (int(x) for x in head["shard"])
    except (KeyError, TypeError, ValueError) as e:
        raise KbError(f"{path}:1: not a shard summary this kb wrote (no shard K/N)") from e
    return index, count


def _merge(
    project: Project,
    items: Sequence[Item],
    summaries: dict[Path, Iterator[str]],
    keep: pipeline.Keep,
) -> tuple[pipeline.DigestRun, list[tuple[str, Sent]]]:
    """Every shard's accounts, merged back into project order (each summary is in that order),
    to ``keep`` one at a time; a missing, doubled or unknown account is an error. Returns the
    run's digests and keys, and what each account's files carried (to record as sent)."""
    position = {a.slug: i for i, a in enumerate(project.accounts)}
    reader = RecordReader(project, items)

    def lines(path: Path, text: Iterator[str]) -> Iterator[tuple[int, str, str, Any]]:
        last = -1
        for number, slug, data in read_lines(path, text):
            index = position.get(slug, -1)
            if index < 0:
                raise KbError(f"{path}:{number}: account '{slug}' is not in the project")
            if index <= last:
                raise KbError(f"{path}:{number}: account '{slug}' out of order or twice")
            last = index
            yield index, f"{path}:{number}", slug, data

    digests: list[Digest] = []
    keys: list[str] = []
    sends: list[tuple[str, Sent]] = []
    files = 0
    missing: list[str] = []
    previous = -1
    streams = [lines(path, text) for path, text in summaries.items()]
    for index, where, slug, data in heapq.merge(*streams, key=lambda line: line[0]):
        if index == previous:
            raise KbError(f"{where}: account '{slug}' is in two shards")
        missing += [a.slug for a in project.accounts[previous + 1 : index]]
        previous = index
        record = reader.record(slug, data, where)
        keep(record)
        digests.append(record.digest)
        keys.append(record.key)
        sends.append((slug, record.sent))
        files += len(record.files)
    missing += [a.slug for a in project.accounts[previous + 1 :]]
    if missing:
        raise KbError(f"no shard has account(s) {', '.join(missing[:10])}: were they added since?")
    return pipeline.DigestRun(tuple(digests), tuple(keys), 0, files, ()), sends


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
    tally: NewsTally,
    rows: ManifestWriter,
    writer: Writer,
    manifest: Manifest | None,
) -> Outcome:
    started = time.perf_counter()
    issue = tally.newsletter(project, pipeline.stored_reasons(project, store, items), now)
    written = pipeline.write_newsletter(
        project, store, issue, project.out_dir / "newsletter", writer
    )
    took = time.perf_counter() - started
    states = tuple(store.feed_states())
    key = site_key(project, run, runs.keys, repr(states))
    fresh = manifest is not None and manifest.site == key
    built = manifest is not None and manifest.site_files == listing_key(project.site_dir) != ""
    return Outcome(
        runs,
        project.out_dir / "digests",
        items,
        run,
        issue,
        written,
        site_key=key,
        site_stale=not (fresh and built),
        newsletter_seconds=took,
        states=states,
        rows=rows,
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
    """Last step of a build: what the next build may reuse (the old manifest is kept as it is
    when the build reused everything it holds)."""
    rows = outcome.rows
    if rows is None:
        return
    unchanged = outcome.digests.rendered == 0 and not outcome.site_stale and with_site
    if unchanged and outcome.manifest_accounts == len(outcome.digests.digests):
        rows.discard()
        return
    rows.commit(
        {
            "run": outcome.run,
            "site": outcome.site_key if with_site else "",
            "site_files": listing_key(project.site_dir) if with_site else "",
        }
    )


def discard(outcome: Outcome) -> None:
    """Drop the next manifest unless it was saved (a build that failed after its digests)."""
    if outcome.rows is not None:
        outcome.rows.discard()
