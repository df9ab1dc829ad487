"""The fused Functions behind F.layer_norm, F.cross_entropy, F.gelu and F.linear, with each
kernel of the registry: forward values, first and second-order gradients equal torch's
(float64) and the composed engine-op definitions they replace."""
import numpy as np
import pytest

import scratchgen as sg
import scratchgen.functional as F
from scratchgen import Tensor, kernels
from scratchgen.functional.activations import _gelu_composed
from scratchgen.functional.losses import _cross_entropy_rows
from scratchgen.functional.normalization import _layer_norm_composed

torch = pytest.importorskip("torch", reason="torch is the test oracle (pip install torch)")
tF = torch.nn.functional


def kernel_choices(*ops):
    """One use_kernels(...) choice per kernel name the ops share (reference, numba, ...)."""
    names = set.intersection(*(set(kernels.available(op, "cpu")) for op in ops))
    return [dict.fromkeys(ops, name) for name in sorted(names)]


LAYER_NORM = kernel_choices("layer_norm_forward", "layer_norm_backward")
CROSS_ENTROPY = kernel_choices("cross_entropy_forward", "cross_entropy_backward")
GELU = kernel_choices("gelu_forward", "gelu_backward")


def first_and_second_order(f, arrays, seed=0):
    """f's value, its gradients, and the gradients of <grads, directions>, in scratchgen
    (with create_graph=True) and in torch, for f written once over either library's ops."""
    rng = np.random.default_rng(seed)
    ours = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    y, ty = f(sg, *ours), f(torch, *theirs)
    up = rng.standard_normal(y.shape)
    grads = sg.grad(y, ours, grad_outputs=up, create_graph=True)
    tgrads = torch.autograd.grad(ty, theirs, grad_outputs=torch.tensor(up), create_graph=True)
    directions = [rng.standard_normal(a.shape) for a in arrays]
    inner = sum((g * d).sum() for g, d in zip(grads, directions))
    tinner = sum((g * torch.tensor(d)).sum() for g, d in zip(tgrads, directions))
    second = sg.grad(inner, ours, allow_unused=True)
    tsecond = torch.autograd.grad(tinner, theirs, allow_unused=True)
    return ((y.numpy(), [g.numpy() for g in grads],
             [None if g is None else g.numpy() for g in second]),
            (ty.detach().numpy(), [g.detach().numpy() for g in tgrads],
             [None if g is None else g.numpy() for g in tsecond]))


def assert_same(ours, theirs, atol=1e-10):
    (y, grads, second), (ty, tgrads, tsecond) = ours, theirs
    np.testing.assert_allclose(y, ty, rtol=1e-10, atol=atol)
    for a, b in zip(grads, tgrads):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=atol)
    for a, b in zip(second, tsecond):
        a = np.zeros_like(b) if a is None and b is not None else a
        b = np.zeros_like(a) if b is None and a is not None else b
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-9)


# ---- layer norm ---------------------------------------------------------------------------
@pytest.mark.parametrize("choice", LAYER_NORM, ids=lambda c: c["layer_norm_forward"])
@pytest.mark.parametrize("shape, normalized", [((2, 3, 5), (5,)), ((4, 1), (1,)),
                                               ((2, 3, 4), (3, 4)), ((7,), (7,))])
@pytest.mark.parametrize("affine", ["both", "weight", "none"])
def test_layer_norm_matches_torch_to_second_order(choice, shape, normalized, affine):
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(shape) * 3 + 1]
    if affine in ("both", "weight"):
        arrays.append(rng.standard_normal(normalized))
    if affine == "both":
        arrays.append(rng.standard_normal(normalized))

    def f(lib, x, *params):
        weight, bias = (list(params) + [None, None])[:2]
        if lib is torch:
            return tF.layer_norm(x, normalized, weight, bias, 1e-5)
        return F.layer_norm(x, normalized, weight, bias, 1e-5)

    with sg.use_kernels(**choice):
        assert_same(*first_and_second_order(f, arrays))


@pytest.mark.parametrize("choice", LAYER_NORM, ids=lambda c: c["layer_norm_forward"])
def test_layer_norm_float32_matches_composed(choice):
    rng = np.random.default_rng(2)
    x = Tensor(rng.standard_normal((3, 4, 16)).astype(np.float32), requires_grad=True)
    w = Tensor(rng.standard_normal(16).astype(np.float32), requires_grad=True)
    b = Tensor(rng.standard_normal(16).astype(np.float32), requires_grad=True)
    with sg.use_kernels(**choice):
        y = F.layer_norm(x, 16, w, b)
        grads = sg.grad((y * y).sum(), [x, w, b])
    composed = _layer_norm_composed(x, w, b, (2,), 1e-5)
    composed_grads = sg.grad((composed * composed).sum(), [x, w, b])
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), composed.numpy(), rtol=1e-5, atol=1e-5)
    for a, c in zip(grads, composed_grads):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a.numpy(), c.numpy(), rtol=1e-4, atol=1e-4)


def test_layer_norm_refuses_a_weight_without_the_normalized_shape():
    x = Tensor(np.random.default_rng(3).standard_normal((2, 3)), requires_grad=True)
    w = Tensor(np.array([2.0]), requires_grad=True)          # would broadcast; torch refuses it too
    with pytest.raises(sg.ShapeError, match="normalized_shape"):
        F.layer_norm(x, 3, w)


# ---- cross-entropy -------------------------------------------------------------------------
@pytest.mark.parametrize("choice", CROSS_ENTROPY, ids=lambda c: c["cross_entropy_forward"])
@pytest.mark.parametrize("shape", [(6, 5), (1, 1), (3, 4, 2), (2, 3, 2, 2)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_matches_torch_to_second_order(choice, shape, reduction):
    rng = np.random.default_rng(4)
    logits = 3 * rng.standard_normal(shape)
    targets = rng.integers(0, shape[1], size=shape[:1] + shape[2:])

    def f(lib, x):
        if lib is torch:
            return tF.cross_entropy(x, torch.from_numpy(targets), reduction=reduction)
        return F.cross_entropy(x, targets, reduction=reduction)

    with sg.use_kernels(**choice):
        assert_same(*first_and_second_order(f, [logits]))


@pytest.mark.parametrize("choice", CROSS_ENTROPY, ids=lambda c: c["cross_entropy_forward"])
def test_cross_entropy_float32_matches_composed(choice):
    rng = np.random.default_rng(5)
    logits = Tensor((5 * rng.standard_normal((40, 13))).astype(np.float32), requires_grad=True)
    targets = rng.integers(0, 13, 40)
    with sg.use_kernels(**choice):
        loss = F.cross_entropy(logits, targets)
        (g,) = sg.grad(loss, [logits])
    composed = _cross_entropy_rows(logits, targets).mean()
    (cg,) = sg.grad(composed, [logits])
    assert loss.dtype == g.dtype == np.float32
    np.testing.assert_allclose(loss.item(), composed.item(), rtol=1e-6)
    np.testing.assert_allclose(g.numpy(), cg.numpy(), rtol=1e-5, atol=1e-7)


def test_cross_entropy_keeps_its_argument_checks():
    logits = Tensor(np.zeros((3, 4)), requires_grad=True)
    with pytest.raises(TypeError):
        F.cross_entropy(logits, np.zeros(3))
    with pytest.raises(ValueError):
        F.cross_entropy(logits, np.array([0, 1, 4]))
    with pytest.raises(sg.ShapeError):
        F.cross_entropy(logits, np.array([0, 1]))
    with pytest.raises(ValueError):
        F.cross_entropy(logits, np.array([0, 1, 2]), reduction="average")


# ---- GELU ----------------------------------------------------------------------------------
@pytest.mark.parametrize("choice", GELU, ids=lambda c: c["gelu_forward"])
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_matches_torch_to_second_order(choice, approximate):
    x = np.random.default_rng(6).standard_normal((3, 7)) * 3

    def f(lib, x):
        return (tF if lib is torch else F).gelu(x, approximate=approximate)

    with sg.use_kernels(**choice):
        assert_same(*first_and_second_order(f, [x]))
    assert np.allclose(_gelu_composed(Tensor(x), approximate).numpy(),
                       tF.gelu(torch.tensor(x), approximate=approximate).numpy())


# ---- linear on more than two dimensions -----------------------------------------------------
@pytest.mark.parametrize("shape", [(2, 3, 4), (2, 1, 3, 4), (4,), (5, 4)])
@pytest.mark.parametrize("with_bias", [True, False])
def test_linear_matches_torch_to_second_order(shape, with_bias):
    rng = np.random.default_rng(7)
    arrays = [rng.standard_normal(shape), rng.standard_normal((6, 4))]
    if with_bias:
        arrays.append(rng.standard_normal(6))

    def f(lib, x, w, b=None):
        y = (tF if lib is torch else F).linear(x, w, b)
        return y * y  # nonlinear, so the second order is not zero

    assert_same(*first_and_second_order(f, arrays))


def test_linear_on_3d_runs_one_2d_product_each_way():
    """Forward, dx and dW: one matmul call each, all 2-D (no batch of B small products)."""
    from scratchgen.engine import dispatch

    x = Tensor(np.ones((8, 5, 4)), requires_grad=True)
    w = Tensor(np.ones((3, 4)), requires_grad=True)
    shapes = []
    fn = dispatch._kernels["matmul"]["reference"]
    original = fn[0]
    dispatch._kernels["matmul"]["reference"] = (
        lambda a, b: shapes.append((a.ndim, b.ndim)) or original(a, b), fn[1])
    try:
        with sg.use_kernels(matmul="reference"):
            F.linear(x, w).sum().backward()
    finally:
        dispatch._kernels["matmul"]["reference"] = fn
    assert shapes == [(2, 2)] * 3
    np.testing.assert_allclose(w.grad.numpy(), np.full((3, 4), 40.0))
