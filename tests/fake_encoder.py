"""A tiny deterministic stand-in for the sentence encoder, for unit tests of the mechanics.

Each word maps to a fixed pseudo-random unit vector (seeded by its CRC32); a text is the
normalised sum of its words' vectors, so texts sharing words are close and others are near 0.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

DIM = 64


class FakeEncoder:
    model_id = "fake@1"
    dim = DIM

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.calls.append(tuple(texts))
        rows = np.zeros((len(texts), DIM), np.float32)
        for k, text in enumerate(texts):
            for word in re.findall(r"[a-z]+", text.casefold()):
                rng = np.random.default_rng(zlib.crc32(word.encode()))
                rows[k] += rng.standard_normal(DIM).astype(np.float32)
            norm = np.linalg.norm(rows[k])
            if norm:
                rows[k] /= norm
        return rows
