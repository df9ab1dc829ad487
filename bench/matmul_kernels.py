"""Benchmark every registered matmul kernel against OpenBLAS (NumPy's `@`) in one run.

    python bench/matmul_kernels.py                       # float32, N = 512 1024 2048, 1 thread
    python bench/matmul_kernels.py --threads 2 --dtype float64 --sizes 256 512

For each size (square N x N @ N x N): every kernel is first validated against the reference
(a wrong kernel is reported and not timed), compiled and warmed up (the first call, compile
included, is reported apart), then timed as the median of repeats interleaved with
np.matmul, so that both see the same machine load. `--threads` sets both Numba's threads
(numba.set_num_threads) and OpenBLAS's (threadpoolctl). "naive" is skipped above N = 512.
"""
import argparse
import os
import sys
import time

import numpy as np

NAIVE_MAX = 512


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024, 2048])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--repeats", type=int, default=0,
                        help="timed repeats per kernel (default: enough for about 3 s per size)")
    parser.add_argument("--kernels", nargs="+", help="only these kernels (default: all)")
    return parser.parse_args(argv)


def blas_description():
    from threadpoolctl import threadpool_info
    return ", ".join(f"{info['internal_api']} {info.get('version')} ({info.get('architecture')}"
                     f" kernel, {info['num_threads']} threads)"
                     for info in threadpool_info() if info["user_api"] == "blas")


def validate(fn, reference, dtype, rng):
    """Compare with the reference on an odd-sized, batched, transposed problem."""
    a = rng.standard_normal((2, 67, 45)).astype(dtype)
    b = rng.standard_normal((45, 53)).astype(dtype).T.copy().T   # a transposed view
    expected = reference(a, b)
    got = fn(a, b)
    tol = 1e-4 if dtype == np.float32 else 1e-11
    return got.shape == expected.shape and np.allclose(got, expected, rtol=tol, atol=tol * 45)


def timed(fn, *args):
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def main(argv=None):
    args = parse_args(argv)
    import numba
    from threadpoolctl import threadpool_limits

    import scratchgen.kernels.cpu.matmul  # noqa: F401  (registers the kernels)
    from scratchgen import kernels

    dtype = np.dtype(args.dtype).type
    numba.set_num_threads(args.threads)
    names = [n for n in kernels.available("matmul", device="cpu") if n != kernels.REFERENCE]
    if args.kernels:
        names = [n for n in names if n in args.kernels]
    reference = kernels.get("matmul", kernels.REFERENCE)
    rng = np.random.default_rng(0)
    blas_env = {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS")}

    with threadpool_limits(args.threads, user_api="blas"):
        print(f"matmul, {args.dtype}, {args.threads} thread(s) for Numba and for BLAS; "
              f"BLAS: {blas_description()}; OPENBLAS env: {blas_env or 'none'}")
        print(f"numba {numba.__version__}, {numba.get_num_threads()} thread(s), "
              f"LLVM target {numba.core.config.CPU_NAME or 'host'}")
        first_calls = {}
        for name in names:
            ok = validate(kernels.get("matmul", name), reference, dtype, rng)
            first_calls[name] = ok
            if not ok:
                print(f"  {name}: WRONG against the reference, not timed")
        names = [n for n in names if first_calls[n]]

        header = f"{'N':>6} {'kernel':>18} {'first call s':>13} {'GFLOP/s':>9} " \
                 f"{'BLAS GFLOP/s':>13} {'ratio':>7}"
        print(header)
        print("-" * len(header))
        for n in args.sizes:
            a = rng.standard_normal((n, n)).astype(dtype)
            b = rng.standard_normal((n, n)).astype(dtype)
            flops = 2.0 * n ** 3
            np.matmul(a, b)
            budget = 3.0
            for name in names:
                if name == "naive" and n > NAIVE_MAX:
                    print(f"{n:>6} {name:>18}   skipped above N = {NAIVE_MAX} (too slow)")
                    continue
                fn = kernels.get("matmul", name)
                first = timed(fn, a, b)                      # compile (or cache load) + run
                once = timed(fn, a, b)
                repeats = args.repeats or int(min(25, max(3, budget / max(once, 1e-4))))
                ours, blas = [], []
                for _ in range(repeats):
                    ours.append(timed(fn, a, b))
                    blas.append(timed(np.matmul, a, b))
                mine, theirs = flops / np.median(ours) / 1e9, flops / np.median(blas) / 1e9
                print(f"{n:>6} {name:>18} {first:>13.2f} {mine:>9.1f} {theirs:>13.1f} "
                      f"{mine / theirs:>7.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
