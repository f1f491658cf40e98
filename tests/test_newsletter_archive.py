"""The newsletter archive (content/newsletters/): written by kb build and kb newsletter, never a
repeat, the value gate, and located errors for a malformed entry."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import yaml
from conftest import DATA, run_kb
from hypothesis import given
from hypothesis import strategies as st

from generator import pipeline
from generator.archive import archive_text, parse_issue
from generator.yamlfile import Checker

NEXT_WEEK_NOW = "2026-11-23T09:00:00Z"
W47 = Path("content/newsletters/2026-W47.md")
W48 = Path("content/newsletters/2026-W48.md")
# A story of the 2026-W47 issue that its feed re-dated into the next week, and a W46 story
# re-dated likewise (it was in no issue, so the next one may carry it).
REDATED_W47 = "https://www.freightwire.example/2026/11/10/half-of-drivers-quit-within-90-days"
REDATED_W46 = "https://www.freightwire.example/2026/11/07/midwest-dwell-times-pass-three-hours"


def front(path: Path) -> dict[str, object]:
    text = path.read_text(encoding="utf-8")
    data = yaml.safe_load(text.split("---\n")[1])
    assert isinstance(data, dict)
    return data


def urls(path: Path) -> set[str]:
    items = front(path)["items"]
    assert isinstance(items, list)
    return {i["url"] for i in items}


def redate_stories(project: Path) -> None:
    """The feed re-dates two stories into 2026-W48, as feeds do when they update a story."""
    feed = project / "feeds" / "freight-wire.xml"
    text = feed.read_text(encoding="utf-8")
    for old, new in (
        ("Tue, 10 Nov 2026 07:55:00 -0500", "Wed, 18 Nov 2026 07:55:00 -0500"),
        ("Sat, 07 Nov 2026 11:20:00 -0500", "Tue, 17 Nov 2026 11:20:00 -0500"),
    ):
        assert old in text
        text = text.replace(old, new)
    feed.write_text(text, encoding="utf-8")


def test_build_writes_the_archive_entry_with_its_front_matter(example: Path) -> None:
    result = run_kb("--project", example, "build", "--no-site")
    assert result.exit_code == 0, result.output
    assert f"newsletter: {example / W47}" in result.stdout
    data = front(example / W47)
    assert list(data) == ["week", "title", "generated_at", "start", "end", "items", "notes"]
    assert data["week"] == "2026-W47"
    assert data["title"] == "Northbeam Sales Insights weekly: 2026-W47"
    assert data["generated_at"] == "2026-11-16T09:00:00Z"
    assert (data["start"], data["end"]) == (date(2026, 11, 9), date(2026, 11, 16))
    assert REDATED_W47 in urls(example / W47)
    body = (example / W47).read_text(encoding="utf-8").split("---\n", 2)[2]
    assert body == (example / "build/newsletter/2026-W47.md").read_text(encoding="utf-8")
    assert body.startswith("# Northbeam Sales Insights weekly: 2026-W47\n")
    assert run_kb("--project", example, "check").exit_code == 0


def test_the_same_week_built_twice_is_byte_identical(example: Path) -> None:
    assert run_kb("--project", example, "build", "--no-site").exit_code == 0
    first = (example / W47).read_bytes()
    shutil.rmtree(example / ".kb")
    assert run_kb("--project", example, "build", "--no-site").exit_code == 0
    assert (example / W47).read_bytes() == first
    # `kb newsletter` ranks the week as `kb build` does, so it writes the same bytes too
    result = run_kb("--project", example, "newsletter", "--week", "2026-W47")
    assert result.exit_code == 0, result.output
    assert (example / W47).read_bytes() == first


def test_the_next_week_repeats_no_story_even_from_a_fresh_clone(
    example: Path, tmp_path: Path
) -> None:
    assert run_kb("--project", example, "build", "--no-site").exit_code == 0
    # a fresh clone: the repository's files (archive included), no state directory
    clone = tmp_path / "clone"
    shutil.copytree(example, clone, ignore=shutil.ignore_patterns(".kb", "build"))
    redate_stories(clone)
    result = run_kb("--project", clone, "build", "--no-site", "--now", NEXT_WEEK_NOW)
    assert result.exit_code == 0, result.output
    assert urls(clone / W48), "the next week's issue has stories of its own"
    assert REDATED_W46 in urls(clone / W48)
    assert not urls(clone / W48) & urls(clone / W47)
    assert (clone / W47).read_bytes() == (example / W47).read_bytes()
    # without the archive, the re-dated story would have come back
    (clone / W47).unlink()
    shutil.rmtree(clone / ".kb")
    assert run_kb("--project", clone, "build", "--no-site", "--now", NEXT_WEEK_NOW).exit_code == 0
    assert REDATED_W47 in urls(clone / W48)


def test_an_issue_with_nothing_worth_sending_is_not_written_unless_forced(example: Path) -> None:
    assert run_kb("--project", example, "fetch").exit_code == 0
    args = ("--project", example, "newsletter", "--week", "2026-W50", "--now", NEXT_WEEK_NOW)
    result = run_kb(*args)
    assert result.exit_code == 0, result.output
    assert "newsletter 2026-W50: nothing worth sending" in result.stdout
    assert "--force" in result.stdout
    assert not (example / "content/newsletters").exists()
    assert not (example / "build").exists()
    forced = run_kb(*args, "--force")
    assert forced.exit_code == 0, forced.output
    assert front(example / "content/newsletters/2026-W50.md")["items"] == []


def test_dry_run_prints_the_entry_and_writes_nothing(example: Path) -> None:
    assert run_kb("--project", example, "fetch").exit_code == 0
    result = run_kb("--project", example, "newsletter", "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"==> {example / W47} <==\n---\nweek: 2026-W47\n")
    assert not (example / "content/newsletters").exists()


def test_the_archive_entry_of_a_sent_week_is_kept_as_it_went_out(example: Path) -> None:
    assert run_kb("--project", example, "build", "--no-site").exit_code == 0
    edited = (example / W47).read_text(encoding="utf-8") + "\nAn editor's closing line.\n"
    (example / W47).write_text(edited, encoding="utf-8")
    project = pipeline.open_project(example)
    with pipeline.opened_store(project) as store:
        when = datetime(2026, 11, 16, 9, tzinfo=UTC)
        store.record_newsletter_sent("2026-W47", "a@example.com", "<x@example.com>", when)
    result = run_kb("--project", example, "build", "--no-site")
    assert result.exit_code == 0, result.output
    assert "newsletter 2026-W47 was already sent: its archive entry is kept" in result.stdout
    assert (example / W47).read_text(encoding="utf-8") == edited


def test_status_reports_the_week_for_the_workflow(example: Path) -> None:
    import json

    before = run_kb("--project", example, "newsletter", "--status", "--format", "json")
    assert json.loads(before.stdout) == {
        "week": "2026-W47",
        "archive": "content/newsletters/2026-W47.md",
        "archived": False,
        "items": 0,
        "review": False,
        "delivery": False,
        "sent": 0,
    }
    assert run_kb("--project", example, "build", "--no-site").exit_code == 0
    after = json.loads(
        run_kb("--project", example, "newsletter", "--status", "--format", "json").stdout
    )
    assert after["archived"] is True and after["items"] == len(urls(example / W47))
    text = run_kb("--project", example, "newsletter", "--status").stdout
    assert text.startswith("2026-W47: archived in content/newsletters/2026-W47.md")


def test_rank_once_build_ranks_each_account_once(example: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import generator.digest
    import generator.pipeline

    calls: list[str] = []
    real = generator.digest.candidates_for

    def counting(project, account, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(account.slug)
        return real(project, account, *args, **kwargs)

    monkeypatch.setattr(generator.pipeline, "candidates_for", counting)
    monkeypatch.setattr(generator.digest, "candidates_for", counting)
    assert run_kb("--project", example, "build", "--no-site").exit_code == 0
    slugs = sorted(p.stem for p in (example / "content/accounts").glob("*.yml"))
    assert sorted(calls) == slugs


BROKEN = DATA / "broken" / "newsletters"


def test_malformed_archive_entries_are_located_errors(example: Path) -> None:
    shutil.copytree(BROKEN, example / "content/newsletters")
    result = run_kb("--project", example, "check")
    assert result.exit_code == 1
    folder = "content/newsletters"
    problems = [line.replace(str(example) + "/", "") for line in result.stderr.splitlines()]
    assert problems == [
        f"{folder}/2026-W40.md:2: 'week' is 2026-W41 but the file is 2026-W40.md",
        f"{folder}/2026-W40.md:4: 'generated_at' must be a time like 2026-11-16T09:00:00Z,"
        " got 'last monday'",
        f"{folder}/2026-W41.md:6: 'items' must be a list of {{url, title}}",
        f"{folder}/2026-W42.md:5: YAML syntax error: mapping values are not allowed here",
        f"{folder}/2026-W43.md:1: an archived newsletter must start with YAML front matter"
        " between '---'",
        f"{folder}/2026-W44.md:7: an item is missing required field 'url'",
        f"{folder}/2026-W44.md:9: unknown field 'sent' in front matter",
        f"{folder}/2026-w45.md: an archived newsletter must be named after its week,"
        " like 2026-W47.md",
        "8 problems found; nothing was written.",
    ]


titles = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=80)


@given(titles, st.lists(titles, max_size=4))
def test_archive_front_matter_round_trips_any_title(title: str, item_titles: list[str]) -> None:
    """Feed text in titles is quoted by the YAML dumper: it comes back as it went in."""
    items = [(f"https://example.com/{n}", t.strip()) for n, t in enumerate(item_titles)]
    text = archive_text(
        week="2026-W47",
        title=title.strip(),
        generated_at=datetime(2026, 11, 16, 9, tzinfo=UTC),
        start=date(2026, 11, 9),
        end=date(2026, 11, 16),
        items=items,
        notes=["a-note"],
        body="# Body\n\n---\n\nmore\n",
    )
    check = Checker(Path("2026-W47.md"))
    errors: list = []  # type: ignore[type-arg]
    issue = parse_issue(Path("2026-W47.md"), text, check, errors)
    assert not errors and not check.errors
    assert issue is not None
    assert issue.title == title.strip()
    assert [(i.url, i.title) for i in issue.items] == [(u, t) for u, t in items if u]
    assert issue.body == "# Body\n\n---\n\nmore\n"
    assert issue.generated_at == datetime(2026, 11, 16, 9, tzinfo=UTC)
