"""Activations and softmax, with PyTorch's definitions. Each is built from engine ops, so
its gradient (of any order) follows from theirs."""
import math

import numbers

from ..engine.creation import where
from ..engine.ops.elementwise import Abs, Clip, Erf, Expm1, Sigmoid, Softplus, Tanh
from ..engine.ops.fused import Gelu
from ..engine.ops.reduce import Max, Sum, logsumexp, normalize_axes
from ..engine.spelling import torch_names
from ..engine.tensor import Tensor, describe


def relu(x):
    """max(x, 0); the gradient at 0 is 0, as in PyTorch."""
    return where(x.data > 0, x, 0.0)


def leaky_relu(x, negative_slope=0.01):
    return where(x.data > 0, x, x * negative_slope)


def sigmoid(x):
    return Sigmoid()(x)


def tanh(x):
    return Tanh()(x)


def silu(x):
    """x * sigmoid(x) (also called swish)."""
    return x * Sigmoid()(x)


def softplus(x, beta=1.0, threshold=20.0):
    """log(1 + e^(beta x)) / beta, and x itself where beta x > threshold (PyTorch's rule)."""
    return where(x.data * beta > threshold, x, Softplus()(x * beta) / beta)


def gelu(x, approximate="none"):
    """x Phi(x), with Phi the standard normal CDF (Hendrycks and Gimpel 2016).

    approximate="none":  0.5 x (1 + erf(x / sqrt 2))
    approximate="tanh":  0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))

    Runs as one fused elementwise op; _gelu_composed is its definition in engine ops (used
    when gradients of gradients are recorded)."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return Gelu(approximate, lambda t: _gelu_composed(t, approximate))(x)


def _gelu_composed(x, approximate):
    if approximate == "none":
        return 0.5 * x * (1 + Erf()(x * (1 / math.sqrt(2))))
    inner = math.sqrt(2 / math.pi) * (x + 0.044715 * x * x * x)
    return 0.5 * x * (1 + Tanh()(inner))


def _softmax_axis(x, axis, name):
    """The one axis a softmax runs along, or a clear error naming the op."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {describe(x)}")
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"{name}: axis (dim) must be an int, got {describe(axis)}")
    normalize_axes(axis, x.ndim, op=name)  # raises ShapeError when out of range
    return int(axis)


def _cast(x, dtype):
    return x if dtype is None else x.astype(dtype)


@torch_names
def softmax(x, axis=-1, dtype=None):
    """exp(x_i - m) / sum_j exp(x_j - m), with m = max(x) as a constant shift for stability.
    dtype= casts x first (torch's option); dim= is accepted for axis=."""
    axis = _softmax_axis(x, axis, "softmax")
    x = _cast(x, dtype)
    shift = Tensor(x.data.max(axis=axis, keepdims=True))
    e = (x - shift).exp()
    return e / e.sum(axis=axis, keepdims=True)


@torch_names
def log_softmax(x, axis=-1, dtype=None):
    """x - log sum exp(x): exact where softmax underflows to 0."""
    axis = _softmax_axis(x, axis, "log_softmax")
    x = _cast(x, dtype)
    return x - logsumexp(x, axis=axis, keepdims=True)


@torch_names
def softmin(x, axis=-1, dtype=None):
    """softmax(-x): exp(-x_i) / sum_j exp(-x_j)."""
    axis = _softmax_axis(x, axis, "softmin")
    return softmax(-_cast(x, dtype), axis=axis)


# ---- more activations (torch's definitions, and torch's gradients at the kinks) ---------------

def _check_tensor(x, name):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {describe(x)}")
    return x


def _number(value, what, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: {what} must be a number, got {describe(value)}")
    return float(value)


def _exp_minus_1_below_0(x, scale=1.0):
    """e^(x / scale) - 1 on x clipped to <= 0: the negative branch of elu and celu, finite for
    any x (the clip keeps a large positive x from overflowing in the branch where() drops)."""
    clipped = Clip(None, 0.0)(x)
    return Expm1()(clipped / scale if scale != 1.0 else clipped)


def elu(x, alpha=1.0):
    """x for x > 0, alpha (e^x - 1) for x <= 0 (at 0 the gradient is alpha, as torch)."""
    _check_tensor(x, "elu")
    alpha = _number(alpha, "alpha", "elu")
    return where(x.data > 0, x, _exp_minus_1_below_0(x) * alpha)


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def selu(x):
    """scale * elu(x, alpha) with the self-normalising constants of Klambauer et al. (2017):
    alpha = 1.6733, scale = 1.0507 (torch's values to all digits)."""
    _check_tensor(x, "selu")
    return where(x.data > 0, x * SELU_SCALE,
                 _exp_minus_1_below_0(x) * (SELU_ALPHA * SELU_SCALE))


def celu(x, alpha=1.0):
    """max(0, x) + min(0, alpha (e^(x / alpha) - 1)): elu with a gradient of 1 at 0 for any
    alpha. alpha must not be 0."""
    _check_tensor(x, "celu")
    alpha = _number(alpha, "alpha", "celu")
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0 (the negative branch divides by it)")
    return where(x.data > 0, x, _exp_minus_1_below_0(x, alpha) * alpha)


def hardtanh(x, min_val=-1.0, max_val=1.0):
    """x clipped to [min_val, max_val]. The gradient is 1 strictly inside, 0 outside and at the
    two corners (torch's choice; clip, by contrast, passes it at the bounds)."""
    _check_tensor(x, "hardtanh")
    lo, hi = _number(min_val, "min_val", "hardtanh"), _number(max_val, "max_val", "hardtanh")
    if lo > hi:
        raise ValueError(f"hardtanh: min_val ({lo:g}) must not be greater than max_val "
                         f"({hi:g})")
    inside = (x.data > lo) & (x.data < hi)
    return where(inside, x, Tensor(x.xp.clip(x.data, lo, hi)))


def relu6(x):
    """min(max(x, 0), 6) = hardtanh(x, 0, 6); the gradient at 0 and at 6 is 0, as torch."""
    _check_tensor(x, "relu6")
    return hardtanh(x, 0.0, 6.0)


def hardsigmoid(x):
    """relu6(x + 3) / 6: 0 below -3, 1 above 3, x / 6 + 1/2 between (gradient 0 at +-3)."""
    _check_tensor(x, "hardsigmoid")
    inside = (x.data > -3) & (x.data < 3)
    return where(inside, x * (1 / 6) + 0.5, Tensor((x.data >= 3).astype(x.dtype)))


def hardswish(x):
    """x relu6(x + 3) / 6 (Howard et al. 2019): 0 for x <= -3, x for x >= 3, x (x + 3) / 6
    between. Gradient 0 at -3 and 1 at 3, as torch."""
    _check_tensor(x, "hardswish")
    middle = where(x.data < 3, x * (x + 3) * (1 / 6), x)
    return where(x.data > -3, middle, 0.0)


def mish(x):
    """x tanh(softplus(x)) (Misra 2019), with softplus = log(1 + e^x) computed stably."""
    _check_tensor(x, "mish")
    return x * Tanh()(Softplus()(x))


def softsign(x):
    """x / (1 + |x|)."""
    _check_tensor(x, "softsign")
    return x / (Abs()(x) + 1)


def logsigmoid(x):
    """log sigmoid(x) = -softplus(-x): finite for any x (log of sigmoid would be log 0)."""
    _check_tensor(x, "logsigmoid")
    return -Softplus()(-x)


@torch_names
def normalize(x, p=2.0, axis=1, eps=1e-12):
    """x / max(||x||_p, eps) along `axis` (torch's F.normalize; dim= is accepted for axis=).

    p is a positive number or inf (the largest |x|). Where every entry of a slice is 0 its
    norm's gradient is 0 (torch's choice), so the gradient there is 1 / eps."""
    _check_tensor(x, "normalize")
    p = _number(p, "p", "normalize")
    if not p > 0:
        raise ValueError(f"normalize: p must be positive (or inf), got {p:g}")
    eps = _number(eps, "eps", "normalize")
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"normalize: axis (dim) must be an int, got {describe(axis)}")
    normalize_axes(axis, x.ndim, op="normalize")
    norm = _p_norm(x, p, int(axis))
    return x / Clip(eps, None)(norm)


def _p_norm(x, p, axis):
    """(sum |x|^p)^(1/p) along axis (kept), with gradient 0 where the whole slice is 0."""
    if p == float("inf"):
        return Max(axis, keepdims=True)(Abs()(x))
    powered = x * x if p == 2 else Abs()(x) ** p
    total = Sum(axis, keepdims=True)(powered)
    zero = total.data == 0
    if not zero.any():
        return total.sqrt() if p == 2 else total ** (1 / p)
    safe = where(zero, 1.0, total)
    root = safe.sqrt() if p == 2 else safe ** (1 / p)
    return where(zero, 0.0, root)
