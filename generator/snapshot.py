"""The analyzed corpus of the stored items, saved in the state folder and memory-mapped.

Ranking needs every stored item analyzed: its terms (two sparse matrices, the terms' rarity),
its words in order, its sentence vector. Building that takes a second per 2,500 items, so a
rep's ``kb digest acme`` at 50,000 items would spend 20 s on it before ranking one account.
The first run after the store changed builds it and saves it here (``<state>/corpus.snapshot``,
one file, written atomically: a killed write leaves the previous file or none); every later run
maps the file and reads only the pages it touches: a few columns of the matrices, the vectors,
and the few items that pass the account's gate. Memory grows with what one account looks at,
not with the store.

The file is valid only for the store's items, sources and vectors as they were
(:meth:`generator.store.Store.items_state`), the project's vocabulary, the sentence encoder and
the code that analyzes text: all four are hashed into its key, and a file with another key is
rebuilt (and replaced) without a word. A damaged or unreadable file counts as missing.

Layout: ``KBSNAP1\\n``, the header's length (8 bytes, little-endian), the header (JSON: the key,
the term columns, and each array's dtype, shape and offset), then the arrays, each 64-byte
aligned, raw. Items are JSON, one after the other, found by their offsets.
"""

from __future__ import annotations

import hashlib
import json
import mmap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .models import Item, Vocabulary
from .outputs import atomic_file
from .relevance.index import Analysis, Columns, Corpus, Lazy, Tokens, tokens_of
from .relevance.lexicon import Lexicon
from .relevance.meaning import Embeddings, TextVectors
from .relevance.semantic import item_text

FILE_NAME = "corpus.snapshot"
NOTES_FILE = "notes.snapshot"
"""The team's notes, analyzed the same way (keyed by their content)."""
MAGIC = b"KBSNAP1\n"
ALIGN = 64
ANALYZING_CODE = (
    "relevance/text.py",
    "relevance/lexicon.py",
    "relevance/index.py",
    "relevance/semantic.py",
    "data/lexicon.yml",
)
"""The sources whose change changes an analysis (hashed into every snapshot's key)."""

Array = npt.NDArray[Any]


def snapshot_path(state_dir: Path) -> Path:
    return state_dir / FILE_NAME


def snapshot_key(store_state: str, vocabulary: Vocabulary, model_id: str) -> str:
    """What a snapshot is valid for: the store's items and vectors, the vocabulary, the
    encoder, and the analyzing code (see :data:`ANALYZING_CODE`)."""
    digest = hashlib.sha256()
    package = resources.files("generator")
    for name in ANALYZING_CODE:
        digest.update((package / name).read_bytes())
    digest.update(json.dumps([store_state, repr(vocabulary), model_id]).encode("utf-8"))
    return digest.hexdigest()


# --- items as bytes --------------------------------------------------------------------------


def item_bytes(item: Item) -> bytes:
    row = [
        item.id,
        item.url,
        item.title,
        item.summary,
        item.summary_html,
        item.published.isoformat(),
        item.first_seen.isoformat(),
        list(item.sources),
        item.author,
        list(item.categories),
    ]
    return json.dumps(row, ensure_ascii=False).encode("utf-8")


def item_from_bytes(blob: bytes) -> Item:
    row = json.loads(blob)
    return Item(
        id=row[0],
        url=row[1],
        title=row[2],
        summary=row[3],
        summary_html=row[4],
        published=datetime.fromisoformat(row[5]),
        first_seen=datetime.fromisoformat(row[6]),
        sources=tuple(row[7]),
        author=row[8],
        categories=tuple(row[9]),
    )


# --- the file --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Saved:
    """A snapshot as read: its key, term columns and arrays (views of the mapped file)."""

    key: str
    columns: list[str]
    arrays: dict[str, Array]
    shapes: dict[str, tuple[int, ...]]

    def item_at(self, k: int) -> Item:
        at = self.arrays["item_at"]
        return item_from_bytes(self.arrays["items"][at[k] : at[k + 1]].tobytes())


def write_snapshot(
    path: Path,
    key: str,
    columns: Sequence[str],
    arrays: dict[str, Array],
    shapes: Mapping[str, tuple[int, ...]] | None = None,
) -> None:
    """Save ``arrays`` under ``key`` atomically (``shapes``: logical shapes to keep, such as a
    sparse matrix's)."""
    layout: dict[str, list[Any]] = {}
    offset = 0
    for name, array in arrays.items():
        offset = -(-offset // ALIGN) * ALIGN
        layout[name] = [array.dtype.str, list(array.shape), offset]
        offset += array.nbytes
    header = json.dumps(
        {
            "key": key,
            "columns": list(columns),
            "arrays": layout,
            "shapes": {k: list(v) for k, v in (shapes or {}).items()},
        }
    ).encode("utf-8")
    start = -(-(len(MAGIC) + 8 + len(header)) // ALIGN) * ALIGN
    with atomic_file(path) as out:
        out.write(MAGIC)
        out.write(len(header).to_bytes(8, "little"))
        out.write(header)
        for name, array in arrays.items():
            out.write(b"\0" * (start + layout[name][2] - out.tell()))
            out.write(np.ascontiguousarray(array).tobytes())


def read_snapshot(path: Path, key: str) -> Saved | None:
    """The snapshot at ``path`` if it is there, whole, and saved under ``key``; else None."""
    try:
        with path.open("rb") as handle:
            if handle.read(len(MAGIC)) != MAGIC:
                return None
            size = int.from_bytes(handle.read(8), "little")
            header = json.loads(handle.read(size))
            if header.get("key") != key:
                return None
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None
    start = -(-(len(MAGIC) + 8 + size) // ALIGN) * ALIGN
    data = np.frombuffer(mapped, np.uint8)
    arrays: dict[str, Array] = {}
    try:
        for name, (dtype, shape, offset) in header["arrays"].items():
            kind = np.dtype(dtype)
            count = int(np.prod(shape, dtype=np.int64))
            begin = start + offset
            end = begin + count * kind.itemsize
            if end > len(data):
                return None  # cut short: not a file this module finished writing
            arrays[name] = data[begin:end].view(kind).reshape(shape)
        shapes = {k: tuple(v) for k, v in header["shapes"].items()}
        return Saved(key, list(header["columns"]), arrays, shapes)
    except (KeyError, TypeError, ValueError):
        return None


# --- a corpus in and out ---------------------------------------------------------------------


def items_state(items: Sequence[Item]) -> str:
    """A fingerprint of ``items``' content (the team's notes as items: no store to ask)."""
    digest = hashlib.sha256()
    for item in items:
        digest.update(item_bytes(item))
    return digest.hexdigest()


def save_corpus(path: Path, key: str, corpus: Corpus, *, vectors: bool = True) -> None:
    """Save ``corpus`` under ``key`` (``vectors``: with its items' vectors; the notes' come
    from the store's text cache instead)."""
    docs = corpus.docs
    tokens = tokens_of(docs, corpus.columns)
    blobs = [item_bytes(d.item) for d in docs]
    item_at = np.zeros(len(blobs) + 1, np.int64)
    item_at[1:] = np.cumsum([len(b) for b in blobs])
    terms, groups = corpus.terms, corpus.groups
    arrays: dict[str, Array] = {
        "terms.data": terms.data,
        "terms.indices": terms.indices,
        "terms.indptr": terms.indptr,
        "groups.data": groups.data,
        "groups.indices": groups.indices,
        "groups.indptr": groups.indptr,
        "published": corpus.published,
        "title": tokens.title,
        "title_at": tokens.title_at,
        "body": tokens.body,
        "body_at": tokens.body_at,
        "items": np.frombuffer(b"".join(blobs), np.uint8),
        "item_at": item_at,
    }
    if vectors:
        arrays["vectors"] = np.asarray(corpus.embeddings.items, np.float32)
    columns = sorted(corpus.columns, key=corpus.columns.__getitem__)
    shapes = {"terms": terms.shape, "groups": groups.shape}
    write_snapshot(path, key, columns, arrays, shapes)


def load_corpus(
    path: Path,
    key: str,
    lex: Lexicon,
    text_vectors: TextVectors | None = None,
    *,
    alongside: Corpus | None = None,
) -> Corpus | None:
    """The corpus saved at ``path`` under ``key``, or None when there is none (or another).

    ``alongside``: the run's corpus, for a corpus saved without vectors (the notes): its texts
    are then embedded through the run's (see :meth:`.relevance.meaning.Embeddings.alongside`).
    """
    saved = read_snapshot(path, key)
    if saved is None:
        return None
    a = saved.arrays
    try:
        terms, groups = (
            Columns(a[f"{m}.data"], a[f"{m}.indices"], a[f"{m}.indptr"], _shape(saved, m))
            for m in ("terms", "groups")
        )
        columns = {term: c for c, term in enumerate(saved.columns)}
        parts = Analysis(terms, groups, columns, a["published"])
        tokens = Tokens(a["title"], a["title_at"], a["body"], a["body_at"])
        count = len(a["item_at"]) - 1
    except (KeyError, ValueError):
        return None
    items = Lazy(count, saved.item_at)
    if "vectors" in a:  # the texts are then read only to check their number
        texts = Lazy(count, lambda k: item_text(items[k]))
        embeddings = Embeddings(texts, a["vectors"], text_vectors=text_vectors)
    elif alongside is not None:
        embeddings = alongside.embeddings.alongside([item_text(i) for i in items])
    else:
        return None
    return Corpus.restored(lex, parts, tokens, items, embeddings)


def _shape(saved: Saved, name: str) -> tuple[int, int]:
    rows, columns = saved.shapes[name]
    return rows, columns
