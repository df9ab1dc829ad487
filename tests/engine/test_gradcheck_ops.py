"""Every engine op: analytic gradients equal central finite differences (float64) under a
random upstream gradient, on drawn shapes (0-d, size-1 and broadcast axes) and layouts
(contiguous or transposed/strided views), with values kept away from kinks."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import scratchgen as sg
from helpers import BINARY_OPS, arrays, axes, broadcast_shapes, gradcheck, seeds, shapes

# name -> (op, (low, high) of the values, kinks to stay away from)
UNARY = {
    "neg": (lambda x: -x, (-2, 2), ()),
    "exp": (lambda x: x.exp(), (-2, 2), ()),
    "log": (lambda x: x.log(), (0.2, 3), ()),
    "sqrt": (lambda x: x.sqrt(), (0.2, 3), ()),
    "tanh": (lambda x: x.tanh(), (-3, 3), ()),
    "sigmoid": (lambda x: x.sigmoid(), (-4, 4), ()),
    "abs": (lambda x: x.abs(), (-2, 2), (0.0,)),
    "clip_both": (lambda x: x.clip(-0.5, 0.7), (-2, 2), (-0.5, 0.7)),
    "clip_min": (lambda x: x.clip(min=-0.3), (-2, 2), (-0.3,)),
    "clip_max": (lambda x: x.clip(max=0.4), (-2, 2), (0.4,)),
    "square_pow": (lambda x: x ** 2.0, (-2, 2), ()),
    "cube_pow_int": (lambda x: x ** 3, (-2, 2), ()),
    "fractional_pow": (lambda x: x ** 1.5, (0.2, 3), ()),
    "scalar_base_pow": (lambda x: 2.0 ** x, (-2, 2), ()),
    "scalar_over_x": (lambda x: 1.5 / x, (-2, 2), (0.0,)),
    "x_over_scalar": (lambda x: x / 3.0, (-2, 2), ()),
    "scalar_minus_x": (lambda x: 3.0 - x, (-2, 2), ()),
    "x_minus_scalar": (lambda x: x - 1.5, (-2, 2), ()),
    "scalar_times_x": (lambda x: 2.5 * x, (-2, 2), ()),
    "scalar_plus_x": (lambda x: 1.0 + x, (-2, 2), ()),
    "to_cpu": (lambda x: x.to("cpu") * 1.0, (-2, 2), ()),
    "T": (lambda x: x.T, (-2, 2), ()),
    "flatten": (lambda x: x.flatten(), (-2, 2), ()),
    "squeeze_all": (lambda x: x.squeeze(), (-2, 2), ()),
}

BINARY = BINARY_OPS


@pytest.mark.parametrize("name", sorted(UNARY))
@given(data=st.data())
def test_unary_op_gradient_matches_finite_differences(name, data):
    op, (low, high), kinks = UNARY[name]
    x = data.draw(arrays(shapes(), low, high, kinks=kinks))
    gradcheck(op, x)


@pytest.mark.parametrize("name", sorted(BINARY))
@given(data=st.data(), pair=broadcast_shapes())
def test_binary_op_gradient_matches_finite_differences_with_broadcasting(name, data, pair):
    op, a_range, b_range, b_kinks = BINARY[name]
    a = data.draw(arrays(pair[0], *a_range))
    b = data.draw(arrays(pair[1], *b_range, kinks=b_kinks))
    gradcheck(op, a, b)


@pytest.mark.parametrize("name", ["maximum", "minimum"])
@given(pair=broadcast_shapes(), seed=seeds(), swap=st.booleans())
def test_maximum_and_minimum_gradients_away_from_ties(name, pair, seed, swap):
    rng = np.random.default_rng(seed)
    # a on the grid 0.2 k, b on the grid 0.2 k + 0.1: never closer than 0.1
    a = rng.integers(-10, 10, size=pair[0]) * 0.2
    b = rng.integers(-10, 10, size=pair[1]) * 0.2 + 0.1
    op = getattr(sg, name)
    gradcheck(lambda p, q: op(q, p) if swap else op(p, q), a, b)


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_maximum_and_minimum_accept_python_scalars(name):
    op = getattr(sg, name)
    x = np.array([-1.3, -0.2, 0.4, 1.7])
    gradcheck(lambda t: op(t, 0.1), x)
    gradcheck(lambda t: op(0.1, t), x)


@given(triple=broadcast_shapes(num_shapes=3), data=st.data())
def test_where_gradient_routes_to_the_chosen_branch(triple, data):
    cond_shape, a_shape, b_shape = triple
    seed = data.draw(seeds())
    cond = np.random.default_rng(seed).random(cond_shape) < 0.5
    a = data.draw(arrays(a_shape))
    b = data.draw(arrays(b_shape))
    as_tensor = data.draw(st.booleans())
    condition = sg.tensor(cond) if as_tensor else cond
    gradcheck(lambda p, q: sg.where(condition, p, q), a, b)


@given(data=st.data())
def test_where_with_a_python_scalar_branch(data):
    x = data.draw(arrays(shapes(min_dims=1)))
    cond = x > 0
    gradcheck(lambda t: sg.where(cond, t, 0.0), x)
    gradcheck(lambda t: sg.where(cond, 1.0, t * 2.0), x)


# ---- matmul -------------------------------------------------------------------------------

@st.composite
def matmul_shapes(draw):
    """(a_shape, b_shape): 1-D and 2-D operands and batched ones with broadcast batch axes."""
    m, k, n = (draw(st.integers(1, 4)) for _ in range(3))
    kind = draw(st.sampled_from(["vv", "vm", "mv", "mm", "batched"]))
    if kind == "vv":
        return (k,), (k,)
    if kind == "vm":
        return (k,), (k, n)
    if kind == "mv":
        return (m, k), (k,)
    if kind == "mm":
        return (m, k), (k, n)
    batch_a, batch_b = draw(broadcast_shapes(min_dims=0, max_dims=2, max_side=3))
    if not batch_a and not batch_b:
        batch_a = (2,)
    return batch_a + (m, k), batch_b + (k, n)


@given(pair=matmul_shapes(), data=st.data())
def test_matmul_gradient_for_vectors_matrices_and_broadcast_batches(pair, data):
    a = data.draw(arrays(pair[0]))
    b = data.draw(arrays(pair[1]))
    gradcheck(lambda p, q: p @ q, a, b)


def test_matmul_with_a_constant_array_on_either_side():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    gradcheck(lambda t: t @ w, x)
    gradcheck(lambda t: x @ t, w)


# ---- reductions ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["sum", "mean", "var", "logsumexp"])
@given(data=st.data(), keepdims=st.booleans())
def test_smooth_reduction_gradients_over_drawn_axes(name, data, keepdims):
    x = data.draw(arrays(shapes()))
    axis = data.draw(axes(x.ndim))
    gradcheck(lambda t: getattr(t, name)(axis=axis, keepdims=keepdims), x)


@pytest.mark.parametrize("name", ["max", "min"])
@given(data=st.data(), keepdims=st.booleans())
def test_max_and_min_gradients_with_distinct_values(name, data, keepdims):
    x = data.draw(arrays(shapes(), distinct=True))
    axis = data.draw(axes(x.ndim))
    gradcheck(lambda t: getattr(t, name)(axis=axis, keepdims=keepdims), x)


def test_logsumexp_gradient_is_stable_for_large_inputs():
    x = np.array([[1000.0, 999.0, -1000.0], [-500.0, -501.0, -499.5]])
    grads = gradcheck(lambda t: t.logsumexp(axis=1), x, eps=1e-4, atol=1e-6)
    assert np.all(np.isfinite(grads[0]))


# ---- shape ops ----------------------------------------------------------------------------

@given(data=st.data())
def test_reshape_gradient(data):
    x = data.draw(arrays(shapes()))
    size = x.size
    divisors = [d for d in range(1, size + 1) if size % d == 0]
    d = data.draw(st.sampled_from(divisors))
    target = data.draw(st.sampled_from([(size,), (d, size // d), (size // d, 1, d)]))
    as_tuple = data.draw(st.booleans())
    gradcheck(lambda t: t.reshape(target) if as_tuple else t.reshape(*target), x)


@given(data=st.data())
def test_transpose_gradient_with_drawn_permutations(data):
    x = data.draw(arrays(shapes()))
    perm = tuple(data.draw(st.permutations(range(x.ndim))))
    spelling = data.draw(st.sampled_from(["varargs", "tuple", "none"]))
    if spelling == "none":
        gradcheck(lambda t: t.transpose(), x)
    elif spelling == "tuple":
        gradcheck(lambda t: t.transpose(perm), x)
    else:
        gradcheck(lambda t: t.transpose(*perm), x)


@given(data=st.data())
def test_squeeze_and_unsqueeze_gradients(data):
    x = data.draw(arrays(shapes(max_side=2)))
    ones = [i for i, n in enumerate(x.shape) if n == 1]
    if ones:
        axis = data.draw(st.sampled_from(ones))
        gradcheck(lambda t: t.squeeze(axis), x)
    axis = data.draw(st.integers(-x.ndim - 1, x.ndim))
    gradcheck(lambda t: t.unsqueeze(axis), x)


@given(pair=broadcast_shapes(), data=st.data())
def test_broadcast_to_gradient_sums_over_copied_axes(pair, data):
    target = np.broadcast_shapes(*pair)
    x = data.draw(arrays(pair[0]))
    gradcheck(lambda t: t.broadcast_to(target), x)
    gradcheck(lambda t: t.broadcast_to(*target) * 1.0, x)


@given(data=st.data())
def test_flatten_gradient_between_drawn_axes(data):
    x = data.draw(arrays(shapes(min_dims=1)))
    start = data.draw(st.integers(0, x.ndim - 1))
    end = data.draw(st.integers(start, x.ndim - 1))
    gradcheck(lambda t: t.flatten(start, end), x)


@st.composite
def basic_indices(draw, shape):
    """ints (negative too), slices with (negative) steps, None and an optional Ellipsis."""
    items = []
    for n in shape:
        kind = draw(st.sampled_from(["int", "slice", "all"]))
        if kind == "int":
            items.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            step = draw(st.sampled_from([1, 2, 3, -1, -2]))
            start = draw(st.one_of(st.none(), st.integers(-n, n - 1)))
            stop = draw(st.one_of(st.none(), st.integers(-n - 1, n)))
            items.append(slice(start, stop, step))
        else:
            items.append(slice(None))
    if items and draw(st.booleans()):  # replace a run of trailing full axes with ...
        cut = draw(st.integers(0, len(items)))
        items = items[:cut] + [Ellipsis]
    for _ in range(draw(st.integers(0, 2))):
        items.insert(draw(st.integers(0, len(items))), None)
    return tuple(items)


@given(data=st.data())
def test_getitem_gradient_with_basic_indices(data):
    x = data.draw(arrays(shapes()))
    index = data.draw(basic_indices(x.shape))
    if x[index].size == 0:
        return  # an empty slice has nothing to check
    gradcheck(lambda t: t[index], x)


@given(data=st.data())
def test_getitem_gradient_with_integer_arrays_accumulates_repeats(data):
    x = data.draw(arrays(shapes(min_dims=1)))
    rng = np.random.default_rng(data.draw(seeds()))
    n = x.shape[0]
    idx = rng.integers(-n, n, size=data.draw(st.integers(1, 6)))
    idx = np.concatenate([idx, idx[:1]])  # at least one repeated index
    as_list = data.draw(st.booleans())
    index = idx.tolist() if as_list else idx
    gradcheck(lambda t: t[index], x)
    if x.ndim >= 2:  # two index arrays broadcast together, with a slice between
        rows = rng.integers(0, x.shape[0], size=(2, 3))
        cols = rng.integers(0, x.shape[-1], size=(1, 3))
        gradcheck(lambda t: t[rows, ..., cols], x)


def test_integer_array_index_with_repeats_gives_the_count_as_gradient():
    x = sg.tensor(np.zeros(4), requires_grad=True)
    x[np.array([0, 2, 2, 2, -1])].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 0.0, 3.0, 1.0])


def test_getitem_with_a_scratchgen_integer_tensor_index():
    x = np.random.default_rng(1).standard_normal((4, 3))
    gradcheck(lambda t: t[sg.tensor(np.array([3, 0, 3]))], x)


# ---- functions of several tensors --------------------------------------------------------

@st.composite
def concat_inputs(draw, min_dims=1):
    base = list(draw(shapes(min_dims=min_dims)))
    axis = draw(st.integers(-len(base), len(base) - 1))
    count = draw(st.integers(1, 3))
    arrs = []
    for _ in range(count):
        shape = list(base)
        shape[axis] = draw(st.integers(1, 3))
        arrs.append(draw(arrays(tuple(shape))))
    return axis, arrs


@given(inputs=concat_inputs())
def test_concatenate_gradient_splits_back(inputs):
    axis, arrs = inputs
    gradcheck(lambda *ts: sg.concatenate(list(ts), axis=axis), *arrs)


@given(data=st.data())
def test_stack_gradient(data):
    shape = data.draw(shapes())
    count = data.draw(st.integers(1, 3))
    arrs = [data.draw(arrays(shape)) for _ in range(count)]
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    gradcheck(lambda *ts: sg.stack(ts, axis=axis), *arrs)


@st.composite
def pad_widths(draw, ndim):
    pair = st.tuples(st.integers(0, 2), st.integers(0, 2))
    form = draw(st.sampled_from(["int", "pair", "per_axis"]))
    if form == "int":
        return draw(st.integers(0, 2))
    if form == "pair":
        return draw(pair)
    return tuple(draw(pair) for _ in range(ndim))


@given(data=st.data(), value=st.sampled_from([0.0, -1.5]))
def test_pad_gradient_crops(data, value):
    x = data.draw(arrays(shapes(min_dims=1)))
    width = data.draw(pad_widths(x.ndim))
    out = sg.pad(sg.tensor(x), width, value=value)
    np.testing.assert_array_equal(out.numpy(), np.pad(x, width, constant_values=value))
    gradcheck(lambda t: sg.pad(t, width, value=value), x)


# ---- composite graphs ---------------------------------------------------------------------

@given(data=st.data())
def test_a_graph_that_reuses_intermediates_sums_every_path(data):
    x = data.draw(arrays((3, 4)))
    w = data.draw(arrays((4, 2)))

    def f(x, w):
        h = (x @ w).tanh()          # (3, 2), used three times below
        mix = h * h.sigmoid() + h.exp().sum(axis=0, keepdims=True) / 3.0
        return (mix - h.mean()).logsumexp(axis=1) + x.max(axis=1) * 0.0 + h[:, 0]

    gradcheck(f, x, w)


def test_constant_scalar_tensor_operands_are_not_differentiated():
    x = np.array([[0.5, -1.0], [2.0, 0.3]])
    c = sg.tensor(np.float64(2.0))
    gradcheck(lambda t: t * c + c, x)
