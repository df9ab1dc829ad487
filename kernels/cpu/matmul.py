"""Matrix product on the CPU in Numba, from the textbook loop to a packed, register-blocked GEMM.

    c = matmul(a, b)      a (..., M, K), b (..., K, N) -> c (..., M, N)
    c[i, j] = sum_p a[i, p] b[p, j]                        (2 M N K flops)

Same contract as the reference (np.matmul, scratchgen/engine/reference_kernels.py, the
truth every version is tested against): operands of ndim >= 2 (the engine promotes 1-D),
batch dimensions broadcast like NumPy, float32 or float64 (mixed: computed and returned in
np.result_type), any strides, a new C-contiguous result. One thin wrapper (`_matmul_with`)
broadcasts the batch once and hands every version the same batched 3-D problem.

Versions (each registered under its name; float32 and float64):

  "naive"             i, j, p: the textbook order. The inner loop walks b down a column
                      (stride N) and is a serial reduction: nothing vectorises.
  "loop_order"        i, p, j: the inner loop is now c[i, :] += a[i, p] * b[p, :], contiguous,
                      so LLVM vectorises it; every multiply-add still loads and stores c.
  "blocked"           loop_order inside MC x KC x NC cache tiles, so the b tile stays in L2
                      and the c row segment in L1. Its inner loop is the same
                      load-FMA-store as loop_order, so it gains only on large sizes.
  "packed"            GotoBLAS/BLIS structure: b panels and a panels copied (through the
                      operands' strides) into contiguous buffers with K innermost, so the
                      innermost loop is a vectorised dot product with its accumulator in a
                      register. One output per dot: two loads per FMA, half the FMA peak.
  "register_blocked"  packed panels plus a 4 x 3 micro-kernel: 12 dot products at once, with
                      12 vector accumulators in registers, 7 loads per 12 FMAs.
  "parallel"          register_blocked with prange over the MC blocks of rows (each thread
                      packs its own a block; the b block is packed once, in parallel).

Measured (2-core AMD EPYC, Zen 3 "znver3" to LLVM: AVX2 + FMA, no AVX-512; OpenBLAS 0.3.31
runs its Haswell kernel; float32 GFLOP/s, medians of runs interleaved with np.matmul, machine
shared with other jobs):

    N      threads  naive  loop_order  blocked  packed  register_blocked  parallel  OpenBLAS
    512    1        0.6    9.4         8.4      8.6     38.9 (0.51x)      27.5      76.7
    1024   1        -      13.9        8.4      10.5    38.9 (0.55x)      41.3      70.1
    2048   1        -      3.5         6.9      11.3    27.0 (0.57x)      28.3      47.1
    2048   2        -      3.3         6.5      9.8     35.9 (0.56x)      34.5      64.6
  (OpenBLAS is the np.matmul median interleaved with register_blocked; with one thread
  "parallel" is register_blocked plus prange overhead; "-": naive skipped above N = 512.)
  float64, 1 thread: register_blocked 0.68x at N = 512, 0.57x at 1024.
  Two-thread numbers at N <= 1024 were swamped by other jobs on the 2 cores (OpenBLAS
  itself fell to 8-45 GFLOP/s) and say nothing; at 2048 "parallel" did not beat
  register_blocked under that load.

Verdicts: the best version (register_blocked) reaches 0.5-0.6x OpenBLAS, short of the 0.75x
target. The micro-kernel alone, on L1-resident panels, runs at about 0.8x OpenBLAS; in the
full GEMM the 4 x 3 dot tile reuses each streamed a panel only 3 times, so it needs about
0.67 bytes per flop from L2 (a BLIS 6 x 16 outer-product tile needs 0.125), plus the
per-panel lane reductions and the packing (about 10-15%). An outer-product tile would need
SLP vectorisation or explicit vector types. "blocked" and "packed" stay as teaching steps:
they show that cache blocking and packing alone change little while the inner loop is
bound by loads and stores; the jump comes with the register tile. loop_order collapses at
N = 2048 (b streams from memory on every row), which blocked fixes.

Final run on a quiet machine (`scratchgen bench kernels --threads 1 --repeats 5`, float32, GFLOP/s,
ratio to np.matmul in the same run): register_blocked 37.3 (0.56x) / 40.7 (0.57x) / 40.7 (0.54x),
parallel 37.2 (0.56x) / 40.8 (0.58x) / 48.1 (0.64x) at N = 512 / 1024 / 2048; OpenBLAS 66-80.
The CPU default stays the reference (OpenBLAS).

Reproduce: python bench/matmul_kernels.py --threads 1 ; python bench/matmul_kernels.py --threads 2
           (add --dtype float64 for double precision)

Why the micro-kernel is a "dot" kernel (k innermost) rather than BLIS's broadcast-a, vector-b
outer product: Numba turns LLVM's SLP vectoriser off (numba#8705), so only the loop
vectoriser is left, and it vectorises innermost loops. Written as below, LLVM first unrolls
the fixed 4 x 3 loops completely, the accumulators (on the stack, see `register_tile`) become
12 scalars, and the loop vectoriser turns the remaining k loop into 12 reductions of 8-wide
(float32) or 4-wide (float64) FMAs that stay in ymm registers. An outer-product kernel with a
heap tile keeps its accumulators in memory (LLVM cannot rule out aliasing) and runs at 1/20 of
this. 4 x 3 fits AVX2's 16 registers: 12 accumulators, 3 b vectors, 1 a vector; 3 x 4 spills.
Check (a fresh NUMBA_CACHE_DIR, since cached code cannot be inspected):
`matmul_register_blocked.inspect_asm(matmul_register_blocked.signatures[0])` holds a loop of
12 vfmadd231ps on ymm registers (the micro-kernel is inlined, inline="always").
"""
import numpy as np
from numba import carray, config, get_num_threads, njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from scratchgen.engine.dispatch import register

MR, NR = 4, 3           # register tile: rows of a x columns of b per micro-kernel call
TILE = MR * NR
# Cache tiles, in elements. A (MR + NR) x KC pair of micro-panels (14 KB for float32 at
# KC = 512) sits in the 32 KB L1d; the MC x KC block of a (192 KB) in the 512 KB L2; the
# KC x NC block of b in the shared L3. float64 halves KC so the bytes stay the same.
KC_BYTES = 2048
MC = 96
NC = 2048
BLOCKED_MC, BLOCKED_KC, BLOCKED_NC = 64, 256, 256   # "blocked": b tile 256 KB (float32) in L2


# ---- naive -------------------------------------------------------------------------------------

def _matmul_naive(a, b, ia, ib, c):
    """c[t] = a[ia[t]] @ b[ib[t]], C-contiguous operands.

    for t, i, j:  for p:  acc += a[i, p] * b[p, j]
    No tiles. The inner loop is a reduction reading b with stride N: one scalar FMA per
    iteration behind a cache miss on large N, and a serial add chain. A few % of BLAS.
    """
    # a (Ba, M, K), b (Bb, K, N), ia, ib (T,) -> c (T, M, N)
    m, k, n = a.shape[1], a.shape[2], b.shape[2]
    for t in range(c.shape[0]):
        at, bt = a[ia[t]], b[ib[t]]
        for i in range(m):
            for j in range(n):
                acc = at[i, 0] * bt[0, j]
                for p in range(1, k):
                    acc += at[i, p] * bt[p, j]
                c[t, i, j] = acc


# ---- loop_order --------------------------------------------------------------------------------

def _matmul_loop_order(a, b, ia, ib, c):
    """c[t] = a[ia[t]] @ b[ib[t]], C-contiguous operands, c zeroed.

    for t, i, p:  for j:  c[i, j] += a[i, p] * b[p, j]
    No tiles. The inner loop is contiguous in b and c, so it vectorises, but each vector FMA
    loads c, loads b and stores c again (load/store bound), and for large N the c row and b
    stream through L1 from L2/L3 on every p.
    """
    # a (Ba, M, K), b (Bb, K, N), ia, ib (T,) -> c (T, M, N)
    m, k, n = a.shape[1], a.shape[2], b.shape[2]
    for t in range(c.shape[0]):
        at, bt, ct = a[ia[t]], b[ib[t]], c[t]
        for i in range(m):
            for p in range(k):
                a_ip = at[i, p]
                for j in range(n):
                    ct[i, j] += a_ip * bt[p, j]


# ---- blocked -----------------------------------------------------------------------------------

def _matmul_blocked(a, b, ia, ib, c):
    """loop_order inside cache tiles; C-contiguous operands, c zeroed.

    for t, j0 (NC), p0 (KC), i0 (MC):  for i, p:  for j in the NC tile:  c[i, j] += a[i, p] b[p, j]
    Tiles 64 x 256 x 256: the KC x NC tile of b (256 KB float32) is reused from L2 by the MC
    rows, the NC-long row segment of c (1 KB) from L1 by the KC values of p. The inner
    loop is still load-c, load-b, FMA, store-c: limited by L1 load/store ports, not by FMAs.
    """
    # a (Ba, M, K), b (Bb, K, N), ia, ib (T,) -> c (T, M, N)
    m, k, n = a.shape[1], a.shape[2], b.shape[2]
    for t in range(c.shape[0]):
        at, bt, ct = a[ia[t]], b[ib[t]], c[t]
        for j0 in range(0, n, BLOCKED_NC):
            j1 = min(j0 + BLOCKED_NC, n)
            for p0 in range(0, k, BLOCKED_KC):
                p1 = min(p0 + BLOCKED_KC, k)
                for i0 in range(0, m, BLOCKED_MC):
                    for i in range(i0, min(i0 + BLOCKED_MC, m)):
                        c_row = ct[i, j0:j1]
                        for p in range(p0, p1):
                            a_ip = at[i, p]
                            b_row = bt[p, j0:j1]
                            for j in range(j1 - j0):   # from 0: LLVM sees the index >= 0
                                c_row[j] += a_ip * b_row[j]


# ---- packing (shared by packed, register_blocked, parallel) -----------------------------------

def _pack_a(a, trans, i0, mc, p0, kc, ap):
    """ap[r // MR, r % MR, q] = A[i0 + r, p0 + q], rows past the edge zero.

    A is `a` (M, K), or `a` read as its transpose when `trans` (a holds A^T, K x M), so a
    transposed operand is read through its strides here instead of being copied first.
    """
    # a (M, K) or (K, M) -> ap (MC / MR, MR, KC), K innermost
    for r in range(ap.shape[0] * MR):
        panel, row = r // MR, r % MR
        if r < mc:
            if trans:
                for q in range(kc):
                    ap[panel, row, q] = a[p0 + q, i0 + r]
            else:
                for q in range(kc):
                    ap[panel, row, q] = a[i0 + r, p0 + q]
        else:
            for q in range(kc):
                ap[panel, row, q] = 0.0


def _pack_b(b, trans, j0, nc, p0, kc, bp):
    """bp[s // NR, s % NR, q] = B[p0 + q, j0 + s], columns past the edge zero.

    B is `b` (K, N), or `b` read as its transpose when `trans` (b holds B^T, N x K). Packed
    with K innermost: a micro-panel holds NR columns of B, each one contiguous in K.
    """
    # b (K, N) or (N, K) -> bp (NC / NR, NR, KC)
    for s in range(bp.shape[0] * NR):
        panel, col = s // NR, s % NR
        if s >= nc:
            for q in range(kc):
                bp[panel, col, q] = 0.0
        elif trans:                    # a column of B is a row of b: contiguous
            for q in range(kc):
                bp[panel, col, q] = b[j0 + s, p0 + q]
    if not trans:                      # rows of b are contiguous: read along them
        full = nc // NR
        for q in range(kc):
            for panel in range(full):
                for col in range(NR):
                    bp[panel, col, q] = b[p0 + q, j0 + panel * NR + col]
            for s in range(full * NR, nc):
                bp[full, s - full * NR, q] = b[p0 + q, j0 + s]


def _store_tile(tile, c, i0, j0, mr, nr):
    """c[i0:i0+mr, j0:j0+nr] += tile[:mr, :nr] (the edge of c, where a full tile would not fit)."""
    # tile (MR, NR), c (M, N)
    for i in range(mr):
        for j in range(nr):
            c[i0 + i, j0 + j] += tile[i, j]


# ---- packed ------------------------------------------------------------------------------------

def _packed_block(ap, bp, kc, c, i0, j0, mc, nc):
    """c[i0:i0+mc, j0:j0+nc] += packed a block @ packed b block, one dot product per output.

    for each a row r, b column s:  c[r, s] += sum_q ap[r, q] * bp[s, q]   (q vectorised)
    """
    # ap (MC / MR, MR, KC), bp (NC / NR, NR, KC) -> c (M, N)
    for r in range(mc):
        a_row = ap[r // MR, r % MR]
        for s in range(nc):
            b_col = bp[s // NR, s % NR]
            acc = a_row[0] * b_col[0]       # (the element type: float32 stays float32)
            for q in range(1, kc):
                acc += a_row[q] * b_col[q]
            c[i0 + r, j0 + s] += acc


def _matmul_packed(a, trans_a, b, trans_b, ia, ib, c, mc_tile, kc_tile, nc_tile):
    """Cache blocking with packed panels, a plain dot product in the middle.

    for t, j0 (NC), p0 (KC): pack b block;  for i0 (MC): pack a block;  for r, s: dot over KC
    Tiles MC x KC x NC = 96 x 512 x 2048 (float32; KC 256 for float64). The k loop now runs
    over contiguous memory for both operands and vectorises as a reduction with its
    accumulator in a register, but each FMA needs two fresh loads (one a, one b vector):
    the two L1 load ports cap it at half the FMA peak.
    """
    # a (Ba, M, K) or (Ba, K, M) if trans_a; b (Bb, K, N) or (Bb, N, K) if trans_b -> c (T, M, N)
    m, n = c.shape[1], c.shape[2]
    k = a.shape[1] if trans_a else a.shape[2]
    ap = np.empty(((mc_tile + MR - 1) // MR, MR, kc_tile), dtype=c.dtype)
    bp = np.empty(((nc_tile + NR - 1) // NR, NR, kc_tile), dtype=c.dtype)
    for t in range(c.shape[0]):
        at, bt, ct = a[ia[t]], b[ib[t]], c[t]
        for j0 in range(0, n, nc_tile):
            nc = min(nc_tile, n - j0)
            for p0 in range(0, k, kc_tile):
                kc = min(kc_tile, k - p0)
                bpk = bp[:(nc + NR - 1) // NR]
                _pack_b(bt, trans_b, j0, nc, p0, kc, bpk)
                for i0 in range(0, m, mc_tile):
                    mc = min(mc_tile, m - i0)
                    apk = ap[:(mc + MR - 1) // MR]
                    _pack_a(at, trans_a, i0, mc, p0, kc, apk)
                    _packed_block(apk, bpk, kc, ct, i0, j0, mc, nc)


# ---- register_blocked --------------------------------------------------------------------------

def _register_tile_python(dtype):
    return np.zeros((MR, NR), dtype=dtype)


@intrinsic
def _stack_tile(typingctx, dtype):
    """An uninitialised (MR, NR) array on the stack (an LLVM alloca of a fixed size).

    A tile from np.zeros lives on the heap, where LLVM cannot prove that the stores to it do
    not alias the panels, so it keeps the accumulators in memory. A fixed-size alloca,
    indexed only at constant positions once the tile loops are unrolled, is split by LLVM's
    SROA pass into scalars, that is registers.
    """
    scalar = dtype.dtype if isinstance(dtype, (types.DType, types.NumberClass)) else None
    if scalar is None:
        return None
    array_type = types.Array(scalar, 2, "C")

    def codegen(context, builder, signature, args):
        data = cgutils.alloca_once(builder, context.get_value_type(scalar), size=TILE)
        tile = context.make_array(array_type)(context, builder)
        itemsize = context.get_abi_sizeof(context.get_value_type(scalar))
        intp = context.get_value_type(types.intp)
        context.populate_array(tile, data=data,
                               shape=[intp(MR), intp(NR)],
                               strides=[intp(NR * itemsize), intp(itemsize)],
                               itemsize=intp(itemsize), meminfo=None)
        return tile._getvalue()
    return array_type(dtype), codegen


# With NUMBA_DISABLE_JIT=1 the kernels run as Python, where an intrinsic cannot: use NumPy.
register_tile = _register_tile_python if config.DISABLE_JIT else _stack_tile


def _micro_kernel(a_panel, b_panel, kc, c, i0, j0, mr, nr, edge):
    """c[i0:i0+mr, j0:j0+nr] += a_panel[:, :kc] @ b_panel[:, :kc]^T, as one 4 x 3 register tile.

    for q (vectorised, 8 float32 / 4 float64 lanes):  for i < 4, j < 3 (unrolled):
        acc[i, j] += a_panel[i, q] * b_panel[j, q]
    then each of the 12 vector accumulators is summed across its lanes and added to c.
    Per vector step: 4 + 3 loads for 12 FMAs, so the two FMA pipes, not the loads, set the
    pace; the end-of-panel reductions (about 1/8 of the work at KC = 512) and the trip
    count remainder of kc (not a multiple of the vector width) are what is left.
    The tile loops must keep their fixed trip counts (MR, NR): a loop bound known only at
    run time would index the accumulator tile dynamically and push it back into memory, so
    edge tiles go through `edge` and `_store_tile`.
    """
    # a_panel (MR, KC), b_panel (NR, KC) -> c (M, N) tile at (i0, j0) of size mr x nr
    acc = register_tile(c.dtype)
    for i in range(MR):
        for j in range(NR):
            acc[i, j] = 0.0
    for q in range(kc):
        for i in range(MR):
            for j in range(NR):
                acc[i, j] += a_panel[i, q] * b_panel[j, q]
    if mr == MR and nr == NR:
        for i in range(MR):
            for j in range(NR):
                c[i0 + i, j0 + j] += acc[i, j]
    else:
        for i in range(MR):
            for j in range(NR):
                edge[i, j] = acc[i, j]
        _store_tile(edge, c, i0, j0, mr, nr)


def _register_blocked_block(ap, bp, kc, c, i0, j0, mc, nc, edge):
    """All micro-kernels of one packed (MC x KC) a block times one packed (KC x NC) b block.

    for jr (b micro-panel, NR columns: stays in L1):  for ir (a micro-panel, MR rows, from L2)
    """
    # ap (MC / MR, MR, KC), bp (NC / NR, NR, KC) -> c (M, N)
    for jr in range((nc + NR - 1) // NR):
        nr = min(NR, nc - jr * NR)
        for ir in range((mc + MR - 1) // MR):
            mr = min(MR, mc - ir * MR)
            _micro_kernel(ap[ir], bp[jr], kc, c, i0 + ir * MR, j0 + jr * NR, mr, nr, edge)


def _matmul_register_blocked(a, trans_a, b, trans_b, ia, ib, c, mc_tile, kc_tile, nc_tile):
    """packed, with the dot product replaced by the 4 x 3 register-blocked micro-kernel.

    for t, j0 (NC), p0 (KC): pack b;  for i0 (MC): pack a;  for jr (NR), ir (MR): micro-kernel
    Tiles MC x KC x NC = 96 x 512 x 2048 (float32; KC 256 float64), MR x NR = 4 x 3.
    Limited by the micro-kernel's lane reductions per panel, by packing (about 1/MC + 1/NC
    of the work in copies) and by the single-threaded loop.
    """
    # a (Ba, M, K) or (Ba, K, M) if trans_a; b (Bb, K, N) or (Bb, N, K) if trans_b -> c (T, M, N)
    m, n = c.shape[1], c.shape[2]
    k = a.shape[1] if trans_a else a.shape[2]
    ap = np.empty(((mc_tile + MR - 1) // MR, MR, kc_tile), dtype=c.dtype)
    bp = np.empty(((nc_tile + NR - 1) // NR, NR, kc_tile), dtype=c.dtype)
    edge = np.empty((MR, NR), dtype=c.dtype)
    for t in range(c.shape[0]):
        at, bt, ct = a[ia[t]], b[ib[t]], c[t]
        for j0 in range(0, n, nc_tile):
            nc = min(nc_tile, n - j0)
            for p0 in range(0, k, kc_tile):
                kc = min(kc_tile, k - p0)
                bpk = bp[:(nc + NR - 1) // NR]
                _pack_b(bt, trans_b, j0, nc, p0, kc, bpk)
                for i0 in range(0, m, mc_tile):
                    mc = min(mc_tile, m - i0)
                    apk = ap[:(mc + MR - 1) // MR]
                    _pack_a(at, trans_a, i0, mc, p0, kc, apk)
                    _register_blocked_block(apk, bpk, kc, ct, i0, j0, mc, nc, edge)


# ---- parallel ----------------------------------------------------------------------------------

def _pack_b_parallel(b, trans, j0, nc, p0, kc, bp):
    """_pack_b with the micro-panels shared out between threads."""
    # b (K, N) or (N, K) -> bp (NC / NR, NR, KC)
    for panel in prange(bp.shape[0]):
        s0 = panel * NR
        _pack_b(b, trans, j0 + s0, max(0, min(NR, nc - s0)), p0, kc, bp[panel:panel + 1])


def _matmul_parallel(a, trans_a, b, trans_b, ia, ib, c, mc_tile, kc_tile, nc_tile):
    """register_blocked with the MC blocks of rows shared out between threads (prange).

    for t, j0 (NC), p0 (KC): pack b (parallel over panels);
        for i0 (MC, parallel): pack a into this thread's buffer;  for jr, ir: micro-kernel
    Each thread writes its own rows of c, so there are no races; the b block is shared in
    L3. The wrapper picks MC so that the row blocks divide evenly between the threads.
    Limited as register_blocked, plus the serial p0/j0 loop (a fork/join per KC x NC block)
    and, on this machine, sharing the cores with other work.
    """
    # a (Ba, M, K) or (Ba, K, M) if trans_a; b (Bb, K, N) or (Bb, N, K) if trans_b -> c (T, M, N)
    m, n = c.shape[1], c.shape[2]
    k = a.shape[1] if trans_a else a.shape[2]
    bp = np.empty(((nc_tile + NR - 1) // NR, NR, kc_tile), dtype=c.dtype)
    blocks = (m + mc_tile - 1) // mc_tile
    for t in range(c.shape[0]):
        at, bt, ct = a[ia[t]], b[ib[t]], c[t]
        for j0 in range(0, n, nc_tile):
            nc = min(nc_tile, n - j0)
            for p0 in range(0, k, kc_tile):
                kc = min(kc_tile, k - p0)
                bpk = bp[:(nc + NR - 1) // NR]
                _pack_b_parallel(bt, trans_b, j0, nc, p0, kc, bpk)
                for block in prange(blocks):
                    i0 = block * mc_tile
                    mc = min(mc_tile, m - i0)
                    ap = np.empty(((mc + MR - 1) // MR, MR, kc), dtype=c.dtype)
                    edge = np.empty((MR, NR), dtype=c.dtype)
                    _pack_a(at, trans_a, i0, mc, p0, kc, ap)
                    _register_blocked_block(ap, bpk, kc, ct, i0, j0, mc, nc, edge)


# ---- the wrapper: batch broadcasting, dtypes and layouts, done once ---------------------------

def _as_batch(x, allow_transposed):
    """x (..., R, S) -> (x3, transposed): x3 C-contiguous, (B, R, S), or (B, S, R) if transposed.

    A C-contiguous operand, or (when `allow_transposed`) one whose last two axes are swapped
    from C order (b.T, swapaxes(b, -1, -2)), is passed as it is; any other layout is copied.
    So each kernel compiles once per dtype, and transposed operands are read in place.
    """
    x3 = x.reshape((int(np.prod(x.shape[:-2])),) + x.shape[-2:])
    if x3.flags.c_contiguous:
        return x3, False
    if allow_transposed and x3.swapaxes(1, 2).flags.c_contiguous:
        return x3.swapaxes(1, 2), True
    return np.ascontiguousarray(x3), False


def _batch_index(batch_shape, out_batch):
    """For each output batch element (in C order), the flat index of its operand's batch element."""
    index = np.arange(int(np.prod(batch_shape)), dtype=np.int64).reshape(batch_shape)
    return np.ascontiguousarray(np.broadcast_to(index, out_batch)).reshape(-1)


def _matmul_with(kernel, a, b, packed):
    """Normalise a @ b to the batched 3-D problem, run `kernel` on it, reshape the result."""
    if a.ndim < 2 or b.ndim < 2:
        raise ValueError(f"matmul kernels take operands of ndim >= 2, got {a.shape} @ {b.shape}")
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(f"matmul: shapes {a.shape} @ {b.shape} do not fit")
    dtype = np.result_type(a.dtype, b.dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"the Numba matmul kernels take float32 or float64, got {a.dtype} @ "
                        f"{b.dtype}; use the 'reference' kernel for other dtypes")
    a, b = a.astype(dtype, copy=False), b.astype(dtype, copy=False)
    out_batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    m, n = a.shape[-2], b.shape[-1]
    a3, trans_a = _as_batch(a, packed)
    b3, trans_b = _as_batch(b, packed)
    ia, ib = _batch_index(a.shape[:-2], out_batch), _batch_index(b.shape[:-2], out_batch)
    c = np.zeros((len(ia), m, n), dtype=dtype)
    if c.size and a.shape[-1]:
        if packed:
            kernel(a3, trans_a, b3, trans_b, ia, ib, c, *_tiles(kernel, m, dtype))
        else:
            kernel(a3, b3, ia, ib, c)
    return c.reshape(out_batch + (m, n))


def _tiles(kernel, m, dtype):
    """(MC, KC, NC) for the packed kernels; for "parallel", MC splits M evenly over the threads."""
    kc = KC_BYTES // np.dtype(dtype).itemsize
    mc = MC
    if kernel is matmul_parallel:
        threads = get_num_threads()
        blocks = threads * -(-m // (MC * threads))         # a multiple of the thread count
        mc = MR * -(-m // (blocks * MR))                    # rows per block, whole micro-panels
    return mc, kc, NC


# ---- compiled kernels and their registration -------------------------------------------------

_jit = dict(cache=True, fastmath=True)
matmul_naive_kernel = njit(cache=True)(_matmul_naive)
matmul_loop_order_kernel = njit(**_jit)(_matmul_loop_order)
matmul_blocked_kernel = njit(**_jit)(_matmul_blocked)
_pack_a = njit(**_jit)(_pack_a)
_pack_b = njit(**_jit)(_pack_b)
_store_tile = njit(**_jit)(_store_tile)
_packed_block = njit(**_jit)(_packed_block)
_micro_kernel = njit(inline="always", **_jit)(_micro_kernel)
_register_blocked_block = njit(**_jit)(_register_blocked_block)
_pack_b_parallel = njit(parallel=True, **_jit)(_pack_b_parallel)
matmul_packed = njit(**_jit)(_matmul_packed)
matmul_register_blocked = njit(**_jit)(_matmul_register_blocked)
matmul_parallel = njit(parallel=True, **_jit)(_matmul_parallel)


@register("matmul", "naive", devices=("cpu",))
def naive(a, b):
    """a @ b with the textbook i, j, k loop (contiguous copies of the operands)."""
    return _matmul_with(matmul_naive_kernel, a, b, packed=False)


@register("matmul", "loop_order", devices=("cpu",))
def loop_order(a, b):
    """a @ b with the i, k, j loop: a contiguous, vectorised inner loop."""
    return _matmul_with(matmul_loop_order_kernel, a, b, packed=False)


@register("matmul", "blocked", devices=("cpu",))
def blocked(a, b):
    """a @ b with the i, k, j loop inside MC x KC x NC cache tiles."""
    return _matmul_with(matmul_blocked_kernel, a, b, packed=False)


@register("matmul", "packed", devices=("cpu",))
def packed(a, b):
    """a @ b with cache blocking and packed panels (GotoBLAS structure), dot-product core."""
    return _matmul_with(matmul_packed, a, b, packed=True)


@register("matmul", "register_blocked", devices=("cpu",))
def register_blocked(a, b):
    """a @ b with packed panels and a 4 x 3 register-blocked micro-kernel."""
    return _matmul_with(matmul_register_blocked, a, b, packed=True)


@register("matmul", "parallel", devices=("cpu",))
def parallel(a, b):
    """register_blocked with the row blocks shared out between Numba's threads."""
    return _matmul_with(matmul_parallel, a, b, packed=True)
