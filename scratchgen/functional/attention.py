"""Scaled dot-product attention (Vaswani et al. 2017, eq. 1):

    Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k) + M) V

q (..., L, E), k (..., S, E), v (..., S, Ev) -> (..., L, Ev). M is 0 where a query may look
at a key and -inf where it may not (a boolean mask with True = attend, or a causal mask),
or any float mask that is added to the scores.
"""
import math

from ..engine.creation import where
from ..engine.ops.shape import swapaxes
from ..engine.tensor import Tensor
from ..errors import ShapeError
from .activations import softmax


def _check(q, k, v):
    if min(q.ndim, k.ndim, v.ndim) < 2:
        raise ShapeError(f"scaled_dot_product_attention: q, k, v must be at least 2-D "
                         f"(..., length, features), got {q.shape}, {k.shape}, {v.shape}")
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ShapeError(f"scaled_dot_product_attention: shapes q {q.shape}, k {k.shape}, "
                         f"v {v.shape} do not fit: q and k need the same feature size and "
                         "k and v the same length")


def scaled_dot_product_attention(q, k, v, attn_mask=None, is_causal=False, scale=None):
    _check(q, k, v)
    if attn_mask is not None and is_causal:
        raise ValueError("scaled_dot_product_attention: give attn_mask or is_causal, not both")
    length, source_length = q.shape[-2], k.shape[-2]
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = (q @ swapaxes(k, -1, -2)) * scale  # (..., L, E) @ (..., E, S) -> (..., L, S)
    xp = q.xp
    if is_causal:
        # query i sees keys 0..i (the mask is aligned to the top-left, as in PyTorch)
        attn_mask = xp.tril(xp.ones((length, source_length), dtype=bool))
    if attn_mask is not None:
        mask = attn_mask.data if isinstance(attn_mask, Tensor) else xp.asarray(attn_mask)
        try:
            xp.broadcast_shapes(mask.shape, scores.shape)
        except ValueError:
            raise ShapeError(f"scaled_dot_product_attention: attn_mask of shape {mask.shape} "
                             f"does not broadcast to the scores' shape {scores.shape}") from None
        if mask.dtype == bool:
            scores = where(mask, scores, -math.inf)
        else:
            scores = scores + (attn_mask if isinstance(attn_mask, Tensor) else Tensor(mask))
    return softmax(scores, axis=-1) @ v  # (..., L, S) @ (..., S, Ev) -> (..., L, Ev)
