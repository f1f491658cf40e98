"""``kb fetch``, ``kb feeds``, ``kb items`` and ``kb prune`` on the example project, plus the
two things only a real process can show: SIGKILL mid-run, and two runs at once."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from conftest import copy_example, run_kb
from feedserver import RSS, feed_bytes, generated_rss, serve_file, slow
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from generator import ingest
from generator.cli import common

EXAMPLE_ITEMS = 116  # the seven bundled feeds


def add_feeds(project: Path, feeds: dict[str, str], fetch: str = "") -> None:
    """Add feeds to the project; one served from 127.0.0.1 needs the project to allow it."""
    with (project / "feeds" / "feeds.yml").open("a", encoding="utf-8") as f:
        for name, url in feeds.items():
            f.write(f"\n  - name: {name}\n    url: {url}\n")
    if any(url.startswith("http://127.0.0.1:") for url in feeds.values()):
        fetch = f"  allow_private: [127.0.0.1]\n{fetch}"
    if fetch:
        with (project / "kb.yml").open("a", encoding="utf-8") as f:
            f.write(f"\nfetch:\n{fetch}")


def feeds_json(project: Path) -> dict[str, dict[str, object]]:
    result = run_kb("--project", project, "feeds", "--format", "json")
    assert result.exit_code == 0, result.stderr
    return {row["name"]: row for row in json.loads(result.stdout)}


def test_fetch_reports_every_feed_and_exits_0_when_some_fail(
    example: Path, server: HTTPServer
) -> None:
    server.expect_request("/good").respond_with_data(feed_bytes("rss.xml"), content_type=RSS)
    server.expect_request("/broken").respond_with_data("oops", status=500)
    add_feeds(
        example,
        {"remote-good": server.url_for("/good"), "remote-broken": server.url_for("/broken")},
    )
    result = run_kb("--project", example, "fetch")
    assert result.exit_code == 0, result.stderr
    assert "9 feeds: 8 ok, 0 not modified, 1 failed, 0 skipped; 118 new items" in result.stderr
    assert "\nfeed remote-broken: HTTP 500 INTERNAL SERVER ERROR\n" in result.stderr
    health = feeds_json(example)
    assert health["remote-broken"]["status"] == "error"
    assert health["remote-broken"]["failures"] == 1
    assert health["remote-broken"]["last_error"] == "HTTP 500 INTERNAL SERVER ERROR"
    assert health["remote-broken"]["next_fetch"] is not None
    assert health["remote-good"]["items"] == 2
    assert health["freight-wire"]["last_success"] is not None

    strict = run_kb("--project", example, "fetch", "--strict", "--force")
    assert strict.exit_code == 1
    assert "9 feeds: 1 ok, 7 not modified, 1 failed, 0 skipped; 0 new items" in strict.stderr


def test_fetch_one_feed_and_offline(example: Path) -> None:
    one = run_kb("--project", example, "fetch", "--feed", "freight-wire")
    assert one.exit_code == 0
    assert "1 feeds: 1 ok, 0 not modified, 0 failed, 0 skipped; 17 new items" in one.stderr
    offline = run_kb("--project", example, "fetch", "--offline")
    assert offline.exit_code == 0
    assert offline.stderr == "offline: 17 stored items from 7 feeds\n"
    unknown = run_kb("--project", example, "fetch", "--feed", "nope")
    assert (unknown.exit_code, unknown.stderr) == (2, "error: no such feed: nope\n")


def test_a_local_feed_with_no_items_is_ok_and_does_not_back_off(example: Path) -> None:
    (example / "feeds" / "quiet.xml").write_bytes(feed_bytes("no-items.xml"))
    add_feeds(example, {"quiet": "quiet.xml"})
    result = run_kb("--project", example, "fetch", "--feed", "quiet")
    assert result.exit_code == 0, result.stderr
    assert "1 feeds: 1 ok, 0 not modified, 0 failed, 0 skipped; 0 new items" in result.stderr
    health = feeds_json(example)["quiet"]
    assert (health["status"], health["failures"], health["last_error"]) == ("ok", 0, "")
    assert health["next_fetch"] is None


def test_items_newest_first_with_filters(example: Path) -> None:
    run_kb("--project", example, "fetch")
    every = json.loads(run_kb("--project", example, "items", "--format", "json").stdout)
    assert len(every) == EXAMPLE_ITEMS
    dates = [i["published"] for i in every]
    assert dates == sorted(dates, reverse=True)
    recent = json.loads(
        run_kb("--project", example, "items", "--format", "json", "--since", "3d").stdout
    )
    assert recent and all(i["published"] >= "2026-11-13T09:00:00Z" for i in recent)
    wire = json.loads(
        run_kb("--project", example, "items", "--format", "json", "--feed", "freight-wire").stdout
    )
    assert len(wire) == 17 and all("freight-wire" in i["sources"] for i in wire)
    text = run_kb("--project", example, "items", "--limit", "1").stdout
    assert text.startswith(every[0]["published"][:10])


def test_prune_needs_an_age_and_deletes_only_older_items(example: Path) -> None:
    run_kb("--project", example, "fetch")
    bad = run_kb("--project", example, "prune", "--older-than", "2026-01-01")
    assert bad.exit_code == 2
    assert "--older-than takes an age such as 90d or 12w" in bad.stderr
    before = json.loads(run_kb("--project", example, "items", "--format", "json").stdout)
    cutoff = "2026-11-06T09:00:00Z"
    older = [i for i in before if i["published"] < cutoff]
    pruned = run_kb("--project", example, "prune", "--older-than", "10d")
    assert pruned.stdout == f"removed {len(older)} items published before {cutoff}\n"
    after = json.loads(run_kb("--project", example, "items", "--format", "json").stdout)
    assert len(after) == len(before) - len(older)


# --- real processes -------------------------------------------------------------------------


def _kb(project: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from generator.cli import main; main()",
            "--project",
            str(project),
            "fetch",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )


def _stored(project: Path) -> int:
    path = project / ".kb" / "kb.sqlite"
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(path, timeout=5) as db:
            return int(db.execute("SELECT count(*) FROM items").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def _check_store(project: Path, expected: int) -> None:
    db = sqlite3.connect(project / ".kb" / "kb.sqlite")
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert db.execute("SELECT count(*) FROM items").fetchone()[0] == expected
    db.close()


def _slow_feeds(server: HTTPServer, project: Path, count: int, delay: float) -> None:
    def handler(request: Request) -> Response:
        time.sleep(delay)
        name = request.path.strip("/")
        return Response(
            generated_rss(20, host=f"https://{name}.example", prefix=name), content_type=RSS
        )

    feeds = {}
    for i in range(count):
        server.expect_request(f"/slow{i}").respond_with_handler(handler)
        feeds[f"slow{i}"] = server.url_for(f"/slow{i}")
    add_feeds(project, feeds, fetch="  concurrency: 2\n  per_host: 2\n")


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_sigkill_mid_run_then_rerun_loses_nothing(example: Path, server: HTTPServer) -> None:
    _slow_feeds(server, example, count=16, delay=0.25)
    victim = _kb(example)
    deadline = time.monotonic() + 20
    while (
        _stored(example) < EXAMPLE_ITEMS + 40 and time.monotonic() < deadline
    ):  # some HTTP feeds in
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert victim.returncode == -signal.SIGKILL
    partial = _stored(example)
    assert 0 < partial < EXAMPLE_ITEMS + 16 * 20
    _check_store(example, partial)

    rerun = _kb(example)
    _, stderr = rerun.communicate(timeout=60)
    assert rerun.returncode == 0, stderr.decode()
    _check_store(example, EXAMPLE_ITEMS + 16 * 20)


def test_two_runs_at_once_do_not_corrupt_the_store(example: Path, server: HTTPServer) -> None:
    _slow_feeds(server, example, count=6, delay=0.1)
    runs = [_kb(example), _kb(example)]
    for run in runs:
        _, stderr = run.communicate(timeout=60)
        assert run.returncode == 0, stderr.decode()
    _check_store(example, EXAMPLE_ITEMS + 6 * 20)
    health = feeds_json(example)
    assert {row["status"] for row in health.values()} <= {"ok", "not-modified"}


# --- retention: what was pruned stays pruned ------------------------------------------------

NEW_WIRE_ITEM = """    <item>
      <title>Reefer capacity tightens ahead of the holiday produce season</title>
      <link>https://www.freightwire.example/2026/11/16/reefer-capacity-tightens</link>
      <guid isPermaLink="true">https://www.freightwire.example/2026/11/16/reefer-capacity-tightens</guid>
      <pubDate>Mon, 16 Nov 2026 07:30:00 -0500</pubDate>
      <description>Spot reefer rates rose for a third week.</description>
    </item>
  </channel>"""


def _items(project: Path) -> dict[str, dict[str, Any]]:
    result = run_kb("--project", project, "items", "--format", "json")
    assert result.exit_code == 0, result.stderr
    return {row["url"]: row for row in json.loads(result.stdout)}


def _mirror_feed(project: Path, story: dict[str, Any]) -> None:
    """A new feed that repeats one pruned story, under its own guid."""
    published = datetime.fromisoformat(story["published"])
    (project / "feeds" / "mirror.xml").write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>Mirror</title>'
        f"<item><title>{escape(story['title'])}</title><link>{escape(story['url'])}</link>"
        f"<guid isPermaLink='false'>mirror-1</guid><pubDate>{format_datetime(published)}</pubDate>"
        "</item></channel></rss>\n",
        encoding="utf-8",
    )
    add_feeds(project, {"mirror": "mirror.xml"})


def test_pruned_items_stay_gone_when_feeds_still_list_them(example: Path) -> None:
    run_kb("--project", example, "fetch")
    digest = run_kb("--project", example, "digest", "ridgeline-freight", "--out", example / "out")
    assert digest.exit_code == 0, digest.stderr
    sent = run_kb("--project", example, "history", "ridgeline-freight", "--format", "json").stdout
    before = _items(example)
    cutoff = "2026-11-06T09:00:00Z"
    older = {url for url, i in before.items() if i["published"] < cutoff}
    assert older and any(row["url"] in older for row in json.loads(sent))

    pruned = run_kb("--project", example, "prune", "--older-than", "10d")
    assert pruned.stdout == f"removed {len(older)} items published before {cutoff}\n"

    wire = example / "feeds" / "freight-wire.xml"  # changed, so it is read again in full
    wire.write_text(wire.read_text("utf-8").replace("  </channel>", NEW_WIRE_ITEM), "utf-8")
    _mirror_feed(example, before[min(older)])
    again = run_kb("--project", example, "fetch")
    assert again.exit_code == 0, again.stderr
    assert "8 feeds: 2 ok, 6 not modified, 0 failed, 0 skipped; 1 new items" in again.stderr

    after = _items(example)
    assert set(after) == (set(before) - older) | {
        "https://www.freightwire.example/2026/11/16/reefer-capacity-tightens"
    }
    assert all(
        after[url]["first_seen"] == before[url]["first_seen"] for url in before.keys() - older
    )
    history = run_kb("--project", example, "history", "ridgeline-freight", "--format", "json")
    assert history.stdout == sent
    twice = run_kb("--project", example, "prune", "--older-than", "10d")
    assert twice.stdout == f"removed 0 items published before {cutoff}\n"


# --- feeds that were removed, and pages that point at feeds --------------------------------


def test_a_feed_removed_from_feeds_yml_is_not_fetched_or_listed_but_keeps_its_items(
    example: Path, server: HTTPServer
) -> None:
    server.expect_request("/old").respond_with_data(feed_bytes("rss.xml"), content_type=RSS)
    listed = example / "feeds" / "feeds.yml"
    original = listed.read_text("utf-8")
    add_feeds(example, {"old-blog": server.url_for("/old")})
    run_kb("--project", example, "fetch")
    kept = {url for url, i in _items(example).items() if i["sources"] == ["old-blog"]}
    assert len(kept) == 2

    listed.write_text(original, "utf-8")
    again = run_kb("--project", example, "fetch", "--force")
    assert "7 feeds: 0 ok, 7 not modified, 0 failed, 0 skipped; 0 new items" in again.stderr
    assert len(server.log) == 1
    assert "old-blog" not in feeds_json(example)
    assert "old-blog" not in run_kb("--project", example, "feeds").stdout
    assert kept <= set(_items(example))
    one = run_kb("--project", example, "fetch", "--feed", "old-blog")
    assert (one.exit_code, one.stderr) == (2, "error: no such feed: old-blog\n")


def test_kb_feeds_shows_the_feed_a_page_pointed_to(
    example: Path, server: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.expect_request("/blog").respond_with_data(
        feed_bytes("page-with-feed.html"), content_type="text/html; charset=utf-8"
    )
    serve_file(server, "/feed.xml", "rss.xml")
    add_feeds(example, {"blog": server.url_for("/blog")})
    fetched = run_kb("--project", example, "fetch", "--feed", "blog")
    assert fetched.exit_code == 0, fetched.stderr
    health = feeds_json(example)
    assert health["blog"]["discovered"] == server.url_for("/feed.xml")
    assert health["freight-wire"]["discovered"] == ""
    monkeypatch.setenv("COLUMNS", "200")  # a wide terminal, so that rich does not elide it
    monkeypatch.setattr(common.out, "_console", None)  # one made by an earlier test is narrower
    table = run_kb("--project", example, "feeds").stdout
    [row] = [line for line in table.splitlines() if " blog " in line]
    assert (
        f"the URL is a page; its feed is {server.url_for('/feed.xml')}: use that in feeds.yml"
        in row
    )


# --- the same feeds give the same items, whichever server answers first ---------------------


def test_the_same_story_in_two_feeds_is_stored_alike_whichever_answers_first(
    tmp_path: Path, server: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest, "wall_clock", lambda: datetime(2026, 11, 16, 9, tzinfo=UTC))
    listings = []
    for slow_feed in ("wire-a", "wire-b"):
        server.clear()
        for name in ("wire-a", "wire-b"):
            delay = 0.4 if name == slow_feed else 0.0
            data = feed_bytes(f"dupes-{name[-1]}.xml")
            server.expect_request(f"/{name}").respond_with_handler(slow(delay, data))
        project = copy_example(tmp_path / f"{slow_feed}-slow")
        add_feeds(
            project, {"wire-a": server.url_for("/wire-a"), "wire-b": server.url_for("/wire-b")}
        )
        fetched = run_kb("--project", project, "fetch")
        assert fetched.exit_code == 0, fetched.stderr
        listing = run_kb("--project", project, "items", "--format", "json")
        assert listing.exit_code == 0, listing.stderr
        listings.append(listing.stdout)
    assert listings[0] == listings[1]
    strike = next(i for i in json.loads(listings[0]) if "port-strike" in i["url"])
    assert (strike["title"], strike["sources"]) == (
        "Port strike ends after nine days",
        ["wire-a", "wire-b"],
    )
