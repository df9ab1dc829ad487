"""Losses, each with PyTorch's definition and default reduction ('mean')."""
from ..engine.ops.elementwise import Softplus
from ..engine.ops.fused import CrossEntropy
from ..engine.tensor import Tensor
from ..errors import ShapeError
from .activations import log_softmax

REDUCTIONS = ("mean", "sum", "none")


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


def mse_loss(input, target, reduction="mean"):
    """(input - target)^2."""
    target = target if isinstance(target, Tensor) else Tensor(input.xp.asarray(target, input.dtype))
    _same_shape(input, target, "mse_loss")
    diff = input - target
    return _reduce(diff * diff, reduction, "mse_loss")


def binary_cross_entropy_with_logits(logits, target, reduction="mean"):
    """-[t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))] = softplus(x) - t x.

    Written with softplus (log(1 + e^x) computed as logaddexp(0, x)) it is exact for any
    |x|: no sigmoid that rounds to 0 or 1, no log(0)."""
    target = target if isinstance(target, Tensor) else Tensor(
        logits.xp.asarray(target, logits.dtype))
    _same_shape(logits, target, "binary_cross_entropy_with_logits")
    return _reduce(Softplus()(logits) - target * logits, reduction,
                   "binary_cross_entropy_with_logits")


def cross_entropy(logits, targets, reduction="mean"):
    """-log softmax(logits)[target]. logits (N, C) or (N, C, d1, ...); integer targets
    (N,) or (N, d1, ...) with values in [0, C)."""
    t = targets.data if isinstance(targets, Tensor) else logits.xp.asarray(targets)
    if t.dtype.kind not in "iu":
        raise TypeError(f"cross_entropy: targets must be integer class indices, got dtype {t.dtype}")
    if logits.ndim < 2 or t.shape != logits.shape[:1] + logits.shape[2:]:
        raise ShapeError(f"cross_entropy: logits of shape {logits.shape} and targets of shape "
                         f"{t.shape} do not fit; expected logits (N, C, ...) and targets "
                         "(N, ...)")
    classes = logits.shape[1]
    if t.size and (t.min() < 0 or t.max() >= classes):
        raise ValueError(f"cross_entropy: targets must lie in [0, {classes}), got values in "
                         f"[{int(t.min())}, {int(t.max())}]")
    rows = logits
    if logits.ndim > 2:  # (N, C, d...) -> (N, d..., C) -> (M, C)
        rows = logits.transpose(0, *range(2, logits.ndim), 1).reshape(-1, classes)
    targets_rows = t.reshape(-1)                                     # (M,)
    # one fused op on rows; the composed definition below serves create_graph=True
    loss = CrossEntropy(targets_rows, lambda r: _cross_entropy_rows(r, targets_rows))(rows)
    return _reduce(loss.reshape(t.shape), reduction, "cross_entropy")


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
