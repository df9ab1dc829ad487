"""Normalisation layers: subtract a mean, divide by a standard deviation, then scale and shift.

    y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias

They differ only in which axes the statistics run over:
    layer_norm      the trailing `normalized_shape` axes of each example (Ba et al. 2016)
    group_norm      each group of channels (and all positions) of each example (Wu and He 2018)
    batch_norm      the batch and positions of each channel (Ioffe and Szegedy 2015)
    instance_norm   the positions of each channel of each example (Ulyanov et al. 2016)
Variances are population variances (divide by n), as in all four papers and PyTorch.

rms_norm leaves the mean in: y = x / sqrt(mean(x^2) + eps) * weight over the trailing
`normalized_shape` axes (Zhang and Sennrich 2019).
"""
import math

import numpy as np

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


def _normalized_shape(normalized_shape, x, name):
    """normalized_shape (an int or a sequence of ints) as a tuple that x's shape ends in."""
    shape = ((normalized_shape,) if isinstance(normalized_shape, (int, np.integer))
             else normalized_shape)
    try:
        shape = tuple(shape)
    except TypeError:
        shape = None
    if shape is None or any(isinstance(n, bool) or not isinstance(n, (int, np.integer))
                            for n in shape):
        raise TypeError(f"{name}: normalized_shape must be an int or a sequence of ints, got "
                        f"{normalized_shape!r}")
    shape = tuple(int(n) for n in shape)
    if len(shape) > x.ndim or x.shape[x.ndim - len(shape):] != shape:
        raise ShapeError(f"{name}: input of shape {x.shape} does not end in "
                         f"normalized_shape {shape}")
    return shape


def _check_params(name, shape, **params):
    """Each given parameter (weight, bias) must have exactly `shape`."""
    for label, t in params.items():
        if t is not None and tuple(t.shape) != shape:
            raise ShapeError(f"{name}: {label} of shape {tuple(t.shape)} does not match "
                             f"normalized_shape {shape}; expected shape {shape}")


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the trailing `normalized_shape` axes; weight and bias, when given, have
    exactly that shape. Runs as one fused op on rows (x flattened to (M, N),
    N = prod(normalized_shape)) when weight and bias have x's dtype; otherwise composed."""
    shape = _normalized_shape(normalized_shape, x, "layer_norm")
    _check_params("layer_norm", shape, weight=weight, bias=bias)
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


def instance_norm(x, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Normalise each channel of each example over its positions: x (N, C, *spatial).

    With use_input_stats (training), the statistics are each instance's own, and the running
    ones (if given) move towards their average over the batch, as torch:

        running_mean <- (1 - momentum) running_mean + momentum mean_n(mean_{n,c})
        running_var  <- (1 - momentum) running_var  + momentum mean_n(var_{n,c} * s / (s - 1))

    (s positions; the unbiased variance). Without, x is normalised with the running ones."""
    name = "instance_norm"
    if x.ndim < 3:
        raise ShapeError(f"{name}: input must be (N, C, *spatial) with at least one spatial "
                         f"axis, got shape {x.shape}")
    c = x.shape[1]
    axes = tuple(range(2, x.ndim))
    for label, t in (("running_mean", running_mean), ("running_var", running_var)):
        if t is not None and tuple(t.shape) != (c,):
            raise ShapeError(f"{name}: {label} of shape {tuple(t.shape)} does not match "
                             f"{c} channels; expected ({c},)")
    if use_input_stats:
        count = math.prod(x.shape[2:])
        if count < 2:
            raise ShapeError(f"{name}: expected more than 1 spatial element when using the "
                             f"input's statistics, got input of shape {x.shape}")
        y = _normalize(x, axes, eps)
        if running_mean is not None:
            rm = _raw(running_mean)
            rm[...] = (1 - momentum) * rm + momentum * x.data.mean(axis=axes).mean(axis=0)
        if running_var is not None:
            rv = _raw(running_var)
            unbiased = x.data.var(axis=axes) * count / (count - 1)          # (N, C)
            rv[...] = (1 - momentum) * rv + momentum * unbiased.mean(axis=0)
    else:
        if running_mean is None or running_var is None:
            raise ValueError(f"{name}: use_input_stats=False needs running_mean and running_var")
        mean = Tensor(_raw(running_mean)).reshape((1, c) + (1,) * (x.ndim - 2))
        var = Tensor(_raw(running_var)).reshape((1, c) + (1,) * (x.ndim - 2))
        y = (x - mean) / (var + eps).sqrt()
    return _affine(y, weight, bias, c, name)


def rms_norm(x, normalized_shape, weight=None, eps=None):
    """y = x / sqrt(mean(x^2) + eps) * weight, the mean over the trailing `normalized_shape`
    axes; weight (optional) has exactly that shape. eps=None takes the machine epsilon of
    x's dtype (torch 2.13's default)."""
    name = "rms_norm"
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: input must have a floating-point dtype, got {x.dtype}")
    shape = _normalized_shape(normalized_shape, x, name)
    _check_params(name, shape, weight=weight)
    eps = float(np.finfo(x.dtype).eps) if eps is None else eps
    axes = tuple(range(x.ndim - len(shape), x.ndim))
    mean_square = (x * x).mean(axis=axes, keepdims=True)
    y = x / (mean_square + eps).sqrt()
    return y if weight is None else y * weight
