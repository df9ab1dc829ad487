"""Scaled dot-product attention on the CPU in Numba, forward and backward, never an N x N matrix.

    S = Q K^T * scale + M       P = softmax(S) row by row       O = P V
    lse_i = log sum_j exp(S_ij), saved, so that backward rebuilds P_ij = exp(S_ij - lse_i)

The reference (scratchgen/engine/reference_kernels.py, "reference") writes out the whole
(B, L, S) score matrix; the versions here keep only O(N d) extra memory. Shapes: q (B, L, E),
k (B, S, E), v (B, S, Ev), out (B, L, Ev), lse (B, L) in q's dtype. A row whose keys are all
masked gives out = 0, lse = -inf and zero gradients (as torch 2.13), never NaN.

Versions (each registered for "attention_forward" and "attention_backward"):

    rowwise  one query row at a time against every key, with the online softmax (a running
             max m and sum l; the accumulator rescaled by exp(m_old - m_new) whenever the
             max grows). Backward: one row at a time, dK and dV accumulated serially per
             batch item. Scalar dot products: the teaching step, no BLAS.
             Kept as the reference point of the online softmax; far too slow to time at
             N = 1024 (scalar loops, no reuse); compiles in about 4 s per kernel.
    flash    FlashAttention-2 work split: tiles of BR queries against tiles of BC keys, the
             tile products on BLAS (np.dot), the online softmax per tile row; causal tiles
             above the diagonal skipped; backward recomputes P tile by tile from lse with
             D = rowsum(dO * O) precomputed, parallel over (batch, chunk of key tiles).
             Measured (float32, causal, B x H = 32, d = 64, fwd+bwd, 2-core machine shared
             with other jobs, medians of 3 interleaved with torch 2.13 CPU SDPA):
             1 thread: 0.97x torch at N = 1024, 0.86x at 2048, 0.80x at 4096;
             2 threads: 1.00x, 0.91x, 0.71x. About 20 GFLOP/s (7 B N^2 d convention).
             Peak extra NumPy memory at N = 1024: 32.5 MiB (the gradients themselves),
             against 521 MiB for the reference. Tried: 64 x 128 tiles (much slower, not
             understood in the time; left at 64 x 64); np.exp -> polynomial exp (fwd 1.8x).
             Compile from an empty cache: about 45 s float32 + 30 s float64 (fwd + bwd).

Final run on a quiet machine (`scratchgen bench kernels --threads 1 --repeats 5`, causal, B x H
= 32, d = 64, fwd + bwd): flash 0.83x / 1.0x / 0.97x / 0.86x / 0.71x torch SDPA at N = 256 / 512 /
1024 / 2048 / 4096, 2.1-5.7x the reference; peak extra memory 32 / 65 / 131 MiB at N = 1024 /
2048 / 4096 (reference 427 / 1635 MiB). CPU default: flash.

Reproduce: python bench/attention_kernels.py  (see its --help for the sizes and threads)

Masks reach the kernels in one form, whatever the caller passed, so each kernel compiles
once per dtype: `kind` (none, causal, boolean, float), the mask's values as a flat array
(uint8 for booleans, q's dtype for floats) and its element strides (b, i, j), zero along a
broadcast axis, so a (L, S) mask broadcast to (B, L, S) is never copied out to B x L x S.
"""
import math

import numpy as np
from numba import get_num_threads, njit, prange

from scratchgen.engine.dispatch import register
from scratchgen.engine.reference_kernels import attention_backward as reference_backward  # noqa: F401
from scratchgen.engine.reference_kernels import attention_forward as reference_forward  # noqa: F401

NO_MASK, CAUSAL, BOOL_MASK, FLOAT_MASK = 0, 1, 2, 3
BR = 64   # queries per tile (flash)
BC = 64   # keys per tile (flash)

# LLVM may reassociate sums and fuse multiply-adds, but must keep infinities: -inf is how a
# masked score is written, so fastmath's "ninf" / "nnan" are left out.
FASTMATH = {"reassoc", "contract", "nsz", "arcp"}


# ---- the mask, one representation for every kernel ----------------------------------------

def flat_mask(mask, causal, dtype):
    """-> (kind, bool values (uint8), float values (dtype), element strides (3,) int64)."""
    no_bools, no_floats = np.zeros(0, np.uint8), np.zeros(0, dtype)
    strides = np.zeros(3, np.int64)
    if mask is None:
        return (CAUSAL if causal else NO_MASK), no_bools, no_floats, strides
    # the array this mask is a broadcast view of: index 0 along every zero-stride axis
    compact = mask[tuple(slice(0, 1) if step == 0 else slice(None) for step in mask.strides)]
    if mask.dtype == bool:
        compact = np.ascontiguousarray(compact.view(np.uint8))
    else:
        compact = np.ascontiguousarray(compact, dtype=dtype)
    if not compact.flags.writeable:   # one array type for Numba: writeable, contiguous
        compact = compact.copy()
    for axis in range(3):
        if compact.shape[axis] > 1:
            strides[axis] = compact.strides[axis] // compact.itemsize
    values = compact.reshape(-1)
    if mask.dtype == bool:
        return BOOL_MASK, values, no_floats, strides
    return FLOAT_MASK, no_bools, values, strides


def _mask_tile(s, b, i0, j0, kind, bools, floats, strides):
    """s (br, bc) holds the scores of queries i0.. against keys j0..: apply the mask in place."""
    br, bc = s.shape
    sb, si, sj = strides[0], strides[1], strides[2]
    if kind == CAUSAL:
        for r in range(br):
            for c in range(max(0, i0 + r - j0 + 1), bc):   # key j0 + c > query i0 + r
                s[r, c] = -np.inf
    elif kind == BOOL_MASK:
        for r in range(br):
            base = b * sb + (i0 + r) * si + j0 * sj
            for c in range(bc):
                if bools[base + c * sj] == 0:
                    s[r, c] = -np.inf
    elif kind == FLOAT_MASK:
        for r in range(br):
            base = b * sb + (i0 + r) * si + j0 * sj
            for c in range(bc):
                s[r, c] += floats[base + c * sj]


def _needs_mask(kind, i0, i1, j0, j1):
    """False for a tile the mask cannot touch (a causal tile wholly on or below the diagonal)."""
    if kind == NO_MASK:
        return False
    if kind == CAUSAL:
        return j1 - 1 > i0          # some key beyond the first query of the tile
    return True


# exp(x) = 2^n exp(r), n = round(x / ln 2), r = x - n ln 2 in [-ln2/2, ln2/2] (ln 2 split in a
# high and a low part so that n ln 2 is exact), exp(r) by its degree-7 Taylor polynomial
# (relative error 2.5e-7, float32's own rounding), 2^n written straight into the exponent bits.
# (float32 constants: a Python float would turn the whole loop into float64.)
LOG2E = np.float32(1.4426950408889634)
LN2_HI, LN2_LO = np.float32(0.693359375), np.float32(-2.12194440e-4)
EXP_FLOOR = np.float32(-87.0)   # below it exp underflows float32: the result is set to 0
TAYLOR = tuple(np.float32(1 / math.factorial(i)) for i in range(8))   # 1/i!, i = 0..7
HALF, ZERO = np.float32(0.5), np.float32(0.0)


def _exp_shifted(row, shift, bits, fast):
    """row[c] = exp(row[c] - shift) in place (-inf -> 0); returns the sum of the row.

    fast (float32): the polynomial above, in loops with no calls, which LLVM vectorises
    (16 lanes with AVX-512); Numba's np.exp is a scalar libm call per element (no SVML here),
    about twice as slow. float64 keeps np.exp (the polynomial is not accurate enough for it).
    """
    n = row.shape[0]
    if not fast:
        total = 0.0
        for c in range(n):
            row[c] = np.exp(row[c] - shift)
            total += row[c]
        return total
    scale_bits = bits[:n]
    scales = scale_bits.view(np.float32)
    for c in range(n):                                   # vectorised: no branches, no calls
        x = max(row[c] - shift, EXP_FLOOR)
        t = np.floor(x * LOG2E + HALF)
        r = x - t * LN2_HI - t * LN2_LO
        p = TAYLOR[7]                                    # Horner: sum_i r^i / i!
        p = p * r + TAYLOR[6]
        p = p * r + TAYLOR[5]
        p = p * r + TAYLOR[4]
        p = p * r + TAYLOR[3]
        p = p * r + TAYLOR[2]
        p = p * r + TAYLOR[1]
        p = p * r + TAYLOR[0]
        row[c] = p if x > EXP_FLOOR else ZERO
        scale_bits[c] = (np.int32(t) + 127) << 23        # the float 2^t
    total = 0.0
    for c in range(n):
        row[c] *= scales[c]
        total += row[c]
    return total


# ---- rowwise: one query row at a time --------------------------------------------------------

def _attention_forward_rowwise(q, k, v, kind, bools, floats, strides, scale, out, lse):
    # q (B, L, E), k (B, S, E), v (B, S, Ev) -> out (B, L, Ev), lse (B, L)
    """for (b, i) in parallel:            # every query row on its own
           m, l, acc = -inf, 0, 0
           for j in keys:                  # online softmax, one score at a time
               s = q[b,i] . k[b,j] * scale (+ mask)
               m_new = max(m, s);  acc = acc * exp(m - m_new) + exp(s - m_new) * v[b,j]
               l = l * exp(m - m_new) + exp(s - m_new);  m = m_new
           out = acc / l,  lse = m + log l

    Two exps per score and a rescale of acc (Ev numbers) per key: O(L S Ev) extra work and
    no data reuse (each key row is read once per query row), so it runs at memory speed, not
    at multiply-add speed. Extra memory: one accumulator row per thread.
    """
    n_batch, length, e_dim = q.shape
    source, ev_dim = k.shape[1], v.shape[2]
    sb, si, sj = strides[0], strides[1], strides[2]
    for row in prange(n_batch * length):
        b, i = row // length, row % length
        acc = np.zeros(ev_dim, out.dtype)
        m, l = -np.inf, 0.0
        last = min(source, i + 1) if kind == CAUSAL else source
        for j in range(last):
            s = 0.0
            for e in range(e_dim):
                s += q[b, i, e] * k[b, j, e]
            s *= scale
            if kind == BOOL_MASK and bools[b * sb + i * si + j * sj] == 0:
                continue
            if kind == FLOAT_MASK:
                s += floats[b * sb + i * si + j * sj]
            if s == -np.inf:
                continue
            m_new = max(m, s)
            alpha, p = np.exp(m - m_new), np.exp(s - m_new)
            for e in range(ev_dim):
                acc[e] = acc[e] * alpha + p * v[b, j, e]
            l = l * alpha + p
            m = m_new
        if l > 0:
            for e in range(ev_dim):
                out[b, i, e] = acc[e] / l
            lse[b, i] = m + np.log(l)
        else:               # every key masked: zeros, lse = -inf
            out[b, i, :] = 0
            lse[b, i] = -np.inf


def _attention_backward_rowwise(q, k, v, g, lse, row_dot, kind, bools, floats, strides, scale,
                                dq, dk, dv):
    # q (B, L, E), k (B, S, E), v (B, S, Ev), g (B, L, Ev), lse and row_dot (B, L)
    #   -> dq (B, L, E), dk (B, S, E), dv (B, S, Ev)
    """for b in parallel:                 # dk, dv are sums over rows: one thread per batch item
           for i in rows:
               for j in keys:
                   p  = exp(q[b,i] . k[b,j] * scale (+ mask) - lse[b,i])
                   dp = g[b,i] . v[b,j];   ds = p (dp - row_dot[b,i])
                   dq[b,i] += ds * scale * k[b,j];  dk[b,j] += ds * scale * q[b,i]
                   dv[b,j] += p * g[b,i]

    lse is +inf on a fully masked row (the caller's convention), so p = 0 there. Parallel over
    batch only, scalar dot products: a teaching step, slow.
    """
    n_batch, length, e_dim = q.shape
    source, ev_dim = k.shape[1], v.shape[2]
    sb, si, sj = strides[0], strides[1], strides[2]
    for b in prange(n_batch):
        for i in range(length):
            last = min(source, i + 1) if kind == CAUSAL else source
            for j in range(last):
                s = 0.0
                for e in range(e_dim):
                    s += q[b, i, e] * k[b, j, e]
                s *= scale
                if kind == BOOL_MASK and bools[b * sb + i * si + j * sj] == 0:
                    continue
                if kind == FLOAT_MASK:
                    s += floats[b * sb + i * si + j * sj]
                p = np.exp(s - lse[b, i])
                if p == 0.0:
                    continue
                dp = 0.0
                for e in range(ev_dim):
                    dp += g[b, i, e] * v[b, j, e]
                ds = p * (dp - row_dot[b, i]) * scale
                for e in range(e_dim):
                    dq[b, i, e] += ds * k[b, j, e]
                    dk[b, j, e] += ds * q[b, i, e]
                for e in range(ev_dim):
                    dv[b, j, e] += p * g[b, i, e]


# ---- flash: tiles of queries against tiles of keys (FlashAttention-2) ----------------------

def _attention_forward_flash(q, k, v, kind, bools, floats, strides, scale, out, lse,
                             fast_exp):
    # q (B, L, E), k (B, S, E), v (B, S, Ev) -> out (B, L, Ev), lse (B, L)
    """for (b, query tile i) in parallel:                  # BR queries: Q_i (br, E)
           m = -inf, l = 0, acc = 0                        # (br,), (br,), (br, Ev)
           for key tile j (causal: only up to the diagonal):   # BC keys
               S = Q_i K_j^T * scale (+ mask)              # (br, bc), BLAS
               m_new = max(m, rowmax S);  P = exp(S - m_new);  alpha = exp(m - m_new)
               l = alpha l + rowsum P;  acc = alpha acc + P V_j   # (br, Ev), BLAS
               m = m_new
           out_i = acc / l,  lse_i = m + log l

    Tiles BR x BC = 64 x 64: Q_i, K_j, V_j, S and acc (about 80 KB in float32) stay in L2.
    Work per tile: two (64 x 64 x 64) products on BLAS (about 40-50 GFLOP/s a core at this
    size: the BLAS call and packing overhead is what limits it), and BR x BC exps, vectorised
    in float32 by `_exp_shifted` (np.exp is a scalar libm call: 2x slower measured).
    Extra memory: a few tiles per thread, nothing of size L x S.
    """
    n_batch, length, e_dim = q.shape
    source, ev_dim = k.shape[1], v.shape[2]
    n_tiles = (length + BR - 1) // BR
    for item in prange(n_batch * n_tiles):
        b = item // n_tiles
        i0 = (item % n_tiles) * BR
        i1 = min(length, i0 + BR)
        br = i1 - i0
        m = np.full(br, -np.inf, out.dtype)
        l = np.zeros(br, out.dtype)
        alpha = np.empty(br, out.dtype)
        acc = np.zeros((br, ev_dim), out.dtype)
        bits = np.empty(BC, np.int32)                            # scratch of the fast exp
        last = min(source, i1) if kind == CAUSAL else source   # keys beyond i1 - 1: all masked
        for j0 in range(0, last, BC):
            j1 = min(last, j0 + BC)
            s = np.dot(q[b, i0:i1], k[b, j0:j1].T)              # (br, bc)
            s *= scale
            if _needs_mask(kind, i0, i1, j0, j1):
                _mask_tile(s, b, i0, j0, kind, bools, floats, strides)
            for r in range(br):                                  # online softmax, row by row
                m_new = m[r]
                for c in range(j1 - j0):
                    m_new = max(m_new, s[r, c])
                if m_new == -np.inf:                             # nothing seen yet in this row
                    s[r, :] = 0
                    alpha[r] = 1
                    continue
                total = _exp_shifted(s[r], m_new, bits, fast_exp)   # P = exp(S - m_new)
                alpha[r] = np.exp(m[r] - m_new)
                l[r] = l[r] * alpha[r] + total
                m[r] = m_new
            pv = np.dot(s, v[b, j0:j1])                          # (br, Ev)
            for r in range(br):
                for e in range(ev_dim):
                    acc[r, e] = acc[r, e] * alpha[r] + pv[r, e]
        for r in range(br):
            if l[r] > 0:
                for e in range(ev_dim):
                    out[b, i0 + r, e] = acc[r, e] / l[r]
                lse[b, i0 + r] = m[r] + np.log(l[r])
            else:                                                # every key masked
                out[b, i0 + r, :] = 0
                lse[b, i0 + r] = -np.inf


def _attention_backward_flash(q, k, v, g, lse, row_dot, kind, bools, floats, strides, scale,
                              dq_parts, dk, dv, fast_exp):
    # q (B, L, E), k (B, S, E), v (B, S, Ev), g (B, L, Ev), lse and row_dot (B, L)
    #   -> dq_parts (C, B, L, E) (summed over C by the caller), dk (B, S, E), dv (B, S, Ev)
    """for (b, chunk c) in parallel:                 # chunk c: key tiles c, c + C, c + 2C, ...
           for key tile j in chunk c:                # K_j, V_j (bc, E), (bc, Ev)
               dK_j = 0, dV_j = 0
               for query tile i (causal: from the diagonal down):
                   P  = exp(Q_i K_j^T * scale (+ mask) - lse_i)     # (br, bc), rebuilt
                   dV_j += P^T dO_i                                   # (bc, Ev)
                   dP = dO_i V_j^T                                    # (br, bc)
                   dS = P * (dP - row_dot_i) * scale
                   dQ_i += dS K_j      (into dq_parts[c])             # (br, E)
                   dK_j += dS^T Q_i                                   # (bc, E)

    FlashAttention-2's split: a key tile owns its dK_j, dV_j, so no two threads write them;
    dQ_i is shared by the key tiles, so each chunk writes its own copy (C = 1 when there are
    at least as many batch items as threads: no copy at all). Interleaving the key tiles
    over chunks balances the causal triangle. Five BLAS tile products and BR x BC exps per
    pair of tiles; lse is +inf on a fully masked row (the caller's convention), so P = 0.
    """
    n_batch, length, e_dim = q.shape
    source, ev_dim = k.shape[1], v.shape[2]
    n_chunks = dq_parts.shape[0]
    n_key_tiles = (source + BC - 1) // BC
    for item in prange(n_batch * n_chunks):
        b, c = item // n_chunks, item % n_chunks
        dq = dq_parts[c]
        for jt in range(c, n_key_tiles, n_chunks):
            j0 = jt * BC
            j1 = min(source, j0 + BC)
            kj, vj = k[b, j0:j1], v[b, j0:j1]
            dk_j = np.zeros((j1 - j0, e_dim), dq.dtype)
            dv_j = np.zeros((j1 - j0, ev_dim), dq.dtype)
            bits = np.empty(BC, np.int32)                             # scratch of the fast exp
            first = (j0 // BR) * BR if kind == CAUSAL else 0          # queries before j0 see none
            for i0 in range(first, length, BR):
                i1 = min(length, i0 + BR)
                s = np.dot(q[b, i0:i1], kj.T)                          # (br, bc)
                s *= scale
                if _needs_mask(kind, i0, i1, j0, j1):
                    _mask_tile(s, b, i0, j0, kind, bools, floats, strides)
                for r in range(i1 - i0):                               # s becomes P
                    _exp_shifted(s[r], lse[b, i0 + r], bits, fast_exp)
                dv_j += np.dot(s.T, g[b, i0:i1])                       # (bc, Ev)
                dp = np.dot(g[b, i0:i1], vj.T)                         # (br, bc)
                for r in range(i1 - i0):                               # dp becomes dS
                    for cc in range(j1 - j0):
                        dp[r, cc] = s[r, cc] * (dp[r, cc] - row_dot[b, i0 + r]) * scale
                dq[b, i0:i1] += np.dot(dp, kj)                         # (br, E)
                dk_j += np.dot(dp.T, q[b, i0:i1])                      # (bc, E)
            dk[b, j0:j1] = dk_j
            dv[b, j0:j1] = dv_j


# ---- wrappers: raw arrays in the registry's signatures -------------------------------------

def _compute_dtype(q):
    return q.dtype if q.dtype in (np.float32, np.float64) else np.dtype(np.float64)


def _forward(kernel, q, k, v, mask, causal, scale, fast_exp=None):
    dtype = _compute_dtype(q)
    q, k, v = (np.ascontiguousarray(a, dtype=dtype) for a in (q, k, v))
    kind, bools, floats, strides = flat_mask(mask, causal, dtype)
    out = np.empty(q.shape[:2] + v.shape[2:], dtype)                 # (B, L, Ev)
    lse = np.empty(q.shape[:2], dtype)                                # (B, L)
    extra = () if fast_exp is None else (dtype == np.float32,)   # flash: exp by polynomial
    kernel(q, k, v, kind, bools, floats, strides, dtype.type(scale), out, lse, *extra)
    return out, lse


def _backward(kernel, q, k, v, out, lse, g, mask, causal, scale, chunked):
    dtype = _compute_dtype(q)
    q, k, v, g = (np.ascontiguousarray(a, dtype=dtype) for a in (q, k, v, g))
    kind, bools, floats, strides = flat_mask(mask, causal, dtype)
    row_dot = np.einsum("ble,ble->bl", g, out.astype(dtype, copy=False))   # D = rowsum(dO * O)
    # a fully masked row (lse = -inf): exp(s - inf) = 0 gives P = 0 with no NaN
    lse = np.where(np.isfinite(lse), lse, np.inf).astype(dtype, copy=False)
    if not chunked:
        dq, dk, dv = np.zeros_like(q), np.zeros_like(k), np.zeros_like(v)   # sums, from 0
        kernel(q, k, v, g, lse, row_dot, kind, bools, floats, strides, dtype.type(scale),
               dq, dk, dv)
        return dq, dk, dv
    # fewer batch items than threads: split the key tiles into chunks, one dQ copy each
    n_batch, source = k.shape[:2]
    n_chunks = max(1, min(-(-get_num_threads() // n_batch), -(-source // BC)))
    dq_parts = np.zeros((n_chunks,) + q.shape, dtype)
    dk, dv = np.empty_like(k), np.empty_like(v)                       # every tile written once
    kernel(q, k, v, g, lse, row_dot, kind, bools, floats, strides, dtype.type(scale),
           dq_parts, dk, dv, dtype == np.float32)
    return dq_parts.sum(axis=0) if n_chunks > 1 else dq_parts[0], dk, dv


# ---- compiled at the bottom, so NUMBA_DISABLE_JIT=1 runs everything above as Python -----------
_mask_tile = njit(cache=True, fastmath=FASTMATH)(_mask_tile)
_exp_shifted = njit(cache=True, fastmath=FASTMATH)(_exp_shifted)
_needs_mask = njit(cache=True)(_needs_mask)
attention_forward_rowwise = njit(cache=True, parallel=True, fastmath=FASTMATH)(
    _attention_forward_rowwise)
attention_backward_rowwise = njit(cache=True, parallel=True, fastmath=FASTMATH)(
    _attention_backward_rowwise)
attention_forward_flash = njit(cache=True, parallel=True, fastmath=FASTMATH)(
    _attention_forward_flash)
attention_backward_flash = njit(cache=True, parallel=True, fastmath=FASTMATH)(
    _attention_backward_flash)


@register("attention_forward", "rowwise", devices=("cpu",))
def rowwise_forward(q, k, v, mask, causal, scale):
    return _forward(attention_forward_rowwise, q, k, v, mask, causal, scale)


@register("attention_backward", "rowwise", devices=("cpu",))
def rowwise_backward(q, k, v, out, lse, g, mask, causal, scale):
    return _backward(attention_backward_rowwise, q, k, v, out, lse, g, mask, causal, scale,
                     chunked=False)


@register("attention_forward", "flash", devices=("cpu",))
def flash_forward(q, k, v, mask, causal, scale):
    return _forward(attention_forward_flash, q, k, v, mask, causal, scale, fast_exp=True)


@register("attention_backward", "flash", devices=("cpu",))
def flash_backward(q, k, v, out, lse, g, mask, causal, scale):
    return _backward(attention_backward_flash, q, k, v, out, lse, g, mask, causal, scale,
                     chunked=True)
