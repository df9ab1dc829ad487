"""Reference kernels: the plain NumPy (or CuPy) versions of the heavy ops.

They are written for clarity first and vectorised second; each faster kernel must agree
with them. They take and return raw arrays and know nothing about autograd.

Convolution is lowered to a matrix product with im2col:

    x (N, C, H, W) --im2col--> cols (N, C, kh, kw, OH, OW)
    out[n, o, p] = sum_k w[o, k] * cols[n, k, p]   with k = (c, i, j), p = (oh, ow)

and its two gradients are the same product transposed, with col2im (the adjoint of
im2col, which adds overlapping windows back together) for the input gradient.
"""
from . import backend
from .dispatch import register


def conv_output_size(size, kernel, stride, padding, dilation):
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def im2col(x, kernel, stride, padding, dilation, pad_value=0.0):
    """(N, C, H, W) -> (N, C, kh, kw, OH, OW): every kh x kw window, one slice per tap."""
    xp = backend.array_module(x)
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    n, c, h, w = x.shape
    oh = conv_output_size(h, kh, sh, ph, dh)
    ow = conv_output_size(w, kw, sw, pw, dw)
    padded = xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=pad_value)
    cols = xp.empty((n, c, kh, kw, oh, ow), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            top, left = i * dh, j * dw
            # tap (i, j) of every window: a strided slice of the padded input
            cols[:, :, i, j] = padded[:, :, top:top + sh * (oh - 1) + 1:sh,
                                      left:left + sw * (ow - 1) + 1:sw]
    return cols


def col2im(cols, x_shape, stride, padding, dilation):
    """The adjoint of im2col: (N, C, kh, kw, OH, OW) -> (N, C, H, W), overlaps summed."""
    xp = backend.array_module(cols)
    n, c, kh, kw, oh, ow = cols.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    h, w = x_shape[2], x_shape[3]
    padded = xp.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            top, left = i * dh, j * dw
            padded[:, :, top:top + sh * (oh - 1) + 1:sh,
                   left:left + sw * (ow - 1) + 1:sw] += cols[:, :, i, j]
    return padded[:, :, ph:ph + h, pw:pw + w]


@register("matmul", "reference")
def matmul(a, b):
    """Batched a @ b (BLAS through NumPy, cuBLAS through CuPy)."""
    return backend.array_module(a, b).matmul(a, b)


@register("conv2d_forward", "reference")
def conv2d_forward(x, w, stride, padding, dilation, groups):
    n = x.shape[0]
    out_ch, in_per_group, kh, kw = w.shape
    cols = im2col(x, (kh, kw), stride, padding, dilation)          # (N, C, kh, kw, OH, OW)
    oh, ow = cols.shape[-2:]
    cols = cols.reshape(n, groups, in_per_group * kh * kw, oh * ow)  # (N, G, K, P)
    wmat = w.reshape(groups, out_ch // groups, in_per_group * kh * kw)  # (G, O/G, K)
    out = backend.array_module(x).matmul(wmat, cols)               # (N, G, O/G, P)
    return out.reshape(n, out_ch, oh, ow)


@register("conv2d_backward_input", "reference")
def conv2d_backward_input(g, w, x_shape, stride, padding, dilation, groups):
    """d loss / d x of a conv2d: the transposed convolution of g with w."""
    n, out_ch, oh, ow = g.shape
    _, in_per_group, kh, kw = w.shape
    gmat = g.reshape(n, groups, out_ch // groups, oh * ow)         # (N, G, O/G, P)
    wmat = w.reshape(groups, out_ch // groups, in_per_group * kh * kw)  # (G, O/G, K)
    xp = backend.array_module(g, w)
    cols = xp.matmul(wmat.transpose(0, 2, 1), gmat)                # (N, G, K, P)
    cols = cols.reshape(n, groups * in_per_group, kh, kw, oh, ow)
    return col2im(cols, x_shape, stride, padding, dilation)


@register("conv2d_backward_weight", "reference")
def conv2d_backward_weight(x, g, w_shape, stride, padding, dilation, groups):
    """d loss / d w of a conv2d: windows of x correlated with g, summed over the batch."""
    n, out_ch, oh, ow = g.shape
    _, in_per_group, kh, kw = w_shape
    k = in_per_group * kh * kw
    cols = im2col(x, (kh, kw), stride, padding, dilation).reshape(n, groups, k, oh * ow)
    # contract over batch and positions together: one GEMM per group
    cols = cols.transpose(1, 0, 3, 2).reshape(groups, n * oh * ow, k)    # (G, N*P, K)
    gmat = g.reshape(n, groups, out_ch // groups, oh * ow)
    gmat = gmat.transpose(1, 2, 0, 3).reshape(groups, out_ch // groups, n * oh * ow)
    gw = backend.array_module(x, g).matmul(gmat, cols)             # (G, O/G, K)
    return gw.reshape(w_shape)


# ---- attention --------------------------------------------------------------------------
# Scaled dot-product attention on (B, L, E) queries, (B, S, E) keys, (B, S, Ev) values, the
# full L x S matrix written out (the kernels in kernels/cpu/attention.py never build it):
#
#     S = Q K^T * scale + M        P = softmax(S) row by row        O = P V
#     lse_i = log sum_j exp(S_ij)  (saved: P_ij = exp(S_ij - lse_i) rebuilds P in backward)
#
# mask: None, or (B, L, S) booleans (True = may attend) or floats (added to the scores);
# causal: query i sees keys 0..i. A row whose keys are all masked has P = 0, so O = 0 and
# lse = -inf there (as torch 2.13), and its gradients are 0. lse has q's dtype.

def attention_scores(q, k, mask, causal, scale):
    """(B, L, E), (B, S, E) -> (B, L, S): Q K^T * scale, -inf where a key is masked."""
    xp = backend.array_module(q, k)
    scores = xp.matmul(q, k.swapaxes(-1, -2)) * scale            # (B, L, S)
    length, source = scores.shape[-2:]
    if causal:
        mask = xp.tril(xp.ones((length, source), dtype=bool))     # top-left aligned
    if mask is not None and mask.dtype == bool:
        scores = xp.where(mask, scores, -xp.inf)
    elif mask is not None:
        scores = scores + mask
    return scores.astype(q.dtype, copy=False)


def masked_softmax(scores):
    """softmax over the last axis and its log-sum-exp; a row of only -inf gives P = 0, lse = -inf."""
    xp = backend.array_module(scores)
    row_max = scores.max(axis=-1, keepdims=True)                   # (B, L, 1)
    row_max = xp.where(xp.isfinite(row_max), row_max, 0)          # exp(-inf - 0) = 0, no NaN
    p = xp.exp(scores - row_max)
    total = p.sum(axis=-1, keepdims=True)
    nonempty = total > 0
    lse = xp.where(nonempty, row_max + xp.log(xp.where(nonempty, total, 1)), -xp.inf)[..., 0]
    return p / xp.where(nonempty, total, 1), lse


@register("attention_forward", "reference")
def attention_forward(q, k, v, mask, causal, scale):
    """-> out (B, L, Ev) = P V, lse (B, L)."""
    p, lse = masked_softmax(attention_scores(q, k, mask, causal, scale))   # (B, L, S)
    out = backend.array_module(p, v).matmul(p, v)                          # (B, L, Ev)
    return out.astype(q.dtype, copy=False), lse.astype(q.dtype, copy=False)


@register("attention_backward", "reference")
def attention_backward(q, k, v, out, lse, g, mask, causal, scale):
    """-> dq, dk, dv. With dO = g:

        dV = P^T dO          dP = dO V^T          dS = P * (dP - rowsum(dO * O))
        dQ = dS K * scale    dK = dS^T Q * scale

    (rowsum(dO * O)_i = sum_j P_ij dP_ij: the softmax Jacobian's diagonal-minus-outer term.)
    P is recomputed from the scores here, not from lse, so the reference does not trust it.
    """
    xp = backend.array_module(q, g)
    p, _ = masked_softmax(attention_scores(q, k, mask, causal, scale))    # (B, L, S)
    dv = xp.matmul(p.swapaxes(-1, -2), g)                                 # (B, S, Ev)
    dp = xp.matmul(g, v.swapaxes(-1, -2))                                 # (B, L, S)
    row_dot = (g * out).sum(axis=-1, keepdims=True)                       # (B, L, 1)
    ds = p * (dp - row_dot)                                               # (B, L, S)
    dq = xp.matmul(ds, k) * scale                                         # (B, L, E)
    dk = xp.matmul(ds.swapaxes(-1, -2), q) * scale                        # (B, S, E)
    return (dq.astype(q.dtype, copy=False), dk.astype(k.dtype, copy=False),
            dv.astype(v.dtype, copy=False))


# ---- fused ops: layer norm, softmax + cross-entropy, GELU ---------------------------------
# Each replaces a chain of small elementwise ops (and the arrays between them) with one pass
# over the rows; engine/ops/fused.py holds the Functions that call them. Rows are the last
# axis of a 2-D array (M, N); the statistics saved for backward are per row, in x's dtype.

@register("layer_norm_forward", "reference")
def layer_norm_forward(x, weight, bias, eps):
    """x (M, N) -> y (M, N), mean (M,), rstd (M,):

        mean = sum_j x_j / N     rstd = 1 / sqrt(sum_j (x_j - mean)^2 / N + eps)
        y = (x - mean) * rstd * weight + bias        (weight, bias: (N,) or None)
    """
    xp = backend.array_module(x)
    mean = x.mean(axis=1)
    centred = x - mean[:, None]                                    # two passes: no cancellation
    rstd = 1 / xp.sqrt((centred * centred).mean(axis=1) + eps)
    y = centred * rstd[:, None]
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y.astype(x.dtype, copy=False), mean, rstd.astype(x.dtype, copy=False)


@register("layer_norm_backward", "reference")
def layer_norm_backward(g, x, weight, mean, rstd):
    """-> dx (M, N), dweight (N,) or None, dbias (N,). With xhat = (x - mean) * rstd and
    gxhat = g * weight (d loss / d xhat):

        dx = rstd * (gxhat - mean_j(gxhat) - xhat * mean_j(gxhat * xhat))
        dweight = sum_rows g * xhat          dbias = sum_rows g
    """
    xhat = (x - mean[:, None]) * rstd[:, None]
    gxhat = g if weight is None else g * weight
    dx = rstd[:, None] * (gxhat - gxhat.mean(axis=1, keepdims=True)
                          - xhat * (gxhat * xhat).mean(axis=1, keepdims=True))
    dweight = None if weight is None else (g * xhat).sum(axis=0)
    return dx.astype(x.dtype, copy=False), dweight, g.sum(axis=0)


@register("cross_entropy_forward", "reference")
def cross_entropy_forward(logits, targets):
    """logits (M, C), integer targets (M,) -> loss (M,), lse (M,):

        lse = log sum_c exp(logits_c)  (max-shifted)      loss = lse - logits[target]
    """
    xp = backend.array_module(logits)
    row_max = logits.max(axis=1)
    row_max = xp.where(xp.isfinite(row_max), row_max, 0)          # an all -inf row: lse = -inf
    lse = row_max + xp.log(xp.exp(logits - row_max[:, None]).sum(axis=1))
    picked = logits[xp.arange(logits.shape[0]), targets]
    return (lse - picked).astype(logits.dtype, copy=False), lse.astype(logits.dtype, copy=False)


@register("cross_entropy_backward", "reference")
def cross_entropy_backward(g, logits, targets, lse):
    """g (M,) -> dlogits (M, C) = g * (softmax(logits) - onehot(target)),
    with softmax rebuilt from the saved lse: exp(logits - lse)."""
    xp = backend.array_module(logits)
    p = xp.exp(logits - lse[:, None])
    p[xp.arange(logits.shape[0]), targets] -= 1
    return (p * g[:, None]).astype(logits.dtype, copy=False)


GELU_TANH_SCALE = 0.7978845608028654   # sqrt(2 / pi)
GELU_TANH_CUBIC = 0.044715


@register("gelu_forward", "reference")
def gelu_forward(x, approximate):
    """y = x Phi(x) = 0.5 x (1 + erf(x / sqrt 2)), or with approximate="tanh"
    0.5 x (1 + tanh(u)), u = sqrt(2 / pi) (x + 0.044715 x^3)   (Hendrycks and Gimpel 2016)."""
    xp = backend.array_module(x)
    if approximate == "tanh":
        u = GELU_TANH_SCALE * (x + GELU_TANH_CUBIC * x * x * x)
        return 0.5 * x * (1 + xp.tanh(u))
    erf = backend.special_functions(xp).erf
    return (0.5 * x * (1 + erf(x * (1 / 2 ** 0.5)))).astype(x.dtype, copy=False)


@register("gelu_backward", "reference")
def gelu_backward(g, x, approximate):
    """dx = g * dy/dx:  Phi(x) + x phi(x)  (phi the normal density), or with "tanh"
    0.5 (1 + t) + 0.5 x (1 - t^2) sqrt(2 / pi) (1 + 3 * 0.044715 x^2),  t = tanh(u)."""
    xp = backend.array_module(x)
    if approximate == "tanh":
        t = xp.tanh(GELU_TANH_SCALE * (x + GELU_TANH_CUBIC * x * x * x))
        slope = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * GELU_TANH_SCALE * (
            1 + 3 * GELU_TANH_CUBIC * x * x)
        return g * slope
    erf = backend.special_functions(xp).erf
    cdf = 0.5 * (1 + erf(x * (1 / 2 ** 0.5)))
    density = xp.exp(-0.5 * x * x) * (1 / (2 * xp.pi) ** 0.5)
    return (g * (cdf + x * density)).astype(x.dtype, copy=False)
