"""Shared fixtures: copies of the bundled example project, a CLI runner, a loopback server."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from pytest_httpserver import HTTPServer

from generator.cli import main
from generator.store import Store, open_store

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
EXAMPLE_NOW = "2026-11-16T09:00:00Z"


def copy_example(root: Path) -> Path:
    """Copy the bundled example project (feeds, content, kb.yml, mkdocs.yml) to ``root``.

    Not its newsletter archive: issues that a run (or the weekly workflow) archived there are
    outputs, and each test starts from the example's inputs."""
    root.mkdir(parents=True)
    for name in ("feeds", "content"):
        shutil.copytree(REPO / name, root / name, ignore=shutil.ignore_patterns("newsletters"))
    for name in ("kb.yml", "mkdocs.yml"):
        shutil.copy(REPO / name, root / name)
    return root


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A private copy of the bundled example project."""
    return copy_example(tmp_path / "example")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """An empty store of its own for each test."""
    opened = open_store(tmp_path / ".kb")
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def threaded_server() -> Iterator[HTTPServer]:
    """One threaded loopback HTTP server per module (concurrent fetches need threads)."""
    httpd = HTTPServer(host="127.0.0.1", threaded=True)
    httpd.start()
    yield httpd
    httpd.stop()


@pytest.fixture
def server(threaded_server: HTTPServer) -> Iterator[HTTPServer]:
    threaded_server.clear()
    yield threaded_server
    threaded_server.clear()


def run_kb(*args: str | Path) -> Result:
    """Run ``kb`` in-process; stdout and stderr are kept apart."""
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve_folder(folder: Path) -> Iterator[str]:
    """``folder`` on a threaded loopback HTTP server, for a browser; yields its base URL."""
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
