"""scratchgen: a deep-learning engine written from scratch, for learning how generative
models work from the gradient up.

    import scratchgen as sg
    import scratchgen.functional as F

    x = sg.tensor([[1.0, 2.0]], requires_grad=True)
    y = F.softplus(x @ x.T).sum()
    y.backward()
    x.grad
"""
from .engine import (Function, Tensor, enable_grad, grad, is_grad_enabled, no_grad,
                     set_grad_enabled, tensor)
from .engine.creation import (arange, concatenate, full, maximum, minimum, ones, ones_like, pad,
                              rand, randn, stack, where, zeros, zeros_like)
from .engine.random import manual_seed
from .errors import CheckpointError, DeviceError, GraphError, ScratchgenError, ShapeError
from .serialization import load, save
# [issue 9 exports: CORE]
# [issue 9 exports: REDUCE]
# [issue 9 exports: MATH]
# [issue 9 exports: SHAPE]
from . import kernels  # noqa: E402  (the Numba kernels register themselves)
from .kernels import set_kernels, use_kernels

__version__ = "0.1.0"
