"""Shared fixtures: a copy of the bundled example project, and a CLI runner."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from generator.cli import main

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
EXAMPLE_NOW = "2026-11-16T09:00:00Z"


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A private copy of the bundled example project (feeds, content, kb.yml, mkdocs.yml)."""
    root = tmp_path / "example"
    root.mkdir()
    for name in ("feeds", "content"):
        shutil.copytree(REPO / name, root / name)
    for name in ("kb.yml", "mkdocs.yml"):
        shutil.copy(REPO / name, root / name)
    return root


def run_kb(*args: str | Path) -> Result:
    """Run ``kb`` in-process; stdout and stderr are kept apart."""
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def kb() -> object:
    return run_kb
