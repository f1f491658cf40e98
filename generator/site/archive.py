"""The newsletter archive the site lists: ``content/newsletters/YYYY-Www.md``, one file an issue.

Those files are site pages themselves (``content/`` is the site's docs folder); here we read
only what the index and the Atom feed need: the week, the title and how much the issue holds.
A file we cannot read is listed by its name alone: the archive is never a reason to fail a build.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..config import FRONT_MATTER
from ..newsletter import WEEK

ARCHIVE_DIR = Path("content") / "newsletters"
_HEADING = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.M)


@dataclass(frozen=True)
class ArchivedIssue:
    week: str
    title: str
    items: int
    notes: int

    @property
    def uri(self) -> str:
        return f"newsletters/{self.week}.md"


def read_archive(root: Path) -> tuple[ArchivedIssue, ...]:
    """Every archived issue, newest first (files not named like a week are not issues)."""
    issues = []
    for path in sorted((root / ARCHIVE_DIR).glob("*.md")):
        if WEEK.match(path.stem):
            issues.append(_issue(path))
    return tuple(sorted(issues, key=lambda i: i.week, reverse=True))


def _issue(path: Path) -> ArchivedIssue:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ArchivedIssue(path.stem, f"Newsletter {path.stem}", 0, 0)
    meta: Any = None
    match = FRONT_MATTER.match(text)
    if match:
        try:
            meta = yaml.safe_load(match.group(1))
        except yaml.YAMLError:
            meta = None
    meta = meta if isinstance(meta, dict) else {}
    heading = _HEADING.search(text[match.end() :] if match else text)
    title = heading.group(1) if heading else f"Newsletter {path.stem}"
    return ArchivedIssue(path.stem, title, _count(meta.get("items")), _count(meta.get("notes")))


def _count(value: Any) -> int:
    """``items: 12`` or ``items: [...]``: either way, how many."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return max(value, 0)
    if isinstance(value, Sequence) and not isinstance(value, str):
        return len(value)
    return 0
