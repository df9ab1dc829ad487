"""The kernel benchmark: every registered kernel against the reference and the libraries.

    scratchgen bench kernels               # the full sweep, into runs/bench-kernels-<time>/
    scratchgen bench kernels --quick       # tiny sizes, 2 repeats: a smoke test
    scratchgen bench kernels --ops matmul --sizes 512,1024 --threads 1
    python bench/kernels.py --ops attention # the same harness from a script

For each family (matmul; conv2d forward + both gradients; attention forward + backward) and
each size, every implementation registered in scratchgen.kernels is validated against the
reference before it is timed, then all of them and the peers (NumPy's @, torch CPU) are
timed round-robin. The output folder gets results.json, results.md and one PNG per family.

    problems.py   what is measured: the families, their sizes, FLOP counts, peers
    harness.py    how: validation, memory probe, round-robin timing, thread settings
    report.py     the files
"""
import argparse
import os
import sys
import time

from .harness import Settings, UsageError, run
from .problems import FAMILIES
from .report import markdown, write

__all__ = ["FAMILIES", "Settings", "UsageError", "main", "make_parser", "run", "write"]

QUICK_REPEATS, DEFAULT_REPEATS = 2, 10


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def make_parser(prog="scratchgen bench kernels"):
    parser = _Parser(
        prog=prog, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Validate every registered CPU kernel against the reference, then time it "
                    "against the reference and the peers (NumPy's @ / OpenBLAS, torch CPU) in "
                    "the same run.",
        epilog="families and their default sweeps:\n"
               "  matmul     square N = 128 ... 2048\n"
               "  conv2d     forward + input and weight gradients at four shapes (--sizes "
               "sets their batch)\n"
               "  attention  causal forward + backward, batch 4 x 8 heads, d 64, "
               "N = 256 ... 4096\n\n"
               "Files in --out: results.json (machine, threads, every row), results.md (a "
               "table per family),\n<family>.png (GFLOP/s against size).")
    parser.add_argument("--ops", default=",".join(FAMILIES), metavar="LIST",
                        help=f"families to run, comma-separated (default {','.join(FAMILIES)}); "
                             "registry op names such as conv2d_forward name their family")
    parser.add_argument("--sizes", action="append", default=[], metavar="[FAMILY=]LIST",
                        help="sizes to sweep, e.g. 256,512 (every family) or matmul=256,512; "
                             "may be repeated")
    parser.add_argument("--dtype", default="float32", help="float32 (default) or float64")
    parser.add_argument("--threads", type=int, default=0,
                        help="threads for BLAS, Numba and torch alike (default: every usable "
                             "core)")
    parser.add_argument("--repeats", type=int, default=None,
                        help=f"timed calls per implementation and size, median reported "
                             f"(default {DEFAULT_REPEATS}, {QUICK_REPEATS} with --quick; "
                             f"fewer, at least 3, where one call is slow)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes and 2 repeats: checks the harness, not the speed")
    parser.add_argument("--max-call-s", type=float, default=10.0, metavar="S",
                        help="skip a (version, size) whose call is estimated to take longer, "
                             "from its speed at the previous size (default 10)")
    parser.add_argument("--max-memory-gib", type=float, default=4.0, metavar="G",
                        help="skip a (version, size) whose peak memory is estimated to pass "
                             "this (default 4)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="output folder (default runs/bench-kernels-<time>)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    return parser


def _family_of(name):
    for family in FAMILIES:
        if name == family or name.startswith(family + "_"):
            return family
    raise UsageError(f"unknown op family {name!r} in --ops; choose from {', '.join(FAMILIES)}")


def _parse_sizes(texts, families):
    sizes = {}
    for text in texts:
        target, _, values = text.rpartition("=")
        names = [_family_of(target)] if target else list(families)
        try:
            numbers = tuple(int(v) for v in values.split(",") if v.strip())
        except ValueError:
            raise UsageError(f"--sizes {text!r}: sizes are positive integers, "
                             f"e.g. 256,512") from None
        if not numbers or min(numbers) < 1:
            raise UsageError(f"--sizes {text!r}: sizes are positive integers, e.g. 256,512")
        for name in names:
            sizes[name] = numbers
    return sizes


def settings_from_args(args):
    families = tuple(dict.fromkeys(_family_of(name.strip())
                                   for name in args.ops.split(",") if name.strip()))
    if not families:
        raise UsageError(f"--ops names no family; choose from {', '.join(FAMILIES)}")
    if args.dtype not in ("float32", "float64"):
        raise UsageError(f"--dtype must be float32 or float64, got {args.dtype!r}")
    repeats = args.repeats if args.repeats is not None else (
        QUICK_REPEATS if args.quick else DEFAULT_REPEATS)
    for option, value in (("--repeats", repeats), ("--max-call-s", args.max_call_s),
                          ("--max-memory-gib", args.max_memory_gib)):
        if value <= 0:
            raise UsageError(f"{option} must be positive, got {value}")
    if args.threads < 0:
        raise UsageError(f"--threads must be positive (0: every usable core), got {args.threads}")
    return Settings(families=families, sizes=_parse_sizes(args.sizes, families),
                    dtype=args.dtype, repeats=repeats, threads=args.threads, quick=args.quick,
                    max_call_s=args.max_call_s, max_memory_gib=args.max_memory_gib,
                    quiet=args.quiet, seed=args.seed)


def main(argv, prog="scratchgen bench kernels"):
    """Parse the options, run, write the files, print the tables. Raises UsageError."""
    args = make_parser(prog).parse_args(argv)
    settings = settings_from_args(args)
    out = args.out or os.path.join("runs", time.strftime("bench-kernels-%Y%m%d-%H%M%S"))
    results = run(settings, command=" ".join([prog, *argv]))
    paths = write(results, out)
    if not settings.quiet:
        print(markdown(results))
        print(f"wrote {', '.join(paths)}", file=sys.stderr)
    return 0
