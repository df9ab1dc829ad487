"""Pooling and resizing. Pooling reduces each window that Im2col cuts out:

    x (N, C, H, W) -> windows (N, C, kh, kw, OH, OW) -> max or mean over (kh, kw)

so the gradient follows from the windows' adjoint (Col2im) and the reduction's rule."""
import math

from ..engine import backend
from ..engine.ops.conv import Im2col
from ..engine.tensor import Tensor
from ..errors import ShapeError
from .linear import _batched, pair


def _windows(x, kernel_size, stride, padding, name, pad_value):
    x, unbatched = _batched(x, name)
    kernel = pair(kernel_size, "kernel_size", 1)
    stride = kernel if stride is None else pair(stride, "stride", 1)
    padding = pair(padding, "padding", 0)
    if any(2 * p > k for p, k in zip(padding, kernel)):
        raise ValueError(f"{name}: padding {padding} must be at most half the kernel size "
                         f"{kernel}")
    if any(size + 2 * p < k for size, p, k in zip(x.shape[2:], padding, kernel)):
        raise ShapeError(f"{name}: input of shape {x.shape} with padding {padding} is smaller "
                         f"than the kernel {kernel}")
    windows = Im2col(kernel, stride, padding, pad_value=pad_value)(x)  # (N, C, kh, kw, OH, OW)
    return windows, unbatched, (kernel, stride, padding)


def max_pool2d(x, kernel_size, stride=None, padding=0):
    """The max of each window (padding counts as -inf, so it never wins)."""
    windows, unbatched, _ = _windows(x, kernel_size, stride, padding, "max_pool2d", -math.inf)
    y = windows.max(axis=(2, 3))
    return y[0] if unbatched else y


def avg_pool2d(x, kernel_size, stride=None, padding=0, count_include_pad=True):
    """The mean of each window; padding zeros are counted unless count_include_pad=False."""
    windows, unbatched, geometry = _windows(x, kernel_size, stride, padding, "avg_pool2d", 0.0)
    if count_include_pad:
        y = windows.mean(axis=(2, 3))
    else:
        kernel, stride_, padding_ = geometry
        ones = backend.array_module(x.data).ones((1, 1) + x.shape[-2:], dtype=x.dtype)
        # how many real (non-padding) pixels each window holds
        counts = Im2col(kernel, stride_, padding_)(Tensor(ones)).data.sum(axis=(2, 3))
        y = windows.sum(axis=(2, 3)) / counts
    return y[0] if unbatched else y


def _nearest_sources(xp, size_in, size_out, scale):
    """Source index of each output pixel: floor(i / scale), or floor(i * in / out) when only
    sizes are known. Like PyTorch, an output of the same size or exactly double copies
    pixel i, resp. i // 2, whatever the (non-integer) scale factor."""
    if scale is None or size_out in (size_in, 2 * size_in):
        step = size_in / size_out
    else:
        step = 1 / scale
    return xp.minimum(xp.floor(xp.arange(size_out) * step), size_in - 1).astype(xp.int64)


def interpolate(x, scale_factor=None, mode="nearest", size=None):
    """Nearest-neighbour resize of (N, C, H, W): output pixel i copies input pixel
    floor(i / scale) (PyTorch's 'nearest'). An integer scale is a plain repeat."""
    if mode != "nearest":
        raise ValueError(f"interpolate: mode {mode!r} is not supported; expected 'nearest'")
    x4, unbatched = _batched(x, "interpolate")
    n, c, h, w = x4.shape
    if (scale_factor is None) == (size is None):
        raise ValueError("interpolate: give exactly one of scale_factor and size")
    if size is not None:
        oh, ow = pair(size, "size", 1)
        scales = (oh / h, ow / w)
    else:
        scales = (scale_factor, scale_factor) if not isinstance(scale_factor, (tuple, list)) \
            else tuple(scale_factor)
        if min(scales) <= 0:
            raise ValueError(f"interpolate: scale_factor must be positive, got {scale_factor}")
        oh, ow = int(math.floor(h * scales[0])), int(math.floor(w * scales[1]))
    if size is None and all(float(s).is_integer() for s in scales):
        sh, sw = int(scales[0]), int(scales[1])
        # (N, C, H, 1, W, 1) -> (N, C, H, sh, W, sw) -> (N, C, H sh, W sw)
        y = x4.reshape(n, c, h, 1, w, 1).broadcast_to(n, c, h, sh, w, sw).reshape(n, c, oh, ow)
    else:
        xp = backend.array_module(x.data)
        rows = _nearest_sources(xp, h, oh, None if size else scales[0])
        cols = _nearest_sources(xp, w, ow, None if size else scales[1])
        y = x4[:, :, rows][:, :, :, cols]
    return y[0] if unbatched else y
