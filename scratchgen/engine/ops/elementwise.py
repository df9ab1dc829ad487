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
    """a ** b. d/da = b a^(b-1); d/db = a^b log a (only computed when b needs a gradient).

    At the edges, as torch: d/da is 0 where b == 0 (also at a == 0, where a^(b-1) is
    infinite), and d/db is 0 where a == 0 and b >= 0 (where a^b log a is 0 * -inf). The
    masked places get a finite stand-in (a^1, log 1), so second order stays finite too.
    Integer tensors stay integer (int ** int); a negative integer exponent is refused."""

    def forward(self, a, b):
        check_broadcast("power", a, b)
        try:
            return a ** b
        except ValueError:
            if a.dtype.kind in "biu" and b.dtype.kind in "biu":
                raise ValueError("power: integers to negative integer powers are not allowed "
                                 f"(an integer base of dtype {a.dtype} with a negative integer "
                                 "exponent); cast the base to a float dtype first") from None
            raise

    def backward(self, g):
        a, b = self.inputs
        ga = gb = None
        if self.needs_input_grad[0]:
            b_is_0 = b.data == 0
            if b_is_0.any():
                exponent = Where(b_is_0)(1.0, b - 1)
                ga = g * Where(b_is_0)(0.0, b * a ** exponent)
            else:
                ga = g * b * a ** (b - 1)
        if self.needs_input_grad[1]:
            a_is_0 = (a.data == 0) & (b.data >= 0)
            log_a = Log()(Where(a_is_0)(1.0, a)) if a_is_0.any() else Log()(a)
            gb = g * self.output * log_a
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


# ---- more math: trigonometric, hyperbolic, logarithms, rounding -------------------------------
#
# A unary op names its array function and its derivative in terms of the input a and the
# output y (both Tensors, so the derivative is differentiable again). Integer and boolean
# inputs are cast to the default float dtype before these ops (see `unary` below).

class Unary(Function):
    ufunc = None  # the name of the array module's function

    def forward(self, a):
        return getattr(backend.array_module(a), self.ufunc)(a)

    def backward(self, g):
        return g * self.derivative(self.inputs[0], self.output)

    def derivative(self, a, y):
        raise NotImplementedError


class Sin(Unary):
    """d/da sin a = cos a"""
    ufunc = "sin"

    def derivative(self, a, y):
        return Cos()(a)


class Cos(Unary):
    """d/da cos a = -sin a"""
    ufunc = "cos"

    def derivative(self, a, y):
        return -Sin()(a)


class Tan(Unary):
    """d/da tan a = 1 + tan^2 a"""
    ufunc = "tan"

    def derivative(self, a, y):
        return 1 + y * y


class Arcsin(Unary):
    """d/da arcsin a = 1 / sqrt(1 - a^2)"""
    ufunc = "arcsin"

    def derivative(self, a, y):
        return Rsqrt()(1 - a * a)


class Arccos(Unary):
    """d/da arccos a = -1 / sqrt(1 - a^2)"""
    ufunc = "arccos"

    def derivative(self, a, y):
        return -Rsqrt()(1 - a * a)


class Arctan(Unary):
    """d/da arctan a = 1 / (1 + a^2)"""
    ufunc = "arctan"

    def derivative(self, a, y):
        return 1 / (1 + a * a)


class Sinh(Unary):
    """d/da sinh a = cosh a"""
    ufunc = "sinh"

    def derivative(self, a, y):
        return Cosh()(a)


class Cosh(Unary):
    """d/da cosh a = sinh a"""
    ufunc = "cosh"

    def derivative(self, a, y):
        return Sinh()(a)


class Arcsinh(Unary):
    """d/da arcsinh a = 1 / sqrt(a^2 + 1)"""
    ufunc = "arcsinh"

    def derivative(self, a, y):
        return Rsqrt()(a * a + 1)


class Arccosh(Unary):
    """d/da arccosh a = 1 / sqrt(a^2 - 1)  (a > 1)"""
    ufunc = "arccosh"

    def derivative(self, a, y):
        return Rsqrt()(a * a - 1)


class Arctanh(Unary):
    """d/da arctanh a = 1 / (1 - a^2)  (|a| < 1)"""
    ufunc = "arctanh"

    def derivative(self, a, y):
        return 1 / (1 - a * a)


class Log2(Unary):
    """d/da log2 a = 1 / (a ln 2)"""
    ufunc = "log2"

    def derivative(self, a, y):
        return 1 / (a * math.log(2))


class Log10(Unary):
    """d/da log10 a = 1 / (a ln 10)"""
    ufunc = "log10"

    def derivative(self, a, y):
        return 1 / (a * math.log(10))


class Log1p(Unary):
    """log(1 + a), exact for small a. d/da = 1 / (1 + a)"""
    ufunc = "log1p"

    def derivative(self, a, y):
        return 1 / (1 + a)


class Expm1(Unary):
    """e^a - 1, exact for small a. d/da = e^a = y + 1"""
    ufunc = "expm1"

    def derivative(self, a, y):
        return y + 1


class Exp2(Unary):
    """2^a. d/da = 2^a ln 2"""
    ufunc = "exp2"

    def derivative(self, a, y):
        return y * math.log(2)


class Rsqrt(Unary):
    """1 / sqrt(a). d/da = -1 / (2 a^(3/2)) = -y^3 / 2"""

    def forward(self, a):
        return 1 / backend.array_module(a).sqrt(a)

    def derivative(self, a, y):
        return y * y * y * -0.5


class Erfinv(Unary):
    """The inverse of erf on (-1, 1). d/da erfinv a = (sqrt(pi) / 2) e^(y^2)"""

    def forward(self, a):
        return backend.special_functions(backend.array_module(a)).erfinv(a)

    def derivative(self, a, y):
        return Exp()(y * y) * (math.sqrt(math.pi) / 2)


class Rounding(Function):
    """sign, floor, ceil, trunc and round: piecewise constant, so the gradient is 0 everywhere
    (torch's choice; at the jumps too). Integer tensors keep their values and dtype."""

    def __init__(self, kind, decimals=0):
        self.kind, self.decimals = kind, decimals

    def forward(self, a):
        xp = backend.array_module(a)
        if a.dtype.kind == "b" or (a.dtype.kind in "iu" and self.kind not in ("sign", "round")):
            return a.copy()  # already whole numbers (the sign of a bool is the bool)
        if self.kind == "round":
            return xp.round(a, self.decimals)  # half to even, as torch
        return getattr(xp, self.kind)(a)

    def backward(self, g):
        return type(g)(g.xp.zeros(g.shape, dtype=g.dtype))


# ---- binary math -----------------------------------------------------------------------------

def _masked_where(cond, value):
    """value with 0 where cond holds (value may be inf or nan there: it is not used)."""
    return Where(cond)(0.0, value) if cond.any() else value


class Arctan2(Function):
    """arctan2(a, b): the angle of the point (b, a). With r2 = a^2 + b^2:
    d/da = b / r2,  d/db = -a / r2, and 0 at the origin (torch's choice)."""

    def forward(self, a, b):
        check_broadcast("arctan2", a, b)
        return backend.array_module(a, b).arctan2(a, b)

    def backward(self, g):
        a, b = self.inputs
        r2 = a * a + b * b
        origin = r2.data == 0
        inv_r2 = _masked_where(origin, 1 / Where(origin)(1.0, r2)) if origin.any() else 1 / r2
        ga = g * b * inv_r2 if self.needs_input_grad[0] else None
        gb = -g * a * inv_r2 if self.needs_input_grad[1] else None
        return ga, gb


class Logaddexp(Function):
    """log(e^a + e^b), without overflow. d/da = sigmoid(a - b), d/db = sigmoid(b - a)."""

    def forward(self, a, b):
        check_broadcast("logaddexp", a, b)
        return backend.array_module(a, b).logaddexp(a, b)

    def backward(self, g):
        a, b = self.inputs
        ga = g * Sigmoid()(a - b) if self.needs_input_grad[0] else None
        gb = g * Sigmoid()(b - a) if self.needs_input_grad[1] else None
        return ga, gb


def _check_integer_divisor(name, a, b):
    if a.dtype.kind in "biu" and b.dtype.kind in "biu" and (b == 0).any():
        raise ZeroDivisionError(f"{name}: integer division by zero (the divisor, of dtype "
                                f"{b.dtype}, holds a 0); integer tensors have no inf or nan "
                                "to give there")


class Remainder(Function):
    """a % b with the sign of b (Python's and torch's remainder, NumPy's mod):
    a - b floor(a / b). d/da = 1, d/db = -floor(a / b) (piecewise; the jumps are ignored)."""

    def forward(self, a, b):
        check_broadcast("remainder", a, b)
        _check_integer_divisor("remainder", a, b)
        return backend.array_module(a, b).mod(a, b)

    def backward(self, g):
        a, b = self.inputs
        ga = g if self.needs_input_grad[0] else None
        gb = None
        if self.needs_input_grad[1]:
            quotient = backend.array_module(a.data, b.data).floor_divide(a.data, b.data)
            gb = -g * type(g)(quotient)
        return ga, gb


# ---- the spellings: sg.sin(x), x.sin(), ... ------------------------------------------------
#
# These take Tensors, numbers or arrays. Python scalars next to a tensor take its dtype (as in
# `x + 1`); an integer tensor meeting a float one takes the float dtype (torch's rule).

def _as_tensor(x, name):
    from ..tensor import Tensor, as_tensor, describe, is_operand

    if isinstance(x, Tensor):
        return x
    if not is_operand(x):
        raise TypeError(f"{name}: expected a Tensor, a number or an array, got {describe(x)}")
    return as_tensor(x, name=name)


def _as_float(x, name):
    """x as a float tensor: integer and boolean tensors take the default float dtype (float32),
    as torch.sin of an integer tensor does."""
    from ..tensor import DEFAULT_FLOAT, Tensor

    x = _as_tensor(x, name)
    if x.dtype.kind in "biu":
        return Tensor(x.data.astype(DEFAULT_FLOAT))
    return x


def _pair(a, b, name):
    """Two operands as tensors on one device, with torch's promotion across kinds."""
    from ..tensor import Tensor, as_tensor, describe, is_operand, promote

    for v in (a, b):
        if not is_operand(v):
            raise TypeError(f"{name}: unsupported operand {describe(v)}; expected a Tensor, a "
                            "number or an array")
    if isinstance(a, Tensor):
        b = as_tensor(b, like=a, name=name)
    elif isinstance(b, Tensor):
        a = as_tensor(a, like=b, name=name)
    else:
        a, b = as_tensor(a, name=name), as_tensor(b, name=name)
    return promote(a, b)


def _float_pair(a, b, name):
    from ..tensor import DEFAULT_FLOAT, Tensor

    a, b = _pair(a, b, name)
    if a.dtype.kind in "biu" and b.dtype.kind in "biu":
        a, b = Tensor(a.data.astype(DEFAULT_FLOAT)), Tensor(b.data.astype(DEFAULT_FLOAT))
    return a, b


def _unary(cls, name):
    def op(x):
        return cls()(_as_float(x, name))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = cls.__doc__
    return op


sin, cos, tan = _unary(Sin, "sin"), _unary(Cos, "cos"), _unary(Tan, "tan")
arcsin, arccos = _unary(Arcsin, "arcsin"), _unary(Arccos, "arccos")
arctan = _unary(Arctan, "arctan")
sinh, cosh = _unary(Sinh, "sinh"), _unary(Cosh, "cosh")
arcsinh, arccosh = _unary(Arcsinh, "arcsinh"), _unary(Arccosh, "arccosh")
arctanh = _unary(Arctanh, "arctanh")
log2, log10, log1p = _unary(Log2, "log2"), _unary(Log10, "log10"), _unary(Log1p, "log1p")
expm1, exp2 = _unary(Expm1, "expm1"), _unary(Exp2, "exp2")
rsqrt, erf, erfinv = _unary(Rsqrt, "rsqrt"), _unary(Erf, "erf"), _unary(Erfinv, "erfinv")
# torch's names
asin, acos, atan, asinh, acosh, atanh = arcsin, arccos, arctan, arcsinh, arccosh, arctanh


def _rounding(kind):
    def op(x):
        return Rounding(kind)(_as_tensor(x, kind))

    op.__name__ = op.__qualname__ = kind
    op.__doc__ = f"{kind}, elementwise; the gradient is 0 (integer tensors are kept as they are)."
    return op


sign, floor, ceil, trunc = (_rounding(k) for k in ("sign", "floor", "ceil", "trunc"))
fix = trunc  # NumPy's other name


def round(x, decimals=0):  # noqa: A001  (NumPy's and torch's name)
    """Round half to even, to `decimals` places (negative: to tens, hundreds, ...); the gradient
    is 0. Integer tensors round to tens, hundreds, ... with decimals < 0."""
    import numbers

    if isinstance(decimals, bool) or not isinstance(decimals, numbers.Integral):
        raise TypeError(f"round: decimals must be an int, got {decimals!r}")
    return Rounding("round", int(decimals))(_as_tensor(x, "round"))


def arctan2(a, b):
    """The angle of the point (b, a), in (-pi, pi]."""
    return Arctan2()(*_float_pair(a, b, "arctan2"))


atan2 = arctan2


def logaddexp(a, b):
    """log(e^a + e^b), without overflow."""
    return Logaddexp()(*_float_pair(a, b, "logaddexp"))


def lerp(start, end, weight):
    """start + weight (end - start); weight a number or a tensor (all three differentiable)."""
    start, end = _float_pair(start, end, "lerp")
    if not isinstance(weight, (int, float)) or isinstance(weight, bool):
        weight = _as_float(weight, "lerp")
    return start + weight * (end - start)


def remainder(a, b):
    """a % b with the sign of b (Python's and torch's rule; NumPy's mod).
    d/da = 1, d/db = -floor(a / b). Integer division by zero raises ZeroDivisionError."""
    return Remainder()(*_pair(a, b, "remainder"))


mod = remainder


def floor_divide(a, b):
    """floor(a / b) (Python's //). Not differentiable: the result never requires grad (torch
    records the op and fails at backward). Integer division by zero raises ZeroDivisionError."""
    from ..tensor import Tensor

    a, b = _pair(a, b, "floor_divide")
    check_broadcast("floor_divide", a.data, b.data)
    _check_integer_divisor("floor_divide", a.data, b.data)
    return Tensor(backend.array_module(a.data, b.data).floor_divide(a.data, b.data))


# ---- predicates (boolean results, no graph) ---------------------------------------------------

def _predicate(ufunc):
    def op(x):
        from ..tensor import Tensor

        x = _as_tensor(x, ufunc)
        return Tensor(getattr(x.xp, ufunc)(x.data))

    op.__name__ = op.__qualname__ = ufunc
    op.__doc__ = f"{ufunc}, elementwise (a boolean tensor, not differentiable)."
    return op


isnan, isinf, isfinite = _predicate("isnan"), _predicate("isinf"), _predicate("isfinite")


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """|a - b| <= atol + rtol |b|, elementwise (a boolean tensor)."""
    from ..tensor import Tensor

    a, b = _pair(a, b, "isclose")
    check_broadcast("isclose", a.data, b.data)
    return Tensor(a.xp.isclose(a.data, b.data, rtol=rtol, atol=atol, equal_nan=equal_nan))


# ---- bitwise and logical ops (integer and boolean tensors; no graph) ------------------------

def _bitwise(name, ufunc, a, b=None, shift=False):
    from ..tensor import Tensor

    pair = (_as_tensor(a, name),) if b is None else _pair(a, b, name)
    for t in pair:
        if t.dtype.kind not in "biu":
            dtypes = " and ".join(str(p.dtype) for p in pair)
            raise TypeError(f"{name}: bitwise ops need integer or boolean tensors, got dtype "
                            f"{dtypes}; use logical_and/or/xor/not for truth values, or cast "
                            "with .long() or .bool()")
    arrays = [t.data for t in pair]
    if shift:  # a boolean shifted is an integer (torch and NumPy agree on int64 here)
        arrays = [x.astype("int64") if x.dtype.kind == "b" else x for x in arrays]
    if len(arrays) == 2:
        check_broadcast(name, *arrays)
    return Tensor(getattr(backend.array_module(*arrays), ufunc)(*arrays))


def bitwise_and(a, b):
    return _bitwise("bitwise_and", "bitwise_and", a, b)


def bitwise_or(a, b):
    return _bitwise("bitwise_or", "bitwise_or", a, b)


def bitwise_xor(a, b):
    return _bitwise("bitwise_xor", "bitwise_xor", a, b)


def bitwise_not(a):
    """~a: every bit flipped (-a - 1 for integers), `not` for booleans."""
    return _bitwise("bitwise_not", "invert", a)


def bitwise_left_shift(a, b):
    """a << b = a * 2^b."""
    return _bitwise("bitwise_left_shift", "left_shift", a, b, shift=True)


def bitwise_right_shift(a, b):
    """a >> b = floor(a / 2^b)."""
    return _bitwise("bitwise_right_shift", "right_shift", a, b, shift=True)


invert = bitwise_invert = bitwise_not  # NumPy's names
left_shift, right_shift = bitwise_left_shift, bitwise_right_shift


def _logical(name, a, b=None):
    """Truth values (nonzero is true) of any numeric tensors, as in torch and NumPy."""
    from ..tensor import Tensor

    pair = (_as_tensor(a, name),) if b is None else _pair(a, b, name)
    arrays = [t.data for t in pair]
    if len(arrays) == 2:
        check_broadcast(name, *arrays)
    return Tensor(getattr(backend.array_module(*arrays), name)(*arrays))


def logical_and(a, b):
    return _logical("logical_and", a, b)


def logical_or(a, b):
    return _logical("logical_or", a, b)


def logical_xor(a, b):
    return _logical("logical_xor", a, b)


def logical_not(a):
    return _logical("logical_not", a)
