"""What a run ranked, kept on disk: the incremental manifest and the summaries of shards.

Both hold, per account, an :class:`AccountRecord` as JSON: the key of the account's inputs, its
digest (picks and notes by reference: item ids, note slugs), its newsworthy candidates, the
files it wrote with their SHA-256 and what they carried. That is everything the newsletter and
the site need, so an unchanged account is neither ranked nor rendered again, and ``kb build
--assemble`` builds the newsletter and site from the shards' summaries without ranking any
account (the issue's few printed stories are worded for their first account then: see
:data:`generator.newsletter.Reasons`).

Both are written and read one account at a time, never whole (at 10,000 accounts the records
come to gigabytes of JSON): the manifest is an SQLite file (:class:`Manifest`,
:class:`ManifestWriter`: a row per account, its record zlib-compressed, with the key, files and
sends beside it to decide reuse without decoding it); a shard's summary is JSON lines (a head
line, then ``[slug, record]`` per account in project order), which the assembly merges.

Keys are SHA-256 over the inputs' text: the stored items, every project file a digest reads
(settings, feeds, topics, notes, the account, templates), what was sent before ``now``, ``now``
itself and kb's own code. Anything else changed means a different key, so a stale output is
never kept; a file changed or deleted by hand is noticed by its hash.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import tempfile
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from . import __version__
from .exceptions import KbError
from .models import Account, Digest, Item, NotePick, Pick, Project, SentRecord
from .newsletter import NewsCandidate
from .outputs import current_umask
from .relevance.notes import note_id, note_item

FORMAT = 2
"""The layout of these files; a file of another layout is ignored (manifest) or refused (shard)."""


Sent = tuple[tuple[str, tuple[str, ...]], ...]
"""(format, ids of the items that file carried) per file: what a run records as sent."""


@dataclass(frozen=True)
class AccountRecord:
    """One account's share of a run, as kept between runs or handed from a shard."""

    key: str
    digest: Digest
    news: tuple[NewsCandidate, ...]
    files: tuple[tuple[str, str], ...]
    """(path relative to the project, SHA-256 of its bytes) of every file written."""
    sent: Sent
    stored: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)
    """The JSON it was read from, written back as it is (a reused account costs no encoding)."""
    packed: bytes | None = field(default=None, compare=False, repr=False)
    """Its manifest row's compressed JSON, when it was read from one: copied, not re-encoded."""

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
    """The run's one copy of each stored item, account and note, by id: records read back (the
    manifest, shards' summaries) are rebuilt against them, and records a worker hands back get
    them in place of the worker's copies (a run of 10,000 accounts keeps every digest for the
    site, and each holding copies would hold the store many times over)."""

    def __init__(self, project: Project, items: Sequence[Item]) -> None:
        self.items = {i.id: i for i in items}
        self.accounts = {a.slug: a for a in project.accounts}
        self.notes = {n.slug: n for n in project.notes}

    def shared_item(self, item: Item) -> Item:
        return self.items.get(item.id, item)

    def shared_digest(self, digest: Digest) -> Digest:
        account = self.accounts.get(digest.account.slug, digest.account)
        person = digest.stakeholder
        if person is not None:
            person = account.stakeholder(person.name) or person
        return replace(
            digest,
            account=account,
            stakeholder=person,
            picks=tuple(replace(p, item=self.shared_item(p.item)) for p in digest.picks),
            notes=tuple(replace(n, note=self.notes.get(n.note.slug, n.note)) for n in digest.notes),
        )

    def _item(self, item_id: str, where: str) -> Item:
        item = self.items.get(item_id)
        if item is None:
            raise KbError(f"{where}: item {item_id} is not in the store (another store?)")
        return item

    def record(self, slug: str, data: Mapping[str, Any], where: str) -> AccountRecord:
        """The account's record, or a :class:`KbError` naming ``where`` it came from (the
        file, or its ``path:line``)."""
        try:
            return self._record(slug, data, where)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise KbError(f"{where}: not a summary this kb wrote ({type(e).__name__}: {e})") from e

    def _record(self, slug: str, data: Mapping[str, Any], where: str) -> AccountRecord:
        account = self.accounts.get(slug)
        if account is None:
            raise KbError(f"{where}: account '{slug}' is not in the project")
        person = account.stakeholder(data["stakeholder"]) if data["stakeholder"] else None
        picks = tuple(
            Pick(
                self._item(p["item"], where), **{k: _tuples(v) for k, v in p.items() if k != "item"}
            )
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
        item = self._item  # hundreds of candidates per account: spelled out, not generic
        news = tuple(
            NewsCandidate(item(c["item"], where), c["score"], c["topic"]) for c in data["news"]
        )
        files = tuple((str(name), str(sha)) for name, sha in data["files"])
        sent = tuple((str(fmt), tuple(ids)) for fmt, ids in data["sent"])
        return AccountRecord(data["key"], digest, news, files, sent, data)


# --- shard summaries: one JSON line per account ------------------------------------------


def record_line(record: AccountRecord) -> bytes:
    """One account of a shard's summary: ``[slug, record]`` on a line of its own."""
    line = json.dumps([record.slug, record_json(record)], ensure_ascii=False, sort_keys=True)
    return line.encode("utf-8") + b"\n"


def head_line(head: Mapping[str, Any]) -> bytes:
    """The first line of a shard's summary: the layout and what the shard was made of."""
    return json.dumps({"format": FORMAT, **head}, sort_keys=True).encode("utf-8") + b"\n"


def read_head(path: Path, lines: Iterator[str]) -> dict[str, Any]:
    """The summary's first line, or a :class:`KbError` saying it is not one this kb wrote."""
    try:
        head = json.loads(next(lines))
    except (StopIteration, ValueError):
        head = None
    if not isinstance(head, dict) or head.get("format") != FORMAT:
        raise KbError(f"{path}:1: not a shard summary this kb wrote (or of another version)")
    return head


def read_lines(path: Path, lines: Iterator[str]) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """(line number, slug, record data) of every account line after the head."""
    for number, line in enumerate(lines, start=2):
        try:
            slug, data = json.loads(line)
            if not isinstance(slug, str) or not isinstance(data, dict):
                raise ValueError("not [slug, record]")
        except (ValueError, TypeError) as e:
            raise KbError(f"{path}:{number}: not a summary line this kb wrote ({e})") from e
        yield number, slug, data


# --- the manifest: SQLite, read and written a row at a time ---------------------------------

MANIFEST = "build-manifest.sqlite"
OLD_MANIFEST = "build-manifest.json"
"""The JSON manifest of earlier versions: ignored, removed after the next successful build."""

SCHEMA = """
CREATE TABLE head (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE accounts (
    slug TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    files TEXT NOT NULL,
    sent TEXT NOT NULL,
    sha TEXT NOT NULL,
    record BLOB NOT NULL
);
"""
"""``files`` and ``sent`` (JSON) decide reuse without decoding the record; ``record`` is the
zlib-compressed JSON of :func:`record_json`, ``sha`` its SHA-256 (a damaged row is not reused)."""


def manifest_path(project: Project) -> Path:
    return project.state_dir / MANIFEST


def _pack(record: AccountRecord) -> bytes:
    text = json.dumps(record_json(record), ensure_ascii=False, sort_keys=True)
    return zlib.compress(text.encode("utf-8"), 1)  # level 1: most of the gain, a third the time


class Manifest:
    """The last full build, read a row at a time (never the whole file): its run key, its site
    key, and every account's record. A file that cannot be read is as good as none (every
    account is built again); :attr:`problem` says why, for a warning."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.run = self.site = self.site_files = self.problem = ""
        self.accounts = -1
        """How many accounts it holds (-1: none read)."""
        self._db: sqlite3.Connection | None = None
        if not path.exists():
            return
        try:
            db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        except sqlite3.Error as e:
            self.problem = str(e)
            return
        try:
            head = dict(db.execute("SELECT name, value FROM head"))
            if head.get("format") != str(FORMAT):
                db.close()
                return
            self.accounts = int(db.execute("SELECT count(*) FROM accounts").fetchone()[0])
        except (sqlite3.Error, ValueError) as e:
            db.close()
            self.problem = str(e)
            return
        self._db = db
        self.run, self.site = head.get("run", ""), head.get("site", "")
        self.site_files = head.get("site_files", "")

    def reusable(self, slug: str, key: str, root: Path) -> Sent | None:
        """What the account's files carried, when its stored key matches ``key``, its row reads
        back intact and its files are still there with the bytes it wrote; else None."""
        if self._db is None:
            return None
        try:
            row = self._db.execute(
                "SELECT key, files, sent, sha, record FROM accounts WHERE slug = ?", (slug,)
            ).fetchone()
            if row is None or row[0] != key:
                return None
            if file_sha(row[4]) != row[3]:
                raise ValueError(f"account {slug}: its record does not match its hash")
            files = [(str(n), str(s)) for n, s in json.loads(row[1])]
            sent = tuple((str(fmt), tuple(map(str, ids))) for fmt, ids in json.loads(row[2]))
        except (sqlite3.Error, ValueError, TypeError) as e:
            self.problem = self.problem or str(e)
            return None
        return sent if files_intact(root, files) else None

    def record(self, reader: RecordReader, slug: str) -> AccountRecord:
        """A reusable account's whole record (its blob kept, to be written back as it is)."""
        assert self._db is not None, "only accounts found reusable are read"
        try:
            row = self._db.execute("SELECT record FROM accounts WHERE slug = ?", (slug,)).fetchone()
            blob = row[0]
            data = json.loads(zlib.decompress(blob))
        except (sqlite3.Error, zlib.error, ValueError, TypeError) as e:
            raise KbError(
                f"{self.path}: account {slug} no longer reads ({e}): was it changed during the"
                " build? Delete it and build again"
            ) from e
        return replace(reader.record(slug, data, str(self.path)), packed=blob)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


class ManifestWriter:
    """The next manifest, written a record at a time as accounts arrive, in a temporary file
    beside the manifest; :meth:`commit` renames it over the old one (atomic: a killed run
    leaves the previous manifest), :meth:`discard` drops it. Temporary files a killed run left
    are removed when the next one starts (the project lock says no other run is writing)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with self._writing():
            path.parent.mkdir(parents=True, exist_ok=True)
            for leftover in path.parent.glob(f".{path.name}.*.tmp"):
                leftover.unlink(missing_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            os.close(fd)
            self.tmp = Path(tmp)
            self._db = sqlite3.connect(tmp, isolation_level=None)
            self._db.execute("PRAGMA journal_mode = OFF")  # a temporary file: no rolling back
            self._db.execute("BEGIN")  # (executescript would commit: one statement at a time)
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)

    def add(self, record: AccountRecord) -> None:
        blob = record.packed if record.packed is not None else _pack(record)
        with self._writing():
            self._insert(record, blob)

    def _insert(self, record: AccountRecord, blob: bytes) -> None:
        self._db.execute(
            "INSERT INTO accounts (slug, key, files, sent, sha, record) VALUES (?, ?, ?, ?, ?, ?)",
            (
                record.slug,
                record.key,
                json.dumps(record.files),
                json.dumps(record.sent),
                file_sha(blob),
                blob,
            ),
        )

    def commit(self, head: Mapping[str, str]) -> None:
        rows = [("format", str(FORMAT)), *head.items()]
        with self._writing():
            self._db.executemany("INSERT INTO head (name, value) VALUES (?, ?)", rows)
            self._db.execute("COMMIT")
            self._db.close()
            with open(self.tmp, "rb+") as handle:  # on disk before it takes the manifest's name
                os.fsync(handle.fileno())
            os.chmod(self.tmp, 0o666 & ~current_umask())
            os.replace(self.tmp, self.path)
            (self.path.parent / OLD_MANIFEST).unlink(missing_ok=True)

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """A full disk or a read-only state folder is the user's to fix: said, not a traceback."""
        try:
            yield
        except (sqlite3.Error, OSError) as e:
            raise KbError(f"{self.path}: could not write the build manifest: {e}") from e

    def discard(self) -> None:
        """Drop the temporary file (nothing to do once committed)."""
        self._db.close()
        self.tmp.unlink(missing_ok=True)
