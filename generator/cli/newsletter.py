"""``kb newsletter``: build the week's issue into the archive, report on it, or send it."""

from __future__ import annotations

import contextlib
import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..exceptions import UsageError
from ..lazy import lazy_module
from ..models import Project

if TYPE_CHECKING:
    from .. import pipeline
else:
    pipeline = lazy_module("generator.pipeline")
from .common import (
    Context,
    echo,
    format_option,
    handle_errors,
    now_option,
    out,
    parse_now,
    plain,
    print_json,
)


@click.command()
@click.option("--week", metavar="YYYY-Www", help="The ISO week of the issue (default: this week).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the .md and .html copies (default build/newsletter).")  # fmt: skip
@click.option("--force", is_flag=True, help="Write the issue even with nothing worth sending.")
@click.option("--send", is_flag=True, help="Send the archived issue over SMTP (see kb.yml).")
@click.option("--resend", is_flag=True, help="With --send: send again to those already sent it.")
@click.option("--dry-run", is_flag=True, help="Print what would be written or sent; do neither.")
@click.option("--status", is_flag=True, help="Report the week's issue: archived? sent to whom?")
@format_option
@now_option
@click.pass_obj
@handle_errors
def newsletter(
    obj: Context,
    week: str | None,
    out_dir: Path | None,
    force: bool,
    send: bool,
    resend: bool,
    dry_run: bool,
    status: bool,
    fmt: str,
    now_text: str | None,
) -> None:
    """Build the team's weekly newsletter, or send it.

    Building writes content/newsletters/WEEK.md (the archive: front matter and the Markdown
    body) and a .md and .html copy in build/newsletter. The issue covers the seven days before
    the week's Monday and leaves out every story an earlier archived issue carried. An issue with
    nothing worth sending is not written (exit 0) unless --force.

    --send sends the archived issue, as it stands in content/newsletters/, to every recipient in
    kb.yml that has not had it yet; --resend sends to everyone again.
    """
    project = obj.project()
    now = pipeline.resolve_now(project, parse_now(now_text))
    from ..newsletter import week_monday, week_of

    week = week or week_of(now)
    week_monday(week)  # a usage error for a malformed week, before anything else
    if resend and not send:
        raise UsageError("--resend goes with --send")
    if status:
        _status(project, week, fmt)
    elif send:
        if out_dir is not None or force:
            raise UsageError("--send sends the archived issue: --out and --force build one")
        _send(project, week, now, resend=resend, dry_run=dry_run)
    else:
        _build(project, week, now, out_dir, force=force, dry_run=dry_run)


def _build(
    project: Project, week: str, now: datetime, out_dir: Path | None, *, force: bool, dry_run: bool
) -> None:
    folder = out_dir or project.out_dir / "newsletter"
    lock = contextlib.nullcontext() if dry_run else pipeline.project_lock(project)
    with lock, pipeline.opened_store(project) as store:
        issue = pipeline.newsletter_for(project, store, week, now)
        if dry_run:
            path, text = pipeline.issue_files(project, issue, folder)[-1]
            click.echo(f"==> {path} <==\n{text}", nl=False)
            return
        writer = pipeline.output_writer(project)
        outcome = pipeline.write_newsletter(project, store, issue, folder, writer, force=force)
    report_issue(outcome)


def report_issue(outcome: pipeline.IssueOutcome) -> None:
    for path in outcome.written:
        click.echo(f"newsletter: {path}")
    for message in (outcome.skipped, outcome.kept):
        if message:
            click.echo(message)


def _send(project: Project, week: str, now: datetime, *, resend: bool, dry_run: bool) -> None:
    from ..delivery import credentials

    login = None if dry_run else credentials(project.settings.newsletter.smtp, os.environ)
    lock = contextlib.nullcontext() if dry_run else pipeline.project_lock(project)
    with lock, pipeline.opened_store(project) as store:
        plan = pipeline.plan_send(project, store, week, now, resend=resend)
        title = plan.issue.title or week
        if not plan.outgoing:
            click.echo(
                f"newsletter {week} was already sent to all {len(plan.recipients)} recipients;"
                " nothing sent (--resend sends it again)"
            )
            return
        verb = "would send" if dry_run else "sending"
        left = f" ({len(plan.already)} already had it)" if plan.already and not resend else ""
        out.print(plain(f"{verb} {week} '{title}' to {len(plan.outgoing)} recipients{left}"))
        if dry_run:
            for o in plan.outgoing:
                click.echo(f"  {o.recipient}  {o.size:,} bytes  {o.message_id}")
            return

        failures = pipeline.send_newsletter(
            project, store, plan, login, now, lambda o: click.echo(f"  sent {o.recipient}")
        )
    for failure in failures:
        echo(f"error: {failure.recipient}: {failure.reason}", err=True)
    sent = len(plan.outgoing) - len(failures)
    click.echo(f"sent {week} to {sent} of {len(plan.outgoing)} recipients")
    if failures:
        raise SystemExit(1)


def _status(project: Project, week: str, fmt: str) -> None:
    """The week's issue at a glance; ``--format json`` is what the weekly workflow reads."""
    issue = next((i for i in project.newsletters if i.week == week), None)
    settings = project.settings.newsletter
    with pipeline.opened_store(project) as store:
        sent = store.newsletter_sent(week)
    from ..archive import archive_path

    archive = archive_path(Path(), week).as_posix()
    row = {
        "week": week,
        "archive": archive,
        "archived": issue is not None,
        "items": len(issue.items) if issue else 0,
        "review": settings.review,
        "delivery": settings.delivery,
        "sent": len(sent),
    }
    if fmt == "json":
        print_json(row)
        return
    click.echo(
        f"{week}: {'archived in ' + archive if issue else 'not archived'}"
        f" ({row['items']} stories); review {'on' if settings.review else 'off'};"
        f" delivery {'on' if settings.delivery else 'off'}; sent to {len(sent)}"
    )
