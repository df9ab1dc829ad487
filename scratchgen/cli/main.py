"""`scratchgen COMMAND ...`: the dispatcher, the thread limits every command runs under, and
the one place that turns errors into one-line messages and exit codes."""
import argparse
import contextlib
import os
import sys

EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130

USAGE = """scratchgen: train, sample and evaluate generative models written from scratch.

    scratchgen train gan                      # ring8, writes runs/gan-ring8-<time>/
    scratchgen train gan --help               # every option, its default and choices
    scratchgen train diffusion --dataset grid25 --steps 4000
    scratchgen sample runs/gan-ring8-... -n 1000 --out points.npy
    scratchgen eval runs/gan-ring8-...
    scratchgen bench kernels --quick          # every kernel validated and timed

Bad input (an unknown model, dataset or option, a missing data directory, a corrupted
checkpoint) gives a one-line error and a non-zero exit code, never a traceback."""


class UsageError(Exception):
    """A command line that cannot be carried out as written (exit code 2)."""


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: a bad argument raises UsageError instead of printing
    the usage and exiting."""

    def error(self, message):
        raise UsageError(message)


def positive_int(text):
    """argparse's `type=` for a count: a positive integer, or a clear error."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


@contextlib.contextmanager
def blas_threads():
    """Limit BLAS and Numba to SCRATCHGEN_BLAS_THREADS threads (default 1) while a command runs.

    The built-in models multiply matrices of a few hundred rows, where a second BLAS thread
    buys little and, on a shared machine, costs a lot (measured: a gpt step 4x slower with
    two OpenBLAS threads under load). Numba's parallel kernels are the same story: the digits
    DCGAN ran 100 steps in 66.6 s with two Numba threads against 21.1 s with one on the 2-core
    machine. Set SCRATCHGEN_BLAS_THREADS=0 to keep both libraries' defaults."""
    import numba
    from threadpoolctl import threadpool_limits

    threads = int(os.environ.get("SCRATCHGEN_BLAS_THREADS", "1"))
    previous = numba.get_num_threads()
    if threads > 0:
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        with threadpool_limits(limits=threads if threads > 0 else None, user_api="blas"):
            yield
    finally:
        numba.set_num_threads(previous)


def _bench(argv):
    from ..benchmark import UsageError as BenchUsageError
    from ..benchmark import main as bench_main

    if argv and argv[0] in ("-h", "--help"):
        print("usage: scratchgen bench kernels [options]  (scratchgen bench kernels --help)")
        return 0
    if not argv or argv[0] != "kernels":
        raise UsageError("bench needs a target; choose one of: kernels")
    try:
        return bench_main(argv[1:])
    except BenchUsageError as exc:
        raise UsageError(str(exc)) from None


def _commands():
    from .evaluate import eval_command
    from .info import datasets_command, models_command
    from .sample import sample_command
    from .train import train_command
    return {"train": train_command, "sample": sample_command, "eval": eval_command,
            "datasets": datasets_command, "models": models_command, "bench": _bench}


COMMAND_NAMES = ("train", "sample", "eval", "datasets", "models", "bench")


def version():
    from .. import __version__
    return f"scratchgen {__version__}"


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-V", "--version"):
        print(version())
        return 0
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        print(f"\ncommands: {', '.join(COMMAND_NAMES)}  (scratchgen COMMAND --help for more)\n"
              "--version: the installed version")
        return 0 if argv else EXIT_USAGE
    command, rest = argv[0], argv[1:]
    if command not in COMMAND_NAMES:
        print(f"scratchgen: error: unknown command {command!r}; choose one of: "
              f"{', '.join(COMMAND_NAMES)}", file=sys.stderr)
        return EXIT_USAGE
    from ..data import DataError
    from ..engine.backend import keep_freed_memory
    from ..errors import ScratchgenError
    from ..training import Interrupted

    keep_freed_memory()  # fewer page faults in every training step
    try:
        with blas_threads():
            return _commands()[command](rest)
    except Interrupted as exc:
        print(f"scratchgen: {exc}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:  # Ctrl-C outside the training steps (loading, sampling)
        print(f"scratchgen {command}: interrupted; run the same command again to finish (every "
              "file is written atomically: none is left half-written)", file=sys.stderr)
        return EXIT_INTERRUPTED
    except UsageError as exc:
        print(f"scratchgen {command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (ScratchgenError, DataError, OSError, ValueError, KeyError) as exc:
        if os.environ.get("SCRATCHGEN_DEBUG"):
            raise
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"scratchgen {command}: error: {message}", file=sys.stderr)
        return EXIT_ERROR
