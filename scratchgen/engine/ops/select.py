"""Sort and select: sort, argsort, topk, gather / take_along_axis, scatter / scatter_add /
put_along_axis, masked_fill, nonzero, one_hot.

Every selection is integer indexing in disguise: gather(x, dim, index) is x at a tuple of
index arrays (one per axis), so its gradient scatters g back (adds it at those positions),
and the gradient of a scatter gathers g. Indices are integer tensors (int64 results, as in
torch); float or boolean index tensors are refused, and indices out of range raise
IndexOutOfRangeError naming the op.
"""
import numbers

import numpy as np

from ...errors import IndexOutOfRangeError, ShapeError
from .. import backend
from ..function import Function
from ..spelling import torch_names
from .reduce import _named, _one_axis
from .shape import GetItem, IndexAdd, accepts


def _tensor(x, op):
    from ..tensor import Tensor, as_tensor
    return x if isinstance(x, Tensor) else as_tensor(x, name=op)


def _describe(value):
    from ..tensor import describe
    return describe(value)


def _index_array(index, op, what="index"):
    """An integer index (Tensor, array or list) as an int64 array, or a clear TypeError."""
    from ..tensor import Tensor, as_array

    if isinstance(index, Tensor):
        array = index.data
    elif isinstance(index, (list, tuple, np.ndarray, numbers.Integral)) or \
            backend.array_module(index) is not np:
        array = as_array(index, name=op)
    else:
        raise TypeError(f"{op}: {what} must be an integer tensor (int64), got "
                        f"{_describe(index)}")
    if array.dtype.kind not in "iu":
        raise TypeError(f"{op}: {what} must be an integer tensor (int64), got dtype "
                        f"{array.dtype}; cast it with .long()")
    return array.astype(np.int64, copy=False)


def _check_range(op, index, size, axis, allow_negative):
    """Every index in [0, size) (or [-size, size) NumPy-style), else IndexOutOfRangeError."""
    if index.size == 0:
        return
    low, high = int(index.min()), int(index.max())
    smallest = -size if allow_negative else 0
    if low < smallest or high >= size:
        bad = low if low < smallest else high
        expected = f"{-size} .. {size - 1}" if allow_negative else f"0 .. {size - 1}"
        raise IndexOutOfRangeError(f"{op}: index {bad} is out of range for axis {axis} of "
                                   f"size {size} (expected {expected})")


def _positions(index, axis, shape):
    """The tuple of index arrays with which a[tuple] == take_along_axis(a, index, axis):
    `index` on `axis`, an arange (broadcast against index) on every other axis."""
    xp = backend.array_module(index)
    ndim = len(shape)
    out = []
    for d in range(ndim):
        if d == axis:
            out.append(index)
        else:
            view = [1] * ndim
            view[d] = index.shape[d]
            out.append(xp.arange(index.shape[d], dtype=np.int64).reshape(view))
    return tuple(xp.broadcast_arrays(*out))


def _check_same_rank(op, x, index, what="index"):
    if index.ndim != x.ndim:
        raise ShapeError(f"{op}: {what} of shape {tuple(index.shape)} must have as many "
                         f"dimensions as the input of shape {x.shape} ({x.ndim})")


def _torch_positions(op, x, axis, index):
    """torch's gather/scatter rule: index has x's rank, and index.size(d) <= x.size(d) for
    every d != axis (only the leading part of x is addressed there)."""
    _check_same_rank(op, x, index)
    for d in range(x.ndim):
        if d != axis and index.shape[d] > x.shape[d]:
            raise ShapeError(f"{op}: index of shape {tuple(index.shape)} is larger than the "
                             f"input of shape {x.shape} at axis {d}; index.size(d) <= "
                             f"input.size(d) for every d != {axis}")
    _check_range(op, index, x.shape[axis], axis, allow_negative=False)
    return _positions(index, axis, x.shape)


def _axis(op, axis, ndim):
    axis = _one_axis(axis, ndim, op)
    return 0 if axis is None else axis


def _at_least_1d(x):
    return x.reshape(1) if x.ndim == 0 else x


# ---- gather and take_along_axis ---------------------------------------------------------------

@accepts(axis="dim")
def gather(x, dim, index):
    """out[i][j][k] = x[index[i][j][k]][j][k] for dim=0 (torch.gather): the output has the
    index's shape. d/dx: g added back at the gathered positions (repeats accumulate)."""
    x = _tensor(x, "gather")
    index = _index_array(index, "gather")
    if x.ndim == 0:
        _axis("gather", dim, 0)
        _check_range("gather", index, 1, 0, allow_negative=False)
        return GetItem(tuple([index.reshape(-1)]))(x.reshape(1)).reshape(index.shape)
    axis = _axis("gather", dim, x.ndim)
    return GetItem(_torch_positions("gather", x, axis, index))(x)


@torch_names
def take_along_axis(x, indices, axis=-1):
    """NumPy's take_along_axis: `indices` broadcasts against x on the other axes; negative
    indices count from the end; axis=None takes from the flattened tensor."""
    x = _tensor(x, "take_along_axis")
    indices = _index_array(indices, "take_along_axis", "indices")
    if axis is None:
        x = x.reshape(-1)
        if indices.ndim != 1:
            raise ShapeError(f"take_along_axis: with axis=None, indices must be 1-D, got shape "
                             f"{tuple(indices.shape)}")
    axis = _axis("take_along_axis", 0 if axis is None else axis, x.ndim)
    x = _at_least_1d(x)
    _check_same_rank("take_along_axis", x, indices, "indices")
    _check_range("take_along_axis", indices, x.shape[axis], axis, allow_negative=True)
    xp = backend.array_module(indices)
    try:
        target = xp.broadcast_shapes(
            tuple(1 if d == axis else n for d, n in enumerate(indices.shape)),
            tuple(1 if d == axis else n for d, n in enumerate(x.shape)))
    except ValueError:
        raise ShapeError(f"take_along_axis: indices of shape {tuple(indices.shape)} do not "
                         f"broadcast against the input of shape {x.shape} (axis {axis} aside)"
                         ) from None
    target = tuple(indices.shape[axis] if d == axis else n for d, n in enumerate(target))
    if x.shape[axis]:
        indices = indices % x.shape[axis]  # NumPy's negative indices
    indices = xp.broadcast_to(indices, target)
    if any(target[d] != x.shape[d] for d in range(x.ndim) if d != axis):
        x = x.broadcast_to(tuple(x.shape[axis] if d == axis else n
                                 for d, n in enumerate(target)))
    return GetItem(_positions(indices, axis, x.shape))(x)


# ---- scatter, scatter_add and put_along_axis --------------------------------------------------

class Scatter(Function):
    """out = x with out[positions] = src (the last of repeated positions wins, as NumPy's
    assignment; torch leaves repeats unspecified). d/dx: g with the written positions
    zeroed; d/dsrc: g at the positions (a gather)."""

    def __init__(self, positions):
        self.positions = positions

    def forward(self, x, src):
        out = x.copy()
        out[self.positions] = src
        return out

    def backward(self, g):
        from ..tensor import Tensor

        grads = [None, None]
        if self.needs_input_grad[0]:
            xp = backend.array_module(g.data)
            keep = xp.ones(self.inputs[0].shape, dtype=g.dtype)
            keep[self.positions] = 0
            grads[0] = g * Tensor(keep)
        if self.needs_input_grad[1]:
            grads[1] = GetItem(self.positions)(g)
        return tuple(grads)


def _source(op, src, x, shape):
    """src as a tensor of `shape` (the index's): a number fills it; a tensor must be at least
    that large on every axis, and its leading part is used (torch's rule)."""
    from ..tensor import Tensor, as_tensor

    if not isinstance(src, Tensor):
        if isinstance(src, (numbers.Number, np.generic)) and not isinstance(src, (list, tuple)):
            return as_tensor(src, like=x, name=op).broadcast_to(shape)
        src = as_tensor(src, name=op)
    if src.ndim != len(shape):
        raise ShapeError(f"{op}: src of shape {src.shape} must have as many dimensions as the "
                         f"index of shape {shape}")
    if any(s < n for s, n in zip(src.shape, shape)):
        raise ShapeError(f"{op}: src of shape {src.shape} is smaller than the index of shape "
                         f"{shape}; src.size(d) >= index.size(d) for every d")
    if src.shape != shape:
        src = src[tuple(slice(0, n) for n in shape)]
    if src.dtype != x.dtype:
        src = src.astype(x.dtype)
    return src


def _scatter(op, x, dim, index, src, add):
    x = _tensor(x, op)
    index = _index_array(index, op)
    if x.ndim == 0:
        raise ShapeError(f"{op}: the input must have at least one dimension, got a 0-d tensor")
    axis = _axis(op, dim, x.ndim)
    positions = _torch_positions(op, x, axis, index)
    src = _source(op, src, x, tuple(index.shape))
    if add:
        return x + IndexAdd(positions, x.shape)(src)
    return Scatter(positions)(x, src)


@accepts(axis="dim")
def scatter(x, dim, index, src=None, value=None):
    """A copy of x with x[index[i][j]][j] = src[i][j] for dim=0 (torch.scatter, out of place).
    src may be a tensor or a number (torch's value=)."""
    if (src is None) == (value is None):
        raise TypeError("scatter: give exactly one of src (a tensor or number) and value")
    return _scatter("scatter", x, dim, index, value if src is None else src, add=False)


@accepts(axis="dim")
def scatter_add(x, dim, index, src):
    """A copy of x with src[i][j] added at x[index[i][j]][j] for dim=0; repeated indices add up
    (torch.scatter_add, out of place). d/dx = g, d/dsrc = gather(g, dim, index)."""
    return _scatter("scatter_add", x, dim, index, src, add=True)


@torch_names
def put_along_axis(x, indices, values, axis):
    """NumPy's put_along_axis spelling, out of place: a copy of x with `values` (broadcast
    against `indices`) written at take_along_axis's positions. Returns the new tensor."""
    x = _tensor(x, "put_along_axis")
    indices = _index_array(indices, "put_along_axis", "indices")
    if axis is None:
        flat = put_along_axis(x.reshape(-1), indices, values, 0)
        return flat.reshape(x.shape)
    x1 = _at_least_1d(x)
    axis = _axis("put_along_axis", axis, x1.ndim)
    _check_same_rank("put_along_axis", x1, indices, "indices")
    _check_range("put_along_axis", indices, x1.shape[axis], axis, allow_negative=True)
    xp = backend.array_module(indices)
    try:
        target = xp.broadcast_shapes(
            tuple(1 if d == axis else n for d, n in enumerate(indices.shape)),
            tuple(1 if d == axis else n for d, n in enumerate(x1.shape)))
    except ValueError:
        target = None
    if target is None or any(target[d] != x1.shape[d] for d in range(x1.ndim) if d != axis):
        raise ShapeError(f"put_along_axis: indices of shape {tuple(indices.shape)} do not "
                         f"broadcast to the input of shape {x1.shape} (axis {axis} aside)")
    target = tuple(indices.shape[axis] if d == axis else n for d, n in enumerate(target))
    if x1.shape[axis]:
        indices = indices % x1.shape[axis]
    indices = xp.broadcast_to(indices, target)
    from ..tensor import Tensor, as_tensor
    values = values if isinstance(values, Tensor) else as_tensor(values, like=x1,
                                                                 name="put_along_axis")
    try:
        values = values.broadcast_to(target)
    except ShapeError:
        raise ShapeError(f"put_along_axis: values of shape {values.shape} do not broadcast to "
                         f"the indices' shape {target}") from None
    if values.dtype != x1.dtype:
        values = values.astype(x1.dtype)
    out = Scatter(_positions(indices, axis, x1.shape))(x1, values)
    return out.reshape(x.shape)


# ---- sort, argsort, topk ----------------------------------------------------------------------

def _sort_indices(a, axis, descending, stable):
    """int64 indices that sort `a` along `axis`. Ties keep their order with stable=True, also
    descending (the reversed array is sorted ascending, stably, and the result reversed)."""
    xp = backend.array_module(a)
    kind = "stable" if stable else None
    if not descending:
        return xp.argsort(a, axis=axis, kind=kind).astype(np.int64, copy=False)
    n = a.shape[axis]
    order = xp.argsort(xp.flip(a, axis=axis), axis=axis, kind="stable")
    return (n - 1 - xp.flip(order, axis=axis)).astype(np.int64, copy=False)


@_named("sort")
def sort(x, axis=-1, descending=False, stable=False):
    """(values, indices) sorted along `axis` (ascending unless descending=True); NaN counts as
    the largest value. The values are a gather of x, so their gradient scatters back."""
    from ..tensor import Tensor

    x = _tensor(x, "sort")
    if x.ndim == 0:
        _axis("sort", axis, 0)
        return x * 1 if x.dtype.kind in "fc" else x, Tensor(np.zeros((), dtype=np.int64))
    axis = _axis("sort", axis, x.ndim)
    indices = _sort_indices(x.data, axis, descending, stable)
    return GetItem(_positions(indices, axis, x.shape))(x), Tensor(indices)


@_named("argsort")
def argsort(x, axis=-1, descending=False, stable=False):
    """The int64 indices that sort x along `axis` (sort's second result)."""
    return sort(x, axis, descending, stable)[1]


@_named("topk")
def topk(x, k, axis=-1, largest=True, sorted=True):
    """(values, indices) of the k largest (largest=False: smallest) entries along `axis`,
    in sorted order (sorted=False is allowed and gives them sorted too)."""
    from ..tensor import Tensor

    x = _tensor(x, "topk")
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise TypeError(f"topk: k must be an int, got {_describe(k)}")
    size = 1 if x.ndim == 0 else x.shape[_axis("topk", axis, x.ndim)]
    if not 0 <= k <= size:
        raise IndexOutOfRangeError(f"topk: k={k} is out of range for an axis of size {size} "
                                   f"(expected 0 .. {size})")
    if x.ndim == 0:
        _axis("topk", axis, 0)
        return sort(x)
    axis = _axis("topk", axis, x.ndim)
    indices = _sort_indices(x.data, axis, descending=largest, stable=True)
    indices = indices[tuple(slice(0, k) if d == axis else slice(None) for d in range(x.ndim))]
    return GetItem(_positions(indices, axis, x.shape))(x), Tensor(indices)


# ---- masked_fill, nonzero, one_hot ------------------------------------------------------------

def masked_fill(x, mask, value):
    """x with `value` where the boolean `mask` (broadcast to x's shape) is True. value: a number
    or a 0-d tensor (differentiable). d/dx = g where the mask is False, 0 where it is True."""
    from ..tensor import Tensor, as_array
    from ..creation import where

    x = _tensor(x, "masked_fill")
    raw = mask.data if isinstance(mask, Tensor) else as_array(mask, name="masked_fill")
    if raw.dtype.kind != "b":
        raise TypeError(f"masked_fill: the mask must be a boolean tensor, got dtype {raw.dtype}")
    try:
        shape = np.broadcast_shapes(raw.shape, x.shape)
    except ValueError:
        shape = None
    if shape != x.shape:
        raise ShapeError(f"masked_fill: the mask of shape {tuple(raw.shape)} does not broadcast "
                         f"to the input's shape {x.shape}")
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise ShapeError(f"masked_fill: value must be a number or a 0-d tensor, got shape "
                             f"{value.shape}")
        if value.dtype != x.dtype:
            value = value.astype(x.dtype)
    elif not isinstance(value, (numbers.Number, np.generic)):
        raise TypeError(f"masked_fill: value must be a number or a 0-d tensor, got "
                        f"{_describe(value)}")
    out = where(raw, value, x)
    return out if out.dtype == x.dtype else out.astype(x.dtype)


def nonzero(x, as_tuple=False):
    """The indices of the non-zero elements: an (n, ndim) int64 tensor (torch), or with
    as_tuple=True one 1-D int64 tensor per axis (NumPy's nonzero; a 0-d input counts as 1-D)."""
    from ..tensor import Tensor

    x = _tensor(x, "nonzero")
    xp = backend.array_module(x.data)
    if as_tuple:
        return tuple(Tensor(i.astype(np.int64, copy=False))
                     for i in xp.nonzero(xp.atleast_1d(x.data)))
    return Tensor(xp.argwhere(x.data).astype(np.int64, copy=False))


def one_hot(indices, num_classes=-1):
    """(..., num_classes) int64 with a 1 at each index (num_classes=-1: max index + 1)."""
    from ..tensor import Tensor

    array = _index_array(indices, "one_hot", "indices")
    if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral):
        raise TypeError(f"one_hot: num_classes must be an int, got {_describe(num_classes)}")
    if num_classes == -1:
        if array.size == 0:
            raise ShapeError("one_hot: cannot infer num_classes from an empty tensor; give "
                             "num_classes")
        num_classes = int(array.max()) + 1
    if num_classes < 0:
        raise ShapeError(f"one_hot: num_classes must be >= 0 (or -1 to infer it), got "
                         f"{num_classes}")
    if array.size and (int(array.min()) < 0 or int(array.max()) >= num_classes):
        bad = int(array.min()) if int(array.min()) < 0 else int(array.max())
        raise IndexOutOfRangeError(f"one_hot: class index {bad} is out of range for "
                                   f"num_classes={num_classes} (expected 0 .. {num_classes - 1})")
    xp = backend.array_module(array)
    return Tensor((array[..., None] == xp.arange(num_classes)).astype(np.int64))


__all__ = ["gather", "take_along_axis", "scatter", "scatter_add", "put_along_axis", "sort",
           "argsort", "topk", "masked_fill", "nonzero", "one_hot"]
