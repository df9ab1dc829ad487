"""scratchgen.functional (import as F): stateless ops with PyTorch's semantics."""
from .activations import (gelu, leaky_relu, log_softmax, relu, sigmoid, silu, softmax, softplus,
                          tanh)
from .attention import scaled_dot_product_attention
from .linear import conv2d, conv_transpose2d, linear
from .losses import binary_cross_entropy_with_logits, cross_entropy, gaussian_kl, mse_loss
from .normalization import batch_norm, group_norm, layer_norm
from .pooling import avg_pool2d, interpolate, max_pool2d
from .sparse import dropout, embedding
# [issue 9 exports: REDUCE]
# [issue 9 exports: MATH]
# [issue 9 exports: SHAPE]
# [issue 9 exports: NNF-LOSS]
# [issue 9 exports: NNF-CONV]
