"""Convolution as three Functions that differentiate into each other.

    y  = conv2d(x, w)                 forward
    dx = conv2d_input_grad(g, w)      = conv_transpose2d(g, w)
    dw = conv2d_weight_grad(x, g)

All three are bilinear, and each one's gradient is one of the others, so gradients of
any order (a WGAN-GP penalty through a conv discriminator) stay inside these three:

    Conv2d(x, w):            dx = InputGrad(g, w)          dw = WeightGrad(x, g)
    InputGrad(g, w):         dg = Conv2d(gg, w)            dw = WeightGrad(gg, g)
    WeightGrad(x, g):        dx = InputGrad(g, gw)         dg = Conv2d(x, gw)

The arithmetic itself is looked up in the kernel registry (reference: im2col + GEMM).
Windows as a differentiable op (`Im2col`, for pooling) live here too.
"""
from ..dispatch import call
from ..function import Function
from ..reference_kernels import col2im, im2col


class ConvGeometry:
    """stride, padding, dilation (pairs) and groups shared by the three conv Functions."""

    def __init__(self, stride, padding, dilation, groups):
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups

    @property
    def args(self):
        return self.stride, self.padding, self.dilation, self.groups


class Conv2d(Function):
    def __init__(self, geometry):
        self.geometry = geometry

    def forward(self, x, w):
        return call("conv2d_forward", x, w, *self.geometry.args)

    def backward(self, g):
        x, w = self.inputs
        gx = Conv2dInputGrad(self.geometry, x.shape)(g, w) if self.needs_input_grad[0] else None
        gw = Conv2dWeightGrad(self.geometry, w.shape)(x, g) if self.needs_input_grad[1] else None
        return gx, gw


class Conv2dInputGrad(Function):
    """The transposed convolution: the adjoint of x -> conv2d(x, w) applied to g."""

    def __init__(self, geometry, x_shape):
        self.geometry, self.x_shape = geometry, tuple(x_shape)

    def forward(self, g, w):
        return call("conv2d_backward_input", g, w, self.x_shape, *self.geometry.args)

    def backward(self, gg):
        g, w = self.inputs
        dg = Conv2d(self.geometry)(gg, w) if self.needs_input_grad[0] else None
        dw = Conv2dWeightGrad(self.geometry, w.shape)(gg, g) if self.needs_input_grad[1] else None
        return dg, dw


class Conv2dWeightGrad(Function):
    def __init__(self, geometry, w_shape):
        self.geometry, self.w_shape = geometry, tuple(w_shape)

    def forward(self, x, g):
        return call("conv2d_backward_weight", x, g, self.w_shape, *self.geometry.args)

    def backward(self, gw):
        x, g = self.inputs
        dx = Conv2dInputGrad(self.geometry, x.shape)(g, gw) if self.needs_input_grad[0] else None
        dg = Conv2d(self.geometry)(x, gw) if self.needs_input_grad[1] else None
        return dx, dg


class Im2col(Function):
    """Sliding windows: (N, C, H, W) -> (N, C, kh, kw, OH, OW). Its adjoint is Col2im."""

    def __init__(self, kernel_size, stride, padding, dilation=(1, 1), pad_value=0.0):
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.pad_value = dilation, pad_value

    def forward(self, x):
        return im2col(x, self.kernel_size, self.stride, self.padding, self.dilation,
                      self.pad_value)

    def backward(self, g):
        return Col2im(self.inputs[0].shape, self.stride, self.padding, self.dilation)(g)


class Col2im(Function):
    def __init__(self, x_shape, stride, padding, dilation):
        self.x_shape, self.stride, self.padding, self.dilation = x_shape, stride, padding, dilation

    def forward(self, cols):
        self.kernel_size = cols.shape[2:4]
        return col2im(cols, self.x_shape, self.stride, self.padding, self.dilation)

    def backward(self, g):
        return Im2col(self.kernel_size, self.stride, self.padding, self.dilation)(g)
