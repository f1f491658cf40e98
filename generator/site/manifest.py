"""What ``kb build`` hands the site: every generated file and the navigation, in one JSON file.

``kb build`` ranks once, writes this file into the state folder (atomically: a killed run leaves
the previous one whole), then runs MkDocs. The ``kb`` plugin only reads it, so a plain
``mkdocs build`` or ``mkdocs serve`` in the project shows what the last ``kb build`` ranked,
and the plugin never needs the pipeline (no import circle, no second ranking).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ..exceptions import KbError
from ..outputs import atomic_write

MANIFEST_NAME = "site-pages.json"
VERSION = 1


@dataclass(frozen=True)
class NavEntry:
    """One entry of the site's navigation: a page (``uri``) or a section (``children``)."""

    title: str
    uri: str = ""
    children: tuple[NavEntry, ...] = ()


@dataclass(frozen=True)
class AtomLink:
    """A feed a page announces with ``<link rel="alternate">``."""

    uri: str
    title: str


@dataclass(frozen=True)
class SitePages:
    """The site's generated files by source path (Markdown pages and Atom feeds), its
    navigation, and the feeds every page announces."""

    now: datetime
    files: Mapping[str, str]
    nav: tuple[NavEntry, ...]
    feeds: tuple[AtomLink, ...] = ()


def manifest_path(state_dir: Path) -> Path:
    return state_dir / MANIFEST_NAME


def write_manifest(path: Path, pages: SitePages) -> None:
    data = {
        "version": VERSION,
        "now": pages.now.isoformat(),
        "files": dict(sorted(pages.files.items())),
        "nav": [_nav_json(entry) for entry in pages.nav],
        "feeds": [{"uri": f.uri, "title": f.title} for f in pages.feeds],
    }
    atomic_write(path, json.dumps(data, ensure_ascii=False, indent=1) + "\n")


def read_manifest(path: Path) -> SitePages:
    """The pages the last ``kb build`` left, or a message saying what to do."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KbError(
            f"{path}: no generated pages yet: run `kb build` first (the site shows what it ranked)"
        ) from None
    except (OSError, ValueError) as e:
        raise KbError(f"{path}: unreadable ({e}): run `kb build` again") from e
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise KbError(f"{path}: written by another version of kb: run `kb build` again")
    try:
        return SitePages(
            now=datetime.fromisoformat(data["now"]),
            files={str(k): str(v) for k, v in data["files"].items()},
            nav=tuple(_nav_entry(e) for e in data["nav"]),
            feeds=tuple(AtomLink(str(f["uri"]), str(f["title"])) for f in data["feeds"]),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise KbError(f"{path}: damaged ({e!r}): run `kb build` again") from e


def _nav_json(entry: NavEntry) -> dict[str, Any]:
    if entry.children:
        return {"title": entry.title, "children": [_nav_json(c) for c in entry.children]}
    return {"title": entry.title, "uri": entry.uri}


def _nav_entry(data: Mapping[str, Any]) -> NavEntry:
    children = tuple(_nav_entry(c) for c in data.get("children", ()))
    return NavEntry(str(data["title"]), str(data.get("uri", "")), children)
