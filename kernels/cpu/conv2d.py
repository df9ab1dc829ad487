"""2-D convolution on the CPU in Numba: the forward pass and its two gradients.

    y  = conv2d_forward(x, w)            x (N, C, H, W), w (O, C/G, kh, kw) -> y (N, O, OH, OW)
    dx = conv2d_backward_input(g, w)     g (N, O, OH, OW) -> dx (N, C, H, W)  (= conv_transpose2d)
    dw = conv2d_backward_weight(x, g)    -> dw (O, C/G, kh, kw), summed over the batch

    y[n, o, r, q] = sum_{c, i, j} w[o, c, i, j] x[n, G(o) + c, r sh + i dh - ph, q sw + j dw - pw]

with G(o) the first input channel of o's group and taps that fall into the padding read as
zero. The NumPy reference (scratchgen/engine/reference_kernels.py, registered as "reference")
is the truth every version here is tested against.

Versions (all three ops each; float32 and float64; any input strides, output C-contiguous):

  "direct"  the seven-loop definition above, parallel over the batch (forward, input
            gradient) or over output channels (weight gradient). The teaching version: every
            multiply-add reloads its operands and checks the padding, so it runs at a few
            GFLOP/s.
            Measured: 0.9 GFLOP/s fwd+bwd at 64, 32->32, 8x8: 0.03x torch (1 thread).
  "im2col"  lower each op to GEMMs on a packed column matrix, as the reference does, but
            with our own packing: im2col writes a chunk of B samples into
            cols (G, C/G kh kw, B OH OW), one contiguous row per (channel, tap) and one
            column per (sample, output pixel), so that
                forward           out_g = W_g (O/G, K) @ cols_g (K, B P)
                input gradient    cols_g = W_g^T @ g_g, then col2im adds the windows back
                weight gradient   dW_g += g_g (O/G, B P) @ cols_g^T
            are single BLAS calls (np.dot inside njit) with B P columns, large enough for
            BLAS to reach its speed even on 8x8 maps (B is chosen so that B P is about
            COLUMNS_PER_CHUNK). Packing, col2im and the scatter to NCHW are parallel over
            (sample, channel) pairs; the GEMM uses BLAS's own threads. Speed is limited by
            OpenBLAS's SGEMM (its Haswell/AVX2 kernel on this Zen 4) plus the packing traffic.
            Measured: see the table below.

Measured (2-core AMD EPYC Zen 4, float32, fwd + both gradients, medians of interleaved runs
against torch 2.13 CPU; the machine ran 2-4 other CPU-bound jobs, load average 2.5-5, so the
absolute numbers swing 3x between runs and only same-run ratios mean anything):

    shape (N, C->O, HxW, 3x3 pad 1)   threads  direct        im2col        torch
    64, 64->64, 32x32                 1        0.02x         0.67x / 0.45x 49 / 19 GFLOP/s
    64, 32->32, 8x8                   1        0.03x         0.34x / 0.16x 35 / 9 GFLOP/s
    64, 64->64, 32x32                 2        -             0.21x         (load 5: unusable)
    64, 32->32, 8x8                   2        -             0.91x         (load 5: unusable)
    DCGAN digits D1 (128, 1->32, 8x8, 4x4/2)  1   0.40x     2.71x
    DCGAN digits G3 (128, 1->64, 8x8, 4x4/2)  1   0.28x     2.38x
    DCGAN digits D2 / G2 (4x4 maps, 32-128 ch)  1   0.02-0.04x  0.34x / 0.50x
    U-Net digits 8x8 / 4x4 blocks (16-48 ch)    1   0.03-0.09x  0.04-0.34x
(the first im2col figure in each row is from the run before two fixes below, at lower load.)
Lessons measured on the way: Numba's np.dot with a transposed (F-ordered) operand and an out
argument ran 10-50x slower than BLAS, so every GEMM operand here is C-contiguous (W^T and g^T
are copied); a fresh multi-megabyte np.empty per call cost its page faults every time, so the
column buffers are reused (_scratch). Not met: the issue's 1.0x torch target. What limits it:
OpenBLAS runs its Haswell (AVX2) SGEMM on this Zen 4 (about 64 GFLOP/s on one core) while
torch's oneDNN convolution runs AVX-512 with no column matrix; on 8x8 and 4x4 maps the packing
(3-5 ns per element, rows of 4-8 pixels) costs more than the GEMM. The next step to try is a
channels-last packing (rows of C contiguous channels per tap, so each copy is C long).

Final run on a quiet machine (`scratchgen bench kernels --threads 1 --repeats 5`, fwd + both
gradients, ratio to torch / to the reference): 64, 64->64, 32x32: im2col 0.62x / 2.8x; 64, 32->32,
8x8: 0.37x / 1.0x; 8x8 stride 2: 0.28x / 0.64x; 4x4 k4 stride 2, 64->128: 0.56x / 1.6x; direct
0.02-0.06x torch everywhere. Whole training steps favour im2col on every layer (DCGAN 1.43x, U-Net
1.14x the reference: bench/model_steps.py), so it is the CPU default for all shapes.

Reproduce: python bench/conv2d_kernels.py --threads 1 ; python bench/conv2d_kernels.py --threads 2
"""
import threading

import numpy as np
from numba import njit, prange

from scratchgen.engine.dispatch import register
from scratchgen.engine.reference_kernels import conv_output_size

COLUMNS_PER_CHUNK = 4096   # im2col: samples per GEMM chunk = max(1, this // (OH OW))


# ---- direct ----------------------------------------------------------------------------------

def _direct_forward(x, w, sh, sw, ph, pw, dh, dw, groups, y):
    """y[n, o, r, q] = sum_{c, i, j} w[o, c, i, j] x[n, c0 + c, r sh + i dh - ph, q sw + j dw - pw].

    for n (parallel), o, r, q:  for c, i, j:  acc += w * x   (a tap in the padding is skipped)
    No tiling and no reuse: each output pixel walks the whole weight filter, and the branch on
    the padding sits in the innermost loop, so LLVM cannot vectorise it.
    """
    # x (N, C, H, W), w (O, C/G, kh, kw) -> y (N, O, OH, OW)
    n_batch, _, height, width = x.shape
    out_ch, in_per_group, kh, kw = w.shape
    out_h, out_w = y.shape[2], y.shape[3]
    out_per_group = out_ch // groups
    for n in prange(n_batch):
        for o in range(out_ch):
            c0 = (o // out_per_group) * in_per_group
            for r in range(out_h):
                for q in range(out_w):
                    acc = 0.0
                    for c in range(in_per_group):
                        for i in range(kh):
                            ih = r * sh + i * dh - ph
                            if ih < 0 or ih >= height:
                                continue
                            for j in range(kw):
                                iw = q * sw + j * dw - pw
                                if 0 <= iw < width:
                                    acc += w[o, c, i, j] * x[n, c0 + c, ih, iw]
                    y[n, o, r, q] = acc


def _direct_backward_input(g, w, sh, sw, ph, pw, dh, dw, groups, dx):
    """dx[n, c0 + c, r sh + i dh - ph, q sw + j dw - pw] += w[o, c, i, j] g[n, o, r, q].

    for n (parallel), o, r, q:  for c, i, j:  dx += w * g   (the scatter form of the adjoint)
    Each sample writes only its own dx[n], so the batch loop is race free; the scatter adds
    make every update a load and a store.
    """
    # g (N, O, OH, OW), w (O, C/G, kh, kw) -> dx (N, C, H, W), zero on entry
    n_batch, out_ch, out_h, out_w = g.shape
    _, in_per_group, kh, kw = w.shape
    height, width = dx.shape[2], dx.shape[3]
    out_per_group = out_ch // groups
    for n in prange(n_batch):
        for o in range(out_ch):
            c0 = (o // out_per_group) * in_per_group
            for r in range(out_h):
                for q in range(out_w):
                    go = g[n, o, r, q]
                    for c in range(in_per_group):
                        for i in range(kh):
                            ih = r * sh + i * dh - ph
                            if ih < 0 or ih >= height:
                                continue
                            for j in range(kw):
                                iw = q * sw + j * dw - pw
                                if 0 <= iw < width:
                                    dx[n, c0 + c, ih, iw] += w[o, c, i, j] * go


def _direct_backward_weight(x, g, sh, sw, ph, pw, dh, dw, groups, dwt):
    """dw[o, c, i, j] = sum_{n, r, q} g[n, o, r, q] x[n, c0 + c, r sh + i dh - ph, q sw + j dw - pw].

    for o (parallel), c, i, j:  for n, r, q:  acc += g * x
    One output weight per accumulator, the whole batch and image streamed for each: the
    input is read O kh kw times over.
    """
    # x (N, C, H, W), g (N, O, OH, OW) -> dw (O, C/G, kh, kw)
    n_batch, _, height, width = x.shape
    out_ch, in_per_group, kh, kw = dwt.shape
    out_h, out_w = g.shape[2], g.shape[3]
    out_per_group = out_ch // groups
    for o in prange(out_ch):
        c0 = (o // out_per_group) * in_per_group
        for c in range(in_per_group):
            for i in range(kh):
                for j in range(kw):
                    acc = 0.0
                    for n in range(n_batch):
                        for r in range(out_h):
                            ih = r * sh + i * dh - ph
                            if ih < 0 or ih >= height:
                                continue
                            for q in range(out_w):
                                iw = q * sw + j * dw - pw
                                if 0 <= iw < width:
                                    acc += g[n, o, r, q] * x[n, c0 + c, ih, iw]
                    dwt[o, c, i, j] = acc


# ---- im2col + GEMM ---------------------------------------------------------------------------

def _valid_range(size, out_size, stride, offset):
    """The output positions q in [lo, hi) whose input index q stride + offset lies in [0, size)."""
    lo = 0 if offset >= 0 else (-offset + stride - 1) // stride
    hi = 0 if offset >= size else (size - 1 - offset) // stride + 1
    hi = min(hi, out_size)
    return lo, max(lo, hi)


def _im2col(x, n0, kh, kw, sh, sw, ph, pw, dh, dw, out_h, out_w, cols):
    """Pack samples n0 .. n0 + B of x into cols: one row per (channel, tap), one column per
    (sample, output pixel).

    for (b, c) (parallel), i, j, r:  cols[c, i, j | b, r, :] = x[n0 + b, c, ih(r, i), iw(:, j)]
    The innermost copy runs over contiguous output columns (and contiguous input for stride
    1); the valid range of q is computed once per row, so the padding costs no branch.
    """
    # x (N, C, H, W) -> cols (G, C/G kh kw, B OH OW), with B = cols.shape[2] // (OH OW)
    n_ch, height, width = x.shape[1], x.shape[2], x.shape[3]
    groups = cols.shape[0]
    in_per_group = n_ch // groups
    pixels = out_h * out_w
    n_chunk = cols.shape[2] // pixels
    for bc in prange(n_chunk * n_ch):
        b, c = bc // n_ch, bc % n_ch
        grp, cg = c // in_per_group, c % in_per_group
        for i in range(kh):
            for j in range(kw):
                row = (cg * kh + i) * kw + j
                q_lo, q_hi = _valid_range(width, out_w, sw, j * dw - pw)
                for r in range(out_h):
                    base = b * pixels + r * out_w
                    ih = r * sh + i * dh - ph
                    if ih < 0 or ih >= height:
                        for q in range(out_w):
                            cols[grp, row, base + q] = 0.0
                        continue
                    for q in range(q_lo):
                        cols[grp, row, base + q] = 0.0
                    for q in range(q_lo, q_hi):
                        cols[grp, row, base + q] = x[n0 + b, c, ih, q * sw + j * dw - pw]
                    for q in range(q_hi, out_w):
                        cols[grp, row, base + q] = 0.0


def _col2im(cols, n0, kh, kw, sh, sw, ph, pw, dh, dw, out_h, out_w, dx):
    """The adjoint of _im2col: add every column back into the window it came from.

    for (b, c) (parallel), i, j, r:  dx[n0 + b, c, ih(r, i), iw(:, j)] += cols[c, i, j | b, r, :]
    All taps of one (sample, channel) pair stay in one thread, so the overlapping windows add
    without races; dx[n0 + b, c] is zeroed here first.
    """
    # cols (G, C/G kh kw, B OH OW) -> dx (N, C, H, W), samples n0 .. n0 + B written
    n_ch, height, width = dx.shape[1], dx.shape[2], dx.shape[3]
    groups = cols.shape[0]
    in_per_group = n_ch // groups
    pixels = out_h * out_w
    n_chunk = cols.shape[2] // pixels
    for bc in prange(n_chunk * n_ch):
        b, c = bc // n_ch, bc % n_ch
        grp, cg = c // in_per_group, c % in_per_group
        dx[n0 + b, c] = 0.0
        for i in range(kh):
            for j in range(kw):
                row = (cg * kh + i) * kw + j
                q_lo, q_hi = _valid_range(width, out_w, sw, j * dw - pw)
                for r in range(out_h):
                    ih = r * sh + i * dh - ph
                    if ih < 0 or ih >= height:
                        continue
                    base = b * pixels + r * out_w
                    for q in range(q_lo, q_hi):
                        dx[n0 + b, c, ih, q * sw + j * dw - pw] += cols[grp, row, base + q]


def _nchw_to_chunk(a, n0, out):
    """Gather samples n0 .. n0 + B of a (N, G O/G, P) into out (G, O/G, B P): a GEMM operand."""
    # a (N, O, OH, OW) -> out (G, O/G, B OH OW)
    groups, per_group = out.shape[0], out.shape[1]
    pixels = a.shape[2] * a.shape[3]
    n_chunk = out.shape[2] // pixels
    flat = a.reshape(a.shape[0], a.shape[1], pixels)
    for bo in prange(n_chunk * groups * per_group):
        b, o = bo // (groups * per_group), bo % (groups * per_group)
        out[o // per_group, o % per_group, b * pixels:(b + 1) * pixels] = flat[n0 + b, o]


def _chunk_to_nchw(chunk, n0, a):
    """Scatter out (G, O/G, B P) back into samples n0 .. n0 + B of a (N, O, OH, OW)."""
    # chunk (G, O/G, B OH OW) -> a (N, O, OH, OW)
    groups, per_group = chunk.shape[0], chunk.shape[1]
    pixels = a.shape[2] * a.shape[3]
    n_chunk = chunk.shape[2] // pixels
    flat = a.reshape(a.shape[0], a.shape[1], pixels)
    for bo in prange(n_chunk * groups * per_group):
        b, o = bo // (groups * per_group), bo % (groups * per_group)
        flat[n0 + b, o] = chunk[o // per_group, o % per_group, b * pixels:(b + 1) * pixels]


def _nchw_to_rows(a, n0, out):
    """Gather samples n0 .. n0 + B of a (N, G O/G, P) transposed: out (G, B P, O/G)."""
    # a (N, O, OH, OW) -> out (G, B OH OW, O/G)
    groups, per_group = out.shape[0], out.shape[2]
    pixels = a.shape[2] * a.shape[3]
    n_chunk = out.shape[1] // pixels
    flat = a.reshape(a.shape[0], a.shape[1], pixels)
    for bg in prange(n_chunk * groups):
        b, grp = bg // groups, bg % groups
        for o in range(per_group):
            for p in range(pixels):
                out[grp, b * pixels + p, o] = flat[n0 + b, grp * per_group + o, p]


def _im2col_forward(x, w, sh, sw, ph, pw, dh, dw, groups, cols, out, y):
    """y = W @ im2col(x), chunk by chunk of B samples.

    for each chunk:  im2col (parallel) -> for g: out_g = W_g @ cols_g (BLAS) -> scatter to y
    The GEMM is (O/G x K) @ (K x B P) with K = C/G kh kw; limited by BLAS and by the traffic
    of writing and reading cols (kh kw times the input).
    """
    # x (N, C, H, W), w (O, C/G, kh, kw) -> y (N, O, OH, OW)
    n_batch = x.shape[0]
    out_ch, in_per_group, kh, kw = w.shape
    out_h, out_w = y.shape[2], y.shape[3]
    rows, per_group = in_per_group * kh * kw, out_ch // groups
    wmat = w.reshape(groups, per_group, rows)
    chunk = cols.shape[2] // (out_h * out_w)
    for n0 in range(0, n_batch, chunk):
        nb = min(chunk, n_batch - n0)
        if nb < chunk:   # the last, shorter chunk gets buffers of its own
            cols = np.empty((groups, rows, nb * out_h * out_w), dtype=x.dtype)
            out = np.empty((groups, per_group, nb * out_h * out_w), dtype=x.dtype)
        _im2col(x, n0, kh, kw, sh, sw, ph, pw, dh, dw, out_h, out_w, cols)
        for grp in range(groups):
            np.dot(wmat[grp], cols[grp], out[grp])
        _chunk_to_nchw(out, n0, y)


def _im2col_backward_input(g, w, sh, sw, ph, pw, dh, dw, groups, cols, gmat, dx):
    """dx = col2im(W^T @ g), chunk by chunk.

    for each chunk:  gather g -> for grp: cols_g = W_g^T @ g_g (BLAS) -> col2im (parallel)
    W^T is copied to a C-contiguous array once: Numba's np.dot on a transposed (F-ordered)
    operand with an output argument runs 10-50x slower than BLAS.
    """
    # g (N, O, OH, OW), w (O, C/G, kh, kw) -> dx (N, C, H, W)
    n_batch, out_ch, out_h, out_w = g.shape
    _, in_per_group, kh, kw = w.shape
    rows, per_group = in_per_group * kh * kw, out_ch // groups
    wmat = w.reshape(groups, per_group, rows)
    wt = np.empty((groups, rows, per_group), dtype=w.dtype)
    for grp in range(groups):
        wt[grp] = wmat[grp].T
    chunk = cols.shape[2] // (out_h * out_w)
    for n0 in range(0, n_batch, chunk):
        nb = min(chunk, n_batch - n0)
        if nb < chunk:   # the last, shorter chunk gets buffers of its own
            cols = np.empty((groups, rows, nb * out_h * out_w), dtype=g.dtype)
            gmat = np.empty((groups, per_group, nb * out_h * out_w), dtype=g.dtype)
        _nchw_to_chunk(g, n0, gmat)
        for grp in range(groups):
            np.dot(wt[grp], gmat[grp], cols[grp])
        _col2im(cols, n0, kh, kw, sh, sw, ph, pw, dh, dw, out_h, out_w, dx)


def _im2col_backward_weight(x, g, sh, sw, ph, pw, dh, dw, groups, cols, gt, dwt):
    """dW_g^T = sum over chunks of cols_g (K, B P) @ g_g^T (B P, O/G).

    for each chunk:  im2col (parallel), gather g transposed -> for grp: dW_g^T += cols_g @ g_g^T
    The reduction over the batch is folded into the GEMM's inner dimension B P. g is gathered
    as (B P, O/G) so that both operands are C-contiguous (see _im2col_backward_input).
    """
    # x (N, C, H, W), g (N, O, OH, OW) -> dw (O, C/G, kh, kw)
    n_batch, out_ch, out_h, out_w = g.shape
    _, in_per_group, kh, kw = dwt.shape
    rows, per_group = in_per_group * kh * kw, out_ch // groups
    acc = np.zeros((groups, rows, per_group), dtype=x.dtype)
    part = np.empty((rows, per_group), dtype=x.dtype)
    chunk = cols.shape[2] // (out_h * out_w)
    for n0 in range(0, n_batch, chunk):
        nb = min(chunk, n_batch - n0)
        if nb < chunk:   # the last, shorter chunk gets buffers of its own
            cols = np.empty((groups, rows, nb * out_h * out_w), dtype=x.dtype)
            gt = np.empty((groups, nb * out_h * out_w, per_group), dtype=x.dtype)
        _im2col(x, n0, kh, kw, sh, sw, ph, pw, dh, dw, out_h, out_w, cols)
        _nchw_to_rows(g, n0, gt)
        for grp in range(groups):
            np.dot(cols[grp], gt[grp], part)
            acc[grp] += part
    out = dwt.reshape(groups, per_group, rows)
    for grp in range(groups):
        out[grp] = acc[grp].T


# ---- the registered wrappers: normalise dtype and layout, allocate, call ----------------------

def _float_type(*arrays):
    dtype = np.result_type(*arrays)
    return dtype if dtype in (np.float32, np.float64) else np.dtype(np.float64)


def _prepared(dtype, *arrays):
    return [np.ascontiguousarray(a, dtype=dtype) for a in arrays]


def _output_size(in_hw, kernel, stride, padding, dilation):
    return tuple(conv_output_size(s, k, st, p, d)
                 for s, k, st, p, d in zip(in_hw, kernel, stride, padding, dilation))


_scratch_buffers = threading.local()   # per Python thread: (slot, dtype) -> largest buffer


def _scratch(slot, shape, dtype):
    """A reused work array: a fresh multi-megabyte np.empty costs its page faults on every call
    (measured: 1.5-2x the time of the whole forward at 8x8). One set per Python thread, so two
    threads running convolutions never share a buffer."""
    size = int(np.prod(shape))
    buffers = _scratch_buffers.__dict__
    buf = buffers.get((slot, dtype))
    if buf is None or buf.size < size:
        buf = buffers[slot, dtype] = np.empty(size, dtype=dtype)
    return buf[:size].reshape(shape)


def _im2col_buffers(n_batch, w_shape, out_hw, groups, dtype, transposed_g):
    """cols (G, C/G kh kw, B P) and the GEMM's other operand, for chunks of B samples."""
    out_ch, in_per_group, kh, kw = w_shape
    pixels = out_hw[0] * out_hw[1]
    columns = max(1, min(n_batch, COLUMNS_PER_CHUNK // pixels)) * pixels
    cols = _scratch("cols", (groups, in_per_group * kh * kw, columns), dtype)
    other = ((groups, columns, out_ch // groups) if transposed_g else
             (groups, out_ch // groups, columns))
    return cols, _scratch("gemm", other, dtype)


def _direct_buffers(*_):
    return ()


def _forward(kernel, buffers):
    def conv2d_forward(x, w, stride, padding, dilation, groups):
        x, w = _prepared(_float_type(x, w), x, w)
        out_hw = _output_size(x.shape[2:], w.shape[2:], stride, padding, dilation)
        y = np.empty((x.shape[0], w.shape[0], *out_hw), dtype=x.dtype)
        work = buffers(x.shape[0], w.shape, out_hw, groups, x.dtype, False)
        kernel(x, w, *stride, *padding, *dilation, groups, *work, y)
        return y
    return conv2d_forward


def _backward_input(kernel, buffers):
    def conv2d_backward_input(g, w, x_shape, stride, padding, dilation, groups):
        g, w = _prepared(_float_type(g, w), g, w)
        dx = np.zeros(tuple(x_shape), dtype=g.dtype)
        work = buffers(g.shape[0], w.shape, g.shape[2:], groups, g.dtype, False)
        kernel(g, w, *stride, *padding, *dilation, groups, *work, dx)
        return dx
    return conv2d_backward_input


def _backward_weight(kernel, buffers):
    def conv2d_backward_weight(x, g, w_shape, stride, padding, dilation, groups):
        x, g = _prepared(_float_type(x, g), x, g)
        dwt = np.empty(tuple(w_shape), dtype=x.dtype)
        work = buffers(g.shape[0], w_shape, g.shape[2:], groups, x.dtype, True)
        kernel(x, g, *stride, *padding, *dilation, groups, *work, dwt)
        return dwt
    return conv2d_backward_weight


# ---- compiled here, so NUMBA_DISABLE_JIT=1 runs everything above as Python -------------------

_jit = dict(cache=True, fastmath=False)
_valid_range = njit(cache=True, inline="always")(_valid_range)
direct_forward = njit(parallel=True, **_jit)(_direct_forward)
direct_backward_input = njit(parallel=True, **_jit)(_direct_backward_input)
direct_backward_weight = njit(parallel=True, **_jit)(_direct_backward_weight)
_im2col = njit(parallel=True, **_jit)(_im2col)
_col2im = njit(parallel=True, **_jit)(_col2im)
_nchw_to_chunk = njit(parallel=True, **_jit)(_nchw_to_chunk)
_chunk_to_nchw = njit(parallel=True, **_jit)(_chunk_to_nchw)
_nchw_to_rows = njit(parallel=True, **_jit)(_nchw_to_rows)
im2col_forward = njit(**_jit)(_im2col_forward)
im2col_backward_input = njit(**_jit)(_im2col_backward_input)
im2col_backward_weight = njit(**_jit)(_im2col_backward_weight)

for _name, _fwd, _bin, _bwt, _buffers in [
        ("direct", direct_forward, direct_backward_input, direct_backward_weight, _direct_buffers),
        ("im2col", im2col_forward, im2col_backward_input, im2col_backward_weight, _im2col_buffers)]:
    register("conv2d_forward", _name, devices=("cpu",))(_forward(_fwd, _buffers))
    register("conv2d_backward_input", _name, devices=("cpu",))(_backward_input(_bin, _buffers))
    register("conv2d_backward_weight", _name, devices=("cpu",))(_backward_weight(_bwt, _buffers))
