"""`Tensor`: an array plus the graph that produced it.

`Tensor.data` is the raw array (numpy.ndarray on the CPU, cupy.ndarray on a GPU). A tensor
with requires_grad=True records every op applied to it; `.backward()` then fills the
`.grad` of the leaves (tensors created by the user rather than by an op).
"""
import numpy as np

from ..errors import GraphError
from . import backend
from . import autograd
from .function import is_grad_enabled


def _default_float_dtype(array):
    """Python floats, ints and lists become float32; arrays keep their dtype."""
    if array.dtype.kind in "iuf":
        return array.astype(np.float32)
    return array


def as_array(data, dtype=None, device=None):
    """Anything array-like -> an array on `device`, following scratchgen's dtype rules."""
    if isinstance(data, Tensor):
        array = data.data
    elif isinstance(data, np.ndarray) or backend.array_module(data) is not np:
        array = data
    elif isinstance(data, np.generic):
        array = np.asarray(data)
    else:  # Python scalars and (nested) lists
        array = np.asarray(data)
        if dtype is None:
            array = _default_float_dtype(array)
    if dtype is not None:
        array = array.astype(dtype, copy=False)
    if device is not None:
        array = backend.to_device(array, device)
    return array


def as_array_like(data, like):
    """A Python scalar or array-like as an array next to `like` (same device).

    A Python scalar takes the dtype NumPy would give `like <op> scalar` (it never
    upcasts a float32 tensor to float64)."""
    if isinstance(data, (bool, int, float)):
        xp = backend.array_module(like)
        if like.dtype.kind == "f" and not isinstance(data, bool):
            return xp.asarray(data, dtype=like.dtype)  # the common case, without result_type
        return xp.asarray(data, dtype=xp.result_type(like.dtype, data))
    return backend.to_device(as_array(data), backend.device_of(like))


def as_tensor(data, like=None):
    if isinstance(data, Tensor):
        return data
    return Tensor(as_array(data) if like is None else as_array_like(data, like.data))


class Tensor:
    # Make NumPy hand `ndarray + Tensor` to Tensor.__radd__ instead of looping over it.
    __array_ufunc__ = None

    def __init__(self, data, requires_grad=False):
        if isinstance(data, np.generic):  # NumPy returns scalars from full reductions
            data = np.asarray(data)
        self.data = data
        self.grad = None
        self.creator = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # ---- properties -------------------------------------------------------------------
    @property
    def shape(self):
        return tuple(self.data.shape)

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return int(self.data.size)

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def device(self):
        return backend.device_of(self.data)

    @property
    def xp(self):
        """The array module of this tensor (numpy or cupy)."""
        return backend.array_module(self.data)

    @property
    def is_leaf(self):
        return self.creator is None

    @property
    def T(self):
        return self.transpose()

    def requires_grad_(self, flag=True):
        if flag and self.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require gradients, but this one "
                            f"has dtype {self.dtype}; create it with a float dtype")
        self.requires_grad = bool(flag)
        return self

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __repr__(self):
        body = np.array2string(backend.to_numpy(self.data), separator=", ", prefix="tensor(")
        extras = ""
        if self.device != "cpu":
            extras += f", device='{self.device}'"
        if self.requires_grad:
            extras += ", requires_grad=True"
        return f"tensor({body}, dtype={self.dtype}{extras})"

    def __array__(self, dtype=None, copy=None):
        array = backend.to_numpy(self.data)
        return array if dtype is None else array.astype(dtype)

    def __bool__(self):
        if self.size != 1:
            raise ValueError(f"the truth value of a tensor with {self.size} elements is "
                             "ambiguous; use .any() or .all() on .data")
        return bool(self.data)

    __hash__ = object.__hash__

    # ---- conversion -------------------------------------------------------------------
    def numpy(self):
        """The values as a NumPy array (copied from the GPU if needed)."""
        return backend.to_numpy(self.data)

    def item(self):
        if self.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.reshape(()).item()

    def tolist(self):
        return self.numpy().tolist()

    def detach(self):
        """The same values, cut from the graph (shares memory, like torch)."""
        return Tensor(self.data)

    def to(self, device):
        """A copy on `device` ('cpu' or 'cuda'); differentiable, like any other op."""
        if backend.check_device(device) == self.device:
            return self
        return _elementwise.ToDevice(device)(self)

    def astype(self, dtype):
        if np.dtype(dtype) == self.dtype:
            return self
        return _elementwise.Cast(dtype)(self)

    # ---- autograd ---------------------------------------------------------------------
    def backward(self, grad=None, retain_graph=False, create_graph=False):
        """Accumulate the gradient of this tensor into the .grad of every leaf."""
        autograd.backward(self, grad, retain_graph, create_graph)

    def zero_grad(self):
        self.grad = None

    # ---- arithmetic (the ops live in engine/ops; these are the spellings) -------------
    def _binary(self, fn, other, reverse=False):
        other = as_tensor(other, like=self)
        return fn()(other, self) if reverse else fn()(self, other)

    def __add__(self, other):
        return self._binary(_elementwise.Add, other)

    def __radd__(self, other):
        return self._binary(_elementwise.Add, other, reverse=True)

    def __sub__(self, other):
        return self._binary(_elementwise.Sub, other)

    def __rsub__(self, other):
        return self._binary(_elementwise.Sub, other, reverse=True)

    def __mul__(self, other):
        return self._binary(_elementwise.Mul, other)

    def __rmul__(self, other):
        return self._binary(_elementwise.Mul, other, reverse=True)

    def __truediv__(self, other):
        return self._binary(_elementwise.Div, other)

    def __rtruediv__(self, other):
        return self._binary(_elementwise.Div, other, reverse=True)

    def __pow__(self, other):
        return self._binary(_elementwise.Pow, other)

    def __rpow__(self, other):
        return self._binary(_elementwise.Pow, other, reverse=True)

    def __matmul__(self, other):
        return _linalg.matmul(self, as_tensor(other, like=self))

    def __rmatmul__(self, other):
        return _linalg.matmul(as_tensor(other, like=self), self)

    def __neg__(self):
        return _elementwise.Neg()(self)

    def __pos__(self):
        return self

    # Comparisons give plain boolean arrays: they are not differentiable.
    def _compare(self, other, op):
        other = other.data if isinstance(other, Tensor) else other
        return op(self.data, other)

    def __lt__(self, other):
        return self._compare(other, lambda a, b: a < b)

    def __le__(self, other):
        return self._compare(other, lambda a, b: a <= b)

    def __gt__(self, other):
        return self._compare(other, lambda a, b: a > b)

    def __ge__(self, other):
        return self._compare(other, lambda a, b: a >= b)

    def __eq__(self, other):
        return self._compare(other, lambda a, b: a == b)

    def __ne__(self, other):
        return self._compare(other, lambda a, b: a != b)

    def __getitem__(self, index):
        return _shape.GetItem(index)(self)

    # ---- methods with NumPy's names ---------------------------------------------------
    def sum(self, axis=None, keepdims=False):
        return _reduce.Sum(axis, keepdims)(self)

    def mean(self, axis=None, keepdims=False):
        return _reduce.mean(self, axis, keepdims)

    def var(self, axis=None, keepdims=False):
        return _reduce.var(self, axis, keepdims)

    def max(self, axis=None, keepdims=False):
        return _reduce.Max(axis, keepdims)(self)

    def min(self, axis=None, keepdims=False):
        return _reduce.Min(axis, keepdims)(self)

    def logsumexp(self, axis=None, keepdims=False):
        return _reduce.logsumexp(self, axis, keepdims)

    def argmax(self, axis=None):
        """Indices of the maxima (a plain integer array: not differentiable)."""
        return self.data.argmax(axis=axis)

    def exp(self):
        return _elementwise.Exp()(self)

    def log(self):
        return _elementwise.Log()(self)

    def sqrt(self):
        return _elementwise.Sqrt()(self)

    def tanh(self):
        return _elementwise.Tanh()(self)

    def sigmoid(self):
        return _elementwise.Sigmoid()(self)

    def abs(self):
        return _elementwise.Abs()(self)

    def clip(self, min=None, max=None):
        return _elementwise.Clip(min, max)(self)

    def reshape(self, *shape):
        return _shape.Reshape(_shape_arg(shape))(self)

    def transpose(self, *axes):
        return _shape.Transpose(_shape_arg(axes) or None)(self)

    def squeeze(self, axis=None):
        return _shape.squeeze(self, axis)

    def unsqueeze(self, axis):
        return _shape.unsqueeze(self, axis)

    def broadcast_to(self, *shape):
        return _shape.BroadcastTo(_shape_arg(shape))(self)

    def flatten(self, start_axis=0, end_axis=-1):
        return _shape.flatten(self, start_axis, end_axis)

    # ---- issue 9 section CORE (methods added by that part of the work) ----
    # [end of section CORE]

    # ---- issue 9 section REDUCE (methods added by that part of the work) ----
    # [end of section REDUCE]

    # ---- issue 9 section MATH (methods added by that part of the work) ----
    # [end of section MATH]

    # ---- issue 9 section SHAPE (methods added by that part of the work) ----
    # [end of section SHAPE]

    # ---- issue 9 section NNF (methods added by that part of the work) ----
    # [end of section NNF]


def _shape_arg(args):
    """Accept both t.reshape(2, 3) and t.reshape((2, 3))."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return tuple(args)


def tensor(data, requires_grad=False, dtype=None, device=None):
    """Create a leaf tensor (a copy of `data`).

    Float arrays keep their dtype (float64 stays float64); Python floats, ints and
    lists become float32 unless `dtype` says otherwise.
    """
    array = as_array(data, dtype=dtype)
    device = backend.check_device(device) if device is not None else backend.device_of(array)
    array = backend.to_device(array, device)
    xp = backend.array_module(array)
    return Tensor(xp.array(array, copy=True), requires_grad=requires_grad)


__all__ = ["Tensor", "tensor", "as_tensor", "is_grad_enabled", "GraphError"]


# The ops are imported last: they build on Tensor (a cycle resolved at call time).
from .ops import elementwise as _elementwise  # noqa: E402
from .ops import linalg as _linalg  # noqa: E402
from .ops import reduce as _reduce  # noqa: E402
from .ops import shape as _shape  # noqa: E402
