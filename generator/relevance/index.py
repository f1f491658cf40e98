"""The stored items as terms and vectors: analyzed once per run, shared by every account.

:class:`Corpus` keeps each item's terms (:class:`Doc`, for phrases and reasons), two sparse
matrices (items x terms and items x related-word groups, each cell the credit of where the
word stands: title or body), the terms' rarity (IDF) and the items' sentence vectors
(:class:`.meaning.Embeddings`). An account's lexical evidence is then a few column slices of
those matrices, not a loop over items. Pure: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
import numpy.typing as npt
from scipy import sparse

from ..models import Item
from .lexicon import Lexicon, Phrase, lexicon
from .meaning import Embeddings, Matrix, TextEncoder
from .semantic import item_text
from .text import phrase_in, surface_words, terms

TITLE_CREDIT = 1.0
BODY_CREDIT = 0.7


class Doc:
    """An item's text, analyzed once and shared by every account."""

    __slots__ = ("all_set", "body", "groups", "item", "title", "title_set")

    def __init__(self, item: Item, lex: Lexicon) -> None:
        self.item = item
        self.title: Phrase = tuple(terms(item.title))
        self.body: Phrase = tuple(terms(f"{item.summary} {' '.join(item.categories)}"))
        self.title_set = frozenset(self.title)
        self.all_set = frozenset(self.title + self.body)
        groups: dict[int, tuple[Phrase, bool]] = {
            g: (member, True) for g, member in lex.groups_in(self.title).items()
        }
        for g, member in lex.groups_in(self.body).items():
            groups.setdefault(g, (member, False))
        self.groups: Mapping[int, tuple[Phrase, bool]] = groups
        """Related groups the text touches -> (the member phrase found, whether in the title)."""

    def has(self, phrase: Phrase) -> bool:
        if len(phrase) == 1:
            return phrase[0] in self.all_set
        return self.all_set.issuperset(phrase) and (
            phrase_in(phrase, self.title) or phrase_in(phrase, self.body)
        )


def analyze(item: Item, lex: Lexicon | None = None) -> Doc:
    return Doc(item, lex or lexicon())


Floats = npt.NDArray[np.float32]
Bools = npt.NDArray[np.bool_]
HOLDING_CACHE = 20_000


def _dense(matrix: sparse.csc_matrix, column: int | None, n: int) -> Floats:
    """One column of a CSC matrix as a dense array (straight from its arrays: no scipy
    indexing, which costs a hundred times more for one column)."""
    out = np.zeros(n, np.float32)
    if column is not None and column < matrix.shape[1]:
        start, end = matrix.indptr[column], matrix.indptr[column + 1]
        out[matrix.indices[start:end]] = matrix.data[start:end]
    return out


class Corpus:
    """The stored items with their term statistics and vectors, built once per run."""

    def __init__(
        self,
        items: Iterable[Item],
        lex: Lexicon | None = None,
        *,
        vectors: Matrix | None = None,
        encoder: TextEncoder | Callable[[], TextEncoder] | None = None,
        alongside: Corpus | None = None,
    ) -> None:
        """``alongside``: a run's corpus whose encoder and embedded account texts to share."""
        self.lexicon = lex or lexicon()
        self.docs: tuple[Doc, ...] = tuple(Doc(i, self.lexicon) for i in items)
        self.position = {d.item.id: k for k, d in enumerate(self.docs)}
        texts = [item_text(d.item) for d in self.docs]
        self.embeddings: Embeddings = (
            alongside.embeddings.alongside(texts)
            if alongside is not None
            else Embeddings(texts, vectors, encoder)
        )
        self.columns: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        credit: list[float] = []
        pair_rows: list[int] = []
        pair_cols: list[int] = []
        self.pair_columns: dict[tuple[str, str], int] = {}
        group_rows: list[int] = []
        group_cols: list[int] = []
        group_credit: list[float] = []
        for k, doc in enumerate(self.docs):
            for term in doc.all_set:
                rows.append(k)
                cols.append(self.columns.setdefault(term, len(self.columns)))
                credit.append(TITLE_CREDIT if term in doc.title_set else BODY_CREDIT)
            pairs = set(zip(doc.title, doc.title[1:], strict=False))
            pairs.update(zip(doc.body, doc.body[1:], strict=False))
            for pair in pairs:
                pair_rows.append(k)
                pair_cols.append(self.pair_columns.setdefault(pair, len(self.pair_columns)))
            for group, (_member, in_title) in doc.groups.items():
                group_rows.append(k)
                group_cols.append(group)
                group_credit.append(TITLE_CREDIT if in_title else BODY_CREDIT)
        n = len(self.docs)
        self.terms = sparse.csc_matrix(
            (np.asarray(credit, np.float32), (rows, cols)), shape=(n, len(self.columns))
        )
        self.pairs = sparse.csc_matrix(
            (np.ones(len(pair_rows), np.float32), (pair_rows, pair_cols)),
            shape=(n, len(self.pair_columns)),
        )
        """Items x adjacent word pairs (title or summary): where two words are said together."""
        n_groups = max(group_cols, default=-1) + 1
        self.groups = sparse.csc_matrix(
            (np.asarray(group_credit, np.float32), (group_rows, group_cols)),
            shape=(n, n_groups),
        )
        df = np.diff(self.terms.indptr)
        total = n or 1
        self._idf = {
            t: math.log(1 + (total - df[c] + 0.5) / (df[c] + 0.5)) for t, c in self.columns.items()
        }
        self.default_idf = math.log(1 + (total + 0.5) / 0.5)
        """The weight of a word no stored item uses: the rarest there is."""
        self.published = np.asarray([d.item.published.timestamp() for d in self.docs], np.float64)
        self._shown: dict[str, dict[str, str]] = {}
        self._holding: dict[Phrase, Bools] = {}
        self.extras: dict[object, object] = {}
        """What other parts derive from the run's corpus and keep for the run (the notes')."""

    def __len__(self) -> int:
        return len(self.docs)

    def idf(self, term: str) -> float:
        return self._idf.get(term, self.default_idf)

    def column(self, term: str) -> Floats:
        """Each item's credit for ``term`` (0 where it does not use it), dense."""
        c = self.columns.get(term)
        return _dense(self.terms, c, len(self.docs))

    def saying(self, pair: tuple[str, str]) -> Bools:
        """Whether each item says the two terms next to each other."""
        return _dense(self.pairs, self.pair_columns.get(pair), len(self.docs)) > 0

    def group_column(self, groups: Sequence[int]) -> Floats:
        """Each item's best credit among related ``groups``, dense."""
        best = np.zeros(len(self.docs), np.float32)
        for g in groups:
            if g < self.groups.shape[1]:
                best = np.maximum(best, _dense(self.groups, g, len(self.docs)))
        return best

    def holding(self, phrase: Phrase) -> Bools:
        """Whether each item holds ``phrase`` (words in order).

        Candidates come from the term columns; the order is checked only on those. Accounts
        share topics, so the answers are kept for the run (up to ``HOLDING_CACHE`` phrases).
        """
        cached = self._holding.get(phrase)
        if cached is not None:
            return cached
        present = np.ones(len(self.docs), bool)
        for term in phrase:
            present &= self.column(term) > 0
        if len(phrase) > 1:
            for k in np.flatnonzero(present):
                present[k] = self.docs[k].has(phrase)
        if len(self._holding) < HOLDING_CACHE:
            self._holding[phrase] = present
        return present

    def shown(self, doc: Doc) -> Mapping[str, str]:
        """The item's words for each of its terms (for reasons), worked out once per run."""
        key = doc.item.id
        if key not in self._shown:
            self._shown[key] = item_surface(doc.item)
        return self._shown[key]


def item_surface(item: Item) -> dict[str, str]:
    """The item's words as written, by term, for quoting in reasons."""
    return surface_words(f"{item.title} {item.summary} {' '.join(item.categories)}")
