"""The sentence encoder and the item vectors in the store: offline, deterministic, embedded once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from conftest import copy_example, run_kb
from evalset import load_eval
from feedserver import RSS, generated_rss
from pytest_httpserver import HTTPServer
from test_store import entry
from werkzeug import Response

from generator.exceptions import EncoderError
from generator.models import EntryData, Feed, FeedUpdate, Item
from generator.relevance import semantic
from generator.relevance.semantic import Encoder, Vectors, item_text, vectors_for
from generator.store import Store, open_store
from generator.update import keyed

NOW = datetime(2026, 11, 16, 9, tzinfo=UTC)


class CountingEncoder(Encoder):
    """The real encoder, counting the texts it is asked to embed."""

    def __init__(self) -> None:
        loaded = Encoder.load()
        super().__init__(
            loaded._model_path, loaded._tokenizer_path, loaded.model_id, loaded._tuning
        )
        self.embedded: list[str] = []

    def encode(self, texts: Sequence[str]) -> Vectors:
        self.embedded.extend(texts)
        return super().encode(texts)


def stored(store: Store, *entries: EntryData) -> list[Item]:
    """Store entries of feed ``a`` and return the stored items."""
    store.sync_feeds([Feed("a", "https://a.example/feed")])
    update = FeedUpdate("a", "https://a.example/feed", NOW, "ok", entries=keyed(entries, NOW))
    store.save_update(update)
    return store.items()


# --- the encoder ------------------------------------------------------------------------------


def test_the_encoder_loads_and_encodes_with_no_network_at_all() -> None:
    """A fresh process that cannot open a socket still loads the model and embeds."""
    script = textwrap.dedent(
        """
        import socket

        def refuse(*args, **kwargs):
            raise OSError("network used")

        socket.socket.connect = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse
        from generator.relevance.semantic import Encoder

        encoder = Encoder.load()
        vectors = encoder.encode(["Reefer capacity tightens ahead of the holidays"])
        print(encoder.model_id, vectors.shape, vectors.dtype)
        """
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.pop("HTTPS_PROXY", None)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["all-MiniLM-L6-v2-int8+ft18@1.0.0", "(1,", "384)", "float32"]


def test_vectors_are_unit_length_float32_rows_in_order() -> None:
    encoder = Encoder.load()
    assert (encoder.dim, encoder.model_id) == (384, "all-MiniLM-L6-v2-int8+ft18@1.0.0")
    assert Encoder.load() is encoder
    vectors = encoder.encode(["Grain prices fall", "", "Hospitals cut wait times"])
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.dtype(np.float32)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert encoder.encode([]).shape == (0, 384)


def test_a_paraphrase_is_closer_than_a_story_sharing_only_words() -> None:
    """Meaning, not words: a paraphrase with no word in common outscores a keyword trap."""
    encoder = Encoder.load()
    problem, paraphrase, trap, unrelated = encoder.encode(
        [
            "New truck drivers quit within their first year",
            "Fleets lose most freshly licensed truckers before their first anniversary",
            "Drivers of the new golf club model quit using their old irons within a year",
            "The city council approved a new budget for public parks",
        ]
    )
    assert problem @ paraphrase > problem @ trap > problem @ unrelated
    assert problem @ paraphrase > 0.5


def _tuned_by(tuning: Path) -> Encoder:
    model, tokenizer, _ = semantic._model_files()
    return Encoder(model, tokenizer, "test", tuning)


def test_the_fine_tuning_is_what_moves_the_packaged_model(tmp_path: Path) -> None:
    """kb's encoder is the package's model with the shipped tuning applied: a tuning with
    nothing in it gives the package's vectors exactly, the shipped one moves them a little."""
    texts = ["Chlorine tablet prices spike", "Route techs quit before they learn water chemistry"]
    package = Encoder.make(tuned=False).encode(texts)
    np.savez(tmp_path / "nothing.npz")
    assert _tuned_by(tmp_path / "nothing.npz").encode(texts).tobytes() == package.tobytes()
    tuned = Encoder.load().encode(texts)
    assert Encoder.load().model_id != Encoder.make(tuned=False).model_id
    assert all(0.9 < float(p @ q) < 1.0 for p, q in zip(package, tuned, strict=True))


def test_a_damaged_tuning_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "tuning.npz").write_bytes(b"not a zip file")
    with pytest.raises(EncoderError, match="cannot load the sentence encoder test"):
        _tuned_by(tmp_path / "tuning.npz").encode(["Grain prices fall"])


def test_a_text_has_the_same_bytes_alone_in_any_batch_and_on_every_run() -> None:
    texts = [item_text(item) for item in _eval_items()][:40]
    encoder = Encoder.load()
    together = encoder.encode(texts)
    alone = np.concatenate([encoder.encode([text]) for text in texts[:5]])
    reversed_ = encoder.encode(texts[::-1])[::-1]
    assert alone.tobytes() == together[:5].tobytes()
    assert reversed_.tobytes() == together.tobytes()
    assert encoder.encode(texts).tobytes() == together.tobytes()


def test_what_is_embedded_is_the_title_then_the_summary() -> None:
    item = _eval_items()[0]
    assert item_text(item) == f"{item.title} {item.summary}" or item_text(item) == (
        f"{item.title}. {item.summary}"
    )
    long = Item("x", "u", "  A   title ", "word " * 100_000, "", NOW, NOW, ())
    text = item_text(long)
    assert text.startswith("A title. word word")
    assert len(text) <= len("A title. ") + semantic.MAX_CHARS


# --- vectors in the store ---------------------------------------------------------------------


def test_vectors_round_trip_through_the_store_by_model(store: Store) -> None:
    items = stored(store, entry("a", 1), entry("a", 2))
    first, second = (item.id for item in items)
    store.save_item_vectors("m@1", {first: b"\x01\x02", second: b"\x03"})
    store.save_item_vectors("m@2", {first: b"\x09"})
    store.save_item_vectors("m@1", {second: b"\x04", "never-stored": b"\x05"})
    assert store.item_vectors("m@1", [first, second, "never-stored"]) == {
        first: b"\x01\x02",
        second: b"\x04",
    }
    assert store.item_vectors("m@2", [first, second]) == {first: b"\x09"}
    assert store.item_vectors("m@3", [first]) == {}
    assert store.item_vectors("m@1", []) == {}


def test_vectors_for_embeds_only_what_the_store_lacks(store: Store) -> None:
    items = stored(store, *(entry("a", n, title=f"Cold chain story {n}") for n in range(6)))
    encoder = CountingEncoder()
    first = vectors_for(store, encoder, items[:4])
    assert sorted(encoder.embedded) == sorted(item_text(i) for i in items[:4])
    encoder.embedded.clear()
    again = vectors_for(store, encoder, [items[5], *items[:4], items[4], items[0]])
    assert sorted(encoder.embedded) == sorted(item_text(i) for i in items[4:])
    assert again[1:5].tobytes() == first.tobytes()
    assert again[6].tobytes() == first[0].tobytes()
    assert (
        again.tobytes()
        == Encoder.load()
        .encode([item_text(i) for i in [items[5], *items[:4], items[4], items[0]]])
        .tobytes()
    )
    encoder.embedded.clear()
    vectors_for(store, encoder, items)
    assert encoder.embedded == []
    assert vectors_for(store, encoder, []).shape == (0, 384)


def test_a_stored_vector_of_the_wrong_size_is_embedded_again(store: Store) -> None:
    items = stored(store, entry("a", 1))
    encoder = Encoder.load()
    store.save_item_vectors(encoder.model_id, {items[0].id: b"\x00" * 12})
    vectors = vectors_for(store, encoder, items)
    assert vectors.tobytes() == encoder.encode([item_text(items[0])]).tobytes()
    assert store.item_vectors(encoder.model_id, [items[0].id])[items[0].id] == vectors.tobytes()


def test_prune_deletes_the_vectors_of_the_items_it_deletes(store: Store) -> None:
    items = stored(store, entry("a", 1, days_ago=100), entry("a", 2, days_ago=1))
    vectors_for(store, Encoder.load(), items)
    ids = [item.id for item in items]
    assert len(store.item_vectors(Encoder.load().model_id, ids)) == 2
    assert store.prune(NOW - timedelta(days=30)) == 1
    assert list(store.item_vectors(Encoder.load().model_id, ids)) == ["a-2"]


# --- at ingest, through the real commands ------------------------------------------------------


def _vector_rows(project: Path) -> dict[str, bytes]:
    with sqlite3.connect(project / ".kb" / "kb.sqlite") as db:
        rows = db.execute("SELECT item_id, model, vector FROM item_vectors").fetchall()
    assert {model for _, model, _ in rows} <= {Encoder.load().model_id}
    return {item_id: vector for item_id, _, vector in rows}


def _feed_project(root: Path, url: str) -> Path:
    """The example project with one feed: ``url`` (the tests' server, on 127.0.0.1, allowed)."""
    copy_example(root)
    (root / "feeds" / "feeds.yml").write_text(f"feeds:\n  - name: wire\n    url: {url}\n")
    with (root / "kb.yml").open("a", encoding="utf-8") as settings:
        settings.write("\nfetch:\n  allow_private: [127.0.0.1]\n")
    return root


def test_fetch_embeds_new_items_once(tmp_path: Path, server: HTTPServer) -> None:
    body = {"feed": generated_rss(5, prefix="Wire")}
    server.expect_request("/wire").respond_with_handler(
        lambda request: Response(body["feed"], content_type=RSS)
    )
    project = _feed_project(tmp_path / "p", server.url_for("/wire"))
    first = run_kb("--project", project, "fetch")
    assert first.exit_code == 0, first.stderr
    assert "embedded 5 new items\n" in first.stderr
    vectors = _vector_rows(project)
    assert len(vectors) == 5

    again = run_kb("--project", project, "fetch")
    assert again.exit_code == 0, again.stderr
    assert "embedded" not in again.stderr
    assert _vector_rows(project) == vectors

    body["feed"] = generated_rss(7, prefix="Wire")
    more = run_kb("--project", project, "fetch")
    assert "; 2 new items\n" in more.stderr
    assert "embedded 2 new items\n" in more.stderr
    grown = _vector_rows(project)
    assert len(grown) == 7
    assert {k: grown[k] for k in vectors} == vectors


def test_offline_fetch_and_build_embed_what_an_older_version_stored(example: Path) -> None:
    fetched = run_kb("--project", example, "fetch")
    assert "embedded 116 new items" in fetched.stderr
    with sqlite3.connect(example / ".kb" / "kb.sqlite") as db:  # as if stored before vectors
        db.execute("DELETE FROM item_vectors WHERE rowid % 3 = 0")
    missing = 116 - len(_vector_rows(example))
    offline = run_kb("--project", example, "fetch", "--offline")
    assert offline.stderr.endswith(f"embedded {missing} new items\n")
    assert len(_vector_rows(example)) == 116
    with sqlite3.connect(example / ".kb" / "kb.sqlite") as db:
        db.execute("DELETE FROM item_vectors WHERE rowid % 2 = 0")
    build = run_kb("--project", example, "build", "--offline", "--no-site")
    assert build.exit_code == 0, build.stderr
    assert len(_vector_rows(example)) == 116


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_killed_embed_leaves_whole_vectors_and_the_rerun_finishes(tmp_path: Path) -> None:
    """SIGKILL while embedding 600 items: every saved vector is whole and right, and the
    next run embeds only the rest."""
    path = tmp_path / ".kb"
    script = textwrap.dedent(
        f"""
        from datetime import UTC, datetime
        from generator.models import Feed, FeedUpdate
        from generator.relevance.semantic import Encoder, vectors_for
        from generator.store import open_store
        from generator.update import keyed
        from test_store import entry

        now = datetime(2026, 11, 16, 9, tzinfo=UTC)
        store = open_store(__import__("pathlib").Path({str(path)!r}))
        store.sync_feeds([Feed("a", "https://a.example/feed")])
        entries = [entry("a", n, title=f"Story {{n}} about cold chain") for n in range(600)]
        store.save_update(FeedUpdate("a", "u", now, "ok", entries=keyed(entries, now)))
        print("stored", flush=True)
        vectors_for(store, Encoder.load(), store.items())
        """
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    victim = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    assert victim.stdout is not None
    assert victim.stdout.readline() == b"stored\n"
    deadline = time.monotonic() + 100
    while _count_vectors(path) == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    db = sqlite3.connect(path / "kb.sqlite")
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    saved = dict(db.execute("SELECT item_id, vector FROM item_vectors").fetchall())
    db.close()
    assert 0 < len(saved) < 600
    store = open_store(path)
    items = store.items()
    by_id = {item.id: item for item in items}
    sample = sorted(saved)[:20]
    fresh = Encoder.load().encode([item_text(by_id[i]) for i in sample])
    assert [saved[i] for i in sample] == [row.tobytes() for row in fresh]
    encoder = CountingEncoder()
    vectors_for(store, encoder, items)
    assert len(encoder.embedded) == 600 - len(saved)
    assert len(store.item_vectors(encoder.model_id, list(by_id))) == 600
    store.close()


def _count_vectors(path: Path) -> int:
    try:
        with sqlite3.connect(path / "kb.sqlite", timeout=5) as db:
            return int(db.execute("SELECT count(*) FROM item_vectors").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def _eval_items() -> list[Item]:
    return list(load_eval("near").items)


# --- the vectors of account and note texts ---------------------------------------------------


def _text_rows(project: Path) -> dict[str, bytes]:
    with sqlite3.connect(project / ".kb" / "kb.sqlite") as db:
        rows = db.execute("SELECT model, text_hash, vector FROM text_vectors").fetchall()
    assert {model for model, _, _ in rows} <= {Encoder.load().model_id}
    return {key: vector for _, key, vector in rows}


def _forget_text_vectors(project: Path) -> None:
    with sqlite3.connect(project / ".kb" / "kb.sqlite") as db:
        db.execute("DELETE FROM text_vectors")


def test_account_and_note_texts_are_embedded_once_ever(
    fetched_example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ingest (``kb fetch``) stores every account's and note's text vector, and a digest run
    stores what is still missing; later runs (another account, another process) read them: the
    encoder is not run again for any of them."""
    from generator.batch import run_texts
    from generator.config import load_project

    project = load_project(fetched_example)
    texts = run_texts(project, project.accounts)
    asked: list[str] = []
    original = Encoder.encode

    def counting(self: Encoder, texts: Sequence[str]) -> Vectors:
        asked.extend(texts)
        return original(self, texts)

    monkeypatch.setattr(Encoder, "encode", counting)
    assert len(_text_rows(fetched_example)) == len(texts)  # the fixture's `kb fetch` did
    _forget_text_vectors(fetched_example)
    ingest = run_kb("--project", fetched_example, "fetch", "--offline")
    assert ingest.exit_code == 0, ingest.output
    assert f"embedded {len(texts)} account and note texts" in ingest.output
    assert sorted(asked) == sorted(texts)
    _forget_text_vectors(fetched_example)
    asked.clear()
    first = run_kb("--project", fetched_example, "digest", "--all", "--jobs", "1",
                   "--now", "2026-11-16T09:00:00Z", "--out", fetched_example / "one")  # fmt: skip
    assert first.exit_code == 0, first.output
    assert any(t.startswith(project.notes[0].title) for t in texts)
    assert sorted(asked) == sorted(texts)  # each text once, items not at all (stored already)
    rows = _text_rows(fetched_example)
    assert set(rows) == {semantic.text_hash(t) for t in texts}
    assert rows[semantic.text_hash(texts[0])] == Encoder.load().encode(texts[:1]).tobytes()
    asked.clear()
    again = run_kb("--project", fetched_example, "digest", "--all", "--jobs", "1",
                   "--now", "2026-11-16T09:00:00Z", "--out", fetched_example / "two")  # fmt: skip
    assert again.exit_code == 0, again.output
    assert asked == []
    for path in (fetched_example / "one").rglob("*.*"):
        assert (fetched_example / "two" / path.relative_to(fetched_example / "one")).read_bytes() \
            == path.read_bytes()  # fmt: skip


def test_a_pool_gives_the_bytes_of_one_process_from_the_stored_text_vectors(
    fetched_example: Path,
) -> None:
    """With a pool, the main process embeds and stores the run's texts before starting the
    workers, which read them; the outputs are the bytes of a run in one process that reads the
    same vectors, and of one that embeds them afresh."""
    from generator.batch import run_texts
    from generator.config import load_project

    def digests(folder: str, jobs: str) -> dict[str, bytes]:
        now = "2026-11-16T09:00:00Z"
        result = run_kb("--project", fetched_example, "digest", "--all", "--jobs", jobs,
                        "--now", now, "--out", fetched_example / folder)  # fmt: skip
        assert result.exit_code == 0, result.output
        out = fetched_example / folder
        return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*.*"))}

    pooled = digests("pooled", "2")
    project = load_project(fetched_example)
    texts = run_texts(project, project.accounts)
    assert set(_text_rows(fetched_example)) == {semantic.text_hash(t) for t in texts}
    assert digests("alone", "1") == pooled
    with sqlite3.connect(fetched_example / ".kb" / "kb.sqlite") as db:
        db.execute("DELETE FROM text_vectors")
    assert digests("afresh", "1") == pooled


def test_prune_drops_the_vectors_of_texts_no_account_or_note_uses(fetched_example: Path) -> None:
    now = "2026-11-16T09:00:00Z"
    assert run_kb("--project", fetched_example, "digest", "--all", "--jobs", "1", "--now", now,
                  "--out", fetched_example / "out").exit_code == 0  # fmt: skip
    account = fetched_example / "content" / "accounts" / "ridgeline-freight.yml"
    old = "Finding and keeping qualified truck drivers"
    account.write_text(account.read_text().replace(old, "Keeping drivers past 90 days"))
    before = _text_rows(fetched_example)
    assert semantic.text_hash(old) in before
    result = run_kb("--project", fetched_example, "prune", "--older-than", "9999d", "--now", now)
    assert result.exit_code == 0, result.output
    assert "removed 1 vectors of texts no account or note uses any more" in result.output
    after = _text_rows(fetched_example)
    assert set(before) - set(after) == {semantic.text_hash(old)}
    assert (
        before[semantic.text_hash("Trucks waiting hours at shipper docks (detention)")]
        == after[semantic.text_hash("Trucks waiting hours at shipper docks (detention)")]
    )
