"""The autograd engine: Tensor, Function, the backward walk, devices and the kernel registry."""
from .autograd import grad
from .function import Function, enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .tensor import Tensor, tensor
