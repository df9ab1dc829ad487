"""Pooling, resizing and padding layers: each forward is one call into scratchgen.functional
(max_pool2d, avg_pool2d, ..., interpolate, pad); the module remembers the hyper-parameters
and checks them when it is built, so a bad argument fails at construction, naming the layer.
"""
from .. import functional as F
from ..functional.linear import ints
from ..functional.pooling import MODES as _INTERPOLATE_MODES
from .layers import _got, real_number
from .module import Module


def _flag(name, value, layer):
    if not isinstance(value, bool):
        raise ValueError(f"{layer}: {name} must be True or False, got {_got(value)}")
    return value


class _MaxPool(Module):
    dims, function = 2, None

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        name, n = type(self).__name__, self.dims
        self.kernel_size = ints(kernel_size, "kernel_size", 1, n, name)
        self.stride = self.kernel_size if stride is None else ints(stride, "stride", 1, n, name)
        self.padding = ints(padding, "padding", 0, n, name)
        self.dilation = ints(dilation, "dilation", 1, n, name)
        if any(2 * p > k for p, k in zip(self.padding, self.kernel_size)):
            raise ValueError(f"{name}: padding {self.padding} must be at most half the kernel "
                             f"size {self.kernel_size}")
        self.return_indices = _flag("return_indices", return_indices, name)
        self.ceil_mode = _flag("ceil_mode", ceil_mode, name)

    def forward(self, x):
        return type(self).function(x, self.kernel_size, self.stride, self.padding,
                                   self.dilation, self.ceil_mode, self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool2d(_MaxPool):
    """The max of each kh x kw window of (N, C, H, W); see F.max_pool2d."""
    dims, function = 2, staticmethod(F.max_pool2d)


class MaxPool1d(_MaxPool):
    """The max of each window of (N, C, L); see F.max_pool1d."""
    dims, function = 1, staticmethod(F.max_pool1d)


class AvgPool2d(Module):
    """The mean of each kh x kw window of (N, C, H, W); see F.avg_pool2d."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        self.kernel_size = ints(kernel_size, "kernel_size", 1, 2, "AvgPool2d")
        self.stride = self.kernel_size if stride is None else ints(stride, "stride", 1, 2,
                                                                   "AvgPool2d")
        self.padding = ints(padding, "padding", 0, 2, "AvgPool2d")
        if any(2 * p > k for p, k in zip(self.padding, self.kernel_size)):
            raise ValueError(f"AvgPool2d: padding {self.padding} must be at most half the "
                             f"kernel size {self.kernel_size}")
        self.ceil_mode = _flag("ceil_mode", ceil_mode, "AvgPool2d")
        self.count_include_pad = _flag("count_include_pad", count_include_pad, "AvgPool2d")
        if divisor_override is not None:
            ints(divisor_override, "divisor_override", 1, 1, "AvgPool2d")
        self.divisor_override = divisor_override

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(Module):
    """The mean of each window of (N, C, L); see F.avg_pool1d."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True):
        super().__init__()
        self.kernel_size = ints(kernel_size, "kernel_size", 1, 1, "AvgPool1d")
        self.stride = self.kernel_size if stride is None else ints(stride, "stride", 1, 1,
                                                                   "AvgPool1d")
        self.padding = ints(padding, "padding", 0, 1, "AvgPool1d")
        if 2 * self.padding[0] > self.kernel_size[0]:
            raise ValueError(f"AvgPool1d: padding {self.padding} must be at most half the "
                             f"kernel size {self.kernel_size}")
        self.ceil_mode = _flag("ceil_mode", ceil_mode, "AvgPool1d")
        self.count_include_pad = _flag("count_include_pad", count_include_pad, "AvgPool1d")

    def forward(self, x):
        return F.avg_pool1d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Average pooling of (N, C, H, W) to a fixed (OH, OW) (None keeps that axis)."""

    def __init__(self, output_size):
        super().__init__()
        sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * 2
        if len(sizes) != 2:
            raise ValueError(f"AdaptiveAvgPool2d: output_size must be an int or a pair, got "
                             f"{_got(output_size)}")
        for size in sizes:
            if size is not None:
                ints(size, "output_size", 1, 1, "AdaptiveAvgPool2d")
        self.output_size = output_size

    def forward(self, x):
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(Module):
    """Average pooling of (N, C, L) to a fixed length."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = ints(output_size, "output_size", 1, 1, "AdaptiveAvgPool1d")[0]

    def forward(self, x):
        return F.adaptive_avg_pool1d(x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class Upsample(Module):
    """Resize by `scale_factor` or to `size`: F.interpolate with these arguments."""

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        if (size is None) == (scale_factor is None):
            raise ValueError("Upsample: give exactly one of size and scale_factor")
        if mode not in _INTERPOLATE_MODES:
            raise ValueError(f"Upsample: mode must be one of {', '.join(_INTERPOLATE_MODES)}, "
                             f"got {mode!r}")
        if scale_factor is not None:
            for s in (scale_factor if isinstance(scale_factor, (tuple, list)) else (scale_factor,)):
                real_number("scale_factor", s, "Upsample", low=0.0)
        else:
            for n in (size if isinstance(size, (tuple, list)) else (size,)):
                ints(n, "size", 1, 1, "Upsample")
        self.size, self.scale_factor, self.mode = size, scale_factor, mode
        self.align_corners, self.recompute_scale_factor = align_corners, recompute_scale_factor

    def forward(self, x):
        return F.interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners,
                             self.recompute_scale_factor)

    def extra_repr(self):
        what = f"size={self.size}" if self.size is not None else \
            f"scale_factor={self.scale_factor}"
        return f"{what}, mode={self.mode!r}"


# ---- padding layers -----------------------------------------------------------------------

class _Pad(Module):
    """F.pad with a fixed mode; `padding` is an int (every side) or a 2 * dims tuple
    (left, right[, top, bottom])."""
    dims, mode = 2, "constant"

    def __init__(self, padding, value=0.0):
        super().__init__()
        name, n = type(self).__name__, 2 * self.dims
        self.padding = ints(padding, "padding", 0, n, name)
        self.value = real_number("value", value, name) if self.mode == "constant" else 0

    def forward(self, x):
        if x.ndim not in (self.dims + 1, self.dims + 2):
            raise ValueError(f"{type(self).__name__}: expected a {self.dims + 1}-D or "
                             f"{self.dims + 2}-D input, got shape {x.shape}")
        if self.mode == "constant":
            return F.pad(x, self.padding, "constant", self.value)
        return F.pad(x, self.padding, self.mode)

    def extra_repr(self):
        return f"{self.padding}" + (f", value={self.value}" if self.mode == "constant" else "")


class ConstantPad2d(_Pad):
    """Pad the last two axes with `value`."""
    dims, mode = 2, "constant"


class ConstantPad1d(_Pad):
    """Pad the last axis with `value`."""
    dims, mode = 1, "constant"


class ZeroPad2d(_Pad):
    """Pad the last two axes with zeros."""
    dims, mode = 2, "constant"

    def __init__(self, padding):
        super().__init__(padding, 0.0)


class ZeroPad1d(_Pad):
    """Pad the last axis with zeros."""
    dims, mode = 1, "constant"

    def __init__(self, padding):
        super().__init__(padding, 0.0)


class ReflectionPad2d(_Pad):
    """Mirror the last two axes about their edges (each pad smaller than the axis)."""
    dims, mode = 2, "reflect"

    def __init__(self, padding):
        super().__init__(padding)


class ReflectionPad1d(_Pad):
    dims, mode = 1, "reflect"

    def __init__(self, padding):
        super().__init__(padding)


class ReplicationPad2d(_Pad):
    """Repeat the edge values of the last two axes."""
    dims, mode = 2, "replicate"

    def __init__(self, padding):
        super().__init__(padding)


class ReplicationPad1d(_Pad):
    dims, mode = 1, "replicate"

    def __init__(self, padding):
        super().__init__(padding)


class CircularPad2d(_Pad):
    """Wrap the last two axes around (periodic padding)."""
    dims, mode = 2, "circular"

    def __init__(self, padding):
        super().__init__(padding)


class CircularPad1d(_Pad):
    dims, mode = 1, "circular"

    def __init__(self, padding):
        super().__init__(padding)
