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

Every attention in scratchgen goes through `attend` below (F.scaled_dot_product_attention,
nn.MultiheadAttention, and through those the GPT and U-Net models). Two requests take the
composed path, with the whole (..., L, S) matrix of weights P:

    dropout_p > 0      P is dropped out (inverted dropout, as F.dropout, from scratchgen's
                       generator) before P V, as torch's dropout_p
    need_weights       P (after dropout: the weights P V used) is returned as well

With neither, the result is the kernels' Function exactly as before, bit for bit.
"""
import math

from ..engine.ops.attention import (Attention, composed_attention, composed_scores,
                                    masked_softmax)
from ..engine.tensor import Tensor
from ..errors import ShapeError
from .sparse import dropout


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


def scaled_dot_product_attention(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False,
                                 scale=None):
    """softmax(Q K^T * scale + M) V: (..., L, E), (..., S, E), (..., S, Ev) -> (..., L, Ev).

    torch's arguments and order; dropout_p drops attention weights whenever it is > 0
    (as in torch, there is no training flag: pass 0 in eval)."""
    out, _ = attend(q, k, v, attn_mask, dropout_p, is_causal, scale)
    return out


def attend(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
           need_weights=False):
    """The one attention path: (out (..., L, Ev), weights (..., L, S) or None).

    Arguments as scaled_dot_product_attention's (boolean masks: True = may attend);
    need_weights=True also returns the weights P that multiplied v (after dropout)."""
    q, k, v = (x if isinstance(x, Tensor) else Tensor(x) for x in (q, k, v))
    _check(q, k, v)
    if attn_mask is not None and is_causal:
        raise ValueError("scaled_dot_product_attention: give attn_mask or is_causal, not both")
    if not 0 <= dropout_p <= 1:
        raise ValueError(f"scaled_dot_product_attention: dropout_p must be in [0, 1], got "
                         f"{dropout_p!r}")
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    causal = bool(is_causal)
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
            mask = attn_mask      # the kernels give no gradient for the mask: keep the Tensor
    if need_weights or dropout_p > 0:
        # the weights are wanted or dropped out: written out in full
        scores = composed_scores(q, k, mask, causal, scale)           # (..., L, S)
        weights = dropout(masked_softmax(scores), dropout_p)          # all-masked rows: 0
        return weights @ v, (weights if need_weights else None)       # (..., L, Ev)
    if isinstance(mask, Tensor):
        return composed_attention(q, k, v, mask, False, scale), None  # (..., L, Ev)
    return Attention(mask, causal, scale)(q, k, v), None              # (..., L, Ev)
