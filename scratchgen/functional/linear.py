"""Linear maps: the affine layer and 1-D and 2-D (transposed) convolution, NCL and NCHW.

The convolution arithmetic lives in engine/ops/conv.py (three Functions that differentiate
into each other) and the kernels it runs are chosen by the registry (engine/dispatch.py);
this file checks arguments, computes output sizes and adds the bias. A 1-D convolution is
the 2-D one over a unit height axis: (N, C, L) -> (N, C, 1, L), kernel (O, C/g, k) ->
(O, C/g, 1, k).
"""
import numpy as np

from ..engine.ops.conv import Conv2d, Conv2dInputGrad, ConvGeometry
from ..engine.ops.fused import Affine
from ..engine.ops.shape import unsqueeze
from ..errors import ShapeError


def linear(x, weight, bias=None):
    """y = x W^T + b, with W of shape (out_features, in_features).

    Leading dimensions are flattened into rows first, as PyTorch does: x (..., in) becomes
    (M, in), so the forward is one (M, in) @ (in, out) product and the backward one GEMM
    each for dx and dW (not a batch of small products, and a batched dW summed after)."""
    if weight.ndim != 2:
        raise ShapeError(f"linear: weight must be 2-D (out_features, in_features), got {weight.shape}")
    if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ShapeError(f"linear: input of shape {x.shape} does not fit weight of shape "
                         f"{weight.shape}: the input's last dimension must be {weight.shape[1]}")
    params = [weight]
    if bias is not None:
        if bias.shape != (weight.shape[0],):
            raise ShapeError(f"linear: bias of shape {bias.shape} does not fit weight of shape "
                             f"{weight.shape}; expected ({weight.shape[0]},)")
        params.append(bias)
    if x.ndim == 2:
        return Affine()(x, *params)                                  # (M, in) -> (M, out)
    rows = x.reshape(-1, weight.shape[1])                            # (..., in) -> (M, in)
    return Affine()(rows, *params).reshape(*x.shape[:-1], weight.shape[0])  # -> (..., out)


def ints(value, name, minimum, n, op=None):
    """An int or a sequence of n ints, each >= minimum, as an n-tuple (an int is repeated).

    `op` (the function or layer asking) starts the error message when given."""
    where = f"{op}: " if op else ""
    is_int = lambda v: isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))
    if is_int(value):
        values = (value,) * n
    elif isinstance(value, (tuple, list)):
        values = tuple(value)
    else:
        raise ValueError(f"{where}{name} must be an integer >= {minimum} or a tuple of {n} of "
                         f"them, got {value!r} (a {type(value).__name__})")
    if len(values) != n or not all(is_int(v) and v >= minimum for v in values):
        raise ValueError(f"{where}{name} must be an integer >= {minimum} or a tuple of {n} of "
                         f"them, got {value!r}")
    return tuple(int(v) for v in values)


def pair(value, name, minimum, op=None):
    """An int or a pair of ints, each >= minimum, as a pair (height, width)."""
    return ints(value, name, minimum, 2, op)


def _batched(x, name):
    """Accept (C, H, W) as a batch of one, like PyTorch; anything else but 4-D is an error."""
    if x.ndim == 3:
        return unsqueeze(x, 0), True
    if x.ndim != 4:
        raise ShapeError(f"{name}: input must be (N, C, H, W) or (C, H, W), got shape {x.shape}")
    return x, False


def _add_channel_bias(y, bias, channels, name):
    if bias is None:
        return y
    if bias.shape != (channels,):
        raise ShapeError(f"{name}: bias of shape {bias.shape} does not match {channels} output "
                         f"channels; expected ({channels},)")
    return y + bias.reshape(1, channels, 1, 1)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Cross-correlation: y[n,o,i,j] = b[o] + sum_{c,p,q} w[o,c,p,q] x[n, g c, s i + d p - pad, ...].

    x (N, C, H, W), weight (O, C / groups, kh, kw) -> y (N, O, OH, OW) with
    OH = floor((H + 2 pad - d (kh - 1) - 1) / s) + 1.
    """
    x, unbatched = _batched(x, "conv2d")
    stride, padding = pair(stride, "stride", 1), pair(padding, "padding", 0)
    dilation = pair(dilation, "dilation", 1)
    if not isinstance(groups, int) or groups < 1:
        raise ValueError(f"conv2d: groups must be a positive int, got {groups!r}")
    if weight.ndim != 4:
        raise ShapeError(f"conv2d: weight must be (out, in / groups, kh, kw), got {weight.shape}")
    out_ch, in_per_group, kh, kw = weight.shape
    if x.shape[1] != in_per_group * groups or out_ch % groups:
        raise ShapeError(f"conv2d: input of shape {x.shape} does not fit weight of shape "
                         f"{weight.shape} with groups={groups}: expected {in_per_group * groups} "
                         f"input channels and out channels divisible by {groups}")
    for size, k, s, p, d, axis in zip(x.shape[2:], (kh, kw), stride, padding, dilation, "HW"):
        if size + 2 * p < d * (k - 1) + 1:
            raise ShapeError(f"conv2d: input of shape {x.shape} (padded {axis} = {size + 2 * p}) "
                             f"is smaller than the kernel {weight.shape[2:]} with dilation {d}")
    y = Conv2d(ConvGeometry(stride, padding, dilation, groups))(x, weight)
    y = _add_channel_bias(y, bias, out_ch, "conv2d")
    return y[0] if unbatched else y


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """The adjoint of conv2d (sometimes called a fractionally strided convolution).

    x (N, C_in, H, W), weight (C_in, C_out / groups, kh, kw) -> (N, C_out, OH, OW) with
    OH = (H - 1) s - 2 pad + d (kh - 1) + output_padding + 1.
    """
    x, unbatched = _batched(x, "conv_transpose2d")
    stride, padding = pair(stride, "stride", 1), pair(padding, "padding", 0)
    dilation = pair(dilation, "dilation", 1)
    output_padding = pair(output_padding, "output_padding", 0)
    if not isinstance(groups, int) or groups < 1:
        raise ValueError(f"conv_transpose2d: groups must be a positive int, got {groups!r}")
    if weight.ndim != 4:
        raise ShapeError(f"conv_transpose2d: weight must be (in, out / groups, kh, kw), "
                         f"got {weight.shape}")
    in_ch, out_per_group, kh, kw = weight.shape
    if x.shape[1] != in_ch or in_ch % groups:
        raise ShapeError(f"conv_transpose2d: input of shape {x.shape} does not fit weight of "
                         f"shape {weight.shape} with groups={groups}: expected {in_ch} input "
                         f"channels, divisible by {groups}")
    if any(op >= s for op, s in zip(output_padding, stride)):
        # (PyTorch also allows output_padding < dilation; that output is not the adjoint of
        # any conv2d and is not supported here.)
        raise ValueError(f"conv_transpose2d: output_padding {output_padding} must be smaller "
                         f"than stride {stride}")
    out_size = [(size - 1) * s - 2 * p + d * (k - 1) + op + 1 for size, s, p, d, k, op in
                zip(x.shape[2:], stride, padding, dilation, (kh, kw), output_padding)]
    if min(out_size) < 1:
        raise ShapeError(f"conv_transpose2d: input of shape {x.shape} with padding {padding} "
                         f"gives an empty output {tuple(out_size)}")
    out_ch = out_per_group * groups
    out_shape = (x.shape[0], out_ch, *out_size)
    y = Conv2dInputGrad(ConvGeometry(stride, padding, dilation, groups), out_shape)(x, weight)
    y = _add_channel_bias(y, bias, out_ch, "conv_transpose2d")
    return y[0] if unbatched else y


# ---- 1-D convolutions: the 2-D ones over a unit height axis ---------------------------------

def _conv1d_args(x, weight, name, stride, padding, dilation, groups, **extra):
    """Check a 1-D convolution's arguments (so errors name it and its 1-D shapes) and give
    the input as (N, C, L), whether it was unbatched, and the scalar geometry."""
    if x.ndim not in (2, 3):
        raise ShapeError(f"{name}: input must be (N, C, L) or (C, L), got shape {x.shape}")
    if weight.ndim != 3:
        layout = "(in, out / groups, k)" if "transpose" in name else "(out, in / groups, k)"
        raise ShapeError(f"{name}: weight must be {layout}, got shape {weight.shape}")
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{name}: groups must be a positive int, got {groups!r}")
    geometry = dict(stride=ints(stride, "stride", 1, 1, name)[0],
                    padding=ints(padding, "padding", 0, 1, name)[0],
                    dilation=ints(dilation, "dilation", 1, 1, name)[0])
    for key, (value, minimum) in extra.items():
        geometry[key] = ints(value, key, minimum, 1, name)[0]
    unbatched = x.ndim == 2
    return (unsqueeze(x, 0) if unbatched else x), unbatched, geometry, int(groups)


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """y[n,o,i] = b[o] + sum_{c,p} w[o,c,p] x[n, g c, s i + d p - pad]: conv2d over a unit
    height axis. x (N, C, L) or (C, L), weight (O, C / groups, k) -> y (N, O, OL) with
    OL = floor((L + 2 pad - d (k - 1) - 1) / s) + 1."""
    x, unbatched, geo, groups = _conv1d_args(x, weight, "conv1d", stride, padding, dilation,
                                             groups)
    out_ch, in_per_group, k = weight.shape
    if x.shape[1] != in_per_group * groups or out_ch % groups:
        raise ShapeError(f"conv1d: input of shape {x.shape} does not fit weight of shape "
                         f"{weight.shape} with groups={groups}: expected {in_per_group * groups} "
                         f"input channels and out channels divisible by {groups}")
    padded = x.shape[2] + 2 * geo["padding"]
    if padded < geo["dilation"] * (k - 1) + 1:
        raise ShapeError(f"conv1d: input of shape {x.shape} (padded length {padded}) is "
                         f"smaller than the kernel ({k},) with dilation {geo['dilation']}")
    if bias is not None and bias.shape != (out_ch,):
        raise ShapeError(f"conv1d: bias of shape {bias.shape} does not match {out_ch} output "
                         f"channels; expected ({out_ch},)")
    y = conv2d(unsqueeze(x, 2), unsqueeze(weight, 2), None, (1, geo["stride"]),
               (0, geo["padding"]), (1, geo["dilation"]), groups)   # (N, O, 1, OL)
    y = y.reshape(y.shape[0], out_ch, y.shape[3])
    if bias is not None:
        y = y + bias.reshape(1, out_ch, 1)
    return y[0] if unbatched else y


def conv_transpose1d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """The adjoint of conv1d: conv_transpose2d over a unit height axis. x (N, C_in, L) or
    (C_in, L), weight (C_in, C_out / groups, k) -> (N, C_out, OL) with
    OL = (L - 1) s - 2 pad + d (k - 1) + output_padding + 1."""
    x, unbatched, geo, groups = _conv1d_args(x, weight, "conv_transpose1d", stride, padding,
                                             dilation, groups,
                                             output_padding=(output_padding, 0))
    in_ch, out_per_group, k = weight.shape
    if x.shape[1] != in_ch or in_ch % groups:
        raise ShapeError(f"conv_transpose1d: input of shape {x.shape} does not fit weight of "
                         f"shape {weight.shape} with groups={groups}: expected {in_ch} input "
                         f"channels, divisible by {groups}")
    if geo["output_padding"] >= geo["stride"]:
        raise ValueError(f"conv_transpose1d: output_padding {geo['output_padding']} must be "
                         f"smaller than stride {geo['stride']}")
    length = ((x.shape[2] - 1) * geo["stride"] - 2 * geo["padding"]
              + geo["dilation"] * (k - 1) + geo["output_padding"] + 1)
    if length < 1:
        raise ShapeError(f"conv_transpose1d: input of shape {x.shape} with padding "
                         f"{geo['padding']} gives an empty output (length {length})")
    out_ch = out_per_group * groups
    if bias is not None and bias.shape != (out_ch,):
        raise ShapeError(f"conv_transpose1d: bias of shape {bias.shape} does not match "
                         f"{out_ch} output channels; expected ({out_ch},)")
    y = conv_transpose2d(unsqueeze(x, 2), unsqueeze(weight, 2), None, (1, geo["stride"]),
                         (0, geo["padding"]), (0, geo["output_padding"]), groups,
                         (1, geo["dilation"]))                        # (N, O, 1, OL)
    y = y.reshape(y.shape[0], out_ch, y.shape[3])
    if bias is not None:
        y = y + bias.reshape(1, out_ch, 1)
    return y[0] if unbatched else y
