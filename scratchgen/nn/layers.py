"""Layers with weights (Linear, Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d, Embedding),
Dropout, Flatten, Unflatten, Identity and the activation modules. Each forward is one call
into scratchgen.functional; the module only owns the parameters and remembers the
hyper-parameters.

Default initialisations are PyTorch's, so a scratchgen model starts where its PyTorch twin
would (in distribution; the draws come from scratchgen's own generator). Constructors check
their arguments and name the layer and the argument when one is wrong.
"""
import math

import numpy as np

from .. import functional as F
from ..functional.linear import ints
from . import init
from .module import Module, Parameter


# ---- argument checks shared by the layers ----------------------------------------------
def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _got(value):
    return f"{value!r} (a {type(value).__name__})"


def positive_int(name, value, layer=None):
    """value as an int >= 1; `layer` (its class name) starts the error message."""
    if not _is_int(value) or value < 1:
        where = f"{layer}: " if layer else ""
        raise ValueError(f"{where}{name} must be a positive integer, got {_got(value)}")
    return int(value)


def integer(name, value, layer):
    """value as an int (negative allowed: an axis)."""
    if not _is_int(value):
        raise ValueError(f"{layer}: {name} must be an integer, got {_got(value)}")
    return int(value)


def real_number(name, value, layer, low=None, high=None):
    """value as a float, in [low, high] when those are given."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_))
    if ok:
        number = float(value)
        ok = not math.isnan(number) and (low is None or number >= low) and (
            high is None or number <= high)
    if not ok:
        bounds = (f" in [{low:g}, {high:g}]" if low is not None and high is not None
                  else f" >= {low:g}" if low is not None else "")
        raise ValueError(f"{layer}: {name} must be a number{bounds}, got {_got(value)}")
    return number


def float_dtype(dtype, layer=None):
    """The parameters' dtype: float32 unless asked otherwise (float64 for exact tests)."""
    where = f"{layer}: " if layer else ""
    try:
        dtype = np.dtype(np.float32 if dtype is None else dtype)
    except TypeError:
        raise TypeError(f"{where}dtype must be a floating-point dtype such as np.float32, "
                        f"got {_got(dtype)}") from None
    if dtype.kind != "f":
        raise TypeError(f"{where}parameters must have a floating-point dtype, got {dtype}")
    return dtype


def empty_parameter(shape, dtype):
    """A Parameter of `shape` whose values the caller's reset_parameters() sets."""
    return Parameter(np.zeros(shape, dtype=dtype))


def check_groups(in_channels, out_channels, groups, layer=None):
    where = f"{layer}: " if layer else ""
    for name, channels in (("in_channels", in_channels), ("out_channels", out_channels)):
        if channels % groups:
            raise ValueError(f"{where}{name} ({channels}) must be divisible by groups "
                             f"({groups})")


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
               groups, bias, dtype, transposed, dims=2, output_padding=None):
    """Hyper-parameters, checks and parameters shared by the (transposed) convolutions.

    weight: (out, in / groups, *kernel) for a convolution, (in, out / groups, *kernel) for a
    transposed one (PyTorch's layouts); `dims` = 1 or 2 spatial axes."""
    name = type(layer).__name__
    layer.in_channels = positive_int("in_channels", in_channels, name)
    layer.out_channels = positive_int("out_channels", out_channels, name)
    layer.groups = positive_int("groups", groups, name)
    check_groups(layer.in_channels, layer.out_channels, layer.groups, name)
    layer.kernel_size = ints(kernel_size, "kernel_size", 1, dims, name)
    layer.stride = ints(stride, "stride", 1, dims, name)
    layer.padding = ints(padding, "padding", 0, dims, name)
    layer.dilation = ints(dilation, "dilation", 1, dims, name)
    if output_padding is not None:
        layer.output_padding = ints(output_padding, "output_padding", 0, dims, name)
        if any(extra >= s for extra, s in zip(layer.output_padding, layer.stride)):
            # (PyTorch also allows output_padding < dilation; F.conv_transpose2d does not.)
            raise ValueError(f"{name}: output_padding {layer.output_padding} must be smaller "
                             f"than stride {layer.stride} in each dimension")
    if not isinstance(bias, (bool, np.bool_)):
        raise ValueError(f"{name}: bias must be True or False, got {_got(bias)}")
    dtype = float_dtype(dtype, name)
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
        self.in_features = positive_int("in_features", in_features, "Linear")
        self.out_features = positive_int("out_features", out_features, "Linear")
        if not isinstance(bias, (bool, np.bool_)):
            raise ValueError(f"Linear: bias must be True or False, got {_got(bias)}")
        dtype = float_dtype(dtype, "Linear")
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
        _init_conv(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                   groups, bias, dtype, transposed=True, output_padding=output_padding)

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


class Conv1d(Module):
    """1-D cross-correlation, (N, C_in, L) -> (N, C_out, OL) (or unbatched (C_in, L)), with

        OL = floor((L + 2 padding - dilation (k - 1) - 1) / stride) + 1

    weight: (C_out, C_in / groups, k). Hyper-parameters are kept as 1-tuples, as PyTorch."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, dtype=None):
        super().__init__()
        _init_conv(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                   groups, bias, dtype, transposed=False, dims=1)

    def reset_parameters(self):
        reset_weight_and_bias(self.weight, self.bias)

    def forward(self, x):
        return F.conv1d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)

    extra_repr = Conv2d.extra_repr


class ConvTranspose1d(Module):
    """The adjoint of Conv1d: (N, C_in, L) -> (N, C_out, OL),

        OL = (L - 1) stride - 2 padding + dilation (k - 1) + output_padding + 1

    weight: (C_in, C_out / groups, k), PyTorch's layout."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, dtype=None):
        super().__init__()
        _init_conv(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                   groups, bias, dtype, transposed=True, dims=1, output_padding=output_padding)

    def reset_parameters(self):
        reset_weight_and_bias(self.weight, self.bias)

    def forward(self, x):
        return F.conv_transpose1d(x, self.weight, self.bias, self.stride, self.padding,
                                  self.output_padding, self.groups, self.dilation)

    extra_repr = ConvTranspose2d.extra_repr


class Embedding(Module):
    """A lookup table: integer indices (...) -> rows of weight, (..., embedding_dim).

    weight ~ N(0, 1), as in PyTorch."""

    def __init__(self, num_embeddings, embedding_dim, dtype=None):
        super().__init__()
        self.num_embeddings = positive_int("num_embeddings", num_embeddings, "Embedding")
        self.embedding_dim = positive_int("embedding_dim", embedding_dim, "Embedding")
        self.weight = empty_parameter((self.num_embeddings, self.embedding_dim),
                                      float_dtype(dtype, "Embedding"))
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
        self.p = real_number("dropout probability p", p, type(self).__name__, 0.0, 1.0)

    def forward(self, x):
        return F.dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"


class Flatten(Module):
    """Merge axes start_dim..end_dim into one: (N, C, H, W) -> (N, C*H*W) by default."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim = integer("start_dim", start_dim, "Flatten")
        self.end_dim = integer("end_dim", end_dim, "Flatten")

    def forward(self, x):
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split axis `dim` into `unflattened_size`: (N, 12) -> (N, 3, 4) with dim=1, (3, 4).
    One size may be -1 (inferred), as in reshape."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim = integer("dim", dim, "Unflatten")
        if not isinstance(unflattened_size, (tuple, list)) or not unflattened_size or not all(
                _is_int(n) and (n >= 1 or n == -1) for n in unflattened_size) or \
                list(unflattened_size).count(-1) > 1:
            raise ValueError(f"Unflatten: unflattened_size must be a tuple of positive ints "
                             f"(one of them may be -1), got {_got(unflattened_size)}")
        self.unflattened_size = tuple(int(n) for n in unflattened_size)

    def forward(self, x):
        if not -x.ndim <= self.dim < x.ndim:
            raise ValueError(f"Unflatten: dim {self.dim} is out of range for an input of "
                             f"shape {x.shape}")
        dim = self.dim % x.ndim
        known = math.prod(n for n in self.unflattened_size if n != -1)
        if (x.shape[dim] % known if -1 in self.unflattened_size else x.shape[dim] != known):
            raise ValueError(f"Unflatten: axis {dim} of an input of shape {x.shape} (size "
                             f"{x.shape[dim]}) cannot be split into {self.unflattened_size}")
        return x.reshape(*x.shape[:dim], *self.unflattened_size, *x.shape[dim + 1:])

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Identity(Module):
    """y = x. Any constructor arguments are accepted and ignored, as in PyTorch."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


class ReLU(Module):
    def forward(self, x):
        return F.relu(x)


class LeakyReLU(Module):
    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = real_number("negative_slope", negative_slope, "LeakyReLU")

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
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
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
        self.beta = real_number("beta", beta, "Softplus")
        self.threshold = real_number("threshold", threshold, "Softplus")

    def forward(self, x):
        return F.softplus(x, beta=self.beta, threshold=self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"
