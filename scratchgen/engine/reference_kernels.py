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
