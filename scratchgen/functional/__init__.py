"""scratchgen.functional (import as F): stateless ops with PyTorch's semantics."""
from .activations import (gelu, leaky_relu, log_softmax, relu, sigmoid, silu, softmax, softplus,
                          tanh)
from .attention import scaled_dot_product_attention
from .linear import conv2d, conv_transpose2d, linear
from .losses import binary_cross_entropy_with_logits, cross_entropy, gaussian_kl, mse_loss
from .normalization import batch_norm, group_norm, layer_norm
from .pooling import avg_pool2d, interpolate, max_pool2d
from .sparse import dropout, embedding
from ..engine.ops.select import one_hot  # noqa: E402
# [issue 9 exports: REDUCE]
from .activations import (celu, elu, hardsigmoid, hardswish, hardtanh,  # noqa: E402
                          logsigmoid, mish, normalize, relu6, selu, softmin, softsign)
# [issue 9 exports: MATH]
# [issue 9 exports: SHAPE]
from .losses import (binary_cross_entropy, huber_loss, kl_div, l1_loss, nll_loss,  # noqa: E402
                     smooth_l1_loss)
from .normalization import instance_norm, rms_norm  # noqa: E402
# [issue 9 exports: NNF-LOSS]
from .linear import conv1d, conv_transpose1d
from .padding import pad
from .pooling import adaptive_avg_pool1d, adaptive_avg_pool2d, avg_pool1d, max_pool1d
# [issue 9 exports: NNF-CONV]
