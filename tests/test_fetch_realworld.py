"""Real-world feeds through ``kb fetch``: one odd feed is stored as well as it can be, or fails
alone, and every other feed is stored."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from conftest import run_kb
from feedserver import FEEDS
from test_cli_fetch import EXAMPLE_ITEMS, add_feeds

from generator.models import FeedUpdate
from generator.store.sql import SqlStore

ODD_FEEDS = {
    "comments": "comments.xml",
    "hugo": "hugo-dates.xml",
    "now-page": "now-page.xml",
    "surrogates": "surrogates.json",
    "untitled": "untitled.xml",
}


def with_odd_feeds(project: Path) -> Path:
    for name in ODD_FEEDS.values():
        shutil.copy(FEEDS / name, project / "feeds" / name)
    add_feeds(project, ODD_FEEDS)
    return project


def items_by_feed(project: Path) -> dict[str, list[dict[str, Any]]]:
    result = run_kb("--project", project, "items", "--format", "json")
    assert result.exit_code == 0, result.stderr
    by_feed: dict[str, list[dict[str, Any]]] = {}
    for row in json.loads(result.stdout):
        for source in row["sources"]:
            by_feed.setdefault(source, []).append(row)
    return by_feed


def test_odd_feeds_are_stored_in_full_next_to_the_others(example: Path) -> None:
    with_odd_feeds(example)
    result = run_kb("--project", example, "fetch")
    assert result.exit_code == 0, result.stderr
    assert f"12 feeds: 12 ok, 0 not modified, 0 failed, 0 skipped; {EXAMPLE_ITEMS + 15} new" in (
        result.stderr
    )
    stored = items_by_feed(example)
    assert len(stored["now-page"]) == 3  # one page, three dated entries
    assert len(stored["comments"]) == 4  # one post, four comments
    assert len(stored["untitled"]) == 2  # description-only items
    assert len(stored["surrogates"]) == 3
    hugo = {row["title"]: row for row in stored["hugo"]}
    about = hugo["About this handbook"]  # dated year 1: undated, so dated when first seen
    assert about["published"] == about["first_seen"]
    assert {row["title"] for row in stored["surrogates"]} >= {"Broken emoji in a title"}


def test_a_build_goes_through_feeds_with_surrogates_and_placeholder_dates(example: Path) -> None:
    with_odd_feeds(example)
    build = run_kb("--project", example, "build", "--no-site")
    assert build.exit_code == 0, build.stderr
    assert "internal error" not in build.stderr


def test_a_feed_whose_store_write_fails_fails_alone(
    example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = SqlStore.save_updates

    def save_updates(self: SqlStore, updates: Sequence[FeedUpdate]) -> list[int]:
        if any(update.name == "hugo" and update.entries for update in updates):
            raise OverflowError("date value out of range")  # the year-1 crash, simulated
        return real(self, updates)

    monkeypatch.setattr(SqlStore, "save_updates", save_updates)
    with_odd_feeds(example)
    result = run_kb("--project", example, "fetch")
    assert result.exit_code == 0, result.stderr
    assert (
        "\nfeed hugo: could not be stored: OverflowError: date value out of range\n"
        in result.stderr
    )
    assert "12 feeds: 11 ok, 0 not modified, 1 failed, 0 skipped" in result.stderr
    stored = items_by_feed(example)
    assert "hugo" not in stored
    assert len(stored["now-page"]) == 3 and len(stored["untitled"]) == 2  # named after it
    health = json.loads(run_kb("--project", example, "feeds", "--format", "json").stdout)
    hugo = next(row for row in health if row["name"] == "hugo")
    assert (hugo["status"], hugo["failures"]) == ("error", 1)


def test_an_invalid_feed_that_lost_its_items_is_reported_failed(example: Path) -> None:
    shutil.copy(FEEDS / "unclosed-cdata.xml", example / "feeds" / "lost.xml")
    add_feeds(example, {"lost": "lost.xml"})
    result = run_kb("--project", example, "fetch")
    assert result.exit_code == 0, result.stderr
    assert (
        "\nfeed lost: invalid XML (line 39: unclosed CDATA section): none of its 35 items"
        " could be read\n"
    ) in result.stderr
    strict = run_kb("--project", example, "fetch", "--strict", "--force", "--feed", "lost")
    assert strict.exit_code == 1
