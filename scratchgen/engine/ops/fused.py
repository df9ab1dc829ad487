"""Fused ops: one Function, and one kernel call each way, where the composed version is a
chain of small ops. Their math is that of the composed versions in scratchgen/functional;
the kernels are chosen by the registry (reference NumPy, Numba on the CPU).

    Affine       y = x W^T + b on (M, in) rows: one GEMM, the bias added in place
    LayerNorm    y = (x - mean) rstd w + b over the last axis of (M, N) rows
    CrossEntropy loss_i = logsumexp(logits_i) - logits_i,target_i on (M, C) rows
    Gelu         x Phi(x) (or its tanh form), elementwise

Each forward saves only what its backward needs (the inputs, and per-row statistics). A
backward normally calls the backward kernel on raw arrays. When the backward itself is being
recorded (create_graph=True: gradients of gradients, a WGAN-GP penalty), the kernel's result
would be a constant with no graph, so instead the composed forward (Tensor ops) is rebuilt on
the inputs and differentiated with the engine: its gradients are graphs, and differentiating
them again gives the exact second (and higher) derivatives. Affine needs no such switch: its
backward is two matrix products and a sum written with Tensor ops, differentiable as it is.
"""
from ..dispatch import call
from ..function import Function, is_grad_enabled


class _Rejoin(Function):
    """y = x: ties a stand-in leaf back to the input it stands for (see composed_gradients)."""

    def forward(self, x):
        return x

    def backward(self, g):
        return g


def composed_gradients(composed, inputs, needs, g):
    """The gradients of composed(*inputs) against g, as graphs that reach `inputs`.

    The engine's walk would run back through everything that produced `inputs` (the whole
    network), so the composed forward is built on stand-ins that are leaves during the walk
    and are tied to the real inputs by an identity node afterwards:

        input ── _Rejoin ── stand-in ── composed ── out      grad(out, stand-ins, g)
    """
    from ..autograd import grad

    stand_ins = [_Rejoin()(t) if need else t for t, need in zip(inputs, needs)]
    wanted = [s for s, need in zip(stand_ins, needs) if need]
    rejoins = [s.creator for s in wanted]
    for s in wanted:
        s.creator = None            # a leaf while the composed graph is walked
    try:
        out = composed(*stand_ins)
        found = iter(grad(out, wanted, grad_outputs=g, create_graph=True, allow_unused=True))
    finally:
        for s, rejoin in zip(wanted, rejoins):
            s.creator = rejoin
    return tuple(next(found) if need else None for need in needs)


class Affine(Function):
    """y = x W^T + b, x (M, in), W (out, in), b (out,):

        dL/dx = g W      dL/dW = g^T x      dL/db = sum_rows g
    """

    def forward(self, x, w, b=None):
        y = call("matmul", x, w.T)                                   # (M, in) @ (in, out)
        if b is None:
            return y
        if y.dtype == b.dtype:
            y += b                                                   # y is fresh: in place
            return y
        return y + b

    def backward(self, g):
        x, w = self.inputs[:2]
        gx = g @ w if self.needs_input_grad[0] else None             # (M, out) @ (out, in)
        gw = g.T @ x if self.needs_input_grad[1] else None           # (out, M) @ (M, in)
        gb = g.sum(axis=0) if len(self.inputs) > 2 and self.needs_input_grad[2] else None
        return gx, gw, gb


class LayerNorm(Function):
    """x (M, N), weight and bias (N,) each optional -> (x - mean) * rstd * weight + bias.

    `composed(x, *params)` is the same math in Tensor ops, for create_graph=True."""

    def __init__(self, eps, has_weight, has_bias, composed):
        self.eps, self.has_weight, self.has_bias = eps, has_weight, has_bias
        self.composed = composed

    def _params(self, params):
        params = list(params)
        weight = params.pop(0) if self.has_weight else None
        bias = params.pop(0) if self.has_bias else None
        return weight, bias

    def forward(self, x, *params):
        weight, bias = self._params(params)
        y, self.mean, self.rstd = call("layer_norm_forward", x, weight, bias, self.eps)
        return y

    def backward(self, g):
        if is_grad_enabled():
            return composed_gradients(self.composed, self.inputs, self.needs_input_grad, g)
        x, *params = self.inputs
        weight, _ = self._params(params)
        dx, dweight, dbias = call("layer_norm_backward", g.data, x.data,
                                  None if weight is None else weight.data, self.mean, self.rstd)
        grads = [dx] + ([dweight] if self.has_weight else []) + ([dbias] if self.has_bias else [])
        return tuple(_tensor_or_none(a, need) for a, need in zip(grads, self.needs_input_grad))


class CrossEntropy(Function):
    """logits (M, C) -> loss (M,) = lse - logits[target]; targets a constant int array (M,).

    `composed(logits)` is the same math in Tensor ops, for create_graph=True."""

    def __init__(self, targets, composed):
        self.targets, self.composed = targets, composed

    def forward(self, logits):
        loss, self.lse = call("cross_entropy_forward", logits, self.targets)
        return loss

    def backward(self, g):
        if is_grad_enabled():
            return composed_gradients(self.composed, self.inputs, self.needs_input_grad, g)
        (logits,) = self.inputs
        return _tensor(call("cross_entropy_backward", g.data, logits.data, self.targets,
                            self.lse))


class Gelu(Function):
    """x Phi(x) elementwise (approximate "none" or "tanh"); `composed(x)` for create_graph."""

    def __init__(self, approximate, composed):
        self.approximate, self.composed = approximate, composed

    def forward(self, x):
        return call("gelu_forward", x, self.approximate)

    def backward(self, g):
        if is_grad_enabled():
            return composed_gradients(self.composed, self.inputs, self.needs_input_grad, g)
        (x,) = self.inputs
        return _tensor(call("gelu_backward", g.data, x.data, self.approximate))


def _tensor(array):
    from ..tensor import Tensor
    return Tensor(array)


def _tensor_or_none(array, need):
    return _tensor(array) if need and array is not None else None
