"""Fit the judge (judge21): a cross-encoder for the field question's unsure band.

What kb ships, generator/data/minilm-judge.npz, is written by ``--write``; bench/RESULTS.md
("Eleventh session") has the rule it was decided by. Needs what bench/finetune_encoder.py needs
(PyTorch, transformers, onnx, the package's float weights unpacked in ``--base``; see its
docstring)::

    python bench/finetune_judge.py --base /tmp/base --cross-validate   # the band, on dev only
    python bench/finetune_judge.py --base /tmp/base --write
    python bench/finetune_judge.py --base /tmp/base --industry-only --fitted --write  # judge27

What is fitted: all-MiniLM-L6-v2's float weights read as a pair ("[CLS] account [SEP] story
[SEP]", :func:`generator.relevance.judge.account_text` for the account), one logit from the
[CLS] state through a linear head. The pairs: for every account of every development part, every
item that speaks to one of its problems (the shipped gate's second question) or is graded;
relevant = grade 1 or 2; binary cross-entropy, grade 2, keyword traps and the null accounts'
pairs weighted 2. ``--cross-validate`` fits on three development parts in four and prints, for
the fourth, the grid the band and the bar were chosen by (a set-level simulation of the digest:
the passed items, the relevance bar, the clear rule, the best ``max_items``).
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from transformers import AutoModel, AutoTokenizer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from evalset import FITTED, load_eval
from finetune_encoder import DEVELOPMENT, assessed, int8_onnx, tuning_file

from generator.models import RankingSettings
from generator.relevance.judge import ACCOUNT_TOKENS, JUDGE_FILE, MAX_TOKENS, account_text
from generator.relevance.semantic import _model_files, item_text

ROOT = Path(__file__).resolve().parent.parent
EPOCHS, LR, BATCH, SEED = 2, 3e-5, 16, 0
INDUSTRY_ONLY = False
"""``--industry-only``: the judge reads the account's industry alone (a judgement every account
of one industry shares; bench/RESULTS.md, "judge23"): ``--write`` marks the file so."""


@dataclass(frozen=True)
class Pair:
    part: str
    account: str
    slug: str
    item: str
    story: str
    grade: int
    weight: float
    speaks: bool
    field_ok: bool
    """The shipped field question's answer (ft21: the cosine, or the band and a field word)."""
    field: float
    relevance: float
    clear: bool


def pairs_of(part: str) -> list[Pair]:
    """Every (account, item) pair of a part, with the shipped gate's arrays (ft21's gate)."""
    out = []
    for ev, corpus, profile, a in assessed(part):
        account = profile.account
        grades = ev.grades[account.slug]
        said = account_text(account.industry, () if INDUSTRY_ONLY else account.problems)
        for k, item in enumerate(corpus.items):
            grade = grades.get(item.id, 0)
            hard = grade == 2 or item.id in ev.traps[account.slug] or not grades
            out.append(
                Pair(
                    part, said, account.slug, item.id, item_text(item), grade,
                    2.0 if hard else 1.0, bool(a.speaks[k]), bool(a.field_ok[k]),
                    float(a.field_sim[k]),
                    float(a.relevance[k]), bool(a.clear[k]),
                )
            )  # fmt: skip
    return out


class CrossEncoder(torch.nn.Module):
    def __init__(self, base: Path, layers: int) -> None:
        super().__init__()
        self.tokenizer = AutoTokenizer.from_pretrained(base)
        self.enc = AutoModel.from_pretrained(base)
        self.enc.encoder.layer = self.enc.encoder.layer[:layers]  # the first ``layers`` only
        self.head = torch.nn.Linear(384, 1)

    def forward(self, accounts: Sequence[str], stories: Sequence[str]) -> torch.Tensor:
        firsts = [self._cut(a) for a in accounts]
        batch = self.tokenizer(
            firsts, list(stories), padding=True, truncation="only_second",
            max_length=MAX_TOKENS, return_tensors="pt",
        )  # fmt: skip
        return self.head(self.enc(**batch).last_hidden_state[:, 0]).squeeze(-1)

    def _cut(self, account: str) -> str:
        """The account's text cut at ``ACCOUNT_TOKENS`` word pieces, as the judge reads it."""
        tokens = self.tokenizer.tokenize(account)
        if len(tokens) <= ACCOUNT_TOKENS:
            return account
        return str(self.tokenizer.convert_tokens_to_string(tokens[:ACCOUNT_TOKENS]))

    def logits(self, pairs: Sequence[Pair]) -> dict[tuple[str, str, str], float]:
        self.eval()
        out = {}
        order = sorted(pairs, key=lambda p: len(p.story))
        with torch.no_grad():
            for s in range(0, len(order), 64):
                chunk = order[s : s + 64]
                values = self([p.account for p in chunk], [p.story for p in chunk]).tolist()
                out.update(
                    {(p.part, p.slug, p.item): v for p, v in zip(chunk, values, strict=True)}
                )
        return out


def fit(base: Path, pairs: Sequence[Pair], layers: int) -> CrossEncoder:
    torch.manual_seed(SEED)
    rng = random.Random(SEED)
    model = CrossEncoder(base, layers)
    train = [p for p in pairs if p.speaks or p.grade >= 1]
    print(f"{len(train)} pairs, {sum(p.grade >= 1 for p in train)} relevant", flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.01)
    steps = EPOCHS * -(-len(train) // BATCH)
    warm = 0.1 * steps
    sched = torch.optim.lr_scheduler.LambdaLR(  # linear warm-up over a tenth, linear decay
        opt, lambda s: s / warm if s < warm else (steps - s) / (0.9 * steps)
    )
    for epoch in range(EPOCHS):
        rng.shuffle(train)
        model.train()
        start = time.perf_counter()
        for s in range(0, len(train), BATCH):
            b = train[s : s + BATCH]
            y = torch.tensor([1.0 if p.grade >= 1 else 0.0 for p in b])
            w = torch.tensor([p.weight for p in b])
            logit = model([p.account for p in b], [p.story for p in b])
            loss = (F.binary_cross_entropy_with_logits(logit, y, reduction="none") * w).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        print(f"epoch {epoch}: {time.perf_counter() - start:.0f} s", flush=True)
    return model


def simulated(pairs: Sequence[Pair], ok: Callable[[Pair], bool]) -> tuple[int, int, int]:
    """(strong stories found, traps + null items sent, strong stories) of a set-level digest."""
    ev_traps = {part: load_eval(part).traps for part in {p.part for p in pairs}}
    accounts: dict[tuple[str, str], list[Pair]] = defaultdict(list)
    for p in pairs:
        accounts[(p.part, p.slug)].append(p)
    settings = RankingSettings()
    found = bad = strong = 0
    for (part, slug), rows in accounts.items():
        null = not any(p.grade for p in rows)
        passed = [p for p in rows if ok(p) and p.relevance >= settings.threshold]
        sent = set()
        if any(p.clear for p in passed):
            passed.sort(key=lambda p: (-p.relevance, p.item))
            sent = {p.item for p in passed[: settings.max_items]}
        strong += sum(p.grade == 2 for p in rows)
        found += sum(p.grade == 2 and p.item in sent for p in rows)
        bad += sum(null or p.item in ev_traps[part][slug] for p in rows if p.item in sent)
    return found, bad, strong


def cross_validate(base: Path, layers: int) -> None:
    dev = sorted(DEVELOPMENT)
    left_out = set(dev[::4])  # every fourth by name; pairs stay in PARTS order (the fit's)
    pairs = [p for part in DEVELOPMENT for p in pairs_of(part)]
    model = fit(base, [p for p in pairs if p.part not in left_out], layers)
    val = [p for p in pairs if p.part in left_out]
    logit = model.logits([p for p in val if p.speaks])
    found, bad, strong = simulated(val, lambda p: p.speaks and p.field_ok)
    print(f"left out {sorted(left_out)}: {strong} strong stories")
    print(f"shipped: {found} found, {bad} traps + null, score {found - 2 * bad}")
    for low, high, bar in itertools.product(
        (0.25, 0.28, 0.30, 0.32), (0.40, 0.45, 0.50), (-1.5, -1, -0.5, 0, 0.5, 1, 1.5)
    ):

        def ok(p: Pair, low: float = low, high: float = high, bar: float = bar) -> bool:
            if not p.speaks or p.field < low:
                return False
            return p.field >= high or logit[(p.part, p.slug, p.item)] >= bar

        found, bad, _ = simulated(val, ok)
        print(f"{low:.2f} {high:.2f} {bar:+.1f}: {found} found, {bad} bad, {found - 2 * bad}")
    near = [p for p in val if p.part == "near"]
    print("band 0.30-0.40, the bar, the bar with a field word: found / bad / score; near's found")
    for bar, words in itertools.product((-1, -0.5, 0, 0.5, 1), (-4, -3, -2, -1.5, -1, -0.5, 0)):

        def veto(p: Pair, bar: float = bar, words: float = words) -> bool:
            if not p.speaks or p.field < 0.30:
                return False
            need = words if p.field_ok else bar  # in the band, field_ok says a field word is used
            return p.field >= 0.40 or logit[(p.part, p.slug, p.item)] >= need

        found, bad, _ = simulated(val, veto)
        print(
            f"{bar:+.1f} {words:+.1f}: {found} / {bad} / {found - 2 * bad};"
            f" near {simulated(near, veto)[0]}"
        )


def write(base: Path, layers: int, also: Sequence[str] = ()) -> None:
    """Fit on the development parts and ``also`` (judge27: :data:`evalset.FITTED`, the 74 parts
    its band was chosen on), and write the weights kb ships."""
    if layers != 6:  # judge22 (two layers, int8 arithmetic) was measured and not adopted
        raise SystemExit("kb runs the judge on all six layers: --write takes no --layers")
    pairs = [p for part in (*DEVELOPMENT, *also) for p in pairs_of(part)]
    model = fit(base, pairs, layers)
    state = dict(AutoModel.from_pretrained(base).state_dict())  # the layers it does not use,
    state.update({k.removeprefix("enc."): v for k, v in model.state_dict().items()})  # as they were
    base_onnx, _, _ = _model_files()
    out = ROOT / "generator" / "data" / JUDGE_FILE
    with tempfile.TemporaryDirectory() as tmp:
        tuned = Path(tmp) / "judge.onnx"
        int8_onnx(state, base_onnx, tuned)
        delta = Path(tmp) / "delta.npz"
        tuning_file(tuned, base_onnx, delta)
        with np.load(delta) as parts:
            np.savez_compressed(
                out,
                **dict(parts),
                **{
                    "head/weight": model.head.weight.detach().numpy().astype(np.float32),
                    "head/bias": model.head.bias.detach().numpy().astype(np.float32),
                    **({"reads/industry": np.array(True)} if INDUSTRY_ONLY else {}),
                },
            )
    print(f"wrote {out.relative_to(ROOT)} ({out.stat().st_size / 1e6:.1f} MB)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", type=Path, required=True, help="the unpacked float weights")
    ap.add_argument("--cross-validate", action="store_true")
    ap.add_argument("--write", action="store_true")
    ap.add_argument(
        "--layers", type=int, default=6, help="the encoder's first N layers only (judge22)"
    )
    ap.add_argument("--industry-only", action="store_true", help="the account's industry alone")
    ap.add_argument(
        "--fitted", action="store_true", help="the held-out parts of evalset.FITTED too (judge27)"
    )
    args = ap.parse_args()
    global INDUSTRY_ONLY
    INDUSTRY_ONLY = args.industry_only
    if args.cross_validate:
        cross_validate(args.base, args.layers)
    if args.write:
        write(args.base, args.layers, FITTED if args.fitted else ())


if __name__ == "__main__":
    main()
