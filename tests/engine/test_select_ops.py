"""Sort and select (sort, topk, gather, take_along_axis, scatter, scatter_add, put_along_axis,
masked_fill) against torch (float64, forward and input gradients), finite differences and
second order, from one table of drawn cases; the integer results (sort and topk indices,
argsort, stable sorting of ties, nonzero, one_hot) against torch; and the errors of bad
index dtypes, out-of-range indices and mismatched shapes."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scratchgen as sg
import scratchgen.functional as F
from helpers import arrays, check_against_torch, gradcheck, gradgradcheck, seeds, shapes

torch = pytest.importorskip("torch", reason="torch is the test oracle (pip install torch)")

FEW = settings(max_examples=10)
FEWER = settings(max_examples=5)


def _unique_indices(rng, shape, axis, size):
    """Indices of `shape` along `axis`, each in [0, size) and distinct along the axis (no
    repeated writes for scatter, whose order for repeats torch leaves unspecified)."""
    full = list(shape)
    full[axis] = size
    order = np.argsort(rng.random(full), axis=axis)
    return np.take(order, np.arange(shape[axis]), axis=axis).astype(np.int64)


@st.composite
def select_case(draw, name, max_side=4):
    """(scratchgen fn, torch fn, float arrays) for one selection op with drawn arguments."""
    rng = np.random.default_rng(draw(seeds()))
    shape = draw(shapes(min_dims=1, max_side=max_side))
    ndim = len(shape)
    axis = draw(st.integers(-ndim, ndim - 1))
    n = shape[axis]
    if name in ("sort", "sort_method"):
        x = draw(arrays(shape, distinct=True))
        desc = draw(st.booleans())
        if name == "sort":
            return (lambda t: sg.sort(t, dim=axis, descending=desc)[0],
                    lambda t: torch.sort(t, dim=axis, descending=desc)[0], [x])
        return (lambda t: t.sort(axis, desc)[0], lambda t: t.sort(axis, desc)[0], [x])
    if name == "topk":
        x = draw(arrays(shape, distinct=True))
        k = draw(st.integers(0, n))
        largest = draw(st.booleans())
        return (lambda t: sg.topk(t, k, dim=axis, largest=largest)[0],
                lambda t: torch.topk(t, k, dim=axis, largest=largest)[0], [x])
    if name in ("gather", "gather_method"):
        x = draw(arrays(shape))
        ishape = tuple(draw(st.integers(1, 4)) if d == axis % ndim else draw(st.integers(1, s))
                       for d, s in enumerate(shape))
        index = rng.integers(0, n, size=ishape)
        if name == "gather":
            return (lambda t: sg.gather(t, axis, index),
                    lambda t: torch.gather(t, axis, torch.tensor(index)), [x])
        return (lambda t: t.gather(dim=axis, index=sg.tensor(index)),
                lambda t: t.gather(axis, torch.tensor(index)), [x])
    if name == "take_along_axis":
        x = draw(arrays(shape))
        ishape = tuple(draw(st.integers(1, 4)) if d == axis % ndim else
                       draw(st.sampled_from([1, s])) for d, s in enumerate(shape))
        index = rng.integers(-n, n, size=ishape)          # NumPy's negative indices too
        return (lambda t: sg.take_along_axis(t, index, axis),
                lambda t: torch.take_along_dim(t, torch.tensor(index % n), axis), [x])
    if name in ("scatter", "scatter_value", "put_along_axis"):
        x = draw(arrays(shape))
        ishape = tuple(draw(st.integers(1, s)) for s in shape)
        if name == "put_along_axis":
            ishape = tuple(ishape[d] if d == axis % ndim else s for d, s in enumerate(shape))
        index = _unique_indices(rng, ishape, axis % ndim, n)
        if name == "scatter_value":
            return (lambda t: t.scatter(axis, index, value=0.5),
                    lambda t: t.scatter(axis, torch.tensor(index), 0.5), [x])
        if name == "put_along_axis":
            vshape = tuple(draw(st.sampled_from([1, s])) for s in ishape)
            v = draw(arrays(vshape))
            return (lambda t, s: sg.put_along_axis(t, index, s, axis),
                    lambda t, s: torch.scatter(t, axis, torch.tensor(index), s.expand(ishape)),
                    [x, v])
        src = draw(arrays(ishape))
        return (lambda t, s: sg.scatter(t, axis, index, s),
                lambda t, s: torch.scatter(t, axis, torch.tensor(index), s), [x, src])
    if name == "scatter_add":
        x = draw(arrays(shape))
        ishape = tuple(draw(st.integers(1, 4)) if d == axis % ndim else draw(st.integers(1, s))
                       for d, s in enumerate(shape))
        index = rng.integers(0, n, size=ishape)            # repeats add up
        src = draw(arrays(ishape))
        return (lambda t, s: t.scatter_add(axis, sg.tensor(index), s),
                lambda t, s: torch.scatter_add(t, axis, torch.tensor(index), s), [x, src])
    if name in ("masked_fill", "masked_fill_tensor_value"):
        x = draw(arrays(shape))
        mshape = tuple(draw(st.sampled_from([1, s])) for s in shape)[draw(st.integers(0, ndim)):]
        mask = rng.random(mshape) < 0.5
        if name == "masked_fill":
            return (lambda t: t.masked_fill(sg.tensor(mask), -1.5),
                    lambda t: t.masked_fill(torch.tensor(mask), -1.5), [x])
        return (lambda t, v: sg.masked_fill(t, mask, v),
                lambda t, v: t.masked_fill(torch.tensor(mask), v), [x, draw(arrays(()))])
    raise KeyError(name)


SELECT = ["sort", "sort_method", "topk", "gather", "gather_method", "take_along_axis",
          "scatter", "scatter_value", "scatter_add", "put_along_axis", "masked_fill",
          "masked_fill_tensor_value"]


@pytest.mark.parametrize("name", SELECT)
@FEW
@given(data=st.data())
def test_select_matches_torch(name, data):
    ours, theirs, inputs = data.draw(select_case(name))
    check_against_torch(ours, theirs, *inputs)


@pytest.mark.parametrize("name", SELECT)
@FEW
@given(data=st.data())
def test_select_gradient_matches_finite_differences(name, data):
    ours, _, inputs = data.draw(select_case(name))
    gradcheck(ours, *inputs)


@pytest.mark.parametrize("name", SELECT)
@FEWER
@given(data=st.data())
def test_select_second_order(name, data):
    ours, _, inputs = data.draw(select_case(name, max_side=3))
    gradgradcheck(lambda *t: ours(*t) ** 2.0, *inputs)


def test_scatter_gradient_zeroes_the_overwritten_positions_of_x():
    x = sg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    src = sg.tensor(np.array([[10.0, 20.0]]), requires_grad=True)
    out = sg.scatter(x, 1, np.array([[2, 0]]), src)
    np.testing.assert_array_equal(out.numpy(), [[20.0, 1.0, 10.0], [3.0, 4.0, 5.0]])
    (out * sg.tensor(np.arange(1.0, 7.0).reshape(2, 3))).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 2.0, 0.0], [4.0, 5.0, 6.0]])
    np.testing.assert_array_equal(src.grad.numpy(), [[3.0, 1.0]])


def test_scatter_uses_the_leading_part_of_a_larger_src():
    """torch's rule (torch's own backward refuses this case, so it is checked forward only)."""
    x, src = np.zeros((2, 3)), np.arange(1.0, 13.0).reshape(3, 4)
    index = np.array([[2, 0]])
    expected = torch.scatter(torch.tensor(x), 1, torch.tensor(index), torch.tensor(src))
    np.testing.assert_array_equal(sg.scatter(x, 1, index, src).numpy(), expected.numpy())
    grads = gradcheck(lambda a, b: sg.scatter(a, 1, index, b), x, src)
    np.testing.assert_array_equal(grads[1] != 0, [[True, True, False, False],
                                                  [False, False, False, False]] + [[False] * 4])


def test_gather_with_repeated_indices_accumulates_the_gradient():
    x = sg.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    sg.gather(x, 0, np.array([2, 2, 0, 2])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 0.0, 3.0])


# ---- integer results against torch ------------------------------------------------------------

@given(x=arrays(shapes(min_dims=1), distinct=True), data=st.data())
def test_sort_argsort_and_topk_indices_match_torch(x, data):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    desc = data.draw(st.booleans())
    k = data.draw(st.integers(0, x.shape[axis]))
    t = torch.tensor(x)
    values, indices = sg.sort(x, axis, descending=desc)
    assert indices.dtype == np.int64
    np.testing.assert_array_equal(indices.numpy(), torch.sort(t, axis, desc)[1].numpy())
    np.testing.assert_array_equal(sg.argsort(x, dim=axis, descending=desc).numpy(),
                                  torch.argsort(t, dim=axis, descending=desc).numpy())
    np.testing.assert_array_equal(sg.tensor(x).argsort(axis).numpy(), np.argsort(x, axis))
    top_values, top_indices = sg.tensor(x).topk(k, axis, largest=not desc)
    expected = torch.topk(t, k, axis, largest=not desc)
    assert top_indices.dtype == np.int64
    np.testing.assert_array_equal(top_indices.numpy(), expected.indices.numpy())
    np.testing.assert_array_equal(top_values.numpy(), expected.values.numpy())


@pytest.mark.parametrize("descending", [False, True])
@given(shape=shapes(min_dims=1), seed=seeds(), data=st.data())
def test_stable_sort_keeps_the_order_of_ties_like_torch(descending, shape, seed, data):
    x = np.random.default_rng(seed).integers(0, 3, size=shape).astype(np.float64)
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    values, indices = sg.sort(x, axis, descending=descending, stable=True)
    expected = torch.sort(torch.tensor(x), dim=axis, descending=descending, stable=True)
    np.testing.assert_array_equal(values.numpy(), expected.values.numpy())
    np.testing.assert_array_equal(indices.numpy(), expected.indices.numpy())


def test_sort_of_integers_booleans_and_nan():
    values, indices = sg.sort(sg.tensor(np.array([3, 1, 2])), descending=True)
    assert values.dtype == np.int64 and values.tolist() == [3, 2, 1] and indices.tolist() == [0, 2, 1]
    assert sg.sort(np.array([True, False]))[0].tolist() == [False, True]
    x = np.array([1.0, np.nan, -1.0])
    for desc in (False, True):
        ours, theirs = sg.sort(x, descending=desc), torch.sort(torch.tensor(x), descending=desc)
        np.testing.assert_array_equal(ours[0].numpy(), theirs.values.numpy())
        np.testing.assert_array_equal(ours[1].numpy(), theirs.indices.numpy())


@given(shape=shapes(min_dims=0), seed=seeds())
def test_nonzero_matches_torch_both_forms(shape, seed):
    x = np.random.default_rng(seed).integers(0, 2, size=shape) * 2.5
    ours, theirs = sg.nonzero(x), torch.nonzero(torch.tensor(x))
    assert ours.dtype == np.int64 and ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    ours_t = sg.tensor(x).nonzero(as_tuple=True)
    theirs_t = torch.nonzero(torch.tensor(x), as_tuple=True)
    assert len(ours_t) == len(theirs_t)
    for a, b in zip(ours_t, theirs_t):
        assert a.dtype == np.int64
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@given(shape=shapes(min_dims=0, max_dims=2), seed=seeds(), extra=st.integers(0, 2))
def test_one_hot_matches_torch(shape, seed, extra):
    labels = np.random.default_rng(seed).integers(0, 4, size=shape)
    for classes in (-1, int(labels.max()) + 1 + extra):
        ours = F.one_hot(sg.tensor(labels), classes)
        theirs = torch.nn.functional.one_hot(torch.tensor(labels), classes)
        assert ours.dtype == np.int64 and ours.shape == tuple(theirs.shape)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_one_hot_with_num_classes_keyword_and_a_list():
    np.testing.assert_array_equal(F.one_hot([2, 0], num_classes=3).numpy(),
                                  [[0, 0, 1], [1, 0, 0]])


def test_index_tensors_from_integer_data_work_everywhere():
    x = sg.tensor(np.array([[1.0, 2.0], [3.0, 4.0]]))
    index = sg.tensor(np.array([[1, 0]]))
    assert sg.gather(x, 0, index).tolist() == [[3.0, 2.0]]
    assert sg.take_along_axis(x, np.array([[1], [0]], dtype=np.int32), 1).tolist() == [[2.0], [3.0]]
    assert x.take_along_dim(sg.tensor(np.array([3, 0]))).tolist() == [4.0, 1.0]


# ---- errors -----------------------------------------------------------------------------------

X = np.arange(12.0).reshape(3, 4)


@pytest.mark.parametrize("call, message", [
    (lambda: sg.gather(X, 0, np.array([[0.0]])), "gather: index must be an integer tensor"),
    (lambda: sg.gather(X, 0, np.array([[True]])), "gather: index must be an integer tensor"),
    (lambda: sg.scatter(X, 1, sg.tensor(np.array([[1.0]])), 2.0),
     "scatter: index must be an integer tensor"),
    (lambda: sg.scatter_add(X, 1, "0", X), "scatter_add: index must be an integer tensor"),
    (lambda: sg.take_along_axis(X, np.array([[0.5]]), 0),
     "take_along_axis: indices must be an integer tensor"),
    (lambda: F.one_hot(np.array([0.0, 1.0])), "one_hot: indices must be an integer tensor"),
    (lambda: sg.topk(X, 1.5), "topk: k must be an int"),
    (lambda: F.one_hot(np.array([1]), num_classes=2.0), "one_hot: num_classes must be an int"),
    (lambda: sg.masked_fill(X, X > 3, "a"), "masked_fill: value must be a number"),
    (lambda: sg.scatter(X, 0, np.zeros((1, 1), dtype=np.int64)),
     "scatter: give exactly one of src"),
])
def test_bad_index_and_argument_types_raise_type_error(call, message):
    with pytest.raises(TypeError, match=message):
        call()


@pytest.mark.parametrize("call, message", [
    (lambda: sg.gather(X, 0, np.array([[3]])), r"gather: index 3 is out of range for axis 0 "
                                               r"of size 3 \(expected 0 \.\. 2\)"),
    (lambda: sg.gather(X, 1, np.array([[-1]])), "gather: index -1 is out of range"),
    (lambda: sg.scatter(X, 1, np.array([[4]]), 1.0), "scatter: index 4 is out of range"),
    (lambda: sg.scatter_add(X, 0, np.array([[-2]]), X), "scatter_add: index -2 is out of range"),
    (lambda: sg.take_along_axis(X, np.array([[-5]]), 1), r"take_along_axis: index -5 is out "
                                                        r"of range .*expected -4 \.\. 3"),
    (lambda: sg.put_along_axis(X, np.array([[7]]), 1.0, 1), "put_along_axis: index 7"),
    (lambda: F.one_hot(np.array([0, 3]), 3), "one_hot: class index 3 is out of range for "
                                             "num_classes=3"),
    (lambda: F.one_hot(np.array([-1, 0])), "one_hot: class index -1 is out of range"),
    (lambda: sg.topk(X, 5, dim=0), r"topk: k=5 is out of range for an axis of size 3"),
    (lambda: sg.topk(X, -1), "topk: k=-1 is out of range"),
])
def test_out_of_range_indices_raise_index_out_of_range_error(call, message):
    with pytest.raises(sg.IndexOutOfRangeError, match=message):
        call()


@pytest.mark.parametrize("call, message", [
    (lambda: sg.gather(X, 0, np.array([0, 1])), r"gather: index of shape \(2,\) must have as "
                                                 r"many dimensions as the input of shape \(3, 4\)"),
    (lambda: sg.gather(X, 0, np.zeros((1, 5), dtype=np.int64)),
     r"gather: index of shape \(1, 5\) is larger than the input of shape \(3, 4\) at axis 1"),
    (lambda: sg.scatter(X, 0, np.zeros((2, 2), dtype=np.int64), np.ones((1, 2))),
     r"scatter: src of shape \(1, 2\) is smaller than the index of shape \(2, 2\)"),
    (lambda: sg.take_along_axis(X, np.zeros((2, 3), dtype=np.int64), 0),
     r"take_along_axis: indices of shape \(2, 3\) do not broadcast"),
    (lambda: sg.put_along_axis(X, np.zeros((1, 4), dtype=np.int64), np.ones(3), 0),
     r"put_along_axis: values of shape \(3,\) do not broadcast"),
    (lambda: sg.masked_fill(X, np.ones((2, 4), dtype=bool), 0.0),
     r"masked_fill: the mask of shape \(2, 4\) does not broadcast to the input's shape \(3, 4\)"),
    (lambda: sg.masked_fill(X, X > 2, sg.tensor(np.ones(2))),
     "masked_fill: value must be a number or a 0-d tensor, got shape"),
    (lambda: sg.sort(X, dim=2), "sort: axis 2 is out of range"),
    (lambda: F.one_hot(np.zeros(0, dtype=np.int64)), "one_hot: cannot infer num_classes"),
    (lambda: sg.scatter(np.array(1.0), 0, np.array([0]), 1.0), "scatter: the input must have"),
])
def test_mismatched_shapes_and_axes_raise_shape_error(call, message):
    with pytest.raises(sg.ShapeError, match=message):
        call()


def test_masked_fill_refuses_a_non_boolean_mask():
    with pytest.raises(TypeError, match="masked_fill: the mask must be a boolean tensor, got "
                                        "dtype float64"):
        sg.masked_fill(X, X * 1.0, 0.0)
    with pytest.raises(TypeError, match="masked_fill: the mask must be a boolean tensor, got "
                                        "dtype int64"):
        sg.tensor(X).masked_fill(sg.tensor(np.array([1, 0, 1, 0])), 0.0)


def test_gather_and_scatter_accept_axis_as_well_as_dim():
    index = np.array([[1, 0, 2, 2]])
    np.testing.assert_array_equal(sg.gather(X, axis=0, index=index).numpy(),
                                  np.take_along_axis(X, index, 0))
    with pytest.raises(TypeError, match="gather: got both axis= and dim="):
        sg.gather(X, dim=0, axis=0, index=index)
