"""``kb init``, ``kb check`` and ``kb build``: the project as a whole."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..exceptions import UsageError
from ..lazy import lazy_module
from .common import (
    Context,
    handle_errors,
    jobs_option,
    now_option,
    parse_now,
    parse_shard,
    warn_sent_first,
)
from .feeds import fetch_with_progress, report_embedded, report_fetch
from .newsletter import report_issue

if TYPE_CHECKING:
    from .. import pipeline, weekly
else:
    pipeline = lazy_module("generator.pipeline")
    weekly = lazy_module("generator.weekly")


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@handle_errors
def init(directory: Path) -> None:
    """Create a new project in DIRECTORY with a small working example."""
    if directory.exists() and any(directory.iterdir()):
        raise UsageError(f"{directory} is not empty; choose a new or empty folder")
    with resources.as_file(resources.files("generator") / "scaffold") as scaffold:
        shutil.copytree(scaffold, directory, dirs_exist_ok=True)
    click.echo(f"Created a Knowledge Broker project in {directory}")
    click.echo(f"Next: kb --project {directory} build")
    click.echo(
        "In a GitHub repository, .github/workflows/weekly.yml builds, archives and (once kb.yml"
        " says where) sends the newsletter every Monday"
    )


@click.command()
@click.pass_obj
@handle_errors
def check(obj: Context) -> None:
    """Validate every project file; print path:line: message for each problem."""
    project = obj.project()
    for warning in project.warnings:
        click.echo(warning, err=True)
    click.echo(
        f"ok: {len(project.feeds)} feeds, {len(project.topics)} topics, "
        f"{len(project.accounts)} accounts, {len(project.notes)} notes"
    )


@click.command()
@now_option
@click.option("--offline", is_flag=True, help="Use only what is stored; fetch nothing.")
@click.option("--no-site", is_flag=True, help="Skip the MkDocs site.")
@jobs_option
@click.option(
    "--shard",
    metavar="K/N",
    help="Only the K-th of N stable shares of accounts: their digests and a summary in "
    "build/shards/K-of-N for --assemble. Fetches nothing.",
)
@click.option(
    "--assemble",
    "assemble",
    is_flag=True,
    help="Build the newsletter and site from the shards' summaries (DIR..., default "
    "build/shards/*), without ranking again.",
)
@click.option("--timings", is_flag=True, help="Print how long each stage took.")
@click.argument("shard_dirs", nargs=-1, type=click.Path(file_okay=False, path_type=Path))
@click.pass_obj
@handle_errors
def build(
    obj: Context,
    now_text: str | None,
    offline: bool,
    no_site: bool,
    jobs: int | None,
    shard: str | None,
    assemble: bool,
    timings: bool,
    shard_dirs: tuple[Path, ...],
) -> None:
    """Check, fetch, build every digest, this week's newsletter and the site.

    A second build with nothing changed (same stored items, project files, templates and
    "now") renders nothing again: it reuses what the state folder's manifest says it wrote.
    On a CI matrix, run `kb build --shard K/N` on N runners sharing one store, then
    `kb build --assemble` over their build/ folders.
    """
    if shard_dirs and not assemble:
        raise UsageError("folders go with --assemble")
    if shard and assemble:
        raise UsageError("--shard and --assemble are two steps: run the shards, then assemble")
    project = obj.project()
    now = pipeline.resolve_now(project, parse_now(now_text))
    click.echo(
        f"checked: {len(project.feeds)} feeds, {len(project.accounts)} accounts, "
        f"{len(project.notes)} notes"
    )
    with pipeline.project_lock(project):
        links = None if no_site or shard else pipeline.check_site(project)
        clock = Stopwatch()
        with pipeline.opened_store(project) as store:
            if assemble:
                outcome = weekly.assemble(project, store, now, list(shard_dirs))
            else:
                if not offline and not shard:
                    with clock("fetch"):
                        report_fetch(fetch_with_progress(project, store))
                items = store.items()
                report_embedded(pipeline.embed_stored(store, items))
                split = parse_shard(shard) if shard else None
                outcome = weekly.build(project, store, now, items, jobs=jobs, shard=split)
        clock.add("digests", outcome.digests_seconds)
        clock.add("rank", outcome.digests.seconds[0])
        clock.add("render", outcome.digests.seconds[1])
        clock.add("newsletter", outcome.newsletter_seconds)
        _report(outcome)
        if outcome.shard_dir is None:
            try:
                if links is not None:
                    with clock("site"):
                        site = weekly.site(project, outcome, now, links)
                    fresh = "" if outcome.site_stale else " (unchanged)"
                    click.echo(f"site: {site / 'index.html'}{fresh}")
                weekly.save_manifest(project, outcome, with_site=not no_site)
            finally:
                weekly.discard(outcome)
        if timings:
            for name, seconds in clock.laps.items():
                click.echo(f"timing: {name} {seconds:.2f}")


class Stopwatch:
    """Wall time per stage, for ``--timings``."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}

    def add(self, name: str, seconds: float) -> None:
        self.laps[name] = self.laps.get(name, 0.0) + seconds

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - started)


def _report(outcome: weekly.Outcome) -> None:
    runs = outcome.digests
    digest_dir = outcome.digest_dir
    if outcome.warning:
        click.echo(f"warning: {outcome.warning}", err=True)
    click.echo(
        f"digests: {len(runs.digests)} accounts, {runs.files} files in {digest_dir}"
        f" ({runs.rendered} rendered, {len(runs.digests) - runs.rendered} unchanged)"
    )
    for d in runs.digests:
        click.echo(f"  {d.account.slug}: {len(d.picks)} items, {len(d.notes)} notes")
    warn_sent_first(runs.lost)
    if outcome.newsletter is not None:
        report_issue(outcome.newsletter)
    if outcome.shard_dir is not None:
        click.echo(f"shard summary: {outcome.shard_dir}")
