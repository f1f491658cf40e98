"""A generated team: the bundled example grown to N accounts, for size tests and bench/site.py.

Accounts are the example's six, repeated with new names, spread over industries (the example's
three, per region) and reps (one rep for about 25 accounts, as teams grow); notes are the
example's, repeated; ``extra_items`` adds a local feed of variants of the example's stories so
the store holds a few hundred items.
"""

from __future__ import annotations

import copy
import shutil
import xml.etree.ElementTree as ET
from datetime import timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
REGIONS = ("Midwest", "Northeast", "South", "West", "Mountain", "Pacific", "Plains", "Gulf")
ACCOUNTS_PER_REP = 25


def make_team(root: Path, accounts: int, notes: int = 0, extra_items: int = 0) -> Path:
    """A project in ``root`` (which must not exist) with ``accounts`` accounts."""
    root.mkdir(parents=True)
    for name in ("feeds", "content"):
        shutil.copytree(REPO / name, root / name)
    for name in ("kb.yml", "mkdocs.yml"):
        shutil.copy(REPO / name, root / name)
    templates = [
        yaml.safe_load(p.read_text()) for p in sorted((REPO / "content/accounts").glob("*.yml"))
    ]
    folder = root / "content" / "accounts"
    shutil.rmtree(folder)
    folder.mkdir()
    reps = max(1, accounts // ACCOUNTS_PER_REP)
    for n in range(accounts):
        data = copy.deepcopy(templates[n % len(templates)])
        data["name"] = f"{data['name']} {n:04d}"
        data["industry"] = f"{data['industry']} ({REGIONS[n // len(templates) % len(REGIONS)]})"
        data["rep"] = {"name": f"Rep Number{n % reps:03d}", "email": f"rep{n % reps}@us.example"}
        for person in data.get("stakeholders", []):
            person["email"] = person["email"].replace("@", f"+{n}@")
        (folder / f"account-{n:04d}.yml").write_text(yaml.safe_dump(data, sort_keys=False))
    _notes(root, notes)
    if extra_items:
        _extra_feed(root, extra_items)
    return root


def _notes(root: Path, count: int) -> None:
    """Copies of the example's notes, not tied to the example's accounts (they are gone)."""
    folder = root / "content" / "notes"
    originals = sorted(folder.glob("*.md"))
    for path in originals:
        path.write_text(_note(path.read_text(), ""))
    for n in range(max(0, count - len(originals))):
        source = originals[n % len(originals)]
        text = _note(source.read_text(), f" {n:04d}", weeks_back=n // len(originals) % 52)
        (folder / f"{source.stem}-{n:04d}.md").write_text(text)


def _note(text: str, suffix: str, weeks_back: int = 0) -> str:
    """A copy of a note, dated ``weeks_back`` weeks earlier (a team writes a few a week)."""
    _, front, body = text.split("---\n", 2)
    meta = yaml.safe_load(front)
    meta.pop("accounts", None)
    meta["title"] += suffix
    meta["date"] -= timedelta(weeks=weeks_back)
    return f"---\n{yaml.safe_dump(meta, sort_keys=False)}---\n{body}"


def _extra_feed(root: Path, count: int) -> None:
    """A local RSS feed: ``count`` variants of the example's stories (new titles, links, dates)."""
    stories = []
    for path in sorted((REPO / "feeds").glob("*.xml")):
        tree = ET.parse(path)
        stories.extend(tree.getroot().iter("item"))
    rss = ET.Element("rss", {"version": "2.0"})
    channel = ET.SubElement(rss, "channel")
    ET.SubElement(channel, "title").text = "Regional Wire"
    ET.SubElement(channel, "link").text = "https://regional.example/"
    ET.SubElement(channel, "description").text = "Regional variants of the week's stories"
    for n in range(count):
        item = copy.deepcopy(stories[n % len(stories)])
        region = REGIONS[n % len(REGIONS)]
        for tag in ("title", "link", "guid"):
            element = item.find(tag)
            if element is not None and element.text:
                suffix = f" ({region} report {n})" if tag == "title" else f"-{n}"
                element.text = element.text.strip() + suffix
        date = item.find("pubDate")
        if date is not None and date.text:
            moment = parsedate_to_datetime(date.text) - timedelta(hours=n % 48)
            date.text = format_datetime(moment)
        channel.append(item)
    ET.ElementTree(rss).write(root / "feeds" / "regional-wire.xml", encoding="utf-8")
    with (root / "feeds" / "feeds.yml").open("a") as feeds:
        feeds.write(
            "\n  - name: regional-wire\n    title: Regional Wire\n    url: regional-wire.xml\n"
            "    topics: [driver-workforce, nurse-staffing, line-uptime]\n"
        )
