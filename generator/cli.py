"""The ``kb`` command. The only module that knows about click and rich.

Every :class:`KbError` becomes a clean message on stderr and a non-zero exit: 1 for problems in
the project or a run, 2 for a command used wrongly. Text that came from a feed is printed as
plain text (never as rich markup), already stripped of control characters by the parser.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from . import __version__, pipeline
from .config import DIGEST_FORMATS, parse_instant
from .exceptions import ConfigErrors, KbError, UsageError
from .ingest import FetchReport
from .models import FeedState, Item, Project
from .outputs import Writer
from .store import Store

F = TypeVar("F", bound=Callable[..., Any])

err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)


class Context:
    def __init__(self, root: Path) -> None:
        self.root = root

    def project(self) -> Project:
        return pipeline.open_project(self.root)


def handle_errors(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ConfigErrors as e:
            for error in e.errors:
                click.echo(str(error), err=True)
            count = len(e.errors)
            click.echo(f"{count} problem{'s' if count != 1 else ''} found; nothing was written.", err=True)
            sys.exit(1)
        except UsageError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(2)
        except KbError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("interrupted; what was already stored is kept, run again to finish", err=True)
            sys.exit(130)
        except Exception as e:
            if os.environ.get("KB_DEBUG"):
                raise
            click.echo(f"internal error: {type(e).__name__}: {e} (set KB_DEBUG=1 for details)", err=True)
            sys.exit(70)

    return wrapper  # type: ignore[return-value]


def parse_now(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_instant(value)
    except ValueError as e:
        raise UsageError(f"--now must be an ISO 8601 date or time, got '{value}'") from e


def parse_since(value: str | None, now: datetime) -> datetime | None:
    """``--since`` takes a date/time, or an age such as ``7d``, ``12h`` or ``2w``."""
    if value is None:
        return None
    match = re.fullmatch(r"(\d+)\s*([hdw])", value.strip())
    if match:
        unit = {"h": "hours", "d": "days", "w": "weeks"}[match.group(2)]
        return now - timedelta(**{unit: int(match.group(1))})
    try:
        return parse_instant(value)
    except ValueError as e:
        raise UsageError(f"expected a date (2026-11-01) or an age (7d, 12h, 2w), got '{value}'") from e


def parse_shard(value: str | None) -> tuple[int, int]:
    if value is None:
        return (1, 1)
    match = re.fullmatch(r"(\d+)/(\d+)", value.strip())
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise UsageError(f"--shard takes K/N with 1 <= K <= N, such as 2/4, got '{value}'")
    return int(match.group(1)), int(match.group(2))


def iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z") if moment else None


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


project_option = click.option(
    "--project",
    "-p",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="The project folder (holding feeds/ and content/).",
)
now_option = click.option("--now", "now_text", metavar="ISO-8601", help="Fix 'now' (default: kb.yml's now, else the clock).")
format_json = click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@project_option
@click.version_option(__version__, prog_name="kb")
@click.pass_context
def main(ctx: click.Context, project: Path) -> None:
    """Knowledge Broker: insight for every customer, from industry news and your team's notes."""
    ctx.obj = Context(project)


# --- init / check --------------------------------------------------------------------------


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@handle_errors
def init(directory: Path) -> None:
    """Create a new project in DIRECTORY with a small working example."""
    if directory.exists() and any(directory.iterdir()):
        raise UsageError(f"{directory} is not empty; choose a new or empty folder")
    scaffold = resources.files("generator") / "scaffold"
    with resources.as_file(scaffold) as source:
        shutil.copytree(source, directory, dirs_exist_ok=True)
    click.echo(f"Created a Knowledge Broker project in {directory}")
    click.echo(f"Next: kb --project {directory} build")


@main.command()
@click.pass_obj
@handle_errors
def check(obj: Context) -> None:
    """Validate every project file; print path:line: message for each problem."""
    project = obj.project()
    click.echo(
        f"ok: {len(project.feeds)} feeds, {len(project.topics)} topics, "
        f"{len(project.accounts)} accounts, {len(project.notes)} notes"
    )


# --- fetch / feeds / items -----------------------------------------------------------------


def _fetch_with_progress(project: Project, store: Store, only: Sequence[str], force: bool) -> list[FetchReport]:
    total = len(only) if only else len(project.feeds)
    if not err.is_terminal:
        return pipeline.fetch(project, store, only=only, force=force)
    columns = (TextColumn("fetching"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("feeds", total=total)
        return pipeline.fetch(project, store, only=only, force=force, progress=lambda _: bar.advance(task))


def _summary(reports: Sequence[FetchReport]) -> Table:
    table = Table(title="kb fetch", title_justify="left")
    for column in ("feed", "status", "new", "entries", "detail"):
        table.add_column(column, justify="right" if column in ("new", "entries") else "left")
    for r in reports:
        detail = r.error or (f"moved permanently to {r.moved_to}: update feeds.yml" if r.moved_to else "")
        table.add_row(r.feed, r.status, str(r.new_items), str(r.entries), Text(detail))
    return table


def _report_fetch(reports: Sequence[FetchReport]) -> int:
    err.print(_summary(reports))
    failed = [r for r in reports if r.status in ("error", "gone")]
    new = sum(r.new_items for r in reports)
    click.echo(f"{len(reports)} feeds: {len(reports) - len(failed)} ok, {len(failed)} failed; {new} new items", err=True)
    return len(failed)


@main.command()
@click.option("--feed", "feeds", multiple=True, metavar="NAME", help="Fetch only this feed (repeatable).")
@click.option("--strict", is_flag=True, help="Exit 1 if any feed failed.")
@click.option("--offline", is_flag=True, help="Fetch nothing; report what is stored.")
@click.option("--force", is_flag=True, help="Fetch feeds that are backing off after failures too.")
@click.pass_obj
@handle_errors
def fetch(obj: Context, feeds: tuple[str, ...], strict: bool, offline: bool, force: bool) -> None:
    """Fetch every feed into the project's store."""
    project = obj.project()
    store = pipeline.store_for(project)
    try:
        if offline:
            states = store.feed_states()
            click.echo(f"offline: {sum(s.item_count for s in states)} stored items from {len(states)} feeds", err=True)
            return
        failed = _report_fetch(_fetch_with_progress(project, store, feeds, force))
    finally:
        store.close()
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
    }


@main.command()
@format_json
@click.pass_obj
@handle_errors
def feeds(obj: Context, fmt: str) -> None:
    """List the feeds with their health."""
    project = obj.project()
    store = pipeline.store_for(project)
    try:
        store.sync_feeds(project.feeds)
        configured = {f.name for f in project.feeds}
        rows = [_feed_row(s) for s in store.feed_states() if s.name in configured]
    finally:
        store.close()
    if fmt == "json":
        print_json(rows)
        return
    table = Table()
    for column in ("name", "status", "last success", "failures", "next fetch", "items", "last error"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            r["name"], r["status"], r["last_success"] or "never", str(r["failures"]),
            r["next_fetch"] or "now", str(r["items"]), Text(r["last_error"]),
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


@main.command()
@click.option("--since", metavar="DATE|AGE", help="Only items published since then (2026-11-01, 7d, 12h).")
@click.option("--feed", "feeds", multiple=True, metavar="NAME", help="Only items from this feed (repeatable).")
@click.option("--limit", type=click.IntRange(min=1), help="At most N items.")
@format_json
@now_option
@click.pass_obj
@handle_errors
def items(obj: Context, since: str | None, feeds: tuple[str, ...], limit: int | None, fmt: str, now_text: str | None) -> None:
    """List stored items, newest first."""
    project = obj.project()
    now = pipeline.resolve_now(project, parse_now(now_text))
    store = pipeline.store_for(project)
    try:
        found = store.items(since=parse_since(since, now), feeds=feeds, limit=limit)
    finally:
        store.close()
    if fmt == "json":
        print_json([_item_row(i) for i in found])
        return
    for item in found:
        out.print(Text(f"{item.published:%Y-%m-%d}  {item.source:<18}  {item.title}\n            {item.url}"))


# --- digests and the newsletter ------------------------------------------------------------


@main.command()
@click.argument("accounts", nargs=-1)
@click.option("--all", "everyone", is_flag=True, help="Every account.")
@click.option("--shard", metavar="K/N", help="With --all: only the K-th of N stable shares of the accounts.")
@click.option("--format", "formats", multiple=True, type=click.Choice(DIGEST_FORMATS), help="Output format (repeatable; default md).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), help="Folder for the digests (default build/digests).")
@click.option("--for", "for_person", metavar="NAME", help="Rank for one stakeholder's cares_about.")
@click.option("--include-sent", is_flag=True, help="Include items already sent to the account.")
@click.option("--dry-run", is_flag=True, help="Print only: write no file, record nothing as sent.")
@now_option
@click.pass_obj
@handle_errors
def digest(
    obj: Context,
    accounts: tuple[str, ...],
    everyone: bool,
    shard: str | None,
    formats: tuple[str, ...],
    out_dir: Path | None,
    for_person: str | None,
    include_sent: bool,
    dry_run: bool,
    now_text: str | None,
) -> None:
    """Build digests for ACCOUNT... (or --all).

    Files go to OUT/<account>/<date>.<ext> and their items are recorded as sent. With one
    account and one format the digest is also printed to stdout.
    """
    project = obj.project()
    now = pipeline.resolve_now(project, parse_now(now_text))
    chosen = pipeline.select_accounts(project, accounts, everyone, parse_shard(shard))
    formats = formats or ("md",)
    store = pipeline.store_for(project)
    try:
        items = store.items()
        digests = []
        for account in chosen:
            person = None
            if for_person:
                person = account.stakeholder(for_person)
                if person is None:
                    names = ", ".join(p.name for p in account.stakeholders) or "none"
                    raise UsageError(f"{account.slug} has no stakeholder '{for_person}' (stakeholders: {names})")
            digests.append(pipeline.digest_for(project, store, account, now, items=items, stakeholder=person, include_sent=include_sent))
        rendered = pipeline.render_digests(project, digests, formats, out_dir or project.out_dir / "digests")
        if len(rendered) == 1:
            click.echo(rendered[0].text, nl=False)
        if not dry_run:
            writer = Writer()
            pipeline.write_digests(store, rendered, writer, record=not include_sent)
            for path in writer.written:
                click.echo(f"wrote {path}", err=True)
    finally:
        store.close()


@main.command()
@click.option("--week", metavar="YYYY-Www", help="The ISO week of the issue (default: this week).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), help="Folder (default build/newsletter).")
@now_option
@click.pass_obj
@handle_errors
def newsletter(obj: Context, week: str | None, out_dir: Path | None, now_text: str | None) -> None:
    """Build the team's weekly newsletter (it covers the seven days before the week's Monday)."""
    project = obj.project()
    now = pipeline.resolve_now(project, parse_now(now_text))
    store = pipeline.store_for(project)
    try:
        issue = pipeline.newsletter_for(project, store, week, now)
    finally:
        store.close()
    for path in pipeline.write_newsletter(project, issue, out_dir or project.out_dir / "newsletter", Writer()):
        click.echo(f"wrote {path}")


@main.command()
@click.argument("account")
@format_json
@click.pass_obj
@handle_errors
def history(obj: Context, account: str, fmt: str) -> None:
    """What ACCOUNT was sent, newest first."""
    project = obj.project()
    pipeline.select_accounts(project, [account], False)
    store = pipeline.store_for(project)
    try:
        records = store.history(account)
    finally:
        store.close()
    rows = [{"url": r.url, "title": r.title, "sent_at": iso(r.sent_at), "format": r.format} for r in records]
    if fmt == "json":
        print_json(rows)
        return
    if not rows:
        click.echo(f"nothing was sent to {account} yet")
    for r in rows:
        out.print(Text(f"{r['sent_at']}  {r['format']:<5} {r['title']}\n                      {r['url']}"))


@main.command()
@click.option("--older-than", "age", required=True, metavar="AGE", help="e.g. 90d, 12w.")
@now_option
@click.pass_obj
@handle_errors
def prune(obj: Context, age: str, now_text: str | None) -> None:
    """Delete stored items published longer ago than AGE (what was sent stays in the history)."""
    project = obj.project()
    now = pipeline.resolve_now(project, parse_now(now_text))
    cutoff = parse_since(age, now)
    if cutoff is None or not re.fullmatch(r"\d+\s*[hdw]", age.strip()):
        raise UsageError(f"--older-than takes an age such as 90d or 12w, got '{age}'")
    store = pipeline.store_for(project)
    try:
        removed = store.prune(cutoff)
    finally:
        store.close()
    click.echo(f"removed {removed} items published before {iso(cutoff)}")


# --- the main job --------------------------------------------------------------------------


@main.command()
@now_option
@click.option("--offline", is_flag=True, help="Use only what is stored; fetch nothing.")
@click.option("--no-site", is_flag=True, help="Skip the MkDocs site.")
@click.pass_obj
@handle_errors
def build(obj: Context, now_text: str | None, offline: bool, no_site: bool) -> None:
    """Check, fetch, build every digest, this week's newsletter and the site."""
    project = obj.project()
    now = pipeline.resolve_now(project, parse_now(now_text))
    click.echo(f"checked: {len(project.feeds)} feeds, {len(project.accounts)} accounts, {len(project.notes)} notes")
    store = pipeline.store_for(project)
    try:
        if not offline:
            _report_fetch(_fetch_with_progress(project, store, (), False))
        items = store.items()
        digests = [pipeline.digest_for(project, store, a, now, items=items) for a in project.accounts]
        rendered = pipeline.render_digests(project, digests, project.settings.digest.formats, project.out_dir / "digests")
        issue = pipeline.newsletter_for(project, store, None, now)
        writer = Writer()
        pipeline.write_digests(store, rendered, writer, record=True)
        digest_dir = project.out_dir / "digests"
        click.echo(f"digests: {len(digests)} accounts, {len(rendered)} files in {digest_dir}")
        for d in digests:
            click.echo(f"  {d.account.slug}: {len(d.picks)} items, {len(d.notes)} notes")
        for path in pipeline.write_newsletter(project, issue, project.out_dir / "newsletter", writer):
            click.echo(f"newsletter: {path}")
    finally:
        store.close()
    if not no_site:
        site = pipeline.build_site(project, now)
        click.echo(f"site: {site / 'index.html'}")
