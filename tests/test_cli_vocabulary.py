"""`kb check` on the project's own vocabulary (content/lexicon.yml) and on accounts without
problems; `kb init` scaffolds the vocabulary."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import DATA, run_kb

from generator.config import load_project


def test_init_scaffolds_a_vocabulary_that_checks(tmp_path: Path) -> None:
    assert run_kb("init", tmp_path / "p").exit_code == 0
    assert (tmp_path / "p" / "content" / "lexicon.yml").is_file()
    assert load_project(tmp_path / "p").vocabulary.related


def test_vocabulary_errors_are_reported_with_path_and_line(example: Path) -> None:
    (example / "content" / "lexicon.yml").write_text(
        "related:\n  - [vintage, harvest]\n  - [oak]\nsenses:\n  tank:\n    wine: [winery]\n"
        "  bad: 3\nspelling: []\n",
        encoding="utf-8",
    )
    result = run_kb("--project", example, "check")
    assert result.exit_code == 1
    path = Path("content") / "lexicon.yml"
    lines = [line.replace(str(example / path), str(path)) for line in result.stderr.splitlines()]
    assert f"{path}:3: a related group needs at least two words" in lines
    assert f"{path}:7: the senses of 'bad' must map sense names to cue words" in lines
    assert any(line.startswith(f"{path}:8: unknown field 'spelling'") for line in lines)


def test_an_account_without_problems_is_a_warning_not_an_error(example: Path) -> None:
    account = example / "content" / "accounts" / "ridgeline-freight.yml"
    text = account.read_text(encoding="utf-8")
    start, end = text.index("problems:"), text.index("topics:")
    account.write_text(text[:start] + text[end:], encoding="utf-8")
    result = run_kb("--project", example, "check")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.strip().endswith(
        "ridgeline-freight.yml:1: warning: no problems: its digests can only match its topics "
        "and keywords"
    )


def test_empty_or_repeated_words_in_the_vocabulary_are_errors(example: Path) -> None:
    shutil.copy(DATA / "broken" / "vocabulary" / "lexicon.yml", example / "content")
    result = run_kb("--project", example, "check")
    path = example / "content" / "lexicon.yml"
    assert result.stderr.splitlines() == [
        f"{path}:4: a related group needs at least two words",
        f"{path}:5: a related group needs at least two different words",
        f"{path}:6: a related group needs at least two words",
        f"{path}:7: a related group: an entry is empty",
        f"{path}:10: the sense 'ski' of 'lift' needs at least one cue word",
        f"{path}:12: the cues of 'tank': an entry is empty",
        "6 problems found; nothing was written.",
    ]
