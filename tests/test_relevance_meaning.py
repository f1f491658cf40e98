"""Semantic evidence: account texts embedded once per run; cosines as one matrix product."""

from __future__ import annotations

import numpy as np
import pytest
from fake_encoder import FakeEncoder

from generator.relevance.meaning import Embeddings, similarity


def test_texts_are_embedded_once_per_run() -> None:
    encoder = FakeEncoder()
    embeddings = Embeddings(["a story", "another"], encoder=encoder)
    embeddings.texts(["driver pay", "cargo theft"])
    embeddings.texts(["cargo theft", "driver pay", "diesel"])
    assert encoder.calls[-1] == ("diesel",)
    assert sum(len(c) for c in encoder.calls) == 3


def test_stored_vectors_are_used_as_given() -> None:
    encoder = FakeEncoder()
    given = np.eye(2, dtype=np.float32)
    embeddings = Embeddings(["x", "y"], given, encoder)
    assert embeddings.items is given
    assert encoder.calls == []
    with pytest.raises(ValueError, match="1 vectors for 2 items"):
        Embeddings(["x", "y"], given[:1], encoder)


def test_similarity_is_the_cosine_of_every_item_with_every_text() -> None:
    items = FakeEncoder().encode(["truck drivers quit", "bike lanes open"])
    texts = FakeEncoder().encode(["truck drivers quit"])
    sims = similarity(items, texts)
    assert sims.shape == (2, 1)
    assert sims[0, 0] == pytest.approx(1.0, abs=1e-5)
    assert abs(sims[1, 0]) < 0.5
    assert similarity(items, texts[:0]).shape == (2, 0)
