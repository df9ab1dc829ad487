"""Layers and models as objects that own their parameters (PyTorch's torch.nn, rebuilt).

    import scratchgen.nn as nn

    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1))
    model(x)                      # forward
    model.parameters()            # what the optimizer updates
    model.state_dict()            # {"0.weight": array, "0.bias": array, "2.weight": ...}
"""
from . import init
from .attention import MultiheadAttention
from .containers import ModuleList, Sequential
from .layers import (GELU, Conv2d, ConvTranspose2d, Dropout, Embedding, Flatten, LeakyReLU,
                     Linear, ReLU, Sigmoid, SiLU, Softplus, Tanh)
from .module import Module, Parameter
from .normalization import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm
from .losses import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss,  # noqa: E402
                     KLDivLoss, L1Loss, MSELoss, NLLLoss, SmoothL1Loss)
from .normalization import InstanceNorm1d, InstanceNorm2d, RMSNorm  # noqa: E402
# __all__ is assigned further down, so these names wait in _NNF_LOSS (`__all__ += _NNF_LOSS` there)
_NNF_LOSS = ["CrossEntropyLoss", "MSELoss", "BCEWithLogitsLoss", "BCELoss", "NLLLoss",
             "KLDivLoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "RMSNorm", "InstanceNorm1d",
             "InstanceNorm2d"]
# [issue 9 exports: NNF-LOSS]
from .layers import Conv1d, ConvTranspose1d, Identity, Unflatten  # noqa: E402
from .pooling import (AdaptiveAvgPool1d, AdaptiveAvgPool2d, AvgPool1d, AvgPool2d,  # noqa: E402
                      CircularPad1d, CircularPad2d, ConstantPad1d, ConstantPad2d, MaxPool1d,
                      MaxPool2d, ReflectionPad1d, ReflectionPad2d, ReplicationPad1d,
                      ReplicationPad2d, Upsample, ZeroPad1d, ZeroPad2d)
# __all__ is assigned further down, so these names wait in _NNF_CONV (`__all__ += _NNF_CONV` there)
_NNF_CONV = ["Conv1d", "ConvTranspose1d", "Identity", "Unflatten", "MaxPool1d", "MaxPool2d",
             "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "Upsample",
             "ConstantPad1d", "ConstantPad2d", "ZeroPad1d", "ZeroPad2d", "ReflectionPad1d",
             "ReflectionPad2d", "ReplicationPad1d", "ReplicationPad2d", "CircularPad1d",
             "CircularPad2d"]
# [issue 9 exports: NNF-CONV]
# [issue 9 exports: MATH]
from .activations import (CELU, ELU, SELU, Hardsigmoid, Hardswish, Hardtanh,  # noqa: E402
                          LogSigmoid, LogSoftmax, Mish, ReLU6, Softmax, Softmin, Softsign)
_MATH = ["ELU", "SELU", "CELU", "ReLU6", "Hardtanh", "Hardsigmoid", "Hardswish", "Mish",
         "Softsign", "LogSigmoid", "Softmin", "Softmax", "LogSoftmax"]  # joins __all__ below

__all__ = ["Module", "Parameter", "Linear", "Conv2d", "ConvTranspose2d", "Embedding", "Dropout",
           "Flatten", "ReLU", "LeakyReLU", "GELU", "SiLU", "Sigmoid", "Tanh", "Softplus",
           "LayerNorm", "GroupNorm", "BatchNorm1d", "BatchNorm2d", "Sequential", "ModuleList",
           "MultiheadAttention", "init"]
__all__ += _NNF_LOSS + _NNF_CONV
__all__ += _MATH  # [issue 9 exports: MATH]
