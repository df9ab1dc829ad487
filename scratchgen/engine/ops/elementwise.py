"""Elementwise ops. Binary ops broadcast like NumPy; the engine sums each gradient back to
its input's shape (autograd.unbroadcast), so the rules below are written for equal shapes.

Each backward reads like a table of derivatives, one line per input:
    d(a*b)/da = b,   d(a*b)/db = a,   ...
"""
import math

from ...errors import ShapeError
from .. import backend
from ..function import Function


def check_broadcast(name, *arrays):
    shape = arrays[0].shape
    for a in arrays[1:]:
        if a.shape != shape:
            break
    else:
        return shape  # equal shapes: nothing to check
    try:
        return backend.array_module(*arrays).broadcast_shapes(*(a.shape for a in arrays))
    except ValueError:
        shapes = " and ".join(str(tuple(a.shape)) for a in arrays)
        raise ShapeError(f"{name}: shapes {shapes} cannot be broadcast together "
                         "(trailing dimensions must be equal or 1)") from None


class Add(Function):
    def forward(self, a, b):
        check_broadcast("add", a, b)
        return a + b

    def backward(self, g):
        return g, g


class Sub(Function):
    def forward(self, a, b):
        check_broadcast("subtract", a, b)
        return a - b

    def backward(self, g):
        return g, (-g if self.needs_input_grad[1] else None)


class Mul(Function):
    def forward(self, a, b):
        check_broadcast("multiply", a, b)
        return a * b

    def backward(self, g):
        a, b = self.inputs
        ga = g * b if self.needs_input_grad[0] else None
        gb = g * a if self.needs_input_grad[1] else None
        return ga, gb


class Div(Function):
    def forward(self, a, b):
        check_broadcast("divide", a, b)
        return a / b

    def backward(self, g):
        a, b = self.inputs
        ga = g / b if self.needs_input_grad[0] else None
        gb = -g * a / (b * b) if self.needs_input_grad[1] else None
        return ga, gb


class Pow(Function):
    """a ** b. d/da = b a^(b-1); d/db = a^b log a (only computed when b needs a gradient)."""

    def forward(self, a, b):
        check_broadcast("power", a, b)
        return a ** b

    def backward(self, g):
        a, b = self.inputs
        ga = g * b * a ** (b - 1) if self.needs_input_grad[0] else None
        gb = g * self.output * a.log() if self.needs_input_grad[1] else None
        return ga, gb


class Neg(Function):
    def forward(self, a):
        return -a

    def backward(self, g):
        return -g


class Exp(Function):
    def forward(self, a):
        return backend.array_module(a).exp(a)

    def backward(self, g):
        return g * self.output  # d e^a / da = e^a


class Log(Function):
    def forward(self, a):
        return backend.array_module(a).log(a)

    def backward(self, g):
        (a,) = self.inputs
        return g / a


class Sqrt(Function):
    def forward(self, a):
        return backend.array_module(a).sqrt(a)

    def backward(self, g):
        return g / (2 * self.output)  # d sqrt(a) / da = 1 / (2 sqrt(a))


class Tanh(Function):
    def forward(self, a):
        return backend.array_module(a).tanh(a)

    def backward(self, g):
        y = self.output
        return g * (1 - y * y)


class Sigmoid(Function):
    def forward(self, a):
        xp = backend.array_module(a)
        # exp of a non-positive number only: no overflow for large |a|
        e = xp.exp(-xp.abs(a))
        return xp.where(a >= 0, 1 / (1 + e), e / (1 + e))

    def backward(self, g):
        y = self.output
        return g * y * (1 - y)


class Softplus(Function):
    """log(1 + e^a), computed as logaddexp(0, a) so that it is exact for large |a|."""

    def forward(self, a):
        return backend.array_module(a).logaddexp(0, a)

    def backward(self, g):
        (a,) = self.inputs
        return g * Sigmoid()(a)


class Erf(Function):
    def forward(self, a):
        return backend.special_functions(backend.array_module(a)).erf(a)

    def backward(self, g):
        (a,) = self.inputs
        return g * (2 / math.sqrt(math.pi)) * Exp()(-(a * a))


class Abs(Function):
    def forward(self, a):
        return backend.array_module(a).abs(a)

    def backward(self, g):
        (a,) = self.inputs
        return g * backend.array_module(a.data).sign(a.data)


class Clip(Function):
    """Clamp to [lo, hi]; the gradient passes where lo <= a <= hi (PyTorch's clamp rule)."""

    def __init__(self, lo, hi):
        if lo is None and hi is None:
            raise ValueError("clip needs at least one of min and max")
        self.lo, self.hi = lo, hi

    def forward(self, a):
        return backend.array_module(a).clip(a, self.lo, self.hi)

    def backward(self, g):
        a = self.inputs[0].data
        inside = backend.array_module(a).ones(a.shape, dtype=bool)
        if self.lo is not None:
            inside &= a >= self.lo
        if self.hi is not None:
            inside &= a <= self.hi
        return g * inside.astype(a.dtype)


class Maximum(Function):
    """Elementwise max; at ties the gradient is split evenly (as in PyTorch)."""

    pick = staticmethod(lambda xp: xp.maximum)
    sign = 1

    def forward(self, a, b):
        check_broadcast(type(self).__name__.lower(), a, b)
        return self.pick(backend.array_module(a, b))(a, b)

    def backward(self, g):
        a, b = self.inputs
        wins = (self.sign * (a.data - b.data) > 0) + 0.5 * (a.data == b.data)
        share_a = wins.astype(g.dtype)
        return g * share_a, g * (1 - share_a)


class Minimum(Maximum):
    pick = staticmethod(lambda xp: xp.minimum)
    sign = -1


class Where(Function):
    """where(cond, a, b): a where cond holds, else b. `cond` is a constant boolean array."""

    def __init__(self, cond):
        self.cond = cond

    def forward(self, a, b):
        check_broadcast("where", self.cond, a, b)
        return backend.array_module(a, b).where(self.cond, a, b)

    def backward(self, g):
        zero = g.xp.zeros((), dtype=g.dtype)
        ga = Where(self.cond)(g, zero) if self.needs_input_grad[0] else None
        gb = Where(self.cond)(zero, g) if self.needs_input_grad[1] else None
        return ga, gb


class Cast(Function):
    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, a):
        self.source_dtype = a.dtype
        return a.astype(self.dtype)

    def backward(self, g):
        return Cast(self.source_dtype)(g)


class ToDevice(Function):
    def __init__(self, device):
        self.device = device

    def forward(self, a):
        self.source_device = backend.device_of(a)
        return backend.to_device(a, self.device)

    def check_devices(self, tensors):
        pass  # the one op whose input and output live on different devices

    def backward(self, g):
        return ToDevice(self.source_device)(g)
