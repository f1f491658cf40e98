"""The stored items as terms and vectors: analyzed once per run, shared by every account.

:class:`Corpus` keeps each item's terms (:class:`Doc`, for phrases and reasons), two sparse
matrices (items x terms and items x related-word groups, each cell the credit of where the
word stands: title or body), the terms' rarity (IDF) and the items' sentence vectors
(:class:`.meaning.Embeddings`). An account's lexical evidence is then a few column slices of
those matrices, not a loop over items. Pure: no I/O.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, overload

import numpy as np
import numpy.typing as npt

from ..models import Item
from .lexicon import Lexicon, Phrase, lexicon
from .meaning import Embeddings, JudgementCache, Matrix, TextEncoder, TextVectors
from .semantic import item_text
from .text import phrase_in, surface_words, terms

T = TypeVar("T")
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


@dataclass(frozen=True)
class Columns:
    """A sparse matrix by columns (scipy's CSC arrays): all ranking reads of one. Kept as plain
    arrays so a corpus restored from a snapshot needs no scipy (0.15 s to import)."""

    data: Floats
    indices: npt.NDArray[np.integer[Any]]
    indptr: npt.NDArray[np.integer[Any]]
    shape: tuple[int, int]


def _matrix(
    n: int, rows: list[dict[Any, float]], columns: dict[Any, int], width: int | None = None
) -> Columns:
    """A CSC matrix from each row's {key: value}, numbering new keys in ``columns`` as met.

    Built as CSR straight from its arrays (no per-cell Python append), then converted once.
    """
    from scipy import sparse

    indptr = np.zeros(n + 1, np.int64)
    indices: list[int] = []
    data: list[float] = []
    for k, row in enumerate(rows):
        indices.extend([columns.setdefault(key, len(columns)) for key in row])
        data.extend(row.values())
        indptr[k + 1] = len(indices)
    shape = (n, len(columns) if width is None else width)
    matrix = sparse.csr_matrix(
        (np.asarray(data, np.float32), np.asarray(indices, np.int64), indptr), shape=shape
    )
    by_column = matrix.tocsc()
    return Columns(by_column.data, by_column.indices, by_column.indptr, by_column.shape)


def _dense(matrix: Columns, column: int | None, n: int) -> Floats:
    """One column of a CSC matrix as a dense array (straight from its arrays: no scipy
    indexing, which costs a hundred times more for one column)."""
    out = np.zeros(n, np.float32)
    if column is not None and column < matrix.shape[1]:
        start, end = matrix.indptr[column], matrix.indptr[column + 1]
        out[matrix.indices[start:end]] = matrix.data[start:end]
    return out


@dataclass(frozen=True)
class Tokens:
    """Every item's title and body as term numbers (columns of :attr:`Corpus.terms`), end to
    end: item ``k``'s title is ``title[title_at[k]:title_at[k + 1]]``. What a corpus restored
    from a snapshot checks word order with, instead of analyzing the items' text again."""

    title: npt.NDArray[np.int32]
    title_at: npt.NDArray[np.int64]
    body: npt.NDArray[np.int32]
    body_at: npt.NDArray[np.int64]

    def has(self, k: int, phrase: tuple[int, ...]) -> bool:
        """Whether item ``k`` says the words of ``phrase`` in order, in its title or body."""
        title = self.title[self.title_at[k] : self.title_at[k + 1]].tolist()
        if phrase_in(phrase, title):
            return True
        return phrase_in(phrase, self.body[self.body_at[k] : self.body_at[k + 1]].tolist())

    def holding(self, items: npt.NDArray[np.intp], phrase: tuple[int, ...]) -> Bools:
        """Whether each of ``items`` says ``phrase`` in order, in its title or body: what
        :meth:`has` says for each, in a few array operations for all of them (a rep's digest
        checks a hundred phrases, each on a hundred items)."""
        return _holding(self.title, self.title_at, items, phrase) | _holding(
            self.body, self.body_at, items, phrase
        )


def _holding(
    tokens: npt.NDArray[np.int32],
    at: npt.NDArray[np.int64],
    items: npt.NDArray[np.intp],
    phrase: tuple[int, ...],
) -> Bools:
    """Whether each of ``items``' segments of ``tokens`` holds ``phrase`` as a contiguous run.

    The segments are laid end to end with their owner's position; a window of the phrase's
    length whose first and last token have the same owner lies within one segment (owners
    are contiguous), and it matches when each of its tokens is the phrase's."""
    found = np.zeros(len(items), bool)
    n = len(phrase)
    starts, lengths = at[items], at[items + 1] - at[items]
    total = int(lengths.sum())
    windows = total - n + 1
    if n == 0 or windows <= 0:
        return found
    owner = np.repeat(np.arange(len(items)), lengths)
    first = np.cumsum(lengths) - lengths  # each segment's place in the laid-out tokens
    laid = tokens[np.arange(total) - np.repeat(first - starts, lengths)]
    match = owner[:windows] == owner[n - 1 :]
    for j, term in enumerate(phrase):
        match &= laid[j : j + windows] == term
    found[owner[:windows][match]] = True
    return found


def tokens_of(docs: Sequence[Doc], columns: Mapping[str, int]) -> Tokens:
    """The :class:`Tokens` of analyzed ``docs`` (every term of theirs has a column)."""

    def flat(parts: list[Phrase]) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64]]:
        at = np.zeros(len(parts) + 1, np.int64)
        at[1:] = np.cumsum([len(p) for p in parts])
        ids = np.fromiter((columns[t] for p in parts for t in p), np.int32, int(at[-1]))
        return ids, at

    title, title_at = flat([d.title for d in docs])
    body, body_at = flat([d.body for d in docs])
    return Tokens(title, title_at, body, body_at)


@dataclass(frozen=True)
class Analysis:
    """What analyzing the items gives, as arrays: what a snapshot saves and restores."""

    terms: Columns
    groups: Columns
    columns: dict[str, int]
    published: npt.NDArray[np.float64]


def analysis(docs: Sequence[Doc]) -> Analysis:
    """The term and group matrices of analyzed ``docs`` (see :class:`Corpus`)."""
    n = len(docs)
    columns: dict[str, int] = {}
    terms = _matrix(
        n,
        [{t: TITLE_CREDIT if t in d.title_set else BODY_CREDIT for t in d.all_set} for d in docs],
        columns,
    )
    groups = {g: g for d in docs for g in d.groups}
    group_matrix = _matrix(
        n,
        [
            {g: TITLE_CREDIT if in_title else BODY_CREDIT for g, (_, in_title) in d.groups.items()}
            for d in docs
        ],
        groups,
        width=max(groups, default=-1) + 1,
    )
    published = np.asarray([d.item.published.timestamp() for d in docs], np.float64)
    return Analysis(terms, group_matrix, columns, published)


class Lazy(Sequence[T]):
    """A sequence whose elements are made when first read, and kept: a restored corpus' items
    (read from the snapshot) and docs (analyzed), of which ranking reads a few hundred."""

    def __init__(self, count: int, make: Callable[[int], T]) -> None:
        self._count = count
        self._make = make
        self._made: dict[int, T] = {}

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, k: int) -> T: ...

    @overload
    def __getitem__(self, k: slice) -> Sequence[T]: ...

    def __getitem__(self, k: int | slice) -> T | Sequence[T]:
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(self._count))]
        if not -self._count <= k < self._count:
            raise IndexError(k)
        k = int(k) % self._count
        if k not in self._made:
            self._made[k] = self._make(k)
        return self._made[k]


class Corpus:
    """The stored items with their term statistics and vectors, built once per run (or restored
    from a snapshot, see :meth:`restored`)."""

    def __init__(
        self,
        items: Iterable[Item],
        lex: Lexicon | None = None,
        *,
        vectors: Matrix | None = None,
        encoder: TextEncoder | Callable[[], TextEncoder] | None = None,
        alongside: Corpus | None = None,
        text_vectors: TextVectors | None = None,
    ) -> None:
        """``alongside``: a run's corpus whose encoder and embedded account texts to share;
        ``text_vectors``: where account texts' vectors come from (the store's cache in a run)."""
        lex = lex or lexicon()
        docs = tuple(Doc(i, lex) for i in items)
        texts = [item_text(d.item) for d in docs]
        embeddings = (
            alongside.embeddings.alongside(texts)
            if alongside is not None
            else Embeddings(texts, vectors, encoder, text_vectors)
        )
        self._setup(lex, docs, analysis(docs), embeddings, None)

    @classmethod
    def restored(
        cls,
        lex: Lexicon,
        parts: Analysis,
        tokens: Tokens,
        items: Sequence[Item],
        embeddings: Embeddings,
    ) -> Corpus:
        """A corpus from saved arrays (:mod:`generator.snapshot`): nothing is analyzed again
        but the items ranking picks (for their reasons); ``items`` may be read on demand."""
        corpus = cls.__new__(cls)
        docs = Lazy(len(items), lambda k: Doc(items[k], lex))
        corpus._setup(lex, docs, parts, embeddings, tokens)
        corpus.items = items  # read without being analyzed
        return corpus

    def _setup(
        self,
        lex: Lexicon,
        docs: Sequence[Doc],
        parts: Analysis,
        embeddings: Embeddings,
        tokens: Tokens | None,
    ) -> None:
        self.lexicon = lex
        self.docs = docs
        self.items: Sequence[Item] = Lazy(len(docs), lambda k: docs[k].item)
        """The corpus' items, in its order."""
        self.embeddings = embeddings
        self.analysis = parts
        self.columns = parts.columns
        self.terms = parts.terms
        self.groups = parts.groups
        self.published = parts.published
        self.tokens = tokens
        self._df = np.diff(self.terms.indptr)
        self._total = len(docs) or 1
        self.default_idf = math.log(1 + (self._total + 0.5) / 0.5)
        """The weight of a word no stored item uses: the rarest there is."""
        self._shown: dict[str, dict[str, str]] = {}
        self._holding: dict[Phrase, Bools] = {}
        self.extras: dict[object, object] = {}
        """What other parts derive from the run's corpus and keep for the run (the notes')."""
        self.judgements: JudgementCache | None = None
        """The judge's logits of earlier runs, and where this run's are kept (none: judged
        afresh each run)."""

    @functools.cached_property
    def position(self) -> dict[str, int]:
        """Item id -> row (for explaining one item: reads every item of a restored corpus)."""
        return {item.id: k for k, item in enumerate(self.items)}

    def __len__(self) -> int:
        return len(self.docs)

    def idf(self, term: str) -> float:
        c = self.columns.get(term)
        if c is None:
            return self.default_idf
        df = self._df[c]
        return math.log(1 + (self._total - df + 0.5) / (df + 0.5))

    def column(self, term: str) -> Floats:
        """Each item's credit for ``term`` (0 where it does not use it), dense."""
        c = self.columns.get(term)
        return _dense(self.terms, c, len(self.docs))

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
            if self.tokens is not None:  # every term has a column: the item holds it
                candidates = np.flatnonzero(present)
                if len(candidates):
                    ids = tuple(self.columns[t] for t in phrase)
                    present[candidates] = self.tokens.holding(candidates, ids)
            else:
                for k in np.flatnonzero(present):
                    present[k] = self.docs[int(k)].has(phrase)
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
    return surface_words(said_by(item))


def said_by(item: Item) -> str:
    """The item's text as reasons quote it: its title a sentence of its own."""
    return f"{item.title}. {item.summary} {' '.join(item.categories)}"
