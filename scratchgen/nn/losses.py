"""Losses as modules, twins of torch.nn's: the constructor keeps the options, forward(input,
target) calls scratchgen.functional. Class weights (and BCEWithLogitsLoss's pos_weight) are
buffers, so they are in state_dict under torch's names and move with .to(device).

    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    loss = loss_fn(model(x), labels)
"""
import numpy as np

from .. import functional as F
from ..engine.tensor import Tensor
from ..errors import ShapeError
from ..functional.losses import (KL_REDUCTIONS, REDUCTIONS, check_ignore_index, check_number,
                                 check_reduction)
from .module import Module


def _weight_buffer(name, what, weight, per_class=True):
    """None, or a float Tensor (a copy of an array or list; a Tensor is kept), 1-D when it
    holds one weight per class."""
    if weight is None:
        return None
    if isinstance(weight, Tensor):
        array = weight.data
    elif isinstance(weight, (str, bytes)):
        raise TypeError(f"{name}: {what} must be a 1-D array of numbers, got {weight!r}")
    else:   # a list takes the default float dtype, as torch.tensor would give it
        array = np.asarray(weight) if isinstance(weight, np.ndarray) else np.asarray(
            weight, dtype=np.float32 if _numbers(weight) else None)
        if array.dtype.kind in "biu":
            array = array.astype(np.float32)
        weight = Tensor(array.copy())
    if array.dtype.kind != "f":
        raise TypeError(f"{name}: {what} must hold floating-point numbers, got dtype "
                        f"{array.dtype}")
    if per_class and array.ndim != 1:
        raise ShapeError(f"{name}: {what} must be 1-D (one value per class), got shape "
                         f"{array.shape}")
    return weight


def _numbers(values):
    """True for a number or a (nested) sequence of only numbers."""
    if isinstance(values, (list, tuple)):
        return all(_numbers(v) for v in values)
    return isinstance(values, (int, float, np.integer, np.floating)) and not isinstance(
        values, bool)


class _Loss(Module):
    reductions = REDUCTIONS

    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = check_reduction(reduction, type(self).__name__, self.reductions)

    def extra_repr(self):
        return f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """mean((input - target)^2)."""

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """mean(|input - target|)."""

    def forward(self, input, target):
        return F.l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = input - target)."""

    def __init__(self, reduction="mean", beta=1.0):
        super().__init__(reduction)
        self.beta = check_number(beta, type(self).__name__, "beta", low=0.0)

    def forward(self, input, target):
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)

    def extra_repr(self):
        return f"reduction={self.reduction!r}, beta={self.beta}"


class HuberLoss(_Loss):
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta) (d = input - target)."""

    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction)
        self.delta = check_number(delta, type(self).__name__, "delta", low=0.0, low_open=True)

    def forward(self, input, target):
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)

    def extra_repr(self):
        return f"reduction={self.reduction!r}, delta={self.delta}"


class BCELoss(_Loss):
    """Binary cross-entropy on probabilities in [0, 1] (logs clamped to >= -100)."""

    def __init__(self, weight=None, reduction="mean"):
        super().__init__(reduction)
        self.register_buffer("weight", _weight_buffer(type(self).__name__, "weight", weight,
                                                      per_class=False))

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, weight=self.weight,
                                      reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy on logits (sigmoid inside, computed stably); pos_weight (one per
    class, along the last axis) weighs the positive term."""

    def __init__(self, weight=None, reduction="mean", pos_weight=None):
        super().__init__(reduction)
        name = type(self).__name__
        self.register_buffer("weight", _weight_buffer(name, "weight", weight, per_class=False))
        self.register_buffer("pos_weight", _weight_buffer(name, "pos_weight", pos_weight,
                                                          per_class=False))

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, weight=self.weight,
                                                  reduction=self.reduction,
                                                  pos_weight=self.pos_weight)


class NLLLoss(_Loss):
    """Negative log-likelihood of class indices, the input holding log-probabilities."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean"):
        super().__init__(reduction)
        name = type(self).__name__
        self.register_buffer("weight", _weight_buffer(name, "weight", weight))
        self.ignore_index = check_ignore_index(ignore_index, name)

    def forward(self, input, target):
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)

    def extra_repr(self):
        return f"ignore_index={self.ignore_index}, reduction={self.reduction!r}"


class CrossEntropyLoss(_Loss):
    """Cross-entropy of logits against class indices or class probabilities."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__(reduction)
        name = type(self).__name__
        self.register_buffer("weight", _weight_buffer(name, "weight", weight))
        self.ignore_index = check_ignore_index(ignore_index, name)
        self.label_smoothing = check_number(label_smoothing, name, "label_smoothing", 0.0, 1.0)

    def forward(self, input, target):
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)

    def extra_repr(self):
        return (f"ignore_index={self.ignore_index}, reduction={self.reduction!r}, "
                f"label_smoothing={self.label_smoothing}")


class KLDivLoss(_Loss):
    """KL divergence pointwise, input = log q, target = p (log p with log_target)."""

    reductions = KL_REDUCTIONS

    def __init__(self, reduction="mean", log_target=False):
        super().__init__(reduction)
        if not isinstance(log_target, (bool, np.bool_)):
            raise TypeError(f"KLDivLoss: log_target must be True or False, got {log_target!r}")
        self.log_target = bool(log_target)

    def forward(self, input, target):
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)

    def extra_repr(self):
        return f"reduction={self.reduction!r}, log_target={self.log_target}"
