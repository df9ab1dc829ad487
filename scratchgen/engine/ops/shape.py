"""Ops that move values around without arithmetic. Each backward moves the gradient back:
reshape undoes reshape, transpose applies the inverse permutation, indexing scatters."""
from ...errors import IndexOutOfRangeError, ShapeError
from .. import backend
from ..function import Function
from .reduce import normalize_axes, sum_to


class Reshape(Function):
    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, a):
        try:
            return a.reshape(self.shape)
        except ValueError:
            raise ShapeError(f"reshape: cannot reshape a tensor of shape {a.shape} "
                             f"({a.size} elements) into {self.shape}") from None

    def backward(self, g):
        return Reshape(self.inputs[0].shape)(g)


class Transpose(Function):
    """Permute axes (reverse them when axes is None, like NumPy)."""

    def __init__(self, axes=None):
        self.axes = axes

    def forward(self, a):
        axes = tuple(reversed(range(a.ndim))) if self.axes is None else self.axes
        if sorted(ax % max(a.ndim, 1) for ax in axes) != list(range(a.ndim)):
            raise ShapeError(f"transpose: axes {axes} are not a permutation of the "
                             f"{a.ndim} axes of a tensor of shape {a.shape}")
        self.perm = tuple(ax % a.ndim for ax in axes)
        return a.transpose(self.perm)

    def backward(self, g):
        inverse = [0] * len(self.perm)
        for i, p in enumerate(self.perm):
            inverse[p] = i
        return Transpose(tuple(inverse))(g)


def swapaxes(x, a, b):
    axes = list(range(x.ndim))
    axes[a], axes[b] = axes[b], axes[a]
    return Transpose(tuple(axes))(x)


class BroadcastTo(Function):
    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, a):
        try:
            return backend.array_module(a).broadcast_to(a, self.shape)
        except ValueError:
            raise ShapeError(f"broadcast_to: cannot broadcast shape {a.shape} to "
                             f"{self.shape}") from None

    def backward(self, g):
        return sum_to(g, self.inputs[0].shape)


def squeeze(x, axis=None):
    if axis is None:
        axes = tuple(i for i, n in enumerate(x.shape) if n == 1)
    else:
        axes = normalize_axes(axis, x.ndim)
        for a in axes:
            if x.shape[a] != 1:
                raise ShapeError(f"squeeze: axis {a} of shape {x.shape} has size "
                                 f"{x.shape[a]}, not 1")
    return Reshape(tuple(n for i, n in enumerate(x.shape) if i not in axes))(x)


def unsqueeze(x, axis):
    if not -x.ndim - 1 <= axis <= x.ndim:
        raise ShapeError(f"unsqueeze: axis {axis} is out of range for a tensor with "
                         f"{x.ndim} dimensions (expected {-x.ndim - 1} .. {x.ndim})")
    axis = axis % (x.ndim + 1)
    return Reshape(x.shape[:axis] + (1,) + x.shape[axis:])(x)


def flatten(x, start_axis=0, end_axis=-1):
    """Merge axes start..end (inclusive) into one; flatten() gives a 1-D tensor."""
    if x.ndim == 0:
        return Reshape((1,))(x)
    start, end = start_axis % x.ndim, end_axis % x.ndim
    merged = 1
    for n in x.shape[start:end + 1]:
        merged *= n
    return Reshape(x.shape[:start] + (merged,) + x.shape[end + 1:])(x)


def _raw_index(index):
    """Tensors and lists inside an index become arrays NumPy/CuPy understand."""
    from ..tensor import Tensor

    def convert(i):
        if isinstance(i, Tensor):
            return i.data
        if isinstance(i, list):
            return backend.array_module().asarray(i)
        return i

    return tuple(convert(i) for i in index) if isinstance(index, tuple) else convert(index)


def _index_on_device(index, array):
    """Index arrays must live where the indexed array lives (CuPy will not take NumPy's)."""
    xp = backend.array_module(array)
    if xp is backend.np:
        return index
    move = lambda i: xp.asarray(i) if isinstance(i, backend.np.ndarray) else i
    return tuple(move(i) for i in index) if isinstance(index, tuple) else move(index)


def _is_basic(index):
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, (int, slice)) for i in items)


class GetItem(Function):
    """x[index] with ints, slices (with steps), None, ... and integer arrays."""

    def __init__(self, index):
        self.index = _raw_index(index)

    def forward(self, a):
        self.index = _index_on_device(self.index, a)
        try:
            return a[self.index]
        except IndexError as exc:
            raise IndexOutOfRangeError(f"indexing a tensor of shape {a.shape}: {exc}") from None

    def backward(self, g):
        return IndexAdd(self.index, self.inputs[0].shape)(g)


class IndexAdd(Function):
    """zeros(shape) with g added at `index`; repeated indices accumulate.

    It is the adjoint of x[index], and its own gradient is indexing again."""

    def __init__(self, index, shape):
        self.index, self.shape = index, tuple(shape)

    def forward(self, g):
        xp = backend.array_module(g)
        out = xp.zeros(self.shape, dtype=g.dtype)
        if _is_basic(self.index):
            out[self.index] = g  # basic indexing never repeats an element
        else:
            backend.scatter_add(xp, out, self.index, g)
        return out

    def backward(self, gg):
        return GetItem(self.index)(gg)


class Concatenate(Function):
    def __init__(self, axis=0):
        self.axis = axis

    def forward(self, *arrays):
        if not arrays:
            raise ShapeError("concatenate needs at least one tensor")
        ndim = arrays[0].ndim
        if ndim == 0:
            raise ShapeError("concatenate: zero-dimensional tensors cannot be concatenated")
        axis = normalize_axes(self.axis, ndim)[0]
        for a in arrays:
            if a.ndim != ndim or any(a.shape[i] != arrays[0].shape[i]
                                     for i in range(ndim) if i != axis):
                shapes = ", ".join(str(b.shape) for b in arrays)
                raise ShapeError(f"concatenate along axis {axis}: shapes {shapes} must agree "
                                 "on every other axis")
        self.axis_ = axis
        self.sizes = [a.shape[axis] for a in arrays]
        return backend.array_module(*arrays).concatenate(arrays, axis=axis)

    def backward(self, g):
        grads, start = [], 0
        for size in self.sizes:
            index = (slice(None),) * self.axis_ + (slice(start, start + size),)
            grads.append(g[index])
            start += size
        return tuple(grads)


def concatenate(tensors, axis=0):
    return Concatenate(axis)(*tensors)


def stack(tensors, axis=0):
    tensors = list(tensors)
    if not tensors:
        raise ShapeError("stack needs at least one tensor")
    shapes = {t.shape for t in tensors}
    if len(shapes) > 1:
        raise ShapeError(f"stack: all tensors must have the same shape, got {sorted(shapes)}")
    return concatenate([unsqueeze(t, axis) for t in tensors], axis=axis)


def _pad_pairs(pad_width, ndim):
    """NumPy's pad_width forms: n, (before, after), or one (before, after) per axis."""
    import numpy as np

    pairs = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (ndim, 2))
    if (pairs < 0).any():
        raise ShapeError(f"pad: pad widths must be non-negative, got {pad_width}")
    return tuple((int(b), int(a)) for b, a in pairs)


class Pad(Function):
    """Constant padding with NumPy's pad_width convention; its gradient is the crop."""

    def __init__(self, pad_width, value=0.0):
        self.pad_width, self.value = pad_width, value

    def forward(self, a):
        try:
            self.pairs = _pad_pairs(self.pad_width, a.ndim)
        except ValueError:
            raise ShapeError(f"pad: pad_width {self.pad_width} does not fit a tensor of shape "
                             f"{a.shape}; give n, (before, after), or one pair per axis") from None
        return backend.array_module(a).pad(a, self.pairs, constant_values=self.value)

    def backward(self, g):
        return g[tuple(slice(b, n - a) for (b, a), n in zip(self.pairs, g.shape))]


def pad(x, pad_width, value=0.0):
    return Pad(pad_width, value)(x)
