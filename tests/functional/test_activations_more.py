"""The activations of issue 9 (elu, selu, celu, relu6, hardtanh, hardsigmoid, hardswish, mish,
softsign, logsigmoid, softmin, normalize) and their nn modules: against torch (forward and input
gradients, float64) away from the kinks and AT the kinks (torch's choice of gradient there),
against finite differences, at second order; softmax's axis checks and spellings."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scratchgen as sg
import scratchgen.functional as F
import scratchgen.nn as nn
from helpers import arrays, check_against_torch, gradcheck, gradgradcheck, shapes
from scratchgen import ShapeError

torch = pytest.importorskip("torch", reason="torch is the test oracle (pip install torch)")
TF = torch.nn.functional

FEW = settings(max_examples=10)
FEWER = settings(max_examples=5)
SMALL = shapes(max_side=3)

# name: (scratchgen function, torch function, input range, kinks)
ACTIVATIONS = {
    "elu": (F.elu, TF.elu, (-3, 3), (0.0,)),
    "elu_alpha": (lambda x: F.elu(x, alpha=0.4), lambda x: TF.elu(x, alpha=0.4), (-3, 3),
                  (0.0,)),
    "selu": (F.selu, TF.selu, (-3, 3), (0.0,)),
    "celu": (F.celu, TF.celu, (-3, 3), (0.0,)),
    "celu_alpha": (lambda x: F.celu(x, 0.5), lambda x: TF.celu(x, 0.5), (-3, 3), (0.0,)),
    "relu6": (F.relu6, TF.relu6, (-2, 8), (0.0, 6.0)),
    "hardtanh": (F.hardtanh, TF.hardtanh, (-3, 3), (-1.0, 1.0)),
    "hardtanh_bounds": (lambda x: F.hardtanh(x, min_val=-0.5, max_val=2.0),
                        lambda x: TF.hardtanh(x, min_val=-0.5, max_val=2.0), (-3, 3),
                        (-0.5, 2.0)),
    "hardsigmoid": (F.hardsigmoid, TF.hardsigmoid, (-5, 5), (-3.0, 3.0)),
    "hardswish": (F.hardswish, TF.hardswish, (-5, 5), (-3.0, 3.0)),
    "mish": (F.mish, TF.mish, (-5, 5), ()),
    "softsign": (F.softsign, TF.softsign, (-3, 3), (0.0,)),
    "logsigmoid": (F.logsigmoid, TF.logsigmoid, (-30, 30), ()),
}


# torch's hardsigmoid backward multiplies by 1/6 held as a float32 constant (0.16666667163...),
# so its float64 gradient is 3e-8 off; scratchgen's is exact (checked below on its own).
TORCH_RTOL = {"hardsigmoid": 1e-7}


def against_torch(name, op, torch_op, x):
    check_against_torch(op, torch_op, x, rtol=TORCH_RTOL.get(name, 1e-10))


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@FEW
@given(data=st.data())
def test_activation_matches_torch(name, data):
    op, torch_op, (low, high), kinks = ACTIVATIONS[name]
    against_torch(name, op, torch_op, data.draw(arrays(SMALL, low, high, kinks=kinks)))


def test_hardsigmoid_gradient_is_exactly_one_sixth_inside():
    x = sg.tensor(np.array([-2.5, 0.0, 1.0, 2.9, -3.0, 3.0, 4.0]), requires_grad=True)
    F.hardsigmoid(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1 / 6] * 4 + [0.0] * 3)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@FEW
@given(data=st.data())
def test_activation_gradient(name, data):
    op, _, (low, high), kinks = ACTIVATIONS[name]
    gradcheck(op, data.draw(arrays(SMALL, low, high, kinks=kinks)))


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@FEWER
@given(data=st.data())
def test_activation_second_order(name, data):
    op, _, (low, high), kinks = ACTIVATIONS[name]
    gradgradcheck(lambda x: op(x) * x, data.draw(arrays(SMALL, low, high, kinks=kinks)))


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_gradient_at_the_kinks_is_torch_s(name):
    op, torch_op, _, kinks = ACTIVATIONS[name]
    x = np.array(list(kinks) + [k + d for k in kinks for d in (-1e-3, 1e-3)] + [-0.0])
    against_torch(name, op, torch_op, x)


@pytest.mark.parametrize("name", ["elu", "selu", "celu", "mish", "softsign", "logsigmoid",
                                  "hardswish"])
def test_activation_is_finite_for_large_inputs(name):
    op, torch_op, _, _ = ACTIVATIONS[name]
    x = np.array([-1e4, -800.0, -50.0, 50.0, 800.0, 1e4])
    check_against_torch(op, torch_op, x)
    t = sg.tensor(x, requires_grad=True)
    op(t).sum().backward()
    assert np.isfinite(op(t).numpy()).all() and np.isfinite(t.grad.numpy()).all()


def test_activations_keep_float32():
    x = sg.tensor(np.array([-2.0, 0.5, 4.0], dtype=np.float32))
    for name in ("elu", "selu", "celu", "relu6", "hardtanh", "hardsigmoid", "hardswish",
                 "mish", "softsign", "logsigmoid", "softmin", "normalize"):
        fn = getattr(F, name)
        out = fn(x, dim=0) if name in ("softmin", "normalize") else fn(x)
        assert out.dtype == np.float32, name


# ---- softmin, softmax and log_softmax along an axis -------------------------------------------

SOFTMAXES = {
    "softmin": (F.softmin, TF.softmin),
    "softmax": (F.softmax, TF.softmax),
    "log_softmax": (F.log_softmax, TF.log_softmax),
}


@pytest.mark.parametrize("name", sorted(SOFTMAXES))
@FEW
@given(x=arrays(shapes(min_dims=1, max_side=3), -5, 5), data=st.data())
def test_softmax_family_along_dim_matches_torch(name, x, data):
    op, torch_op = SOFTMAXES[name]
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    check_against_torch(lambda t: op(t, dim=dim), lambda t: torch_op(t, dim=dim), x)
    check_against_torch(lambda t: op(t, axis=dim), lambda t: torch_op(t, dim=dim), x)
    gradcheck(lambda t: op(t, dim), x)


@pytest.mark.parametrize("name", sorted(SOFTMAXES))
@FEWER
@given(x=arrays(shapes(min_dims=1, max_side=3), -3, 3))
def test_softmax_family_second_order(name, x):
    op, _ = SOFTMAXES[name]
    gradgradcheck(lambda t: op(t, dim=-1) * t, x)


@pytest.mark.parametrize("name", sorted(SOFTMAXES))
def test_softmax_family_dtype_option_matches_torch(name):
    op, torch_op = SOFTMAXES[name]
    x = np.array([[1.0, 2.0, 3.5]], dtype=np.float32)
    out = op(sg.tensor(x), dim=1, dtype=np.float64)
    expected = torch_op(torch.from_numpy(x), dim=1, dtype=torch.float64)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name", sorted(SOFTMAXES))
@pytest.mark.parametrize("axis", [2, -3, 5])
def test_softmax_family_refuses_an_axis_out_of_range(name, axis):
    x = sg.tensor(np.ones((2, 3)))
    with pytest.raises(ShapeError, match=f"{name}: axis {axis} is out of range for a tensor "
                                         "with 2 dimensions"):
        SOFTMAXES[name][0](x, axis=axis)
    with pytest.raises(ShapeError, match=f"{name}: axis {axis} is out of range"):
        SOFTMAXES[name][0](x, dim=axis)


@pytest.mark.parametrize("name", sorted(SOFTMAXES))
def test_softmax_family_refuses_bad_axes_and_inputs(name):
    op = SOFTMAXES[name][0]
    x = sg.tensor(np.ones((2, 3)))
    with pytest.raises(TypeError, match=f"{name}: axis \\(dim\\) must be an int, got a float"):
        op(x, axis=1.0)
    with pytest.raises(TypeError, match=f"{name}: axis \\(dim\\) must be an int, got a tuple"):
        op(x, axis=(0, 1))
    with pytest.raises(TypeError, match=f"{name}: got both dim= and axis="):
        op(x, axis=1, dim=1)
    with pytest.raises(TypeError, match=f"{name}: expected a Tensor, got a list"):
        op([1.0, 2.0])


# ---- normalize ------------------------------------------------------------------------------

@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, 0.5, float("inf")])
@FEW
@given(x=arrays(shapes(min_dims=1, max_side=3), -2, 2, kinks=(0.0,)), data=st.data())
def test_normalize_matches_torch(p, x, data):
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    check_against_torch(lambda t: F.normalize(t, p=p, dim=dim),
                        lambda t: TF.normalize(t, p=p, dim=dim), x)


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, float("inf")])
@FEW
@given(x=arrays(shapes(min_dims=2, max_dims=2, max_side=3), -2, 2, kinks=(0.0,),
                distinct=True))
def test_normalize_gradient(p, x):
    gradcheck(lambda t: F.normalize(t, p=p), x)  # dim=1, torch's default


@pytest.mark.parametrize("p", [2.0, 3.0])
@FEWER
@given(x=arrays(shapes(min_dims=1, max_side=3), -2, 2, kinks=(0.0,)))
def test_normalize_second_order(p, x):
    gradgradcheck(lambda t: F.normalize(t, p=p, axis=-1), x)


def test_normalize_of_zero_and_tiny_rows_matches_torch():
    x = np.array([[0.0, 0.0, 0.0], [1e-14, -2e-14, 0.0], [3.0, -4.0, 0.0], [0.0, 1e-13, 0.0]])
    for p in (2.0, 1.0, 3.0, float("inf")):
        check_against_torch(lambda t: F.normalize(t, p=p), lambda t: TF.normalize(t, p=p), x,
                            rtol=1e-9)
        check_against_torch(lambda t: F.normalize(t, p=p, eps=1e-3),
                            lambda t: TF.normalize(t, p=p, eps=1e-3), x, rtol=1e-9)


def test_normalize_refuses_bad_arguments():
    x = sg.tensor(np.ones((2, 3)))
    with pytest.raises(ShapeError, match="normalize: axis 2 is out of range"):
        F.normalize(x, dim=2)
    with pytest.raises(ValueError, match="normalize: p must be positive"):
        F.normalize(x, p=0)
    with pytest.raises(TypeError, match="normalize: p must be a number, got a str"):
        F.normalize(x, p="fro")
    with pytest.raises(TypeError, match="normalize: axis \\(dim\\) must be an int"):
        F.normalize(x, dim=None)


# ---- argument errors ------------------------------------------------------------------------

def test_activations_refuse_bad_arguments():
    x = sg.tensor(np.ones(3))
    with pytest.raises(TypeError, match="elu: alpha must be a number, got a str"):
        F.elu(x, alpha="1")
    with pytest.raises(ValueError, match="celu: alpha must not be 0"):
        F.celu(x, alpha=0.0)
    with pytest.raises(ValueError, match=r"hardtanh: min_val \(2\) must not be greater than "
                                         r"max_val \(1\)"):
        F.hardtanh(x, min_val=2.0, max_val=1.0)
    with pytest.raises(TypeError, match="hardtanh: max_val must be a number, got None"):
        F.hardtanh(x, max_val=None)
    for name in ("elu", "selu", "relu6", "hardswish", "mish", "softsign", "logsigmoid"):
        with pytest.raises(TypeError, match=f"{name}: expected a Tensor, got a list"):
            getattr(F, name)([1.0])


# ---- nn modules ------------------------------------------------------------------------------

MODULES = [
    (lambda: nn.ELU(), lambda: torch.nn.ELU()),
    (lambda: nn.ELU(alpha=0.3), lambda: torch.nn.ELU(alpha=0.3)),
    (lambda: nn.SELU(), lambda: torch.nn.SELU()),
    (lambda: nn.CELU(alpha=2.0), lambda: torch.nn.CELU(alpha=2.0)),
    (lambda: nn.ReLU6(), lambda: torch.nn.ReLU6()),
    (lambda: nn.Hardtanh(-2.0, 0.5), lambda: torch.nn.Hardtanh(-2.0, 0.5)),
    (lambda: nn.Hardsigmoid(), lambda: torch.nn.Hardsigmoid()),
    (lambda: nn.Hardswish(), lambda: torch.nn.Hardswish()),
    (lambda: nn.Mish(), lambda: torch.nn.Mish()),
    (lambda: nn.Softsign(), lambda: torch.nn.Softsign()),
    (lambda: nn.LogSigmoid(), lambda: torch.nn.LogSigmoid()),
    (lambda: nn.Softmin(dim=0), lambda: torch.nn.Softmin(dim=0)),
    (lambda: nn.Softmax(dim=1), lambda: torch.nn.Softmax(dim=1)),
    (lambda: nn.LogSoftmax(dim=-1), lambda: torch.nn.LogSoftmax(dim=-1)),
]


@pytest.mark.parametrize("make", MODULES, ids=lambda m: repr(m[0]()))
def test_modules_match_torch(make):
    ours, theirs = make
    x = np.random.default_rng(0).uniform(-7, 7, size=(3, 4))
    for kink in (-3.0, -2.0, -1.0, 0.0, 0.5, 1.0, 3.0, 6.0):
        x = np.where(np.abs(x - kink) < 0.05, kink + 0.1, x)
    rtol = 1e-7 if isinstance(ours(), nn.Hardsigmoid) else 1e-10  # see TORCH_RTOL
    check_against_torch(ours(), theirs(), x, rtol=rtol)
    assert list(ours().parameters()) == []


def test_module_reprs_and_argument_errors():
    assert repr(nn.ELU(alpha=0.5)) == "ELU(alpha=0.5)"
    assert repr(nn.Hardtanh(-2, 2)) == "Hardtanh(min_val=-2.0, max_val=2.0)"
    assert repr(nn.Softmin(dim=1)) == "Softmin(dim=1)"
    assert nn.ReLU6(inplace=True).inplace is True
    with pytest.raises(ValueError, match="ELU: alpha must be a number"):
        nn.ELU(alpha="big")
    with pytest.raises(ValueError, match="CELU: alpha must not be 0"):
        nn.CELU(alpha=0)
    with pytest.raises(ValueError, match="Hardtanh: min_val .* must not be greater"):
        nn.Hardtanh(1.0, -1.0)
    with pytest.raises(ValueError, match="Softmin: dim must be an integer"):
        nn.Softmin(dim=1.5)
    with pytest.raises(ValueError, match="Mish: inplace must be True or False"):
        nn.Mish(inplace="yes")
    for name in ("ELU", "SELU", "CELU", "ReLU6", "Hardtanh", "Hardsigmoid", "Hardswish",
                 "Mish", "Softsign", "LogSigmoid", "Softmin", "Softmax", "LogSoftmax"):
        assert name in nn.__all__


def test_inplace_modules_leave_the_input_unchanged():
    x = sg.tensor(np.array([-1.0, 2.0, 7.0]))
    out = nn.ReLU6(inplace=True)(x)
    np.testing.assert_array_equal(x.numpy(), [-1.0, 2.0, 7.0])
    np.testing.assert_array_equal(out.numpy(), [0.0, 2.0, 6.0])
