"""Atomic writes, one write per path, and "recorded as sent" only after every file is written."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from generator import pipeline
from generator.exceptions import KbError
from generator.models import Account, Digest, Item, Pick
from generator.outputs import Writer, atomic_write
from generator.pipeline import Rendered
from generator.store import open_store

NOW = datetime(2026, 11, 16, 9, tzinfo=UTC)
ITEM = Item("i1", "https://a.example/1", "A story", "Text", "", NOW, NOW, ("wire",))
DIGEST = Digest(Account("acme", "Acme"), NOW, (Pick(ITEM, 0.9, ("why",)),))


def test_atomic_write_replaces_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "a" / "digest.md"
    atomic_write(target, "first")
    atomic_write(target, "second")
    assert target.read_text() == "second"
    assert sorted(p.name for p in target.parent.iterdir()) == ["digest.md"]


def test_an_interrupted_write_keeps_the_old_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "digest.md"
    atomic_write(target, "the old digest")

    def crash(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, "half of a new dig")
    assert target.read_text() == "the old digest"
    assert [p.name for p in tmp_path.iterdir()] == ["digest.md"]


def test_the_writer_refuses_a_second_write_to_one_path(tmp_path: Path) -> None:
    writer = Writer()
    writer.write(tmp_path / "x.md", "one")
    with pytest.raises(KbError, match="two outputs of this run would be written to the same file"):
        writer.write(tmp_path / "." / "x.md", "two")


def test_nothing_is_recorded_as_sent_when_a_write_fails(tmp_path: Path) -> None:
    store = open_store(tmp_path / ".kb")
    blocked = tmp_path / "out" / "acme"
    blocked.parent.mkdir()
    blocked.write_text("a file where the account's folder should be")
    rendered = [
        Rendered(DIGEST, "md", tmp_path / "ok" / "2026-11-16.md", "fine", (ITEM,)),
        Rendered(DIGEST, "html", blocked / "2026-11-16.html", "<p>x</p>", (ITEM,)),
    ]
    try:
        with pytest.raises(KbError, match=r"acme/2026-11-16\.html: could not write"):
            pipeline.write_digests(store, rendered, Writer(), record=True)
        assert store.history("acme") == []
        pipeline.write_digests(store, rendered[:1], Writer(), record=True)
        assert [(r.item_id, r.format) for r in store.history("acme")] == [("i1", "md")]
    finally:
        store.close()


def test_a_skipped_format_is_neither_written_nor_recorded(tmp_path: Path) -> None:
    store = open_store(tmp_path / ".kb")
    note = Rendered(
        DIGEST, "note", tmp_path / "n.note.txt", "", (), skipped="acme: no note: nothing"
    )
    try:
        pipeline.write_digests(store, [note], Writer(), record=True)
        assert not (tmp_path / "n.note.txt").exists()
        assert store.history("acme") == []
    finally:
        store.close()


def test_a_collision_is_found_before_anything_is_written(tmp_path: Path) -> None:
    writer = Writer()
    first, clash = tmp_path / "a.md", tmp_path / "b.md"
    with pytest.raises(KbError, match="same file"):
        writer.write_all([(first, "one"), (clash, "two"), (tmp_path / "." / "b.md", "three")])
    assert not first.exists() and not clash.exists()
    assert writer.written == []
