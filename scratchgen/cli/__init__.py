"""The command line: `scratchgen train | sample | eval | datasets | models | bench`.

One module per command (train.py, sample.py, evaluate.py, info.py); main.py dispatches and
turns errors into one-line messages. `scratchgen --help` lists the commands."""
from .main import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_USAGE, UsageError, blas_threads, main

__all__ = ["main", "UsageError", "blas_threads", "EXIT_ERROR", "EXIT_USAGE", "EXIT_INTERRUPTED"]
