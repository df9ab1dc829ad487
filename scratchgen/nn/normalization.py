"""Normalisation layers: LayerNorm, GroupNorm, BatchNorm1d, BatchNorm2d, InstanceNorm1d,
InstanceNorm2d and RMSNorm.

All of them compute

    y = (x - mean) / sqrt(var + eps) * weight + bias          (biased variance)

and differ only in which axes the mean and variance are taken over:

    LayerNorm     the last len(normalized_shape) axes of each sample   (Ba et al., 2016)
    GroupNorm     each group of channels (and H, W) of each sample     (Wu & He, 2018)
    BatchNorm     each channel over the batch (and H, W)               (Ioffe & Szegedy, 2015)
    InstanceNorm  each channel of each sample over its positions       (Ulyanov et al., 2016)

RMSNorm keeps the mean: y = x / sqrt(mean(x^2) + eps) * weight   (Zhang & Sennrich, 2019).

BatchNorm is the only one with state beyond its parameters: in training it keeps
exponential moving averages of the batch statistics (buffers, saved in state_dict), and in
eval mode it normalises with those instead of the batch's own (InstanceNorm too, with
track_running_stats=True).
"""
import warnings

import numpy as np

from .. import functional as F
from ..engine.tensor import Tensor
from ..errors import ShapeError
from ..functional.losses import check_number
from . import init
from .layers import empty_parameter, float_dtype, positive_int
from .module import Module


class LayerNorm(Module):
    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 dtype=None):
        super().__init__()
        self.normalized_shape = _normalized_shape(normalized_shape)
        self.eps = check_number(eps, "LayerNorm", "eps", low=0.0)
        dtype = float_dtype(dtype)
        affine = elementwise_affine
        self.register_parameter("weight", empty_parameter(self.normalized_shape, dtype)
                                if affine else None)
        self.register_parameter("bias", empty_parameter(self.normalized_shape, dtype)
                                if affine and bias else None)
        self.reset_parameters()

    def reset_parameters(self):
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.weight is not None}")


class GroupNorm(Module):
    """x: (N, C, *) with C = num_channels, split into num_groups groups of C/num_groups."""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, dtype=None):
        super().__init__()
        self.num_groups = positive_int("num_groups", num_groups)
        self.num_channels = positive_int("num_channels", num_channels)
        if self.num_channels % self.num_groups:
            raise ValueError(f"num_channels ({num_channels}) must be divisible by num_groups "
                             f"({num_groups})")
        self.eps = check_number(eps, "GroupNorm", "eps", low=0.0)
        dtype = float_dtype(dtype)
        self.register_parameter("weight", empty_parameter((self.num_channels,), dtype)
                                if affine else None)
        self.register_parameter("bias", empty_parameter((self.num_channels,), dtype)
                                if affine else None)
        self.reset_parameters()

    def reset_parameters(self):
        if self.weight is not None:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def forward(self, x):
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, "
                f"affine={self.weight is not None}")


class _BatchNorm(Module):
    """Shared by BatchNorm1d and BatchNorm2d, which differ only in the input shapes accepted.

    Running statistics, updated in training with the *unbiased* batch variance (PyTorch):
        running_mean <- (1 - momentum) running_mean + momentum * batch_mean
        running_var  <- (1 - momentum) running_var  + momentum * batch_var * n / (n - 1)
    momentum=None gives the plain average of all batches so far (momentum = 1 / batches seen).
    """

    input_ndims = ()  # the accepted x.ndim, set by the subclasses

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, dtype=None):
        super().__init__()
        name = type(self).__name__
        self.num_features = positive_int("num_features", num_features)
        if momentum is not None:
            try:
                momentum = check_number(momentum, name, "momentum", 0.0, 1.0)
            except (TypeError, ValueError) as error:
                raise type(error)(f"{error} (or None)") from None
        self.eps, self.momentum = check_number(eps, name, "eps", low=0.0), momentum
        self.track_running_stats = track_running_stats
        dtype = float_dtype(dtype)
        shape = (self.num_features,)
        self.register_parameter("weight", empty_parameter(shape, dtype) if affine else None)
        self.register_parameter("bias", empty_parameter(shape, dtype) if affine else None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(shape, dtype=dtype)))
            self.register_buffer("running_var", Tensor(np.ones(shape, dtype=dtype)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self):
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            init.zeros_(self.num_batches_tracked)

    def reset_parameters(self):
        self.reset_running_stats()
        if self.weight is not None:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def forward(self, x):
        if x.ndim not in self.input_ndims or x.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}({self.num_features}) expects input of "
                             f"shape {self.expected_shape}, got {x.shape}")
        momentum = self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data += 1
            if momentum is None:
                momentum = 1.0 / float(self.num_batches_tracked.data)
        # Without running statistics there is nothing else to normalise with, even in eval.
        use_batch_statistics = self.training or not self.track_running_stats
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            use_batch_statistics, 0.0 if momentum is None else momentum,
                            self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.weight is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Statistics per feature over the batch (and length): x (N, C) or (N, C, L)."""

    input_ndims = (2, 3)
    expected_shape = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Statistics per channel over the batch and both spatial axes: x (N, C, H, W)."""

    input_ndims = (4,)
    expected_shape = "(N, C, H, W)"


class _InstanceNorm(_BatchNorm):
    """Shared by InstanceNorm1d and InstanceNorm2d: statistics per channel of each sample,
    over its positions. torch's defaults: affine=False, track_running_stats=False. With
    track_running_stats, training updates running averages of the instance statistics
    (F.instance_norm), and eval mode normalises with them; num_batches_tracked is kept in
    state_dict but not counted, and momentum=None leaves the running statistics unchanged
    (both as torch)."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False,
                 track_running_stats=False, dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, dtype)

    def forward(self, x):
        name = type(self).__name__
        if not isinstance(x, Tensor) or x.ndim not in self.input_ndims:
            got = x.shape if isinstance(x, Tensor) else type(x).__name__
            raise ShapeError(f"{name}({self.num_features}) expects input of shape "
                             f"{self.expected_shape}, got {got}")
        batched = x.ndim == max(self.input_ndims)
        if not batched:
            x = x.reshape(1, *x.shape)                         # (C, *S) -> (1, C, *S)
        if x.shape[1] != self.num_features:
            if self.weight is not None or self.track_running_stats:
                raise ShapeError(f"{name}({self.num_features}) expects {self.num_features} "
                                 f"channels, got input of shape {x.shape}")
            warnings.warn(f"{name}({self.num_features}) got {x.shape[1]} channels; with "
                          "affine=False and no running statistics num_features is unused",
                          stacklevel=2)
        use_input_stats = self.training or not self.track_running_stats
        y = F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            use_input_stats, 0.0 if self.momentum is None else self.momentum,
                            self.eps)
        return y if batched else y.reshape(y.shape[1:])


class InstanceNorm1d(_InstanceNorm):
    """x (N, C, L) or unbatched (C, L): each channel of each sample over its L positions."""

    input_ndims = (2, 3)
    expected_shape = "(N, C, L) or (C, L)"


class InstanceNorm2d(_InstanceNorm):
    """x (N, C, H, W) or unbatched (C, H, W): each channel of each sample over H x W."""

    input_ndims = (3, 4)
    expected_shape = "(N, C, H, W) or (C, H, W)"


def _normalized_shape(normalized_shape):
    if isinstance(normalized_shape, (int, np.integer)):
        normalized_shape = (normalized_shape,)
    if not isinstance(normalized_shape, (tuple, list)):
        raise TypeError(f"normalized_shape must be a positive integer or a sequence of them, "
                        f"got {normalized_shape!r}")
    return tuple(positive_int("normalized_shape", n) for n in normalized_shape)


class RMSNorm(Module):
    """y = x / sqrt(mean(x^2) + eps) * weight over the trailing normalized_shape axes; eps=None
    takes the machine epsilon of the input's dtype (torch's default)."""

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, dtype=None):
        super().__init__()
        self.normalized_shape = _normalized_shape(normalized_shape)
        self.eps = None if eps is None else check_number(eps, "RMSNorm", "eps", low=0.0)
        self.elementwise_affine = bool(elementwise_affine)
        dtype = float_dtype(dtype)
        self.register_parameter("weight", empty_parameter(self.normalized_shape, dtype)
                                if elementwise_affine else None)
        self.reset_parameters()

    def reset_parameters(self):
        if self.weight is not None:
            init.ones_(self.weight)

    def forward(self, x):
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")
