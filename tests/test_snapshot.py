"""One account's digest on demand: the corpus snapshot, one account file read, a light start-up.

The snapshot (``.kb/corpus.snapshot``) holds the analyzed stored items; these tests check that
a digest ranked from it is the very bytes a digest ranked from scratch is, that it is rebuilt
whenever what it was made from changes, and that a damaged or half-written file only costs a
rebuild.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import EXAMPLE_NOW, run_kb

from generator.batch import stored_corpus
from generator.config import load_project
from generator.models import Item, Project
from generator.relevance import Corpus
from generator.relevance.text import terms
from generator.snapshot import FILE_NAME, MAGIC, read_snapshot
from generator.store import Store, open_store
from generator.store.sql import SqlStore

ACCOUNT = "ridgeline-freight"


@contextmanager
def opened(project: Project) -> Iterator[Store]:
    store = open_store(project.state_dir)
    try:
        yield store
    finally:
        store.close()


def snapshot_of(root: Path) -> Path:
    return root / ".kb" / FILE_NAME


def on_demand(root: Path, account: str, fmt: str) -> str:
    result = run_kb("--project", root, "digest", account, "--format", fmt, "--dry-run")
    assert result.exit_code == 0, result.output
    return result.stdout


def same_corpus(restored: Corpus, built: Corpus) -> None:
    """Everything ranking reads from a corpus is equal."""
    assert len(restored) == len(built)
    assert restored.columns == built.columns
    for name in ("data", "indices", "indptr"):
        assert np.array_equal(getattr(restored.terms, name), getattr(built.terms, name))
        assert np.array_equal(getattr(restored.groups, name), getattr(built.groups, name))
    assert restored.groups.shape == built.groups.shape
    assert np.array_equal(restored.published, built.published)
    assert np.array_equal(restored.embeddings.items, built.embeddings.items)
    assert list(restored.items) == list(built.items)
    assert restored.position == built.position
    for term in [*list(built.columns)[:50], "never-used-anywhere"]:
        assert restored.idf(term) == built.idf(term)


def test_kb_fetch_saves_the_snapshot_and_it_restores_the_corpus(fetched_example: Path) -> None:
    result = run_kb("--project", fetched_example, "fetch", "--offline")
    assert result.exit_code == 0, result.output
    assert snapshot_of(fetched_example).is_file()
    project = load_project(fetched_example)
    with opened(project) as store:
        restored = stored_corpus(project, store)
        built = stored_corpus(project, store, store.items())
    assert restored.tokens is not None and built.tokens is None
    same_corpus(restored, built)
    # word order: every phrase of every topic is found in the same items
    phrases = [tuple(terms(k)) for t in project.topics for k in t.keywords if " " in k]
    phrases += [pair for d in built.docs[:40] for pair in itertools.pairwise(d.title)]
    assert phrases
    for phrase in phrases:
        assert np.array_equal(restored.holding(phrase), built.holding(phrase)), phrase


def test_kb_fetch_reads_the_items_and_their_vectors_once(
    fetched_example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """New items (here: three whose vectors are gone) are embedded and the snapshot rebuilt from
    one read of every item and vector; with nothing new, neither is read."""
    with sqlite3.connect(fetched_example / ".kb" / "kb.sqlite") as db:
        db.execute("DELETE FROM item_vectors WHERE item_id IN (SELECT id FROM items LIMIT 3)")
    snapshot_of(fetched_example).unlink(missing_ok=True)  # else the old one is current again
    reads: list[str] = []
    items, vectors = SqlStore.items, SqlStore.item_vectors

    def every_item(self: SqlStore, **filters: Any) -> list[Item]:
        reads.extend([] if filters else ["items"])
        return items(self, **filters)

    def item_vectors(self: SqlStore, model_id: str, item_ids: Sequence[str]) -> dict[str, bytes]:
        reads.append("vectors")
        return vectors(self, model_id, item_ids)

    monkeypatch.setattr(SqlStore, "items", every_item)
    monkeypatch.setattr(SqlStore, "item_vectors", item_vectors)
    result = run_kb("--project", fetched_example, "fetch", "--offline")
    assert result.exit_code == 0, result.output
    assert "embedded 3 new items" in result.stderr
    assert reads == ["items", "vectors"]
    reads.clear()
    again = run_kb("--project", fetched_example, "fetch", "--offline")
    assert again.exit_code == 0, again.output
    assert "new items" not in again.stderr.replace("offline:", "")
    assert reads == []
    monkeypatch.undo()
    project = load_project(fetched_example)
    with opened(project) as store:
        same_corpus(stored_corpus(project, store), stored_corpus(project, store, store.items()))


@pytest.mark.parametrize("fmt", ["md", "html", "json"])
def test_on_demand_gives_the_bytes_the_build_wrote(fetched_example: Path, fmt: str) -> None:
    result = run_kb("--project", fetched_example, "build", "--offline", "--no-site")
    assert result.exit_code == 0, result.output
    assert snapshot_of(fetched_example).is_file()
    day = EXAMPLE_NOW[:10]
    for account in sorted(p.stem for p in (fetched_example / "content/accounts").glob("*.yml")):
        written = fetched_example / "build/digests" / account / f"{day}.{fmt}"
        assert on_demand(fetched_example, account, fmt) == written.read_text(encoding="utf-8")


def test_with_or_without_a_snapshot_the_digest_is_the_same(fetched_example: Path) -> None:
    first = on_demand(fetched_example, ACCOUNT, "md")  # builds and saves it
    saved = snapshot_of(fetched_example).stat().st_mtime_ns
    assert on_demand(fetched_example, ACCOUNT, "md") == first  # maps it
    assert snapshot_of(fetched_example).stat().st_mtime_ns == saved  # and left it alone
    assert "Nothing worth sending" not in first


def _key(root: Path) -> str:
    """The key the snapshot file was saved under."""
    data = snapshot_of(root).read_bytes()
    size = int.from_bytes(data[len(MAGIC) : len(MAGIC) + 8], "little")
    key: str = json.loads(data[len(MAGIC) + 8 : len(MAGIC) + 8 + size])["key"]
    return key


def test_pruned_items_lost_vectors_and_a_new_vocabulary_each_rebuild_it(
    fetched_example: Path,
) -> None:
    path = snapshot_of(fetched_example)
    on_demand(fetched_example, ACCOUNT, "md")
    writes = [path.stat().st_mtime_ns]
    keys = [_key(fetched_example)]

    # items leave the store
    result = run_kb("--project", fetched_example, "prune", "--older-than", "14d")
    assert result.exit_code == 0, result.output
    on_demand(fetched_example, ACCOUNT, "md")
    writes.append(path.stat().st_mtime_ns)
    keys.append(_key(fetched_example))

    # vectors lost: the items are embedded again, and the snapshot is written again (under the
    # key of the store as it is once they are back)
    with sqlite3.connect(fetched_example / ".kb" / "kb.sqlite") as db:
        db.execute("DELETE FROM item_vectors WHERE item_id IN (SELECT id FROM items LIMIT 3)")
    on_demand(fetched_example, ACCOUNT, "md")
    writes.append(path.stat().st_mtime_ns)

    # the project's vocabulary
    (fetched_example / "content" / "lexicon.yml").write_text(
        "related:\n  - [reefer, refrigerated trailer, cold chain]\n", encoding="utf-8"
    )
    with_vocabulary = on_demand(fetched_example, ACCOUNT, "md")
    writes.append(path.stat().st_mtime_ns)
    keys.append(_key(fetched_example))
    assert len(set(writes)) == len(writes), "each change wrote the snapshot again"
    assert len(set(keys)) == len(keys)

    # and what it ranks from is what a corpus built now from the store is
    project = load_project(fetched_example)
    with opened(project) as store:
        same_corpus(stored_corpus(project, store), stored_corpus(project, store, store.items()))
    snapshot_of(fetched_example).unlink()
    assert on_demand(fetched_example, ACCOUNT, "md") == with_vocabulary


@pytest.mark.parametrize("damage", ["cut", "garbage", "empty", "temp-file"])
def test_a_killed_or_damaged_write_costs_only_a_rebuild(fetched_example: Path, damage: str) -> None:
    expected = on_demand(fetched_example, ACCOUNT, "md")
    path = snapshot_of(fetched_example)
    data = path.read_bytes()
    if damage == "cut":  # the bytes a killed writer got out (had it not written a temp file)
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\x00" * 4096)
    elif damage == "empty":
        path.write_bytes(b"")
    else:  # killed before the rename: a temp file beside the good one
        (path.parent / f".{FILE_NAME}.x1y2.tmp").write_bytes(data[:1000])
    assert on_demand(fetched_example, ACCOUNT, "md") == expected
    assert read_snapshot(path, _key(fetched_example)) is not None
    assert path.read_bytes() == data  # rebuilt, byte for byte the same


def test_a_snapshot_from_another_store_is_not_used(fetched_example: Path, tmp_path: Path) -> None:
    on_demand(fetched_example, ACCOUNT, "md")
    empty = tmp_path / "empty.sqlite"
    result = run_kb(
        "--project", fetched_example, "--store", f"sqlite:///{empty}", "digest", ACCOUNT,
        "--dry-run",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Nothing worth sending" in result.stdout


# --- one account file, and a light start-up --------------------------------------------------


def test_on_demand_reads_only_the_named_account(fetched_example: Path) -> None:
    broken = fetched_example / "content" / "accounts" / "zz-broken.yml"
    broken.write_text("name: Broken\nproblems: [unclosed\n", encoding="utf-8")
    assert on_demand(fetched_example, ACCOUNT, "md")
    check = run_kb("--project", fetched_example, "check")
    assert check.exit_code == 1
    assert f"{broken}:" in check.output
    # the named account's own errors are reported as ever, path:line: message
    own = fetched_example / "content" / "accounts" / f"{ACCOUNT}.yml"
    own.write_text(own.read_text(encoding="utf-8") + "topics: [no-such-topic]\n")
    result = run_kb("--project", fetched_example, "digest", ACCOUNT, "--dry-run")
    assert result.exit_code == 1
    assert f"{own}:" in result.output and "no-such-topic" in result.output
    assert "Traceback" not in result.output


def test_an_unknown_account_still_lists_the_accounts(fetched_example: Path) -> None:
    result = run_kb("--project", fetched_example, "digest", "nobody", "--dry-run")
    assert result.exit_code == 2
    assert "unknown account: nobody" in result.output and ACCOUNT in result.output


HEAVY = ("sqlalchemy", "scipy", "onnxruntime", "mkdocs", "httpx", "jinja2", "feedparser", "rich")


def imported_by(args: list[str], cwd: Path) -> set[str]:
    """The heavy libraries a real ``kb ARGS`` process imported."""
    code = (
        "import sys\n"
        "from generator.cli import main\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print('heavy:', *(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, check=True
    )
    return set(done.stderr.strip().splitlines()[-1].split()[1:])


def test_kb_help_imports_no_heavy_library(tmp_path: Path) -> None:
    assert imported_by(["--help"], tmp_path) == set()
    assert imported_by(["digest", "--help"], tmp_path) == set()


def test_a_digest_on_demand_loads_no_encoder_site_or_http_stack(fetched_example: Path) -> None:
    on_demand(fetched_example, ACCOUNT, "md")  # texts embedded and snapshot saved
    used = imported_by(["digest", ACCOUNT, "--format", "md", "--dry-run"], fetched_example)
    assert not {"onnxruntime", "mkdocs", "httpx", "scipy"} & used  # scipy: only to build one
    # the store is read through sqlite3 (the account's history); nothing is fetched or drawn
    assert not {"sqlalchemy", "feedparser", "rich"} & used
    # a digest that records what it sends writes through the full store
    assert "sqlalchemy" in imported_by(["digest", ACCOUNT, "--format", "md"], fetched_example)


def test_notes_come_from_their_cache_until_a_file_changes(fetched_example: Path) -> None:
    from generator.config import NOTES_CACHE

    first = load_project(fetched_example)  # reads every note, and caches them
    assert (fetched_example / ".kb" / NOTES_CACHE).is_file()
    assert load_project(fetched_example).notes == first.notes
    note = sorted((fetched_example / "content" / "notes").glob("*.md"))[0]
    text = note.read_text(encoding="utf-8")
    note.write_text(text.rstrip() + "\n\nA sentence added today.\n", encoding="utf-8")
    edited = {n.slug: n for n in load_project(fetched_example).notes}[note.stem]
    assert edited.body.endswith("A sentence added today.")
    # a note broken since it was cached is reported, path:line: message, by every command
    note.write_text(text.replace("date:", "date: not-a-date\nold_date:", 1), encoding="utf-8")
    result = run_kb("--project", fetched_example, "digest", ACCOUNT, "--dry-run")
    assert result.exit_code == 1
    assert f"{note}:" in result.output and "Traceback" not in result.output
