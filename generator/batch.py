"""Ranking and rendering many accounts: once each, in worker processes, streamed out in order.

Every account is ranked once per run; the same candidates make its digest (every format), its
site page's digest and its share of the newsletter (:class:`AccountRun`). Accounts go to a pool
of worker processes in chunks; each worker opens the store and builds the run's corpus once (in
its initializer), not once per chunk. Chunks come back in the order they were given, so what a
run writes and prints never depends on how many workers there were or which finished first.

The pool uses the 'forkserver' start method where the platform has it ('spawn' elsewhere): a
worker never inherits the parent's open store connection or threads. With one job (or too few
accounts for a pool to pay for its start-up) the same code runs in this process.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

from threadpoolctl import threadpool_limits

from .digest import candidates_for, corpus_of, make_digest
from .models import Account, Digest, Item, Project
from .newsletter import NewsCandidate, newsworthy, week_bounds, week_of
from .relevance import Corpus
from .relevance.judge import StoredJudgements, judge_one_at_a_time
from .relevance.lexicon import lexicon
from .relevance.meaning import TextVectors
from .relevance.needs import account_texts, topic_text
from .relevance.notes import note_item, note_text, notes_corpus, notes_key
from .render import EXTENSIONS, digest_style, make_environment, render_outputs
from .store import Store, open_store
from .views import DigestStyle

if TYPE_CHECKING:
    from .relevance.semantic import Encoder

AUTO_POOL_MIN = 64
"""Below this many accounts, the default (no ``--jobs``) ranks in this process: starting workers
(imports, the store, the corpus) costs more than ranking a few dozen accounts."""
MAX_CHUNK = 16


@dataclass(frozen=True)
class RunSpec:
    """What every worker needs to know about the run (sent once per worker)."""

    project: Project
    now: datetime
    formats: tuple[str, ...]
    out_dir: Path
    record: bool = True
    """Whether the run records what it sends (so whether the account's history counts)."""
    stakeholder: str | None = None
    news: bool = True
    """Whether to work out each account's share of the newsletter (not for ``kb digest``)."""


@dataclass(frozen=True)
class OutFile:
    """One rendered output of one account; ``skipped`` says why a format has nothing to say."""

    account: str
    at: datetime
    path: Path
    fmt: str
    text: str
    items: tuple[Item, ...] = ()
    """What the file carries to the customer: recorded as sent once it is written."""
    skipped: str = ""


@dataclass(frozen=True)
class AccountRun:
    """One account's share of the run: ranked once, used by the digests, newsletter and site."""

    digest: Digest
    news: tuple[NewsCandidate, ...]
    files: tuple[OutFile, ...]
    seconds: tuple[float, float] = (0.0, 0.0)
    """Time spent ranking and rendering it (``kb build --timings``)."""


def digest_path(out_dir: Path, digest: Digest, fmt: str) -> Path:
    """``OUT/<account>/<date>.<ext>``; a note is ``.note.txt``, a call sheet ``.call.md``."""
    day = digest.generated_at.date().isoformat()
    return out_dir / digest.account.slug / f"{day}.{EXTENSIONS[fmt]}"


class Worker:
    """A run's shared state in one process: the stored items, their corpus, the templates."""

    def __init__(
        self,
        spec: RunSpec,
        store: Store,
        items: Sequence[Item] | None = None,
        *,
        save_texts: bool = True,
        pooled: bool = False,
    ) -> None:
        """``save_texts``: False in a pool's workers, which only read the text vectors the main
        process embedded (see :func:`embed_texts`). ``pooled``: one of a pool's workers, which
        share the judge's answers through the store as they come (see
        :class:`~generator.relevance.judge.StoredJudgements`)."""
        self.spec = spec
        self.store = store
        self.corpus = stored_corpus(spec.project, store, items, save_texts=save_texts)
        self.judgements = StoredJudgements(store, shared=pooled)
        self.corpus.judgements = self.judgements
        self.items = self.corpus.items if items is None else items
        self.env = make_environment(spec.project.templates_dir)
        self.style: DigestStyle = digest_style(spec.project)
        self.window = week_bounds(week_of(spec.now))

    def prepare(self, accounts: Sequence[Account]) -> None:
        """Read the vectors of these accounts' texts in one go (not one query per account)."""
        self.corpus.embeddings.texts(
            accounts_texts(self.spec.project, accounts, self.spec.stakeholder)
        )

    def run_chunk(self, accounts: Sequence[Account]) -> list[AccountRun]:
        """Rank and render ``accounts``, then keep what the judge said about them in the store
        (one write per chunk, or per judgement in a pool's worker; a killed run loses at most its
        chunk's judgements, which the next run makes again)."""
        self.prepare(accounts)
        done = [self.run(a) for a in accounts]
        self.judgements.save()
        return done

    def run(self, account: Account) -> AccountRun:
        spec, project = self.spec, self.spec.project
        started = time.perf_counter()
        person = account.stakeholder(spec.stakeholder) if spec.stakeholder else None
        candidates = candidates_for(
            project, account, self.items, spec.now, person, corpus=self.corpus
        )
        history = self.store.history(account.slug) if spec.record else ()
        digest = make_digest(
            project,
            account,
            self.items,
            spec.now,
            history=history,
            stakeholder=person,
            corpus=self.corpus,
            candidates=candidates,
        )
        ranked = time.perf_counter()
        outputs = render_outputs(self.env, digest, spec.formats, self.style)
        files = tuple(
            OutFile(
                account.slug,
                spec.now,
                digest_path(spec.out_dir, digest, fmt),
                fmt,
                o.text,
                o.items,
                o.skipped,
            )
            for fmt, o in outputs.items()
        )
        threshold = project.settings.ranking.threshold
        news = () if person or not spec.news else newsworthy(candidates, threshold, *self.window)
        done = time.perf_counter()
        return AccountRun(digest, news, files, (ranked - started, done - ranked))


def stored_corpus(
    project: Project, store: Store, items: Sequence[Item] | None = None, *, save_texts: bool = True
) -> Corpus:
    """The run's corpus of ``items``, with their sentence vectors from the store (items stored
    before the encoder was, or under another model, are embedded now and saved), and the
    store's cache for the vectors of account and note texts.

    Without ``items``: every stored item, from the snapshot in the state folder when it is
    current (see :mod:`.snapshot`), else built and saved there for the next run."""
    from .relevance.semantic import Encoder, StoredTexts, vectors_for

    encoder = Encoder.load()
    texts = StoredTexts(store, encoder, save=save_texts)
    if items is None:
        return snapshot_corpus(project, store, encoder, texts)
    vectors = vectors_for(store, encoder, items) if items else None
    return corpus_of(project, items, vectors, texts)


def snapshot_corpus(
    project: Project, store: Store, encoder: Encoder, texts: TextVectors | None = None
) -> Corpus:
    """Every stored item's corpus: mapped from the snapshot if its key is current, else built
    from the store (embedding items that have no vector yet) and saved atomically."""
    return _snapshot(project, store, encoder, texts)[0]


def _snapshot(
    project: Project, store: Store, encoder: Encoder, texts: TextVectors | None = None
) -> tuple[Corpus, int]:
    """:func:`snapshot_corpus`, and how many items had to be embedded for it."""
    from .relevance.semantic import counted_vectors_for
    from .snapshot import load_corpus, save_corpus, snapshot_key, snapshot_path

    lex = lexicon(project.vocabulary)
    path = snapshot_path(project.state_dir)

    def key(state: tuple[str, str]) -> str:
        return snapshot_key(repr(state), project.vocabulary, encoder.model_id)

    before = store.items_state(encoder.model_id)
    corpus = load_corpus(path, key(before), lex, texts)
    embedded = 0
    if corpus is None:
        items = store.items()
        vectors = None
        if items:
            vectors, embedded = counted_vectors_for(store, encoder, items)
        corpus = corpus_of(project, items, vectors, texts)
        after = store.items_state(encoder.model_id)  # with the vectors embedded just now
        # Saved only if no other run stored items meanwhile (a fetch does not wait for a
        # digest): the snapshot must hold exactly the items its key says.
        if items and after[0] == before[0]:
            with contextlib.suppress(OSError):  # a read-only state folder: rank without saving
                save_corpus(path, key(after), corpus)
    if project.notes:
        _notes_snapshot(project, corpus)
    return corpus, embedded


def _notes_snapshot(project: Project, corpus: Corpus) -> None:
    """Put the team's notes' corpus on ``corpus``: mapped from their snapshot when the notes
    (and vocabulary, and code) are those it was saved for, else built and saved."""
    from .snapshot import NOTES_FILE, items_state, load_corpus, save_corpus, snapshot_key

    notes = project.notes
    path = project.state_dir / NOTES_FILE
    key = snapshot_key(items_state([note_item(n) for n in notes]), project.vocabulary, "")
    found = load_corpus(path, key, corpus.lexicon, alongside=corpus)
    if found is not None:
        corpus.extras[notes_key(notes)] = found
        return
    built = notes_corpus(notes, corpus)
    with contextlib.suppress(OSError):
        save_corpus(path, key, built, vectors=False)


def refresh_snapshot(project: Project, store: Store) -> int:
    """Bring the state folder's corpus snapshot up to date with the store (``kb fetch`` after
    storing new items, ``kb build`` before starting workers), so the next ``kb digest`` maps it
    instead of building it; return how many items had to be embedded for it.

    Every stored item has its vector afterwards: ``kb fetch`` embeds its new items here, with
    one read of the items and their vectors. A current snapshot means none is missing (its key
    counts the vectors), so nothing is read at all."""
    from .relevance.semantic import Encoder

    return _snapshot(project, store, Encoder.load())[1]


def run_texts(
    project: Project, accounts: Sequence[Account], stakeholder: str | None = None
) -> list[str]:
    """Every text that ranking ``accounts`` embeds besides the items, each once: the accounts'
    problems, fields (and the named stakeholder's concerns), the team's notes and the topics a
    note's problem is weighed against."""
    texts = accounts_texts(project, accounts, stakeholder)
    if accounts and project.notes:  # ranked as one corpus for every account with any eligible
        texts.extend(note_text(n) for n in project.notes)
        texts.extend(topic_text(t) for t in project.topics)
    return list(dict.fromkeys(texts))


def accounts_texts(
    project: Project, accounts: Sequence[Account], stakeholder: str | None = None
) -> list[str]:
    """The texts of ``accounts`` that are embedded (see :func:`.relevance.needs.account_texts`)."""
    topics = {t.id: t for t in project.topics}
    return [
        text
        for a in accounts
        for text in account_texts(a, topics, a.stakeholder(stakeholder) if stakeholder else None)
    ]


def embed_texts(project: Project, store: Store, texts: Sequence[str]) -> int:
    """Make sure the store has a vector for each of ``texts``: the main process does it before
    starting workers, so each text is embedded once (not once per worker) and workers only
    read. Return how many had to be embedded."""
    from .relevance.semantic import Encoder, embed_missing_texts

    return embed_missing_texts(store, Encoder.load(), texts) if texts else 0


def used_texts(project: Project) -> list[str]:
    """Every text any run of this project may embed besides items (every stakeholder's
    concerns included): what ``kb prune`` keeps in the store's text cache."""
    texts = run_texts(project, project.accounts)
    cares = (c for a in project.accounts for p in a.stakeholders for c in p.cares_about)
    return list(dict.fromkeys([*texts, *(note_text(n) for n in project.notes), *cares]))


_worker: Worker | None = None


def one_blas_thread() -> threadpool_limits:
    """Limit numpy's BLAS to one thread (until the returned limiter is restored or its block
    ends). Ranking is many small matrix products, one or two per account; each process of a
    run is already one of the CPU's workers, and BLAS threads would only contend with the other
    processes (at M: 6 s instead of 11 s for every account's similarities on a busy 2-core
    machine). The products are the same bytes whatever the thread count (bench/RESULTS.md)."""
    return threadpool_limits(1, user_api="blas")


def _start_worker(spec: RunSpec) -> None:
    global _worker
    one_blas_thread()  # for the worker's whole life
    judge_one_at_a_time()
    from .pipeline import store_location  # pipeline imports this module

    # The project's own store (kb.yml's ``store:``, ``--store``, ``KB_STORE``), not the state folder
    store = open_store(store_location(spec.project))
    _worker = Worker(spec, store, save_texts=False, pooled=True)


def _run_chunk(accounts: Sequence[Account]) -> list[AccountRun]:
    assert _worker is not None, "the pool's initializer sets up the worker"
    return _worker.run_chunk(accounts)


def default_jobs() -> int:
    return os.cpu_count() or 1


def plan(count: int, jobs: int | None) -> tuple[int, int]:
    """(workers, chunk size) for ``count`` accounts: one process for a small run unless asked;
    chunks small enough to spread the work evenly, large enough to keep messages few."""
    if count == 0 or jobs == 1 or (jobs is None and count < AUTO_POOL_MIN):
        return 1, max(count, 1)
    wanted = jobs or default_jobs()
    chunk = max(1, min(MAX_CHUNK, -(-count // (wanted * 4))))
    workers = min(wanted, -(-count // chunk))
    return workers, chunk


def run_accounts(
    spec: RunSpec,
    accounts: Sequence[Account],
    store: Store,
    *,
    jobs: int | None = None,
    items: Sequence[Item] | None = None,
) -> Iterator[list[AccountRun]]:
    """Rank and render ``accounts``, yielding each chunk's results in account order.

    The caller writes each chunk and lets it go, so a run holds one chunk's files per worker at
    a time, not every account's.
    """
    if not accounts:
        return
    embed_texts(spec.project, store, run_texts(spec.project, accounts, spec.stakeholder))
    workers, chunk = plan(len(accounts), jobs)
    chunks = [accounts[i : i + chunk] for i in range(0, len(accounts), chunk)]
    if workers > 1:  # the workers map the snapshot: build it once, here, if it is stale
        refresh_snapshot(spec.project, store)
    if workers == 1:
        with one_blas_thread():
            worker = Worker(spec, store, items)
            for part in chunks:
                yield worker.run_chunk(part)
        return
    import multiprocessing  # a pool's machinery, not imported by a run of one process
    from concurrent.futures import ProcessPoolExecutor

    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_start_worker, initargs=(spec,)
    ) as pool:
        # A window of chunks in flight, not all of them: finished chunks waiting behind a slow
        # one would otherwise pile up in memory.
        waiting = iter(chunks)
        flight = deque(pool.submit(_run_chunk, c) for c in islice(waiting, workers * 2))
        while flight:
            done = flight.popleft().result()
            flight.extend(pool.submit(_run_chunk, c) for c in islice(waiting, 1))
            yield done
