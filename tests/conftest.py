"""Shared fixtures: copies of the bundled example project, a CLI runner, a loopback server."""

from __future__ import annotations

import functools
import http.server
import itertools
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from click.testing import CliRunner, Result
from pgserver import PgServer, binaries, running_postgres
from pytest_httpserver import HTTPServer

from generator.cli import main
from generator.store import Store, StoreLocation, open_store
from generator.store.location import parse_location, sqlite_location

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


@pytest.fixture(scope="session", autouse=True)
def _judge_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The judge's optimized model is kept in a folder of the run's, not the user's cache."""
    before = os.environ.get("KB_CACHE_DIR")
    os.environ["KB_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if before is None:
        del os.environ["KB_CACHE_DIR"]
    else:
        os.environ["KB_CACHE_DIR"] = before


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A private copy of the bundled example project."""
    return copy_example(tmp_path / "example")


_VECTORS: dict[str, npt.NDArray[np.float32]] = {}


@pytest.fixture(autouse=True)
def _remembered_vectors(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Most tests embed the bundled example's items again: remember each text's vector for the
    session (the encoder gives a text the same bytes whatever it is embedded with, which
    tests/test_semantic.py checks on the encoder itself, unremembered)."""
    if request.module.__name__ == "test_semantic":
        return
    from generator.relevance.semantic import Encoder

    original = Encoder.encode

    def encode(self: Encoder, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        missing = [t for t in dict.fromkeys(texts) if t not in _VECTORS]
        if missing:
            _VECTORS.update(zip(missing, original(self, missing), strict=True))
        if not texts:
            return original(self, texts)
        return np.stack([_VECTORS[t] for t in texts])

    monkeypatch.setattr(Encoder, "encode", encode)


@pytest.fixture(scope="session")
def example_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled example's state folder after one ``kb fetch`` (its items and their sentence
    vectors), fetched once per session: embedding every item again for each test is slow."""
    root = copy_example(tmp_path_factory.mktemp("state") / "example")
    assert run_kb("--project", root, "fetch").exit_code == 0
    return root / ".kb"


@pytest.fixture
def fetched_example(example: Path, example_state: Path) -> Path:
    """A private copy of the bundled example with what ``kb fetch`` stored."""
    shutil.copytree(example_state, example / ".kb")
    return example


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """An empty store of its own for each test."""
    opened = open_store(tmp_path / ".kb")
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PgServer]:
    """A real PostgreSQL server for the whole run. Skipped only where its binaries are missing,
    and never on CI (CI=true), where ``.ci/run`` installs them: there a skip would hide a gap."""
    if binaries() is None:
        reason = "PostgreSQL is not installed (/usr/lib/postgresql/*/bin/initdb)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}: CI must run the PostgreSQL tests")
        pytest.skip(reason)
    with running_postgres() as server:
        yield server


_databases = itertools.count(1)

StoreMaker = Callable[[], StoreLocation]


@pytest.fixture(params=["sqlite", "postgresql"])
def new_location(request: pytest.FixtureRequest, tmp_path: Path) -> StoreMaker:
    """Makes locations of new, empty stores on the backend the test is parametrised with."""
    if request.param == "sqlite":
        folders = itertools.count(1)
        return lambda: sqlite_location(tmp_path / f"store{next(folders)}" / "kb.sqlite")
    server: PgServer = request.getfixturevalue("postgres")

    def make() -> StoreLocation:
        url = server.create_database(f"kb_test_{os.getpid()}_{next(_databases)}")
        return parse_location(url, tmp_path)

    return make


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
    _wait_for_handlers()
    threaded_server.clear()


def _wait_for_handlers(limit: float = 30) -> None:
    """Let requests a test gave up on finish (a slow handler the client timed out on), so their
    late entries in the server's log do not land in the next test's (seen under load, in
    random order)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and any(
        t.name.endswith("(process_request_thread)") for t in threading.enumerate()
    ):
        time.sleep(0.02)


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
