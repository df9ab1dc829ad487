"""The loss modules (CrossEntropyLoss, NLLLoss, BCELoss, BCEWithLogitsLoss, MSELoss, L1Loss,
SmoothL1Loss, HuberLoss, KLDivLoss) and RMSNorm, InstanceNorm1d, InstanceNorm2d against their
torch.nn twins: outputs and gradients (float64), state_dict names, running statistics in
training and evaluation; constructor arguments checked with clear errors."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scratchgen as sg
import scratchgen.nn as nn
from helpers import check_against_torch

torch = pytest.importorskip("torch", reason="torch is the test oracle (pip install torch)")
tnn = torch.nn

RNG = np.random.default_rng(0)
W4 = RNG.random(4) + 0.5


def classes_case(rng):
    return rng.standard_normal((5, 4, 2)), np.array(
        [[0, 3], [1, -100], [2, 2], [3, 0], [-100, 1]])


def probabilities_case(rng):
    return rng.random((3, 4)) * 0.9 + 0.05, rng.random((3, 4))


def pointwise_case(rng):
    x = rng.standard_normal((3, 4))
    return x, x + rng.choice([-2.0, -0.3, 0.4, 1.7], size=(3, 4))


# name -> (our module, torch's module, inputs(rng) -> (input, target), target differentiable)
MODULES = {
    "CrossEntropyLoss": (lambda: nn.CrossEntropyLoss(), lambda: tnn.CrossEntropyLoss(),
                         classes_case, False),
    "CrossEntropyLoss_options": (
        lambda: nn.CrossEntropyLoss(weight=W4, reduction="sum", label_smoothing=0.2),
        lambda: tnn.CrossEntropyLoss(weight=torch.from_numpy(W4), reduction="sum",
                                     label_smoothing=0.2), classes_case, False),
    "CrossEntropyLoss_probabilities": (
        lambda: nn.CrossEntropyLoss(label_smoothing=0.1),
        lambda: tnn.CrossEntropyLoss(label_smoothing=0.1),
        lambda rng: (rng.standard_normal((3, 4)), rng.random((3, 4))), True),
    "NLLLoss": (lambda: nn.NLLLoss(weight=W4, ignore_index=2),
                lambda: tnn.NLLLoss(weight=torch.from_numpy(W4), ignore_index=2),
                lambda rng: (lambda x, t: (x, np.where(t < 0, 1, t)))(*classes_case(rng)),
                False),
    "BCELoss": (lambda: nn.BCELoss(weight=W4), lambda: tnn.BCELoss(weight=torch.from_numpy(W4)),
                probabilities_case, True),
    "BCEWithLogitsLoss": (
        lambda: nn.BCEWithLogitsLoss(pos_weight=W4, reduction="none"),
        lambda: tnn.BCEWithLogitsLoss(pos_weight=torch.from_numpy(W4), reduction="none"),
        pointwise_case, True),
    "MSELoss": (lambda: nn.MSELoss(reduction="sum"), lambda: tnn.MSELoss(reduction="sum"),
                pointwise_case, True),
    "L1Loss": (lambda: nn.L1Loss(), lambda: tnn.L1Loss(), pointwise_case, True),
    "SmoothL1Loss": (lambda: nn.SmoothL1Loss(beta=0.5), lambda: tnn.SmoothL1Loss(beta=0.5),
                     pointwise_case, True),
    "HuberLoss": (lambda: nn.HuberLoss(delta=0.8), lambda: tnn.HuberLoss(delta=0.8),
                  pointwise_case, True),
    "KLDivLoss": (lambda: nn.KLDivLoss(reduction="batchmean"),
                  lambda: tnn.KLDivLoss(reduction="batchmean"),
                  lambda rng: (np.log(rng.random((3, 4)) + 0.1), rng.random((3, 4)) + 0.05), True),
    "KLDivLoss_log_target": (lambda: nn.KLDivLoss(reduction="sum", log_target=True),
                             lambda: tnn.KLDivLoss(reduction="sum", log_target=True),
                             lambda rng: (rng.standard_normal((3, 4)),
                                          rng.standard_normal((3, 4))), True),
}


@pytest.mark.parametrize("name", sorted(MODULES))
@settings(max_examples=5)
@given(seed=st.integers(0, 2**32 - 1))
def test_loss_module_matches_torch(name, seed):
    ours, theirs, inputs, target_grad = MODULES[name]
    x, target = inputs(np.random.default_rng(seed))
    ours, theirs = ours(), theirs()
    if target_grad:   # the target is an input whose gradient is compared too
        check_against_torch(ours, theirs, x, target)
    else:
        check_against_torch(lambda a: ours(a, target),
                            lambda a: theirs(a, torch.from_numpy(target)), x)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_loss_module_state_dict_has_torch_names(name):
    ours, theirs, _, _ = MODULES[name]
    ours, theirs = ours(), theirs()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for key, value in theirs.state_dict().items():
        np.testing.assert_array_equal(np.asarray(ours.state_dict()[key]), value.numpy())


def test_loss_modules_take_int64_tensor_labels_and_float32_logits():
    logits = sg.Tensor(RNG.standard_normal((4, 3)).astype(np.float32), requires_grad=True)
    labels = sg.Tensor(np.array([0, 2, 1, 1], dtype=np.int64))
    for loss_fn in (nn.CrossEntropyLoss(), nn.CrossEntropyLoss(weight=[1.0, 2.0, 0.5]),
                    nn.NLLLoss(weight=np.array([1.0, 2.0, 0.5]))):
        loss = loss_fn(logits, labels)
        loss.backward()
        assert loss.dtype == np.float32 and logits.grad.dtype == np.float32
        expected_fn = {"CrossEntropyLoss": tnn.CrossEntropyLoss,
                       "NLLLoss": tnn.NLLLoss}[type(loss_fn).__name__]
        weight = None if loss_fn.weight is None else torch.from_numpy(
            np.asarray(loss_fn.weight.data, np.float32))
        want = expected_fn(weight=weight)(torch.from_numpy(logits.numpy()),
                                          torch.from_numpy(labels.numpy()))
        np.testing.assert_allclose(loss.item(), want.item(), rtol=1e-6)


# ---- RMSNorm and InstanceNorm -------------------------------------------------------------------

def copy_state(ours, theirs):
    """Give our module torch's parameters (drawn at random, so that they count)."""
    with torch.no_grad():
        for p in theirs.parameters():
            p.normal_()
    ours.load_state_dict({key: value.numpy() for key, value in theirs.state_dict().items()})


@pytest.mark.parametrize("shape, normalized, eps, affine", [
    ((3, 5), 5, None, True), ((2, 3, 4), (3, 4), 1e-3, True), ((2, 4), [4], None, False)])
def test_rms_norm_module_matches_torch(shape, normalized, eps, affine):
    ours = nn.RMSNorm(normalized, eps=eps, elementwise_affine=affine, dtype=np.float64)
    theirs = tnn.RMSNorm(normalized, eps=eps, elementwise_affine=affine, dtype=torch.float64)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    copy_state(ours, theirs)
    x = RNG.standard_normal(shape)
    check_against_torch(ours, theirs, x)
    if affine:
        np.testing.assert_array_equal(nn.RMSNorm(normalized).weight.numpy(), 1.0)


@pytest.mark.parametrize("cls, shape", [("InstanceNorm1d", (3, 2, 5)), ("InstanceNorm1d", (2, 5)),
                                        ("InstanceNorm2d", (2, 2, 3, 4)),
                                        ("InstanceNorm2d", (2, 3, 4))])
@pytest.mark.parametrize("affine, track", [(False, False), (True, False), (False, True),
                                           (True, True)])
def test_instance_norm_module_matches_torch_in_training_and_evaluation(cls, shape, affine, track):
    ours = getattr(nn, cls)(2, momentum=0.3, affine=affine, track_running_stats=track,
                            dtype=np.float64)
    theirs = getattr(tnn, cls)(2, momentum=0.3, affine=affine, track_running_stats=track,
                               dtype=torch.float64)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    copy_state(ours, theirs)
    rng = np.random.default_rng(5)
    for step in range(2):    # training: batch statistics, running ones updated
        check_against_torch(ours, theirs, rng.standard_normal(shape) * 2 + 1, seed=step)
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(np.asarray(ours.state_dict()[key]), value.numpy(),
                                   rtol=1e-12, err_msg=key)
    ours.eval(), theirs.eval()   # evaluation: the running statistics when tracked
    check_against_torch(ours, theirs, rng.standard_normal(shape))


def test_instance_norm_refuses_wrong_inputs():
    with pytest.raises(sg.ShapeError, match=r"InstanceNorm2d\(3\) expects input of shape "
                                            r"\(N, C, H, W\) or \(C, H, W\), got \(2, 3\)"):
        nn.InstanceNorm2d(3)(sg.randn(2, 3))
    with pytest.raises(sg.ShapeError, match=r"InstanceNorm1d\(3\) expects 3 channels"):
        nn.InstanceNorm1d(3, affine=True)(sg.randn(2, 4, 5))
    with pytest.warns(UserWarning, match="num_features is unused"):
        nn.InstanceNorm1d(3)(sg.randn(2, 4, 5))


# ---- constructor arguments ----------------------------------------------------------------------

@pytest.mark.parametrize("make, error, words", [
    (lambda: nn.CrossEntropyLoss(reduction="avg"), ValueError,
     r"CrossEntropyLoss: reduction must be one of \('mean', 'sum', 'none'\), got 'avg'"),
    (lambda: nn.CrossEntropyLoss(label_smoothing="0.1"), TypeError,
     "CrossEntropyLoss: label_smoothing must be a number, got '0.1' \\(str\\)"),
    (lambda: nn.CrossEntropyLoss(label_smoothing=-0.1), ValueError,
     r"label_smoothing must lie in \[0.0, 1.0\]"),
    (lambda: nn.CrossEntropyLoss(ignore_index=None), TypeError,
     "ignore_index must be an integer"),
    (lambda: nn.CrossEntropyLoss(weight="mean"), TypeError, "weight must be a 1-D array"),
    (lambda: nn.CrossEntropyLoss(weight=np.ones((2, 2))), sg.ShapeError,
     r"weight must be 1-D \(one value per class\), got shape \(2, 2\)"),
    (lambda: nn.NLLLoss(weight=np.array(["a", "b"])), TypeError,
     "weight must hold floating-point numbers"),
    (lambda: nn.KLDivLoss(reduction="average"), ValueError,
     r"\('mean', 'batchmean', 'sum', 'none'\)"),
    (lambda: nn.KLDivLoss(log_target=1), TypeError, "log_target must be True or False"),
    (lambda: nn.SmoothL1Loss(beta="1"), TypeError, "SmoothL1Loss: beta must be a number"),
    (lambda: nn.SmoothL1Loss(beta=-1), ValueError, r"beta must lie in \[0.0, inf\]"),
    (lambda: nn.HuberLoss(delta=0), ValueError, r"HuberLoss: delta must lie in \(0.0, inf\]"),
    (lambda: nn.MSELoss(reduction=None), ValueError, "MSELoss: reduction must be one of"),
    (lambda: nn.RMSNorm(4, eps="small"), TypeError, "RMSNorm: eps must be a number"),
    (lambda: nn.RMSNorm("4"), TypeError, "normalized_shape must be a positive integer"),
    (lambda: nn.RMSNorm((4, 0)), ValueError, "normalized_shape must be a positive integer"),
    (lambda: nn.LayerNorm(4, eps="small"), TypeError, "LayerNorm: eps must be a number"),
    (lambda: nn.GroupNorm(2, 4, eps=-1.0), ValueError, r"GroupNorm: eps must lie in \[0.0"),
    (lambda: nn.BatchNorm2d(3, momentum="fast"), TypeError,
     r"BatchNorm2d: momentum must be a number, got 'fast' \(str\) \(or None\)"),
    (lambda: nn.InstanceNorm2d(3, momentum=1.5), ValueError,
     r"InstanceNorm2d: momentum must lie in \[0.0, 1.0\], got 1.5 \(or None\)"),
    (lambda: nn.InstanceNorm1d(2.5), ValueError, "num_features must be a positive integer"),
])
def test_bad_constructor_arguments_get_clear_errors(make, error, words):
    with pytest.raises(error, match=words):
        make()
