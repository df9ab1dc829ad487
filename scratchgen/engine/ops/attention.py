"""Scaled dot-product attention as one Function (Vaswani et al. 2017, eq. 1):

    out = softmax(Q K^T * scale + M) V          q (..., L, E), k (..., S, E), v (..., S, Ev)

Forward runs the registry's "attention_forward" kernel on the batch dims broadcast and
flattened to B, and saves q, k, v, out and the per-row log-sum-exp lse (B, L): nothing of
size L x S. Backward runs "attention_backward", which rebuilds P_ij = exp(S_ij - lse_i)
tile by tile:

    dV = P^T dO      dP = dO V^T      dS = P * (dP - rowsum(dO * O))      dQ = dS K scale
    dK = dS^T Q scale

When gradients of gradients are recorded (create_graph=True), the kernel's arrays would
cut the graph, so backward writes the same formulas with Tensor ops on the composed
probabilities instead (`composed_probabilities`), and autograd differentiates those.

M: a causal mask (query i sees keys 0..i, top-left aligned), a boolean mask (True = may
attend) or a float mask added to the scores. A row with every key masked gives zeros, and
zero gradients, never NaN (as torch 2.13).
"""
import math

from .. import backend
from ..creation import where
from ..dispatch import call
from ..function import Function, is_grad_enabled
from ..tensor import Tensor
from .shape import swapaxes


# ---- the composed math, in Tensor ops (differentiable to any order) ------------------------

def composed_scores(q, k, mask, causal, scale):
    """(..., L, E), (..., S, E) -> (..., L, S): Q K^T * scale with the mask applied.

    mask: None, a boolean array (True = attend), or a float array or Tensor added to the
    scores (a Tensor that requires grad gets its gradient through this path)."""
    scores = (q @ swapaxes(k, -1, -2)) * scale     # (..., L, E) @ (..., E, S) -> (..., L, S)
    xp = q.xp
    if causal:
        mask = xp.tril(xp.ones(scores.shape[-2:], dtype=bool))   # top-left aligned, as torch
    if mask is None:
        return scores
    if not isinstance(mask, Tensor) and mask.dtype == bool:
        return where(mask, scores, -math.inf)
    return scores + mask


def masked_softmax(scores):
    """softmax over the last axis; a row of only -inf (every key masked) gives zeros."""
    row_max = scores.data.max(axis=-1, keepdims=True)
    xp = scores.xp
    shift = Tensor(xp.where(xp.isfinite(row_max), row_max, 0))   # a constant: exp(-inf - 0) = 0
    e = (scores - shift).exp()
    total = e.sum(axis=-1, keepdims=True)
    return e / where(total.data > 0, total, 1.0)                 # 0 / 1 on an empty row


def composed_probabilities(q, k, mask, causal, scale):
    """P = softmax(Q K^T * scale + M), (..., L, S), written out in full."""
    return masked_softmax(composed_scores(q, k, mask, causal, scale))


def composed_attention(q, k, v, mask, causal, scale):
    """P V with the whole (..., L, S) matrix P: the path for a float mask that needs a gradient."""
    return composed_probabilities(q, k, mask, causal, scale) @ v   # (..., L, Ev)


# ---- the Function ----------------------------------------------------------------------------

class Attention(Function):
    """Attention(mask, causal, scale)(q, k, v) -> (..., L, Ev).

    mask: None or a raw boolean/float array broadcastable to (..., L, S) (no gradient: a
    float mask that needs one takes `composed_attention` instead)."""

    def __init__(self, mask, causal, scale):
        self.mask, self.causal, self.scale = mask, causal, scale

    def _flat(self, q, k, v):
        """q, k, v and the mask with their batch dims broadcast and flattened to B."""
        xp = backend.array_module(q)
        batch = xp.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2],
                                    () if self.mask is None else self.mask.shape[:-2])
        dtype = xp.result_type(q, k, v)
        length, source = q.shape[-2], k.shape[-2]
        flat = [xp.broadcast_to(a.astype(dtype, copy=False), batch + a.shape[-2:])
                  .reshape((-1,) + a.shape[-2:]) for a in (q, k, v)]   # (B, L, E), (B, S, E), (B, S, Ev)
        mask = self.mask
        if mask is not None:
            mask = mask.reshape((1,) * (len(batch) + 2 - mask.ndim) + mask.shape)
            # The batch dims merge without a copy when the mask is shared across them; a mask
            # that varies along one batch dim and not another ((N, 1, 1, S) padding) is copied
            # along the batch dims only, its own (1 or L, 1 or S) trailing shape kept.
            mask = xp.broadcast_to(mask, batch + mask.shape[-2:]).reshape((-1,) + mask.shape[-2:])
            mask = xp.broadcast_to(mask, (flat[0].shape[0], length, source))     # (B, L, S)
        return batch, flat, mask

    def forward(self, q, k, v):
        batch, (qf, kf, vf), mask = self._flat(q, k, v)
        out, self.lse = call("attention_forward", qf, kf, vf, mask, self.causal, self.scale)
        self.out = out                                          # (B, L, Ev)
        return out.reshape(batch + out.shape[1:])              # (..., L, Ev)

    def backward(self, g):
        q, k, v = self.inputs
        if is_grad_enabled():
            # create_graph=True: the gradient must itself be a graph, so write backward in
            # Tensor ops (the same formulas as the kernel, on the composed P).
            p = composed_probabilities(q, k, self.mask, self.causal, self.scale)   # (..., L, S)
            dv = swapaxes(p, -1, -2) @ g                                           # (..., S, Ev)
            dp = g @ swapaxes(v, -1, -2)                                           # (..., L, S)
            ds = p * (dp - (p * dp).sum(axis=-1, keepdims=True)) * self.scale      # (..., L, S)
            return ds @ k, swapaxes(ds, -1, -2) @ q, dv
        batch, (qf, kf, vf), mask = self._flat(q.data, k.data, v.data)
        gf = g.data.reshape(self.out.shape)                                        # (B, L, Ev)
        grads = call("attention_backward", qf, kf, vf, self.out, self.lse, gf, mask,
                     self.causal, self.scale)
        # each gradient has the broadcast batch shape; autograd sums it back to the input's
        return tuple(Tensor(d.reshape(batch + d.shape[1:])) if needed else None
                     for d, needed in zip(grads, self.needs_input_grad))
