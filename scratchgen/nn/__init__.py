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
# [issue 9 exports: NNF-LOSS]
# [issue 9 exports: NNF-CONV]

__all__ = ["Module", "Parameter", "Linear", "Conv2d", "ConvTranspose2d", "Embedding", "Dropout",
           "Flatten", "ReLU", "LeakyReLU", "GELU", "SiLU", "Sigmoid", "Tanh", "Softplus",
           "LayerNorm", "GroupNorm", "BatchNorm1d", "BatchNorm2d", "Sequential", "ModuleList",
           "MultiheadAttention", "init"]
