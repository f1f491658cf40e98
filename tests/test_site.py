"""The internal site: generated pages for every account, topic and note, safe and reproducible."""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest
from conftest import DATA, run_kb
from pytest_httpserver import HTTPServer
from team import make_team

from generator.models import FeedUpdate
from generator.store import Store, open_store


@contextmanager
def opened(project: Path) -> Iterator[Store]:
    store = open_store(project / ".kb")
    try:
        yield store
    finally:
        store.close()


def site_digest(site: Path) -> dict[str, str]:
    """Every built file's hash; kb's own folder marker aside (plain mkdocs writes none)."""
    return {
        str(p.relative_to(site)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(site.rglob("*"))
        if p.is_file() and p.name != ".kb-output"
    }


def test_site_has_a_page_per_account_topic_and_note(example: Path) -> None:
    assert run_kb("--project", example, "build").exit_code == 0
    site = example / "site"
    for kind, folder, suffix in (
        ("accounts", "content/accounts", ".yml"),
        ("notes", "content/notes", ".md"),
    ):
        for source in (example / folder).glob(f"*{suffix}"):
            assert (site / kind / f"{source.stem}.html").exists(), source
    assert (site / "topics" / "driver-workforce.html").exists()
    assert (site / "newsletters" / "2026-W47.html").exists()
    assert not list(site.rglob("*.yml")), "project YAML must not be published"
    page = (site / "accounts" / "ridgeline-freight.html").read_text()
    assert "Finding and keeping qualified truck drivers" in page
    assert "Worth sending now" in page


def test_site_is_byte_identical_across_builds(example: Path) -> None:
    assert run_kb("--project", example, "build").exit_code == 0
    first = site_digest(example / "site")
    shutil.rmtree(example / "site")
    assert run_kb("--project", example, "build", "--offline").exit_code == 0
    assert site_digest(example / "site") == first


def test_feed_text_never_becomes_markup_on_the_site(example: Path) -> None:
    shutil.copy(DATA / "site" / "hostile.xml", example / "feeds" / "hostile.xml")
    with (example / "feeds" / "feeds.yml").open("a") as feeds:
        feeds.write("\n  - name: hostile\n    url: hostile.xml\n    topics: [driver-workforce]\n")
    assert run_kb("--project", example, "build").exit_code == 0
    news = (example / "site" / "news.html").read_text()
    assert "Driver turnover" in news
    for payload in ("alert('title')", "onerror=alert", "javascript:alert"):
        for page in (example / "site").rglob("*.html"):
            html = page.read_text()
            assert f"<script>{payload}" not in html
            assert "<img src=x onerror" not in html
            assert 'href="javascript:' not in html


def test_missing_plugin_is_explained(example: Path) -> None:
    config = example / "mkdocs.yml"
    config.write_text(config.read_text().replace("  - kb\n", ""))
    result = run_kb("--project", example, "build")
    assert result.exit_code == 1
    assert "add '- kb' under 'plugins:'" in result.stderr
    assert not (example / "build").exists(), "a broken site must stop the run before any write"


def test_a_broken_site_config_keeps_the_previous_site_and_writes_nothing(example: Path) -> None:
    assert run_kb("--project", example, "build").exit_code == 0
    before = site_digest(example / "site")
    digests = sorted((example / "build").rglob("*"))
    config = example / "mkdocs.yml"
    config.write_text(config.read_text().replace("name: material", "name: no-such-theme"))
    result = run_kb("--project", example, "build", "--now", "2026-11-23")
    assert result.exit_code == 1
    assert "no-such-theme" in result.stderr
    assert site_digest(example / "site") == before
    assert sorted((example / "build").rglob("*")) == digests
    assert [p.name for p in example.iterdir() if p.name.startswith(".site")] == []


# --- the site at team scale --------------------------------------------------------------


def mkdocs(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Plain ``mkdocs`` in the project, as a team runs it (no kb in between)."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def page_text(page: Path) -> str:
    """What a reader sees of a page's article: tags dropped, entities decoded, one line."""
    article = page.read_text().split('<article class="md-content__inner', 1)[1]
    article = article.split("</article>", 1)[0]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", article)).split())


def test_plain_mkdocs_build_strict_shows_what_kb_build_ranked(example: Path) -> None:
    assert run_kb("--project", example, "build").exit_code == 0
    built = example / "site"
    ranked = (built / "accounts" / "ridgeline-freight.html").read_text()
    shutil.move(built, example / "by-kb")
    done = mkdocs(example, "build", "--strict")
    assert done.returncode == 0, done.stderr
    assert (built / "accounts" / "ridgeline-freight.html").read_text() == ranked
    assert site_digest(built).keys() == site_digest(example / "by-kb").keys()


def test_plain_mkdocs_build_before_any_kb_build_says_what_to_do(example: Path) -> None:
    done = mkdocs(example, "build", "--strict")
    assert done.returncode == 1
    assert "site-pages.json: no generated pages yet: run `kb build` first" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_damaged_manifest_asks_for_a_new_kb_build(example: Path) -> None:
    assert run_kb("--project", example, "build", "--no-site").exit_code == 0
    (example / ".kb").mkdir(exist_ok=True)
    (example / ".kb" / "site-pages.json").write_text('{"version": 1, "now": "2026-11-16"')
    done = mkdocs(example, "build")
    assert done.returncode == 1
    assert "unreadable" in done.stderr and "run `kb build` again" in done.stderr


def test_the_plugin_never_imports_the_pipeline() -> None:
    probe = "import sys, generator.site.plugin; print(sorted(m for m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded = done.stdout
    assert "generator.site.plugin" in loaded
    for module in ("generator.pipeline", "generator.rank", "generator.digest", "generator.cli"):
        assert f"'{module}'" not in loaded, module


def test_navigation_holds_sections_not_every_account(example: Path) -> None:
    assert run_kb("--project", example, "build").exit_code == 0
    site = example / "site"
    home = (site / "index.html").read_text()
    nav = home.split('<nav class="md-nav md-nav--primary"', 1)[1].split("md-sidebar--secondary")[0]
    for section in ("accounts/index.html", "notes/index.html", "newsletters/index.html",
                    "feed-health.html", "tags.html", "playbook/first-call.html"):  # fmt: skip
        assert f'href="{section}"' in nav, section
    assert "accounts/ridgeline-freight.html" not in nav
    assert "notes/detention-cost-conversation.html" not in nav
    index = page_text(site / "accounts" / "index.html")
    assert "Trucking & Logistics" in index and "Sam Ortega" in index
    industry = page_text(site / "accounts" / "industry" / "trucking-logistics.html")
    assert "Ridgeline Freight" in industry and "Polar Lane Logistics" in industry
    assert "Meadowcrest Foods" not in industry
    rep = page_text(site / "accounts" / "rep" / "sam-ortega.html")
    assert "Ridgeline Freight" in rep


def test_home_page_says_what_is_new_this_week(example: Path) -> None:
    assert run_kb("--project", example, "build").exit_code == 0
    home = page_text(example / "site" / "index.html")
    assert "Newsletter: week 2026-W47" in home
    assert re.search(r"News: \d+ items in the last seven days", home)
    assert re.search(r"Accounts with something to send: [1-6] of 6", home)
    assert "Ridgeline Freight" in home


def test_a_long_list_is_cut_into_pages(example: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("generator.site.pages.PER_PAGE", 1)
    assert run_kb("--project", example, "build").exit_code == 0
    site = example / "site"
    first = page_text(site / "accounts" / "industry" / "trucking-logistics.html")
    second = page_text(site / "accounts" / "industry" / "trucking-logistics" / "page" / "2.html")
    assert "(1/2)" in first and "Polar Lane Logistics" in first
    assert "(2/2)" in second and "Ridgeline Freight" in second
    assert "Ridgeline Freight" not in first
    assert (site / "notes" / "index" / "page" / "12.html").exists()


def test_account_page_gives_the_same_reason_as_the_email(example: Path) -> None:
    assert run_kb("--project", example, "build").exit_code == 0
    email = run_kb("--project", example, "digest", "ridgeline-freight", "--format", "md",
                   "--dry-run", "--include-sent")  # fmt: skip
    reasons = re.findall(r"\*\*Why this matters to you:\*\* (.+)", email.stdout)
    assert reasons
    page = page_text(example / "site" / "accounts" / "ridgeline-freight.html")
    for reason in reasons:
        assert re.sub(r"\\(.)", r"\1", reason) in page
    assert "matched" not in page, "a list of matched words is not a reason"


def test_site_feeds_are_valid_atom_and_announced_on_the_pages(example: Path) -> None:
    shutil.copy(DATA / "site" / "hostile.xml", example / "feeds" / "hostile.xml")
    with (example / "feeds" / "feeds.yml").open("a") as feeds:
        feeds.write("\n  - name: hostile\n    url: hostile.xml\n    topics: [driver-workforce]\n")
    assert run_kb("--project", example, "build").exit_code == 0
    site = example / "site"
    newsletter = feedparser.parse((site / "atom" / "newsletter.xml").read_bytes())
    assert newsletter.bozo == 0, newsletter.get("bozo_exception")
    assert [e.title for e in newsletter.entries] == ["Northbeam Sales Insights weekly: 2026-W47"]
    assert newsletter.feed.updated == "2026-11-16T09:00:00Z"
    topics = sorted((site / "atom" / "topics").glob("*.xml"))
    assert len(topics) == 14
    for path in topics:
        parsed = feedparser.parse(path.read_bytes())
        assert parsed.bozo == 0, (path, parsed.get("bozo_exception"))
    drivers = feedparser.parse((site / "atom" / "topics" / "driver-workforce.xml").read_bytes())
    titles = [e.title for e in drivers.entries]
    assert any(t.startswith("Driver turnover") for t in titles), titles
    raw = (site / "atom" / "topics" / "driver-workforce.xml").read_text()
    assert "<script" not in raw and "<img" not in raw
    page = (site / "topics" / "driver-workforce.html").read_text()
    alternates = re.findall(r'<link rel="alternate" type="application/atom\+xml"[^>]*>', page)
    hrefs = [re.search(r'href="([^"]+)"', a).group(1) for a in alternates]  # type: ignore[union-attr]
    assert hrefs == ["../atom/newsletter.xml", "../atom/topics/driver-workforce.xml"]
    assert 'href="../atom/topics/driver-workforce.xml"' in page.split("<article", 1)[1]
    home = (site / "index.html").read_text()
    newsletter_link = 'title="Northbeam Sales Insights: newsletter" href="atom/newsletter.xml"'
    assert f'<link rel="alternate" type="application/atom+xml" {newsletter_link}>' in home


def test_feed_health_shows_failures_and_who_loses_coverage(
    example: Path, server: HTTPServer
) -> None:
    server.expect_request("/hospital.xml").respond_with_data("down for maintenance", status=503)
    feeds = example / "feeds" / "feeds.yml"
    url = server.url_for("/hospital.xml")
    feeds.write_text(feeds.read_text().replace("url: hospital-ops-daily.xml", f"url: {url}"))
    with (example / "kb.yml").open("a") as settings:
        settings.write("\nfetch: {allow_private: [127.0.0.1]}\n")
    assert run_kb("--project", example, "build").exit_code == 0
    hostile = "<script>alert(1)</script>\x1b[31m [x](javascript:alert(2)) | cell"
    with opened(example) as store:
        state = store.feed_state("health-security-brief")
        assert state is not None
        store.save_update(
            FeedUpdate(
                state.name,
                state.url,
                datetime(2026, 11, 16, 8, tzinfo=UTC),
                "error",
                error=hostile,
                failures=1,
            )
        )
    assert run_kb("--project", example, "build", "--offline").exit_code == 0
    raw = (example / "site" / "feed-health.html").read_text()
    assert "<script>alert(1)" not in raw and "\x1b" not in raw and 'href="javascript:' not in raw
    rows = {
        cells[0]: cells
        for row in re.findall(r"<tr>(.*?)</tr>", raw, re.S)
        if (
            cells := [
                " ".join(html.unescape(re.sub(r"<[^>]+>", " ", c)).split())
                for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
            ]
        )
    }
    hospital = rows["Hospital Operations Daily"]
    assert hospital[1] == "error" and hospital[2] == "never" and "503" in hospital[4]
    # nurse staffing and patient flow come from this feed only: both hospitals lose them;
    # revenue cycle would still come from the other feed, if it were healthy.
    assert hospital[5] == "Calloway University Medical Center , Lakeshore Community Health"
    security = rows["Health System Security Brief"]
    # the script is dropped, the escape sequence too; the rest is shown as text, not markup
    assert security[1] == "error" and security[4] == "[x](javascript:alert(2)) | cell"
    assert security[5] == "Calloway University Medical Center , Lakeshore Community Health"
    freight = rows["Freight Wire"]
    assert freight[1] in ("ok", "not-modified") and freight[4] == "" and freight[5] == ""
    assert int(freight[3]) > 0


def test_notes_carry_topics_as_tags_and_search_finds_notes_accounts_items(example: Path) -> None:
    assert run_kb("--project", example, "build").exit_code == 0
    site = example / "site"
    note = (site / "notes" / "detention-cost-conversation.html").read_text()
    assert 'href="../tags/dock-and-detention.html#tag:' in note
    listing = page_text(site / "tags" / "dock-and-detention.html")
    assert "Detention costs carriers $1.1B a year" in listing
    assert "Dock scheduling & detention" in page_text(site / "tags.html")
    index = json.loads((site / "search" / "search_index.json").read_text())
    titles = {doc["title"] for doc in index["docs"]}
    assert "Detention costs carriers $1.1B a year – how to open the conversation" in titles
    assert "Ridgeline Freight" in titles
    text = " ".join(doc["text"] for doc in index["docs"])
    assert "Nearly half of departing drivers quit within 90 days" in text


def test_an_expired_note_is_marked_expired_and_left_out_of_its_topics_tags(example: Path) -> None:
    shutil.copy(DATA / "site" / "expired-detention-survey.md", example / "content" / "notes")
    assert run_kb("--project", example, "build").exit_code == 0
    site = example / "site"
    listing = page_text(site / "tags" / "dock-and-detention.html")
    assert "Detention costs carriers $1.1B a year" in listing
    assert "2025 detention survey" not in listing
    assert "Dock scheduling & detention 1" in page_text(site / "tags.html")
    note = site / "notes" / "expired-detention-survey.html"
    assert "Insight · 1 Jun 2026 · expired (valid until 1 Nov 2026)" in page_text(note)
    assert "tags/dock-and-detention.html#tag:" not in note.read_text()
    assert "2025 detention survey (superseded) insight, expired" in page_text(
        site / "notes" / "index.html"
    )


def test_a_topic_page_without_items_does_not_say_nothing_matched(example: Path) -> None:
    """Its items are the stories that name one of its phrases, as the digests file them; the
    stories its accounts were sent for their problems are on their pages."""
    topics = example / "content" / "topics.yml"
    topics.write_text(
        topics.read_text()
        + "  - id: yard-robots\n    title: Yard robots\n    keywords: [robotic yard tractor]\n"
    )
    account = example / "content" / "accounts" / "ridgeline-freight.yml"
    account.write_text(
        account.read_text().replace(
            "fleet-safety-compliance]", "fleet-safety-compliance, yard-robots]", 1
        )
    )
    assert run_kb("--project", example, "build").exit_code == 0
    followed = page_text(example / "site" / "topics" / "yard-robots.html")
    assert (
        "Recent items No recent story names a phrase we watch for this topic. What the accounts"
        " following it were sent is on their pages, below. Accounts following it Ridgeline Freight"
    ) in followed
    unfollowed = page_text(example / "site" / "topics" / "freight-market.html")
    assert unfollowed.endswith(
        "Recent items No recent story names a phrase we watch for this topic."
    )
    assert "Nothing matched" not in followed + unfollowed


def test_pages_stay_the_same_size_as_the_team_grows(tmp_path: Path) -> None:
    """Page size does not depend on the number of accounts: 50 and 200 accounts."""
    sizes: dict[int, dict[str, int]] = {}
    for count in (50, 200):
        project = make_team(tmp_path / f"team-{count}", count)
        assert run_kb("--project", project, "build").exit_code == 0
        site = project / "site"
        sizes[count] = {str(p.relative_to(site)): p.stat().st_size for p in site.rglob("*.html")}
        largest = max(sizes[count].items(), key=lambda kv: kv[1])
        assert largest[1] < 150_000, largest
    for page in ("index.html", "accounts/index.html", "accounts/account-0001.html",
                 "topics/driver-workforce.html", "news.html", "feed-health.html",
                 "notes/index.html", "tags.html"):  # fmt: skip
        small, large = sizes[50][page], sizes[200][page]
        assert abs(large - small) / small < 0.10, (page, small, large)
    assert max(sizes[200].values()) < 1.10 * max(sizes[50].values())
