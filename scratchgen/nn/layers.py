"""Layers with weights (Linear, Conv2d, ConvTranspose2d, Embedding), Dropout, Flatten and the
activation modules. Each forward is one call into scratchgen.functional; the module only
owns the parameters and remembers the hyper-parameters.

Default initialisations are PyTorch's, so a scratchgen model starts where its PyTorch twin
would (in distribution; the draws come from scratchgen's own generator).
"""
import math

import numpy as np

from .. import functional as F
from ..functional.linear import pair
from . import init
from .module import Module, Parameter


# ---- argument checks shared by the layers ----------------------------------------------
def positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def float_dtype(dtype):
    """The parameters' dtype: float32 unless asked otherwise (float64 for exact tests)."""
    dtype = np.dtype(np.float32 if dtype is None else dtype)
    if dtype.kind != "f":
        raise TypeError(f"parameters must have a floating-point dtype, got {dtype}")
    return dtype


def empty_parameter(shape, dtype):
    """A Parameter of `shape` whose values the caller's reset_parameters() sets."""
    return Parameter(np.zeros(shape, dtype=dtype))


def check_groups(in_channels, out_channels, groups):
    for name, channels in (("in_channels", in_channels), ("out_channels", out_channels)):
        if channels % groups:
            raise ValueError(f"{name} ({channels}) must be divisible by groups ({groups})")


def reset_weight_and_bias(weight, bias):
    """PyTorch's default for Linear and the convolutions.

    weight ~ kaiming_uniform(a=sqrt(5))  =  U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    bias   ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    fan_in comes from weight.shape[1] * kernel area, also for ConvTranspose2d, whose weight
    is (in, out/groups, kh, kw): PyTorch reads the same axis there.
    """
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = init.calculate_fan_in_and_fan_out(weight.shape)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        init.uniform_(bias, -bound, bound)


def _init_conv(layer, in_channels, out_channels, kernel_size, stride, padding, dilation,
               groups, bias, dtype, transposed):
    """Hyper-parameters, checks and parameters shared by Conv2d and ConvTranspose2d.

    weight: (out, in / groups, kh, kw) for a convolution, (in, out / groups, kh, kw) for a
    transposed one (PyTorch's layouts)."""
    layer.in_channels = positive_int("in_channels", in_channels)
    layer.out_channels = positive_int("out_channels", out_channels)
    layer.groups = positive_int("groups", groups)
    check_groups(layer.in_channels, layer.out_channels, layer.groups)
    layer.kernel_size = pair(kernel_size, "kernel_size", 1)
    layer.stride = pair(stride, "stride", 1)
    layer.padding = pair(padding, "padding", 0)
    layer.dilation = pair(dilation, "dilation", 1)
    dtype = float_dtype(dtype)
    first, second = ((layer.in_channels, layer.out_channels) if transposed
                     else (layer.out_channels, layer.in_channels))
    layer.weight = empty_parameter((first, second // layer.groups, *layer.kernel_size), dtype)
    layer.register_parameter("bias", empty_parameter((layer.out_channels,), dtype)
                             if bias else None)
    layer.reset_parameters()


# ---- layers with weights -----------------------------------------------------------------
class Linear(Module):
    """y = x W^T + b.   x: (..., in_features) -> y: (..., out_features), W: (out, in)."""

    def __init__(self, in_features, out_features, bias=True, dtype=None):
        super().__init__()
        self.in_features = positive_int("in_features", in_features)
        self.out_features = positive_int("out_features", out_features)
        dtype = float_dtype(dtype)
        self.weight = empty_parameter((self.out_features, self.in_features), dtype)
        self.register_parameter("bias", empty_parameter((self.out_features,), dtype)
                                if bias else None)
        self.reset_parameters()

    def reset_parameters(self):
        reset_weight_and_bias(self.weight, self.bias)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Conv2d(Module):
    """2-D cross-correlation, (N, C_in, H, W) -> (N, C_out, OH, OW), with

        OH = floor((H + 2 padding - dilation (kh - 1) - 1) / stride) + 1

    weight: (C_out, C_in / groups, kh, kw); each group of C_in/groups input channels feeds
    its own C_out/groups output channels.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, dtype=None):
        super().__init__()
        _init_conv(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                   groups, bias, dtype, transposed=False)

    def reset_parameters(self):
        reset_weight_and_bias(self.weight, self.bias)

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, dilation={self.dilation}, "
                f"groups={self.groups}, bias={self.bias is not None}")


class ConvTranspose2d(Module):
    """The adjoint of Conv2d (a "deconvolution"): upsamples (N, C_in, H, W) -> (N, C_out, OH, OW),

        OH = (H - 1) stride - 2 padding + dilation (kh - 1) + output_padding + 1

    weight: (C_in, C_out / groups, kh, kw), PyTorch's layout (the transpose of Conv2d's).
    output_padding picks among the input sizes a strided Conv2d maps to the same size.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, dtype=None):
        super().__init__()
        self.output_padding = pair(output_padding, "output_padding", 0)
        if any(extra >= s for extra, s in zip(self.output_padding, pair(stride, "stride", 1))):
            # (PyTorch also allows output_padding < dilation; F.conv_transpose2d does not.)
            raise ValueError(f"output_padding {self.output_padding} must be smaller than "
                             f"stride {stride} in each dimension")
        _init_conv(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                   groups, bias, dtype, transposed=True)

    def reset_parameters(self):
        reset_weight_and_bias(self.weight, self.bias)

    def forward(self, x):
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                  self.output_padding, self.groups, self.dilation)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, "
                f"output_padding={self.output_padding}, dilation={self.dilation}, "
                f"groups={self.groups}, bias={self.bias is not None}")


class Embedding(Module):
    """A lookup table: integer indices (...) -> rows of weight, (..., embedding_dim).

    weight ~ N(0, 1), as in PyTorch."""

    def __init__(self, num_embeddings, embedding_dim, dtype=None):
        super().__init__()
        self.num_embeddings = positive_int("num_embeddings", num_embeddings)
        self.embedding_dim = positive_int("embedding_dim", embedding_dim)
        self.weight = empty_parameter((self.num_embeddings, self.embedding_dim),
                                      float_dtype(dtype))
        self.reset_parameters()

    def reset_parameters(self):
        init.normal_(self.weight)

    def forward(self, indices):
        return F.embedding(indices, self.weight)

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"


# ---- layers without weights --------------------------------------------------------------
class Dropout(Module):
    """In training, zero each entry with probability p and scale the rest by 1/(1-p), so the
    expected output equals the input; in eval mode, the identity."""

    def __init__(self, p=0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability p must be in [0, 1], got {p!r}")
        self.p = float(p)

    def forward(self, x):
        return F.dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"


class Flatten(Module):
    """Merge axes start_dim..end_dim into one: (N, C, H, W) -> (N, C*H*W) by default."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class ReLU(Module):
    def forward(self, x):
        return F.relu(x)


class LeakyReLU(Module):
    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class GELU(Module):
    """x * Phi(x), Phi the standard normal CDF (Hendrycks & Gimpel, 2016); approximate='tanh'
    uses their tanh approximation."""

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(x, approximate=self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    def forward(self, x):
        return F.silu(x)


class Sigmoid(Module):
    def forward(self, x):
        return F.sigmoid(x)


class Tanh(Module):
    def forward(self, x):
        return F.tanh(x)


class Softplus(Module):
    """log(1 + e^(beta x)) / beta (the identity where beta x > threshold, as in PyTorch)."""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta, self.threshold = float(beta), float(threshold)

    def forward(self, x):
        return F.softplus(x, beta=self.beta, threshold=self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"
