"""Every registered CPU kernel validated against the reference, then timed against NumPy's @
(OpenBLAS) and torch CPU in the same run: the same harness as `scratchgen bench kernels`.

    python bench/kernels.py                        # the full sweep, runs/bench-kernels-<time>/
    python bench/kernels.py --quick                # tiny sizes: checks the harness
    python bench/kernels.py --ops matmul --sizes 512,1024,2048 --threads 1
    python bench/kernels.py --help                 # every option

Writes results.json, results.md (the tables docs/results-kernels.md is made from) and one
PNG per family into --out; prints the tables. scratchgen/benchmark/ holds the harness.
"""
import sys

from scratchgen.benchmark import UsageError, main

if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:], prog="python bench/kernels.py"))
    except UsageError as exc:
        print(f"bench/kernels.py: error: {exc}", file=sys.stderr)
        sys.exit(2)
