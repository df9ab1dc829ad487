"""The Numba CPU kernels, one file per op, and the CPU defaults chosen by measurement.

Importing this package registers every version of every kernel with the registry
(scratchgen/engine/dispatch.py) and sets, per op, the kernel that runs on CPU arrays when
the user chose none. The rules below are the benchmark's verdicts (docs/results-kernels.md,
`scratchgen bench kernels`, `python bench/model_steps.py`); docs/kernels.md explains them.
"""
from scratchgen.engine.dispatch import set_default
from scratchgen.engine.reference_kernels import conv_output_size

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

# Convolution, by shape: our im2col packing wins where the packed column matrix is cheap to
# build relative to its GEMM: few input channels (DCGAN's first and last layers: 2.4-2.7x
# torch) and maps larger than 4x4. On 4x4 output maps NumPy's strided-slice im2col is
# faster than our per-element packing, so the reference stays there.
SMALL_MAP_PIXELS, FEW_CHANNELS = 16, 4


def _conv_choice(in_channels, out_pixels):
    if in_channels <= FEW_CHANNELS or out_pixels > SMALL_MAP_PIXELS:
        return "im2col"
    return "reference"


def conv_forward_rule(x, w, stride, padding, dilation, groups):
    oh, ow = (conv_output_size(x.shape[2 + i], w.shape[2 + i], stride[i], padding[i],
                               dilation[i]) for i in range(2))
    return _conv_choice(x.shape[1], oh * ow)


def conv_backward_input_rule(g, w, x_shape, stride, padding, dilation, groups):
    return _conv_choice(x_shape[1], g.shape[2] * g.shape[3])


def conv_backward_weight_rule(x, g, w_shape, stride, padding, dilation, groups):
    return _conv_choice(x.shape[1], g.shape[2] * g.shape[3])


set_default("conv2d_forward", "cpu", conv_forward_rule)
set_default("conv2d_backward_input", "cpu", conv_backward_input_rule)
set_default("conv2d_backward_weight", "cpu", conv_backward_weight_rule)
