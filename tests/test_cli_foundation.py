"""The foundation's commands on real project files: init, check, build, newsletter, site."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import DATA, EXAMPLE_NOW, run_kb


def add_broken_files(project: Path) -> None:
    for path in sorted((DATA / "broken").glob("*.yml")):
        shutil.copy(path, project / "content" / "accounts" / path.name)
    shutil.copy(DATA / "broken" / "bad-note.md", project / "content" / "notes" / "bad-note.md")


EXPECTED_PROBLEMS = [
    "content/accounts/missing-name.yml:1: an account is missing required field 'name'",
    "content/accounts/unknown-field.yml:2: unknown field 'problem' in an account"
    " (did you mean 'problems'?)",
    "content/accounts/unknown-topic.yml:7: unknown topic id 'driver-workfroce'"
    " (did you mean 'driver-workforce'?)",
    "content/accounts/yaml-syntax.yml:6: YAML syntax error: while parsing a flow sequence"
    " (line 5): expected ',' or ']', but got ':'",
    "content/notes/bad-note.md:3: 'date' must be a date like 2026-11-16, got '2026-13-45'",
    "content/notes/bad-note.md:4: 'kind' must be one of insight, question, case-study, product,"
    " got 'rumour'",
    "content/notes/bad-note.md:5: unknown topic id 'no-such-topic'",
]


def test_check_accepts_the_example(example: Path) -> None:
    result = run_kb("--project", example, "check")
    assert result.exit_code == 0
    assert result.stdout.startswith("ok: 7 feeds,")


def test_check_reports_every_problem_at_once_as_path_line_message(
    example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_broken_files(example)
    monkeypatch.chdir(example)
    result = run_kb("check")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[:-1] == EXPECTED_PROBLEMS
    assert lines[-1] == "7 problems found; nothing was written."
    assert "Traceback" not in result.output


def test_build_stops_before_writing_anything_on_bad_input(example: Path) -> None:
    add_broken_files(example)
    result = run_kb("--project", example, "build")
    assert result.exit_code == 1
    assert "unknown topic id 'driver-workfroce'" in result.stderr
    assert not (example / ".kb").exists()
    assert not (example / "build").exists()
    assert not (example / "site").exists()


def test_build_writes_digests_for_every_account_newsletter_and_site(example: Path) -> None:
    result = run_kb("--project", example, "build")
    assert result.exit_code == 0, result.output
    accounts = sorted(p.stem for p in (example / "content" / "accounts").glob("*.yml"))
    for slug in accounts:
        digest = json.loads((example / "build/digests" / slug / "2026-11-16.json").read_text())
        assert digest["items"], f"{slug} got an empty digest"
        assert all(item["why"] for item in digest["items"])
        assert f"  {slug}: " in result.stdout
    assert (example / "build/newsletter/2026-W47.md").read_text().startswith("# ")
    assert (example / "site/index.html").exists()
    for slug in accounts:
        assert (example / "site/accounts" / f"{slug}.html").exists()
    assert "site: " in result.stdout and "newsletter: " in result.stdout


def test_build_is_byte_identical_when_run_twice(example: Path, tmp_path: Path) -> None:
    assert run_kb("--project", example, "build", "--no-site").exit_code == 0
    first = {p: p.read_bytes() for p in sorted((example / "build").rglob("*")) if p.is_file()}
    shutil.rmtree(example / "build")
    assert run_kb("--project", example, "build", "--no-site").exit_code == 0
    second = {p: p.read_bytes() for p in sorted((example / "build").rglob("*")) if p.is_file()}
    assert first == second


def test_init_scaffolds_a_project_that_builds(tmp_path: Path) -> None:
    target = tmp_path / "fresh"
    result = run_kb("init", target)
    assert result.exit_code == 0
    assert (target / "feeds/feeds.yml").exists() and (target / "mkdocs.yml").exists()
    built = run_kb("--project", target, "build")
    assert built.exit_code == 0, built.output
    assert list((target / "build/digests").rglob("*.md"))
    assert (target / "site/index.html").exists()


def test_init_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    result = run_kb("init", tmp_path)
    assert result.exit_code == 2
    assert "is not empty" in result.stderr
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_not_a_project_is_a_clear_error(tmp_path: Path) -> None:
    result = run_kb("--project", tmp_path, "check")
    assert result.exit_code == 1
    assert "not a Knowledge Broker project" in result.stderr


def test_newsletter_covers_the_week_before_its_monday(example: Path) -> None:
    assert run_kb("--project", example, "fetch").exit_code == 0
    result = run_kb("--project", example, "newsletter", "--week", "2026-W47")
    assert result.exit_code == 0
    text = (example / "build/newsletter/2026-W47.md").read_text()
    assert "9 Nov 2026 to 15 Nov 2026" in text
    assert "For: " in text
    bad = run_kb("--project", example, "newsletter", "--week", "2026-47")
    assert bad.exit_code == 2
    assert "week must look like 2026-W47" in bad.stderr


def test_digest_json_has_the_documented_shape(example: Path) -> None:
    run_kb("--project", example, "fetch")
    result = run_kb(
        "--project", example, "digest", "ridgeline-freight", "--format", "json", "--dry-run",
        "--now", EXAMPLE_NOW,
    )  # fmt: skip
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["account"] == "ridgeline-freight"
    assert data["generated_at"] == "2026-11-16T09:00:00Z"
    for item in data["items"]:
        assert {"title", "url", "source", "published", "score", "why"} <= set(item)
    scores = [item["score"] for item in data["items"]]
    assert scores == sorted(scores, reverse=True)


def test_unknown_account_is_a_usage_error(example: Path) -> None:
    result = run_kb("--project", example, "digest", "no-such-account")
    assert result.exit_code == 2
    assert "unknown account: no-such-account" in result.stderr


def test_feeds_topics_and_settings_errors_are_located(example: Path) -> None:
    shutil.copy(DATA / "broken" / "settings" / "feeds.yml", example / "feeds" / "feeds.yml")
    shutil.copy(DATA / "broken" / "settings" / "kb.yml", example / "kb.yml")
    with (example / "content" / "topics.yml").open("a") as topics:
        topics.write("  - id: cold-chain\n    title: again\n")
    lines = run_kb("--project", example, "check").stderr.splitlines()
    root = str(example)
    expected = [
        "feeds/feeds.yml:5: unknown field 'wieght' in a feed (did you mean 'weight'?)",
        "feeds/feeds.yml:6: 'name' must be a slug (lowercase letters, digits, '-' or '_'),"
        " got 'Freight Wire'",
        "feeds/feeds.yml:7: 'url' must be http(s) or a path, got 'ftp://example.com/feed'",
        "feeds/feeds.yml:8: duplicate feed name 'freight-wire' (first defined on line 2)",
        "feeds/feeds.yml:9: feed file not found: feeds/missing.xml",
        "feeds/feeds.yml:10: a feed is missing required field 'name'",
        "kb.yml:1: 'now' must be a date or time in ISO 8601 between 1970 and 9000,"
        " got 'next tuesday'",
        "kb.yml:3: 'threshold' must be a number, not 'high'",
        "kb.yml:4: 'max_items' must be between 1 and 100",
        "kb.yml:6: unknown digest format 'pdf' (choose from md, html, txt, json, eml, note, call)",
    ]
    for line in expected:
        assert f"{root}/{line}" in lines
    duplicate = re.compile(
        r".*/content/topics.yml:\d+: duplicate topic id 'cold-chain' \(first defined on line \d+\)"
    )
    assert any(duplicate.fullmatch(ln) for ln in lines)


def test_check_reports_broken_and_misnamed_templates(example: Path) -> None:
    templates = example / "templates"
    templates.mkdir()
    (templates / "digest.md.j2").write_text("{% for pick in picks %}\n{{ pick.title }\n")
    (templates / "digest.htm.j2").write_text("<p>hi</p>\n")
    result = run_kb("--project", example, "check")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[:2] == [
        f"{templates}/digest.htm.j2: 'digest.htm.j2' replaces no template"
        " (did you mean 'digest.html.j2'?)",
        f"{templates}/digest.md.j2:2: template error: unexpected '}}'",
    ]


def test_more_content_mistakes_are_caught_before_anything_runs(example: Path) -> None:
    more = DATA / "broken" / "more"
    for name in ("blank-name.yml", "adhoc.yml"):
        shutil.copy(more / name, example / "content" / "accounts" / name)
    for name in ("expired-early.md", "Bad Name.md", "bom-note.md"):
        shutil.copy(more / name, example / "content" / "notes" / name)
    with (example / "feeds" / "feeds.yml").open("a") as feeds:
        feeds.write("  - name: outside\n    url: ../kb.yml\n")
    lines = run_kb("--project", example, "check").stderr.splitlines()
    tails = sorted(line.removeprefix(f"{example}/") for line in lines[:-1])
    assert tails == [
        "content/accounts/adhoc.yml: 'adhoc' is kept for `kb digest --problem`: rename the file",
        "content/accounts/blank-name.yml:1: an account is missing required field 'name'",
        "content/accounts/blank-name.yml:6: 'email' is not a plain (ASCII) email address:"
        " 'josé@exämple.com'",
        "content/notes/Bad Name.md: file name must be a slug"
        " (lowercase letters, digits, '-' or '_')",
        "content/notes/expired-early.md:4: 'expires' (2026-10-01) is before 'date' (2026-11-01)",
        "feeds/feeds.yml:"
        + str(feeds_line(example, "../kb.yml"))
        + ": a feed file must be inside feeds/, got '../kb.yml'",
    ]


def feeds_line(project: Path, text: str) -> int:
    lines = (project / "feeds" / "feeds.yml").read_text().splitlines()
    return next(n for n, line in enumerate(lines, 1) if text in line)


@pytest.mark.parametrize("site_dir", ["feeds", ".kb", "build", ".", "..", "content/site"])
def test_site_dir_may_not_overlap_anything_the_build_would_empty(
    example: Path, site_dir: str
) -> None:
    (example / "kb.yml").write_text(f"now: 2026-11-16\nsite_dir: {site_dir}\n")
    result = run_kb("--project", example, "build")
    assert result.exit_code == 1
    assert f"{example}/kb.yml:2: 'site_dir' must" in result.stderr
    assert (example / "feeds" / "feeds.yml").exists()
    assert not (example / ".kb").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["digest", "ridgeline-freight", "--now", "0001-01-01"], "the year must be between"),
        (["digest", "ridgeline-freight", "--now", "9999-12-31T23:59:59-12:00"], "out of range"),
        (["items", "--since", "99999999999d"], "further back than the calendar goes"),
        (["prune", "--older-than", "3000000d"], "further back than the calendar goes"),
        (["newsletter", "--week", "0001-W01"], "the week's year must be between 1970 and 9000"),
    ],
)
def test_extreme_dates_are_usage_errors_not_crashes(
    example: Path, args: list[str], message: str
) -> None:
    result = run_kb("--project", example, *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr


def test_dry_run_prints_every_output_under_its_path(example: Path) -> None:
    assert run_kb("--project", example, "fetch").exit_code == 0
    result = run_kb("--project", example, "digest", "--all", "--format", "note", "--dry-run")
    headers = [line for line in result.stdout.splitlines() if line.startswith("==> ")]
    slugs = sorted(p.stem for p in (example / "content" / "accounts").glob("*.yml"))
    assert (
        headers == [f"==> build/digests/{s}/2026-11-16.note.txt <==" for s in slugs]
        or [h.split("/")[-2] for h in headers] == slugs
    )
    assert not (example / "build").exists()


def test_outputs_are_readable_by_the_team_not_only_their_owner(example: Path) -> None:
    import os
    import stat

    old = os.umask(0o022)
    try:
        assert run_kb("--project", example, "build", "--no-site").exit_code == 0
    finally:
        os.umask(old)
    for path in (example / "build").rglob("*.*"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path


def test_newsletter_keeps_relevant_older_stories_and_sanitizes_notes(example: Path) -> None:
    config = (example / "kb.yml").read_text().replace("half_life_days: 14", "half_life_days: 0.1")
    (example / "kb.yml").write_text(config)
    (example / "content" / "notes" / "scripted.md").write_text(
        "---\ntitle: A note with markup\ndate: 2026-11-12\ntopics: [driver-workforce]\n---\n"
        "Read this.<script>alert('note')</script>\n"
    )
    assert run_kb("--project", example, "fetch").exit_code == 0
    assert run_kb("--project", example, "newsletter", "--week", "2026-W47").exit_code == 0
    text = (example / "build/newsletter/2026-W47.md").read_text()
    assert text.count("\n### ") >= 10, "a short half-life must not empty the newsletter"
    page = (example / "build/newsletter/2026-W47.html").read_text()
    assert "A note with markup" in page
    assert "<script>alert" not in page


@pytest.mark.parametrize(
    "name",
    [
        "kb.yml",
        "feeds/feeds.yml",
        "content/topics.yml",
        "content/lexicon.yml",
        "content/accounts/ridgeline-freight.yml",
        "content/notes/detention-cost-conversation.md",
    ],
)
def test_a_file_that_is_not_utf8_is_an_error_on_the_line_of_its_first_bad_byte(
    example: Path, name: str
) -> None:
    """Saved with Windows line ends (one line each), with a Latin-1 'é' on line 3."""
    path = example / name
    if not path.exists():
        path.write_text("related:\n  - [vintage, harvest]\n  - [oak, barrel]\n", encoding="utf-8")
    lines = path.read_bytes().splitlines()
    lines.insert(2, "# café".encode("latin-1"))
    path.write_bytes(b"\r\n".join(lines))
    result = run_kb("--project", example, "check")
    assert result.exit_code == 1
    assert f"{path}:3: not UTF-8 text" in result.stderr.splitlines()
