"""Normalisation layers: subtract a mean, divide by a standard deviation, then scale and shift.

    y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias

They differ only in which axes the statistics run over:
    layer_norm   the trailing `normalized_shape` axes of each example (Ba et al. 2016)
    group_norm   each group of channels (and all positions) of each example (Wu and He 2018)
    batch_norm   the batch and positions of each channel (Ioffe and Szegedy 2015)
Variances are population variances (divide by n), as in all three papers and PyTorch.
"""
import math

from ..engine.ops.fused import LayerNorm
from ..engine.tensor import Tensor
from ..errors import ShapeError


def _normalize(x, axes, eps):
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    return (x - mean) / (var + eps).sqrt()


def _layer_norm_composed(x, weight, bias, axes, eps):
    """Layer norm from engine ops: the differentiable definition (used for create_graph)."""
    y = _normalize(x, axes, eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the trailing `normalized_shape` axes. Runs as one fused op on rows
    (x flattened to (M, N), N = prod(normalized_shape)) whenever weight and bias have exactly
    that shape and x's dtype; otherwise (broadcasting parameters, mixed dtypes) composed."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if x.shape[x.ndim - len(shape):] != shape or len(shape) > x.ndim:
        raise ShapeError(f"layer_norm: input of shape {x.shape} does not end in "
                         f"normalized_shape {shape}")
    axes = tuple(range(x.ndim - len(shape), x.ndim))
    params = [t for t in (weight, bias) if t is not None]
    if not shape or x.size == 0 or any(t.shape != shape or t.dtype != x.dtype for t in params):
        return _layer_norm_composed(x, weight, bias, axes, eps)
    n = math.prod(shape)
    rows = x.reshape(-1, n)                                          # (..., *shape) -> (M, N)
    flat = [t.reshape(n) for t in params]                            # (*shape) -> (N,)

    def composed(rows, *flat):
        weight_, bias_ = (flat[0] if weight is not None else None,
                          flat[-1] if bias is not None else None)
        return _layer_norm_composed(rows, weight_, bias_, (1,), eps)

    y = LayerNorm(eps, weight is not None, bias is not None, composed)(rows, *flat)
    return y.reshape(x.shape)


def _per_channel(t, ndim):
    """(C,) -> (1, C, 1, ..., 1) so that it broadcasts over (N, C, *spatial)."""
    return t.reshape((1, -1) + (1,) * (ndim - 2))


def _affine(y, weight, bias, channels, name):
    for label, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.shape != (channels,):
            raise ShapeError(f"{name}: {label} of shape {t.shape} does not match {channels} "
                             f"channels; expected ({channels},)")
    if weight is not None:
        y = y * _per_channel(weight, y.ndim)
    if bias is not None:
        y = y + _per_channel(bias, y.ndim)
    return y


def group_norm(x, num_groups, weight=None, bias=None, eps=1e-5):
    if x.ndim < 2:
        raise ShapeError(f"group_norm: input must be (N, C, ...), got shape {x.shape}")
    n, c = x.shape[:2]
    if num_groups < 1 or c % num_groups:
        raise ShapeError(f"group_norm: {c} channels cannot be split into {num_groups} groups")
    grouped = x.reshape(n, num_groups, -1)  # (N, C, *S) -> (N, G, C/G * prod(S))
    y = _normalize(grouped, (2,), eps).reshape(x.shape)
    return _affine(y, weight, bias, c, "group_norm")


def _raw(t):
    return t.data if isinstance(t, Tensor) else t


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """In training, normalise with the batch's statistics and update the running ones:

        running_mean <- (1 - momentum) running_mean + momentum mean_batch
        running_var  <- (1 - momentum) running_var  + momentum var_batch * n / (n - 1)

    (the running variance is the unbiased one, as in PyTorch). In evaluation, normalise
    with the running statistics."""
    if x.ndim < 2:
        raise ShapeError(f"batch_norm: input must be (N, C, ...), got shape {x.shape}")
    c = x.shape[1]
    axes = (0,) + tuple(range(2, x.ndim))
    for label, t in (("running_mean", running_mean), ("running_var", running_var)):
        if t is not None and tuple(t.shape) != (c,):
            raise ShapeError(f"batch_norm: {label} of shape {tuple(t.shape)} does not match "
                             f"{c} channels")
    if training:
        count = x.size // c
        if count < 2:
            raise ValueError(f"batch_norm: expected more than 1 value per channel in training, "
                             f"got input of shape {x.shape}")
        y = _normalize(x, axes, eps)
        if running_mean is not None:
            batch_mean = x.data.mean(axis=axes)
            batch_var = x.data.var(axis=axes) * count / (count - 1)
            rm, rv = _raw(running_mean), _raw(running_var)
            rm[...] = (1 - momentum) * rm + momentum * batch_mean
            rv[...] = (1 - momentum) * rv + momentum * batch_var
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: evaluation mode needs running_mean and running_var")
        mean = Tensor(_raw(running_mean)).reshape((1, c) + (1,) * (x.ndim - 2))
        var = Tensor(_raw(running_var)).reshape((1, c) + (1,) * (x.ndim - 2))
        y = (x - mean) / (var + eps).sqrt()
    return _affine(y, weight, bias, c, "batch_norm")
