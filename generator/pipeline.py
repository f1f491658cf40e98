"""Wiring only: runs the stages in order for the CLI (and the site plugin).

check -> fetch -> rank -> render -> write. Everything is read and validated before anything is
written; outputs are rendered in memory, then written atomically; what was sent is recorded
only after the files are in place.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, closing, contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from email.utils import parseaddr
from pathlib import Path
from typing import TYPE_CHECKING

from . import folders
from .archive import archive_path, archive_text, load_archive
from .batch import (
    AccountRun,
    OutFile,
    RunSpec,
    digest_path,
    embed_texts,
    run_accounts,
    run_texts,
    stored_corpus,
    used_texts,
)
from .batch import refresh_snapshot as refresh_snapshot  # for the CLI: kb fetch calls it
from .config import load_project
from .digest import candidates_for, make_digest, story_reasons
from .digest import corpus_of as _corpus
from .exceptions import ConfigErrors, StoreError, UsageError
from .lazy import lazy_module
from .models import (
    Account,
    ArchivedIssue,
    Digest,
    FeedState,
    Item,
    Project,
    SentRecord,
    Stakeholder,
)
from .newsletter import (
    Newsletter,
    Reasons,
    earlier_urls,
    make_newsletter,
    newsworthy,
    ranking_moment,
    week_bounds,
    week_of,
)
from .outputs import Writer
from .relevance import Candidate, Corpus
from .render import (
    check_templates,
    make_environment,
    newsletter_html,
    render_newsletter,
)
from .runstate import (
    AccountRecord,
    Manifest,
    RecordReader,
    Sent,
    account_key,
    file_sha,
    sendable,
)
from .store import Store, open_for_reading, open_store

if TYPE_CHECKING:  # the fetching and site stacks (httpx, MkDocs) are imported when used
    from . import delivery
    from .delivery import Credentials, Failure, Outgoing
    from .ingest import FetchReport, Progress
    from .site.pages import SiteLinks
    from .store import StoreLocation
else:  # SMTP and TLS only for sending the newsletter
    delivery = lazy_module("generator.delivery")


def open_project(root: Path, only: Sequence[str] | None = None) -> Project:
    """Load and validate the project files and the project's templates, reporting all at once
    (``only``: just these accounts' files, see :func:`generator.config.load_project`)."""
    template_errors = check_templates(root / "templates")
    try:
        project = load_project(root, only)
    except ConfigErrors as e:
        raise ConfigErrors([*e.errors, *template_errors]) from None
    if template_errors:
        raise ConfigErrors(template_errors)
    return project


def with_store(project: Project, url: str | None) -> Project:
    """The project with its store URL overridden (``--store``, ``KB_STORE``), if one is given."""
    if not url:
        return project
    return replace(project, settings=replace(project.settings, store=url))


def store_location(project: Project) -> StoreLocation:
    """Where the project's store is: its URL setting, else SQLite in the state folder."""
    from .store.location import parse_location, shown_url, sqlite_location  # SQLAlchemy's URL

    url = project.settings.store
    if not url:
        return sqlite_location(project.state_dir / "kb.sqlite")
    try:
        return parse_location(url, project.root)
    except ValueError as e:
        raise StoreError(f"store {shown_url(url)}: {e}") from None


def project_lock(project: Project) -> AbstractContextManager[None]:
    """The lock every command that writes (the store, outputs, the site) holds while it runs."""
    return folders.project_lock(project.state_dir)


def output_writer(project: Project) -> Writer:
    """A writer that marks the project's output folder as kb's when it first writes there."""
    return Writer(project.out_dir)


def store_for(project: Project) -> Store:
    return open_store(store_location(project))


@contextmanager
def opened_store(project: Project, *, reading: bool = False) -> Iterator[Store]:
    """``reading``: for a run that mostly reads (a digest on demand), the state folder's SQLite
    store read without SQLAlchemy (see :mod:`.store.reads`); a configured store is opened as
    usual."""
    reader = reading and not project.settings.store
    store = open_for_reading(project.state_dir) if reader else store_for(project)
    try:
        yield store
    finally:
        store.close()


def resolve_now(project: Project, override: datetime | None) -> datetime:
    """``--now`` first, then the project's pinned ``now`` (kb.yml), then the clock."""
    chosen = override or project.settings.now
    if chosen is not None:
        return chosen
    from .ingest import wall_clock

    return wall_clock()


def fetch(
    project: Project,
    store: Store,
    *,
    only: Sequence[str] = (),
    force: bool = False,
    progress: Progress | None = None,
) -> list[FetchReport]:
    unknown = [name for name in only if project.feed(name) is None]
    if unknown:
        raise UsageError(f"no such feed: {', '.join(unknown)}")
    feeds = [f for f in project.feeds if not only or f.name in only]
    from .ingest import fetch_feeds

    return fetch_feeds(
        feeds, store, project.feeds_dir, project.settings.fetch, force=force, progress=progress
    )


def embed_stored(store: Store, items: Sequence[Item]) -> int:
    """Give each of the stored ``items`` its sentence vector, once (``kb build``, after its
    fetch; ``kb fetch`` embeds while refreshing the snapshot); return how many were embedded.
    Items that have one cost a look-up, not an encoder run."""
    from .relevance.semantic import Encoder, embed_missing

    return embed_missing(store, Encoder.load(), items)


def embed_team_texts(project: Project, store: Store) -> int:
    """Give every account text (problems, fields) and note its vector, once ever (at ingest:
    ``kb fetch``), so the next build's digests only read them; return how many were embedded."""
    return embed_texts(project, store, run_texts(project, project.accounts))


def prune_texts(project: Project, store: Store) -> tuple[int, int]:
    """Drop the stored vectors of texts no account, stakeholder or note of the project uses any
    more, and the judgements of account texts no account has or of an earlier judge (``kb
    prune``); return how many rows of each went."""
    from .relevance.judge import Judge, reads
    from .relevance.semantic import text_hash

    vectors = store.prune_text_vectors({text_hash(t) for t in used_texts(project)})
    said = {text_hash(reads(a.industry, a.problems)) for a in project.accounts}
    return vectors, store.prune_judgements(said, Judge.load().model_id)


def in_shard(slug: str, shard: tuple[int, int]) -> bool:
    """Whether ``slug`` belongs to share ``index`` of ``count`` (1-based).

    A stable hash of the slug, not list position, so adding an account never moves the others
    to another runner of a CI matrix.
    """
    index, count = shard
    return int(hashlib.sha256(slug.encode("utf-8")).hexdigest()[:12], 16) % count == index - 1


def select_accounts(
    project: Project, slugs: Sequence[str], everyone: bool, shard: tuple[int, int] = (1, 1)
) -> list[Account]:
    if everyone:
        return [a for a in project.accounts if in_shard(a.slug, shard)]
    slugs = list(dict.fromkeys(slugs))
    if not slugs:
        raise UsageError("name at least one account, or use --all")
    unknown = [s for s in slugs if project.account(s) is None]
    if unknown:
        known = ", ".join(a.slug for a in project.accounts) or "none"
        raise UsageError(f"unknown account: {', '.join(unknown)} (accounts: {known})")
    return [a for s in slugs if (a := project.account(s)) is not None]


@dataclass(frozen=True)
class Ranking:
    """Every account's candidates at one moment, over one set of items: ranked once per run and
    shared by the digests and the newsletter."""

    now: datetime
    items: Sequence[Item]
    corpus: Corpus
    candidates: Mapping[str, Sequence[Candidate]]


def rank_accounts(
    project: Project,
    accounts: Sequence[Account],
    items: Sequence[Item],
    now: datetime,
    *,
    store: Store | None = None,
) -> Ranking:
    """Every account ranked once against one corpus (the items' vectors from ``store``, or
    embedded here when there is none)."""
    corpus = corpus_of(project, store, items) if store is not None else _corpus(project, items)
    return Ranking(
        now,
        items,
        corpus,
        {a.slug: candidates_for(project, a, items, now, corpus=corpus) for a in accounts},
    )


def digest_for(
    project: Project,
    store: Store,
    account: Account,
    now: datetime,
    *,
    items: Sequence[Item] | None = None,
    stakeholder: Stakeholder | None = None,
    include_sent: bool = False,
    corpus: Corpus | None = None,
    candidates: Sequence[Candidate] | None = None,
) -> Digest:
    """One account's digest. Pass the run's ``corpus`` (see :func:`corpus_of`) when ranking
    many accounts, so the items' text is analyzed once, not once per account."""
    history = () if include_sent else store.history(account.slug)
    items = store.items() if items is None else items
    return make_digest(
        project,
        account,
        items,
        now,
        history=history,
        stakeholder=stakeholder,
        corpus=corpus or corpus_of(project, store, items),
        candidates=candidates,
    )


def stakeholder_of(account: Account, name: str | None) -> Stakeholder | None:
    """``--for NAME``: the account's stakeholder of that name, or a usage error listing them."""
    if not name:
        return None
    person = account.stakeholder(name)
    if person is None:
        names = ", ".join(p.name for p in account.stakeholders) or "none"
        raise UsageError(f"{account.slug} has no stakeholder '{name}' (stakeholders: {names})")
    return person


def digests_for(
    project: Project,
    store: Store,
    accounts: Sequence[Account],
    now: datetime,
    *,
    for_person: str | None = None,
    include_sent: bool = False,
    items: Sequence[Item] | None = None,
    ranking: Ranking | None = None,
) -> list[Digest]:
    """Every account's digest, ranking against one shared corpus of the stored items, or
    reusing the run's ``ranking`` (made at ``now``) when there is one and no ``for_person``."""
    if ranking is not None and ranking.now == now and not for_person:
        items, corpus, ranked = ranking.items, ranking.corpus, ranking.candidates
    else:
        items = store.items() if items is None else items
        corpus, ranked = corpus_of(project, store, items), {}
    return [
        digest_for(
            project,
            store,
            account,
            now,
            items=items,
            stakeholder=stakeholder_of(account, for_person),
            include_sent=include_sent,
            corpus=corpus,
            candidates=ranked.get(account.slug),
        )
        for account in accounts
    ]


def corpus_of(project: Project, store: Store, items: Sequence[Item]) -> Corpus:
    """The ranking statistics and vectors of the stored items, built once per run and shared
    by accounts (see :func:`generator.batch.stored_corpus`)."""
    return stored_corpus(project, store, items)


@dataclass(frozen=True)
class SentFirst:
    """Items a digest carried that another run had already recorded as sent to the account."""

    account: str
    path: Path
    items: tuple[Item, ...]


def write_digests(
    store: Store, files: Sequence[OutFile], writer: Writer, record: bool
) -> list[SentFirst]:
    """Write every file first; only then record as sent what each file carried.

    A call sheet records nothing (it is the rep's own); a note records the one item it links.
    Returns, per file, the items another run recorded first (the first to record wins, see
    :mod:`generator.store`): they are not in this run's history, and the rep should know.
    """
    written = [f for f in files if not f.skipped]
    writer.write_all([(f.path, f.text) for f in written])
    return record_sends(store, written) if record else []


def record_sends(store: Store, files: Sequence[OutFile]) -> list[SentFirst]:
    """Record what each written file carried; return what another run had recorded first."""
    lost: list[SentFirst] = []
    for f in files:
        if f.items:
            missed = _record_sent(store, f.account, f.items, f.at, f.fmt)
            if missed:
                lost.append(SentFirst(f.account, f.path, missed))
    return lost


def _record_sent(
    store: Store, account: str, items: Sequence[Item], at: datetime, fmt: str
) -> tuple[Item, ...]:
    """Record ``items`` as sent; return those another run recorded first (the first wins)."""
    recorded = set(store.record_sent(account, list(items), at, fmt))
    return tuple(item for item in items if item.id not in recorded)


@dataclass(frozen=True)
class DigestRun:
    """What a run did for its accounts: every account's digest and key (in account order), how
    many it ranked and rendered now, and the formats that had nothing to say. The rest of each
    account's record (its news, files, reasons) went to the run's ``keep`` as it arrived."""

    digests: tuple[Digest, ...]
    keys: tuple[str, ...]
    rendered: int
    files: int
    skipped: tuple[str, ...]
    seconds: tuple[float, float] = (0.0, 0.0)
    """Ranking and rendering time, summed over accounts (and so over workers)."""
    lost: tuple[SentFirst, ...] = ()
    """Items another run had recorded as sent first (see :func:`record_sends`)."""


Keep = Callable[[AccountRecord], None]
"""Where a run hands each account's record, in account order (the newsletter's tally, the
manifest, a shard's summary), so that the run itself need not hold them."""


def _record(run: AccountRun, key: str, root: Path, shared: RecordReader) -> AccountRecord:
    """An account's record as a worker handed it back, with the run's own objects in place of
    the worker's copies (the items, the account, the notes: see :class:`RecordReader`)."""
    written = [f for f in run.files if not f.skipped]
    return AccountRecord(
        key,
        shared.shared_digest(run.digest),
        tuple(replace(n, item=shared.shared_item(n.item)) for n in run.news),
        tuple((os.path.relpath(f.path, root), file_sha(f.text)) for f in written),
        tuple((f.fmt, tuple(i.id for i in f.items)) for f in written if f.items),
    )


def _unrecorded(
    sent: Sequence[tuple[str, Sequence[str]]], history: Sequence[SentRecord], now: datetime
) -> bool:
    """Whether the store lacks a send a record made at ``now`` (a store restored from an older
    copy, say): the record's files are fine, but the ledger needs them again."""
    have = {(r.format, r.item_id) for r in history if r.sent_at == now}
    return any((fmt, i) not in have for fmt, ids in sent for i in ids)


def run_digests(
    spec: RunSpec,
    store: Store,
    accounts: Sequence[Account],
    writer: Writer,
    keep: Keep,
    *,
    run: str,
    items: Sequence[Item],
    jobs: int | None = None,
    manifest: Manifest | None = None,
) -> DigestRun:
    """Rank, render and write every account whose inputs changed since ``manifest``; reuse the
    others' records. Every account's record goes to ``keep`` in
    account order, reused and freshly ranked ones merged, and is let go: the run holds each
    account's digest and key, not its candidates. Files are written chunk by chunk as the
    workers hand them back; what they carried is recorded as sent only once every file is in
    place, so a run killed half-way records nothing and can be re-run.
    """
    root = spec.project.root
    keys: list[str] = []
    reused: set[str] = set()
    again: set[str] = set()
    for account in accounts:
        history = store.history(account.slug) if spec.record else ()
        keys.append(account_key(run, account, history, spec.now))
        sent = manifest.reusable(account.slug, keys[-1], root) if manifest else None
        if sent is not None:
            reused.add(account.slug)
            if _unrecorded(sent, history, spec.now):
                again.add(account.slug)
    stale = [a for a in accounts if a.slug not in reused]
    skipped: list[str] = []
    rank = render = 0.0
    digests: list[Digest] = []
    sends: list[tuple[Digest, Sent]] = []
    files = 0
    reader = RecordReader(spec.project, items)
    with closing(_ranked(spec, stale, store, writer, jobs)) as fresh:
        for account, key in zip(accounts, keys, strict=True):
            if account.slug in reused:
                assert manifest is not None
                record = manifest.record(reader, account.slug)
            else:
                r = next(fresh)
                rank, render = rank + r.seconds[0], render + r.seconds[1]
                skipped += [f.skipped for f in r.files if f.skipped]
                record = _record(r, key, root, reader)
            if account.slug not in reused or account.slug in again:
                sends.append((record.digest, record.sent))
            keep(record)
            digests.append(record.digest)
            files += len(record.files)
    lost: list[SentFirst] = []
    if spec.record:
        by_id = sendable(spec.project, items)
        for digest, sent in sends:
            for fmt, ids in sent:
                carried = [by_id[i] for i in ids]
                missed = _record_sent(store, digest.account.slug, carried, spec.now, fmt)
                if missed:
                    path = digest_path(spec.out_dir, digest, fmt)
                    lost.append(SentFirst(digest.account.slug, path, missed))
    return DigestRun(
        tuple(digests), tuple(keys), len(stale), files, tuple(skipped), (rank, render), tuple(lost)
    )


def _ranked(
    spec: RunSpec, accounts: Sequence[Account], store: Store, writer: Writer, jobs: int | None
) -> Generator[AccountRun]:
    """``accounts`` ranked and rendered, in order, each chunk's files written as it arrives
    (memory holds a few chunks' files, not the run's)."""
    for chunk in run_accounts(spec, accounts, store, jobs=jobs):
        writer.write_all([(f.path, f.text) for r in chunk for f in r.files if not f.skipped])
        yield from chunk


def newsletter_for(
    project: Project,
    store: Store,
    week: str | None,
    now: datetime,
    *,
    items: Sequence[Item] | None = None,
    ranking: Ranking | None = None,
) -> Newsletter:
    """The issue of ``week`` (default: this week's), from the run's ``ranking`` when it was made
    at the moment this week's issue is ranked at (see :func:`ranking_moment`); ranked here
    otherwise. (``kb build`` folds its workers' rankings in as they arrive: :mod:`.weekly`.)"""
    week = week or week_of(now)
    at = ranking_moment(week, now)
    if ranking is None or ranking.now != at:
        stored = store.items() if items is None else items
        ranking = rank_accounts(project, project.accounts, stored, at, store=store)
    threshold = project.settings.ranking.threshold
    start, end = week_bounds(week)
    news = {
        slug: newsworthy(candidates, threshold, start, end)
        for slug, candidates in ranking.candidates.items()
    }
    return make_newsletter(
        project,
        news,
        week,
        ranked_reasons(ranking),
        earlier=earlier_urls(project, week),
        generated_at=now,
    )


def ranked_reasons(ranking: Ranking) -> Reasons:
    """The reasons of the ranking's own candidates (worded when first asked for)."""

    def why(account: Account, item: Item) -> tuple[str, ...]:
        return next(c.why for c in ranking.candidates[account.slug] if c.item.id == item.id)

    return why


def stored_reasons(project: Project, store: Store, items: Sequence[Item]) -> Reasons:
    """Reasons worked out on the corpus of the stored ``items``, made when first asked for:
    mapped from the snapshot the run's workers used when it holds the item, else built from
    ``items`` (a build's main process ranks no account; an issue's few stories need this)."""
    made: tuple[Corpus, Reasons] | None = None

    def why(account: Account, item: Item) -> tuple[str, ...]:
        nonlocal made
        if made is None or item.id not in made[0].position:
            corpus = stored_corpus(project, store)
            if item.id not in corpus.position:
                corpus = stored_corpus(project, store, items)
            made = corpus, story_reasons(project, corpus)
        return made[1](account, item)

    return why


@dataclass(frozen=True)
class IssueOutcome:
    """What became of a week's issue: the files written, or why none were."""

    written: tuple[Path, ...] = ()
    skipped: str = ""
    kept: str = ""


def issue_files(project: Project, newsletter: Newsletter, out_dir: Path) -> list[tuple[Path, str]]:
    """The issue in memory: ``OUT/W.md``, ``OUT/W.html`` and its archive entry."""
    rendered = render_newsletter(project, newsletter)
    archive = archive_text(
        week=newsletter.week,
        title=rendered["subject"],
        generated_at=newsletter.generated_at or newsletter.end,
        start=newsletter.start.date(),
        end=newsletter.end.date(),
        items=[(s.item.url, s.item.title) for s in newsletter.stories],
        notes=[n.slug for n in newsletter.notes],
        body=rendered["md"],
    )
    return [
        (out_dir / f"{newsletter.week}.md", rendered["md"]),
        (out_dir / f"{newsletter.week}.html", rendered["html"]),
        (archive_path(project.root, newsletter.week), archive),
    ]


def write_newsletter(
    project: Project,
    store: Store,
    newsletter: Newsletter,
    out_dir: Path,
    writer: Writer,
    *,
    force: bool = False,
) -> IssueOutcome:
    """Write the issue and its archive entry, unless the value gate says there is nothing worth
    sending (``force`` overrides it). The archive entry of a week already sent to anyone is kept
    as it is: it is the record of what went out."""
    week = newsletter.week
    if newsletter.is_empty and not force:
        return IssueOutcome(
            skipped=f"newsletter {week}: nothing worth sending (no story cleared the relevance"
            " bar and the team wrote no note); nothing written (--force writes it anyway)"
        )
    files = issue_files(project, newsletter, out_dir)
    kept = ""
    if store.newsletter_sent(week):
        files = files[:2]
        kept = f"newsletter {week} was already sent: its archive entry is kept as it went out"
    return IssueOutcome(tuple(writer.write_all(files)), kept=kept)


@dataclass(frozen=True)
class SendPlan:
    """What ``kb newsletter --send`` is about to do for one week."""

    issue: ArchivedIssue
    recipients: tuple[str, ...]
    already: tuple[str, ...]
    outgoing: tuple[Outgoing, ...]


def archived_issue(project: Project, week: str) -> ArchivedIssue:
    issue = next((i for i in project.newsletters if i.week == week), None)
    if issue is None:
        raise UsageError(
            f"no archived issue for {week} ({archive_path(project.root, week)}):"
            f" build it first with `kb newsletter --week {week}`"
        )
    return issue


def plan_send(
    project: Project, store: Store, week: str, now: datetime, *, resend: bool = False
) -> SendPlan:
    """Read the archived issue and the recipients, and build each message still to be sent."""
    settings = project.settings.newsletter
    if not settings.delivery:
        raise UsageError(
            "newsletter delivery is not set up: add 'from', 'recipients' (or 'recipients_file'),"
            " 'smtp' and 'unsubscribe' under 'newsletter:' in kb.yml"
        )
    issue = archived_issue(project, week)
    recipients = list(settings.recipients)
    if settings.recipients_file is not None:
        recipients += delivery.read_recipients(project.root / settings.recipients_file)
    sent = store.newsletter_sent(week)
    chosen = delivery.to_send(recipients, sent, resend)
    env = make_environment(project.templates_dir)
    team = project.settings.team
    html = newsletter_html(env, issue.body, {"subject": issue.title, "team": team, "week": week})
    messages = []
    for recipient in chosen:
        msg_id = delivery.message_id(week, recipient, settings.sender, now if resend else None)
        message = delivery.build_message(
            issue=issue, html=html, settings=settings, team=team, recipient=recipient,
            msg_id=msg_id, now=now,
        )  # fmt: skip
        messages.append(
            delivery.outgoing(message, parseaddr(settings.sender)[1], recipient, msg_id)
        )
    everyone = tuple(dict.fromkeys(r.casefold() for r in recipients))
    return SendPlan(issue, everyone, tuple(r for r in everyone if r in sent), tuple(messages))


def send_newsletter(
    project: Project,
    store: Store,
    plan: SendPlan,
    login: Credentials | None,
    now: datetime,
    sent_one: Callable[[Outgoing], None],
) -> list[Failure]:
    """Send the plan's messages, recording each in the store as soon as the server took it."""

    def record(out: Outgoing) -> None:
        store.record_newsletter_sent(plan.issue.week, out.recipient, out.message_id, now)

    return delivery.send_all(
        plan.outgoing, project.settings.newsletter.smtp, login, record, sent_one
    )


def check_site(project: Project) -> SiteLinks:
    """Fail now, before anything is written, if the site could not be built; return how the
    site addresses its pages (the Atom feeds' links need it)."""
    from .site.build import site_config
    from .site.pages import SiteLinks

    config, _ = site_config(project)
    return SiteLinks(config.site_url or "", bool(config.use_directory_urls))


def build_site(
    project: Project,
    now: datetime,
    *,
    states: Sequence[FeedState],
    items: Sequence[Item],
    digests: Sequence[Digest],
    newsletter: Newsletter,
    links: SiteLinks | None = None,
) -> Path:
    """Run MkDocs on the project's ``mkdocs.yml`` with the pages of this run's digests.

    The pages are also left in the state folder, so a plain ``mkdocs build`` or ``mkdocs
    serve`` shows the same site without ranking again.
    """
    from .site.build import build_site as mkdocs_build
    from .site.manifest import manifest_path, write_manifest
    from .site.pages import site_pages

    pages = site_pages(
        project,
        items,
        digests,
        newsletter,
        now,
        states=states,
        archive=load_archive(project.root, []),  # read again: this run may have added its issue
        links=links or check_site(project),
    )
    write_manifest(manifest_path(project.state_dir), pages)
    return mkdocs_build(project, now, pages)
