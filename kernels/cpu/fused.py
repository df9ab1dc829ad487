"""Fused ops in Numba: layer norm, softmax + cross-entropy and GELU, forward and backward.

Composed from engine ops, each of these is a chain of small elementwise ops and reductions
that each read and write a whole activation-sized array (layer norm forward alone is nine
of them, GELU's tanh form eight). A fused kernel makes one to three passes over each row
while the row sits in L1, and writes only the result and the per-row statistics that the
backward needs. They are parallel over rows (prange); float32 and float64 each compile once.

Versions, measured with `python bench/gpt_step.py --kernels-only` (1 thread, float32, at
issue 8's GPT step shapes: layer norm on 2048 x 128 rows, cross-entropy on 2048 x 96
logits, GELU on (32, 64, 512); 2 cores shared with other jobs, load ~4, so absolute times are
noisy; reference / numba ms):

    layer_norm_forward   "numba"  two passes per row (mean, then centred squares: no
                                  E[x^2] - E[x]^2 cancellation), then the affine pass.
                                  0.90 / 0.20 ms: 4.4x the reference. CPU default.
    layer_norm_backward  "numba"  per row the two row means of the adjoint, then dx; dweight
                                  and dbias accumulate per block of 64 rows, blocks summed
                                  after. 1.74 / 0.26 ms: 6.6x. CPU default.
    cross_entropy_*      "numba"  max-shifted log-sum-exp per row; backward rebuilds softmax
                                  from the saved lse. 0.64 / 1.53 ms forward, 0.64 / 1.24
                                  backward: 0.4-0.5x, slower than NumPy, whose exp is SIMD
                                  where Numba calls libm once per element (no SVML here).
                                  Kept as the teaching version; the reference is the better
                                  CPU default (either way it is ~2 ms of a ~300 ms step).
    gelu_*               "numba"  one elementwise pass; float32 uses a vectorisable rational
                                  tanh (below), float64 libm's. 33.4 / 7.5 ms forward, 54.4 /
                                  8.0 backward: 4.5-7x. CPU default. (Before error_model=
                                  "numpy" the divide's zero check kept LLVM from vectorising
                                  the loop: 6.8 ms against 1.2 ms for the same body on 1M
                                  floats; math.tanh instead of the rational one: 31 ms.)

The references are in scratchgen/engine/reference_kernels.py.
"""
import math

import numpy as np
from numba import njit, prange

from scratchgen.engine import reference_kernels as reference  # noqa: F401  (the truth)
from scratchgen.engine.dispatch import register

GELU_TANH_SCALE = reference.GELU_TANH_SCALE
GELU_TANH_CUBIC = reference.GELU_TANH_CUBIC
ROWS_PER_BLOCK = 64   # rows summed into one partial weight/bias gradient in layer norm backward
GELU_BLOCK = 4096     # elements per parallel task of GELU


# ---- layer norm -------------------------------------------------------------------------
def _layer_norm_forward(x, weight, bias, has_weight, has_bias, eps, y, mean, rstd):
    """x (M, N) -> y (M, N), mean (M,), rstd (M,).

    for each row i (parallel):            three passes over a row held in L1:
        mean_i = sum_j x_ij / N                     1: the sum
        var_i  = sum_j (x_ij - mean_i)^2 / N        2: centred squares (exact for large |mean|)
        y_ij   = (x_ij - mean_i) rstd_i w_j + b_j   3: the affine output
    Sums accumulate in float64 for either dtype. Memory-bound: reads x once from memory,
    writes y once; at N = 128 the per-row loop overhead is about as large as the arithmetic.
    """
    m, n = x.shape  # (M, N)
    for i in prange(m):
        total = 0.0
        for j in range(n):
            total += x[i, j]
        mu = total / n
        squares = 0.0
        for j in range(n):
            d = x[i, j] - mu
            squares += d * d
        r = 1.0 / math.sqrt(squares / n + eps)
        for j in range(n):
            v = (x[i, j] - mu) * r
            if has_weight:
                v = v * weight[j]
            if has_bias:
                v = v + bias[j]
            y[i, j] = v
        mean[i] = mu
        rstd[i] = r


def _layer_norm_backward(g, x, weight, has_weight, mean, rstd, dx, dweight_blocks,
                         dbias_blocks):
    """g, x (M, N) -> dx (M, N); per block of ROWS_PER_BLOCK rows, partial dweight and
    dbias (blocks, N), summed by the caller.

    for each block of rows (parallel), for each row i in it:
        xhat_j = (x_ij - mean_i) rstd_i          gxhat_j = g_ij w_j
        a = mean_j gxhat_j                       b = mean_j gxhat_j xhat_j
        dx_ij = rstd_i (gxhat_j - a - xhat_j b)
        dweight_blocks[block, j] += g_ij xhat_j  dbias_blocks[block, j] += g_ij
    Parallel over blocks rather than rows, so that the sums over rows need no atomics.
    """
    m, n = x.shape  # (M, N)
    blocks = dweight_blocks.shape[0]
    for block in prange(blocks):
        for i in range(block * ROWS_PER_BLOCK, min(m, (block + 1) * ROWS_PER_BLOCK)):
            mu, r = mean[i], rstd[i]
            a = 0.0
            b = 0.0
            for j in range(n):
                xhat = (x[i, j] - mu) * r
                gxhat = g[i, j] * weight[j] if has_weight else g[i, j]
                a += gxhat
                b += gxhat * xhat
                dweight_blocks[block, j] += g[i, j] * xhat
                dbias_blocks[block, j] += g[i, j]
            a /= n
            b /= n
            for j in range(n):
                xhat = (x[i, j] - mu) * r
                gxhat = g[i, j] * weight[j] if has_weight else g[i, j]
                dx[i, j] = r * (gxhat - a - xhat * b)


# ---- softmax + cross-entropy --------------------------------------------------------------
def _cross_entropy_forward(logits, targets, loss, lse):
    """logits (M, C), targets (M,) -> loss (M,), lse (M,).

    for each row i (parallel):
        m = max_c logits_ic   (0 if not finite)    pass 1
        lse_i = m + log sum_c exp(logits_ic - m)   pass 2: every exp <= 1, no overflow
        loss_i = lse_i - logits_i,target_i
    Limited by exp (a libm call per element without SVML).
    """
    rows, classes = logits.shape  # (M, C)
    for i in prange(rows):
        top = -np.inf
        for c in range(classes):
            top = max(top, logits[i, c])
        if not np.isfinite(top):
            top = 0.0
        total = 0.0
        for c in range(classes):
            total += math.exp(logits[i, c] - top)
        lse[i] = top + math.log(total)
        loss[i] = lse[i] - logits[i, targets[i]]


def _cross_entropy_backward(g, logits, targets, lse, dlogits):
    """g (M,), logits (M, C) -> dlogits (M, C) = g_i (exp(logits_ic - lse_i) - [c = t_i]).

    One pass per row (parallel over rows); the softmax is rebuilt from lse, never stored."""
    rows, classes = logits.shape  # (M, C)
    for i in prange(rows):
        for c in range(classes):
            dlogits[i, c] = g[i] * math.exp(logits[i, c] - lse[i])
        dlogits[i, targets[i]] -= g[i]


# ---- GELU ---------------------------------------------------------------------------------
def _tanh_rational(u):
    """tanh(u) to float32 accuracy (max error 2.4e-7 on [-10, 10]) from a 13/6 rational
    minimax fit, +-1 beyond |u| = 7.9 where float32's tanh rounds to 1 (Eigen's float tanh). Only mul,
    add and one divide: LLVM vectorises it, where math.tanh is a scalar libm call (~7x
    slower here, measured on 1M floats: 31 ms against 4.6 ms)."""
    saturated = abs(u) >= 7.90531110763549805
    u = min(max(u, -7.90531110763549805), 7.90531110763549805)
    u2 = u * u
    p = u2 * -2.76076847742355e-16 + 2.00018790482477e-13
    p = u2 * p + -8.60467152213735e-11
    p = u2 * p + 5.12229709037114e-08
    p = u2 * p + 1.48572235717979e-05
    p = u2 * p + 6.37261928875436e-04
    p = u2 * p + 4.89352455891786e-03
    q = u2 * 1.19825839466702e-06 + 1.18534705686654e-04
    q = u2 * q + 2.26843463243900e-03
    q = u2 * q + 4.89352518554385e-03
    t = u * p / q
    return math.copysign(1.0, u) if saturated else t   # exactly +-1, as float32 rounds it


def _gelu_forward(x, use_tanh, exact, y):
    """x (n,) flat -> y (n,): 0.5 x (1 + tanh(sqrt(2/pi)(x + 0.044715 x^3))) or x Phi(x).

    Parallel over blocks of GELU_BLOCK elements. float32 uses the rational tanh (exact=False);
    float64 the libm tanh (exact=True), one scalar call per element, which limits it."""
    n = x.shape[0]  # (n,)
    for block in prange((n + GELU_BLOCK - 1) // GELU_BLOCK):
        for i in range(block * GELU_BLOCK, min(n, (block + 1) * GELU_BLOCK)):
            v = x[i]
            if use_tanh:
                u = GELU_TANH_SCALE * (v + GELU_TANH_CUBIC * v * v * v)
                t = math.tanh(u) if exact else tanh_rational(u)
                y[i] = 0.5 * v * (1.0 + t)
            else:
                y[i] = 0.5 * v * (1.0 + math.erf(v * 0.7071067811865476))


def _gelu_backward(g, x, use_tanh, exact, dx):
    """g, x (n,) flat -> dx (n,) = g * dGELU/dx (formulas in the reference's docstring)."""
    n = x.shape[0]  # (n,)
    for block in prange((n + GELU_BLOCK - 1) // GELU_BLOCK):
        for i in range(block * GELU_BLOCK, min(n, (block + 1) * GELU_BLOCK)):
            v = x[i]
            if use_tanh:
                u = GELU_TANH_SCALE * (v + GELU_TANH_CUBIC * v * v * v)
                t = math.tanh(u) if exact else tanh_rational(u)
                slope = 0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * GELU_TANH_SCALE * (
                    1.0 + 3.0 * GELU_TANH_CUBIC * v * v)
            else:
                slope = (0.5 * (1.0 + math.erf(v * 0.7071067811865476))
                         + v * math.exp(-0.5 * v * v) * 0.3989422804014327)
            dx[i] = g[i] * slope


# ---- compiled versions (NUMBA_DISABLE_JIT=1 runs the plain functions above) ---------------
layer_norm_forward_kernel = njit(cache=True, parallel=True, fastmath=True, error_model="numpy")(_layer_norm_forward)
layer_norm_backward_kernel = njit(cache=True, parallel=True, fastmath=True, error_model="numpy")(_layer_norm_backward)
cross_entropy_forward_kernel = njit(cache=True, parallel=True, error_model="numpy")(_cross_entropy_forward)
cross_entropy_backward_kernel = njit(cache=True, parallel=True, error_model="numpy")(_cross_entropy_backward)
tanh_rational = njit(cache=True, fastmath=True, error_model="numpy")(_tanh_rational)
gelu_forward_kernel = njit(cache=True, parallel=True, fastmath=True, error_model="numpy")(_gelu_forward)
gelu_backward_kernel = njit(cache=True, parallel=True, fastmath=True, error_model="numpy")(_gelu_backward)


# ---- thin wrappers: one memory layout and one signature per dtype, then the registry ------
def _rows(a):
    return np.ascontiguousarray(a)


def _vector_or_empty(v, dtype):
    """A (N,) parameter in the rows' dtype, or an empty array standing for None (one
    signature for both cases)."""
    return np.empty(0, dtype) if v is None else np.ascontiguousarray(v, dtype=dtype)


@register("layer_norm_forward", "numba", devices=("cpu",))
def layer_norm_forward(x, weight, bias, eps):
    x = _rows(x)
    m, n = x.shape
    y = np.empty_like(x)
    mean, rstd = np.empty(m, x.dtype), np.empty(m, x.dtype)
    layer_norm_forward_kernel(x, _vector_or_empty(weight, x.dtype),
                              _vector_or_empty(bias, x.dtype), weight is not None,
                              bias is not None, float(eps), y, mean, rstd)
    return y, mean, rstd


@register("layer_norm_backward", "numba", devices=("cpu",))
def layer_norm_backward(g, x, weight, mean, rstd):
    x = _rows(x)
    g = np.ascontiguousarray(g, dtype=x.dtype)
    m, n = x.shape
    blocks = max(1, (m + ROWS_PER_BLOCK - 1) // ROWS_PER_BLOCK)
    dx = np.empty_like(x)
    dweight_blocks = np.zeros((blocks, n), x.dtype)
    dbias_blocks = np.zeros((blocks, n), x.dtype)
    layer_norm_backward_kernel(g, x, _vector_or_empty(weight, x.dtype), weight is not None,
                               np.ascontiguousarray(mean, dtype=x.dtype),
                               np.ascontiguousarray(rstd, dtype=x.dtype), dx, dweight_blocks,
                               dbias_blocks)
    dweight = None if weight is None else dweight_blocks.sum(axis=0)
    return dx, dweight, dbias_blocks.sum(axis=0)


@register("cross_entropy_forward", "numba", devices=("cpu",))
def cross_entropy_forward(logits, targets):
    logits = _rows(logits)
    loss, lse = np.empty(logits.shape[0], logits.dtype), np.empty(logits.shape[0], logits.dtype)
    cross_entropy_forward_kernel(logits, np.ascontiguousarray(targets, dtype=np.int64), loss, lse)
    return loss, lse


@register("cross_entropy_backward", "numba", devices=("cpu",))
def cross_entropy_backward(g, logits, targets, lse):
    logits = _rows(logits)
    dlogits = np.empty_like(logits)
    cross_entropy_backward_kernel(np.ascontiguousarray(g, dtype=logits.dtype), logits,
                                  np.ascontiguousarray(targets, dtype=np.int64),
                                  np.ascontiguousarray(lse, dtype=logits.dtype), dlogits)
    return dlogits


@register("gelu_forward", "numba", devices=("cpu",))
def gelu_forward(x, approximate):
    flat = np.ascontiguousarray(x).reshape(-1)
    y = np.empty_like(flat)
    gelu_forward_kernel(flat, approximate == "tanh", flat.dtype == np.float64, y)
    return y.reshape(x.shape)


@register("gelu_backward", "numba", devices=("cpu",))
def gelu_backward(g, x, approximate):
    flat = np.ascontiguousarray(x).reshape(-1)
    dx = np.empty_like(flat)
    gelu_backward_kernel(np.ascontiguousarray(g, dtype=flat.dtype).reshape(-1), flat,
                         approximate == "tanh", flat.dtype == np.float64, dx)
    return dx.reshape(x.shape)
