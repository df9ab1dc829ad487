"""Benchmark the conv2d kernels (forward + input gradient + weight gradient) against torch CPU.

    python bench/conv2d_kernels.py                       # the issue's two shapes, 1 thread
    python bench/conv2d_kernels.py --threads 2 --shapes all
    python bench/conv2d_kernels.py --shapes 64,64,64,32,32,3,1,1 --versions im2col

As in llm.c's dev/cuda: every registered version of the three ops is first checked against
the reference on each shape; then one "pass" = forward + backward_input + backward_weight is
timed, all versions and torch's conv2d forward+backward interleaved round by round, and the
median is reported with the first call (JIT compile or cache load) apart. GFLOP/s counts
2 N O (C/G) kh kw OH OW flops per op, three ops per pass. torch is optional: without it the
ratio column is left out, with a note.

A shape is N,C,O,H,W,k,stride,padding (conv2d geometry; a transposed conv layer is the conv2d
whose input gradient it computes, so its pass times the same three ops).
"""
import argparse
import statistics
import time

import numpy as np

import scratchgen.kernels as kernels
import scratchgen.kernels.cpu.conv2d  # noqa: F401  (registers the versions)

OPS = ("conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight")

SHAPES = {   # name: (N, C, O, H, W, k, stride, padding)
    "issue-32x32": (64, 64, 64, 32, 32, 3, 1, 1),
    "issue-8x8": (64, 32, 32, 8, 8, 3, 1, 1),
    # DCGAN on digits (batch 128, channels 32, z 100): D's convs and G's transposed ones
    "dcgan-D1": (128, 1, 32, 8, 8, 4, 2, 1),
    "dcgan-D2": (128, 32, 64, 4, 4, 4, 2, 1),
    "dcgan-G2": (128, 64, 128, 4, 4, 4, 2, 1),
    "dcgan-G3": (128, 1, 64, 8, 8, 4, 2, 1),
    # the diffusion U-Net on digits (batch 64, channels 16)
    "unet-res16": (64, 16, 16, 8, 8, 3, 1, 1),
    "unet-down": (64, 16, 16, 8, 8, 3, 2, 1),
    "unet-mid32": (64, 32, 32, 4, 4, 3, 1, 1),
    "unet-up1": (64, 48, 16, 8, 8, 3, 1, 1),
}
DEFAULT_SHAPES = ("issue-32x32", "issue-8x8")


def parse_shapes(text):
    if text == "all":
        return dict(SHAPES)
    shapes = {}
    for item in text.split(";"):
        if item in SHAPES:
            shapes[item] = SHAPES[item]
        else:
            shapes[item] = tuple(int(v) for v in item.split(","))
    return shapes


def set_threads(n):
    import numba
    numba.set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(limits=n, user_api="blas")
    except ImportError:
        print("note: threadpoolctl missing, BLAS keeps its own thread count")
    try:
        import torch
        torch.set_num_threads(n)
        return torch
    except ImportError:
        print("note: torch is not installed; the torch column is skipped")
        return None


def geometry(shape):
    n, c, o, h, w, k, s, p = shape
    args = ((s, s), (p, p), (1, 1), 1)
    oh = (h + 2 * p - k) // s + 1
    ow = (w + 2 * p - k) // s + 1
    flops = 3 * 2 * n * o * c * k * k * oh * ow
    return (n, c, h, w), (o, c, k, k), (n, o, oh, ow), args, flops


def pass_fn(version, x, w, g, args):
    fwd, bin_, bwt = (kernels.get(op, version) for op in OPS)

    def run():
        fwd(x, w, *args)
        bin_(g, w, x.shape, *args)
        bwt(x, g, w.shape, *args)
    return run


def torch_pass_fn(torch, x, w, g, args):
    xt = torch.from_numpy(x).requires_grad_(True)
    wt = torch.from_numpy(w).requires_grad_(True)
    gt = torch.from_numpy(g)
    stride, padding, dilation, groups = args

    def run():
        xt.grad = wt.grad = None
        y = torch.nn.functional.conv2d(xt, wt, None, stride, padding, dilation, groups)
        y.backward(gt)
    return run


def validate(version, x, w, g, args):
    """Largest error of each op against the reference, relative to the reference's scale."""
    errors = []
    for op, operands in zip(OPS, ((x, w), (g, w, x.shape), (x, g, w.shape))):
        want = kernels.get(op, "reference")(*operands, *args)
        got = kernels.get(op, version)(*operands, *args)
        errors.append(float(np.abs(got - want).max() / (np.abs(want).max() + 1e-30)))
    return max(errors)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shapes", default=";".join(DEFAULT_SHAPES),
                        help="';'-separated names or N,C,O,H,W,k,stride,padding; 'all' for "
                             f"every preset: {', '.join(SHAPES)}")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--versions", default=None,
                        help="comma-separated versions (default: every registered one)")
    parser.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    parser.add_argument("--repeats", type=int, default=15, help="timed rounds at most")
    parser.add_argument("--budget", type=float, default=3.0,
                        help="seconds per version and shape; a slow version stops early "
                             "(after 3 rounds at least)")
    opts = parser.parse_args()
    torch = set_threads(opts.threads)
    versions = (opts.versions.split(",") if opts.versions else
                [v for v in kernels.available(OPS[0], "cpu") if v != "reference"])
    dtype = np.dtype(opts.dtype)
    rng = np.random.default_rng(0)
    print(f"conv2d fwd+bwd, {opts.dtype}, {opts.threads} thread(s); median of up to "
          f"{opts.repeats} interleaved rounds")
    header = f"{'shape':<14}{'version':<11}{'first call s':>13}{'median ms':>11}{'GFLOP/s':>9}"
    print(header + ("" if torch is None else f"{'vs torch':>10}"))
    for name, shape in parse_shapes(opts.shapes).items():
        x_shape, w_shape, y_shape, args, flops = geometry(shape)
        x = rng.standard_normal(x_shape).astype(dtype)
        w = rng.standard_normal(w_shape).astype(dtype)
        g = rng.standard_normal(y_shape).astype(dtype)
        runs, first = {}, {}
        for version in versions:
            start = time.perf_counter()
            error = validate(version, x, w, g, args)
            first[version] = time.perf_counter() - start
            limit = 1e-4 if dtype == np.float32 else 1e-10
            if error > limit:
                raise SystemExit(f"{version} disagrees with the reference at {name}: "
                                 f"relative error {error:.2e}")
            runs[version] = pass_fn(version, x, w, g, args)
        if torch is not None:
            runs["torch"] = torch_pass_fn(torch, x, w, g, args)
            runs["torch"]()
            first["torch"] = float("nan")
        times = {k: [] for k in runs}
        spent = {k: 0.0 for k in runs}
        for round_ in range(opts.repeats):
            active = [k for k in runs if round_ < 3 or spent[k] < opts.budget]
            if not active:
                break
            for k in active:
                start = time.perf_counter()
                runs[k]()
                elapsed = time.perf_counter() - start
                times[k].append(elapsed)
                spent[k] += elapsed
        medians = {k: statistics.median(v) for k, v in times.items()}
        label = f"{name}"
        for k in runs:
            line = (f"{label:<14}{k:<11}{first[k]:>13.2f}{medians[k] * 1e3:>11.2f}"
                    f"{flops / medians[k] / 1e9:>9.1f}")
            if torch is not None:
                line += f"{medians['torch'] / medians[k]:>9.2f}x"
            print(line, flush=True)
            label = ""
        print(f"{'':<14}{shape} N,C,O,H,W,k,s,p; {len(times[versions[0]])} rounds")


if __name__ == "__main__":
    main()
