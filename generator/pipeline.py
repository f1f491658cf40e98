"""Wiring only: runs the stages in order for the CLI (and the site plugin).

check -> fetch -> rank -> render -> write. Everything is read and validated before anything is
written; outputs are rendered in memory, then written atomically; what was sent is recorded
only after the files are in place.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .config import load_project
from .digest import make_digest
from .exceptions import UsageError
from .ingest import FetchReport, Progress, fetch_feeds, wall_clock
from .models import Account, Digest, Item, Project, Stakeholder
from .newsletter import Newsletter, make_newsletter, week_of
from .outputs import Writer
from .render import EXTENSIONS, digest_style, make_environment, render_digest, render_newsletter
from .store import Store, open_store


def open_project(root: Path) -> Project:
    return load_project(root)


def store_for(project: Project) -> Store:
    return open_store(project.state_dir)


def resolve_now(project: Project, override: datetime | None, clock: Callable[[], datetime] = wall_clock) -> datetime:
    """``--now`` first, then the project's pinned ``now`` (kb.yml), then the clock."""
    return override or project.settings.now or clock()


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
    return fetch_feeds(
        feeds, store, project.feeds_dir, project.settings.fetch, force=force, progress=progress
    )


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
    if not slugs:
        raise UsageError("name at least one account, or use --all")
    unknown = [s for s in slugs if project.account(s) is None]
    if unknown:
        known = ", ".join(a.slug for a in project.accounts) or "none"
        raise UsageError(f"unknown account: {', '.join(unknown)} (accounts: {known})")
    return [a for s in slugs if (a := project.account(s)) is not None]


def digest_for(
    project: Project,
    store: Store,
    account: Account,
    now: datetime,
    *,
    items: Sequence[Item] | None = None,
    stakeholder: Stakeholder | None = None,
    include_sent: bool = False,
) -> Digest:
    history = () if include_sent else store.history(account.slug)
    return make_digest(
        project,
        account,
        store.items() if items is None else items,
        now,
        history=history,
        stakeholder=stakeholder,
    )


@dataclass(frozen=True)
class Rendered:
    digest: Digest
    fmt: str
    path: Path
    text: str


def render_digests(
    project: Project, digests: Sequence[Digest], formats: Sequence[str], out_dir: Path
) -> list[Rendered]:
    env = make_environment(project.templates_dir)
    style = digest_style(project)
    rendered: list[Rendered] = []
    for digest in digests:
        day = digest.generated_at.date().isoformat()
        for fmt in formats:
            path = out_dir / digest.account.slug / f"{day}.{EXTENSIONS.get(fmt, fmt)}"
            rendered.append(Rendered(digest, fmt, path, render_digest(env, digest, fmt, style)))
    return rendered


def write_digests(store: Store, rendered: Sequence[Rendered], writer: Writer, record: bool) -> None:
    """Write every file first; only then record the items as sent."""
    for out in rendered:
        writer.write(out.path, out.text)
    if record:
        for out in rendered:
            items = [p.item for p in out.digest.picks]
            store.record_sent(out.digest.account.slug, items, out.digest.generated_at, out.fmt)


def newsletter_for(project: Project, store: Store, week: str | None, now: datetime) -> Newsletter:
    return make_newsletter(project, store.items(), week or week_of(now))


def write_newsletter(project: Project, newsletter: Newsletter, out_dir: Path, writer: Writer) -> list[Path]:
    return [
        writer.write(out_dir / f"{newsletter.week}.{ext}", text)
        for ext, text in render_newsletter(project, newsletter).items()
    ]


def build_site(project: Project, now: datetime) -> Path:
    """Run MkDocs on the project's ``mkdocs.yml``; the ``kb`` plugin adds the generated pages."""
    from .site.build import build_site as mkdocs_build

    return mkdocs_build(project, now)
