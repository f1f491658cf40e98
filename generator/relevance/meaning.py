"""Semantic evidence: how close in meaning an item is to the account's problems and field.

Items are embedded once, at ingest, by the sentence encoder of :mod:`.semantic` and their
vectors kept in the store; a run hands them in as one matrix (rows in the corpus' order). The
account's texts (its problems, its field) are embedded once per run and cached here, so a
thousand accounts sharing a problem pay for it once. Every similarity is one matrix product:
rows are L2-normalised, so the product is the cosine.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float32]


class TextEncoder(Protocol):
    """What the ranker needs of a sentence encoder (see :class:`.semantic.Encoder`)."""

    @property
    def model_id(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> Matrix: ...


class PairJudge(Protocol):
    """What the gate needs of the judge (see :class:`.judge.Judge`)."""

    @property
    def model_id(self) -> str: ...

    def text_of(self, industry: str, problems: Sequence[str]) -> str:
        """What it reads of an account (empty: it does not judge the account)."""

    def logits(self, account: str, stories: Sequence[str]) -> npt.NDArray[np.float32]: ...


class JudgementCache(Protocol):
    """Where a run finds the judge's logits of earlier runs, and keeps its own (see
    :class:`.judge.StoredJudgements`): for judge ``judge`` (its model id) and the text it reads
    of an account, item id -> logit."""

    def known(self, judge: str, account: str) -> Mapping[str, float]: ...

    def since(self, judge: str, account: str, items: Collection[str]) -> Mapping[str, float]:
        """What other processes of the run have judged of ``items`` since :meth:`known` was
        read (asked just before judging them; empty when no other process shares the cache)."""
        ...

    def keep(self, judge: str, account: str, logits: Mapping[str, float]) -> None: ...


TextVectors = Callable[[Sequence[str]], Matrix]
"""Where a run gets the vectors of texts that are not stored items (one row per text, in
order): the store's text cache (:class:`.semantic.StoredTexts`), or the encoder itself."""


def default_encoder() -> TextEncoder:
    """The packaged encoder, loaded once per process (imported here: loading it is costly)."""
    from .semantic import Encoder

    return Encoder.load()


class Embeddings:
    """The items' vectors for one run, and the account texts embedded so far.

    ``vectors`` are the items' rows, in the corpus' order; when none are given (a caller
    outside the pipeline, a test) they are embedded here, on first use, without the store.
    """

    def __init__(
        self,
        texts: Sequence[str],
        vectors: Matrix | None = None,
        encoder: TextEncoder | Callable[[], TextEncoder] | None = None,
        text_vectors: TextVectors | None = None,
    ) -> None:
        """``text_vectors``: how to embed texts not given as ``vectors`` (the encoder when
        none is given)."""
        if vectors is not None and len(vectors) != len(texts):
            raise ValueError(f"{len(vectors)} vectors for {len(texts)} items")
        self._texts = tuple(texts) if vectors is None else texts  # only read to embed them
        self._vectors = vectors
        self._encoder = encoder if encoder is not None else default_encoder
        self._text_vectors = text_vectors
        self._cache: dict[str, npt.NDArray[np.float32]] = {}

    def alongside(self, texts: Sequence[str]) -> Embeddings:
        """Embeddings of other items (the team's notes) sharing this run's encoder and the
        account texts it embedded already."""
        other = Embeddings(texts, None, self._encoder, self._text_vectors)
        other._cache = self._cache
        return other

    @property
    def encoder(self) -> TextEncoder:
        if callable(self._encoder) and not hasattr(self._encoder, "encode"):
            self._encoder = self._encoder()
        return self._encoder  # type: ignore[return-value]

    @property
    def judge(self) -> PairJudge | None:
        """The judge for the field question's unsure band: the packaged one when the vectors
        are the packaged encoder's (the band's bars are its cosines), else None."""
        from .judge import Judge
        from .semantic import Encoder

        return Judge.load() if isinstance(self.encoder, Encoder) else None

    @property
    def items(self) -> Matrix:
        if self._vectors is None:
            self._vectors = self._as_matrix(self._embed(self._texts), len(self._texts))
        return self._vectors

    def texts(self, texts: Sequence[str]) -> Matrix:
        """The vectors of ``texts`` (one row each), embedding only those not seen this run."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            rows = self._as_matrix(self._embed(missing), len(missing))
            self._cache.update(zip(missing, rows, strict=True))
        if not texts:
            return np.zeros((0, self.items.shape[1] if len(self._texts) else 0), np.float32)
        return np.stack([self._cache[t] for t in texts]).astype(np.float32, copy=False)

    def _embed(self, texts: Sequence[str]) -> Matrix:
        if self._text_vectors is not None:
            return self._text_vectors(texts)
        return self.encoder.encode(texts)

    @staticmethod
    def _as_matrix(rows: npt.ArrayLike, n: int) -> Matrix:
        matrix = np.asarray(rows, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[0] != n:
            raise ValueError(f"the encoder returned shape {matrix.shape} for {n} texts")
        return matrix


def similarity(items: Matrix, texts: Matrix) -> Matrix:
    """Cosine of every item with every text: (items x texts), one matrix product."""
    if texts.shape[0] == 0 or items.shape[0] == 0:
        return np.zeros((items.shape[0], texts.shape[0]), np.float32)
    return items @ texts.T
