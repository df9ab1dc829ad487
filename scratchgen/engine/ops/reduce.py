"""Reductions. The gradient of a reduction spreads the output's gradient back over the
axes that were reduced: a sum copies it (broadcast), a max sends it to the winners."""
from ...errors import ShapeError
from .. import backend
from ..function import Function


def normalize_axes(axis, ndim, name="axis"):
    """axis (None, int or tuple, negatives allowed) -> a sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    out = []
    for a in axes:
        if not -max(ndim, 1) <= a < max(ndim, 1):
            raise ShapeError(f"{name} {a} is out of range for a tensor with {ndim} dimensions")
        out.append(a % ndim if ndim else None)
    if ndim == 0:
        return ()  # a 0-d tensor accepts axis 0 or -1, like PyTorch, and has nothing to reduce
    return tuple(sorted(set(out)))


def keepdims_shape(shape, axes):
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def expand_back(g, input_shape, axes):
    """The reduced gradient, reshaped with size-1 reduced axes and broadcast to the input."""
    return g.reshape(keepdims_shape(input_shape, axes)).broadcast_to(input_shape)


class Sum(Function):
    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, a):
        self.axes = normalize_axes(self.axis, a.ndim)
        return a.sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, g):
        return expand_back(g, self.inputs[0].shape, self.axes)


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
    """max over axes. The gradient goes to the maximal entries, split evenly among ties."""

    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def reduce(self, a):
        return a.max(axis=self.axes, keepdims=True)

    def forward(self, a):
        if a.size == 0:
            raise ShapeError(f"{self.name.lower()} of an empty tensor of shape {a.shape}")
        self.axes = normalize_axes(self.axis, a.ndim)
        best = self.reduce(a)
        self.winners = (a == best).astype(a.dtype)
        self.winners /= self.winners.sum(axis=self.axes, keepdims=True)
        return best if self.keepdims else best.reshape(
            tuple(n for i, n in enumerate(a.shape) if i not in self.axes))

    def backward(self, g):
        return expand_back(g, self.inputs[0].shape, self.axes) * self.winners


class Min(Max):
    def reduce(self, a):
        return a.min(axis=self.axes, keepdims=True)


def reduced_count(x, axis):
    count = 1
    for a in normalize_axes(axis, x.ndim):
        count *= x.shape[a]
    return count


def mean(x, axis=None, keepdims=False):
    return Sum(axis, keepdims)(x) / reduced_count(x, axis)


def var(x, axis=None, keepdims=False):
    """Population variance: mean((x - mean(x))^2)."""
    centred = x - mean(x, axis, keepdims=True)
    return mean(centred * centred, axis, keepdims)


def logsumexp(x, axis=None, keepdims=False):
    """log sum exp(x) = m + log sum exp(x - m), with m = max(x) held constant for stability.

    m is a constant shift (the result does not depend on it), so it is detached; that keeps
    the gradient exactly softmax(x), also at second order."""
    from ..tensor import Tensor

    xp = backend.array_module(x.data)
    m = x.data.max(axis=normalize_axes(axis, x.ndim), keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0)  # all -inf rows: shift by 0, result stays -inf
    shifted = (x - Tensor(m)).exp()
    out = Sum(axis, keepdims=True)(shifted).log() + Tensor(m)
    if keepdims:
        return out
    from .shape import Reshape
    return Reshape(tuple(n for i, n in enumerate(x.shape)
                         if i not in normalize_axes(axis, x.ndim)))(out)
