"""Creation helpers and free functions (scratchgen.zeros, scratchgen.where, ...)."""
import numpy as np

from . import backend, random
from .ops import elementwise, shape
from .tensor import Tensor, _shape_arg, as_array_like, as_tensor

DEFAULT_DTYPE = np.float32


def _make(fill, shape, dtype, device, requires_grad):
    xp = backend.module_for(device)
    shape = _shape_arg(shape)
    if any(not isinstance(n, (int, np.integer)) or n < 0 for n in shape):
        raise ValueError(f"shape must be non-negative integers, got {shape}")
    return Tensor(fill(xp, shape, np.dtype(dtype or DEFAULT_DTYPE)), requires_grad=requires_grad)


def zeros(*shape, dtype=None, device="cpu", requires_grad=False):
    return _make(lambda xp, s, d: xp.zeros(s, dtype=d), shape, dtype, device, requires_grad)


def ones(*shape, dtype=None, device="cpu", requires_grad=False):
    return _make(lambda xp, s, d: xp.ones(s, dtype=d), shape, dtype, device, requires_grad)


def full(shape, fill_value, dtype=None, device="cpu", requires_grad=False):
    return _make(lambda xp, s, d: xp.full(s, fill_value, dtype=d), (shape,), dtype, device,
                 requires_grad)


def randn(*shape, dtype=None, device="cpu", requires_grad=False):
    """Standard normal draws from the generator seeded by manual_seed."""
    draw = lambda xp, s, d: backend.to_device(random.generator().standard_normal(s).astype(d),
                                              device)
    return _make(draw, shape, dtype, device, requires_grad)


def rand(*shape, dtype=None, device="cpu", requires_grad=False):
    """Uniform [0, 1) draws from the generator seeded by manual_seed."""
    draw = lambda xp, s, d: backend.to_device(random.generator().random(s).astype(d), device)
    return _make(draw, shape, dtype, device, requires_grad)


def arange(start, stop=None, step=1, dtype=None, device="cpu"):
    """Like numpy.arange; integer arguments give int64, floats give float32."""
    if stop is None:
        start, stop = 0, start
    if dtype is None:
        ints = all(isinstance(v, (int, np.integer)) for v in (start, stop, step))
        dtype = np.int64 if ints else DEFAULT_DTYPE
    return Tensor(backend.module_for(device).arange(start, stop, step, dtype=dtype))


def zeros_like(x, dtype=None, requires_grad=False):
    return Tensor(x.xp.zeros(x.shape, dtype=dtype or x.dtype), requires_grad=requires_grad)


def ones_like(x, dtype=None, requires_grad=False):
    return Tensor(x.xp.ones(x.shape, dtype=dtype or x.dtype), requires_grad=requires_grad)


def _pair_of_tensors(a, b):
    """Two operands as tensors on one device (Python scalars follow the tensor's dtype)."""
    if isinstance(a, Tensor):
        return a, as_tensor(b, like=a)
    if isinstance(b, Tensor):
        return as_tensor(a, like=b), b
    return as_tensor(a), as_tensor(b)


def where(cond, a, b):
    """a where cond is true, else b. cond: a boolean array or tensor (not differentiated)."""
    cond = cond.data if isinstance(cond, Tensor) else cond
    a, b = _pair_of_tensors(a, b)
    cond = as_array_like(cond, a.data).astype(bool)
    return elementwise.Where(cond)(a, b)


def maximum(a, b):
    return elementwise.Maximum()(*_pair_of_tensors(a, b))


def minimum(a, b):
    return elementwise.Minimum()(*_pair_of_tensors(a, b))


concatenate = shape.concatenate
stack = shape.stack
pad = shape.pad
