"""Reductions and scans (sum/mean with dtype, var/std with ddof, prod, amax/amin, logsumexp,
cumsum, cumprod, logcumsumexp) against torch (float64, forward and input gradients), finite
differences and at second order, from one table each; prod and cumprod with zeros; the
non-differentiable ones (argmax/argmin with keepdims, any/all, max/min of integer and boolean
tensors, sums of booleans) against torch; the dim/keepdim spellings; and the errors."""
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import scratchgen as sg
from helpers import (arrays, axes, check_against_torch, gradcheck, gradgradcheck, seeds,
                     shapes)

torch = pytest.importorskip("torch", reason="torch is the test oracle (pip install torch)")

FEW = settings(max_examples=10)       # finite differences: a few drawn cases per op
FEWER = settings(max_examples=5)      # second order


def torch_dims(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    return axis if isinstance(axis, tuple) else (axis,)


def torch_prod(t, dims, keep):
    """torch.prod takes one dim: reduce the axes one by one."""
    out = t
    for d in sorted((d % t.ndim for d in dims), reverse=True):
        out = out.prod(dim=d, keepdim=True)
    return out if keep else out.reshape([n for i, n in enumerate(t.shape)
                                         if i not in {d % t.ndim for d in dims}])


def grid_with_zeros(rng, shape):
    """Values on the grid 0.5 k, k in -3..3 (ties, often several zeros), with at least one 0."""
    values = rng.integers(-3, 4, size=shape) * 0.5
    values[tuple(rng.integers(0, n) for n in shape)] = 0.0
    return values


# name: (scratchgen op (t, axis, keepdims), torch op (t, dims tuple, keepdim), values)
# values: "plain" (uniform in [-2, 2)), "distinct" (no ties), "zeros" (a grid holding zeros),
# "ddof" (plain, and more elements than the correction)
REDUCTIONS = {
    "sum": (lambda t, a, k: t.sum(axis=a, keepdims=k),
            lambda t, d, k: t.sum(dim=d, keepdim=k), "plain"),
    "sum_fn_dim_keepdim": (lambda t, a, k: sg.sum(t, dim=a, keepdim=k),
                           lambda t, d, k: torch.sum(t, dim=d, keepdim=k), "plain"),
    "mean": (lambda t, a, k: t.mean(dim=a, keepdim=k),
             lambda t, d, k: t.mean(dim=d, keepdim=k), "plain"),
    "var_default_ddof0": (lambda t, a, k: t.var(axis=a, keepdims=k),
                          lambda t, d, k: t.var(dim=d, keepdim=k, correction=0), "plain"),
    "var_ddof1": (lambda t, a, k: t.var(axis=a, keepdims=k, ddof=1),
                  lambda t, d, k: t.var(dim=d, keepdim=k, correction=1), "ddof"),
    "var_correction2": (lambda t, a, k: sg.var(t, dim=a, keepdim=k, correction=2),
                        lambda t, d, k: torch.var(t, dim=d, keepdim=k, correction=2), "ddof"),
    "std_ddof0": (lambda t, a, k: t.std(axis=a, keepdims=k),
                  lambda t, d, k: t.std(dim=d, keepdim=k, correction=0), "ddof"),
    "std_unbiased": (lambda t, a, k: sg.std(t, axis=a, keepdims=k, unbiased=True),
                     lambda t, d, k: torch.std(t, dim=d, keepdim=k, unbiased=True), "ddof"),
    "prod": (lambda t, a, k: t.prod(axis=a, keepdims=k), torch_prod, "plain"),
    "prod_with_zeros": (lambda t, a, k: sg.prod(t, dim=a, keepdim=k), torch_prod, "zeros"),
    "amax": (lambda t, a, k: t.amax(dim=a, keepdim=k),
             lambda t, d, k: torch.amax(t, dim=d, keepdim=k), "distinct"),
    "amin": (lambda t, a, k: sg.amin(t, axis=a, keepdims=k),
             lambda t, d, k: torch.amin(t, dim=d, keepdim=k), "distinct"),
    "max_fn": (lambda t, a, k: sg.max(t, axis=a, keepdims=k),
               lambda t, d, k: torch.amax(t, dim=d, keepdim=k), "distinct"),
    "logsumexp_dim": (lambda t, a, k: t.logsumexp(dim=a, keepdim=k),
                      lambda t, d, k: torch.logsumexp(t, dim=d, keepdim=k), "plain"),
}


@st.composite
def reduction_case(draw, values, max_side=4):
    """(x, axis, keepdims) for a reduction whose values are drawn as `values` says."""
    shape = draw(shapes(min_dims=1, max_side=max_side))
    axis = draw(axes(len(shape)))
    keepdims = draw(st.booleans())
    if values == "zeros":
        x = grid_with_zeros(np.random.default_rng(draw(seeds())), shape)
    else:
        x = draw(arrays(shape, distinct=values == "distinct"))
    if values == "ddof":
        count = int(np.prod([shape[i] for i in torch_dims(axis, len(shape))]))
        assume(count > 2)
    return x, axis, keepdims


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@FEW
@given(data=st.data())
def test_reduction_matches_torch(name, data):
    ours, theirs, values = REDUCTIONS[name]
    x, axis, keep = data.draw(reduction_case(values))
    check_against_torch(lambda t: ours(t, axis, keep),
                        lambda t: theirs(t, torch_dims(axis, t.ndim), keep), x, rtol=1e-9)


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@FEW
@given(data=st.data())
def test_reduction_gradient_matches_finite_differences(name, data):
    ours, _, values = REDUCTIONS[name]
    x, axis, keep = data.draw(reduction_case(values))
    gradcheck(lambda t: ours(t, axis, keep), x)


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@FEWER
@given(data=st.data())
def test_reduction_second_order(name, data):
    ours, _, values = REDUCTIONS[name]
    x, axis, keep = data.draw(reduction_case(values, max_side=3))
    gradgradcheck(lambda t: ours(t, axis, keep) ** 2.0, x)


# ---- scans ------------------------------------------------------------------------------------

# name: (scratchgen op (t, axis), torch op (t, dim), values)
SCANS = {
    "cumsum": (lambda t, a: t.cumsum(axis=a), lambda t, a: t.cumsum(dim=a), "plain"),
    "cumsum_fn_dim": (lambda t, a: sg.cumsum(t, dim=a), lambda t, a: torch.cumsum(t, dim=a),
                      "plain"),
    "cumprod": (lambda t, a: t.cumprod(dim=a), lambda t, a: t.cumprod(dim=a), "plain"),
    "cumprod_with_zeros": (lambda t, a: sg.cumprod(t, axis=a),
                           lambda t, a: torch.cumprod(t, dim=a), "zeros"),
    "logcumsumexp": (lambda t, a: t.logcumsumexp(dim=a),
                     lambda t, a: torch.logcumsumexp(t, dim=a), "plain"),
    "logcumsumexp_fn": (lambda t, a: sg.logcumsumexp(t, axis=a),
                        lambda t, a: torch.logcumsumexp(t, dim=a), "wide"),
}


@st.composite
def scan_case(draw, values, max_side=4):
    shape = draw(shapes(min_dims=1, max_side=max_side))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    if values == "zeros":
        return grid_with_zeros(np.random.default_rng(draw(seeds())), shape), axis
    if values == "wide":  # a range far beyond what exp can hold
        return draw(arrays(shape, -30.0, 30.0)), axis
    return draw(arrays(shape)), axis


@pytest.mark.parametrize("name", sorted(SCANS))
@FEW
@given(data=st.data())
def test_scan_matches_torch(name, data):
    ours, theirs, values = SCANS[name]
    x, axis = data.draw(scan_case(values))
    check_against_torch(lambda t: ours(t, axis), lambda t: theirs(t, axis), x, rtol=1e-9)


@pytest.mark.parametrize("name", sorted(SCANS))
@FEW
@given(data=st.data())
def test_scan_gradient_matches_finite_differences(name, data):
    ours, _, values = SCANS[name]
    x, axis = data.draw(scan_case("plain" if values == "wide" else values))
    gradcheck(lambda t: ours(t, axis), x)


@pytest.mark.parametrize("name", sorted(SCANS))
@FEWER
@given(data=st.data())
def test_scan_second_order(name, data):
    ours, _, values = SCANS[name]
    x, axis = data.draw(scan_case("plain" if values == "wide" else values, max_side=3))
    gradgradcheck(lambda t: ours(t, axis) ** 2.0, x)


@pytest.mark.parametrize("op", ["prod", "cumprod"])
@pytest.mark.parametrize("values", [[2.0, 0.0, 3.0, -1.5], [0.0, 2.0, 0.0, 1.5], [0.0]])
def test_prod_and_cumprod_gradients_are_exact_with_zeros(op, values):
    """With one zero only its own gradient survives in prod (the product of the others);
    with two zeros every first-order gradient of prod is 0, but not the second order."""
    x = np.array(values)
    ours = (lambda t: t.prod()) if op == "prod" else (lambda t: t.cumprod(0))
    theirs = (lambda t: t.prod()) if op == "prod" else (lambda t: t.cumprod(0))
    check_against_torch(ours, theirs, x)
    gradcheck(ours, x)
    gradgradcheck(ours, x)


def test_prod_gradient_with_a_zero_names_the_product_of_the_others():
    x = sg.tensor(np.array([[2.0, 0.0, 3.0], [1.0, 4.0, 5.0]]), requires_grad=True)
    x.prod(axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 6.0, 0.0], [20.0, 5.0, 4.0]])


def test_logcumsumexp_is_stable_over_a_huge_range():
    x = np.array([-1000.0, 0.0, 1000.0, -5.0, 1000.0])
    check_against_torch(lambda t: t.logcumsumexp(0), lambda t: torch.logcumsumexp(t, 0), x)
    out = sg.logcumsumexp(sg.tensor(x), 0).numpy()
    np.testing.assert_allclose(out, [-1000.0, 0.0, 1000.0, 1000.0, 1000.0 + np.log(2)])


def test_logcumsumexp_second_order_with_a_wide_range():
    gradgradcheck(lambda t: t.logcumsumexp(0) ** 2.0, np.array([-40.0, 0.5, 30.0, -2.0]))


def test_scans_with_axis_none_flatten_and_0d_stays_0d():
    x = np.arange(6.0).reshape(2, 3) + 1
    np.testing.assert_array_equal(sg.tensor(x).cumsum().numpy(), np.cumsum(x))
    np.testing.assert_array_equal(sg.cumprod(x).numpy(), np.cumprod(x))
    scalar = sg.tensor(np.array(3.0))
    assert sg.cumsum(scalar, 0).shape == () == torch.cumsum(torch.tensor(3.0), 0).shape
    assert sg.logcumsumexp(scalar, dim=-1).item() == 3.0


# ---- dtype= and integer / boolean inputs ------------------------------------------------------

def test_sum_of_booleans_and_integers_is_int64_as_torch():
    b = np.array([[True, False, True], [True, True, False]])
    i32 = np.arange(6, dtype=np.int32).reshape(2, 3)
    for array in (b, i32):
        for axis in (None, 0, 1):
            ours = sg.tensor(array).sum(axis=axis)
            theirs = torch.tensor(array).sum(dim=torch_dims(axis, 2))
            assert ours.dtype == np.int64 and theirs.dtype == torch.int64
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    np.testing.assert_array_equal(sg.tensor(i32).cumsum(1).numpy(),
                                  torch.tensor(i32).cumsum(1).numpy())
    assert sg.tensor(i32).cumsum(1).dtype == np.int64
    assert sg.tensor(i32).prod().dtype == np.int64 and sg.tensor(i32).prod().item() == 0


def test_sum_and_mean_with_dtype():
    x32 = np.array([[1e8, 1.0, -1e8, 0.5]], dtype=np.float32)
    t = sg.tensor(x32, requires_grad=True)
    out = t.sum(dtype=np.float64)
    assert out.dtype == np.float64
    assert out.item() == torch.tensor(x32).sum(dtype=torch.float64).item()
    out.backward()
    assert t.grad.dtype == np.float32
    np.testing.assert_array_equal(t.grad.numpy(), np.ones_like(x32))
    m = sg.mean(t, dim=1, dtype=np.float64)
    assert m.dtype == np.float64
    np.testing.assert_allclose(m.numpy(), torch.tensor(x32).mean(1, dtype=torch.float64))
    ints = sg.tensor(np.array([1, 2, 4]))
    assert ints.sum(dtype=np.float32).dtype == np.float32
    assert ints.mean().dtype == np.float32 and ints.mean().item() == pytest.approx(7 / 3)
    assert sg.tensor(np.array([True, False, True, True])).mean().item() == 0.75
    np.testing.assert_array_equal(sg.prod(np.array([2, 3]), dtype=np.float64).numpy(), 6.0)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_, np.uint8])
@pytest.mark.parametrize("name", ["max", "min", "amax", "amin"])
def test_max_and_min_of_integer_and_boolean_tensors(dtype, name):
    array = np.array([[3, 0, 7], [5, 5, 1]]).astype(dtype)
    theirs = {"max": torch.amax, "min": torch.amin, "amax": torch.amax, "amin": torch.amin}[name]
    for axis in (None, 0, -1):
        ours = getattr(sg.tensor(array), name)(axis=axis)
        expected = theirs(torch.tensor(array), dim=torch_dims(axis, 2))
        assert ours.dtype == array.dtype
        np.testing.assert_array_equal(ours.numpy(), expected.numpy())
    assert not getattr(sg.tensor(array), name)().requires_grad


def test_max_of_an_integer_tensor_inside_a_float_graph():
    w = sg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    counts = sg.tensor(np.array([4, 9, 2]))
    (w * counts.max()).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [9.0, 9.0])


# ---- argmax / argmin / any / all (not differentiable) -----------------------------------------

@pytest.mark.parametrize("name", ["argmax", "argmin"])
@given(x=arrays(shapes(min_dims=0), distinct=True), data=st.data(), keepdims=st.booleans())
def test_argmax_and_argmin_match_torch(name, x, data, keepdims):
    axis = data.draw(st.one_of(st.none(), st.integers(-max(x.ndim, 1), max(x.ndim, 1) - 1)))
    ours = getattr(sg.tensor(x), name)(dim=axis, keepdim=keepdims)
    fn = getattr(sg, name)(x, axis=axis, keepdims=keepdims)
    theirs = getattr(torch, name)(torch.tensor(x), dim=axis, keepdim=keepdims)
    for result in (ours, fn):
        assert isinstance(result, sg.Tensor) and result.dtype == np.int64
        assert result.shape == tuple(theirs.shape)
        np.testing.assert_array_equal(result.numpy(), theirs.numpy())


def test_argmax_picks_the_first_of_ties_and_works_on_integers_and_booleans():
    assert sg.tensor(np.array([1, 3, 3, 0])).argmax().item() == 1
    assert sg.tensor(np.array([True, False, True])).argmin().item() == 1
    labels = np.array([0, 1, 1])
    logits = sg.tensor(np.array([[2.0, 1.0], [0.0, 3.0], [5.0, 4.0]]))
    accuracy = (logits.argmax(axis=1) == labels).mean()
    assert accuracy.item() == pytest.approx(2 / 3)


@pytest.mark.parametrize("name", ["any", "all"])
@given(shape=shapes(min_dims=1), seed=seeds(), data=st.data(), keepdims=st.booleans())
def test_any_and_all_match_torch(name, shape, seed, data, keepdims):
    x = np.random.default_rng(seed).integers(0, 2, size=shape) * 1.5   # floats, zeros likely
    axis = data.draw(axes(len(shape)))
    ours = getattr(sg.tensor(x), name)(dim=axis, keepdim=keepdims)
    fn = getattr(sg, name)(sg.tensor(x > 0), axis=axis, keepdims=keepdims)
    theirs = getattr(torch, name)(torch.tensor(x), dim=torch_dims(axis, x.ndim),
                                  keepdim=keepdims)
    for result in (ours, fn):
        assert result.dtype == np.bool_ and result.shape == tuple(theirs.shape)
        np.testing.assert_array_equal(result.numpy(), theirs.numpy())


# ---- spellings and errors ---------------------------------------------------------------------

def test_reductions_accept_dim_and_keepdim_and_refuse_both_names():
    x = sg.tensor(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(x.sum(dim=1, keepdim=True).numpy(),
                                  x.sum(axis=1, keepdims=True).numpy())
    for call in (lambda: x.sum(dim=1, axis=1), lambda: x.max(keepdim=True, keepdims=True),
                 lambda: sg.cumsum(x, dim=0, axis=0), lambda: x.argmax(dim=0, axis=0)):
        with pytest.raises(TypeError, match="both dim= and axis=|both keepdim= and keepdims="):
            call()


def test_var_refuses_two_corrections_and_bad_values():
    x = sg.tensor(np.arange(4.0))
    with pytest.raises(TypeError, match="var: got both ddof= and correction="):
        x.var(ddof=1, correction=1)
    with pytest.raises(TypeError, match="std: got both correction= and unbiased="):
        x.std(correction=0, unbiased=True)
    with pytest.raises(TypeError, match="var: ddof must be a number"):
        x.var(ddof="1")
    with pytest.raises(TypeError, match="var: unbiased must be True or False"):
        x.var(unbiased=1)


def test_var_with_too_few_elements_gives_nan_or_inf_like_torch():
    x = sg.tensor(np.array([2.0]))
    with pytest.warns(UserWarning):  # torch warns of degrees of freedom <= 0
        expected = torch.tensor([2.0]).var().item()
    assert np.isnan(x.var(ddof=1).item()) and np.isnan(expected)


@pytest.mark.parametrize("op", ["max", "min", "amax", "argmax", "argmin"])
def test_extremes_of_an_empty_tensor_raise_shape_error(op):
    x = sg.tensor(np.zeros((0, 3)))
    with pytest.raises(sg.ShapeError, match=f"{op}: cannot"):
        getattr(x, op)(axis=0) if op.startswith("arg") else getattr(x, op)()


def test_argmax_over_an_axis_of_a_tensor_with_an_empty_other_axis():
    assert sg.tensor(np.zeros((0, 3))).argmax(axis=1).shape == (0,)


@pytest.mark.parametrize("call, message", [
    (lambda x: x.argmax(axis=(0, 1)), "argmax: axis must be one int"),
    (lambda x: x.cumsum(axis=2), "cumsum: axis 2 is out of range"),
    (lambda x: x.logcumsumexp(dim=-3), "logcumsumexp: axis -3 is out of range"),
    (lambda x: x.prod(axis=1.0), "prod: axis must be an int"),
    (lambda x: x.any(axis=5), "any: axis 5 is out of range"),
    (lambda x: sg.std(x, dim="0"), "std: axis must be an int"),
])
def test_bad_axes_name_the_op(call, message):
    x = sg.tensor(np.ones((2, 3)))
    with pytest.raises((TypeError, sg.ShapeError), match=message):
        call(x)


def test_sum_with_a_bad_dtype_names_the_op():
    with pytest.raises(TypeError, match="sum: dtype 'floaty' is not a dtype"):
        sg.tensor(np.ones(3)).sum(dtype="floaty")
