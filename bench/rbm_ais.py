"""How close annealed importance sampling gets to the exact log Z of a trained RBM.

For a run directory of `scratchgen train rbm` (n_hidden <= 20, so log Z is exact), runs
AIS (S&M 2008: base-rate start, their schedule shape) --repeats times for each number
of inverse temperatures and chains, and prints the exact log Z, the mean AIS error, the
spread of the estimates over repeats, and the mean reported standard error.

    scratchgen train rbm --out runs/rbm-default
    python bench/rbm_ais.py runs/rbm-default
    python bench/rbm_ais.py runs/rbm-default --betas 100 1000 10000 --chains 100 500 --repeats 5
"""
import argparse
import time

import numpy as np

from scratchgen.models.rbm import ais_log_partition, annealing_schedule, log_partition_exact
from scratchgen.training import load_run


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--betas", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--chains", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    _, config, _, model = load_run(args.run_dir)
    W, b, c = model.rbm.arrays(np.float64)
    exact = log_partition_exact(W, b, c)
    print(f"{args.run_dir}: {W.shape[0]} visible, {W.shape[1]} hidden, "
          f"{'PCD' if config['pcd'] else 'CD'}-{config['k']}, {config['steps']} steps")
    print(f"exact log Z = {exact:.4f}\n")
    print(f"{'betas':>6} {'chains':>6} {'mean error':>11} {'max |error|':>12} "
          f"{'spread (sd)':>12} {'mean stderr':>12} {'s / run':>8}")
    for n_betas in args.betas:
        for n_chains in args.chains:
            estimates, stderrs, start = [], [], time.perf_counter()
            for repeat in range(args.repeats):
                estimate, stderr, _ = ais_log_partition(
                    W, b, c, model.base_bias, annealing_schedule(n_betas), n_chains,
                    np.random.default_rng(repeat))
                estimates.append(estimate)
                stderrs.append(stderr)
            errors = np.asarray(estimates) - exact
            seconds = (time.perf_counter() - start) / args.repeats
            print(f"{n_betas:>6} {n_chains:>6} {errors.mean():>+11.4f} "
                  f"{np.abs(errors).max():>12.4f} {np.std(estimates, ddof=1):>12.4f} "
                  f"{np.mean(stderrs):>12.4f} {seconds:>8.2f}", flush=True)


if __name__ == "__main__":
    main()
