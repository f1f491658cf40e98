"""The GitHub Actions workflows: valid against GitHub's workflow schema, and every ``kb`` command
they run is run here, on the example, the way the workflow runs it."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO, copy_example, run_kb

SCAFFOLD = REPO / "generator" / "scaffold"
REPO_WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
SCAFFOLD_WORKFLOWS = sorted((SCAFFOLD / ".github" / "workflows").glob("*.yml"))
KB_CALL = re.compile(r"(?:^|\$\(|&&|\|\||;|\bdo\b|\bthen\b)\s*(kb\s[^|;&)\n]*)", re.M)
STATUS_FIELD = re.compile(r"fromJSON\(steps\.issue\.outputs\.status\)\.(\w+)")


def schema_check(paths: list[Path]) -> subprocess.CompletedProcess[str]:
    """check-jsonschema with the GitHub workflow schema it ships (no network)."""
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
         *map(str, paths)],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip


def run_scripts(path: Path) -> list[str]:
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        step["run"]
        for job in workflow["jobs"].values()
        for step in job.get("steps", [])
        if "run" in step
    ]


def kb_commands(paths: list[Path]) -> set[str]:
    """Every ``kb ...`` the workflows run, with shell variables given example values."""
    found = set()
    for path in paths:
        for script in run_scripts(path):
            for match in KB_CALL.finditer(script):
                found.add(" ".join(shlex.split(match.group(1).replace('"$week"', "2026-W47"))))
    return found


def test_the_workflows_are_valid_github_workflows() -> None:
    assert {p.name for p in REPO_WORKFLOWS} == {"weekly.yml", "newsletter-send.yml", "tests.yml"}
    assert {p.name for p in SCAFFOLD_WORKFLOWS} == {
        "weekly.yml",
        "newsletter-send.yml",
        "check.yml",
    }
    result = schema_check([*REPO_WORKFLOWS, *SCAFFOLD_WORKFLOWS])
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_catches_a_broken_workflow(tmp_path: Path) -> None:
    """The check above can fail: a step with neither ``uses`` nor ``run`` is refused."""
    broken = tmp_path / "broken.yml"
    text = (REPO / ".github/workflows/tests.yml").read_text(encoding="utf-8")
    broken.write_text(text.replace("run: ruff check", "runs: ruff check"), encoding="utf-8")
    assert schema_check([broken]).returncode != 0


def test_the_weekly_workflow_caches_the_state_and_publishes() -> None:
    text = (REPO / ".github/workflows/weekly.yml").read_text(encoding="utf-8")
    workflow = yaml.safe_load(text)
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert triggers["schedule"][0]["cron"].endswith("* * 1")
    assert "workflow_dispatch" in triggers
    uses = [s.get("uses", "") for job in workflow["jobs"].values() for s in job["steps"]]
    for action in (
        "actions/cache/restore@",
        "actions/cache/save@",
        "peter-evans/create-pull-request@",
        "actions/upload-pages-artifact@",
        "actions/deploy-pages@",
        "actions/upload-artifact@",
    ):
        assert any(u.startswith(action) for u in uses), action
    steps = workflow["jobs"]["build"]["steps"]
    names = [s.get("name", "") for s in steps]
    # the ledger of what was sent is saved after the send, whatever happened before
    assert names.index("Save the state (.kb)") > names.index("Send the issue")
    assert steps[names.index("Save the state (.kb)")]["if"] == "always()"


def test_the_scaffold_workflows_install_the_released_package() -> None:
    for path in SCAFFOLD_WORKFLOWS:
        scripts = "\n".join(run_scripts(path))
        assert "pip install -r requirements.txt" in scripts
        assert "pip install -e" not in scripts
    assert "knowledge-broker" in (SCAFFOLD / "requirements.txt").read_text(encoding="utf-8")


def test_kb_init_scaffolds_the_workflows(tmp_path: Path) -> None:
    target = tmp_path / "fresh"
    assert run_kb("init", target).exit_code == 0
    for path in SCAFFOLD_WORKFLOWS:
        copied = target / ".github" / "workflows" / path.name
        assert copied.read_bytes() == path.read_bytes()
    check = run_kb("--project", target, "check")
    assert check.exit_code == 0, check.output


def test_the_tests_workflow_runs_the_readme_test_command() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    command = re.search(r"^(pip install -e '\.\[test\]' && pytest)\s", readme, re.M)
    assert command is not None
    assert command.group(1) in run_scripts(REPO / ".github/workflows/tests.yml")


EXPECTED_COMMANDS = {
    "kb build",
    "kb newsletter --status --format json",
    "kb newsletter --send",
    "kb newsletter --send --week 2026-W47",
    "kb check",
}


@pytest.mark.slow
def test_every_kb_command_of_the_workflows_runs_on_the_example(tmp_path: Path) -> None:
    commands = kb_commands([*REPO_WORKFLOWS, *SCAFFOLD_WORKFLOWS])
    assert commands == EXPECTED_COMMANDS
    project = copy_example(tmp_path / "example")
    with (project / "kb.yml").open("a", encoding="utf-8") as settings:
        settings.write(
            "\nnewsletter:\n"
            "  from: insights@northbeam.example\n"
            "  recipients: [ana@customer.example]\n"
            "  smtp: {host: 127.0.0.1, port: 9, security: none}\n"
            "  unsubscribe: mailto:unsubscribe@northbeam.example\n"
        )
    fields = {f for path in REPO_WORKFLOWS for f in STATUS_FIELD.findall(path.read_text("utf-8"))}
    assert fields == {"review", "delivery", "archived", "week"}
    for command in sorted(commands, key=lambda c: c != "kb build"):  # build first
        args = shlex.split(command)[1:]
        if "--send" in args:
            args.append("--dry-run")  # the example has no mail server to send to
        result = run_kb("--project", project, *args)
        assert result.exit_code == 0, f"{command}: {result.output}"
        if "--status" in args:
            # what the workflow does: `echo "status=$(... | tr -d '\n')" >> "$GITHUB_OUTPUT"`
            status = json.loads(result.stdout.replace("\n", ""))
            assert fields <= set(status)
            assert status["archived"] is True and status["delivery"] is True
        if "--send" in args:
            assert "would send 2026-W47" in result.stdout
    assert (project / "site/index.html").exists()
    assert (project / "content/newsletters/2026-W47.md").exists()
