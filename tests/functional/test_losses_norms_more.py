"""The losses and norms of issue 9 (nll_loss, binary_cross_entropy, cross_entropy's weight /
ignore_index / label_smoothing / probability targets, kl_div, l1_loss, smooth_l1_loss,
huber_loss, rms_norm, instance_norm) and the binary_cross_entropy_with_logits options:
first-order gradients against finite differences (float64, drawn inputs), forward and
gradients against torch, second order against finite differences of the gradient; torch's
edge rules (weighted mean, all ignored -> nan, BCE's clamped log); the fused path kept for
the plain cross-entropy; clear errors for bad arguments."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scratchgen as sg
import scratchgen.functional as F
from helpers import arrays, check_against_torch, float_array, gradcheck, gradgradcheck, seeds
from scratchgen.engine.ops.fused import CrossEntropy

torch = pytest.importorskip("torch", reason="torch is the test oracle (pip install torch)")
tF = torch.nn.functional

REDUCTIONS = ["mean", "sum", "none"]


def t_(array):
    return torch.from_numpy(np.asarray(array))


# ---- drawn cases: (arrays, ours, theirs), both functions taking the arrays as tensors ---------

def class_layout(data):
    """(batch shape, classes): (N,), (N, d1), (N, d1, d2) or unbatched ()."""
    n, c = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    batch = data.draw(st.sampled_from([(n,), (n, 2), (n, 2, 2), ()]))
    return batch, c


def logits_of(data, batch, c):
    shape = (c,) if batch == () else batch[:1] + (c,) + batch[1:]
    return data.draw(arrays(shape, -3, 3))


def class_targets(data, batch, c, ignore_index=None):
    rng = np.random.default_rng(data.draw(seeds()))
    t = rng.integers(0, c, size=batch)
    if ignore_index is not None:
        t = np.where(rng.random(batch) < 0.3, ignore_index, t)
        if np.all(t == ignore_index):   # keep one row: all ignored is nan (tested on its own)
            t = np.asarray(t).copy()
            t.flat[0] = next(k for k in range(c) if k != ignore_index)
    return np.asarray(t, dtype=np.int64)


def case_nll(data):
    batch, c = class_layout(data)
    x = logits_of(data, batch, c)
    ignore = data.draw(st.sampled_from([-100, -1] + ([0] if c > 1 else [])))
    t = class_targets(data, batch, c, ignore)
    w = data.draw(st.one_of(st.none(), arrays((c,), 0.2, 2.0)))
    red = data.draw(st.sampled_from(REDUCTIONS))
    return ([x], lambda a: F.nll_loss(a, t, weight=w, ignore_index=ignore, reduction=red),
            lambda a: tF.nll_loss(a, t_(t), weight=None if w is None else t_(w),
                                  ignore_index=ignore, reduction=red))


def case_cross_entropy_indices(data):
    batch, c = class_layout(data)
    x = logits_of(data, batch, c)
    ignore = data.draw(st.sampled_from([-100] + ([1] if c > 1 else [])))
    t = class_targets(data, batch, c, ignore)
    w = data.draw(st.one_of(st.none(), arrays((c,), 0.2, 2.0)))
    s = data.draw(st.sampled_from([0.0, 0.1, 0.5]))
    red = data.draw(st.sampled_from(REDUCTIONS))
    kw = dict(ignore_index=ignore, reduction=red, label_smoothing=s)
    return ([x], lambda a: F.cross_entropy(a, t, weight=w, **kw),
            lambda a: tF.cross_entropy(a, t_(t), weight=None if w is None else t_(w), **kw))


def case_cross_entropy_probabilities(data):
    batch, c = class_layout(data)
    x = logits_of(data, batch, c)
    p = data.draw(arrays(x.shape, 0, 1))
    s = data.draw(st.sampled_from([0.0, 0.2]))
    red = data.draw(st.sampled_from(REDUCTIONS))
    if data.draw(st.booleans()):   # the class weights are an input too: their gradient counts
        w = data.draw(arrays((c,), 0.2, 2.0))
        return ([x, p, w],
                lambda a, b, ww: F.cross_entropy(a, b, weight=ww, reduction=red,
                                                 label_smoothing=s),
                lambda a, b, ww: tF.cross_entropy(a, b, weight=ww, reduction=red,
                                                  label_smoothing=s))
    return ([x, p], lambda a, b: F.cross_entropy(a, b, reduction=red, label_smoothing=s),
            lambda a, b: tF.cross_entropy(a, b, reduction=red, label_smoothing=s))


def case_binary_cross_entropy(data):
    shape = data.draw(st.sampled_from([(), (3,), (2, 3), (2, 1, 2)]))
    x = data.draw(arrays(shape, 0.05, 0.95))
    t = data.draw(arrays(shape, 0, 1))
    w = data.draw(st.one_of(st.none(), arrays(shape[-1:], 0.2, 2.0)))
    red = data.draw(st.sampled_from(REDUCTIONS))
    return ([x, t], lambda a, b: F.binary_cross_entropy(a, b, weight=w, reduction=red),
            lambda a, b: tF.binary_cross_entropy(a, b, weight=None if w is None else t_(w),
                                                 reduction=red))


def case_bce_with_logits_options(data):
    shape = data.draw(st.sampled_from([(3,), (2, 3), (2, 1, 3)]))
    x = data.draw(arrays(shape, -6, 6))
    t = data.draw(arrays(shape, 0, 1))
    w = data.draw(st.one_of(st.none(), arrays(shape[-1:], 0.2, 2.0)))
    pw = data.draw(st.one_of(st.none(), arrays(shape[-1:], 0.2, 3.0)))
    red = data.draw(st.sampled_from(REDUCTIONS))
    return ([x, t],
            lambda a, b: F.binary_cross_entropy_with_logits(a, b, weight=w, reduction=red,
                                                            pos_weight=pw),
            lambda a, b: tF.binary_cross_entropy_with_logits(
                a, b, weight=None if w is None else t_(w), reduction=red,
                pos_weight=None if pw is None else t_(pw)))


def case_kl_div(data):
    shape = data.draw(st.sampled_from([(), (4,), (2, 3), (2, 2, 2)]))
    x = data.draw(arrays(shape, -3, 0))
    log_target = data.draw(st.booleans())
    t = data.draw(arrays(shape, -3, 0)) if log_target else data.draw(arrays(shape, 0.05, 1))
    red = data.draw(st.sampled_from(["mean", "batchmean", "sum", "none"]))
    return ([x, t], lambda a, b: F.kl_div(a, b, reduction=red, log_target=log_target),
            lambda a, b: tF.kl_div(a, b, reduction=red, log_target=log_target))


def _pointwise(data, ours, theirs, kinks, **kw):
    """x and t = x - d with d away from the loss's kinks (so finite differences hold)."""
    shape = data.draw(st.sampled_from([(), (3,), (2, 3), (2, 1, 2)]))
    x = data.draw(arrays(shape, -2, 2))
    d = float_array(np.random.default_rng(data.draw(seeds())), shape, -3, 3, kinks=kinks)
    red = data.draw(st.sampled_from(REDUCTIONS))
    return ([x, x - d], lambda a, b: ours(a, b, reduction=red, **kw),
            lambda a, b: theirs(a, b, reduction=red, **kw))


def case_l1(data):
    return _pointwise(data, F.l1_loss, tF.l1_loss, (0.0,))


def case_smooth_l1(data):
    beta = data.draw(st.sampled_from([1.0, 0.5, 0.0]))
    return _pointwise(data, F.smooth_l1_loss, tF.smooth_l1_loss, (0.0, beta, -beta), beta=beta)


def case_huber(data):
    delta = data.draw(st.sampled_from([1.0, 0.5, 2.0]))
    return _pointwise(data, F.huber_loss, tF.huber_loss, (delta, -delta), delta=delta)


def case_rms_norm(data):
    shape = data.draw(st.sampled_from([(4,), (2, 3), (2, 2, 3)]))
    k = data.draw(st.integers(1, len(shape)))
    normalized = shape[len(shape) - k:]
    x = data.draw(arrays(shape, kinks=(0.0,)))
    eps = data.draw(st.sampled_from([None, 1e-3]))
    if data.draw(st.booleans()):
        w = data.draw(arrays(normalized))
        return ([x, w], lambda a, b: F.rms_norm(a, normalized, b, eps),
                lambda a, b: tF.rms_norm(a, normalized, b, eps))
    return ([x], lambda a: F.rms_norm(a, normalized, eps=eps),
            lambda a: tF.rms_norm(a, normalized, eps=eps))


def case_instance_norm(data):
    n, c = data.draw(st.integers(1, 2)), data.draw(st.integers(1, 3))
    spatial = data.draw(st.sampled_from([(3,), (2, 2), (1, 3)]))
    x = data.draw(arrays((n, c) + spatial, distinct=True))
    if data.draw(st.booleans()):
        w, b = data.draw(arrays((c,))), data.draw(arrays((c,)))
        return ([x, w, b], lambda a, ww, bb: F.instance_norm(a, weight=ww, bias=bb),
                lambda a, ww, bb: tF.instance_norm(a, weight=ww, bias=bb))
    return ([x], F.instance_norm, tF.instance_norm)


def case_instance_norm_running(data):
    """Normalising with given running statistics (use_input_stats=False)."""
    c = data.draw(st.integers(1, 3))
    x = data.draw(arrays((2, c, 3)))
    rm, rv = data.draw(arrays((c,))), data.draw(arrays((c,), 0.5, 2))
    return ([x], lambda a: F.instance_norm(a, rm.copy(), rv.copy(), use_input_stats=False),
            lambda a: tF.instance_norm(a, t_(rm.copy()), t_(rv.copy()),
                                       use_input_stats=False))


CASES = {
    "nll_loss": case_nll,
    "cross_entropy_indices": case_cross_entropy_indices,
    "cross_entropy_probabilities": case_cross_entropy_probabilities,
    "binary_cross_entropy": case_binary_cross_entropy,
    "bce_with_logits_weight_pos_weight": case_bce_with_logits_options,
    "kl_div": case_kl_div,
    "l1_loss": case_l1,
    "smooth_l1_loss": case_smooth_l1,
    "huber_loss": case_huber,
    "rms_norm": case_rms_norm,
    "instance_norm": case_instance_norm,
    "instance_norm_running_stats": case_instance_norm_running,
}


@pytest.mark.parametrize("name", sorted(CASES))
@settings(max_examples=12)
@given(data=st.data())
def test_gradient_matches_finite_differences(name, data):
    inputs, ours, _ = CASES[name](data)
    gradcheck(ours, *inputs)


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides the total loss")   # torch's kl_div
@pytest.mark.parametrize("name", sorted(CASES))
@settings(max_examples=12)
@given(data=st.data())
def test_forward_and_gradients_match_torch(name, data):
    inputs, ours, theirs = CASES[name](data)
    check_against_torch(ours, theirs, *inputs)


@pytest.mark.parametrize("name", sorted(CASES))
@settings(max_examples=4)
@given(data=st.data())
def test_second_order_matches_finite_differences(name, data):
    inputs, ours, _ = CASES[name](data)
    gradgradcheck(ours, *inputs)


# ---- cross-entropy: targets in every form, the fused path, torch's edge rules ------------------

def test_integer_targets_as_tensor_ndarray_and_list_give_the_same_loss():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3))
    labels = [0, 2, 1, 2]
    want = tF.cross_entropy(t_(x), torch.tensor(labels)).item()
    for target in (labels, np.array(labels), sg.Tensor(np.array(labels, dtype=np.int64)),
                   sg.Tensor(np.array(labels, dtype=np.int32))):
        got = F.cross_entropy(sg.Tensor(x), target).item()
        np.testing.assert_allclose(got, want, rtol=1e-12)


def ops_in_graph(t):
    """The types of every Function in the graph that produced t."""
    seen, stack, found = set(), [t], set()
    while stack:
        node = stack.pop().creator
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        found.add(type(node))
        stack.extend(node.inputs)
    return found


def test_plain_cross_entropy_keeps_the_fused_op_and_the_options_compose():
    x = sg.Tensor(np.random.default_rng(1).standard_normal((5, 4)), requires_grad=True)
    t = np.array([0, 1, 2, 3, 0])
    assert CrossEntropy in ops_in_graph(F.cross_entropy(x, t))
    assert CrossEntropy in ops_in_graph(F.cross_entropy(x, sg.Tensor(t), ignore_index=-1))
    for kwargs in ({"weight": np.ones(4)}, {"label_smoothing": 0.1}, {"ignore_index": 3}):
        assert CrossEntropy not in ops_in_graph(F.cross_entropy(x, t, **kwargs))


def test_all_targets_ignored_gives_nan_and_zero_gradients_as_torch():
    x = np.random.default_rng(2).standard_normal((3, 4))
    t = np.full(3, -100)
    for smoothing in (0.0, 0.2):
        ours = sg.Tensor(x.copy(), requires_grad=True)
        loss = F.cross_entropy(ours, t, label_smoothing=smoothing)
        loss.backward()
        theirs = torch.tensor(x.copy(), requires_grad=True)
        t_loss = tF.cross_entropy(theirs, t_(t), label_smoothing=smoothing)
        t_loss.backward()
        assert np.isnan(loss.item()) and np.isnan(t_loss.item())
        np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())
        np.testing.assert_array_equal(ours.grad.numpy(), 0.0)


def test_weighted_mean_divides_by_the_weights_of_the_kept_targets():
    logp = np.log(np.array([[0.5, 0.25, 0.25], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]]))
    w = np.array([1.0, 2.0, 3.0])
    t = np.array([0, 1, -100])
    loss = F.nll_loss(sg.Tensor(logp), t, weight=w).item()
    by_hand = -(1.0 * np.log(0.5) + 2.0 * np.log(0.8)) / (1.0 + 2.0)
    np.testing.assert_allclose(loss, by_hand, rtol=1e-12)


def test_float32_cross_entropy_with_options_stays_float32():
    rng = np.random.default_rng(3)
    x = sg.Tensor(rng.standard_normal((4, 3)).astype(np.float32), requires_grad=True)
    for kwargs in ({"weight": [1.0, 2.0, 0.5]}, {"label_smoothing": 0.1}):
        loss = F.cross_entropy(x, np.array([0, 1, 2, 1]), **kwargs)
        loss.backward()
        assert loss.dtype == np.float32 and x.grad.dtype == np.float32
    p = sg.Tensor(rng.random((4, 3)).astype(np.float32))
    assert F.cross_entropy(x, p).dtype == np.float32


# ---- binary cross-entropy: torch's clamp at 0 and 1 --------------------------------------------

def test_binary_cross_entropy_at_zero_and_one_matches_torch():
    """Each log is clamped to >= -100: finite losses at x = 0 or 1, and torch's input gradient
    (x - t) / max(x (1 - x), 1e-12)."""
    x = np.array([0.0, 1.0, 0.0, 1.0, 0.5, 1e-30])
    t = np.array([0.0, 1.0, 1.0, 0.0, 0.3, 1.0])
    ours = sg.Tensor(x.copy(), requires_grad=True)
    theirs = torch.tensor(x.copy(), requires_grad=True)
    loss = F.binary_cross_entropy(ours, sg.Tensor(t), reduction="none")
    t_loss = tF.binary_cross_entropy(theirs, t_(t), reduction="none")
    np.testing.assert_allclose(loss.numpy(), t_loss.detach().numpy(), rtol=1e-12)
    u = np.array([1.0, -2.0, 0.5, 1.5, 3.0, 1.0])
    loss.backward(sg.Tensor(u))
    t_loss.backward(t_(u))
    # torch's 1e-12 is a float32 constant: 1e12 and 1.00000002e12 agree to 1e-7
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-7)
    assert np.isfinite(loss.numpy()).all() and np.isfinite(ours.grad.numpy()).all()


# ---- norms -------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rms_norm_default_eps_is_the_machine_epsilon_of_the_dtype(dtype):
    x = np.array([[1e-4, -2e-4, 3e-4], [1.0, 2.0, 3.0]], dtype=dtype)
    got = F.rms_norm(sg.Tensor(x), 3).numpy()
    want = tF.rms_norm(t_(x), (3,)).numpy()
    assert got.dtype == dtype
    np.testing.assert_allclose(got, want, rtol=1e-6 if dtype == np.float32 else 1e-12)
    eps = np.finfo(dtype).eps
    by_hand = x / np.sqrt((x.astype(np.float64) ** 2).mean(axis=1, keepdims=True) + eps)
    np.testing.assert_allclose(got, by_hand, rtol=1e-6 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("momentum", [0.1, 0.5])
def test_instance_norm_updates_running_statistics_as_torch(momentum):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 2, 4, 5)) * 2 + 1
    rm, rv = rng.standard_normal(2), rng.random(2) + 0.5
    trm, trv = t_(rm.copy()), t_(rv.copy())
    y = F.instance_norm(sg.Tensor(x), rm, rv, momentum=momentum)
    ty = tF.instance_norm(t_(x), trm, trv, momentum=momentum)
    np.testing.assert_allclose(y.numpy(), ty.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(rm, trm.numpy(), rtol=1e-12)
    np.testing.assert_allclose(rv, trv.numpy(), rtol=1e-12)


def test_layer_norm_refuses_weight_and_bias_of_another_shape():
    x = sg.Tensor(np.zeros((2, 3, 4)))
    with pytest.raises(sg.ShapeError, match=r"layer_norm: weight of shape \(1,\) does not "
                                            r"match normalized_shape \(4,\)"):
        F.layer_norm(x, 4, sg.Tensor(np.ones(1)))
    with pytest.raises(sg.ShapeError, match=r"layer_norm: bias of shape \(4,\) does not "
                                            r"match normalized_shape \(3, 4\)"):
        F.layer_norm(x, (3, 4), None, sg.Tensor(np.zeros(4)))
    with pytest.raises(sg.ShapeError, match=r"rms_norm: weight of shape \(3,\)"):
        F.rms_norm(x, 4, sg.Tensor(np.ones(3)))
    with pytest.raises(TypeError, match="layer_norm: normalized_shape must be an int"):
        F.layer_norm(x, 4.0)


# ---- errors ------------------------------------------------------------------------------------

X = sg.Tensor(np.zeros((3, 4)))
P = sg.Tensor(np.full((3, 4), 0.5))
LABELS = np.array([0, 1, 2])

BAD_CALLS = [
    (lambda: F.cross_entropy(X, np.zeros(3)), TypeError,
     r"cross_entropy: target must be integer class indices .* or float class probabilities "
     r"of the input's shape \(3, 4\); got dtype float64 and shape \(3,\)"),
    (lambda: F.cross_entropy(X, np.zeros((3, 4), bool)), TypeError, "got dtype bool"),
    (lambda: F.cross_entropy(X, "abc"), TypeError, "cross_entropy: target must be"),
    (lambda: F.cross_entropy(X, np.array([0, 1, 4])), ValueError,
     r"targets must lie in \[0, 4\) \(or equal ignore_index = -100\), got values in \[0, 4\]"),
    (lambda: F.cross_entropy(X, np.array([0, 1])), sg.ShapeError,
     r"input of shape \(3, 4\) and target of shape \(2,\) do not fit"),
    (lambda: F.cross_entropy(X, LABELS, weight=np.ones(3)), sg.ShapeError,
     r"weight of shape \(3,\) does not match 4 classes"),
    (lambda: F.cross_entropy(X, LABELS, weight="mean"), TypeError, "give reduction= by keyword"),
    (lambda: F.cross_entropy(X, LABELS, label_smoothing=1.5), ValueError,
     r"label_smoothing must lie in \[0.0, 1.0\], got 1.5"),
    (lambda: F.cross_entropy(X, LABELS, label_smoothing="a"), TypeError,
     "label_smoothing must be a number"),
    (lambda: F.cross_entropy(X, LABELS, ignore_index=1.5), TypeError,
     "ignore_index must be an integer"),
    (lambda: F.cross_entropy(X, P.data, ignore_index=2), ValueError,
     "ignore_index .* applies to class-index targets only"),
    (lambda: F.cross_entropy(sg.Tensor(np.zeros(())), np.array(0)), sg.ShapeError,
     r"input must be \(C,\), \(N, C\) or \(N, C, d1, ...\)"),
    (lambda: F.nll_loss(X, P.data), TypeError,
     r"nll_loss: target must be integer class indices of shape \(N, d1, ...\)"),
    (lambda: F.nll_loss(X, LABELS, reduction="average"), ValueError,
     r"nll_loss: reduction must be one of \('mean', 'sum', 'none'\), got 'average'"),
    (lambda: F.binary_cross_entropy(sg.Tensor(np.array([0.5, 1.5])), np.ones(2)), ValueError,
     r"input must hold probabilities in \[0, 1\], got values in \[0.5, 1.5\]"),
    (lambda: F.binary_cross_entropy(P, np.ones(3)), sg.ShapeError,
     r"input of shape \(3, 4\) and target of shape \(3,\) must have the same shape"),
    (lambda: F.binary_cross_entropy(P, P, weight=np.ones((2, 4))), sg.ShapeError,
     r"weight of shape \(2, 4\) does not broadcast to the input's shape \(3, 4\)"),
    (lambda: F.binary_cross_entropy_with_logits(X, P, pos_weight=np.ones(3)), sg.ShapeError,
     r"pos_weight of shape \(3,\) does not broadcast"),
    (lambda: F.kl_div(X, P, reduction="batch"), ValueError,
     r"kl_div: reduction must be one of \('mean', 'batchmean', 'sum', 'none'\)"),
    (lambda: F.kl_div(X, P, log_target="yes"), TypeError, "log_target must be True or False"),
    (lambda: F.smooth_l1_loss(X, P, beta=-1.0), ValueError,
     r"smooth_l1_loss: beta must lie in \[0.0, inf\], got -1.0"),
    (lambda: F.huber_loss(X, P, delta=0.0), ValueError,
     r"huber_loss: delta must lie in \(0.0, inf\], got 0.0"),
    (lambda: F.l1_loss(X, np.zeros(4)), sg.ShapeError, "l1_loss: input of shape"),
    (lambda: F.l1_loss(X, None), TypeError, "l1_loss: target must be a Tensor"),
    (lambda: F.rms_norm(sg.Tensor(np.zeros(3, np.int64)), 3), TypeError,
     "rms_norm: input must have a floating-point dtype"),
    (lambda: F.instance_norm(X), sg.ShapeError,
     r"instance_norm: input must be \(N, C, \*spatial\) with at least one spatial axis"),
    (lambda: F.instance_norm(sg.Tensor(np.zeros((2, 3, 1)))), sg.ShapeError,
     "expected more than 1 spatial element"),
    (lambda: F.instance_norm(sg.Tensor(np.zeros((2, 3, 4))), use_input_stats=False),
     ValueError, "use_input_stats=False needs running_mean and running_var"),
    (lambda: F.instance_norm(sg.Tensor(np.zeros((2, 3, 4))), np.zeros(2), np.ones(2)),
     sg.ShapeError, r"running_mean of shape \(2,\) does not match 3 channels"),
]


@pytest.mark.parametrize("call, error, words", BAD_CALLS)
def test_bad_arguments_get_clear_errors(call, error, words):
    with pytest.raises(error, match=words):
        call()
