"""No setting makes kb delete or overwrite a user's files; builds cannot race; a killed build
leaves nothing behind for good. Each case runs the real command on a copy of the example."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_kb
from filelock import FileLock
from mkdocs.exceptions import MkDocsException

from generator.folders import MARKER


def set_option(root: Path, key: str, value: str) -> int:
    """Append ``key: value`` to kb.yml; return its line number."""
    settings = root / "kb.yml"
    lines = settings.read_text().splitlines()
    lines.append(f"{key}: {value}")
    settings.write_text("\n".join(lines) + "\n")
    return len(lines)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.mark.parametrize("key", ["site_dir", "out_dir"])
@pytest.mark.parametrize(
    ("value", "message"),
    [
        (".git", "must not be in a version control folder"),
        ("docs", "is a folder kb did not make"),
        ("../outside", "must be a folder inside the project"),
        ("kb.yml", "names a file, not a folder"),
        ('"site\\0evil"', "contains a NUL character"),
        (".git/kb-output", "must not be in a version control folder"),
    ],
)
def test_a_folder_setting_that_would_destroy_files_is_refused(
    example: Path, key: str, value: str, message: str
) -> None:
    (example / ".git").mkdir()
    (example / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (example / "docs").mkdir()
    (example / "docs" / "handbook.md").write_text("# The team's own handbook\n")
    (example.parent / "outside").mkdir()
    (example.parent / "outside" / "keep.txt").write_text("not kb's")
    before = {name: snapshot(example / name) for name in (".git", "docs")}
    settings = (example / "kb.yml").read_bytes()
    line = set_option(example, key, value)
    for command in ("check", "build"):
        result = run_kb("--project", example, command)
        assert result.exit_code == 1, result.output
        assert f"{example}/kb.yml:{line}: '{key}'" in result.stderr
        assert message in result.stderr
        assert "internal error" not in result.stderr
    assert {name: snapshot(example / name) for name in (".git", "docs")} == before
    assert (example.parent / "outside" / "keep.txt").read_text() == "not kb's"
    assert (example / "kb.yml").read_bytes().startswith(settings)
    assert not (example / "site").exists() and not (example / "build").exists()


def test_a_symlinked_site_dir_is_refused_and_its_target_kept(example: Path) -> None:
    target = example.parent / "www"
    target.mkdir()
    (target / "index.html").write_text("the deployed site")
    (example / "site").symlink_to(target)
    result = run_kb("--project", example, "build")
    assert result.exit_code == 1
    assert "'site_dir' ('site') is a symbolic link" in result.stderr
    assert (example / "site").is_symlink()
    assert (target / "index.html").read_text() == "the deployed site"


def test_kb_marks_its_folders_and_rebuilds_them(example: Path) -> None:
    assert run_kb("--project", example, "build").exit_code == 0
    assert (example / "site" / MARKER).is_file()
    assert (example / "build" / MARKER).is_file()
    (example / "site" / "stale.html").write_text("from an earlier build")
    assert run_kb("--project", example, "build", "--offline").exit_code == 0
    assert not (example / "site" / "stale.html").exists()
    assert (example / "site" / MARKER).is_file()


def test_a_site_built_by_an_earlier_version_is_adopted(example: Path) -> None:
    """Earlier versions left no marker: a folder holding an MkDocs build is still kb's."""
    assert run_kb("--project", example, "build").exit_code == 0
    (example / "site" / MARKER).unlink()
    (example / "build" / MARKER).unlink()
    assert run_kb("--project", example, "check").exit_code == 0
    assert run_kb("--project", example, "build", "--offline").exit_code == 0
    assert (example / "site" / MARKER).is_file()


def test_a_user_folder_named_like_the_site_is_never_replaced(example: Path) -> None:
    (example / "site").mkdir()
    (example / "site" / "notes.txt").write_text("mine")
    result = run_kb("--project", example, "build")
    assert result.exit_code == 1
    assert "'site_dir' ('site') is a folder kb did not make" in result.stderr
    assert (example / "site" / "notes.txt").read_text() == "mine"


def test_staging_folders_of_killed_builds_are_cleaned(example: Path) -> None:
    ours = example / ".site.kb-staging-k1ll3d"
    ours.mkdir()
    (ours / MARKER).write_text("")
    (ours / "index.html").write_text("half a site")
    legacy = example / ".site.a1b2c3d4"  # mkdtemp's name, from a version without markers
    legacy.mkdir()
    (legacy / "404.html").write_text("")
    users = example / ".site.backup"
    users.mkdir()
    (users / "keep.txt").write_text("mine")
    assert run_kb("--project", example, "build").exit_code == 0
    leftovers = sorted(p.name for p in example.iterdir() if p.name.startswith(".site."))
    assert leftovers == [".site.backup"]
    assert (users / "keep.txt").read_text() == "mine"


def test_a_build_killed_mid_swap_gets_its_site_back(
    example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_kb("--project", example, "build").exit_code == 0
    aside = example / ".site.kb-staging-old"
    (example / "site").rename(aside)  # killed after the first rename of the swap

    def failing_build(config: object) -> None:
        raise MkDocsException("the theme broke")

    monkeypatch.setattr("generator.site.build.build", failing_build)
    result = run_kb("--project", example, "build", "--offline")
    assert result.exit_code == 1 and "the theme broke" in result.stderr
    assert (example / "site" / "index.html").is_file(), "the previous site is back in place"
    assert not aside.exists()


def test_the_gitignores_cover_staging_folders() -> None:
    from conftest import REPO

    for ignore in (REPO / ".gitignore", REPO / "generator" / "scaffold" / ".gitignore"):
        assert "/.*.kb-staging-*/" in ignore.read_text().splitlines(), ignore


def test_the_site_honours_the_umask(example: Path) -> None:
    previous = os.umask(0o022)
    try:
        assert run_kb("--project", example, "build").exit_code == 0
    finally:
        os.umask(previous)
    assert (example / "site").stat().st_mode & 0o777 == 0o755
    assert (example / "site" / "index.html").stat().st_mode & 0o777 == 0o644


def test_a_second_writer_waits_then_gives_up_with_a_message(
    example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KB_LOCK_TIMEOUT", "0.2")
    (example / ".kb").mkdir()
    with FileLock(example / ".kb" / "kb.lock"):
        for command in (["build"], ["fetch"], ["digest", "--all"], ["newsletter"]):
            result = run_kb("--project", example, *command)
            assert result.exit_code == 1, command
            assert "another kb run is writing to this project" in result.stderr
            assert "waited 0.2 s" in result.stderr
    assert not (example / "site").exists() and not (example / "build").exists()


def test_two_builds_at_once_both_finish_with_one_whole_site(example: Path) -> None:
    kb = [str(Path(sys.executable).parent / "kb"), "--project", str(example), "build"]
    runs = [subprocess.Popen(kb, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in "ab"]
    for run in runs:
        _, stderr = run.communicate(timeout=600)
        assert run.returncode == 0, stderr.decode()
    assert (example / "site" / "index.html").is_file()
    assert [p.name for p in example.iterdir() if p.name.startswith(".site.")] == []
