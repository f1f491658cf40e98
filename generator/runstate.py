"""What a run ranked, kept as JSON: the incremental manifest and the summaries of shards.

Both hold, per account, an :class:`AccountRecord`: the key of the account's inputs, its digest
(picks and notes by reference: item ids, note slugs), its newsworthy candidates, the files it
wrote with their SHA-256 and what they carried. That is everything the newsletter and the site
need, so an unchanged account is neither ranked nor rendered again, and ``kb build --assemble``
builds the newsletter and site from the shards' summaries without ranking anything.

Keys are SHA-256 over the inputs' text: the stored items, every project file a digest reads
(settings, feeds, topics, notes, the account, templates), what was sent before ``now``, ``now``
itself and kb's own code. Anything else changed means a different key, so a stale output is
never kept; a file changed or deleted by hand is noticed by its hash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from . import __version__
from .exceptions import KbError
from .models import Account, Digest, Item, NotePick, Pick, Project, SentRecord
from .newsletter import NewsCandidate
from .outputs import atomic_write
from .relevance.notes import note_id, note_item

FORMAT = 1
"""The layout of these files; a file of another layout is ignored (manifest) or refused (shard)."""


@dataclass(frozen=True)
class AccountRecord:
    """One account's share of a run, as kept between runs or handed from a shard."""

    key: str
    digest: Digest
    news: tuple[NewsCandidate, ...]
    files: tuple[tuple[str, str], ...]
    """(path relative to the project, SHA-256 of its bytes) of every file written."""
    sent: tuple[tuple[str, tuple[str, ...]], ...]
    """(format, ids of the items that file carried): what the run records as sent."""
    stored: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)
    """The JSON it was read from, written back as it is (a reused account costs no encoding)."""

    @property
    def slug(self) -> str:
        return self.digest.account.slug


# --- keys -----------------------------------------------------------------------------------


def _sha(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


def _tree(root: Path, skip: Iterable[Path] = ()) -> str:
    """One hash of every file under ``root`` (paths and bytes), leaving out ``skip``."""
    skipped = {p.resolve() for p in skip}
    parts: list[str | bytes] = []
    if root.is_dir():
        for path in sorted(root.rglob("*")):
            if not path.is_file() or any(p in skipped for p in path.resolve().parents):
                continue
            parts += [path.relative_to(root).as_posix(), path.read_bytes()]
    return _sha(*parts)


def code_key() -> str:
    """kb's own code and default templates: an upgrade renders everything again."""
    with resources.as_file(resources.files("generator")) as package:
        return _sha(__version__, _tree(package, [package / "__pycache__"]))


def run_key(project: Project, items: Sequence[Item], now: datetime, formats: Sequence[str]) -> str:
    """What every account's outputs depend on, the account's own file and history aside."""
    shared = (project.settings, project.feeds, project.topics, project.notes)
    return _sha(
        code_key(),
        now.isoformat(),
        ",".join(formats),
        repr(shared),
        _tree(project.templates_dir),
        repr(items),
    )


def account_key(run: str, account: Account, history: Sequence[SentRecord], now: datetime) -> str:
    """The run's key, this account and what it was sent before ``now`` (later records do not
    change its digest: a re-run at the same ``now`` gives the same one)."""
    before = sorted((r for r in history if r.sent_at < now), key=repr)
    return _sha(run, repr(account), repr(before))


def site_key(project: Project, run: str, accounts: Iterable[str], extra: str = "") -> str:
    """The site's inputs: the run, every account's key, and every file of the project (the
    pages under ``content/``, ``mkdocs.yml``) apart from the outputs and the state."""
    skip = [project.state_dir, project.out_dir, project.site_dir, project.root / ".git"]
    return _sha(run, *accounts, _tree(project.root, skip), extra)


def sendable(project: Project, items: Sequence[Item]) -> dict[str, Item]:
    """What a record's ``sent`` ids name: stored items, and the team's notes (a digest records
    the notes it carries as sent, under ids of their own)."""
    return {**{i.id: i for i in items}, **{note_id(n): note_item(n) for n in project.notes}}


def listing_key(folder: Path) -> str:
    """Every file under ``folder`` by path, size and modification time: a built site that was
    touched since (a file added, edited or deleted) is built again."""
    if not folder.is_dir():
        return ""
    parts = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        stat = path.stat()
        parts.append(f"{path.relative_to(folder).as_posix()}\0{stat.st_size}\0{stat.st_mtime_ns}")
    return _sha(*parts)


def file_sha(data: str | bytes) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def files_intact(root: Path, files: Iterable[tuple[str, str]]) -> bool:
    """Every recorded file is still there with the bytes the run wrote."""
    for name, sha in files:
        path = root / name
        try:
            if file_sha(path.read_bytes()) != sha:
                return False
        except OSError:
            return False
    return True


# --- to and from JSON -----------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _tuples(value: Any) -> Any:
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def _fields(obj: Any, skip: str) -> dict[str, Any]:
    return {f.name: _plain(getattr(obj, f.name)) for f in fields(obj) if f.name != skip}


def record_json(record: AccountRecord) -> Mapping[str, Any]:
    if record.stored is not None:
        return record.stored
    d = record.digest
    return {
        "key": record.key,
        "generated_at": d.generated_at.isoformat(),
        "stakeholder": d.stakeholder.name if d.stakeholder else None,
        "reason": d.reason,
        "picks": [{"item": p.item.id, **_fields(p, "item")} for p in d.picks],
        "notes": [{"note": n.note.slug, **_fields(n, "note")} for n in d.notes],
        "history": [_fields(r, "") for r in d.history],
        "news": [{"item": c.item.id, **_fields(c, "item")} for c in record.news],
        "files": [list(f) for f in record.files],
        "sent": [[fmt, list(ids)] for fmt, ids in record.sent],
    }


class RecordReader:
    """Rebuilds records against the project and the stored items they refer to."""

    def __init__(self, project: Project, items: Sequence[Item], source: Path) -> None:
        self.project, self.source = project, source
        self.items = {i.id: i for i in items}
        self.notes = {n.slug: n for n in project.notes}

    def _item(self, item_id: str) -> Item:
        item = self.items.get(item_id)
        if item is None:
            raise KbError(f"{self.source}: item {item_id} is not in the store (another store?)")
        return item

    def record(self, slug: str, data: Mapping[str, Any]) -> AccountRecord:
        """The account's record, or a :class:`KbError` naming the file it came from."""
        try:
            return self._record(slug, data)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise KbError(
                f"{self.source}: not a summary this kb wrote ({type(e).__name__}: {e})"
            ) from e

    def _record(self, slug: str, data: Mapping[str, Any]) -> AccountRecord:
        account = self.project.account(slug)
        if account is None:
            raise KbError(f"{self.source}: account '{slug}' is not in the project")
        person = account.stakeholder(data["stakeholder"]) if data["stakeholder"] else None
        picks = tuple(
            Pick(self._item(p["item"]), **{k: _tuples(v) for k, v in p.items() if k != "item"})
            for p in data["picks"]
        )
        notes = tuple(
            NotePick(self.notes[n["note"]], **{k: _tuples(v) for k, v in n.items() if k != "note"})
            for n in data["notes"]
        )
        history = tuple(
            SentRecord(**{**r, "sent_at": datetime.fromisoformat(r["sent_at"])})
            for r in data["history"]
        )
        digest = Digest(
            account,
            datetime.fromisoformat(data["generated_at"]),
            picks,
            notes,
            person,
            data["reason"],
            history,
        )
        news = tuple(
            NewsCandidate(
                self._item(c["item"]), **{k: _tuples(v) for k, v in c.items() if k != "item"}
            )
            for c in data["news"]
        )
        files = tuple((str(name), str(sha)) for name, sha in data["files"])
        sent = tuple((str(fmt), tuple(ids)) for fmt, ids in data["sent"])
        return AccountRecord(data["key"], digest, news, files, sent, data)


def read_records(
    project: Project, items: Sequence[Item], source: Path, data: Mapping[str, Any]
) -> dict[str, AccountRecord]:
    reader = RecordReader(project, items, source)
    accounts = data.get("accounts")
    if not isinstance(accounts, dict):
        raise KbError(f"{source}: not a summary this kb wrote (no accounts)")
    return {slug: reader.record(slug, d) for slug, d in accounts.items()}


def load_json(path: Path) -> dict[str, Any] | None:
    """The file's JSON object, or None when there is none or it is of another layout."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    return data


def json_text(head: Mapping[str, Any], records: Iterable[AccountRecord]) -> str:
    body = {"format": FORMAT, **head, "accounts": {r.slug: record_json(r) for r in records}}
    return json.dumps(body, ensure_ascii=False, sort_keys=True)


def write_json(path: Path, head: Mapping[str, Any], records: Iterable[AccountRecord]) -> None:
    atomic_write(path, json_text(head, records))


# --- the manifest ---------------------------------------------------------------------------


def manifest_path(project: Project) -> Path:
    return project.state_dir / "build-manifest.json"


@dataclass(frozen=True)
class Manifest:
    """The last full build: its run key, its site key and every account's record."""

    run: str = ""
    site: str = ""
    accounts: Mapping[str, Mapping[str, Any]] | None = None
    site_files: str = ""
    """:func:`listing_key` of the site folder as the build left it."""

    def reusable(self, slug: str, key: str, root: Path) -> Mapping[str, Any] | None:
        """The account's stored record when its key matches and its files are intact."""
        data = (self.accounts or {}).get(slug)
        if data is None or data.get("key") != key:
            return None
        files = [(str(n), str(s)) for n, s in data.get("files", ())]
        return data if files_intact(root, files) else None


def read_manifest(project: Project) -> Manifest:
    data = load_json(manifest_path(project))
    if data is None:
        return Manifest()
    return Manifest(
        str(data.get("run", "")),
        str(data.get("site", "")),
        data.get("accounts"),
        str(data.get("site_files", "")),
    )
