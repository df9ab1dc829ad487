"""Ops that move values around without arithmetic. Each backward moves the gradient back:
reshape undoes reshape, transpose applies the inverse permutation, indexing scatters,
flip flips back, roll rolls back, a diagonal goes back onto the diagonal."""
import functools
import operator

import numpy as np

from ...errors import IndexOutOfRangeError, ShapeError
from .. import backend
from ..function import Function
from ..spelling import rename
from .reduce import normalize_axes, sum_to


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_int(value, op, what):
    """value as a Python int, or a TypeError naming the op, the argument and what it got."""
    if not _is_int(value):
        raise TypeError(f"{op}: {what} must be an integer, got {value!r} "
                        f"({type(value).__name__})")
    return int(value)


def check_ints(values, op, what):
    """An int or a sequence of ints -> a tuple of Python ints."""
    if _is_int(values):
        return (int(values),)
    if not isinstance(values, (tuple, list)):
        raise TypeError(f"{op}: {what} must be an integer or a sequence of integers, got "
                        f"{values!r} ({type(values).__name__})")
    return tuple(check_int(v, op, what) for v in values)


def check_axis(axis, ndim, op, what="axis"):
    """One axis (negatives count from the end) -> its non-negative index."""
    axis = check_int(axis, op, what)
    if not -max(ndim, 1) <= axis < max(ndim, 1):
        raise ShapeError(f"{op}: {what} {axis} is out of range for a tensor with {ndim} "
                         f"dimensions (expected {-max(ndim, 1)} .. {max(ndim, 1) - 1})")
    return axis % max(ndim, 1)


def check_axes(axis, ndim, op):
    """None, an int or a sequence of ints -> sorted non-negative axes (None = all of them)."""
    if axis is None:
        return tuple(range(ndim))
    return tuple(sorted({check_axis(a, ndim, op) for a in check_ints(axis, op, "axis")}))


def accepts(**aliases):
    """Decorator: accept other spellings of keyword arguments (torch's `dims=` for `axis=`)."""
    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            return fn(*args, **rename(fn.__name__, kwargs, aliases))
        return wrapper
    return decorate


def _as_tensor(x):
    from ..tensor import Tensor, as_tensor
    return x if isinstance(x, Tensor) else as_tensor(x)


def check_shape(shape, op, allow_infer=True):
    """Sizes must be integers (else TypeError) >= 0; one may be -1 (inferred) when allow_infer."""
    shape = tuple(shape)
    for n in shape:
        if not _is_int(n):
            raise TypeError(f"{op}: sizes must be integers, got {n!r} ({type(n).__name__}) "
                            f"in {shape}")
        if n < (-1 if allow_infer else 0):
            raise ShapeError(f"{op}: invalid size {n} in {shape}; sizes must be >= 0"
                             + (" (or -1 for one inferred size)" if allow_infer else ""))
    if sum(1 for n in shape if n == -1) > 1:
        raise ShapeError(f"{op}: only one size can be -1 (inferred), got {shape}")
    return tuple(int(n) for n in shape)


class Reshape(Function):
    def __init__(self, shape):
        self.shape = check_shape(shape, "reshape")

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
        self.axes = None if axes is None else check_ints(axes, "transpose", "axes")

    def forward(self, a):
        axes = tuple(reversed(range(a.ndim))) if self.axes is None else self.axes
        if (any(not -a.ndim <= ax < a.ndim for ax in axes)
                or sorted(ax % a.ndim for ax in axes) != list(range(a.ndim))):
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
    a, b = check_axis(a, x.ndim, "swapaxes"), check_axis(b, x.ndim, "swapaxes")
    axes = list(range(x.ndim))
    axes[a], axes[b] = axes[b], axes[a]
    return Transpose(tuple(axes))(x)


class BroadcastTo(Function):
    def __init__(self, shape):
        self.shape = check_shape(shape, "broadcast_to", allow_infer=False)

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
        check_ints(axis, "squeeze", "axis")
        axes = normalize_axes(axis, x.ndim, name="squeeze: axis")
        for a in axes:
            if x.shape[a] != 1:
                raise ShapeError(f"squeeze: axis {a} of shape {x.shape} has size "
                                 f"{x.shape[a]}, not 1")
    return Reshape(tuple(n for i, n in enumerate(x.shape) if i not in axes))(x)


def unsqueeze(x, axis):
    axis = check_int(axis, "unsqueeze", "axis")
    if not -x.ndim - 1 <= axis <= x.ndim:
        raise ShapeError(f"unsqueeze: axis {axis} is out of range for a tensor with "
                         f"{x.ndim} dimensions (expected {-x.ndim - 1} .. {x.ndim})")
    axis = axis % (x.ndim + 1)
    return Reshape(x.shape[:axis] + (1,) + x.shape[axis:])(x)


def flatten(x, start_axis=0, end_axis=-1):
    """Merge axes start..end (inclusive) into one; flatten() gives a 1-D tensor."""
    start = check_axis(start_axis, x.ndim, "flatten", "start axis")
    end = check_axis(end_axis, x.ndim, "flatten", "end axis")
    if start > end:
        raise ShapeError(f"flatten: the start axis {start_axis} comes after the end axis "
                         f"{end_axis} (of a tensor with {x.ndim} dimensions)")
    if x.ndim == 0:
        return Reshape((1,))(x)
    merged = 1
    for n in x.shape[start:end + 1]:
        merged *= n
    return Reshape(x.shape[:start] + (merged,) + x.shape[end + 1:])(x)


def _bad_index(item, position, expected):
    where = "" if position is None else f" (item {position} of the index)"
    raise TypeError(f"indexing a tensor: got {item!r} ({type(item).__name__}){where}; "
                    f"expected {expected}")


_INDEX_KINDS = "an int, a slice, None, ..., or an integer or boolean array/tensor/list"


def _check_slice(item, position):
    for part in (item.start, item.stop, item.step):
        if part is not None:
            try:
                operator.index(part)
            except TypeError:
                _bad_index(item, position, "slice bounds and steps that are integers or None")
    if item.step is not None and operator.index(item.step) == 0:
        where = "" if position is None else f" (item {position} of the index)"
        raise ShapeError(f"indexing a tensor: slice step cannot be zero, got {item}"
                         f"{where}; use a positive or negative step")


def _raw_index(index):
    """Tensors and lists inside an index become arrays NumPy/CuPy understand; anything else
    that is not a valid index (a float, a string, a float array, a zero step) is refused."""
    from ..tensor import Tensor

    def convert(i, position):
        if i is None or i is Ellipsis or isinstance(i, (int, np.integer, bool, np.bool_)):
            return i
        if isinstance(i, slice):
            _check_slice(i, position)
            return i
        if isinstance(i, Tensor):
            array = i.data
        elif isinstance(i, list) or (isinstance(i, tuple) and position is not None):
            try:
                array = np.asarray(i) if i else np.zeros(0, dtype=np.int64)
            except ValueError:
                _bad_index(i, position, _INDEX_KINDS)
        elif hasattr(i, "dtype") and hasattr(i, "shape"):  # a NumPy or CuPy array
            array = i
        else:
            _bad_index(i, position, _INDEX_KINDS)
        if array.dtype.kind not in "iub":
            _bad_index(i, position, f"{_INDEX_KINDS} (this one has dtype {array.dtype})")
        return array

    if isinstance(index, tuple):
        return tuple(convert(i, p) for p, i in enumerate(index))
    return convert(index, None)


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


# ---- issue 9: flips, rolls, triangles, diagonals, repeats, splits, grids -------------------

class Flip(Function):
    """Reverse the order along `axes`; the gradient is flipped back the same way."""

    def __init__(self, axes):
        self.axes = tuple(axes)

    def forward(self, a):
        return backend.array_module(a).flip(a, axis=self.axes) if self.axes else a

    def backward(self, g):
        return Flip(self.axes)(g)


@accepts(dims="axis", dim="axis")
def flip(x, axis=None):
    """Reverse the order of the elements along `axis` (torch's `dims`; None = every axis)."""
    x = _as_tensor(x)
    return Flip(check_axes(axis, x.ndim, "flip"))(x)


class Roll(Function):
    """Shift elements cyclically: out[(i + shift) % n] = a[i]; the gradient rolls back by -shift.
    With axis None the tensor is rolled as if flattened (NumPy's and torch's rule)."""

    def __init__(self, shift, axis):
        self.shift, self.axis = shift, axis

    def forward(self, a):
        return backend.array_module(a).roll(a, self.shift, axis=self.axis)

    def backward(self, g):
        return Roll(tuple(-s for s in self.shift) if isinstance(self.shift, tuple)
                    else -self.shift, self.axis)(g)


@accepts(shifts="shift", dims="axis", dim="axis")
def roll(x, shift, axis=None):
    """Roll by `shift` (torch's `shifts`) along `axis` (torch's `dims`); both may be tuples of
    one length, or an int shift with a tuple of axes (NumPy's broadcasting)."""
    x = _as_tensor(x)
    shifts = check_ints(shift, "roll", "shift")
    if axis is None:
        if len(shifts) != 1:
            raise ShapeError(f"roll: {len(shifts)} shifts {shifts} need as many axes, got none")
        return Roll(shifts[0], None)(x)
    axes = tuple(check_axis(a, x.ndim, "roll") for a in check_ints(axis, "roll", "axis"))
    if len(shifts) == 1:
        shifts = shifts * len(axes)
    if len(shifts) != len(axes):
        raise ShapeError(f"roll: got {len(shifts)} shifts {shifts} for {len(axes)} axes {axes}; "
                         "give one shift per axis")
    return Roll(shifts, axes)(x)


class Triangle(Function):
    """Keep the lower (tril) or upper (triu) triangle of the last two axes, from diagonal k on;
    the gradient is masked the same way (the op is a fixed 0/1 mask)."""

    def __init__(self, k, upper):
        self.k, self.upper = k, upper

    def forward(self, a):
        xp = backend.array_module(a)
        return (xp.triu if self.upper else xp.tril)(a, self.k)

    def backward(self, g):
        return Triangle(self.k, self.upper)(g)


def _triangle(x, k, upper):
    name = "triu" if upper else "tril"
    x = _as_tensor(x)
    k = check_int(k, name, "diagonal k")
    if x.ndim < 2:
        raise ShapeError(f"{name}: needs a tensor with at least 2 dimensions (a batch of "
                         f"matrices), got shape {x.shape}")
    return Triangle(k, upper)(x)


@accepts(diagonal="k")
def tril(x, k=0):
    """Lower triangle of the last two axes: entries (i, j) with j - i <= k, zeros above."""
    return _triangle(x, k, upper=False)


@accepts(diagonal="k")
def triu(x, k=0):
    """Upper triangle of the last two axes: entries (i, j) with j - i >= k, zeros below."""
    return _triangle(x, k, upper=True)


def _diagonal_positions(xp, n, offset):
    """Rows and columns of the n elements of diagonal `offset`: (i, i + offset) for offset >= 0,
    (i - offset, i) below the main diagonal."""
    i = xp.arange(n)
    return i + max(-offset, 0), i + max(offset, 0)


class Diagonal(Function):
    """out[..., i] = a[i + max(-offset, 0), i + max(offset, 0)] over axes (axis1, axis2), which
    are removed; the diagonal becomes the last axis. The gradient is put back on the diagonal."""

    def __init__(self, offset, axis1, axis2):
        self.offset, self.axis1, self.axis2 = offset, axis1, axis2

    def forward(self, a):
        xp = backend.array_module(a)
        return xp.diagonal(a, self.offset, self.axis1, self.axis2).copy()

    def backward(self, g):
        return DiagonalEmbed(self.offset, self.axis1, self.axis2, self.inputs[0].shape)(g)


class DiagonalEmbed(Function):
    """zeros(shape) with g written on the diagonal: the adjoint of Diagonal (and its gradient
    is taking the diagonal again)."""

    def __init__(self, offset, axis1, axis2, shape):
        self.offset, self.axis1, self.axis2, self.shape = offset, axis1, axis2, tuple(shape)

    def forward(self, g):
        xp = backend.array_module(g)
        out = xp.zeros(self.shape, dtype=g.dtype)
        view = xp.moveaxis(out, (self.axis1, self.axis2), (-2, -1))  # a view: writes reach out
        rows, cols = _diagonal_positions(xp, g.shape[-1], self.offset)
        view[..., rows, cols] = g
        return out

    def backward(self, gg):
        return Diagonal(self.offset, self.axis1, self.axis2)(gg)


@accepts(dim1="axis1", dim2="axis2")
def diagonal(x, offset=0, axis1=0, axis2=1):
    """The diagonal `offset` of the matrices over axes (axis1, axis2) (torch's dim1, dim2),
    as the last axis; offset > 0 is above the main diagonal."""
    x = _as_tensor(x)
    offset = check_int(offset, "diagonal", "offset")
    if x.ndim < 2:
        raise ShapeError(f"diagonal: needs a tensor with at least 2 dimensions, got shape "
                         f"{x.shape}")
    a1 = check_axis(axis1, x.ndim, "diagonal", "axis1")
    a2 = check_axis(axis2, x.ndim, "diagonal", "axis2")
    if a1 == a2:
        raise ShapeError(f"diagonal: axis1 and axis2 must be different axes, got {axis1} and "
                         f"{axis2} of a tensor with {x.ndim} dimensions")
    return Diagonal(offset, a1, a2)(x)


@accepts(dims="reps")
def tile(x, reps):
    """Repeat the whole tensor reps[i] times along axis i (NumPy's tile = torch's repeat).

    Built from reshape and broadcast, (n0, n1) -> (1, n0, 1, n1) -> (r0, n0, r1, n1) ->
    (r0 n0, r1 n1), so the gradient sums the copies back."""
    x = _as_tensor(x)
    reps = check_ints(reps, "tile", "reps")
    if any(r < 0 for r in reps):
        raise ShapeError(f"tile: repetitions must be >= 0, got {reps}")
    ndim = max(len(reps), x.ndim)
    shape = (1,) * (ndim - x.ndim) + x.shape
    reps = (1,) * (ndim - len(reps)) + reps
    spread = Reshape(tuple(v for n in shape for v in (1, n)))(x)
    copies = BroadcastTo(tuple(v for r, n in zip(reps, shape) for v in (r, n)))(spread)
    return Reshape(tuple(r * n for r, n in zip(reps, shape)))(copies)


def repeat(x, *sizes):
    """torch's Tensor.repeat: tile with at least one size per axis."""
    x = _as_tensor(x)
    sizes = sizes[0] if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else sizes
    sizes = check_ints(tuple(sizes), "repeat", "sizes")
    if len(sizes) < x.ndim:
        raise ShapeError(f"repeat: got {len(sizes)} sizes {sizes} for a tensor with {x.ndim} "
                         "dimensions; give at least one size per dimension (or use tile)")
    return tile(x, sizes)


@accepts(dim="axis")
def repeat_interleave(x, repeats, axis=None):
    """Repeat each element `repeats` times along `axis` (NumPy's repeat; None = flattened
    first). repeats: an int, or one count per element. The gradient sums each run back."""
    from ..tensor import Tensor

    x = _as_tensor(x)
    if axis is None:
        x, axis = flatten(x), 0
    axis = check_axis(axis, x.ndim, "repeat_interleave")
    n = x.shape[axis]
    counts = backend.to_numpy(repeats.data) if isinstance(repeats, Tensor) else repeats
    counts = np.asarray(counts)
    if counts.dtype.kind not in "iu" or counts.ndim > 1:
        raise ShapeError(f"repeat_interleave: repeats must be an integer or a 1-D sequence of "
                         f"integers, got {repeats!r}")
    if (counts < 0).any() or counts.size not in (1, n) and counts.ndim == 1:
        raise ShapeError(f"repeat_interleave: repeats must be >= 0 and give one count per "
                         f"element ({n} along axis {axis}) or one for all, got {counts.tolist()}")
    index = np.repeat(np.arange(n), counts.reshape(-1) if counts.size != 1 else int(counts.sum()))
    return GetItem((slice(None),) * axis + (index,))(x)


def _pieces(x, sizes, axis):
    pieces, start = [], 0
    for size in sizes:
        pieces.append(GetItem((slice(None),) * axis + (slice(start, start + size),))(x))
        start += size
    return tuple(pieces)


@accepts(dim="axis", split_size="split_size_or_sections")
def split(x, split_size_or_sections, axis=0):
    """torch's split: an int gives pieces of that size (the last may be smaller); a list gives
    the size of each piece (they must add up to the axis). (NumPy's split means sections.)"""
    x = _as_tensor(x)
    axis = check_axis(axis, x.ndim, "split")
    n = x.shape[axis]
    if _is_int(split_size_or_sections):
        size = int(split_size_or_sections)
        if size <= 0 and n > 0:
            raise ShapeError(f"split: the piece size must be positive, got {size}")
        sizes = [size] * (n // size) + ([n % size] if n % size else []) if n else [0]
    else:
        sizes = list(check_ints(split_size_or_sections, "split", "sizes"))
        if any(s < 0 for s in sizes) or sum(sizes) != n:
            raise ShapeError(f"split: sizes {sizes} must be >= 0 and add up to {n}, the size of "
                             f"axis {axis} of shape {x.shape}")
    return _pieces(x, sizes, axis)


@accepts(dim="axis")
def chunk(x, chunks, axis=0):
    """torch's chunk: pieces of size ceil(n / chunks) (so there may be fewer than chunks)."""
    x = _as_tensor(x)
    chunks = check_int(chunks, "chunk", "chunks")
    if chunks <= 0:
        raise ShapeError(f"chunk: the number of chunks must be positive, got {chunks}")
    axis = check_axis(axis, x.ndim, "chunk")
    n = x.shape[axis]
    if n == 0:
        return _pieces(x, [0] * chunks, axis)
    return split(x, -(-n // chunks), axis)


def meshgrid(*tensors, indexing="ij"):
    """Coordinate grids from 1-D tensors: with indexing "ij" (torch's default) output k varies
    along axis k; with "xy" (NumPy's default) the first two axes are swapped."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ShapeError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    if not tensors:
        raise ShapeError("meshgrid needs at least one tensor")
    tensors = [_as_tensor(t) for t in tensors]
    for i, t in enumerate(tensors):
        if t.ndim > 1:
            raise ShapeError(f"meshgrid: tensor {i} has shape {t.shape}; expected 0-D or 1-D "
                             "tensors")
    axes = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) > 1:
        axes[0], axes[1] = 1, 0
    grid = [0] * len(tensors)
    for t, a in zip(tensors, axes):
        grid[a] = t.size
    out = []
    for t, a in zip(tensors, axes):
        line = Reshape(tuple(t.size if i == a else 1 for i in range(len(grid))))(t)
        out.append(BroadcastTo(tuple(grid))(line))
    return tuple(out)
