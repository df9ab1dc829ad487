"""Pooling and resizing, with PyTorch's output sizes and index rules.

Pooling cuts windows out of the (padded) input, as Im2col does for a convolution:

    x (N, C, H, W) -> windows (N, C, kh, kw, OH, OW) -> max or mean over (kh, kw)

    OH = floor((H + 2 pad - d (kh - 1) - 1) / s) + 1        (ceil instead of floor with
                                                              ceil_mode, PyTorch's rule below)

Max pooling is a gather: y = x[argmax of each window] (the first maximum wins, as in
PyTorch), so its gradient scatter-adds dy to those positions. Average pooling sums each
window and divides by the window's size (see `_divisors`). The 1-D poolings are the 2-D ones
over a unit height axis. interpolate resizes one spatial axis at a time: nearest copies
x[src(i)], (bi/tri)linear blends x[i0] (1 - l) + x[i1] l, with PyTorch's source indices.
"""
import math

import numpy as np

from ..engine import backend
from ..engine.creation import where
from ..engine.ops.conv import Im2col
from ..engine.ops.shape import Pad, unsqueeze
from ..engine.reference_kernels import im2col
from ..engine.tensor import Tensor
from ..errors import ShapeError
from .linear import _batched, ints


# ---- geometry shared by the poolings --------------------------------------------------------

def _out_size(size, k, s, p, d, ceil_mode):
    """PyTorch's pooling output size. With ceil_mode the division rounds up, but the last
    window must start inside the input or the left padding (else it is dropped)."""
    span = size + 2 * p - d * (k - 1) - 1
    out = (span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _geometry(name, spatial, kernel_size, stride, padding, dilation, ceil_mode):
    """Checked kernel, stride, padding, dilation (n-tuples, n = len(spatial)), the output
    sizes and the extra padding ceil_mode needs after the right/bottom edge."""
    n = len(spatial)
    kernel = ints(kernel_size, "kernel_size", 1, n, name)
    stride = kernel if stride is None or (isinstance(stride, (tuple, list)) and not stride) \
        else ints(stride, "stride", 1, n, name)
    padding = ints(padding, "padding", 0, n, name)
    dilation = ints(dilation, "dilation", 1, n, name)
    if not isinstance(ceil_mode, (bool, np.bool_)):
        raise TypeError(f"{name}: ceil_mode must be True or False, got {ceil_mode!r}")
    if any(2 * p > k for p, k in zip(padding, kernel)):
        raise ValueError(f"{name}: padding {padding} must be at most half the kernel size "
                         f"{kernel}")
    out = tuple(_out_size(*args, ceil_mode) for args in zip(spatial, kernel, stride, padding,
                                                            dilation))
    if min(out) < 1:
        raise ShapeError(f"{name}: input of spatial size {tuple(spatial)} with padding "
                         f"{padding} is smaller than the kernel {kernel} with dilation "
                         f"{dilation} (the output would be {out})")
    # the windows reach (out - 1) s + d (k - 1) + 1 into the padded input; beyond the right
    # padding (ceil_mode only) they read more padding
    extra = tuple(max(0, (o - 1) * s + d * (k - 1) + 1 - (size + 2 * p))
                  for o, size, k, s, p, d in zip(out, spatial, kernel, stride, padding, dilation))
    return kernel, stride, padding, dilation, out, extra


def _batched1d(x, name):
    """(N, C, L) or (C, L) -> (N, C, 1, L) and whether it was unbatched."""
    if x.ndim not in (2, 3):
        raise ShapeError(f"{name}: input must be (N, C, L) or (C, L), got shape {x.shape}")
    unbatched = x.ndim == 2
    x = unsqueeze(x, 0) if unbatched else x
    return unsqueeze(x, 2), unbatched


def _lowest(dtype):
    """The value padding takes in max pooling: it never wins."""
    if dtype.kind == "f":
        return -math.inf
    if dtype.kind == "b":
        return False
    return np.iinfo(dtype).min


# ---- max pooling ----------------------------------------------------------------------------

def _first_taps(out, s, p, d):
    """Along one axis, the first tap at or after index 0 of each window (PyTorch's start)."""
    start = np.arange(out) * s - p
    return start + d * (-(start // d)) * (start < 0)


def _max_pool(x, name, kernel, stride, padding, dilation, extra):
    """x (N, C, H, W) -> the max of each window and its flat index into H * W."""
    a = x.data
    xp = backend.array_module(a)
    n, c, h, w = a.shape
    widths = ((0, 0), (0, 0), (padding[0], padding[0] + extra[0]),
              (padding[1], padding[1] + extra[1]))
    values = im2col(xp.pad(a, widths, constant_values=_lowest(a.dtype)), kernel, stride,
                    (0, 0), dilation)                                # (N, C, kh, kw, OH, OW)
    positions = xp.arange(h * w, dtype=xp.int64).reshape(1, 1, h, w)
    positions = im2col(xp.pad(positions, widths, constant_values=-1), kernel, stride,
                       (0, 0), dilation)                             # (1, 1, kh, kw, OH, OW)
    oh, ow = values.shape[-2:]
    taps = kernel[0] * kernel[1]
    best = values.reshape(n, c, taps, oh, ow).argmax(axis=2)         # first max, as PyTorch
    positions = xp.broadcast_to(positions.reshape(1, 1, taps, oh, ow), (n, c, taps, oh, ow))
    index = xp.take_along_axis(positions, best[:, :, None], axis=2)[:, :, 0]  # (N, C, OH, OW)
    empty = None
    if (index < 0).any():
        # the max is a padding tap: every real tap is the lowest value (-inf), or there is
        # none. PyTorch then reports the window's first tap inside the input, and for a
        # window of padding alone its first tap at or after the top-left corner.
        first = (positions >= 0).argmax(axis=2)
        fallback = xp.take_along_axis(positions, first[:, :, None], axis=2)[:, :, 0]
        rows, cols = (_first_taps(o, s, p, d) for o, s, p, d in
                      zip((oh, ow), stride, padding, dilation))
        corner = backend.to_device((rows[:, None] * w + cols[None, :]), x.device)
        empty = (positions < 0).all(axis=2)
        index = xp.where(index >= 0, index, xp.where(empty, corner, fallback))
    # the gather y[n, c, i, j] = x[n, c, index[n, c, i, j]]: differentiable (indexing)
    safe = index if empty is None else xp.where(empty, 0, index)
    planes = (xp.arange(n)[:, None, None], xp.arange(c)[None, :, None],
              safe.reshape(n, c, oh * ow))
    y = x.reshape(n, c, h * w)[planes].reshape(n, c, oh, ow)
    if empty is not None and empty.any():   # a window of padding alone gives -inf
        y = where(empty, Tensor(xp.full(y.shape, _lowest(a.dtype), dtype=a.dtype)), y)
    return y, Tensor(index)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """The max of each (dilated) window; padding counts as -inf, so it never wins.

    return_indices=True also gives, as PyTorch, each max's flat index into its input plane
    (row * W + col, int64). Integer inputs give integers."""
    x4, unbatched = _batched(x, "max_pool2d")
    kernel, stride, padding, dilation, _, extra = _geometry(
        "max_pool2d", x4.shape[2:], kernel_size, stride, padding, dilation, ceil_mode)
    y, index = _max_pool(x4, "max_pool2d", kernel, stride, padding, dilation, extra)
    if unbatched:
        y, index = y[0], index[0]
    return (y, index) if return_indices else y


def max_pool1d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """max_pool2d over (N, C, L) or (C, L); indices index the length axis."""
    x4, unbatched = _batched1d(x, "max_pool1d")
    kernel, stride, padding, dilation, _, extra = _geometry(
        "max_pool1d", x4.shape[3:], kernel_size, stride, padding, dilation, ceil_mode)
    y, index = _max_pool(x4, "max_pool1d", (1,) + kernel, (1,) + stride, (0,) + padding,
                         (1,) + dilation, (0,) + extra)
    y, index = y[:, :, 0], index[:, :, 0]
    if unbatched:
        y, index = y[0], index[0]
    return (y, index) if return_indices else y


# ---- average pooling ------------------------------------------------------------------------

def _window_counts(size, out, k, s, p, count_include_pad):
    """PyTorch's divisor along one axis: window i covers [i s - p, min(i s - p + k, size + p))
    (it is cut at the right padding, not counting ceil_mode's extra); without
    count_include_pad only the part inside [0, size) counts."""
    start = np.arange(out) * s - p
    end = np.minimum(start + k, size + p)
    if count_include_pad:
        return end - start
    return np.minimum(end, size) - np.maximum(start, 0)


def _avg_pool(x, name, kernel, stride, padding, out, extra, count_include_pad,
              divisor_override):
    """x (N, C, H, W) -> window sums / divisors."""
    if x.dtype.kind not in "iuf":
        raise TypeError(f"{name}: expected a floating-point or integer input, got {x.dtype}")
    if divisor_override is not None and (
            isinstance(divisor_override, (bool, np.bool_))
            or not isinstance(divisor_override, (int, np.integer)) or divisor_override == 0):
        raise ValueError(f"{name}: divisor_override must be a non-zero integer or None, got "
                         f"{divisor_override!r}")
    if divisor_override is not None:
        divisor = np.full(out, int(divisor_override))
    else:
        rows, cols = (_window_counts(size, o, k, s, p, count_include_pad) for size, o, k, s, p
                      in zip(x.shape[2:], out, kernel, stride, padding))
        divisor = np.outer(rows, cols)                               # (OH, OW)
    divisor = backend.to_device(divisor, x.device)
    if any(extra):
        x = Pad(((0, 0), (0, 0), (0, extra[0]), (0, extra[1])))(x)
    if x.dtype.kind == "f":
        windows = Im2col(kernel, stride, padding)(x)                 # (N, C, kh, kw, OH, OW)
        return windows.sum(axis=(2, 3)) / Tensor(divisor.astype(x.dtype))
    # integers: the sum divided with truncation toward zero, as PyTorch (no gradient)
    sums = im2col(x.data.astype(np.int64), kernel, stride, padding, (1, 1)).sum(axis=(2, 3))
    xp = backend.array_module(sums)
    quotient = xp.sign(sums) * (xp.abs(sums) // xp.abs(divisor)) * xp.sign(divisor)
    return Tensor(quotient.astype(x.dtype))


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """The mean of each window. Padding zeros count unless count_include_pad=False; with
    ceil_mode the windows past the right padding are cut there (PyTorch's divisor);
    divisor_override replaces every divisor. Integer inputs give integers (truncated)."""
    x4, unbatched = _batched(x, "avg_pool2d")
    kernel, stride, padding, _, out, extra = _geometry(
        "avg_pool2d", x4.shape[2:], kernel_size, stride, padding, 1, ceil_mode)
    y = _avg_pool(x4, "avg_pool2d", kernel, stride, padding, out, extra, count_include_pad,
                  divisor_override)
    return y[0] if unbatched else y


def avg_pool1d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """avg_pool2d over (N, C, L) or (C, L)."""
    x4, unbatched = _batched1d(x, "avg_pool1d")
    kernel, stride, padding, _, out, extra = _geometry(
        "avg_pool1d", x4.shape[3:], kernel_size, stride, padding, 1, ceil_mode)
    y = _avg_pool(x4, "avg_pool1d", (1,) + kernel, (1,) + stride, (0,) + padding, (1,) + out,
                  (0,) + extra, count_include_pad, None)[:, :, 0]
    return y[0] if unbatched else y


def _adaptive_matrix(size, out, dtype):
    """A (out, size): row i averages x[floor(i size / out) : ceil((i + 1) size / out)]."""
    a = np.zeros((out, size), dtype=dtype)
    for i in range(out):
        start, end = (i * size) // out, -((-(i + 1) * size) // out)
        a[i, start:end] = 1.0 / (end - start)
    return a


def _output_sizes(name, output_size, spatial):
    n = len(spatial)
    sizes = (output_size,) * n if not isinstance(output_size, (tuple, list)) else output_size
    if len(sizes) != n:
        raise ValueError(f"{name}: output_size must be an int or a tuple of {n}, got "
                         f"{output_size!r}")
    return tuple(ints(size, "output_size", 1, 1, name)[0] if size is not None else default
                 for size, default in zip(sizes, spatial))


def adaptive_avg_pool2d(x, output_size):
    """Average pooling to a given (OH, OW): window i of an axis of size n covers
    [floor(i n / OH), ceil((i + 1) n / OH)), as PyTorch. y = A_h x A_w^T (linear)."""
    x4, unbatched = _batched(x, "adaptive_avg_pool2d")
    if x4.dtype.kind != "f":
        raise TypeError(f"adaptive_avg_pool2d: expected a floating-point input, got {x4.dtype}")
    oh, ow = _output_sizes("adaptive_avg_pool2d", output_size, x4.shape[2:])
    a_h = Tensor(backend.to_device(_adaptive_matrix(x4.shape[2], oh, x4.dtype), x4.device))
    a_w = Tensor(backend.to_device(_adaptive_matrix(x4.shape[3], ow, x4.dtype).T, x4.device))
    y = a_h @ (x4 @ a_w)
    return y[0] if unbatched else y


def adaptive_avg_pool1d(x, output_size):
    """Average pooling of (N, C, L) or (C, L) to a given length, y = x A^T."""
    if x.ndim not in (2, 3):
        raise ShapeError(f"adaptive_avg_pool1d: input must be (N, C, L) or (C, L), got shape "
                         f"{x.shape}")
    if x.dtype.kind != "f":
        raise TypeError(f"adaptive_avg_pool1d: expected a floating-point input, got {x.dtype}")
    (out,) = _output_sizes("adaptive_avg_pool1d", output_size, x.shape[-1:])
    return x @ Tensor(backend.to_device(_adaptive_matrix(x.shape[-1], out, x.dtype).T,
                                        x.device))


# ---- interpolate ----------------------------------------------------------------------------

LINEAR_MODES = {"linear": 3, "bilinear": 4, "trilinear": 5}
MODES = ("nearest", "nearest-exact", "area") + tuple(LINEAR_MODES)


def _inverse_scale(dtype, size_in, size_out, scale):
    """PyTorch's step from output to input coordinates: 1 / scale_factor when a scale was
    given, else in / out, rounded to `dtype` (float32 for nearest, as PyTorch computes it)."""
    if scale is not None and scale > 0:
        return dtype.type(1.0 / scale)
    return dtype.type(size_in) / dtype.type(size_out)


def _nearest_sources(size_in, size_out, scale, exact, shortcut):
    """Source index of each output pixel, in float32 as PyTorch: 'nearest' copies
    floor(i step), 'nearest-exact' floor((i + 0.5) step). With `shortcut` (PyTorch's 2-D
    nearest, and only that one) an output of the same size or exactly double copies i,
    resp. i // 2, whatever the scale."""
    i = np.arange(size_out)
    if shortcut and size_out == size_in:
        return i
    if shortcut and size_out == 2 * size_in:
        return i // 2
    step = _inverse_scale(np.dtype(np.float32), size_in, size_out, scale)
    if exact:
        src = np.floor(((i + 0.5) * np.float64(step)).astype(np.float32))
    else:
        src = np.floor(i.astype(np.float32) * step)
    return np.minimum(src.astype(np.int64), size_in - 1)


def _linear_sources(size_in, size_out, scale, align_corners, dtype):
    """Left source index, right source index and the right weight l of each output pixel,
    computed in the input's dtype as PyTorch: the source coordinate is i (in-1)/(out-1)
    with align_corners, else max(0, (i + 0.5) step - 0.5)."""
    t = dtype.type
    i = np.arange(size_out).astype(dtype)
    if align_corners:
        step = t(size_in - 1) / t(size_out - 1) if size_out > 1 else t(0)
        src = step * i
    else:
        step = _inverse_scale(dtype, size_in, size_out, scale)
        src = np.maximum(step * (i + t(0.5)) - t(0.5), t(0))
    left = np.minimum(np.floor(src).astype(np.int64), size_in - 1)
    weight = np.clip(src - left.astype(dtype), t(0), t(1)).astype(dtype)
    right = left + (left < size_in - 1)
    return left, right, weight


def _take(x, axis, index):
    return x[(slice(None),) * axis + (backend.to_device(index, x.device),)]


def _repeat(x, axis, times):
    """Each element repeated `times` times along `axis` (broadcast, no gather)."""
    shape = x.shape
    y = x.reshape(*shape[:axis + 1], 1, *shape[axis + 1:])
    y = y.broadcast_to(*shape[:axis + 1], times, *shape[axis + 1:])
    return y.reshape(*shape[:axis], shape[axis] * times, *shape[axis + 1:])


def _resize_nearest(x, axis, size_out, scale, exact):
    size_in = x.shape[axis]
    src = _nearest_sources(size_in, size_out, scale, exact, shortcut=not exact and x.ndim == 4)
    if size_out == size_in and np.array_equal(src, np.arange(size_out)):
        return x
    times = size_out // size_in
    if size_out % size_in == 0 and np.array_equal(src, np.arange(size_out) // times):
        return _repeat(x, axis, times)
    return _take(x, axis, src)


def _resize_linear(x, axis, size_out, scale, align_corners):
    if size_out == x.shape[axis]:
        return x  # PyTorch copies an axis whose size does not change, whatever the scale
    left, right, weight = _linear_sources(x.shape[axis], size_out, scale, align_corners,
                                          x.dtype)
    trailing = (1,) * (x.ndim - axis - 1)
    w1 = Tensor(backend.to_device(weight.reshape(-1, *trailing), x.device))
    w0 = Tensor(backend.to_device((1 - weight).astype(x.dtype).reshape(-1, *trailing),
                                  x.device))
    return _take(x, axis, left) * w0 + _take(x, axis, right) * w1


def _scales(scale_factor, dims):
    scales = tuple(scale_factor) if isinstance(scale_factor, (tuple, list)) \
        else (scale_factor,) * dims
    if len(scales) != dims or not all(
            isinstance(s, (int, float, np.integer, np.floating))
            and not isinstance(s, (bool, np.bool_)) for s in scales):
        raise ValueError(f"interpolate: scale_factor must be a number or a tuple of {dims} "
                         f"numbers for a {dims + 2}-D input, got {scale_factor!r}")
    if not all(math.isfinite(s) and s > 0 for s in scales):
        raise ValueError(f"interpolate: scale_factor must be positive and finite, got "
                         f"{scale_factor!r}")
    return tuple(float(s) for s in scales)


def interpolate(x, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial axes of (N, C, L), (N, C, H, W) or (N, C, D, H, W), as PyTorch.

    Give `size` or `scale_factor` (then each size is floor(in * scale), and the source
    coordinates use 1 / scale unless recompute_scale_factor=True). Modes: 'nearest'
    (x[floor(i / scale)]), 'nearest-exact' (x[floor((i + 0.5) / scale)]), 'linear' (3-D),
    'bilinear' (4-D), 'trilinear' (5-D) with align_corners, and 'area' (adaptive average
    pooling, 3-D and 4-D). Axes are resized one at a time (the linear modes are separable)."""
    if mode not in MODES:
        raise ValueError(f"interpolate: mode must be one of {', '.join(MODES)}, got {mode!r}")
    if align_corners is not None and mode not in LINEAR_MODES:
        raise ValueError(f"interpolate: align_corners can only be set with the interpolating "
                         f"modes linear, bilinear and trilinear, not with mode={mode!r}")
    if antialias:
        raise ValueError("interpolate: antialias=True is not supported")
    if x.ndim not in (3, 4, 5):
        raise ShapeError(f"interpolate: input must be (N, C, L), (N, C, H, W) or "
                         f"(N, C, D, H, W), got shape {x.shape}")
    if mode in LINEAR_MODES and x.ndim != LINEAR_MODES[mode]:
        raise ShapeError(f"interpolate: mode {mode!r} needs a {LINEAR_MODES[mode]}-D input, "
                         f"got shape {x.shape}")
    if mode == "area" and x.ndim == 5:
        raise ShapeError(f"interpolate: mode 'area' takes 3-D or 4-D input, got shape {x.shape}")
    if mode not in ("nearest", "nearest-exact") and x.dtype.kind != "f":
        raise TypeError(f"interpolate: mode {mode!r} needs a floating-point input, got "
                        f"{x.dtype}")
    dims, spatial = x.ndim - 2, x.shape[2:]
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    if size is not None:
        if recompute_scale_factor:
            raise ValueError("interpolate: recompute_scale_factor=True needs scale_factor, "
                             "not size")
        out = ints(size, "size", 1, dims, "interpolate")
        scales = (None,) * dims
    else:
        scales = _scales(scale_factor, dims)
        out = tuple(int(math.floor(n * s)) for n, s in zip(spatial, scales))
        for axis, (n, s, o) in enumerate(zip(spatial, scales, out)):
            if o < 1:
                raise ShapeError(f"interpolate: scale_factor {s} makes axis {axis + 2} of "
                                 f"input shape {x.shape} empty (floor({n} * {s}) = {o})")
        if recompute_scale_factor:
            scales = (None,) * dims
    if mode == "area":
        return adaptive_avg_pool1d(x, out) if dims == 1 else adaptive_avg_pool2d(x, out)
    y = x
    for k in reversed(range(dims)):   # the last axis first: PyTorch's order of arithmetic
        axis = 2 + k
        if mode in LINEAR_MODES:
            y = _resize_linear(y, axis, out[k], scales[k], bool(align_corners))
        else:
            y = _resize_nearest(y, axis, out[k], scales[k], mode == "nearest-exact")
    return y
