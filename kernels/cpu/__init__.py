"""The Numba CPU kernels, one file per op, and the CPU defaults chosen by measurement.

Importing this package registers every version of every kernel with the registry
(scratchgen/engine/dispatch.py) and sets, per op, the kernel that runs on CPU arrays when
the user chose none. The rules below are the benchmark's verdicts (docs/results-kernels.md,
`scratchgen bench kernels`, `python bench/model_steps.py`); docs/kernels.md explains them.
"""
from scratchgen.engine.dispatch import set_default

from . import attention, conv2d, fused, matmul  # noqa: F401  (each registers its versions)

# matmul: OpenBLAS stays the default. Our best Numba GEMM ("register_blocked") reaches about
# 0.55x of it on this machine (kernels/cpu/matmul.py), so the reference (np.matmul) wins at
# every size.

# Attention: "flash" never builds the N x N matrix, and is 3-5x faster than the reference and
# within 0.7-1.3x of torch's SDPA at every measured size.
set_default("attention_forward", "cpu", "flash")
set_default("attention_backward", "cpu", "flash")

# Fused ops: the Numba layer norm and GELU are 4-7x their references at the GPT's shapes; the
# Numba cross-entropy is slower than NumPy's vectorised exp (0.4-0.5x), so it stays reference.
for _op in ("layer_norm_forward", "layer_norm_backward", "gelu_forward", "gelu_backward"):
    set_default(_op, "cpu", "numba")

# Convolution: "im2col" (our packing + one BLAS GEMM per chunk of samples) for every shape.
# Against the reference's NumPy im2col it wins at 32x32 (2.8x) and ties or loses on some 8x8
# and 4x4 layers taken alone, but whole training steps measured with each choice for all three
# ops (one thread, medians of 10 interleaved steps) favour it everywhere: DCGAN on digits 0.081
# s/step against 0.114 (reference) and 0.121 (a shape rule sending 4x4 maps to the reference),
# U-Net diffusion 0.143 against 0.168 and 0.156. One kernel for all shapes, then.
for _op in ("conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight"):
    set_default(_op, "cpu", "im2col")
