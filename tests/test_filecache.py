"""The state folder's caches of project files: used only while a file is unchanged, kept only
for files that had settled, never trusted when damaged."""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from generator import filecache
from generator.config import NOTES_CACHE, load_project

KEY = "k"


def age(path: Path, seconds: float) -> None:
    then = time.time_ns() - int(seconds * 1e9)
    os.utime(path, ns=(then, then))


def test_a_file_changed_a_moment_ago_is_not_cached(tmp_path: Path) -> None:
    old, new = tmp_path / "old.md", tmp_path / "new.md"
    old.write_text("a")
    new.write_text("b")
    age(old, 10)
    cache = tmp_path / "cache.json"
    entries = {p.name: [filecache.stamp(p), p.read_text()] for p in (old, new)}
    filecache.save(cache, KEY, entries, {})
    assert filecache.read(cache, KEY) == {"old.md": entries["old.md"]}
    assert filecache.read(cache, "another key") == {}


def test_a_note_rewritten_within_one_clock_tick_is_read_again(example: Path) -> None:
    """The racy case: a note cached, then rewritten at the same size so quickly that its
    stamp could not change. Only settled notes are cached, so the rewrite is seen."""
    state = example / ".kb"
    state.mkdir(exist_ok=True)
    note = sorted((example / "content" / "notes").glob("*.md"))[0]
    text = note.read_text(encoding="utf-8")
    note.write_text(text, encoding="utf-8")  # just edited
    load_project(example)
    cached = json.loads((state / NOTES_CACHE).read_bytes())["files"]
    assert note.name not in cached and cached  # the others had settled
    last = text.rstrip()[-1]
    swapped = text.rstrip()[:-1] + ("X" if last != "X" else "Y") + text[len(text.rstrip()) :]
    note.write_text(swapped, encoding="utf-8")  # same size
    body = {n.slug: n for n in load_project(example).notes}[note.stem].body
    assert body.rstrip().endswith(swapped.rstrip()[-1])
    age(note, 10)
    load_project(example)
    assert note.name in json.loads((state / NOTES_CACHE).read_bytes())["files"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=12,
)


@given(files=json_values, key=st.sampled_from([KEY, "other", 3]))
def test_any_cache_content_reads_as_well_formed_entries_or_none(files: object, key: object) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cache.json"
        path.write_text(json.dumps({"key": key, "files": files}))
        read = filecache.read(path, KEY)
    assert all(
        isinstance(e, list) and len(e) == 2 and isinstance(e[0], list) for e in read.values()
    )
    if key != KEY:
        assert read == {}
