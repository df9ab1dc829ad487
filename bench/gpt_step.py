"""One GPT-style training step written with the public API, scratchgen against PyTorch.

The model is written twice, the way a user writes it, once with scratchgen and once with
torch: token + position embeddings, `layers` pre-norm blocks on (B, T, D) activations
(nn.Linear on 3-D inputs, F.scaled_dot_product_attention with is_causal, F.gelu), a final
LayerNorm, a linear head, F.cross_entropy and AdamW. torch's copy starts from scratchgen's
weights, so the two must agree step for step; the script checks that first (float64 to
rounding with --dtype float64), then times interleaved steps and prints the medians.

    python bench/gpt_step.py                         # float32, one thread each side
    python bench/gpt_step.py --threads 2
    python bench/gpt_step.py --dtype float64 --check-steps 5 --steps 0   # agreement only
    python bench/gpt_step.py --kernels attention_forward=flash,attention_backward=flash
    python bench/gpt_step.py --profile               # where scratchgen's step spends its time
    python bench/gpt_step.py --kernels-only          # each fused kernel against its reference

Defaults are issue 8's step: 4 blocks, d 128, 4 heads, batch 32, length 64.
"""
import argparse
import collections
import contextlib
import cProfile
import pstats
import time

import numpy as np
import torch
import torch.nn.functional as TF

import scratchgen as sg
import scratchgen.functional as F
from scratchgen import nn, optim


# ---- scratchgen's model ------------------------------------------------------------------
class Block(nn.Module):
    """x + proj(attention(LN_1(x))), then + fc_2(GELU(fc_1(LN_2(x))))."""

    def __init__(self, d, heads, gelu, dtype):
        super().__init__()
        self.heads, self.gelu = heads, gelu
        self.ln_1 = nn.LayerNorm(d, dtype=dtype)
        self.qkv = nn.Linear(d, 3 * d, dtype=dtype)
        self.proj = nn.Linear(d, d, dtype=dtype)
        self.ln_2 = nn.LayerNorm(d, dtype=dtype)
        self.fc_1 = nn.Linear(d, 4 * d, dtype=dtype)
        self.fc_2 = nn.Linear(4 * d, d, dtype=dtype)

    def forward(self, x):
        b, t, d = x.shape
        qkv = self.qkv(self.ln_1(x)).reshape(b, t, 3, self.heads, d // self.heads)
        qkv = qkv.transpose(2, 0, 3, 1, 4)                              # (3, B, H, T, d_k)
        y = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], is_causal=True)
        x = x + self.proj(y.transpose(0, 2, 1, 3).reshape(b, t, d))     # (B, T, D)
        return x + self.fc_2(F.gelu(self.fc_1(self.ln_2(x)), approximate=self.gelu))


class GPT(nn.Module):
    def __init__(self, vocab, length, layers, d, heads, gelu, dtype):
        super().__init__()
        self.wte = nn.Embedding(vocab, d, dtype=dtype)
        self.wpe = nn.Embedding(length, d, dtype=dtype)
        self.blocks = nn.ModuleList([Block(d, heads, gelu, dtype) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(d, dtype=dtype)
        self.head = nn.Linear(d, vocab, bias=False, dtype=dtype)

    def forward(self, ids):
        x = self.wte(ids) + self.wpe(np.arange(ids.shape[1]))           # (B, T, D)
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))                                  # (B, T, V)


def step_ours(model, opt, ids, targets):
    opt.zero_grad()
    logits = model(ids)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
    loss.backward()
    opt.step()
    return loss.item()


# ---- torch's twin (same parameter names, so the state dict copies straight over) ---------
class TorchBlock(torch.nn.Module):
    def __init__(self, d, heads, gelu):
        super().__init__()
        self.heads, self.gelu = heads, gelu
        self.ln_1 = torch.nn.LayerNorm(d)
        self.qkv = torch.nn.Linear(d, 3 * d)
        self.proj = torch.nn.Linear(d, d)
        self.ln_2 = torch.nn.LayerNorm(d)
        self.fc_1 = torch.nn.Linear(d, 4 * d)
        self.fc_2 = torch.nn.Linear(4 * d, d)

    def forward(self, x):
        b, t, d = x.shape
        qkv = self.qkv(self.ln_1(x)).reshape(b, t, 3, self.heads, d // self.heads)
        qkv = qkv.permute(2, 0, 3, 1, 4)
        y = TF.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], is_causal=True)
        x = x + self.proj(y.transpose(1, 2).reshape(b, t, d))
        return x + self.fc_2(TF.gelu(self.fc_1(self.ln_2(x)), approximate=self.gelu))


class TorchGPT(torch.nn.Module):
    def __init__(self, vocab, length, layers, d, heads, gelu):
        super().__init__()
        self.wte = torch.nn.Embedding(vocab, d)
        self.wpe = torch.nn.Embedding(length, d)
        self.blocks = torch.nn.ModuleList([TorchBlock(d, heads, gelu) for _ in range(layers)])
        self.ln_f = torch.nn.LayerNorm(d)
        self.head = torch.nn.Linear(d, vocab, bias=False)

    def forward(self, ids):
        x = self.wte(ids) + self.wpe(torch.arange(ids.shape[1]))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))


def step_torch(model, opt, ids, targets):
    opt.zero_grad()
    logits = model(ids)
    loss = TF.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
    loss.backward()
    opt.step()
    return loss.item()


# ---- the comparison ----------------------------------------------------------------------
def build(args):
    dtype = np.dtype(args.dtype)
    sg.manual_seed(0)
    ours = GPT(args.vocab, args.length, args.layers, args.d_model, args.heads, args.gelu, dtype)
    theirs = TorchGPT(args.vocab, args.length, args.layers, args.d_model, args.heads,
                      args.gelu).to(getattr(torch, args.dtype))
    theirs.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in
                            ours.state_dict().items()})
    opt_ours = optim.AdamW(ours.parameters(), lr=args.lr)
    opt_theirs = torch.optim.AdamW(theirs.parameters(), lr=args.lr, foreach=False)
    return (ours, opt_ours), (theirs, opt_theirs)


def batches(args, count, seed):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        ids = rng.integers(0, args.vocab, size=(args.batch, args.length + 1))
        yield ids[:, :-1], ids[:, 1:]


def check(args, ours, theirs):
    """The losses of both sides over `check_steps` steps, and their largest difference."""
    (model, opt), (tmodel, topt) = ours, theirs
    worst = 0.0
    for i, (x, y) in enumerate(batches(args, args.check_steps, seed=1), 1):
        a = step_ours(model, opt, x, y)
        b = step_torch(tmodel, topt, torch.from_numpy(x), torch.from_numpy(y))
        worst = max(worst, abs(a - b))
        print(f"  step {i}: scratchgen {a:.12f}  torch {b:.12f}  |diff| {abs(a - b):.3g}")
    return worst


def time_steps(args, ours, theirs):
    """Median ms/step of each side, steps interleaved so both see the same machine load."""
    (model, opt), (tmodel, topt) = ours, theirs
    times = {"ours": [], "torch": []}
    for i, (x, y) in enumerate(batches(args, args.steps + args.warmup, seed=2)):
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)
        start = time.perf_counter()
        step_ours(model, opt, x, y)
        middle = time.perf_counter()
        step_torch(tmodel, topt, tx, ty)
        end = time.perf_counter()
        if i >= args.warmup:
            times["ours"].append(middle - start)
            times["torch"].append(end - middle)
    return {k: 1000 * float(np.median(v)) for k, v in times.items()}


def profile(args, ours):
    """cProfile of scratchgen's steps: the top functions by own time, then the Functions
    (autograd nodes) by total forward + backward time."""
    model, opt = ours
    data = list(batches(args, args.profile_steps, seed=3))
    profiler = cProfile.Profile()
    profiler.enable()
    for x, y in data:
        step_ours(model, opt, x, y)
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = sum(v[2] for v in stats.stats.values())
    print(f"\nprofile of {len(data)} steps, {1000 * total / len(data):.1f} ms/step under "
          "cProfile; top 25 by own time (ms/step, share):")
    rows = sorted(stats.stats.items(), key=lambda kv: -kv[1][2])[:25]
    for (file, line, name), (_, calls, own, cumulative, _) in rows:
        where = f"{file.split('scratchgen/')[-1]}:{line}({name})"
        print(f"  {1000 * own / len(data):7.2f}  {own / total:5.1%}  "
              f"{calls // len(data):6d} calls  cum {1000 * cumulative / len(data):7.2f}  {where}")
    # forward / backward of each Function type: cumulative time of their methods
    per_function = collections.Counter()
    for (file, line, name), (_, _, _, cumulative, _) in stats.stats.items():
        if name in ("forward", "backward") and "/engine/ops/" in file:
            per_function[f"{file.split('/engine/ops/')[-1]}:{line} {name}"] += cumulative
    print("\nFunction methods by cumulative time (ms/step; backward includes the ops it runs):")
    for key, seconds in per_function.most_common(20):
        print(f"  {1000 * seconds / len(data):7.2f}  {key}")


def time_fused_kernels(args):
    """Median ms of each fused kernel against its reference, at the GPT step's shapes."""
    from scratchgen import kernels
    rng = np.random.default_rng(0)
    dtype, rows = np.dtype(args.dtype), args.batch * args.length
    x = rng.standard_normal((rows, args.d_model)).astype(dtype)
    w, b = np.ones(args.d_model, dtype), np.zeros(args.d_model, dtype)
    h = rng.standard_normal((args.batch, args.length, 4 * args.d_model)).astype(dtype)
    logits = rng.standard_normal((rows, args.vocab)).astype(dtype)
    targets = rng.integers(0, args.vocab, rows)
    _, mean, rstd = kernels.get("layer_norm_forward", "reference")(x, w, b, 1e-5)
    _, lse = kernels.get("cross_entropy_forward", "reference")(logits, targets)
    cases = {"layer_norm_forward": (x, w, b, 1e-5), "layer_norm_backward": (x, x, w, mean, rstd),
             "cross_entropy_forward": (logits, targets),
             "cross_entropy_backward": (np.ones(rows, dtype), logits, targets, lse),
             "gelu_forward": (h, args.gelu), "gelu_backward": (h, h, args.gelu)}
    print(f"{'op':<24}" + "".join(f"{name:>12}" for name in ("reference", "numba")) + "  (ms)")
    for op, arguments in cases.items():
        times = []
        for name in ("reference", "numba"):
            fn = kernels.get(op, name)
            fn(*arguments)                                          # compile / warm up
            runs = []
            for _ in range(15):
                start = time.perf_counter()
                fn(*arguments)
                runs.append(time.perf_counter() - start)
            times.append(1000 * float(np.median(runs)))
        print(f"{op:<24}" + "".join(f"{t:>12.3f}" for t in times))


def parse_kernels(text):
    choices = {}
    for item in filter(None, (text or "").split(",")):
        op, _, name = item.partition("=")
        choices[op.strip()] = name.strip()
    return choices


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, choices=[1, 2])
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--d-model", type=int, default=128)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--length", type=int, default=64)
    parser.add_argument("--vocab", type=int, default=96)
    parser.add_argument("--gelu", default="tanh", choices=["none", "tanh"])
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--check-steps", type=int, default=3)
    parser.add_argument("--steps", type=int, default=30, help="timed steps per side")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--kernels", help="op=name,... for scratchgen.use_kernels")
    parser.add_argument("--keep-freed-memory", action="store_true",
                        help="glibc keeps freed memory (as `scratchgen train` does; both sides)")
    parser.add_argument("--kernels-only", action="store_true",
                        help="time the fused kernels against their references, then stop")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--profile-steps", type=int, default=5)
    args = parser.parse_args()

    import numba
    from threadpoolctl import threadpool_limits
    torch.set_num_threads(args.threads)
    if args.keep_freed_memory:
        from scratchgen.engine.backend import keep_freed_memory
        keep_freed_memory()
    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    choices = parse_kernels(args.kernels)
    with threadpool_limits(limits=args.threads, user_api="blas"), sg.use_kernels(**choices):
        if args.kernels_only:
            return time_fused_kernels(args)
        ours, theirs = build(args)
        print(f"GPT step: {args.layers} blocks, d {args.d_model}, {args.heads} heads, batch "
              f"{args.batch}, length {args.length}, vocab {args.vocab}, gelu {args.gelu}, "
              f"{args.dtype}, {args.threads} thread(s) each side, keep_freed_memory "
              f"{args.keep_freed_memory}; kernels "
              f"{sg.kernels.selected() or 'defaults'}")
        worst = check(args, ours, theirs)
        print(f"max |loss difference| over {args.check_steps} steps: {worst:.3g}")
        if args.steps:
            ms = time_steps(args, ours, theirs)
            print(f"median of {args.steps} interleaved steps: scratchgen {ms['ours']:.1f} ms, "
                  f"torch {ms['torch']:.1f} ms, speed ratio (torch time / ours) "
                  f"{ms['torch'] / ms['ours']:.2f}x")
        if args.profile:
            profile(args, ours)


if __name__ == "__main__":
    main()
