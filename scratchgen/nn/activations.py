"""More activation modules (torch.nn's names and arguments): ELU, SELU, CELU, ReLU6, Hardtanh,
Hardsigmoid, Hardswish, Mish, Softsign, LogSigmoid, Softmin, Softmax and LogSoftmax. Each
forward is one call into scratchgen.functional.

`inplace=` is accepted where torch has it, for code written for torch; the result is computed
out of place either way (the input is left as it was), so use the returned tensor.
"""
from .. import functional as F
from .layers import integer, real_number
from .module import Module


def _flag(name, value, layer):
    if not isinstance(value, bool):
        raise ValueError(f"{layer}: {name} must be True or False, got {value!r} "
                         f"(a {type(value).__name__})")
    return value


class _Activation(Module):
    """An activation without hyper-parameters: forward is F.<function>(x)."""

    function = None

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = _flag("inplace", inplace, type(self).__name__)

    def forward(self, x):
        return type(self).function(x)


class ELU(Module):
    """x for x > 0, alpha (e^x - 1) otherwise."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha = real_number("alpha", alpha, "ELU")
        self.inplace = _flag("inplace", inplace, "ELU")

    def forward(self, x):
        return F.elu(x, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}"


class CELU(Module):
    """max(0, x) + min(0, alpha (e^(x / alpha) - 1))."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha = real_number("alpha", alpha, "CELU")
        if self.alpha == 0:
            raise ValueError("CELU: alpha must not be 0 (the negative branch divides by it)")
        self.inplace = _flag("inplace", inplace, "CELU")

    def forward(self, x):
        return F.celu(x, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}"


class SELU(_Activation):
    """scale * elu(x, alpha) with the self-normalising constants."""
    function = staticmethod(F.selu)


class ReLU6(_Activation):
    """min(max(x, 0), 6)."""
    function = staticmethod(F.relu6)


class Hardtanh(Module):
    """x clipped to [min_val, max_val]."""

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):
        super().__init__()
        self.min_val = real_number("min_val", min_val, "Hardtanh")
        self.max_val = real_number("max_val", max_val, "Hardtanh")
        if self.min_val > self.max_val:
            raise ValueError(f"Hardtanh: min_val ({self.min_val:g}) must not be greater than "
                             f"max_val ({self.max_val:g})")
        self.inplace = _flag("inplace", inplace, "Hardtanh")

    def forward(self, x):
        return F.hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}"


class Hardsigmoid(_Activation):
    """relu6(x + 3) / 6."""
    function = staticmethod(F.hardsigmoid)


class Hardswish(_Activation):
    """x relu6(x + 3) / 6."""
    function = staticmethod(F.hardswish)


class Mish(_Activation):
    """x tanh(softplus(x))."""
    function = staticmethod(F.mish)


class Softsign(Module):
    """x / (1 + |x|)."""

    def forward(self, x):
        return F.softsign(x)


class LogSigmoid(Module):
    """log sigmoid(x), computed as -softplus(-x)."""

    def forward(self, x):
        return F.logsigmoid(x)


class _AlongAxis(Module):
    """softmax-like modules: F.<function>(x, axis=dim). torch's dim=None (an axis chosen from
    the rank, with a warning) is not taken: the default here is the last axis."""

    function = None

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = integer("dim", dim, type(self).__name__)

    def forward(self, x):
        return type(self).function(x, axis=self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class Softmin(_AlongAxis):
    """softmax(-x) along dim."""
    function = staticmethod(F.softmin)


class Softmax(_AlongAxis):
    """exp(x) / sum exp(x) along dim."""
    function = staticmethod(F.softmax)


class LogSoftmax(_AlongAxis):
    """x - log sum exp(x) along dim."""
    function = staticmethod(F.log_softmax)
