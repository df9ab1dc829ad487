"""Losses, each with PyTorch's definition, arguments and default reduction ('mean').

Pointwise (input and target of one shape; d = input - target):
    mse_loss          d^2
    l1_loss           |d|
    smooth_l1_loss    0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta
    huber_loss        0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta)
    binary_cross_entropy              -w [t log x + (1 - t) log(1 - x)], x a probability
    binary_cross_entropy_with_logits  the same on x = sigmoid(logits), computed stably
    kl_div            t (log t - x), or e^t (t - x) with log_target (x = log q, t = p)

Over classes (input (N, C), (N, C, d1, ...) or unbatched (C,)):
    nll_loss          -w_y x_y for class-index targets y (x = log-probabilities)
    cross_entropy     nll_loss(log_softmax(logits)), or -sum_c w_c t_c log softmax(logits)_c for
                      probability targets t; label smoothing mixes t with the uniform 1 / C

With class indices, 'mean' is PyTorch's weighted mean over the rows not ignored:

    sum_n w_{y_n} l_n / sum_n w_{y_n}           (0 / 0 = nan when every row is ignored)

With probability targets it is the plain mean over the N * d1 * ... rows.
"""
import math

import numpy as np

from ..engine import backend
from ..engine.creation import maximum, where
from ..engine.function import Function
from ..engine.ops.elementwise import Softplus
from ..engine.ops.fused import CrossEntropy
from ..engine.tensor import Tensor
from ..errors import ShapeError
from .activations import log_softmax

REDUCTIONS = ("mean", "sum", "none")
KL_REDUCTIONS = ("mean", "batchmean", "sum", "none")


# ---- argument checks ------------------------------------------------------------------------

def check_reduction(reduction, name, allowed=REDUCTIONS):
    if not isinstance(reduction, str) or reduction not in allowed:
        raise ValueError(f"{name}: reduction must be one of {allowed}, got {reduction!r}")
    return reduction


def check_number(value, name, what, low=None, high=None, low_open=False):
    """A real number (not a bool) in [low, high] ((low, high] with low_open) -> float."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}: {what} must be a number, got {value!r} "
                        f"({type(value).__name__})")
    value = float(value)
    too_low = low is not None and (value <= low if low_open else value < low)
    if too_low or (high is not None and value > high) or math.isnan(value):
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        interval = f"{'(' if low_open else '['}{lo}, {hi}]"
        raise ValueError(f"{name}: {what} must lie in {interval}, got {value}")
    return value


def check_ignore_index(ignore_index, name):
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer)):
        raise TypeError(f"{name}: ignore_index must be an integer, got {ignore_index!r}")
    return int(ignore_index)


def _reduce(loss, reduction, name):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{name}: reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _same_shape(a, b, name):
    if a.shape != b.shape:
        raise ShapeError(f"{name}: input of shape {a.shape} and target of shape {b.shape} "
                         "must have the same shape")


def _as_float_tensor(value, like, name, what, cast=False):
    """A Tensor stays as it is (cast=True: cast to like's dtype, differentiably); an array,
    list or number becomes a constant of like's dtype."""
    if isinstance(value, Tensor):
        return value.astype(like.dtype) if cast and value.dtype != like.dtype else value
    if isinstance(value, str) or value is None:
        raise TypeError(f"{name}: {what} must be a Tensor or an array of numbers, got "
                        f"{value!r}" + ("; give reduction= by keyword" if isinstance(value, str)
                                        else ""))
    array = like.xp.asarray(value)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name}: {what} must hold numbers, got dtype {array.dtype}")
    return Tensor(array.astype(like.dtype))


def _target(target, like, name):
    target = _as_float_tensor(target, like, name, "target")
    _same_shape(like, target, name)
    return target


def _broadcasts_to(t, shape, name, what):
    try:
        ok = np.broadcast_shapes(t.shape, shape) == tuple(shape)
    except ValueError:
        ok = False
    if not ok:
        raise ShapeError(f"{name}: {what} of shape {t.shape} does not broadcast to the input's "
                         f"shape {tuple(shape)}")


# ---- pointwise losses -----------------------------------------------------------------------

def mse_loss(input, target, reduction="mean"):
    """(x - t)^2;  d/dx = 2 (x - t)."""
    check_reduction(reduction, "mse_loss")
    target = _target(target, input, "mse_loss")
    diff = input - target
    return _reduce(diff * diff, reduction, "mse_loss")


def l1_loss(input, target, reduction="mean"):
    """|x - t|;  d/dx = sign(x - t), 0 where x = t (as torch)."""
    check_reduction(reduction, "l1_loss")
    target = _target(target, input, "l1_loss")
    return _reduce((input - target).abs(), reduction, "l1_loss")


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = x - t; beta = 0: |d|).

    d/dx = d / beta inside, sign(d) outside: continuous at |d| = beta (Girshick 2015)."""
    name = "smooth_l1_loss"
    check_reduction(reduction, name)
    beta = check_number(beta, name, "beta", low=0.0)
    target = _target(target, input, name)
    d = input - target
    size = d.abs()
    if beta == 0:
        return _reduce(size, reduction, name)
    loss = where(size.data < beta, d * d * (0.5 / beta), size - 0.5 * beta)
    return _reduce(loss, reduction, name)


def huber_loss(input, target, reduction="mean", delta=1.0):
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta) (Huber 1964; d = x - t).

    huber_loss = delta * smooth_l1_loss with beta = delta."""
    name = "huber_loss"
    check_reduction(reduction, name)
    delta = check_number(delta, name, "delta", low=0.0, low_open=True)
    target = _target(target, input, name)
    d = input - target
    size = d.abs()
    loss = where(size.data < delta, d * d * 0.5, (size - 0.5 * delta) * delta)
    return _reduce(loss, reduction, name)


class ClampedLog(Function):
    """max(log x, -100), or with complement=True max(log(1 - x), -100) (by log1p).

    d/dx = 1/x (complement: -1/(1 - x)) where the log is above -100, else 0."""

    def __init__(self, complement=False):
        self.complement = complement

    def forward(self, x):
        xp = backend.array_module(x)
        with np.errstate(divide="ignore"):
            y = xp.log1p(-x) if self.complement else xp.log(x)
        self.inside = y > -100
        return xp.maximum(y, -100)

    def backward(self, g):
        (x,) = self.inputs
        denominator = where(self.inside, 1 - x if self.complement else x, 1.0)
        d = g / denominator
        return where(self.inside, -d if self.complement else d, 0.0)


class BinaryCrossEntropy(Function):
    """-[t log x + (1 - t) log(1 - x)] elementwise, each log clamped to >= -100 (torch's rule:
    the loss stays finite at x = 0 and x = 1). Backward as torch:

        d/dx = (x - t) / max(x (1 - x), 1e-12)        d/dt = log(1 - x) - log x (clamped)
    """

    EPSILON = 1e-12

    def forward(self, x, t):
        xp = backend.array_module(x)
        with np.errstate(divide="ignore"):
            log_x = xp.maximum(xp.log(x), -100)
            log_1mx = xp.maximum(xp.log1p(-x), -100)
        return -(t * log_x + (1 - t) * log_1mx)

    def backward(self, g):
        x, t = self.inputs
        gx = gt = None
        if self.needs_input_grad[0]:
            gx = g * (x - t) / maximum(x * (1 - x), self.EPSILON)
        if self.needs_input_grad[1]:
            gt = g * (ClampedLog(complement=True)(x) - ClampedLog()(x))
        return gx, gt


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """-w [t log x + (1 - t) log(1 - x)] on probabilities x in [0, 1], each log clamped to
    >= -100 as in torch; weight broadcasts to the input's shape."""
    name = "binary_cross_entropy"
    check_reduction(reduction, name)
    target = _target(target, input, name)
    x = input.data
    if x.size and not bool(((x >= 0) & (x <= 1)).all()):
        raise ValueError(f"{name}: input must hold probabilities in [0, 1], got values in "
                         f"[{float(np.nanmin(backend.to_numpy(x)))}, "
                         f"{float(np.nanmax(backend.to_numpy(x)))}]; for logits use "
                         "binary_cross_entropy_with_logits")
    loss = BinaryCrossEntropy()(input, target)
    if weight is not None:
        weight = _as_float_tensor(weight, input, name, "weight", cast=True)
        _broadcasts_to(weight, input.shape, name, "weight")
        loss = loss * weight
    return _reduce(loss, reduction, name)


def binary_cross_entropy_with_logits(logits, target, weight=None, reduction="mean",
                                     pos_weight=None):
    """-w [p t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))] with p = pos_weight (1 if None):

        = w [(1 - t) x + (1 + (p - 1) t) softplus(-x)]     = w [softplus(x) - t x] for p = 1

    Written with softplus (log(1 + e^x) computed as logaddexp(0, x)) it is exact for any
    |x|: no sigmoid that rounds to 0 or 1, no log(0). pos_weight broadcasts along the last
    axis (one per class), weight to the whole input."""
    name = "binary_cross_entropy_with_logits"
    check_reduction(reduction, name)
    target = _target(target, logits, name)
    if pos_weight is None:
        loss = Softplus()(logits) - target * logits
    else:
        pos_weight = _as_float_tensor(pos_weight, logits, name, "pos_weight", cast=True)
        _broadcasts_to(pos_weight, logits.shape, name, "pos_weight")
        loss = (1 - target) * logits + (1 + (pos_weight - 1) * target) * Softplus()(-logits)
    if weight is not None:
        weight = _as_float_tensor(weight, logits, name, "weight", cast=True)
        _broadcasts_to(weight, logits.shape, name, "weight")
        loss = loss * weight
    return _reduce(loss, reduction, name)


def _xlogx(t):
    """t log t, 0 at t = 0 (torch's xlogy(t, t)); d/dt = log t + 1 (0 at t = 0)."""
    zero = t.data == 0
    return where(zero, 0.0, t * where(zero, 1.0, t).log())


def kl_div(input, target, reduction="mean", log_target=False):
    """KL(p || q) pointwise, with input x = log q and target p (or log p with log_target):

        p (log p - x)      (0 where p = 0)          log_target:  e^t (t - x)

    reduction 'batchmean' divides the sum by the batch size input.shape[0], which gives the
    KL divergence per example; 'mean' divides by the number of elements, as torch."""
    name = "kl_div"
    check_reduction(reduction, name, KL_REDUCTIONS)
    if not isinstance(log_target, (bool, np.bool_)):
        raise TypeError(f"{name}: log_target must be True or False, got {log_target!r}")
    target = _target(target, input, name)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        loss = _xlogx(target) - target * input
    if reduction == "batchmean":
        total = loss.sum()
        return total / input.shape[0] if input.ndim else total
    return _reduce(loss, reduction, name)


# ---- losses over classes --------------------------------------------------------------------

def _class_rows(x, name):
    """input (C,), (N, C) or (N, C, d1, ...) -> rows (M, C) and the batch shape (N, d1, ...)
    (() for an unbatched input), with M = prod(batch shape)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(x).__name__}")
    if x.ndim == 0 or x.shape[1 if x.ndim > 1 else 0] == 0:
        raise ShapeError(f"{name}: input must be (C,), (N, C) or (N, C, d1, ...) with C >= 1 "
                         f"classes, got shape {x.shape}")
    if x.ndim == 1:
        return x.reshape(1, x.shape[0]), ()
    if x.ndim == 2:
        return x, x.shape[:1]
    classes = x.shape[1]
    rows = x.transpose(0, *range(2, x.ndim), 1).reshape(-1, classes)   # (N, d..., C) -> (M, C)
    return rows, x.shape[:1] + x.shape[2:]


def _target_kind(target, input, name, probabilities_allowed):
    """-> ("indices", int array) or ("probabilities", Tensor of input's shape)."""
    if isinstance(target, Tensor):
        raw = target.data
    elif isinstance(target, str) or target is None:
        raise TypeError(f"{name}: target must be class indices or probabilities, got "
                        f"{target!r}")
    else:
        raw = input.xp.asarray(target)
    if raw.dtype.kind in "iu":
        return "indices", raw
    if raw.dtype.kind == "f" and probabilities_allowed and tuple(raw.shape) == input.shape:
        t = target if isinstance(target, Tensor) else Tensor(raw.astype(input.dtype))
        return "probabilities", t if t.dtype == input.dtype else t.astype(input.dtype)
    wanted = ("integer class indices of shape (N, d1, ...), or float class probabilities "
              f"of the input's shape {input.shape}" if probabilities_allowed else
              "integer class indices of shape (N, d1, ...)")
    raise TypeError(f"{name}: target must be {wanted}; got dtype {raw.dtype} and shape "
                    f"{tuple(raw.shape)}")


def _check_indices(t, input, batch_shape, classes, ignore_index, name):
    if tuple(t.shape) != batch_shape:
        raise ShapeError(f"{name}: input of shape {input.shape} and target of shape "
                         f"{tuple(t.shape)} do not fit; expected input (N, C, d1, ...) with "
                         "target (N, d1, ...), or input (C,) with a 0-d target")
    flat = t.reshape(-1)
    ignored = flat == ignore_index
    kept = flat[~ignored]
    if kept.size and (kept.min() < 0 or kept.max() >= classes):
        raise ValueError(f"{name}: targets must lie in [0, {classes}) (or equal ignore_index "
                         f"= {ignore_index}), got values in [{int(kept.min())}, "
                         f"{int(kept.max())}]")
    return flat, ignored


def _class_weight(weight, input, classes, name):
    if weight is None:
        return None
    w = _as_float_tensor(weight, input, name, "weight", cast=True)
    if w.shape != (classes,):
        raise ShapeError(f"{name}: weight of shape {w.shape} does not match {classes} classes; "
                         f"expected ({classes},)")
    return w


def _nan_like(t):
    return Tensor(t.xp.asarray(math.nan, dtype=t.dtype))


def _weighted_reduce(loss, row_weight, reduction, batch_shape):
    """loss (M,) per row -> 'none': (N, d1, ...); 'sum'; 'mean': sum / sum(row_weight)."""
    if reduction == "none":
        return loss.reshape(batch_shape)
    total = loss.sum()
    if reduction == "sum":
        return total
    denominator = row_weight.sum()
    if float(denominator.data) == 0:        # every row ignored: 0 / 0 = nan, gradients 0
        return total + _nan_like(total)
    return total / denominator


def _nll_rows(logp, flat, ignored, w, smoothing, reduction, batch_shape):
    """The class-index losses from log-probabilities rows (M, C): torch's nll_loss, mixed
    with (smoothing) the loss against the uniform distribution, -sum_c w_c logp_c / C."""
    xp = logp.xp
    m, classes = logp.shape
    safe = xp.where(ignored, 0, flat)                                   # any class: masked out
    keep = Tensor((~ignored).astype(logp.dtype))                        # (M,) 1, or 0 if ignored
    row_weight = keep if w is None else w[safe] * keep                  # (M,) w_{y_n}
    loss = -logp[xp.arange(m), safe] * row_weight                       # (M,)
    result = _weighted_reduce(loss, row_weight, reduction, batch_shape)
    if not smoothing:
        return result
    spread = -(logp if w is None else logp * w).sum(axis=1) * keep      # (M,)
    smooth = _weighted_reduce(spread, row_weight, reduction, batch_shape)
    return result * (1 - smoothing) + smooth * (smoothing / classes)


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """-w_y x_y: the negative log-likelihood of class-index targets y, input x holding
    log-probabilities (N, C), (N, C, d1, ...) or (C,); rows whose target is ignore_index add
    nothing (and no weight to the mean)."""
    name = "nll_loss"
    check_reduction(reduction, name)
    ignore_index = check_ignore_index(ignore_index, name)
    rows, batch_shape = _class_rows(input, name)
    classes = rows.shape[1]
    _, t = _target_kind(target, input, name, probabilities_allowed=False)
    flat, ignored = _check_indices(t, input, batch_shape, classes, ignore_index, name)
    w = _class_weight(weight, input, classes, name)
    return _nll_rows(rows, flat, ignored, w, 0.0, reduction, batch_shape)


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """-log softmax(logits)[y] for class indices y, or -sum_c w_c t_c log softmax(logits)_c
    for class probabilities t (a float target of the input's shape). Logits (N, C),
    (N, C, d1, ...) or (C,); class indices (N, d1, ...) or ().

    label_smoothing s: the target becomes (1 - s) t + s / C (for class indices, the loss
    (1 - s) nll + s / C * sum_c -w_c log p_c, reduced with the same weighted mean).

    The plain case (class indices, no weight, no smoothing, nothing ignored) runs as one fused
    op on the rows; the others are composed from log_softmax."""
    name = "cross_entropy"
    check_reduction(reduction, name)
    ignore_index = check_ignore_index(ignore_index, name)
    smoothing = check_number(label_smoothing, name, "label_smoothing", 0.0, 1.0)
    rows, batch_shape = _class_rows(input, name)
    classes = rows.shape[1]
    kind, t = _target_kind(target, input, name, probabilities_allowed=True)
    w = _class_weight(weight, input, classes, name)
    if kind == "probabilities":
        if ignore_index >= 0:
            raise ValueError(f"{name}: ignore_index ({ignore_index}) applies to class-index "
                             "targets only, not to probabilities")
        return _soft_cross_entropy(rows, t, w, smoothing, reduction, batch_shape)
    flat, ignored = _check_indices(t, input, batch_shape, classes, ignore_index, name)
    if w is None and not smoothing and not ignored.any():
        # one fused op on rows; the composed definition below serves create_graph=True
        loss = CrossEntropy(flat, lambda r: _cross_entropy_rows(r, flat))(rows)   # (M,)
        return _reduce(loss.reshape(batch_shape), reduction, name)
    logp = log_softmax(rows, axis=1)
    return _nll_rows(logp, flat, ignored, w, smoothing, reduction, batch_shape)


def _soft_cross_entropy(rows, target, w, smoothing, reduction, batch_shape):
    """-sum_c w_c t_c log softmax(x)_c per row; 'mean' is the plain mean over rows."""
    classes = rows.shape[1]
    if target.ndim > 2:                                   # (N, C, d...) -> (M, C), as the rows
        target = target.transpose(0, *range(2, target.ndim), 1).reshape(-1, classes)
    elif target.ndim == 1:
        target = target.reshape(1, classes)
    if smoothing:
        target = target * (1 - smoothing) + smoothing / classes
    per_class = log_softmax(rows, axis=1) * target                       # (M, C)
    if w is not None:
        per_class = per_class * w
    loss = -per_class.sum(axis=1)                                         # (M,)
    if reduction == "none":
        return loss.reshape(batch_shape)
    total = loss.sum()
    if reduction == "sum":
        return total
    if rows.shape[0] == 0:
        return total + _nan_like(total)
    return total / rows.shape[0]


def _cross_entropy_rows(logits, targets):
    """-log softmax(logits)[target] per row, (M, C) -> (M,), from engine ops: the
    differentiable definition the fused op follows (used for create_graph)."""
    logp = log_softmax(logits, axis=1)
    return -logp[logits.xp.arange(logp.shape[0]), targets]


def gaussian_kl(mu, logvar):
    """KL(N(mu, diag exp(logvar)) || N(0, I)) summed over the last axis (Kingma and Welling
    2014, appendix B):  0.5 * sum(mu^2 + sigma^2 - 1 - log sigma^2).

    `logvar` is log sigma^2 (the log-variance, not log sigma)."""
    if mu.shape != logvar.shape:
        raise ShapeError(f"gaussian_kl: mu of shape {mu.shape} and logvar of shape "
                         f"{logvar.shape} must have the same shape")
    return 0.5 * (mu * mu + logvar.exp() - 1 - logvar).sum(axis=-1)
