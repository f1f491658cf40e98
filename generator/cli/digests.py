"""``kb digest``, ``kb due`` and ``kb history``: what goes to customers."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..exceptions import UsageError
from ..lazy import lazy_module
from ..models import ADHOC_SLUG, DIGEST_FORMATS, Account, Project

if TYPE_CHECKING:
    from .. import pipeline
    from ..batch import OutFile
    from ..digest import Due
else:
    pipeline = lazy_module("generator.pipeline")
from .common import (
    Context,
    format_option,
    handle_errors,
    iso,
    jobs_option,
    now_option,
    out,
    parse_now,
    parse_shard,
    plain,
    print_json,
    warn_sent_first,
)

out_option = click.option(
    "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), help="Output folder."
)


@click.command()
@click.argument("accounts", nargs=-1)
@click.option("--all", "everyone", is_flag=True, help="Every account.")
@click.option("--shard", metavar="K/N", help="With --all: the K-th of N stable shares of accounts.")
@click.option(
    "--format",
    "formats",
    multiple=True,
    type=click.Choice(DIGEST_FORMATS),
    help="Output format (repeatable; default md).",
)
@out_option
@click.option("--for", "for_person", metavar="NAME", help="Rank for one stakeholder's cares_about.")
@click.option("--include-sent", is_flag=True, help="Include items already sent to the account.")
@click.option("--dry-run", is_flag=True, help="Print only: write no file, record nothing as sent.")
@click.option(
    "--problem",
    "problems",
    multiple=True,
    metavar="TEXT",
    help="Rank for a caller with no account file: their problem in their words (repeatable).",
)
@click.option("--industry", metavar="NAME", default="", help="With --problem: their industry.")
@click.option(
    "--explain", "explain_url", metavar="URL", help="Why this item was or was not chosen."
)
@jobs_option
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
    problems: tuple[str, ...],
    industry: str,
    explain_url: str | None,
    jobs: int | None,
    now_text: str | None,
) -> None:
    """Build digests for ACCOUNT... (or --all, or --problem TEXT for a new caller).

    Files go to OUT/<account>/<date>.<ext> (default build/digests) and their items are recorded
    as sent. With one account and one format the digest is also printed to stdout; with
    --dry-run every output is printed, each under a "==> path <==" line, and nothing is written
    or recorded. An ad-hoc digest (--problem) records nothing as sent.
    """
    project = _project_for(obj, accounts, everyone or bool(problems))
    now = pipeline.resolve_now(project, parse_now(now_text))
    adhoc = _adhoc(problems, industry, accounts, everyone)
    if adhoc:
        chosen, include_sent = [adhoc], True
    else:
        chosen = pipeline.select_accounts(project, accounts, everyone, parse_shard(shard))
    formats = tuple(dict.fromkeys(formats)) or ("md",)
    if explain_url is not None:
        _explain(project, chosen, explain_url, now, for_person, include_sent, "json" in formats)
        return
    for account in chosen:
        pipeline.stakeholder_of(account, for_person)  # a usage error before any work
    from ..batch import RunSpec, run_accounts

    spec = RunSpec(
        project,
        now,
        formats,
        out_dir or project.out_dir / "digests",
        record=not include_sent,
        stakeholder=for_person,
        news=False,
    )
    single = len(chosen) == 1 and len(formats) == 1
    writer = pipeline.output_writer(project)
    written: list[OutFile] = []
    lock = contextlib.nullcontext() if dry_run else pipeline.project_lock(project)
    with lock, pipeline.opened_store(project, reading=True) as store:
        for chunk in run_accounts(spec, chosen, store, jobs=jobs):
            files = [f for run in chunk for f in run.files]
            for skipped in (f for f in files if f.skipped):
                click.echo(skipped.skipped, err=True)
            shown = [f for f in files if not f.skipped]
            for f in shown:
                if single:
                    click.echo(f.text, nl=False)
                elif dry_run:
                    click.echo(f"==> {f.path} <==\n{f.text}", nl=False)
            if not dry_run:
                pipeline.write_digests(store, shown, writer, record=False)
                written += [replace(f, text="") for f in shown]
        lost = pipeline.record_sends(store, written) if not dry_run and spec.record else []
    for path in writer.written:
        click.echo(f"wrote {path}", err=True)
    warn_sent_first(lost)


def _project_for(obj: Context, accounts: Sequence[str], whole: bool) -> Project:
    """The project with only the named accounts' files read (a rep's digest on demand reads one
    account file, not the team's thousands), or all of them when the command needs them or a
    name is unknown (so the usual message lists the accounts there are)."""
    if whole or not accounts:
        return obj.project()
    project = obj.project(only=accounts)
    if any(project.account(slug) is None for slug in accounts):
        return obj.project()
    return project


def _adhoc(
    problems: tuple[str, ...], industry: str, accounts: tuple[str, ...], everyone: bool
) -> Account | None:
    """The transient account of ``kb digest --problem``, or None for a named account."""
    if not problems:
        if industry:
            raise UsageError("--industry goes with --problem")
        return None
    if accounts or everyone:
        raise UsageError("--problem ranks for a caller with no account file: name no account")
    from ..digest import adhoc_account

    account = adhoc_account(problems, industry)
    if not account.problems:
        raise UsageError("--problem needs some text")
    return account


def _explain(
    project: Project,
    chosen: Sequence[Account],
    url: str,
    now: datetime,
    for_person: str | None,
    include_sent: bool,
    as_json: bool,
) -> None:
    if len(chosen) != 1:
        raise UsageError("--explain takes exactly one account")
    account = chosen[0]
    person = pipeline.stakeholder_of(account, for_person)
    with pipeline.opened_store(project) as store:
        items = store.items()
        skip_history = include_sent or account.slug == ADHOC_SLUG
        history = () if skip_history else store.history(account.slug)
        corpus = pipeline.corpus_of(project, store, items)
        from ..digest import explain

        found = explain(  # in the store's block: the corpus reads its text vectors from it
            project, account, items, url, now, history=history, stakeholder=person, corpus=corpus
        )
    if as_json:
        print_json(
            {
                "account": account.slug,
                "url": found.url,
                "title": found.title,
                "chosen": found.chosen,
                "verdict": found.verdict,
                "score": round(found.score, 4),
                "relevance": round(found.relevance, 4),
                "why": list(found.why),
                "signals": [
                    {"signal": s.signal, "value": round(s.value, 4), "share": round(s.share, 4)}
                    for s in found.shares
                ],
                "gates": [
                    {"gate": name, "passed": passed, "detail": detail}
                    for name, passed, detail in found.gates
                ],
            }
        )
        return
    out.print(plain(f"{found.title or found.url}\n{found.verdict}"))
    for reason in found.why:
        out.print(plain(f"  - {reason}"))
    if found.gates:
        out.print(plain("gates:"))
    for name, passed, detail in found.gates:
        out.print(plain(f"  {'passed' if passed else 'FAILED'}  {name}: {detail}"))
    if found.shares:
        out.print(plain("signals (share of the relevance; recency and feed weight multiply it):"))
    for share in found.shares:
        if share.signal in ("recency", "feed weight"):
            out.print(plain(f"  {share.signal:<17} x{share.value:.2f}"))
        else:
            out.print(plain(f"  {share.signal:<17} {share.value:5.2f}  {share.share:4.0%}"))


def _due_row(due: Due) -> dict[str, Any]:
    return {
        "account": due.account.slug,
        "name": due.account.name,
        "last_sent": iso(due.last_sent),
        "items": due.waiting,
        "top": {
            "title": due.top.item.title,
            "url": due.top.item.url,
            "score": round(due.top.score, 4),
            "why": list(due.top.why),
        },
    }


@click.command()
@click.option(
    "--days",
    type=click.IntRange(min=1, max=36500),
    default=14,
    show_default=True,
    help="Due when sent nothing for this many days.",
)
@format_option
@now_option
@click.pass_obj
@handle_errors
def due(obj: Context, days: int, fmt: str, now_text: str | None) -> None:
    """Who to contact today: accounts with something worth sending, sent nothing lately."""
    project = obj.project()
    now = pipeline.resolve_now(project, parse_now(now_text))
    with pipeline.opened_store(project) as store:
        digests = pipeline.digests_for(project, store, project.accounts, now)
        histories = {a.slug: store.history(a.slug) for a in project.accounts}
    from ..digest import due_accounts

    rows = [_due_row(d) for d in due_accounts(digests, histories, now, days)]
    if fmt == "json":
        print_json(rows)
        return
    if not rows:
        click.echo(
            f"nobody is due: every account with news worth sending heard from us in {days} days"
        )
    for r in rows:
        last = r["last_sent"] or "never"
        top = r["top"]
        lines = [
            f"{r['account']}  ({r['items']} items; last sent {last})",
            top["title"],
            top["url"],
        ]
        out.print(plain("\n  ".join(lines)))
        for reason in top["why"]:
            out.print(plain(f"    - {reason}"))


@click.command()
@click.argument("account")
@format_option
@click.pass_obj
@handle_errors
def history(obj: Context, account: str, fmt: str) -> None:
    """What ACCOUNT was sent, newest first."""
    project = obj.project()
    pipeline.select_accounts(project, [account], False)
    with pipeline.opened_store(project) as store:
        records = store.history(account)
    rows = [
        {"url": r.url, "title": r.title, "sent_at": iso(r.sent_at), "format": r.format}
        for r in records
    ]
    if fmt == "json":
        print_json(rows)
        return
    if not rows:
        click.echo(f"nothing was sent to {account} yet")
    for r in rows:
        out.print(plain(f"{r['sent_at']}  {r['format']:<5} {r['title']}\n{'':22}{r['url']}"))
