"""``kb init``, ``kb check`` and ``kb build``: the project as a whole."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

import click

from .. import pipeline
from ..exceptions import UsageError
from .common import Context, handle_errors, now_option, parse_now, warn_sent_first
from .feeds import fetch_with_progress, report_embedded, report_fetch
from .newsletter import report_issue


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
@click.pass_obj
@handle_errors
def build(obj: Context, now_text: str | None, offline: bool, no_site: bool) -> None:
    """Check, fetch, build every digest, this week's newsletter and the site."""
    project = obj.project()
    now = pipeline.resolve_now(project, parse_now(now_text))
    click.echo(
        f"checked: {len(project.feeds)} feeds, {len(project.accounts)} accounts, "
        f"{len(project.notes)} notes"
    )
    with pipeline.project_lock(project):
        digest_dir = project.out_dir / "digests"
        links = None if no_site else pipeline.check_site(project)
        with pipeline.opened_store(project) as store:
            if not offline:
                report_fetch(fetch_with_progress(project, store))
            items = store.items()
            states = store.feed_states()
            report_embedded(pipeline.embed_stored(store, items))
            ranking = pipeline.rank_accounts(project, project.accounts, items, now, store=store)
            digests = pipeline.digests_for(project, store, project.accounts, now, ranking=ranking)
            rendered = pipeline.render_digests(
                project, digests, project.settings.digest.formats, digest_dir
            )
            issue = pipeline.newsletter_for(project, store, None, now, items=items, ranking=ranking)
            writer = pipeline.output_writer(project)
            warn_sent_first(pipeline.write_digests(store, rendered, writer, record=True))
            outcome = pipeline.write_newsletter(
                project, store, issue, project.out_dir / "newsletter", writer
            )
        click.echo(f"digests: {len(digests)} accounts, {len(rendered)} files in {digest_dir}")
        for d in digests:
            click.echo(f"  {d.account.slug}: {len(d.picks)} items, {len(d.notes)} notes")
        report_issue(outcome)
        if links is not None:
            site = pipeline.build_site(
                project,
                now,
                states=states,
                items=items,
                digests=digests,
                newsletter=issue,
                links=links,
            )
            click.echo(f"site: {site / 'index.html'}")
