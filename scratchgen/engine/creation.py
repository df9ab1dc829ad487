"""Creation helpers and free functions (scratchgen.zeros, scratchgen.where, ...).

dtype rules (torch's): zeros/ones/rand/randn give float32 unless `dtype` says otherwise;
full takes the fill value's kind (full(s, 4) is int64, full(s, 4.0) float32, full(s, True)
bool); arange of ints is int64. Shapes must be non-negative ints: anything else is refused
with an error naming the helper."""
import numbers

import numpy as np

from ..errors import ShapeError
from . import backend, random
from .ops import elementwise, shape
from .tensor import (DEFAULT_FLOAT, Tensor, _shape_arg, as_array, as_tensor, check_dtype,
                     describe)

DEFAULT_DTYPE = DEFAULT_FLOAT


def check_shape(shape, name):
    """A shape given as ints (or one tuple/list of ints) -> a tuple, or a clear error."""
    if len(shape) == 1 and not isinstance(shape[0], (tuple, list, numbers.Integral)):
        raise TypeError(f"{name}: the shape must be ints or a tuple of ints, got "
                        f"{describe(shape[0])}")
    shape = _shape_arg(shape)
    for i, n in enumerate(shape):
        if isinstance(n, bool) or not isinstance(n, numbers.Integral):
            raise TypeError(f"{name}: the shape must be ints, got {tuple(shape)} (element {i} "
                            f"is {describe(n)})")
        if n < 0:
            raise ShapeError(f"{name}: the shape must be non-negative, got {tuple(shape)}")
    return tuple(int(n) for n in shape)


def _make(fill, shape, dtype, device, requires_grad, name="zeros"):
    xp = backend.module_for(device)
    shape = check_shape(shape, name)
    dtype = DEFAULT_DTYPE if dtype is None else check_dtype(dtype, name)
    return Tensor(fill(xp, shape, np.dtype(dtype)), requires_grad=requires_grad)


def zeros(*shape, dtype=None, device="cpu", requires_grad=False):
    return _make(lambda xp, s, d: xp.zeros(s, dtype=d), shape, dtype, device, requires_grad,
                 "zeros")


def ones(*shape, dtype=None, device="cpu", requires_grad=False):
    return _make(lambda xp, s, d: xp.ones(s, dtype=d), shape, dtype, device, requires_grad,
                 "ones")


def _fill_dtype(fill_value, name):
    """The dtype torch gives a tensor filled with `fill_value`: bool, int64 or float32."""
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.data
    if isinstance(fill_value, (bool, np.bool_)):
        return np.dtype(bool)
    if isinstance(fill_value, numbers.Integral):
        return np.dtype(np.int64)
    if isinstance(fill_value, float):
        return np.dtype(DEFAULT_DTYPE)
    if isinstance(fill_value, (np.generic, np.ndarray)) and fill_value.dtype.kind in "biufc":
        if fill_value.size != 1:
            raise ShapeError(f"{name}: fill_value must be one number, got an array of shape "
                             f"{fill_value.shape}")
        return fill_value.dtype
    if isinstance(fill_value, numbers.Number):
        return np.asarray(fill_value).dtype
    raise TypeError(f"{name}: fill_value must be a number or a boolean, got "
                    f"{describe(fill_value)}")


def full(shape, fill_value, dtype=None, device="cpu", requires_grad=False):
    fill_dtype = _fill_dtype(fill_value, "full")
    if isinstance(fill_value, Tensor):
        fill_value = backend.to_numpy(fill_value.data).reshape(())
    return _make(lambda xp, s, d: xp.full(s, fill_value, dtype=d), (shape,),
                 fill_dtype if dtype is None else dtype, device, requires_grad, "full")


def _float_dtype(dtype, name):
    if dtype is not None and check_dtype(dtype, name).kind != "f":
        raise TypeError(f"{name}: draws need a floating-point dtype, got {np.dtype(dtype)}")
    return dtype


def randn(*shape, dtype=None, device="cpu", requires_grad=False):
    """Standard normal draws from the generator seeded by manual_seed."""
    draw = lambda xp, s, d: backend.to_device(random.generator().standard_normal(s).astype(d),
                                              device)
    return _make(draw, shape, _float_dtype(dtype, "randn"), device, requires_grad, "randn")


def rand(*shape, dtype=None, device="cpu", requires_grad=False):
    """Uniform [0, 1) draws from the generator seeded by manual_seed."""
    draw = lambda xp, s, d: backend.to_device(random.generator().random(s).astype(d), device)
    return _make(draw, shape, _float_dtype(dtype, "rand"), device, requires_grad, "rand")


def arange(start, stop=None, step=1, dtype=None, device="cpu"):
    """Like numpy.arange; integer arguments give int64, floats give float32."""
    if stop is None:
        start, stop = 0, start
    for what, v in (("start", start), ("stop", stop), ("step", step)):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
            raise TypeError(f"arange: {what} must be a real number, got {describe(v)}")
    if step == 0:
        raise ShapeError("arange: step must be non-zero")
    if dtype is None:
        ints = all(isinstance(v, numbers.Integral) for v in (start, stop, step))
        dtype = np.int64 if ints else DEFAULT_DTYPE
    return Tensor(backend.module_for(device).arange(start, stop, step,
                                                    dtype=check_dtype(dtype, "arange")))


def _like_arg(x, name):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {describe(x)}")
    return x


def zeros_like(x, dtype=None, requires_grad=False):
    x = _like_arg(x, "zeros_like")
    return Tensor(x.xp.zeros(x.shape, dtype=dtype or x.dtype), requires_grad=requires_grad)


def ones_like(x, dtype=None, requires_grad=False):
    x = _like_arg(x, "ones_like")
    return Tensor(x.xp.ones(x.shape, dtype=dtype or x.dtype), requires_grad=requires_grad)


def _pair_of_tensors(a, b, name):
    """Two operands as tensors on one device (Python scalars follow the tensor's dtype; an
    integer tensor meeting a float one takes its dtype, as in torch)."""
    from .tensor import is_operand, promote

    for v in (a, b):
        if not is_operand(v):
            raise TypeError(f"{name}: unsupported operand {describe(v)}; expected a Tensor, a "
                            "number or an array")
    if isinstance(a, Tensor):
        return promote(a, as_tensor(b, like=a, name=name))
    if isinstance(b, Tensor):
        return promote(as_tensor(a, like=b, name=name), b)
    return promote(as_tensor(a, name=name), as_tensor(b, name=name))


def where(cond, a, b):
    """a where cond is true, else b. cond: a boolean tensor or array (not differentiated)."""
    if isinstance(cond, Tensor):
        cond = cond.data
    elif not isinstance(cond, (np.ndarray, list, tuple, bool, np.bool_)) and \
            backend.array_module(cond) is np:
        raise TypeError(f"where: the condition must be a boolean tensor or array, got "
                        f"{describe(cond)}")
    a, b = _pair_of_tensors(a, b, "where")
    cond = backend.to_device(as_array(cond, name="where"), backend.device_of(a.data))
    if cond.dtype.kind not in "biu":
        raise TypeError(f"where: the condition must be boolean, got dtype {cond.dtype}")
    return elementwise.Where(cond.astype(bool))(a, b)


def maximum(a, b):
    return elementwise.Maximum()(*_pair_of_tensors(a, b, "maximum"))


def minimum(a, b):
    return elementwise.Minimum()(*_pair_of_tensors(a, b, "minimum"))


concatenate = shape.concatenate
stack = shape.stack
pad = shape.pad


# ---- issue 9: eye, linspace, full_like, empty ------------------------------------------------
from ..errors import ShapeError  # noqa: E402

def _size_arg(value, fn, what):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{fn}: {what} must be a non-negative integer, got {value!r} "
                        f"({type(value).__name__})")
    if value < 0:
        raise ShapeError(f"{fn}: {what} must be a non-negative integer, got {value}")
    return int(value)


def _number_arg(value, fn, what):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"{fn}: {what} must be a real number, got {value!r} "
                        f"({type(value).__name__})")
    return value


def eye(n, m=None, k=0, dtype=None, device="cpu", requires_grad=False):
    """The n x m identity: ones where column - row == k, zeros elsewhere (float32 by default)."""
    n = _size_arg(n, "eye", "n")
    m = n if m is None else _size_arg(m, "eye", "m")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"eye: the diagonal k must be an integer, got {k!r} ({type(k).__name__})")
    return _make(lambda xp, s, d: xp.eye(n, m, int(k), dtype=d), (n, m), dtype, device,
                 requires_grad)


def linspace(start, end, steps, dtype=None, device="cpu", requires_grad=False):
    """`steps` evenly spaced values from start to end, both included (float32 by default,
    also for integer ends, as torch.linspace)."""
    _number_arg(start, "linspace", "start")
    _number_arg(end, "linspace", "end")
    steps = _size_arg(steps, "linspace", "steps")
    values = lambda xp, s, d: xp.linspace(float(start), float(end), steps).astype(d)
    return _make(values, (steps,), dtype, device, requires_grad)


def _tensor_arg(x, fn):
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray) or backend.array_module(x) is not np:
        return Tensor(x)
    raise TypeError(f"{fn}: expected a tensor, got {type(x).__name__}")


def full_like(x, fill_value, dtype=None, requires_grad=False):
    """A tensor of x's shape (and dtype, unless given) and device filled with fill_value."""
    x = _tensor_arg(x, "full_like")
    _number_arg(fill_value, "full_like", "fill_value")
    return Tensor(x.xp.full(x.shape, fill_value, dtype=dtype or x.dtype),
                  requires_grad=requires_grad)


def empty(*shape, dtype=None, device="cpu", requires_grad=False):
    """A tensor of `shape` whose values are not meant to be read. scratchgen fills it with
    zeros (torch leaves whatever memory held), so a program that reads it is deterministic."""
    return zeros(*shape, dtype=dtype, device=device, requires_grad=requires_grad)


def empty_like(x, dtype=None, requires_grad=False):
    """Like empty, with x's shape, dtype (unless given) and device (filled with zeros)."""
    x = _tensor_arg(x, "empty_like")
    return Tensor(x.xp.zeros(x.shape, dtype=dtype or x.dtype), requires_grad=requires_grad)
