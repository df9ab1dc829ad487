"""Attention kernels forward+backward against torch CPU scaled_dot_product_attention.

    python bench/attention_kernels.py                      # N = 1024 2048 4096, 1 and 2 threads
    python bench/attention_kernels.py --sizes 1024 --threads 1 --repeats 5

For each registered version: validate forward and backward against the reference at a
small size, report compile time apart (the first call), then time medians of repeats,
interleaved with torch (optional: skipped with a note when torch is missing), at batch x
heads = 32 (batch 4, 8 heads), d = 64, float32, causal. Threads: torch.set_num_threads,
numba.set_num_threads and threadpoolctl (BLAS) all set to the same count.

FLOP convention: the causal forward counts only the unmasked half, 2 * B * N^2 * d (Q K^T
and P V, each 2 B N^2 d / 2); backward 2.5x that (five products: S again, dV, dP, dQ, dK),
so forward+backward = 7 B N^2 d.

Peak memory: tracemalloc's peak of NumPy allocations during one forward+backward of ours
and of the reference (the naive full-matrix path), at the smallest size.
"""
import argparse
import time
import tracemalloc

import numpy as np

from scratchgen import kernels
from scratchgen.engine import reference_kernels as ref

try:
    import torch
except ImportError:
    torch = None


def inputs(n_batch, length, dim, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((n_batch, length, dim)).astype(np.float32) for _ in range(4)]


def ours(name):
    fwd, bwd = kernels.get("attention_forward", name), kernels.get("attention_backward", name)

    def run(q, k, v, g, scale):
        out, lse = fwd(q, k, v, None, True, scale)
        return bwd(q, k, v, out, lse, g, None, True, scale)
    return run


def validate(name):
    q, k, v, g = inputs(3, 150, 16, seed=1)
    out, lse = kernels.get("attention_forward", name)(q, k, v, None, True, 0.25)
    want, _ = ref.attention_forward(q, k, v, None, True, 0.25)
    grads = kernels.get("attention_backward", name)(q, k, v, out, lse, g, None, True, 0.25)
    wants = ref.attention_backward(q, k, v, want, lse, g, None, True, 0.25)
    err = max([np.abs(out - want).max()] + [np.abs(a - b).max() for a, b in zip(grads, wants)])
    if err > 1e-3:
        raise SystemExit(f"{name}: differs from the reference by {err:.2e}; not timed")
    return err


def torch_runner(q, k, v, g, heads):
    n_batch, length, dim = q.shape
    shape = (n_batch // heads, heads, length, dim)
    tq, tk, tv = (torch.tensor(a.reshape(shape), requires_grad=True) for a in (q, k, v))
    tg = torch.tensor(g.reshape(shape))

    def run():
        for t in (tq, tk, tv):
            t.grad = None
        torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, is_causal=True).backward(tg)
    return run


def peak_bytes(fn):
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048, 4096])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--versions", nargs="+", default=["flash"],
                        help="registered names to time (rowwise is slow at large N)")
    args = parser.parse_args()
    import numba
    from threadpoolctl import threadpool_limits

    batch, heads, dim = 4, 8, 64
    for name in args.versions:
        t = time.perf_counter()
        err = validate(name)
        print(f"{name}: valid (max error {err:.1e}); first call incl. compile/cache load "
              f"{time.perf_counter() - t:.1f} s")
    if torch is None:
        print("note: torch is not installed; the torch column is skipped")

    n = min(args.sizes)
    q, k, v, g = inputs(batch * heads, n, dim)
    scale = 1 / np.sqrt(dim)
    for name in args.versions:
        mib = peak_bytes(lambda: ours(name)(q, k, v, g, scale)) / 2**20
        print(f"peak NumPy memory, N={n}: {name} {mib:.1f} MiB", end="; ")
    ref_mib = peak_bytes(lambda: ours("reference")(q, k, v, g, scale)) / 2**20
    print(f"reference (full N x N) {ref_mib:.1f} MiB; inputs q,k,v,g "
          f"{4 * q.nbytes / 2**20:.1f} MiB")

    print(f"\n| threads | N | version | ms fwd+bwd | GFLOP/s | torch ms | ratio vs torch |")
    print("|---|---|---|---|---|---|---|")
    for threads in args.threads:
        numba.set_num_threads(threads)
        if torch is not None:
            torch.set_num_threads(threads)
        with threadpool_limits(threads):
            for n in args.sizes:
                q, k, v, g = inputs(batch * heads, n, dim)
                runs = {name: (lambda r=ours(name): r(q, k, v, g, scale)) for name in args.versions}
                if torch is not None:
                    runs["torch"] = torch_runner(q, k, v, g, heads)
                times = {key: [] for key in runs}
                for fn in runs.values():
                    fn()                                          # warm-up
                for _ in range(args.repeats):                     # interleaved
                    for key, fn in runs.items():
                        t = time.perf_counter()
                        fn()
                        times[key].append(time.perf_counter() - t)
                flops = 7 * batch * heads * n * n * dim
                t_torch = np.median(times["torch"]) if torch is not None else None
                for name in args.versions:
                    t_ours = np.median(times[name])
                    ratio = f"{t_torch / t_ours:.2f}x" if t_torch else "n/a"
                    torch_ms = f"{t_torch * 1e3:.0f}" if t_torch else "n/a"
                    print(f"| {threads} | {n} | {name} | {t_ours * 1e3:.0f} | "
                          f"{flops / t_ours / 1e9:.1f} | {torch_ms} | {ratio} |", flush=True)


if __name__ == "__main__":
    main()
