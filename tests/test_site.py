"""The internal site: generated pages for every account, topic and note, safe and reproducible."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from conftest import DATA, run_kb


def site_digest(site: Path) -> dict[str, str]:
    return {
        str(p.relative_to(site)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(site.rglob("*"))
        if p.is_file()
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
