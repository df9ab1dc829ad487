"""Reference checks of the image models on 8x8 digits (issue 4):

    fd <= 3 fd_floor            Frechet distance to the test split, in the features of the
                                digits classifier (scratchgen/metrics/images.py)
    classifier_entropy >= 2.2   the samples cover the 10 classes (log 10 = 2.303)

for the DCGAN (non-saturating loss), the DCGAN with WGAN-GP, and the diffusion U-Net. Each
check is exactly one `scratchgen train` command (printed), run through the same code path,
single-threaded BLAS as the CLI does; a check passes when its metrics.json meets both bounds.

    python bench/digits_image_check.py                 # all, seed 0
    python bench/digits_image_check.py --only gan --seeds 0 1 2
"""
import argparse
import json
import shlex
import sys
import tempfile
import time
from pathlib import Path

from threadpoolctl import threadpool_limits

from scratchgen.cli import main as scratchgen_main

CHECKS = {
    "gan": ["train", "gan", "--dataset", "digits"],
    "gan-wgan-gp": ["train", "gan", "--dataset", "digits", "--loss", "wgan-gp"],
    "diffusion": ["train", "diffusion", "--dataset", "digits"],
}
FD_RATIO, MIN_ENTROPY = 3.0, 2.2


def run_check(name, seed, root):
    argv = CHECKS[name] + ["--seed", str(seed), "--quiet", "--out", str(root / f"{name}-{seed}")]
    print("scratchgen " + shlex.join(argv), flush=True)
    start = time.perf_counter()
    with threadpool_limits(limits=1):
        code = scratchgen_main(argv)
    wall = time.perf_counter() - start
    if code != 0:
        return {"name": name, "seed": seed, "ok": False, "wall": wall, "error": code}
    metrics = json.loads((root / f"{name}-{seed}" / "metrics.json").read_text())
    ok = (metrics["fd"] <= FD_RATIO * metrics["fd_floor"]
          and metrics["classifier_entropy"] >= MIN_ENTROPY)
    return {"name": name, "seed": seed, "ok": ok, "wall": wall, **metrics}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=sorted(CHECKS), default=list(CHECKS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--out", help="keep the run directories here (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.out or tmp)
        results = [run_check(name, seed, root) for name in args.only for seed in args.seeds]
    print(f"\n{'check':<12} {'seed':>4} {'fd':>7} {'fd_floor':>8} {'ratio':>6} {'entropy':>7} "
          f"{'wall':>6}  result")
    for r in results:
        if "fd" not in r:
            print(f"{r['name']:<12} {r['seed']:>4}  failed to run (exit code {r['error']})")
            continue
        print(f"{r['name']:<12} {r['seed']:>4} {r['fd']:7.2f} {r['fd_floor']:8.2f} "
              f"{r['fd'] / r['fd_floor']:6.2f} {r['classifier_entropy']:7.3f} {r['wall']:5.0f}s  "
              f"{'pass' if r['ok'] else 'FAIL'}")
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
