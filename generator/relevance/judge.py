"""The judge: reads a story beside an account's industry, for the field question's unsure band.

A sentence encoder embeds a story and an account's field apart, so their cosine cannot tell a
story about the account's world from a keyword trap that shares its words (both sit at
0.30-0.40), nor see a story in a neighbouring field's words land on it (0.25-0.30). The judge
reads the pair at once (a cross-encoder: "[CLS] the account's industry [SEP] the story's title
and summary [SEP]" through all-MiniLM-L6-v2, one logit from the [CLS] state), so each side's
words are read in the light of the other's. It is asked only in that band (see :mod:`.gate`):
a few pairs in a hundred. It reads the industry alone, so every account of one industry shares
its judgements (what a run judged is kept in the store: :class:`StoredJudgements`).

Its weights are the sentence encoder's package model (the same int8 ONNX file, nothing else is
installed) moved by ``data/minilm-judge.npz``: fine-tuned on the development parts of the
evaluation set and the 74 parts its band was chosen on (``bench/finetune_judge.py
--industry-only --fitted``; how it was chosen and what it changed: bench/RESULTS.md, "judge25"
and "judge27"), run with int8 arithmetic. Like the encoder, every pair runs alone and unpadded,
so a logit depends on its two texts only.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import platform
import shutil
import tempfile
import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import numpy.typing as npt

from ..exceptions import EncoderError, StoreError
from .semantic import MODEL_NAME, _model_files, _packaged, text_hash, tuned_model

if TYPE_CHECKING:
    from onnxruntime import InferenceSession
    from tokenizers import Tokenizer

    from ..store import Store

JUDGE = "judge27"
JUDGE_FILE = "minilm-judge.npz"
#: The pair's length in word pieces, as the judge was fitted: the account's text first (cut at
#: ``ACCOUNT_TOKENS``), the story fills the rest.
MAX_TOKENS = 160
ACCOUNT_TOKENS = 96
CLS, SEP = 101, 102
QUANTIZATION: Mapping[str, object] = {
    "op_types_to_quantize": ("MatMul",),
    "per_channel": True,
    "reduce_range": True,
}
"""How :func:`_quantized` makes the judge's int8 model (QInt8 weights). It is part of what names
the judge's logits in the store (:func:`judge_id`) and its optimized model in the cache
(:func:`_fingerprint`), so a changed recipe is never read as the old one's."""
LOGIT = np.dtype("<f4")
"""A logit as the store keeps it: exactly the judge's float32."""
SAVED_GRAPH, SAVED_WEIGHTS = "model.onnx", "model.data"
"""The optimized judge's two files in its cache folder (see :func:`_session`)."""
LOOK_AHEAD = 2
"""Stories judged at once when a digest reaches one: it and the next unsure candidate, on two
threads (no slower than one on a laptop's cores; at most one pass a digest did not need). A
run's worker processes judge one at a time (:func:`judge_one_at_a_time`): each is already one of
the CPU's workers."""


def judge_one_at_a_time() -> None:
    """For a worker process of a run: judge only the story a digest reaches, on one thread."""
    Judge.look_ahead = 1


def reads(industry: str, problems: Sequence[str]) -> str:
    """What the packaged judge reads of an account: its industry alone when it was fitted so
    (judge23: a judgement every account of one industry shares), else :func:`account_text`;
    empty for an account with no industry (never judged)."""
    return Judge.load().text_of(industry, problems)


def account_text(industry: str, problems: Sequence[str]) -> str:
    """What the judge reads of an account: its industry, then its problems, as sentences."""
    said = [p if p.rstrip().endswith((".", "?", "!")) else f"{p}." for p in problems]
    return " ".join([f"{industry}.", *said]) if industry else " ".join(said)


class Judge:
    """The pair judge on onnxruntime. :meth:`load` once per process; :meth:`logits` is
    thread-safe."""

    _loaded: ClassVar[Judge | None] = None
    _lock: ClassVar[threading.Lock] = threading.Lock()
    look_ahead: ClassVar[int] = LOOK_AHEAD
    """How many stories this process judges at once (see :data:`LOOK_AHEAD`)."""

    def __init__(self, model_path: Path, tokenizer_path: Path, model_id: str, weights: Path):
        self.model_id = model_id
        self._paths = (model_path, tokenizer_path, weights)
        with np.load(weights) as parts:
            self.industry_only = "reads/industry" in parts
        self._runtime: tuple[Tokenizer, InferenceSession, npt.NDArray[np.float32], float] | None
        self._runtime = None
        self._threads = max(1, min(os.cpu_count() or 1, 8))

    @classmethod
    def load(cls) -> Judge:
        """The process's judge, from the installed package (offline); its model is read on the
        first :meth:`logits`."""
        with cls._lock:
            if cls._loaded is None:
                model, tokenizer, version = _model_files()
                weights = _packaged(JUDGE_FILE)
                cls._loaded = cls(model, tokenizer, judge_id(version, weights), weights)
            return cls._loaded

    def text_of(self, industry: str, problems: Sequence[str]) -> str:
        """What this judge reads of an account (see :func:`reads`)."""
        if self.industry_only:
            return account_text(industry, ()) if industry.strip() else ""
        return account_text(industry, problems)

    def _loaded_runtime(
        self,
    ) -> tuple[Tokenizer, InferenceSession, npt.NDArray[np.float32], float]:
        with self._lock:
            if self._runtime is None:
                self._runtime = _runtime(*self._paths, self.model_id)
            return self._runtime

    def logits(self, account: str, stories: Sequence[str]) -> npt.NDArray[np.float32]:
        """The judge's logit for ``account`` and each story, in order (>= 0: about the
        account's world and problems, as the judge reads them)."""
        if not stories:
            return np.zeros(0, np.float32)
        tokenizer, session, head, bias = self._loaded_runtime()
        first = tokenizer.encode(account, add_special_tokens=False).ids[:ACCOUNT_TOKENS]
        room = MAX_TOKENS - len(first) - 3
        seconds = tokenizer.encode_batch(list(stories), add_special_tokens=False)
        pairs = [
            (
                np.asarray([CLS, *first, SEP, *s.ids[:room], SEP], np.int64),
                len(first) + 2,
            )
            for s in seconds
        ]
        order = sorted(range(len(pairs)), key=lambda i: -len(pairs[i][0]))
        out = np.empty(len(pairs), np.float32)

        def one(i: int) -> float:
            ids, split = pairs[i]
            types = np.zeros_like(ids)
            types[split:] = 1
            feeds = {
                "input_ids": ids[np.newaxis],
                "attention_mask": np.ones_like(ids)[np.newaxis],
                "token_type_ids": types[np.newaxis],
            }
            state = np.asarray(session.run(None, feeds)[0][0, 0], np.float32)
            return float(state @ head + bias)

        threads = min(self._threads, len(pairs))
        if threads == 1:
            for i in order:
                out[i] = one(i)
            return out
        with ThreadPoolExecutor(threads) as pool:
            for i, value in zip(order, pool.map(one, order), strict=True):
                out[i] = value
        return out


def judge_id(version: str, weights: Path) -> str:
    """What names a judge's logits in the store: the package's model and version, the judge's
    weights (by their content), how it reads a pair (its lengths) and how it is made int8."""
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()[:16]
    return f"{MODEL_NAME}+{JUDGE}@{version}+{digest}:{MAX_TOKENS}/{ACCOUNT_TOKENS}+{recipe()}"


def recipe() -> str:
    """A short name for :data:`QUANTIZATION`: it changes whenever the recipe does."""
    said = repr(sorted(QUANTIZATION.items()))
    return "int8-" + hashlib.sha256(said.encode()).hexdigest()[:8]


class StoredJudgements:
    """The judge's logits through the store (see :class:`.meaning.JudgementCache`): a pair
    judged by any run before is read, not judged again; what a run judges is kept here until
    :meth:`save` writes it in one transaction.

    ``shared``: the run's other worker processes judge too (accounts of one industry share
    their pairs, and each worker ranks some of them). Then what is judged is written at once and
    the store is read again before judging, so that a pair is judged by one worker, not by every
    worker whose accounts reach it (at M, 1,571 passes for 1,091 pairs before: bench/RESULTS.md,
    "Fourteenth session"). That read asks for the stories about to be judged only: at L an
    industry's text has thousands of judged stories, and a worker asks before every chunk.
    """

    def __init__(self, store: Store, *, shared: bool = False) -> None:
        self.store = store
        self.shared = shared
        self._new: dict[str, dict[tuple[str, str], bytes]] = {}

    def known(
        self, judge: str, account: str, items: Collection[str] | None = None
    ) -> dict[str, float]:
        stored = self.store.judgements(judge, text_hash(account), items)
        return {item: float(np.frombuffer(logit, LOGIT)[0]) for item, logit in stored.items()}

    def since(self, judge: str, account: str, items: Collection[str]) -> dict[str, float]:
        return self.known(judge, account, items) if self.shared else {}

    def keep(self, judge: str, account: str, logits: Mapping[str, float]) -> None:
        said, new = text_hash(account), self._new.setdefault(judge, {})
        for item, logit in logits.items():
            new[said, item] = np.asarray(logit, LOGIT).tobytes()
        if self.shared:
            self.save()

    def save(self) -> None:
        """Write what was judged since the last save. A store that cannot take it (read-only,
        say) leaves the run as it is: it is a cache, and the run's digests are made."""
        new, self._new = self._new, {}
        for judge, logits in sorted(new.items()):
            with contextlib.suppress(StoreError):
                self.store.save_judgements(judge, logits)


def _runtime(
    model_path: Path, tokenizer_path: Path, weights: Path, model_id: str
) -> tuple[Tokenizer, InferenceSession, npt.NDArray[np.float32], float]:
    from tokenizers import Tokenizer

    try:
        tokenizer = Tokenizer.from_file(str(tokenizer_path))
        session = _session(model_path, weights)
        with np.load(weights) as parts:
            head = np.asarray(parts["head/weight"], np.float32).reshape(-1)
            bias = float(np.asarray(parts["head/bias"]).reshape(-1)[0])
    except Exception as e:  # onnxruntime and tokenizers raise their own untyped errors
        raise EncoderError(f"cannot load the judge {model_id}: {e}") from e
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer, session, head, bias


def _session(model_path: Path, weights: Path) -> InferenceSession:
    """The judge's onnxruntime session, from the optimized model saved in the user's cache
    when there is one (0.03 s), else built from the package's model and the judge's weights and
    optimized (0.6 s: a rep's ``kb digest`` pays it once per machine, not once per run).

    The saved model is onnxruntime's own optimization of the same graph, so it computes the same
    bytes. It is a folder named by what it was made of (see :func:`_fingerprint`): the graph,
    and its 90 MB of weights in a file of their own, which onnxruntime maps instead of parsing
    (0.03 s against 0.1-0.15 s for one file). It is written in a temporary folder and renamed,
    so a stale, foreign or half-written model is never read; one that cannot be read is made
    again, and a new one replaces any other judge in the cache.
    """
    import onnxruntime
    from onnxruntime import GraphOptimizationLevel, InferenceSession, SessionOptions

    def options(level: GraphOptimizationLevel) -> SessionOptions:
        made = SessionOptions()
        made.intra_op_num_threads = 1  # pairs run in parallel instead (Judge._threads)
        made.inter_op_num_threads = 1
        made.log_severity_level = 3  # not its warning that a saved optimized model is this
        made.graph_optimization_level = level  # machine's own: it is kept for this machine
        return made

    providers = ["CPUExecutionProvider"]
    cache = cache_dir()
    saved = cache / f"judge-{_fingerprint(model_path, weights, onnxruntime.__version__)}"
    if (saved / SAVED_GRAPH).is_file():
        try:
            ready = options(GraphOptimizationLevel.ORT_DISABLE_ALL)
            return InferenceSession(str(saved / SAVED_GRAPH), ready, providers=providers)
        except Exception:  # onnxruntime's own untyped errors: a damaged model is made again
            shutil.rmtree(saved, ignore_errors=True)
    fresh = options(GraphOptimizationLevel.ORT_ENABLE_ALL)
    part = cache / f"{saved.name}.{os.getpid()}.{threading.get_ident()}.part"
    with contextlib.suppress(OSError):  # no cache to write to: the session is built all the same
        part.mkdir(parents=True)
        fresh.optimized_model_filepath = str(part / SAVED_GRAPH)
        fresh.add_session_config_entry(
            "session.optimized_model_external_initializers_file_name", SAVED_WEIGHTS
        )
        fresh.add_session_config_entry(
            "session.optimized_model_external_initializers_min_size_in_bytes", "1024"
        )
    session = InferenceSession(
        _quantized(tuned_model(model_path, weights)), fresh, providers=providers
    )
    try:
        part.rename(saved)
    except OSError:  # another process saved it first, or there is no cache
        shutil.rmtree(part, ignore_errors=True)
    else:
        for other in cache.glob("judge-*"):
            if other != saved and not other.name.endswith(".part"):
                _remove(other)
    return session


def _quantized(model: bytes) -> bytes:
    """``model`` with int8 matrix products (onnxruntime's dynamic quantization, one scale per
    output column, 7-bit weights so that CPUs without VNNI make the same sums): 8 ms a story
    instead of 20 (bench/RESULTS.md, "judge22"). The package's weights are int8 numbers the
    graph turns into floats as it runs: onnxruntime's constant folding makes them float
    matrices first, so that the quantizer sees them as weights."""
    from onnxruntime import GraphOptimizationLevel, InferenceSession, SessionOptions
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as tmp:
        folded, quantized = Path(tmp) / "folded.onnx", Path(tmp) / "quantized.onnx"
        options = SessionOptions()
        options.graph_optimization_level = GraphOptimizationLevel.ORT_ENABLE_ALL
        options.optimized_model_filepath = str(folded)
        options.log_severity_level = 3
        InferenceSession(model, options, providers=["CPUExecutionProvider"])
        how = {k: list(v) if isinstance(v, tuple) else v for k, v in QUANTIZATION.items()}
        with _without_preprocessing_advice():
            quantize_dynamic(folded, quantized, weight_type=QuantType.QInt8, **how)
        return quantized.read_bytes()


PREPROCESSING_ADVICE = "Please consider to run pre-processing before quantization"


@contextlib.contextmanager
def _without_preprocessing_advice() -> Iterator[None]:
    """The quantizer's advice to model developers (on the root logger, which it configures to
    print on stderr) left out: a rep building the judge on first use has nothing to do with it.
    Its pre-processing would change the model, and so the judge's answers."""

    def not_advice(record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(PREPROCESSING_ADVICE)

    root = logging.getLogger()
    root.addFilter(not_advice)
    try:
        yield
    finally:
        root.removeFilter(not_advice)


def _remove(path: Path) -> None:
    """Remove a file or folder from the cache, as far as it can be removed."""
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def cache_dir() -> Path:
    """Where the optimized judge is kept: ``KB_CACHE_DIR``, else the user's cache folder."""
    from platformdirs import user_cache_dir

    return Path(os.environ.get("KB_CACHE_DIR") or user_cache_dir("knowledge-broker"))


def _fingerprint(model_path: Path, weights: Path, runtime: str) -> str:
    """What the saved model was made of: both files (path, size, modification time: a package
    installed again is new), the int8 recipe, onnxruntime's version and the machine's
    architecture."""
    made_of = [
        f"{p.resolve()} {p.stat().st_size} {p.stat().st_mtime_ns}" for p in (model_path, weights)
    ]
    text = "\n".join([*made_of, recipe(), runtime, platform.machine()])
    return hashlib.sha256(text.encode()).hexdigest()[:24]
