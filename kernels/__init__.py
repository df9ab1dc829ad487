"""scratchgen.kernels: the custom kernels, and the public face of the kernel registry.

    import scratchgen as sg
    from scratchgen import kernels

    kernels.available("matmul")          # ['blocked', ..., 'reference']
    fn = kernels.get("matmul", "packed")  # a callable on raw NumPy arrays
    with sg.use_kernels(matmul="reference", attention_forward="flash"):
        ...                               # every op in here runs the chosen kernels
    sg.set_kernels(matmul="default")      # back to the measured default

This folder sits at the top of the repository (`kernels/`) and is installed as
`scratchgen.kernels` (a setuptools package-dir mapping). `cpu/` holds the Numba kernels,
one file per op; `cuda/` is for CUDA C. The registry itself, and the one rule for which
kernel runs where, is `scratchgen/engine/dispatch.py`; the NumPy references every kernel is
tested against are `scratchgen/engine/reference_kernels.py`.
"""
from scratchgen.engine.dispatch import (REFERENCE, available, default_choice, default_for,
                                        devices_of, get, select, selected, set_kernels)
from scratchgen.engine.dispatch import using as use_kernels

from . import cpu  # noqa: F401  (registers the Numba kernels and the CPU defaults)

OPS = ("matmul", "conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight",
       "attention_forward", "attention_backward")

__all__ = ["OPS", "REFERENCE", "available", "default_choice", "default_for", "devices_of",
           "get", "select", "selected", "set_kernels", "use_kernels"]
