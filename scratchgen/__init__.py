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
from .errors import IndexOutOfRangeError  # noqa: E402
from . import functional, nn, optim  # noqa: E402  (sg.nn, sg.optim, sg.functional, as torch.nn)
# [issue 9 exports: CORE]
from .engine.ops.reduce import (all_ as all, amax, amin, any_ as any, argmax, argmin,  # noqa: E402,A001
                                cumprod, cumsum, logcumsumexp, logsumexp, max_ as max, mean,
                                min_ as min, prod, std, sum_ as sum, var)
from .engine.ops.select import (argsort, gather, masked_fill, nonzero, put_along_axis,  # noqa: E402
                                scatter, scatter_add, sort, take_along_axis, topk)
# [issue 9 exports: REDUCE]
from .engine.ops.elementwise import (  # noqa: E402
    acos, acosh, arccos, arccosh, arcsin, arcsinh, arctan, arctan2, arctanh, asin, asinh, atan,
    atan2, atanh, bitwise_and, bitwise_invert, bitwise_left_shift, bitwise_not, bitwise_or,
    bitwise_right_shift, bitwise_xor, ceil, cos, cosh, erf, erfinv, exp2, expm1, fix, floor,
    floor_divide, invert, isclose, isfinite, isinf, isnan, left_shift, lerp, log1p, log2, log10,
    logaddexp, logical_and, logical_not, logical_or, logical_xor, mod, remainder, right_shift,
    round, rsqrt, sign, sin, sinh, tan, trunc)
# [issue 9 exports: MATH]
from .engine.creation import empty, empty_like, eye, full_like, linspace
from .engine.ops.linalg import bmm, dot, einsum, inner, mm, mv, outer, trace
from .engine.ops.shape import (chunk, diagonal, flip, meshgrid, repeat_interleave, roll, split,
                               swapaxes, tile, tril, triu)
# [issue 9 exports: SHAPE]
from . import kernels  # noqa: E402  (the Numba kernels register themselves)
from .kernels import set_kernels, use_kernels

__version__ = "0.1.0"
