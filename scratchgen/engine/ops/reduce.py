"""Reductions and scans. The gradient of a reduction spreads the output's gradient back over
the axes that were reduced: a sum copies it (broadcast), a max sends it to the winners, a
product multiplies it by the product of the other factors. A scan's gradient is the scan run
the other way: cumsum's is a reversed cumsum.

The public functions take NumPy's names (`axis`, `keepdims`, `ddof`) and PyTorch's (`dim`,
`keepdim`, `correction`). Python's builtins `sum max min any all` keep their meaning in this
module: the functions with those names are defined as `sum_` ... and exported as `sg.sum` ...
"""
import builtins
import numbers

import numpy as np

from ...errors import ShapeError
from .. import backend
from ..function import Function
from ..spelling import torch_names


def normalize_axes(axis, ndim, name="axis", op=None):
    """axis (None, int or tuple, negatives allowed) -> a sorted tuple of non-negative axes.

    `op` (the op's name) starts the error messages; floats, bools and other non-integers are
    refused with a TypeError, axes out of range with a ShapeError."""
    if axis is None:
        return tuple(range(ndim))
    prefix = f"{op}: " if op else ""
    if isinstance(axis, (list, tuple, range)) or getattr(axis, "ndim", 0) == 1:
        axes = tuple(axis)
    else:
        axes = (axis,)
    out = []
    for a in axes:
        if type(a) is not int and _not_an_integer(a):
            got = f"{type(a).__name__} {a!r}" if len(repr(a)) < 40 else type(a).__name__
            raise TypeError(f"{prefix}{name} must be an int or a tuple of ints, got {got}")
        if not -max(ndim, 1) <= a < max(ndim, 1):
            raise ShapeError(f"{prefix}{name} {a} is out of range for a tensor with {ndim} "
                             f"dimensions (expected {-max(ndim, 1)} to {max(ndim, 1) - 1})")
        out.append(int(a) % ndim if ndim else None)
    if ndim == 0:
        return ()  # a 0-d tensor accepts axis 0 or -1, like PyTorch, and has nothing to reduce
    return tuple(sorted(set(out)))


def _not_an_integer(a):
    import numbers

    return isinstance(a, bool) or not isinstance(a, numbers.Integral)


def keepdims_shape(shape, axes):
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def expand_back(g, input_shape, axes):
    """The reduced gradient, reshaped with size-1 reduced axes and broadcast to the input."""
    return g.reshape(keepdims_shape(input_shape, axes)).broadcast_to(input_shape)


def _like_input(grad, x):
    """A gradient in the input's dtype (a reduction with dtype= may have computed in another)."""
    return grad if grad.dtype == x.dtype else grad.astype(x.dtype)


def _accumulate_dtype(dtype, requested, op):
    """The dtype a sum, product or scan computes in: `requested` if given, else int64 for
    booleans and signed integers (as NumPy and torch), else the input's dtype."""
    if requested is not None:
        from ..tensor import check_dtype
        return check_dtype(requested, op)
    if dtype.kind in "bi":
        return np.dtype(np.int64)
    return None


def _one_axis(axis, ndim, op):
    """A single axis (scans, argmax, sort): an int, negatives allowed -> 0 .. ndim-1
    (None for a 0-d tensor)."""
    if isinstance(axis, (tuple, list)):
        raise TypeError(f"{op}: axis must be one int, got {axis!r}; {op} works along one axis")
    axes = normalize_axes(axis, ndim, op=op)
    return axes[0] if axes else None


class Sum(Function):
    def __init__(self, axis=None, keepdims=False, dtype=None, op="sum"):
        self.axis, self.keepdims, self.dtype, self.op = axis, keepdims, dtype, op

    def forward(self, a):
        self.axes = normalize_axes(self.axis, a.ndim, op=self.op)
        dtype = _accumulate_dtype(a.dtype, self.dtype, self.op)
        return a.sum(axis=self.axes, keepdims=self.keepdims, dtype=dtype)

    def backward(self, g):
        x = self.inputs[0]
        return _like_input(expand_back(g, x.shape, self.axes), x)


class SumTo(Function):
    """Sum a broadcast array back down to `shape` (the adjoint of broadcast_to)."""

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, a):
        lead = a.ndim - len(self.shape)
        if lead < 0:
            raise ShapeError(f"sum_to: cannot reduce shape {a.shape} to the longer {self.shape}")
        stretched = tuple(lead + i for i, n in enumerate(self.shape)
                          if n == 1 and a.shape[lead + i] != 1)
        out = a.sum(axis=tuple(range(lead)) + stretched, keepdims=True)
        return out.reshape(self.shape)

    def backward(self, g):
        from .shape import BroadcastTo
        return BroadcastTo(self.inputs[0].shape)(g)


def sum_to(x, shape):
    return x if x.shape == tuple(shape) else SumTo(shape)(x)


class Max(Function):
    """max over axes. The gradient goes to the maximal entries, split evenly among ties.

    Integer and boolean tensors reduce too (they carry no gradient)."""

    def __init__(self, axis=None, keepdims=False, op=None):
        self.axis, self.keepdims, self.op = axis, keepdims, op

    def reduce(self, a):
        return a.max(axis=self.axes, keepdims=True)

    def forward(self, a):
        op = self.op or self.name.lower()
        self.axes = normalize_axes(self.axis, a.ndim, op=op)
        if a.size == 0 or builtins.any(a.shape[i] == 0 for i in self.axes):
            raise ShapeError(f"{op}: cannot reduce an empty tensor of shape {a.shape} over "
                             f"axes {self.axes}; there is no maximum or minimum of nothing")
        best = self.reduce(a)
        if a.dtype.kind in "fc":  # only floating tensors have gradients: the winners' shares
            winners = (a == best).astype(a.dtype)
            self.winners = winners / winners.sum(axis=self.axes, keepdims=True)
        return best if self.keepdims else best.reshape(
            tuple(n for i, n in enumerate(a.shape) if i not in self.axes))

    def backward(self, g):
        from ..tensor import Tensor
        return expand_back(g, self.inputs[0].shape, self.axes) * Tensor(self.winners)


class Min(Max):
    def reduce(self, a):
        return a.min(axis=self.axes, keepdims=True)


def reduced_count(x, axis):
    count = 1
    for a in normalize_axes(axis, x.ndim):
        count *= x.shape[a]
    return count


def _tensor(x, op):
    from ..tensor import Tensor, as_tensor
    return x if isinstance(x, Tensor) else as_tensor(x, name=op)


def _named(name):
    """Decorator: the function is known as `name` (in messages) and takes torch's names."""
    def decorate(fn):
        fn.__name__ = fn.__qualname__ = name
        return torch_names(fn)
    return decorate


@_named("sum")
def sum_(x, axis=None, keepdims=False, dtype=None):
    """sum over `axis` (None = every axis). Booleans and integers sum to int64 unless `dtype`
    says otherwise; dtype=np.float64 sums a float32 tensor in float64. d/dx_i sum x = 1."""
    return Sum(axis, keepdims, dtype)(_tensor(x, "sum"))


@_named("mean")
def mean(x, axis=None, keepdims=False, dtype=None):
    """sum / count. Booleans and integers average in the default float dtype (float32)."""
    x = _tensor(x, "mean")
    total = Sum(axis, keepdims, dtype, "mean")(x)
    if total.dtype.kind not in "fc":
        from ..tensor import DEFAULT_FLOAT
        total = total.astype(DEFAULT_FLOAT)
    return total / reduced_count(x, axis)


def _ddof(op, ddof, correction, unbiased):
    """The one degrees-of-freedom correction given as ddof= (NumPy), correction= (torch) or
    unbiased= (older torch); 0 when none is given (NumPy's default)."""
    given = [(n, v) for n, v in (("ddof", ddof), ("correction", correction),
                                 ("unbiased", unbiased)) if v is not None]
    if len(given) > 1:
        raise TypeError(f"{op}: got both {given[0][0]}= and {given[1][0]}= (the same correction "
                        "under NumPy's and PyTorch's names); give one of them")
    if not given:
        return 0
    name, value = given[0]
    if name == "unbiased":
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{op}: unbiased must be True or False, got {value!r}")
        return 1 if value else 0
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{op}: {name} must be a number (the divisor is N - {name}), got "
                        f"{value!r} ({type(value).__name__})")
    return value


@_named("var")
def var(x, axis=None, keepdims=False, ddof=None, correction=None, unbiased=None):
    """sum((x - mean x)^2) / (N - ddof). ddof=0 (the default, NumPy's) is the population
    variance; ddof=1 (torch's default, correction=1 or unbiased=True) the sample variance.
    N - ddof <= 0 gives inf or nan, as in NumPy and torch."""
    return _variance(x, axis, keepdims, ddof, correction, unbiased, "var")


def _variance(x, axis, keepdims, ddof, correction, unbiased, op):
    x = _tensor(x, op)
    normalize_axes(axis, x.ndim, op=op)
    ddof = _ddof(op, ddof, correction, unbiased)
    centred = x - mean(x, axis, keepdims=True)
    squares = Sum(axis, keepdims)(centred * centred)
    with np.errstate(divide="ignore", invalid="ignore"):
        return squares / builtins.max(reduced_count(x, axis) - ddof, 0)


@_named("std")
def std(x, axis=None, keepdims=False, ddof=None, correction=None, unbiased=None):
    """sqrt(var(x)), with var's ddof / correction / unbiased (default ddof=0, NumPy's)."""
    return _variance(x, axis, keepdims, ddof, correction, unbiased, "std").sqrt()


@_named("max")
def max_(x, axis=None, keepdims=False):
    """The largest values over `axis` (NumPy's max: values only; torch.amax)."""
    return Max(axis, keepdims)(_tensor(x, "max"))


@_named("min")
def min_(x, axis=None, keepdims=False):
    """The smallest values over `axis` (NumPy's min: values only; torch.amin)."""
    return Min(axis, keepdims)(_tensor(x, "min"))


@_named("amax")
def amax(x, axis=None, keepdims=False):
    return Max(axis, keepdims, "amax")(_tensor(x, "amax"))


@_named("amin")
def amin(x, axis=None, keepdims=False):
    return Min(axis, keepdims, "amin")(_tensor(x, "amin"))


def _logsumexp(x, axis=None, keepdims=False):
    """log sum exp(x) = m + log sum exp(x - m), with m = max(x) held constant for stability.

    m is a constant shift (the result does not depend on it), so it is detached; that keeps
    the gradient exactly softmax(x), also at second order."""
    from ..tensor import Tensor

    x = _tensor(x, "logsumexp")
    axes = normalize_axes(axis, x.ndim, op="logsumexp")
    xp = backend.array_module(x.data)
    if x.size == 0:
        return Sum(axes, keepdims)(x.exp()).log()
    m = x.data.max(axis=axes, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0)  # all -inf rows: shift by 0, result stays -inf
    shifted = (x - Tensor(m)).exp()
    out = Sum(axes, keepdims=True)(shifted).log() + Tensor(m)
    if keepdims:
        return out
    from .shape import Reshape
    return Reshape(tuple(n for i, n in enumerate(x.shape) if i not in axes))(out)


logsumexp = _named("logsumexp")(_logsumexp)


# ---- products --------------------------------------------------------------------------------

def _zero_free(x):
    return not bool(backend.array_module(x.data).any(x.data == 0))


def _others_along_last(xt):
    """For (..., n): out[..., j] = prod_{k != j} xt[..., k], built from differentiable ops (a
    (..., n, n) tensor with ones on the diagonal), so it is exact with zeros in xt."""
    from ..tensor import Tensor

    n = xt.shape[-1]
    xp = backend.array_module(xt.data)
    eye = xp.eye(n, dtype=xt.dtype)
    rows = xt.unsqueeze(-2) * Tensor(1 - eye) + Tensor(eye)   # (..., j, k): x_k, 1 at k == j
    return Prod(-1, False)(rows)


def _prod_of_others(x, axes):
    """d prod(x) / d x_i = the product of the other factors over `axes` (zeros allowed)."""
    from .shape import Transpose

    kept = [i for i in range(x.ndim) if i not in axes]
    perm = tuple(kept) + tuple(axes)
    moved = Transpose(perm)(x)
    lead = moved.shape[:len(kept)]
    others = _others_along_last(moved.reshape(lead + (-1,)))
    inverse = tuple(int(i) for i in np.argsort(perm))
    return Transpose(inverse)(others.reshape(moved.shape))


class Prod(Function):
    """prod over axes. d/dx_i prod x = prod_{k != i} x_k: g * prod / x_i when no factor is 0,
    else the product of the others, computed directly (exact with zeros, at every order)."""

    def __init__(self, axis=None, keepdims=False, dtype=None):
        self.axis, self.keepdims, self.dtype = axis, keepdims, dtype

    def forward(self, a):
        self.axes = normalize_axes(self.axis, a.ndim, op="prod")
        dtype = _accumulate_dtype(a.dtype, self.dtype, "prod")
        return a.prod(axis=self.axes, keepdims=self.keepdims, dtype=dtype)

    def backward(self, g):
        x = self.inputs[0]
        if not self.axes:
            return _like_input(g, x)
        upstream = expand_back(g, x.shape, self.axes)
        if _zero_free(x):
            product = expand_back(self.output, x.shape, self.axes)
            return _like_input(upstream * product / x, x)
        return _like_input(upstream * _prod_of_others(x, self.axes), x)


@_named("prod")
def prod(x, axis=None, keepdims=False, dtype=None):
    """The product over `axis` (None = every axis); booleans and integers multiply in int64."""
    return Prod(axis, keepdims, dtype)(_tensor(x, "prod"))


# ---- scans -----------------------------------------------------------------------------------

def _scan_input(x, axis, op):
    """(tensor, axis, shape to restore): axis None scans the flattened tensor (NumPy); a 0-d
    tensor scans as one element and stays 0-d (torch)."""
    x = _tensor(x, op)
    if axis is None:
        return x.reshape(-1), 0, None
    axis = _one_axis(axis, x.ndim, op)
    if axis is None:  # 0-d
        return x.reshape(1), 0, ()
    return x, axis, None


def _scan_output(out, restore):
    return out if restore is None else out.reshape(restore)


def _flip(xp, a, axis):
    return xp.flip(a, axis=axis)


class Cumsum(Function):
    """out_i = sum_{k <= i} x_k along `axis` (reverse=True: sum_{k >= i}). The gradient of a
    cumsum is the reversed cumsum of g, and the other way round."""

    def __init__(self, axis, reverse=False, dtype=None):
        self.axis, self.reverse, self.dtype = axis, reverse, dtype

    def forward(self, a):
        xp = backend.array_module(a)
        dtype = _accumulate_dtype(a.dtype, self.dtype, "cumsum")
        if self.reverse:
            return _flip(xp, xp.cumsum(_flip(xp, a, self.axis), axis=self.axis, dtype=dtype),
                         self.axis)
        return xp.cumsum(a, axis=self.axis, dtype=dtype)

    def backward(self, g):
        return _like_input(Cumsum(self.axis, not self.reverse)(g), self.inputs[0])


@_named("cumsum")
def cumsum(x, axis=None, dtype=None):
    """Running sums along `axis` (None: of the flattened tensor, NumPy's rule)."""
    x, axis, restore = _scan_input(x, axis, "cumsum")
    return _scan_output(Cumsum(axis, dtype=dtype)(x), restore)


class Cumprod(Function):
    """out_i = prod_{k <= i} x_k. d out_i / d x_j = prod_{k <= i, k != j} x_k (i >= j).

    Without zeros the gradient is revcumsum(g * out) / x. With a zero it is computed directly
    from the (..., n, n) running products that leave out one factor each (exact at every
    order; it costs n times the memory, only for inputs holding a zero)."""

    def __init__(self, axis, dtype=None):
        self.axis, self.dtype = axis, dtype

    def forward(self, a):
        dtype = _accumulate_dtype(a.dtype, self.dtype, "cumprod")
        return backend.array_module(a).cumprod(a, axis=self.axis, dtype=dtype)

    def backward(self, g):
        x = self.inputs[0]
        if _zero_free(x):
            return _like_input(Cumsum(self.axis, reverse=True)(g * self.output) / x, x)
        from ..tensor import Tensor
        from .shape import Transpose

        perm = tuple(i for i in range(x.ndim) if i != self.axis) + (self.axis,)
        xt, gt = Transpose(perm)(x), Transpose(perm)(g)
        n = x.shape[self.axis]
        xp = backend.array_module(x.data)
        eye = xp.eye(n, dtype=x.dtype)
        rows = xt.unsqueeze(-2) * Tensor(1 - eye) + Tensor(eye)      # (..., j, k)
        partial = Cumprod(rows.ndim - 1)(rows)       # (..., j, i): prod_{k <= i, k != j} x_k
        later = Tensor(xp.triu(xp.ones((n, n), dtype=x.dtype)))      # i >= j
        grad = Sum(-1)(partial * later * gt.unsqueeze(-2))          # (..., j)
        return _like_input(Transpose(tuple(int(i) for i in np.argsort(perm)))(grad), x)


@_named("cumprod")
def cumprod(x, axis=None, dtype=None):
    """Running products along `axis` (None: of the flattened tensor); exact gradients with zeros."""
    x, axis, restore = _scan_input(x, axis, "cumprod")
    return _scan_output(Cumprod(axis, dtype=dtype)(x), restore)


def _log_cumsum_exp(xp, a, axis, reverse=False):
    """log sum_{k <= i} exp(a_k) (reverse: k >= i) by logaddexp accumulation: no overflow."""
    if reverse:
        return _flip(xp, xp.logaddexp.accumulate(_flip(xp, a, axis), axis=axis), axis)
    return xp.logaddexp.accumulate(a, axis=axis)


class LogCumSumExp(Function):
    """y_i = log sum_{k <= i} exp(x_k), accumulated with logaddexp (stable for any range).
    d y_i / d x_k = exp(x_k - y_i) for k <= i, so the gradient is ExpWeightedScan (reverse)."""

    def __init__(self, axis):
        self.axis = axis

    def forward(self, a):
        return _log_cumsum_exp(backend.array_module(a), a, self.axis)

    def backward(self, g):
        x = self.inputs[0]
        return ExpWeightedScan(self.axis, reverse=True)(x, self.output, g)


class ExpWeightedScan(Function):
    """reverse=True:  out_k = sum_{i >= k} w_i exp(x_k - y_i)   (logcumsumexp's gradient)
       reverse=False: out_i = sum_{k <= i} w_k exp(x_k - y_i)   (its adjoint in w)

    Computed in log space with w split by sign (w = w+ - w-), so exp never overflows:
    out = exp(x + lcse(log w+ - y)) - exp(x + lcse(log w- - y)) (reverse), and likewise.
    Each direction's derivatives are the other direction, so every order is exact."""

    def __init__(self, axis, reverse):
        self.axis, self.reverse = axis, reverse

    def forward(self, x, y, w):
        xp = backend.array_module(x)
        out = xp.zeros(x.shape, dtype=xp.result_type(x, y, w))  # x, y and w share a shape
        with np.errstate(divide="ignore", invalid="ignore"):
            for sign in (1, -1):
                part = xp.where(sign * w > 0, sign * w, 0)
                logs = xp.log(part)
                if self.reverse:
                    out = out + sign * xp.exp(x + _log_cumsum_exp(xp, logs - y, self.axis, True))
                else:
                    out = out + sign * xp.exp(_log_cumsum_exp(xp, logs + x, self.axis) - y)
        return out

    def backward(self, h):
        x, y, w = self.inputs
        other = ExpWeightedScan(self.axis, not self.reverse)(x, y, h)
        out = self.output
        if self.reverse:   # d/dx_k = h_k out_k, d/dy_i = -w_i T_i, d/dw_i = T_i
            return h * out, -(w * other), other
        return w * other, -(h * out), other  # d/dx_k = w_k T_k, d/dy_i = -h_i out_i


@_named("logcumsumexp")
def logcumsumexp(x, axis):
    """log(cumsum(exp(x))) along `axis` (torch's dim, required), computed without overflow."""
    x, axis, restore = _scan_input(_tensor(x, "logcumsumexp"), axis, "logcumsumexp")
    if x.dtype.kind not in "fc":
        from ..tensor import DEFAULT_FLOAT
        x = x.astype(DEFAULT_FLOAT)
    return _scan_output(LogCumSumExp(axis)(x), restore)


# ---- arg-reductions and logical reductions (no gradient) -------------------------------------

def _arg_reduce(x, axis, keepdims, op):
    """argmax / argmin as an int64 Tensor: the first index of the extreme value (NaN wins,
    as in NumPy and torch). axis None: the index into the flattened tensor."""
    from ..tensor import Tensor

    x = _tensor(x, op)
    a = x.data
    xp = backend.array_module(a)
    fn = xp.argmax if op == "argmax" else xp.argmin
    if axis is None:
        if a.size == 0:
            raise ShapeError(f"{op}: cannot take the {op} of an empty tensor of shape {x.shape}")
        out = xp.asarray(fn(a.reshape(-1)), dtype=np.int64)
        return Tensor(out.reshape((1,) * a.ndim) if keepdims else out)
    axis = _one_axis(axis, a.ndim, op)
    if axis is None:  # 0-d
        return Tensor(xp.zeros((), dtype=np.int64))
    if a.shape[axis] == 0:
        raise ShapeError(f"{op}: cannot take the {op} over axis {axis} of length 0 (shape "
                         f"{x.shape})")
    return Tensor(fn(a, axis=axis, keepdims=keepdims).astype(np.int64, copy=False))


@_named("argmax")
def argmax(x, axis=None, keepdims=False):
    """Index of the largest value along `axis` (None: into the flattened tensor); int64."""
    return _arg_reduce(x, axis, keepdims, "argmax")


@_named("argmin")
def argmin(x, axis=None, keepdims=False):
    """Index of the smallest value along `axis` (None: into the flattened tensor); int64."""
    return _arg_reduce(x, axis, keepdims, "argmin")


def _logical(x, axis, keepdims, op):
    from ..tensor import Tensor

    x = _tensor(x, op)
    axes = normalize_axes(axis, x.ndim, op=op)
    xp = backend.array_module(x.data)
    return Tensor(xp.asarray(getattr(xp, op)(x.data, axis=axes, keepdims=keepdims)))


@_named("any")
def any_(x, axis=None, keepdims=False):
    """True where some element over `axis` is non-zero (a bool Tensor)."""
    return _logical(x, axis, keepdims, "any")


@_named("all")
def all_(x, axis=None, keepdims=False):
    """True where every element over `axis` is non-zero (a bool Tensor)."""
    return _logical(x, axis, keepdims, "all")
