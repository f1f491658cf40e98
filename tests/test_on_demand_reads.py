"""A digest on demand without the costs it does not need: ``feeds.yml`` from the state folder's
cache while the file is unchanged, and the SQLite store read through ``sqlite3`` (no
SQLAlchemy) with the full store opened only for what the reader does not serve."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from conftest import run_kb
from hypothesis import given
from hypothesis import strategies as st

from generator.config import FEEDS_CACHE, account_stem, load_project
from generator.exceptions import ConfigErrors, StoreError
from generator.relevance.index import Tokens
from generator.relevance.semantic import Encoder
from generator.store import open_for_reading, open_store, reads
from generator.store.reads import ReadingStore

ACCOUNT = "ridgeline-freight"
NEW_FEED = """
  - name: port-news
    title: Port News
    url: https://ports.example.com/feed.xml
    topics: [freight-market]
"""


def feeds_yml(root: Path) -> Path:
    return root / "feeds" / "feeds.yml"


def cache_of(root: Path) -> Path:
    return root / ".kb" / FEEDS_CACHE


def test_feeds_come_from_their_cache_until_feeds_yml_changes(fetched_example: Path) -> None:
    first = load_project(fetched_example).feeds  # read, checked, and cached
    assert cache_of(fetched_example).is_file()
    assert load_project(fetched_example).feeds == first
    with feeds_yml(fetched_example).open("a", encoding="utf-8") as f:
        f.write(NEW_FEED)
    edited = load_project(fetched_example).feeds
    assert [f.name for f in edited] == [*(f.name for f in first), "port-news"]
    assert edited[-1].topics == ("freight-market",) and edited[-1].weight == 1.0
    # the command sees it too: kb feeds lists the new feed
    listed = run_kb("--project", fetched_example, "feeds")
    assert listed.exit_code == 0, listed.output
    assert "port-news" in listed.output


def test_a_topic_removed_since_the_feeds_were_cached_is_reported(fetched_example: Path) -> None:
    load_project(fetched_example)
    topics = fetched_example / "content" / "topics.yml"
    text = topics.read_text(encoding="utf-8")
    topics.write_text(text.replace("id: dock-and-detention", "id: docks"), encoding="utf-8")
    with pytest.raises(ConfigErrors) as caught:
        load_project(fetched_example)
    assert any(
        e.path == feeds_yml(fetched_example) and "dock-and-detention" in e.message
        for e in caught.value.errors
    )


def test_a_feed_file_deleted_since_it_was_cached_is_reported_with_its_line(
    fetched_example: Path,
) -> None:
    load_project(fetched_example)
    (fetched_example / "feeds" / "freight-wire.xml").unlink()
    result = run_kb("--project", fetched_example, "digest", ACCOUNT, "--dry-run")
    assert result.exit_code == 1
    assert "feeds.yml:7: feed file not found: feeds/freight-wire.xml" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "damage",
    [b"", b"{not json", b'{"key": "other", "files": {}}', b"[1, 2]", None],
)
def test_a_damaged_feeds_cache_is_ignored_and_rewritten(
    fetched_example: Path, damage: bytes | None
) -> None:
    first = load_project(fetched_example).feeds
    cache = cache_of(fetched_example)
    if damage is None:  # the right key, an entry of the wrong shape
        data = json.loads(cache.read_bytes())
        for entry in data["files"].values():
            entry[1] = [{"name": "x", "colour": "red"}]
        cache.write_text(json.dumps(data), encoding="utf-8")
    else:
        cache.write_bytes(damage)
    assert load_project(fetched_example).feeds == first
    assert json.loads(cache.read_bytes())["files"]  # saved again, whole
    assert load_project(fetched_example).feeds == first


def test_a_feeds_yml_broken_after_it_was_cached_is_reported(fetched_example: Path) -> None:
    load_project(fetched_example)
    path = feeds_yml(fetched_example)
    path.write_text(path.read_text(encoding="utf-8").replace("weight: 1.0", "weight: x", 1))
    result = run_kb("--project", fetched_example, "digest", ACCOUNT, "--dry-run")
    assert result.exit_code == 1
    assert f"{path}:9: 'weight' must be a number" in result.output


@given(st.text(alphabet=".aY_lmy-", max_size=12))
def test_account_stem_is_what_splitext_says(name: str) -> None:
    stem, suffix = os.path.splitext(name)
    expected = stem if suffix in (".yml", ".yaml") else ""
    assert account_stem(name) == expected


# --- the store, read without SQLAlchemy -----------------------------------------------------


def test_the_reader_answers_as_the_full_store(
    fetched_example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = run_kb("--project", fetched_example, "digest", ACCOUNT, "--format", "md")
    assert sent.exit_code == 0, sent.output  # recorded through the reader's full store
    state = fetched_example / ".kb"
    model = Encoder.load().model_id
    full = open_store(state)
    reader = open_for_reading(state)
    try:
        assert isinstance(reader, ReadingStore)
        assert reader.items_state(model) == full.items_state(model)
        assert reader.items_state("another-model") == full.items_state("another-model")
        history = reader.history(ACCOUNT)
        assert history and history == full.history(ACCOUNT)
        assert reader.history("nobody") == []
        with sqlite3.connect(state / "kb.sqlite") as db:
            hashes = [h for (h,) in db.execute("SELECT text_hash FROM text_vectors")]
        asked = [*hashes, *hashes[:3], "0" * 64]
        monkeypatch.setattr(reads, "CHUNK", 7)  # several IN (...) lists
        assert reader.text_vectors(model, asked) == full.text_vectors(model, asked)
        assert reader.text_vectors(model, asked) == full.text_vectors(model, asked)  # cached
        # the judge's logits: read, and written by the reader itself
        first, second = (item.id for item in full.items()[:2])
        full.save_judgements("j", {("acct", first): b"full"})
        reader.save_judgements("j", {("acct", first): b"mine", ("acct", second): b"read"})
        reader.save_judgements("j", {("acct", "pruned-meanwhile"): b"lost"})
        assert reader.judgements("j", "acct") == full.judgements("j", "acct")
        assert full.judgements("j", "acct") == {first: b"full", second: b"read"}
        assert reader.judgements("j", "nobody") == {}
        some = [*(f"unjudged-{n}" for n in range(10)), second]  # two IN (...) lists
        assert reader.judgements("j", "acct", some) == {second: b"read"}
        assert full.judgements("j", "acct", some) == {second: b"read"}
        # what the reader does not serve is the full store's
        assert reader.items() == full.items()
    finally:
        reader.close()
        full.close()


def test_the_reader_is_used_only_for_a_store_at_this_schema(tmp_path: Path) -> None:
    state = tmp_path / ".kb"
    made = open_for_reading(state)  # no store yet: the full store creates it
    try:
        assert not isinstance(made, ReadingStore)
        assert (state / "kb.sqlite").is_file()
    finally:
        made.close()
    with sqlite3.connect(state / "kb.sqlite") as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(StoreError, match="schema version 99, this kb knows up to"):
        open_for_reading(state)


def test_a_damaged_store_is_an_error_not_a_traceback(fetched_example: Path) -> None:
    store = fetched_example / ".kb" / "kb.sqlite"
    for extra in ("-wal", "-shm"):
        Path(f"{store}{extra}").unlink(missing_ok=True)
    store.write_bytes(b"this is not a database" * 100)
    result = run_kb("--project", fetched_example, "digest", ACCOUNT, "--dry-run")
    assert result.exit_code == 1
    assert "Traceback" not in result.output and "store" in result.output


# --- the phrase check on a restored corpus, for all candidates at once ----------------------

segments = st.lists(st.lists(st.integers(0, 3), max_size=8), min_size=1, max_size=8)


@given(segments, segments, st.lists(st.integers(0, 3), min_size=1, max_size=3), st.data())
def test_holding_says_what_has_says_for_each_item(
    titles: list[list[int]],
    bodies: list[list[int]],
    phrase: list[int],
    data: st.DataObject,
) -> None:
    count = min(len(titles), len(bodies))
    tokens = Tokens(*flat(titles[:count]), *flat(bodies[:count]))
    chosen = data.draw(st.lists(st.integers(0, count - 1), unique=True))
    items = np.asarray(sorted(chosen), np.intp)
    expected = [tokens.has(int(k), tuple(phrase)) for k in items]
    assert tokens.holding(items, tuple(phrase)).tolist() == expected


def flat(parts: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    at = np.zeros(len(parts) + 1, np.int64)
    at[1:] = np.cumsum([len(p) for p in parts])
    return np.asarray([t for p in parts for t in p], np.int32), at
