"""Activations and softmax, with PyTorch's definitions. Each is built from engine ops, so
its gradient (of any order) follows from theirs."""
import math

from ..engine.creation import where
from ..engine.ops.elementwise import Erf, Sigmoid, Softplus, Tanh
from ..engine.ops.fused import Gelu
from ..engine.ops.reduce import logsumexp
from ..engine.tensor import Tensor


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


def softmax(x, axis=-1):
    """exp(x_i - m) / sum_j exp(x_j - m), with m = max(x) as a constant shift for stability."""
    shift = Tensor(x.data.max(axis=axis, keepdims=True))
    e = (x - shift).exp()
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x, axis=-1):
    """x - log sum exp(x): exact where softmax underflows to 0."""
    return x - logsumexp(x, axis=axis, keepdims=True)
