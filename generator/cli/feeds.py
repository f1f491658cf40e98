"""``kb fetch``, ``kb feeds``, ``kb items`` and ``kb prune``: the store's side of the CLI."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from ..exceptions import UsageError
from ..lazy import lazy_module
from ..models import FeedState, Item, Project

if TYPE_CHECKING:
    from .. import pipeline
    from ..ingest import FetchReport
    from ..store import Store
else:
    pipeline = lazy_module("generator.pipeline")
from .common import (
    Context,
    err,
    format_option,
    handle_errors,
    iso,
    now_option,
    out,
    parse_age,
    parse_now,
    parse_since,
    plain,
    print_json,
)


def fetch_with_progress(
    project: Project, store: Store, only: Sequence[str] = (), force: bool = False
) -> list[FetchReport]:
    """Fetch, with a progress bar (feeds done / total) when stderr is a terminal."""
    if not err.is_terminal:
        return pipeline.fetch(project, store, only=only, force=force)
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = (TextColumn("fetching"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("feeds", total=len(only) if only else len(project.feeds))
        return pipeline.fetch(
            project, store, only=only, force=force, progress=lambda _: bar.advance(task)
        )


def advice(error: str, moved_to: str, discovered: str) -> str:
    """A feed's last column in tables: why it failed, or what to change in feeds.yml."""
    if error:
        return error
    if moved_to:
        return f"moved permanently to {moved_to}: update feeds.yml"
    if discovered:
        return f"the URL is a page; its feed is {discovered}: use that in feeds.yml"
    return ""


def report_fetch(reports: Sequence[FetchReport]) -> int:
    """Print the summary table and one line per failed feed; return how many failed."""
    from rich.table import Table

    table = Table(title="kb fetch", title_justify="left")
    for column in ("feed", "status", "new", "entries", "detail"):
        table.add_column(column, justify="right" if column in ("new", "entries") else "left")
    for r in reports:
        detail = advice(r.error, r.moved_to, r.discovered)
        table.add_row(r.feed, r.status, str(r.new_items), str(r.entries), plain(detail))
    err.print(table)
    for r in reports:
        if r.status in ("error", "gone"):
            err.print(plain(f"feed {r.feed}: {r.error}"), soft_wrap=True)
    count = {s: sum(r.status == s for r in reports) for s in ("ok", "not-modified", "skipped")}
    failed = sum(r.status in ("error", "gone") for r in reports)
    new = sum(r.new_items for r in reports)
    click.echo(
        f"{len(reports)} feeds: {count['ok']} ok, {count['not-modified']} not modified, "
        f"{failed} failed, {count['skipped']} skipped; {new} new items",
        err=True,
    )
    return failed


def report_embedded(count: int, what: str = "new items") -> None:
    if count:
        click.echo(f"embedded {count} {what}", err=True)


def embed_at_ingest(project: Project, store: Store) -> None:
    """The new items' vectors and the snapshot (the new items analysed now, so a rep's next
    ``kb digest`` maps them ready-made), then the team's texts' vectors (accounts and notes)."""
    report_embedded(pipeline.refresh_snapshot(project, store))
    report_embedded(pipeline.embed_team_texts(project, store), "account and note texts")


@click.command()
@click.option("--feed", "feeds", multiple=True, metavar="NAME", help="Only this feed (repeatable).")
@click.option("--strict", is_flag=True, help="Exit 1 if any feed failed.")
@click.option("--offline", is_flag=True, help="Fetch nothing; report what is stored.")
@click.option("--force", is_flag=True, help="Fetch feeds that are backing off after failures too.")
@click.pass_obj
@handle_errors
def fetch(obj: Context, feeds: tuple[str, ...], strict: bool, offline: bool, force: bool) -> None:
    """Fetch every feed into the project's store."""
    project = obj.project()
    with pipeline.project_lock(project), pipeline.opened_store(project) as store:
        if offline:
            configured = sorted(f.name for f in project.feeds)
            stored = len(store.items(feeds=configured))
            click.echo(f"offline: {stored} stored items from {len(configured)} feeds", err=True)
            embed_at_ingest(project, store)
            return
        failed = report_fetch(fetch_with_progress(project, store, feeds, force))
        embed_at_ingest(project, store)
    if strict and failed:
        sys.exit(1)


def _feed_row(state: FeedState) -> dict[str, Any]:
    return {
        "name": state.name,
        "url": state.url,
        "status": state.status,
        "last_fetch": iso(state.last_fetch),
        "last_success": iso(state.last_success),
        "failures": state.failures,
        "next_fetch": iso(state.next_fetch),
        "items": state.item_count,
        "last_error": state.last_error,
        "moved_to": state.moved_to,
        "discovered": state.discovered,
    }


@click.command()
@format_option
@click.pass_obj
@handle_errors
def feeds(obj: Context, fmt: str) -> None:
    """List the feeds with their health."""
    project = obj.project()
    with pipeline.opened_store(project) as store:
        store.sync_feeds(project.feeds)
        configured = {f.name for f in project.feeds}
        rows = [_feed_row(s) for s in store.feed_states() if s.name in configured]
    if fmt == "json":
        print_json(rows)
        return
    from rich.table import Table

    table = Table()
    for column in ("name", "status", "last success", "failures", "next fetch", "items", "note"):
        table.add_column(column)
    for r in rows:
        note = advice(r["last_error"], r["moved_to"], r["discovered"])
        table.add_row(
            r["name"], r["status"], r["last_success"] or "never", str(r["failures"]),
            r["next_fetch"] or "now", str(r["items"]), plain(note),
        )  # fmt: skip
    out.print(table)


def _item_row(item: Item) -> dict[str, Any]:
    return {
        "id": item.id,
        "title": item.title,
        "url": item.url,
        "source": item.source,
        "sources": list(item.sources),
        "published": iso(item.published),
        "first_seen": iso(item.first_seen),
        "author": item.author,
        "categories": list(item.categories),
        "summary": item.summary,
    }


@click.command()
@click.option("--since", metavar="DATE|AGE", help="Only items published since (2026-11-01, 7d).")
@click.option("--feed", "feeds", multiple=True, metavar="NAME", help="Only this feed (repeatable).")
@click.option("--limit", type=click.IntRange(min=1), help="At most N items.")
@format_option
@now_option
@click.pass_obj
@handle_errors
def items(
    obj: Context,
    since: str | None,
    feeds: tuple[str, ...],
    limit: int | None,
    fmt: str,
    now_text: str | None,
) -> None:
    """List stored items, newest first."""
    project = obj.project()
    now = pipeline.resolve_now(project, parse_now(now_text))
    with pipeline.opened_store(project) as store:
        found = store.items(since=parse_since(since, now), feeds=feeds, limit=limit)
    if fmt == "json":
        print_json([_item_row(i) for i in found])
        return
    for item in found:
        line = f"{item.published:%Y-%m-%d}  {item.source:<18}  {item.title}"
        out.print(plain(f"{line}\n            {item.url}"))


@click.command()
@click.option("--older-than", "age", required=True, metavar="AGE", help="e.g. 90d, 12w.")
@now_option
@click.pass_obj
@handle_errors
def prune(obj: Context, age: str, now_text: str | None) -> None:
    """Delete stored items published longer ago than AGE (what was sent stays in the history)."""
    project = obj.project()
    cutoff = parse_age(age, pipeline.resolve_now(project, parse_now(now_text)))
    if cutoff is None:
        raise UsageError(f"--older-than takes an age such as 90d or 12w, got '{age}'")
    with pipeline.project_lock(project), pipeline.opened_store(project) as store:
        removed = store.prune(cutoff)
        texts, judgements = pipeline.prune_texts(project, store)
    click.echo(f"removed {removed} items published before {iso(cutoff)}")
    if texts:
        click.echo(f"removed {texts} vectors of texts no account or note uses any more")
    if judgements:
        click.echo(
            f"removed {judgements} judgements of accounts' texts no account has any more"
            " or of an earlier judge"
        )
