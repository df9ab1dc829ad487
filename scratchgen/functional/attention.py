"""Scaled dot-product attention (Vaswani et al. 2017, eq. 1):

    Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k) + M) V

q (..., L, E), k (..., S, E), v (..., S, Ev) -> (..., L, Ev). M is 0 where a query may look
at a key and -inf where it may not (a boolean mask with True = attend, or a causal mask),
or a float mask of the query's dtype that is added to the scores (any other dtype is an
error, as in torch). A query whose keys are all masked (False, or -inf, everywhere in its
row) gets zeros and zero gradients, never NaN (as torch 2.13).

It runs as one Function (scratchgen/engine/ops/attention.py) whose forward and backward
are the registry's attention kernels (flash-style on the CPU: no L x S matrix is kept).
A float mask Tensor that requires grad takes the composed path instead (the kernels give
no gradient for the mask); the math of both lives in that one file.
"""
import math

from ..engine.ops.attention import Attention, composed_attention
from ..engine.tensor import Tensor
from ..errors import ShapeError


def _check(q, k, v):
    if min(q.ndim, k.ndim, v.ndim) < 2:
        raise ShapeError(f"scaled_dot_product_attention: q, k, v must be at least 2-D "
                         f"(..., length, features), got {q.shape}, {k.shape}, {v.shape}")
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ShapeError(f"scaled_dot_product_attention: shapes q {q.shape}, k {k.shape}, "
                         f"v {v.shape} do not fit: q and k need the same feature size and "
                         "k and v the same length")


def check_mask_dtype(mask, q, name, what):
    """The raw array of a mask: booleans, or floats of the query's dtype (torch's rule); a
    Python list of floats takes the query's dtype. Any other dtype is an error."""
    if isinstance(mask, Tensor) or hasattr(mask, "dtype"):
        array = mask.data if isinstance(mask, Tensor) else q.xp.asarray(mask)
    else:
        array = q.xp.asarray(mask)
        if array.dtype.kind in "f":
            array = array.astype(q.dtype)
    if array.dtype == bool or array.dtype == q.dtype:
        return array
    raise TypeError(f"{name}: {what} must be boolean or have the query's dtype {q.dtype}, got "
                    f"dtype {array.dtype}")


def scaled_dot_product_attention(q, k, v, attn_mask=None, is_causal=False, scale=None):
    q, k, v = (x if isinstance(x, Tensor) else Tensor(x) for x in (q, k, v))
    _check(q, k, v)
    if attn_mask is not None and is_causal:
        raise ValueError("scaled_dot_product_attention: give attn_mask or is_causal, not both")
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    mask = attn_mask
    if mask is not None:
        xp = q.xp
        mask = check_mask_dtype(attn_mask, q, "scaled_dot_product_attention", "attn_mask")
        batch = xp.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
        scores_shape = batch + (q.shape[-2], k.shape[-2])
        try:
            xp.broadcast_shapes(mask.shape, scores_shape)
        except ValueError:
            raise ShapeError(f"scaled_dot_product_attention: attn_mask of shape {mask.shape} "
                             f"does not broadcast to the scores' shape {scores_shape}") from None
        if isinstance(attn_mask, Tensor) and attn_mask.requires_grad and mask.dtype != bool:
            # the kernels give no gradient for the mask: the composed path does
            return composed_attention(q, k, v, attn_mask, False, scale)
    return Attention(mask, bool(is_causal), scale)(q, k, v)     # (..., L, Ev)
