"""Team scale: worker processes, shards + assembly, and incremental builds give the same bytes."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import zlib
from pathlib import Path

import pytest
import yaml
from conftest import REPO, run_kb

from generator import pipeline, yamlfile
from generator.batch import plan
from generator.pipeline import in_shard
from generator.runstate import file_sha
from generator.yamlfile import LineDict, LineList

OUTPUTS = ("build/digests", "build/newsletter", "site")


def tree(root: Path, folders: tuple[str, ...] = OUTPUTS) -> dict[str, str]:
    """Every output file under ``folders``, by path, as a hash of its bytes."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for folder in folders
        for p in sorted((root / folder).rglob("*"))
        if p.is_file()
    }


def mtimes(root: Path) -> dict[str, int]:
    return {
        p.relative_to(root).as_posix(): p.stat().st_mtime_ns
        for p in sorted((root / "build" / "digests").rglob("*"))
        if p.is_file()
    }


def history(root: Path) -> list[tuple[str, str, str, str]]:
    """The whole sent ledger, as ``kb history`` shows it, for every account."""
    rows = []
    for account in sorted((root / "content" / "accounts").glob("*.yml")):
        result = run_kb("--project", root, "history", account.stem, "--format", "json")
        assert result.exit_code == 0, result.output
        rows += [
            (account.stem, r["url"], r["sent_at"], r["format"]) for r in json.loads(result.stdout)
        ]
    return sorted(rows)


@pytest.fixture
def fetched(example: Path) -> Path:
    """The example project with its feeds fetched (the store is what shards share)."""
    assert run_kb("--project", example, "fetch").exit_code == 0
    return example


def copy(project: Path, to: Path) -> Path:
    shutil.copytree(project, to)
    return to


def test_jobs_do_not_change_a_byte(fetched: Path, tmp_path: Path) -> None:
    one, four = copy(fetched, tmp_path / "one"), copy(fetched, tmp_path / "four")
    assert run_kb("--project", one, "build", "--offline", "--jobs", "1").exit_code == 0
    result = run_kb("--project", four, "build", "--offline", "--jobs", "4")
    assert result.exit_code == 0, result.output
    assert tree(four) == tree(one)
    assert history(four) == history(one)
    assert len(tree(one)) > 30


def test_digest_all_with_jobs_writes_the_same_files(fetched: Path, tmp_path: Path) -> None:
    one, two = copy(fetched, tmp_path / "one"), copy(fetched, tmp_path / "two")
    args = ("digest", "--all", "--format", "md", "--format", "note", "--format", "eml")
    assert run_kb("--project", one, *args, "--jobs", "1").exit_code == 0
    result = run_kb("--project", two, *args, "--jobs", "3")
    assert result.exit_code == 0, result.output
    assert tree(two, ("build",)) == tree(one, ("build",))
    assert history(two) == history(one)


def test_three_shards_and_the_assembly_write_what_one_build_writes(
    fetched: Path, tmp_path: Path
) -> None:
    whole = copy(fetched, tmp_path / "whole")
    assert run_kb("--project", whole, "build", "--offline").exit_code == 0
    slugs = [p.stem for p in (fetched / "content" / "accounts").glob("*.yml")]
    assembler = copy(fetched, tmp_path / "assembler")
    for k in (1, 2, 3):  # three runners, each with its own copy of the fetched store
        runner = copy(fetched, tmp_path / f"runner{k}")
        result = run_kb("--project", runner, "build", "--shard", f"{k}/3")
        assert result.exit_code == 0, result.output
        assert f"shard summary: {runner / 'build' / 'shards' / f'{k}-of-3'}" in result.output
        assert not (runner / "site").exists() and not (runner / "build" / "newsletter").exists()
        mine = {p.name for p in (runner / "build" / "digests").iterdir()}
        assert mine == {s for s in slugs if in_shard(s, (k, 3))}
        shutil.copytree(runner / "build", assembler / "build", dirs_exist_ok=True)
    result = run_kb("--project", assembler, "build", "--assemble")
    assert result.exit_code == 0, result.output
    assert "(0 rendered" in result.output, "the assembly ranks nothing"
    assert tree(assembler) == tree(whole)
    assert history(assembler) == history(whole)


def test_an_incomplete_set_of_shards_is_refused(fetched: Path) -> None:
    for k in (1, 3):
        assert run_kb("--project", fetched, "build", "--shard", f"{k}/3").exit_code == 0
    result = run_kb("--project", fetched, "build", "--assemble")
    assert result.exit_code == 1
    assert "error: shard(s) 2/3 missing" in result.stderr
    assert not (fetched / "site").exists()
    result = run_kb(
        "--project", fetched, "build", "--assemble", fetched / "build" / "shards" / "1-of-3",
        "--now", "2026-11-17T00:00:00Z",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "not at 2026-11-17T00:00:00+00:00: assemble with the shards' --now" in result.stderr


def test_assemble_without_shards_says_what_to_run(example: Path) -> None:
    result = run_kb("--project", example, "build", "--assemble")
    assert result.exit_code == 2
    assert "run kb build --shard first" in result.stderr


def test_a_second_build_with_nothing_changed_renders_nothing(fetched: Path) -> None:
    first = run_kb("--project", fetched, "build", "--offline")
    assert "(6 rendered, 0 unchanged)" in first.output
    before, stamps = tree(fetched), mtimes(fetched)
    manifest = fetched / ".kb" / "build-manifest.sqlite"
    written = manifest.stat().st_mtime_ns
    again = run_kb("--project", fetched, "build", "--offline")
    assert again.exit_code == 0, again.output
    assert "(0 rendered, 6 unchanged)" in again.output
    assert "(unchanged)" in again.output.splitlines()[-1], "the site is not rebuilt either"
    assert tree(fetched) == before
    assert mtimes(fetched) == stamps, "no digest file is even rewritten"
    assert manifest.stat().st_mtime_ns == written, "nor the manifest"
    # The per-account lines are the same as the first run's.
    assert (
        again.output.split("digests:")[1].splitlines()[1:7]
        == (first.output.split("digests:")[1].splitlines()[1:7])
    )


def test_a_changed_account_is_the_only_one_rendered_again(fetched: Path) -> None:
    assert run_kb("--project", fetched, "build", "--offline").exit_code == 0
    account = fetched / "content" / "accounts" / "ridgeline-freight.yml"
    data = yaml.safe_load(account.read_text())
    data["keywords"] = [*data["keywords"], "hours of service"]
    account.write_text(yaml.safe_dump(data))
    result = run_kb("--project", fetched, "build", "--offline")
    assert "(1 rendered, 5 unchanged)" in result.output
    assert "(unchanged)" not in result.output.splitlines()[-1], "its site page changed"
    fresh = copy(fetched, fetched.parent / "fresh")
    shutil.rmtree(fresh / "build")
    shutil.rmtree(fresh / "site")
    (fresh / ".kb" / "build-manifest.sqlite").unlink()
    assert run_kb("--project", fresh, "build", "--offline").exit_code == 0
    assert tree(fresh) == tree(fetched)


def test_a_template_change_renders_every_account_again(fetched: Path) -> None:
    assert run_kb("--project", fetched, "build", "--offline").exit_code == 0
    (fetched / "templates").mkdir()
    default = REPO / "generator" / "templates" / "digest.md.j2"
    (fetched / "templates" / "digest.md.j2").write_text(default.read_text() + "\n-- the team\n")
    result = run_kb("--project", fetched, "build", "--offline")
    assert "(6 rendered, 0 unchanged)" in result.output
    digest = next((fetched / "build" / "digests" / "ridgeline-freight").glob("*.md"))
    assert digest.read_text().endswith("-- the team\n")


def test_an_edited_or_deleted_output_is_written_again(fetched: Path) -> None:
    assert run_kb("--project", fetched, "build", "--offline").exit_code == 0
    before = tree(fetched)
    folder = fetched / "build" / "digests" / "ridgeline-freight"
    next(folder.glob("*.md")).write_text("edited by hand")
    next(folder.glob("*.html")).unlink()
    result = run_kb("--project", fetched, "build", "--offline")
    assert "(1 rendered, 5 unchanged)" in result.output
    assert tree(fetched) == before


@pytest.mark.parametrize("manifest", ["", "{not json", '{"format": 1, "accounts": {"x": {}}}'])
def test_a_broken_or_half_written_manifest_only_costs_a_full_build(
    fetched: Path, manifest: str
) -> None:
    assert run_kb("--project", fetched, "build", "--offline").exit_code == 0
    before = tree(fetched)
    (fetched / ".kb" / "build-manifest.sqlite").write_text(manifest)
    result = run_kb("--project", fetched, "build", "--offline")
    assert result.exit_code == 0, result.output
    assert "(6 rendered, 0 unchanged)" in result.output
    assert tree(fetched) == before


def manifest_of(root: Path) -> Path:
    return root / ".kb" / "build-manifest.sqlite"


def test_the_manifest_holds_one_row_per_account_and_replaces_the_old_json_one(
    fetched: Path,
) -> None:
    old = fetched / ".kb" / "build-manifest.json"
    old.parent.mkdir(parents=True, exist_ok=True)
    old.write_text('{"format": 1, "accounts": {}}')
    leftover = fetched / ".kb" / ".build-manifest.sqlite.killed.tmp"
    leftover.write_text("what a killed run left")
    result = run_kb("--project", fetched, "build", "--offline")
    assert result.exit_code == 0, result.output
    assert "(6 rendered, 0 unchanged)" in result.output
    assert not old.exists() and not leftover.exists()
    with sqlite3.connect(manifest_of(fetched)) as db:
        rows = dict(db.execute("SELECT slug, record FROM accounts"))
        head = dict(db.execute("SELECT name, value FROM head"))
    assert sorted(rows) == sorted(p.stem for p in (fetched / "content/accounts").glob("*.yml"))
    record = json.loads(zlib.decompress(rows["ridgeline-freight"]))
    digest = next((fetched / "build/digests/ridgeline-freight").glob("*.md"))
    assert [digest.relative_to(fetched).as_posix(), file_sha(digest.read_bytes())] in (
        record["files"]
    )
    assert head["format"] == "2" and len(head["run"]) == 64


def test_a_truncated_manifest_only_costs_a_build_with_a_warning(fetched: Path) -> None:
    assert run_kb("--project", fetched, "build", "--offline").exit_code == 0
    before = tree(fetched)
    manifest = manifest_of(fetched)
    data = manifest.read_bytes()
    manifest.write_bytes(data[: len(data) // 3])
    result = run_kb("--project", fetched, "build", "--offline")
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith(f"warning: {manifest}: damaged (")
    assert "Traceback" not in result.output
    assert tree(fetched) == before
    again = run_kb("--project", fetched, "build", "--offline")
    assert "(0 rendered, 6 unchanged)" in again.output, "the build wrote a whole manifest again"
    assert again.stderr == ""


def test_a_damaged_row_is_built_again_the_others_are_reused(fetched: Path) -> None:
    assert run_kb("--project", fetched, "build", "--offline").exit_code == 0
    before = tree(fetched)
    with sqlite3.connect(manifest_of(fetched)) as db:
        db.execute("UPDATE accounts SET record = X'789c00' WHERE slug = 'ridgeline-freight'")
    result = run_kb("--project", fetched, "build", "--offline")
    assert result.exit_code == 0, result.output
    assert "(1 rendered, 5 unchanged)" in result.output
    assert "ridgeline-freight: its record does not match its hash" in result.stderr
    assert tree(fetched) == before


def test_a_build_killed_in_the_site_stage_leaves_the_last_manifest(
    fetched: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_kb("--project", fetched, "build", "--offline").exit_code == 0
    manifest = manifest_of(fetched)
    kept = manifest.read_bytes()
    account = fetched / "content" / "accounts" / "ridgeline-freight.yml"
    data = yaml.safe_load(account.read_text())
    account.write_text(yaml.safe_dump({**data, "keywords": [*data["keywords"], "detention"]}))

    def killed(*args: object, **kwargs: object) -> Path:
        raise KeyboardInterrupt  # what a stopped build raises in the middle of the site

    monkeypatch.setattr(pipeline, "build_site", killed)
    stopped = run_kb("--project", fetched, "build", "--offline")
    assert stopped.exit_code == 130, stopped.output
    assert manifest.read_bytes() == kept
    assert [p.name for p in manifest.parent.iterdir() if p.name.startswith(".build")] == []
    monkeypatch.undo()
    result = run_kb("--project", fetched, "build", "--offline")
    assert result.exit_code == 0, result.output
    assert "(1 rendered, 5 unchanged)" in result.output
    fresh = copy(fetched, fetched.parent / "fresh")
    shutil.rmtree(fresh / "build")
    shutil.rmtree(fresh / "site")
    manifest_of(fresh).unlink()
    assert run_kb("--project", fresh, "build", "--offline").exit_code == 0
    assert tree(fresh) == tree(fetched)


def test_another_now_renders_again(fetched: Path) -> None:
    assert run_kb("--project", fetched, "build", "--offline").exit_code == 0
    result = run_kb("--project", fetched, "build", "--offline", "--now", "2026-11-17T09:00:00Z")
    assert "(6 rendered, 0 unchanged)" in result.output


def test_timings_name_every_stage(fetched: Path) -> None:
    result = run_kb("--project", fetched, "build", "--offline", "--timings")
    stages = [line.split()[1] for line in result.output.splitlines() if line.startswith("timing:")]
    assert stages == ["digests", "rank", "render", "newsletter", "site"]


@pytest.mark.parametrize(
    ("count", "jobs", "expected"),
    [(0, None, (1, 1)), (6, None, (1, 6)), (6, 4, (4, 1)), (1000, 2, (2, 16)), (100, 1, (1, 100))],
)
def test_the_pool_is_used_when_asked_or_when_it_pays(
    count: int, jobs: int | None, expected: tuple[int, int]
) -> None:
    assert plan(count, jobs) == expected


def test_the_matrix_workflow_runs_shards_then_assembles() -> None:
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "weekly-matrix.yml").read_text())
    jobs = workflow["jobs"]
    shards = jobs["shard"]["strategy"]["matrix"]["shard"]
    assert shards == list(range(1, int(workflow["env"]["SHARDS"]) + 1))
    runs = [s.get("run", "") for job in jobs.values() for s in job["steps"]]
    assert any(r.startswith("kb build --shard ${{ matrix.shard }}/${{ env.SHARDS }}") for r in runs)
    assert any(r.startswith("kb build --assemble") for r in runs)
    assert set(jobs["assemble"]["needs"]) == {"fetch", "shard"}


def test_an_error_in_a_worker_is_reported_like_any_other(fetched: Path) -> None:
    (fetched / "templates").mkdir()
    (fetched / "templates" / "digest.md.j2").write_text("{{ account.name }} {{ no_such_value }}\n")
    result = run_kb("--project", fetched, "build", "--offline", "--jobs", "2")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: template digest.md.j2:")
    assert "no_such_value" in result.stderr
    assert "Traceback" not in result.output
    assert not (fetched / ".kb" / "build-manifest.sqlite").exists()


HEAD = '{"format": 2, "now": "2026-11-16T09:00:00+00:00", "shard": [1, 1], "run": "r"}\n'


@pytest.mark.parametrize(
    ("summary", "line"),
    [
        ("{half", 1),
        ('{"format": 1, "now": "2026-11-16T09:00:00+00:00", "shard": [1, 1]}\n', 1),
        ('{"format": 2, "now": "2026-11-16T09:00:00+00:00", "shard": "x"}\n', 1),
        (HEAD + "3\n", 2),
        (HEAD + '["ridgeline-freight", {"key": "k"}]\n', 2),
        (HEAD + '["nobody", {"key": "k"}]\n', 2),
        (HEAD + '["ridgeline-freight", {"key"', 2),
    ],
)
def test_a_damaged_shard_summary_is_named_with_its_line_not_a_traceback(
    fetched: Path, summary: str, line: int
) -> None:
    folder = fetched / "build" / "shards" / "1-of-1"
    folder.mkdir(parents=True)
    (folder / "summary.jsonl").write_text(summary)
    result = run_kb("--project", fetched, "build", "--assemble")
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"error: {folder / 'summary.jsonl'}:{line}: "), result.stderr
    assert "Traceback" not in result.output
    assert not (fetched / ".kb" / "build-manifest.sqlite").exists()
    assert not list((fetched / ".kb").glob(".build-manifest*")), "no temporary file is left"


def _lines(value: object) -> object:
    """A parsed YAML value with the line of every mapping key and list element."""
    if isinstance(value, LineDict):
        return {k: (value.key_lines[k], _lines(v)) for k, v in value.items()}
    if isinstance(value, LineList):
        return [(line, _lines(v)) for line, v in zip(value.item_lines, value, strict=True)]
    return value


def test_libyaml_reads_every_project_file_as_the_python_parser_does() -> None:
    files = [
        p
        for p in [*REPO.glob("content/**/*.yml"), *REPO.glob("feeds/*.yml"),
                  *(REPO / "tests" / "data").rglob("*.yml")]
        if p.is_file()
    ]  # fmt: skip
    assert len(files) > 20
    for path in files:
        text = path.read_text(encoding="utf-8-sig")
        fast = yamlfile._fast(text, path, 0)
        slow_loader = yamlfile._Loader(text)
        slow_loader.duplicates = []
        try:
            slow = slow_loader.get_single_data()
        except yaml.YAMLError:
            assert fast is None, path  # a file libyaml reads must also be valid YAML
            continue
        finally:
            slow_loader.dispose()
        assert fast is not None, path
        assert _lines(fast[0]) == _lines(slow), path
        assert [e.line for e in fast[1]] == [line for line, _ in slow_loader.duplicates], path
