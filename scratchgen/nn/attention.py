"""Multi-head attention (Vaswani et al., 2017, section 3.2), a twin of torch.nn.MultiheadAttention:
the same parameter names, initialisation, shapes and mask conventions, so weights copy over.

    head_i = Attention(Q Wq_i, K Wk_i, V Wv_i)
    Attention(Q, K, V) = softmax(Q K^T / sqrt(d_head) + mask) V           (eq. 1)
    MultiHead(Q, K, V) = concat(head_1, ..., head_h) Wo                    (section 3.2.2)

Masks follow PyTorch's nn.MultiheadAttention, which is the opposite of
F.scaled_dot_product_attention for booleans:

    attn_mask / key_padding_mask boolean:  True = NOT allowed to attend
    attn_mask / key_padding_mask float:    added to the scores (-inf forbids); of the
                                           query's dtype (any other dtype is an error)

A query whose keys are all masked gets zero attention weights and a zero attention output
(then out_proj's bias), never NaN: torch 2.13 agrees with need_weights=False and gives NaN
with need_weights=True.

The attention itself (scores, softmax, dropout, weights) is `functional.attention.attend`,
the path F.scaled_dot_product_attention takes too; this module does the projections, the
head split and merge, the masks' conversion and the averaging of the weights over heads.
"""
from .. import functional as F
from ..engine.tensor import Tensor
from ..errors import ShapeError
from ..functional import attention as attention_path
from ..functional.attention import check_mask_dtype
from . import init
from .layers import Linear, empty_parameter, float_dtype, positive_int
from .module import Module


class MultiheadAttention(Module):
    """Inputs (L, N, E) (or (N, L, E) with batch_first, or unbatched (L, E)); L query positions,
    S key positions, N batch, E = embed_dim, H = num_heads, D = E / H.

    in_proj_weight (3E, E) holds Wq, Wk, Wv stacked; out_proj is Wo (a Linear).
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, batch_first=False,
                 dtype=None):
        super().__init__()
        self.embed_dim = positive_int("embed_dim", embed_dim)
        self.num_heads = positive_int("num_heads", num_heads)
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim ({embed_dim}) must be divisible by num_heads "
                             f"({num_heads})")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"dropout must be in [0, 1], got {dropout!r}")
        self.head_dim = embed_dim // num_heads
        self.dropout = float(dropout)
        self.batch_first = batch_first
        dtype = float_dtype(dtype)
        self.in_proj_weight = empty_parameter((3 * embed_dim, embed_dim), dtype)
        self.register_parameter("in_proj_bias", empty_parameter((3 * embed_dim,), dtype)
                                if bias else None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        self.reset_parameters()

    def reset_parameters(self):
        # PyTorch: Xavier-uniform over the stacked (3E, E) matrix, zero biases; out_proj keeps
        # Linear's default weight.
        init.xavier_uniform_(self.in_proj_weight)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, is_causal=False, average_attn_weights=True):
        """Returns (output, weights). output has query's layout; weights are (N, L, S)
        averaged over heads, (N, H, L, S) with average_attn_weights=False, or None when
        need_weights=False. (Batch axis dropped for unbatched inputs.)

        is_causal with no attn_mask applies the causal mask (PyTorch raises there); with an
        attn_mask it is a hint that the mask is causal, and the mask is used as given."""
        query, key, value = self._check_ranks(query, key, value)
        batched = query.ndim == 3
        query, key, value = (self._batch_first(t, batched) for t in (query, key, value))
        n, l, e = query.shape  # (N, L, E)
        s = key.shape[1]
        self._check_shapes(query, key, value, batched)

        w_q, w_k, w_v = (self.in_proj_weight[i * e:(i + 1) * e] for i in range(3))  # (E, E)
        b_q = b_k = b_v = None
        if self.in_proj_bias is not None:
            b_q, b_k, b_v = (self.in_proj_bias[i * e:(i + 1) * e] for i in range(3))
        q = self._split_heads(F.linear(query, w_q, b_q))  # (N, H, L, D)
        k = self._split_heads(F.linear(key, w_k, b_k))    # (N, H, S, D)
        v = self._split_heads(F.linear(value, w_v, b_v))  # (N, H, S, D)

        mask = self._additive_mask(attn_mask, key_padding_mask, is_causal, n, l, s, q)
        # the package's one attention path; weights (N, H, L, S) after dropout, or None
        heads, weights = attention_path.attend(                           # (N, H, L, D)
            q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0,
            need_weights=need_weights)

        concat = heads.transpose(0, 2, 1, 3).reshape(n, l, e)  # (N, L, H, D) -> (N, L, E)
        out = self.out_proj(concat)                            # (N, L, E)
        if not batched:
            out = out.reshape(l, e)
        elif not self.batch_first:
            out = out.transpose(1, 0, 2)                       # (N, L, E) -> (L, N, E)

        if not need_weights:
            return out, None
        if average_attn_weights:
            weights = weights.mean(axis=1)                     # (N, L, S)
        if not batched:
            weights = weights.reshape(weights.shape[1:])
        return out, weights

    def _batch_first(self, x, batched):
        """Any accepted layout -> (N, L, E)."""
        if not batched:
            return x.reshape(1, *x.shape)                      # (L, E) -> (1, L, E)
        return x if self.batch_first else x.transpose(1, 0, 2)  # (L, N, E) -> (N, L, E)

    def _check_ranks(self, query, key, value):
        """query, key, value as Tensors (an ndarray is wrapped), of one accepted rank."""
        layout = "(N, L, E)" if self.batch_first else "(L, N, E)"
        inputs = []
        for name, x in (("query", query), ("key", key), ("value", value)):
            if hasattr(x, "ndim") and hasattr(x, "dtype") and not isinstance(x, Tensor):
                x = Tensor(x)                                  # a NumPy (or CuPy) array
            if not isinstance(x, Tensor):
                raise TypeError(f"MultiheadAttention: {name} must be a Tensor, got "
                                f"{type(x).__name__}")
            inputs.append(x)
        query, key, value = inputs
        if query.ndim not in (2, 3):
            raise ShapeError(f"MultiheadAttention: query must be batched 3-D {layout} "
                             f"(batch_first={self.batch_first}) or unbatched 2-D (L, E), got "
                             f"a {query.ndim}-D tensor of shape {query.shape}")
        for name, x in (("key", key), ("value", value)):
            if x.ndim != query.ndim:
                raise ShapeError(f"MultiheadAttention: {name} must be {query.ndim}-D like the "
                                 f"query ({layout} batched, (S, E) unbatched), got shape "
                                 f"{x.shape} with query of shape {query.shape}")
        return query, key, value

    def _check_shapes(self, query, key, value, batched):
        layout = "(N, L, E)" if self.batch_first else "(L, N, E)"
        expected = f"{layout} or unbatched (L, E)" if batched else "(L, E)"
        for name, x in (("query", query), ("key", key), ("value", value)):
            if x.ndim != 3 or x.shape[2] != self.embed_dim:
                raise ShapeError(f"MultiheadAttention: {name} must be {expected} with "
                                 f"E = embed_dim = {self.embed_dim}")
        if key.shape != value.shape or key.shape[0] != query.shape[0]:
            raise ShapeError("MultiheadAttention: key and value must have the same shape, and "
                             "the same batch size as query")

    def _split_heads(self, x):
        n, length, _ = x.shape
        x = x.reshape(n, length, self.num_heads, self.head_dim)  # (N, L, H, D)
        return x.transpose(0, 2, 1, 3)                           # (N, H, L, D)

    def _additive_mask(self, attn_mask, key_padding_mask, is_causal, n, l, s, like):
        """attn_mask, key_padding_mask and is_causal merged into one float mask to add to the
        scores, broadcastable to (N, H, L, S); None when nothing is masked."""
        if attn_mask is None and is_causal:
            # query i may not see keys j > i: True strictly above the diagonal
            attn_mask = like.xp.triu(like.xp.ones((l, s), dtype=bool), k=1)
        mask = None
        if attn_mask is not None:
            attn = _as_additive(attn_mask, like, "attn_mask")
            if attn.shape == (l, s):
                attn = attn.reshape(1, 1, l, s)
            elif attn.shape == (n * self.num_heads, l, s):
                attn = attn.reshape(n, self.num_heads, l, s)  # PyTorch's (N*H, L, S) order
            else:
                raise ShapeError(f"attn_mask must have shape (L, S) = {(l, s)} or "
                                 f"(N*num_heads, L, S) = {(n * self.num_heads, l, s)}, got "
                                 f"{attn.shape}")
            mask = attn
        if key_padding_mask is not None:
            padding = _as_additive(key_padding_mask, like, "key_padding_mask")
            if padding.size != n * s or padding.shape[-1] != s:
                raise ShapeError(f"key_padding_mask must have shape (N, S) = {(n, s)}, got "
                                 f"{padding.shape}")
            padding = padding.reshape(n, 1, 1, s)
            mask = padding if mask is None else mask + padding
        return None if mask is None else Tensor(mask)


def _as_additive(mask, like, what):
    """A boolean mask (True = forbidden) becomes 0 / -inf; a float mask (of like's dtype) is
    used as is."""
    array = check_mask_dtype(mask, like, "MultiheadAttention", what)
    if array.dtype == bool:
        return like.xp.where(array, -like.xp.inf, 0.0).astype(like.dtype)
    return array
