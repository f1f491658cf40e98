"""The newsletter archive, ``content/newsletters/YYYY-Www.md``: one file per issue, in the repo.

The archive is what makes the weekly run safe on a runner that starts empty: the next issue
leaves out every story an earlier issue carried by reading these files, not the store. It is also
the issue of record: ``kb newsletter --send`` sends the file's body as it is (an editor may have
corrected it in a pull request), never a fresh rendering.

The format (read by the site, written by :func:`archive_text`)::

    ---
    week: 2026-W47                       # the ISO week; must match the file name
    title: 'Northbeam weekly: 2026-W47'  # the email subject and the page title
    generated_at: '2026-11-16T09:00:00Z' # the run's --now, UTC
    start: 2026-11-09                    # the seven days covered: start .. end - 1 day
    end: 2026-11-16
    items:                               # every story, in the order shown
    - url: https://example.com/story
      title: The story's title
    notes:                               # the slugs of the team's notes in the issue
    - detention-cost-conversation
    ---
    # Northbeam weekly: 2026-W47         (the Markdown body, as rendered by newsletter.md.j2)

Every field but ``week`` may be absent in a file written by hand; a malformed file is reported as
``path:line: message`` by every command (``kb check`` lists them all). Files that are not named
after a week are an error too, so a typo such as ``2026-w47.md`` is not silently ignored; only
``index.md`` (a page the site may keep there) is left alone.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from .exceptions import ConfigError
from .models import ArchivedIssue, ArchivedItem
from .yamlfile import FRONT_MATTER, Checker, LineDict, LineList, line_of, parse_yaml, read_text

ARCHIVE_DIR = Path("content") / "newsletters"
WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
NOT_ISSUES = frozenset({"index.md"})


def archive_path(root: Path, week: str) -> Path:
    return root / ARCHIVE_DIR / f"{week}.md"


def archive_text(
    *,
    week: str,
    title: str,
    generated_at: datetime,
    start: date,
    end: date,
    items: list[tuple[str, str]],
    notes: list[str],
    body: str,
) -> str:
    """The file's text: YAML front matter (keys in a fixed order) and the body. The same values
    give the same bytes; feed text in titles is quoted by the YAML dumper, never pasted."""
    front: dict[str, Any] = {
        "week": week,
        "title": title,
        "generated_at": f"{generated_at:%Y-%m-%dT%H:%M:%SZ}",
        "start": start,
        "end": end,
        "items": [{"url": url, "title": t} for url, t in items],
        "notes": notes,
    }
    dumped = yaml.safe_dump(
        front, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1_000_000
    )
    return f"---\n{dumped}---\n{body.rstrip()}\n"


def load_archive(root: Path, errors: list[ConfigError]) -> tuple[ArchivedIssue, ...]:
    """Every archived issue, oldest week first; problems go to ``errors``."""
    folder = root / ARCHIVE_DIR
    if not folder.is_dir():
        return ()
    issues: list[ArchivedIssue] = []
    for path in sorted(folder.glob("*.md")):
        if path.name in NOT_ISSUES:
            continue
        text = read_text(path, errors)
        if text is None:
            continue
        check = Checker(path)
        issue = parse_issue(path, text, check, errors)
        errors.extend(check.errors)
        if issue is not None:
            issues.append(issue)
    return tuple(sorted(issues, key=lambda i: i.week))


def parse_issue(
    path: Path, text: str, check: Checker, errors: list[ConfigError]
) -> ArchivedIssue | None:
    if not WEEK.match(path.stem):
        check.error(None, "an archived newsletter must be named after its week, like 2026-W47.md")
        return None
    match = FRONT_MATTER.match(text)
    if not match:
        check.error(1, "an archived newsletter must start with YAML front matter between '---'")
        return None
    raw, problems = parse_yaml(match.group(1), path, line_offset=1)
    errors.extend(problems)
    if problems:
        return None
    data = check.mapping(raw, "front matter", 2)
    if data is None:
        return None
    check.fields(
        data, ["week"], ["title", "generated_at", "start", "end", "items", "notes"], "front matter"
    )
    week = check.text(data, "week")
    if week and week != path.stem:
        check.error(line_of(data, "week"), f"'week' is {week} but the file is {path.name}")
    return ArchivedIssue(
        week=path.stem,
        generated_at=_moment(data, check),
        title=check.text(data, "title"),
        items=_items(data, check),
        notes=check.text_list(data, "notes"),
        body=text[match.end() :],
        path=path,
    )


def _moment(data: LineDict, check: Checker) -> datetime | None:
    from .config import parse_instant  # config reads the archive: import here, not at the top

    value = data.get("generated_at")
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return parse_instant(value)
        except ValueError:
            pass
    if value is not None:
        check.error(
            line_of(data, "generated_at"),
            f"'generated_at' must be a time like 2026-11-16T09:00:00Z, got {value!r}",
        )
    return None


def _items(data: LineDict, check: Checker) -> tuple[ArchivedItem, ...]:
    raw = data.get("items")
    if raw is None:
        return ()
    if not isinstance(raw, LineList):
        check.error(line_of(data, "items"), "'items' must be a list of {url, title}")
        return ()
    items: list[ArchivedItem] = []
    for index, entry in enumerate(raw):
        item = check.mapping(entry, "an item", line_of(raw, index))
        if item is None:
            continue
        check.fields(item, ["url"], ["title"], "an item")
        url = check.text(item, "url")
        if url:
            items.append(ArchivedItem(url, check.text(item, "title")))
    return tuple(items)
