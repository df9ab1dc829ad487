"""The ops behind in-place updates while a graph is recorded, and copies.

An in-place op on a tensor in a graph is recorded as its out-of-place twin (Tensor._in_place):
`x[index] = v` is SetItem, `x += y` is Add, ... Their gradients:

    SetItem:  d/dx = g with g[index] zeroed (those entries were overwritten)
              d/dv = g[index], summed to v's shape (v was broadcast into x[index])
    Clone:    d/dx = g
"""
from ...errors import IndexOutOfRangeError, ShapeError
from .. import backend
from ..function import Function
from .shape import GetItem, _index_on_device, _raw_index


class SetItem(Function):
    """A copy of x with x[index] = v (v broadcast to x[index] and cast to x's dtype).

    With repeated integer indices the last write wins in the forward pass (NumPy's rule), while
    the gradient reaches v at every repeat; like torch, a repeated index has no defined
    gradient."""

    def __init__(self, index):
        self.index = _raw_index(index)

    def forward(self, a, v):
        self.index = _index_on_device(self.index, a)
        out = a.copy()
        try:
            out[self.index] = v
        except IndexError as exc:
            raise IndexOutOfRangeError(f"setitem: indexing a tensor of shape {a.shape}: "
                                       f"{exc}") from None
        except ValueError as exc:
            raise ShapeError(f"setitem: cannot assign a value of shape {v.shape} to a tensor "
                             f"of shape {a.shape}: {exc}") from None
        return out

    def backward(self, g):
        x, v = self.inputs
        gx = gv = None
        if self.needs_input_grad[0]:
            zero = g.xp.zeros((), dtype=g.dtype)
            gx = SetItem(self.index)(g, zero)
        if self.needs_input_grad[1]:
            gv = GetItem(self.index)(g)
            if gv.ndim < v.ndim:  # NumPy lets v carry extra leading axes of size 1
                gv = gv.reshape((1,) * (v.ndim - gv.ndim) + gv.shape)
        return gx, gv


class Clone(Function):
    """A C-contiguous copy; the gradient passes through unchanged."""

    def forward(self, a):
        return backend.array_module(a).array(a, copy=True, order="C")

    def backward(self, g):
        return g
