"""Load and validate a project's files into :class:`~generator.models.Project`.

All problems in all files are collected in one pass and raised together as
:class:`~generator.exceptions.ConfigErrors`, each as ``path:line: message``.

The files (paths relative to the project root):

- ``kb.yml`` (optional): settings, see :func:`_settings`.
- ``feeds/feeds.yml``: ``feeds:``, a list of ``{name, url, title, topics, weight}``.
- ``content/topics.yml``: ``topics:``, a list of ``{id, title, keywords}``.
- ``content/accounts/<slug>.yml``: one customer account each.
- ``content/notes/<slug>.md``: curated notes, Markdown with YAML front matter.
- ``content/newsletters/YYYY-Www.md``: the newsletter archive, see :mod:`generator.archive`.
- ``content/lexicon.yml`` (optional): the team's own words for the ranker, see :func:`_vocabulary`.

Warnings (``path:line: warning: message``) do not stop a project from loading: they are kept in
:attr:`~generator.models.Project.warnings` for ``kb check`` to print.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
from collections.abc import Collection, Sequence
from dataclasses import asdict
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import filecache, yamlfile
from .addresses import email_problem
from .archive import load_archive
from .exceptions import ConfigError, ConfigErrors
from .folders import folder_problem
from .models import (
    ADHOC_SLUG,
    DIGEST_FORMATS,
    NOTE_KINDS,
    SMTP_SECURITY,
    Account,
    DigestSettings,
    Feed,
    FetchSettings,
    NewsletterSettings,
    Note,
    Project,
    RankingSettings,
    Rep,
    Settings,
    SmtpSettings,
    Stakeholder,
    Topic,
    Vocabulary,
)
from .printable import printable
from .sources.networks import parse_network
from .yamlfile import FRONT_MATTER as FRONT_MATTER  # re-exported: the site reads it too
from .yamlfile import (
    SLUG,
    Checker,
    LineDict,
    LineList,
    describe,
    line_of,
    parse_yaml,
    quote,
    read_text,
)

SETTINGS_FILE = "kb.yml"
FEEDS_FILE = Path("feeds") / "feeds.yml"
TOPICS_FILE = Path("content") / "topics.yml"
ACCOUNTS_DIR = Path("content") / "accounts"
NOTES_DIR = Path("content") / "notes"
LEXICON_FILE = Path("content") / "lexicon.yml"
ACCOUNT_KEYS = (
    "crm_id",
    "name",
    "industry",
    "website",
    "problems",
    "topics",
    "keywords",
    "exclude",
    "stakeholders",
    "rep",
)
"""An account file's fields, in the order ``kb import accounts`` writes them."""


def is_email(text: str) -> bool:
    """A plain address (see :func:`~generator.addresses.email_problem`: the one validator)."""
    return email_problem(text) is None


def load_project(root: Path, only: Sequence[str] | None = None) -> Project:
    """Read every project file; raise :class:`ConfigErrors` listing every problem found.

    ``only``: read just these accounts' files (``kb digest ACCOUNT`` on demand: one file, not
    ten thousand); the other account files are then not validated (``kb check`` does that), but
    their slugs (file names) still count for the notes' ``accounts:``.
    """
    errors: list[ConfigError] = []
    if not (root / FEEDS_FILE).exists() and not (root / "content").is_dir():
        raise ConfigErrors(
            [ConfigError(root, None, "not a Knowledge Broker project (no feeds/ or content/)")]
        )
    links = outside_links(root)
    if links:
        raise ConfigErrors(links)  # before reading anything: a linked file is never quoted
    settings = _settings(root / SETTINGS_FILE, errors)
    topics = _topics(root / TOPICS_FILE, errors)
    topic_ids = [t.id for t in topics]
    state_dir = root / settings.state_dir
    feeds = _feeds(root / FEEDS_FILE, topic_ids, errors, state_dir)
    warnings: list[ConfigError] = []
    folder = root / ACCOUNTS_DIR
    account_files = _account_files(folder)
    accounts = _accounts(folder, account_files, topic_ids, errors, warnings, only)
    slugs = (
        [a.slug for a in accounts]
        if only is None
        else [stem for _, stem in account_files]  # the files' names: unread
    )
    notes = _notes(root / NOTES_DIR, topic_ids, dict.fromkeys(slugs), errors, state_dir)
    newsletters = load_archive(root, errors)
    vocabulary = _vocabulary(root / LEXICON_FILE, errors)
    if errors:
        raise ConfigErrors(errors)
    notices = tuple(str(w) for w in sorted(warnings, key=lambda w: (str(w.path), w.line or 0)))
    return Project(
        root,
        settings,
        feeds,
        topics,
        accounts,
        notes,
        newsletters,
        vocabulary=vocabulary,
        warnings=notices,
    )


LINKED_FOLDERS = ("content", "feeds", "templates")
"""The folders a team edits; a symbolic link in them must stay inside the project, or kb
would read (and quote in its messages, and publish on the site) a file from elsewhere."""


def outside_links(root: Path) -> list[ConfigError]:
    """Every symbolic link under the team's folders that leads outside the project."""
    project = root.resolve()
    found: list[ConfigError] = []
    for name in (SETTINGS_FILE, *LINKED_FOLDERS):
        top = root / name
        for path in [top, *_links(top)]:
            if path.is_symlink() and not path.resolve().is_relative_to(project):
                found.append(
                    ConfigError(
                        path,
                        None,
                        "is a symbolic link to outside the project: refused (kb would read and"
                        " publish that file); copy what you need into the project instead",
                    )
                )
    return found


def _links(top: Path) -> list[Path]:
    """The symbolic links under ``top``, not following them (a linked folder is reported, not
    read). The directory entries say which are links: no file is stat'ed (a team's 10,000
    account files cost a listing, not 10,000 system calls)."""
    if top.is_symlink() or not top.is_dir():
        return []
    found: list[Path] = []
    folders = [str(top)]
    while folders:
        with os.scandir(folders.pop()) as listing:
            entries = sorted(listing, key=lambda e: e.name)
        found.extend(Path(e.path) for e in entries if e.is_symlink())
        folders.extend(e.path for e in reversed(entries) if e.is_dir(follow_symlinks=False))
    return found


def load_settings(root: Path) -> Settings:
    """Only ``kb.yml``: what the site plugin needs to find the state folder, without reading
    every account."""
    errors: list[ConfigError] = []
    settings = _settings(root / SETTINGS_FILE, errors)
    if errors:
        raise ConfigErrors(errors)
    return settings


def _load(path: Path, errors: list[ConfigError], required: bool = True) -> Any:
    if not path.exists():
        if required:
            errors.append(ConfigError(path, None, "file is missing"))
        return None
    text = read_text(path, errors)
    if text is None:
        return None
    value, problems = parse_yaml(text, path)
    errors.extend(problems)
    return value


def _top_list(path: Path, key: str, errors: list[ConfigError]) -> tuple[LineList, Checker]:
    check = Checker(path)
    data = _load(path, errors)
    items = LineList()
    if data is None:
        if path.exists() and not any(e.path == path for e in errors):
            check.error(1, f"file is empty: expected '{key}:' with a list")
    elif isinstance(data, LineDict):
        check.fields(data, [], [key], "the file")
        value = data.get(key)
        if isinstance(value, LineList):
            items = value
        elif value is not None:
            check.error(line_of(data, key), f"'{key}' must be a list, not {describe(value)}")
    else:
        check.error(
            getattr(data, "line", 1), f"expected '{key}:' with a list, not {describe(data)}"
        )
    return items, check


def _unique(check: Checker, seen: dict[str, int], value: str, line: int | None, kind: str) -> bool:
    if not value:
        return False
    if value in seen:
        check.error(line, f"duplicate {kind} '{value}' (first defined on line {seen[value]})")
        return False
    seen[value] = line or 0
    return True


def _topics(path: Path, errors: list[ConfigError]) -> tuple[Topic, ...]:
    entries, check = _top_list(path, "topics", errors)
    topics: list[Topic] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(entries):
        data = check.mapping(raw, "a topic", line_of(entries, index))
        if data is None:
            continue
        check.fields(data, ["id"], ["title", "keywords"], "a topic")
        topic_id = check.slug(data, "id")
        if _unique(check, seen, topic_id, line_of(data, "id"), "topic id"):
            title = check.text(data, "title") or topic_id.replace("-", " ").capitalize()
            topics.append(Topic(topic_id, title, check.text_list(data, "keywords")))
    errors.extend(check.errors)
    return tuple(topics)


FEEDS_CACHE = "feeds-read.json"
"""In the state folder: ``feeds.yml`` as last read without a problem, with its file's stamp."""


def _feeds(
    path: Path, topic_ids: list[str], errors: list[ConfigError], state_dir: Path | None = None
) -> tuple[Feed, ...]:
    """The feeds of ``feeds.yml``, read and checked; taken from ``state_dir``'s cache instead
    while the file is unchanged since it was last read without a problem (same stamp, same
    topics to check it against, same code): a team's 1,000 feeds cost a rep's ``kb digest`` a
    third of a second of YAML. A feed file named by path is looked for again either way."""
    cache_path = state_dir / FEEDS_CACHE if state_dir is not None else None
    key = _cache_key([topic_ids])
    cached = filecache.read(cache_path, key)
    stamp = filecache.stamp(path)
    known = cached.get(path.name)
    if stamp is not None and known is not None and known[0] == stamp:
        with contextlib.suppress(KeyError, TypeError, ValueError):
            feeds = tuple(_feed_from_json(data) for data in known[1])
            if not any(_feed_file_problem(path, f.url) for f in feeds if not f.is_remote):
                return feeds
    before = len(errors)
    feeds = _read_feeds(path, topic_ids, errors)
    if stamp is not None and len(errors) == before:
        filecache.save(
            cache_path, key, {path.name: [stamp, [_feed_json(f) for f in feeds]]}, cached
        )
    return feeds


def _feed_json(feed: Feed) -> dict[str, Any]:
    return {**asdict(feed), "topics": list(feed.topics)}


def _feed_from_json(data: dict[str, Any]) -> Feed:
    return Feed(**{**data, "topics": tuple(data["topics"])})


def _feed_file_problem(path: Path, url: str) -> str | None:
    """Why a feed named by a path relative to ``feeds/`` cannot be read, if it cannot."""
    local = (path.parent / url).resolve()
    if not local.is_relative_to(path.parent.resolve()):
        return f"a feed file must be inside feeds/, got {quote(url)}"
    if not local.is_file():
        return f"feed file not found: feeds/{url}"
    return None


def _read_feeds(path: Path, topic_ids: list[str], errors: list[ConfigError]) -> tuple[Feed, ...]:
    entries, check = _top_list(path, "feeds", errors)
    feeds: list[Feed] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(entries):
        data = check.mapping(raw, "a feed", line_of(entries, index))
        if data is None:
            continue
        check.fields(data, ["name", "url"], ["title", "topics", "weight"], "a feed")
        name = check.slug(data, "name")
        url = check.text(data, "url")
        if url and "://" in url and not url.startswith(("http://", "https://")):
            check.error(line_of(data, "url"), f"'url' must be http(s) or a path, got {quote(url)}")
        elif url and "://" not in url and (problem := _feed_file_problem(path, url)):
            check.error(line_of(data, "url"), problem)
        feed = Feed(
            name=name,
            url=url,
            title=check.text(data, "title"),
            topics=check.ids(data, "topics", topic_ids, "topic id"),
            weight=check.number(data, "weight", 1.0, 0.0, 10.0),
        )
        if _unique(check, seen, name, line_of(data, "name"), "feed name") and url:
            feeds.append(feed)
    errors.extend(check.errors)
    return tuple(feeds)


def _account_files(folder: Path) -> list[tuple[str, str]]:
    """The account files' (name, stem), by name: plain strings, as 10,000 ``Path`` objects
    cost a rep's ``kb digest`` a quarter of a second to make, sort and take apart."""
    if not folder.is_dir():
        return []
    with os.scandir(folder) as listing:
        names = sorted(e.name for e in listing)
    return [(name, stem) for name in names if (stem := account_stem(name))]


def account_stem(name: str) -> str:
    """The account slug a file name gives (``acme.yml`` -> ``acme``), or "" for a file that is
    no account: what :func:`os.path.splitext` says, a tenth of its cost (a leading dot is part
    of the name, not a suffix)."""
    stem = name[:-4] if name.endswith(".yml") else name[:-5] if name.endswith(".yaml") else ""
    return stem if stem.lstrip(".") else ""


def _name(path: Path) -> str:
    return path.name


def _accounts(
    folder: Path,
    files: list[tuple[str, str]],
    topic_ids: list[str],
    errors: list[ConfigError],
    warnings: list[ConfigError],
    only: Sequence[str] | None = None,
) -> tuple[Account, ...]:
    accounts: dict[str, Account] = {}
    wanted = None if only is None else set(only)
    for name, stem in files:
        if wanted is not None and stem not in wanted:
            continue
        path = folder / name
        check = Checker(path)
        before = len(errors)
        raw = _load(path, errors)
        if raw is None and len(errors) > before:
            continue
        account = _account(path, raw, topic_ids, check)
        errors.extend(check.errors)
        if account is None:
            continue
        if not account.problems and not check.errors:
            line = line_of(raw, "problems", getattr(raw, "line", 1))
            warnings.append(
                ConfigError(
                    path,
                    line,
                    "warning: no problems: its digests can only match its topics and keywords",
                )
            )
        if account.slug in accounts:
            errors.append(ConfigError(path, None, f"duplicate account slug '{account.slug}'"))
            continue
        accounts[account.slug] = account
    return tuple(accounts.values())


def _account(path: Path, raw: Any, topic_ids: list[str], check: Checker) -> Account | None:
    slug = path.stem
    _file_slug(path, check)
    if slug == ADHOC_SLUG:
        check.error(None, f"'{ADHOC_SLUG}' is kept for `kb digest --problem`: rename the file")
    data = check.mapping(raw, "an account", getattr(raw, "line", 1))
    if data is None:
        return None
    check.fields(data, ["name"], [k for k in ACCOUNT_KEYS if k != "name"], "an account")
    problems = check.text_list(data, "problems")
    return Account(
        slug=slug,
        name=check.text(data, "name"),
        industry=check.text(data, "industry"),
        problems=problems,
        topics=check.ids(data, "topics", topic_ids, "topic id"),
        keywords=check.text_list(data, "keywords"),
        exclude=check.text_list(data, "exclude"),
        stakeholders=_stakeholders(data, check),
        rep=_rep(data, check),
        crm_id=check.text(data, "crm_id"),
        website=check.text(data, "website"),
    )


def _file_slug(path: Path, check: Checker) -> None:
    if not SLUG.match(path.stem):
        check.error(None, "file name must be a slug (lowercase letters, digits, '-' or '_')")


def _email(check: Checker, data: LineDict, key: str = "email") -> str:
    email = check.text(data, key)
    problem = email_problem(email) if email else None
    if problem:
        check.error(line_of(data, key), f"'{key}' {problem}: {quote(email)}")
    return email


def _stakeholders(data: LineDict, check: Checker) -> tuple[Stakeholder, ...]:
    raw = data.get("stakeholders")
    if raw is None:
        return ()
    if not isinstance(raw, LineList):
        check.error(line_of(data, "stakeholders"), "'stakeholders' must be a list")
        return ()
    people: list[Stakeholder] = []
    for index, entry in enumerate(raw):
        person = check.mapping(entry, "a stakeholder", line_of(raw, index))
        if person is None:
            continue
        check.fields(person, ["name"], ["crm_id", "role", "email", "cares_about"], "a stakeholder")
        people.append(
            Stakeholder(
                name=check.text(person, "name"),
                role=check.text(person, "role"),
                email=_email(check, person),
                cares_about=check.text_list(person, "cares_about"),
                crm_id=check.text(person, "crm_id"),
            )
        )
    return tuple(people)


def _rep(data: LineDict, check: Checker) -> Rep | None:
    if data.get("rep") is None:
        return None
    rep = check.mapping(data["rep"], "'rep'", line_of(data, "rep"))
    if rep is None:
        return None
    check.fields(rep, ["name"], ["email"], "'rep'")
    return Rep(name=check.text(rep, "name"), email=_email(check, rep))


MB = 1024 * 1024
NOTE_MAX_BYTES = 1 * MB
"""A note is a page of advice, not a document store: a 50 MB note once took minutes and a
gigabyte to build. Bigger notes are refused (with their size), unread."""


NOTES_CACHE = "notes-read.json"
"""In the state folder: the notes as last read, each with its file's size and times."""


def _notes(
    folder: Path,
    topic_ids: list[str],
    slugs: Collection[str],
    errors: list[ConfigError],
    state_dir: Path | None = None,
) -> tuple[Note, ...]:
    """Every note, read and checked; a note whose file is unchanged since it was last read
    without a problem (same size and times, same topics and account names to check it
    against) is taken from ``state_dir``'s cache instead: 2,000 notes' front matter cost a
    rep's ``kb digest`` more than ranking does."""
    if not folder.is_dir():
        return ()
    cache_path = state_dir / NOTES_CACHE if state_dir is not None else None
    key = _cache_key([topic_ids, sorted(slugs)])
    cached = filecache.read(cache_path, key)
    fresh: dict[str, list[Any]] = {}
    notes: list[Note] = []
    for path in sorted(folder.glob("*.md"), key=_name):
        stamp = filecache.stamp(path) or []
        size = stamp[0] if stamp else 0
        known = cached.get(path.name)
        if known is not None and known[0] == stamp:
            with contextlib.suppress(KeyError, TypeError, ValueError):
                notes.append(_note_from_json(known[1], path))
                fresh[path.name] = known
                continue
        if size > NOTE_MAX_BYTES:
            errors.append(
                ConfigError(
                    path,
                    1,
                    f"note is {size / MB:.1f} MB, the limit is {NOTE_MAX_BYTES / MB:g} MB:"
                    " keep the note short and link to the long document",
                )
            )
            continue
        text = read_text(path, errors)
        if text is None:
            continue
        check = Checker(path)
        before = len(errors)
        note = _note(path, text, topic_ids, slugs, check, errors)
        errors.extend(check.errors)
        if note is not None:
            notes.append(note)
            if len(errors) == before:  # only a note without a problem is kept
                fresh[path.name] = [stamp, _note_json(note)]
    if not errors:
        filecache.save(cache_path, key, fresh, cached)
    return tuple(notes)


@functools.cache
def _reading_code() -> bytes:
    """The code every cache's key covers, read once per process."""
    return Path(__file__).read_bytes() + Path(yamlfile.__file__).read_bytes()


def _cache_key(checked_against: Any) -> str:
    """A cache's key: what its entries were checked against (JSON), and the code that reads
    and checks the files (this module and its checker's)."""
    digest = hashlib.sha256(_reading_code())
    digest.update(json.dumps(checked_against).encode("utf-8"))
    return digest.hexdigest()


def _note_json(note: Note) -> dict[str, Any]:
    return {
        "title": note.title,
        "date": note.date.isoformat(),
        "body": note.body,
        "topics": list(note.topics),
        "accounts": list(note.accounts),
        "kind": note.kind,
        "expires": note.expires.isoformat() if note.expires else None,
    }


def _note_from_json(data: dict[str, Any], path: Path) -> Note:
    expires = data["expires"]
    return Note(
        slug=path.stem,
        title=data["title"],
        date=date.fromisoformat(data["date"]),
        body=data["body"],
        topics=tuple(data["topics"]),
        accounts=tuple(data["accounts"]),
        kind=data["kind"],
        expires=date.fromisoformat(expires) if expires else None,
        path=path,
    )


def _note(
    path: Path,
    text: str,
    topic_ids: list[str],
    slugs: Collection[str],
    check: Checker,
    errors: list[ConfigError],
) -> Note | None:
    match = FRONT_MATTER.match(text)
    if not match:
        check.error(1, "a note must start with YAML front matter between '---' lines")
        return None
    raw, problems = parse_yaml(match.group(1), path, line_offset=1)
    errors.extend(problems)
    if raw is None:
        if not problems:
            check.error(1, "front matter is empty: a note needs at least 'title' and 'date'")
        return None
    data = check.mapping(raw, "front matter", 2)
    if data is None:
        return None
    check.fields(data, ["title", "date"], ["topics", "accounts", "kind", "expires"], "a note")
    kind = check.text(data, "kind", "insight")
    if kind not in NOTE_KINDS:
        check.error(
            line_of(data, "kind"),
            f"'kind' must be one of {', '.join(NOTE_KINDS)}, got {quote(kind)}",
        )
    when = check.date(data, "date")
    body = printable(text[match.end() :]).strip()
    if not body:
        check.error(None, "the note has no text after its front matter")
    title = check.text(data, "title")
    topics = check.ids(data, "topics", topic_ids, "topic id")
    accounts = check.ids(data, "accounts", slugs, "account")
    expires = check.date(data, "expires")
    _file_slug(path, check)
    if when is not None and expires is not None and expires < when:
        check.error(line_of(data, "expires"), f"'expires' ({expires}) is before 'date' ({when})")
    if when is None:
        return None
    return Note(
        slug=path.stem,
        title=title,
        date=when,
        body=body,
        topics=topics,
        accounts=accounts,
        kind=kind,
        expires=expires,
        path=path,
    )


def _settings(path: Path, errors: list[ConfigError]) -> Settings:
    raw = _load(path, errors, required=False)
    if raw is None:
        return Settings()
    check = Checker(path)
    data = check.mapping(raw, "kb.yml", 1)
    if data is None:
        errors.extend(check.errors)
        return Settings()
    check.fields(
        data,
        [],
        [
            "now",
            "state_dir",
            "store",
            "out_dir",
            "site_dir",
            "team",
            "fetch",
            "ranking",
            "digest",
            "newsletter",
        ],
        "kb.yml",
    )
    settings = Settings(
        now=_now(data, check),
        state_dir=Path(check.text(data, "state_dir", ".kb")),
        store=_store_url(data, check),
        out_dir=Path(check.text(data, "out_dir", "build")),
        site_dir=Path(check.text(data, "site_dir", "site")),
        team=check.text(data, "team", "Knowledge Broker"),
        fetch=_fetch_settings(_section(data, "fetch", check), check),
        ranking=_ranking_settings(_section(data, "ranking", check), check),
        digest=_digest_settings(_section(data, "digest", check), check),
        newsletter=_newsletter_settings(_section(data, "newsletter", check), check),
    )
    _check_folders(path.parent, settings, data, check)
    errors.extend(check.errors)
    return settings


def _check_folders(root: Path, settings: Settings, data: LineDict, check: Checker) -> None:
    """kb replaces ``site_dir`` whole and writes into ``out_dir``: each must be a folder of its
    own inside the project, made by kb (see :mod:`generator.folders`)."""
    site = (root / settings.site_dir).resolve()
    ours = {
        "feeds/": Path("feeds"),
        "content/": Path("content"),
        "templates/": Path("templates"),
        "state_dir": settings.state_dir,
        "out_dir": settings.out_dir,
    }
    for name, folder in ours.items():
        other = (root / folder).resolve()
        if site == other or site in other.parents or other in site.parents:
            check.error(
                line_of(data, "site_dir"),
                f"'site_dir' must not be, hold or sit in {name} ({folder}): building the site"
                " empties it",
            )
            return
    for key in ("out_dir", "site_dir"):
        problem = folder_problem(root, getattr(settings, key), key)
        if problem:
            check.error(line_of(data, key), problem)


STORE_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg", "sqlite")


def _store_url(data: LineDict, check: Checker) -> str:
    """``store:``, a store URL. A committed file never holds a password: libpq reads it from
    PGPASSWORD or ~/.pgpass. The message never repeats the URL (it may hold one)."""
    value = check.text(data, "store")
    if not value:
        return ""
    line = line_of(data, "store")
    try:
        parts = urlsplit(value.strip())
        password = parts.password
    except ValueError:
        parts, password = None, None
    if parts is None or parts.scheme not in STORE_SCHEMES:
        check.error(
            line,
            "'store' must be a store URL: postgresql://user@host:port/database"
            " or sqlite:///path/to/kb.sqlite",
        )
        return ""
    if password is not None:
        check.error(
            line,
            "'store' must not hold a password (it would be committed): remove it and set"
            " PGPASSWORD or a ~/.pgpass line instead",
        )
        return ""
    return value.strip()


def _section(data: LineDict, key: str, check: Checker) -> LineDict:
    value = data.get(key)
    if value is None:
        return LineDict()
    return check.mapping(value, f"'{key}'", line_of(data, key)) or LineDict()


def _now(data: LineDict, check: Checker) -> datetime | None:
    value = data.get("now")
    if value is None:
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, time(9, 0))
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = parse_instant(value)
    if isinstance(value, datetime):
        with contextlib.suppress(ValueError):
            return in_range(value)
    check.error(
        line_of(data, "now"),
        f"'now' must be a date or time in ISO 8601 between {YEARS[0]} and {YEARS[1]},"
        f" got {value!r}",
    )
    return None


YEARS = (1970, 9000)
"""The years a run's "now" may fall in: far enough from the ends of the calendar that "now
minus 60 days" or "the week before" never overflows."""


def parse_instant(text: str) -> datetime:
    """Parse an ISO 8601 date or date-time; a bare date means 09:00 UTC that day."""
    text = text.strip()
    if len(text) == 10:
        value = datetime.combine(date.fromisoformat(text), time(9, 0))
    else:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return in_range(value)


def in_range(value: datetime) -> datetime:
    """The moment in UTC; ValueError outside :data:`YEARS` (or where UTC itself overflows)."""
    try:
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError as e:
        raise ValueError(f"{value} is out of range") from e
    if not YEARS[0] <= value.year <= YEARS[1]:
        raise ValueError(f"the year must be between {YEARS[0]} and {YEARS[1]}")
    return value


def _fetch_settings(data: LineDict, check: Checker) -> FetchSettings:
    d = FetchSettings()
    check.fields(data, [], list(d.__dataclass_fields__), "'fetch'")
    return FetchSettings(
        concurrency=check.integer(data, "concurrency", d.concurrency, 1, 256),
        per_host=check.integer(data, "per_host", d.per_host, 1, 64),
        connect_timeout=check.number(data, "connect_timeout", d.connect_timeout, 0.1, 600),
        read_timeout=check.number(data, "read_timeout", d.read_timeout, 0.1, 600),
        deadline=check.number(data, "deadline", d.deadline, 0.1, 3600),
        max_bytes=check.integer(data, "max_bytes", d.max_bytes, 1024, 2**31),
        max_redirects=check.integer(data, "max_redirects", d.max_redirects, 0, 30),
        max_backoff_hours=check.number(data, "max_backoff_hours", d.max_backoff_hours, 0, 24 * 30),
        allow_private=_allow_private(data, check),
    )


def _allow_private(data: LineDict, check: Checker) -> tuple[str, ...]:
    """Host names (exact, any case), IP addresses or networks; nothing else, no wildcards."""
    entries = check.text_list(data, "allow_private")
    for entry in entries:
        if parse_network(entry) is None and not _HOST_NAME.fullmatch(entry):
            check.error(
                line_of(data, "allow_private"),
                f"'allow_private' entries must be host names, IP addresses or networks"
                f" (10.0.0.0/8), got {entry[:100]!r}",
            )
    return entries


_HOST_NAME = re.compile(r"(?i)[a-z0-9_][a-z0-9_-]{0,62}(\.[a-z0-9_][a-z0-9_-]{0,62})*\.?")


def _ranking_settings(data: LineDict, check: Checker) -> RankingSettings:
    d = RankingSettings()
    check.fields(data, [], list(d.__dataclass_fields__), "'ranking'")
    return RankingSettings(
        threshold=check.number(data, "threshold", d.threshold, 0, 100),
        max_items=check.integer(data, "max_items", d.max_items, 1, 100),
        half_life_days=check.number(data, "half_life_days", d.half_life_days, 0.1, 3650),
        max_age_days=check.integer(data, "max_age_days", d.max_age_days, 1, 3650),
        max_share_per_source=check.number(
            data, "max_share_per_source", d.max_share_per_source, 0.01, 1
        ),
        max_share_per_topic=check.number(
            data, "max_share_per_topic", d.max_share_per_topic, 0.01, 1
        ),
        judge=check.boolean(data, "judge", d.judge),
    )


def _digest_settings(data: LineDict, check: Checker) -> DigestSettings:
    d = DigestSettings()
    check.fields(data, [], ["formats", "utm", "intro"], "'digest'")
    formats = tuple(dict.fromkeys(check.text_list(data, "formats"))) or d.formats
    for name in formats:
        if name not in DIGEST_FORMATS:
            check.error(
                line_of(data, "formats"),
                f"unknown digest format '{name}' (choose from {', '.join(DIGEST_FORMATS)})",
            )
    utm: dict[str, str] = {}
    raw_utm = data.get("utm")
    if isinstance(raw_utm, LineDict):
        check.fields(raw_utm, [], ["source", "medium", "campaign"], "'utm'")
        utm = {f"utm_{k}": check.text(raw_utm, k) for k in ("source", "medium", "campaign")}
        utm = {k: v for k, v in utm.items() if v}
    elif raw_utm not in (None, False):
        check.error(
            line_of(data, "utm"), "'utm' must be a mapping (source, medium, campaign) or false"
        )
    return DigestSettings(
        formats=tuple(f for f in formats if f in DIGEST_FORMATS),
        utm=utm,
        intro=check.text(data, "intro"),
    )


def _vocabulary(path: Path, errors: list[ConfigError]) -> Vocabulary:
    """``content/lexicon.yml``: the team's related words and word senses, over the package's.

    ``related``: a list of groups, each a list of words or phrases about one idea.
    ``senses``: ambiguous word -> sense name -> cue words (the word counts only in an item that
    has a cue of a sense the account's own words name). ``general``: words any line of business
    uses (they never show on their own that an item is about an account's field).
    """
    if not path.exists():
        return Vocabulary()
    check = Checker(path)
    raw = _load(path, errors)
    if raw is None:
        return Vocabulary()
    data = check.mapping(raw, "the lexicon", getattr(raw, "line", 1))
    if data is None:
        errors.extend(check.errors)
        return Vocabulary()
    check.fields(data, [], ["related", "senses", "general"], "the lexicon")
    related: list[tuple[str, ...]] = []
    groups = data.get("related")
    if groups is not None and not isinstance(groups, LineList):
        check.error(
            line_of(data, "related"),
            f"'related' must be a list of word lists, not {describe(groups)}",
        )
    for index, group in enumerate(groups if isinstance(groups, LineList) else ()):
        line = line_of(groups, index, line_of(data, "related"))
        before = len(check.errors)
        words = _words(group, check, line, "a related group")
        if len(check.errors) > before:
            continue
        if len(words) < 2:
            check.error(line, "a related group needs at least two words")
        elif len({w.casefold() for w in words}) < 2:
            check.error(line, "a related group needs at least two different words")
        else:
            related.append(words)
    senses: list[tuple[str, tuple[tuple[str, tuple[str, ...]], ...]]] = []
    table = data.get("senses")
    if table is not None and not isinstance(table, LineDict):
        check.error(
            line_of(data, "senses"),
            f"'senses' must map words to their senses, not {describe(table)}",
        )
    for word, meanings in table.items() if isinstance(table, LineDict) else ():
        line = line_of(table, word)
        if not isinstance(meanings, LineDict) or not meanings:
            check.error(line, f"the senses of '{word}' must map sense names to cue words")
            continue
        cues = tuple(
            _cues(str(word), str(name), cue_list, line_of(meanings, name), check)
            for name, cue_list in meanings.items()
        )
        senses.append((str(word), tuple(c for c in cues if c[1])))
    general = _words(
        data.get("general") or LineList(), check, line_of(data, "general"), "'general'"
    )
    errors.extend(check.errors)
    return Vocabulary(tuple(related), tuple(senses), general)


def _cues(
    word: str, name: str, cue_list: Any, line: int | None, check: Checker
) -> tuple[str, tuple[str, ...]]:
    """One sense of ``word``: its name and cue words (at least one)."""
    before = len(check.errors)
    cues = _words(cue_list, check, line, f"the cues of '{word}'")
    if not cues and len(check.errors) == before:
        check.error(line, f"the sense '{name}' of '{word}' needs at least one cue word")
    return str(name), cues


def _words(value: Any, check: Checker, line: int | None, what: str) -> tuple[str, ...]:
    """A list of words or phrases; a bare string is one word."""
    if isinstance(value, str):
        return (value.strip(),) if value.strip() else ()
    if not isinstance(value, list):
        check.error(line, f"{what} must be a list of words, not {describe(value)}")
        return ()
    out: list[str] = []
    for index, element in enumerate(value):
        if isinstance(element, bool) or not isinstance(element, str | int | float):
            check.error(
                line_of(value, index, line),
                f"{what}: entries must be words, not {describe(element)}",
            )
        elif not str(element).strip():
            check.error(line_of(value, index, line), f"{what}: an entry is empty")
        else:
            out.append(str(element).strip())
    return tuple(out)


def _newsletter_settings(data: LineDict, check: Checker) -> NewsletterSettings:
    """``newsletter:``: review, and delivery (off until ``from``, recipients and ``smtp.host``).

    Once any delivery key is set, the others it needs are required here, so a half-set-up
    delivery is a ``kb check`` error on Friday, not a failed send on Monday morning.
    """
    check.fields(
        data, [], ["review", "from", "recipients", "recipients_file", "smtp", "unsubscribe"],
        "'newsletter'",
    )  # fmt: skip
    review = data.get("review", False)
    if not isinstance(review, bool):
        check.error(line_of(data, "review"), "'review' must be true or false")
        review = False
    recipients = check.text_list(data, "recipients")
    for index, address in enumerate(recipients):
        if not is_email(address):
            line = line_of(data.get("recipients"), index, line_of(data, "recipients"))
            check.error(
                line, f"'recipients' has an entry that is not an email address: '{address}'"
            )
    file_name = check.text(data, "recipients_file")
    settings = NewsletterSettings(
        review=review,
        sender=_sender(data, check),
        recipients=recipients,
        recipients_file=Path(file_name) if file_name else None,
        smtp=_smtp_settings(_section(data, "smtp", check), check),
        unsubscribe=_unsubscribe(data, check),
    )
    wanted = ("from", "recipients", "recipients_file", "smtp", "unsubscribe")
    if any(key in data for key in wanted):
        missing = [
            name
            for name, value in (
                ("from", settings.sender),
                ("recipients or recipients_file", recipients or file_name),
                ("smtp.host", settings.smtp.host),
                ("unsubscribe", settings.unsubscribe),
            )
            if not value
        ]
        if missing:
            check.error(
                data.line, f"newsletter delivery needs {', '.join(missing)} in 'newsletter'"
            )
    return settings


def _sender(data: LineDict, check: Checker) -> str:
    """``from``: an address, or ``Name <address>``."""
    from email.utils import parseaddr

    text = check.text(data, "from")
    if text and not is_email(parseaddr(text)[1]):
        check.error(line_of(data, "from"), f"'from' is not an email address: '{text}'")
    return text


def _unsubscribe(data: LineDict, check: Checker) -> str:
    """Where a reader unsubscribes: ``mailto:`` or ``https:``, for the List-Unsubscribe header."""
    url = check.text(data, "unsubscribe")
    if url and (not url.startswith(("mailto:", "https://")) or any(c.isspace() for c in url)):
        check.error(
            line_of(data, "unsubscribe"),
            f"'unsubscribe' must be a mailto: or https:// URL, got '{url}'",
        )
        return ""
    return url


def _smtp_settings(data: LineDict, check: Checker) -> SmtpSettings:
    check.fields(data, [], ["host", "port", "security", "user", "timeout"], "'smtp'")
    security = check.text(data, "security", "starttls")
    if security not in SMTP_SECURITY:
        check.error(
            line_of(data, "security"),
            f"'security' must be one of {', '.join(SMTP_SECURITY)}, got '{security}'",
        )
        security = "starttls"
    return SmtpSettings(
        host=check.text(data, "host"),
        port=check.integer(data, "port", SMTP_SECURITY[security], 1, 65535),
        security=security,
        user=check.text(data, "user"),
        timeout=check.number(data, "timeout", 30.0, 1, 600),
    )
