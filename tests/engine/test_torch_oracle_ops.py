"""Every engine op against PyTorch (CPU, float64): the forward output and the gradient of
every input under one random upstream gradient are equal to float64 precision."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import scratchgen as sg
from helpers import arrays, axes, broadcast_shapes, check_against_torch, seeds, shapes

torch = pytest.importorskip("torch", reason="torch is the test oracle (pip install torch)")


def torch_dims(axis, ndim):
    """NumPy's axis=None means every axis; torch wants the tuple."""
    if axis is None:
        return tuple(range(ndim))
    return axis


UNARY = {
    # name: (scratchgen op, torch op, (low, high), kinks)
    "neg": (lambda x: -x, lambda x: -x, (-2, 2), ()),
    "exp": (lambda x: x.exp(), torch.exp, (-3, 3), ()),
    "log": (lambda x: x.log(), torch.log, (0.1, 4), ()),
    "sqrt": (lambda x: x.sqrt(), torch.sqrt, (0.1, 4), ()),
    "tanh": (lambda x: x.tanh(), torch.tanh, (-4, 4), ()),
    "sigmoid": (lambda x: x.sigmoid(), torch.sigmoid, (-30, 30), ()),
    "abs": (lambda x: x.abs(), torch.abs, (-2, 2), (0.0,)),
    "clip": (lambda x: x.clip(-0.5, 0.7), lambda x: torch.clamp(x, -0.5, 0.7), (-2, 2),
             (-0.5, 0.7)),
    "clip_min": (lambda x: x.clip(min=-0.3), lambda x: torch.clamp(x, min=-0.3), (-2, 2),
                 (-0.3,)),
    "clip_max": (lambda x: x.clip(max=0.4), lambda x: torch.clamp(x, max=0.4), (-2, 2), (0.4,)),
    "pow_scalar": (lambda x: x ** 3.0, lambda x: x ** 3.0, (-2, 2), ()),
    "rpow": (lambda x: 2.0 ** x, lambda x: 2.0 ** x, (-2, 2), ()),
    "rdiv": (lambda x: 1.5 / x, lambda x: 1.5 / x, (-2, 2), (0.0,)),
    "rsub": (lambda x: 3.0 - x, lambda x: 3.0 - x, (-2, 2), ()),
    "T": (lambda x: x.T, lambda x: x.permute(tuple(reversed(range(x.ndim)))), (-2, 2), ()),
    "flatten": (lambda x: x.flatten(), lambda x: x.flatten(), (-2, 2), ()),
}

BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: a + b, (-2, 2), (-2, 2), ()),
    "sub": (lambda a, b: a - b, lambda a, b: a - b, (-2, 2), (-2, 2), ()),
    "mul": (lambda a, b: a * b, lambda a, b: a * b, (-2, 2), (-2, 2), ()),
    "div": (lambda a, b: a / b, lambda a, b: a / b, (-2, 2), (-2, 2), (0.0,)),
    "pow": (lambda a, b: a ** b, lambda a, b: a ** b, (0.2, 3), (-2, 2), ()),
    "maximum": (sg.maximum, torch.maximum, (-2, 2), (-2, 2), ()),
    "minimum": (sg.minimum, torch.minimum, (-2, 2), (-2, 2), ()),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(data=st.data())
def test_unary_op_matches_torch(name, data):
    ours, theirs, (low, high), kinks = UNARY[name]
    x = data.draw(arrays(shapes(), low, high, kinks=kinks))
    check_against_torch(ours, theirs, x)


@pytest.mark.parametrize("name", sorted(BINARY))
@given(data=st.data(), pair=broadcast_shapes())
def test_binary_op_matches_torch_with_broadcasting(name, data, pair):
    ours, theirs, a_range, b_range, kinks = BINARY[name]
    a = data.draw(arrays(pair[0], *a_range))
    b = data.draw(arrays(pair[1], *b_range, kinks=kinks))
    check_against_torch(ours, theirs, a, b)


def test_maximum_and_minimum_split_the_gradient_at_ties_like_torch():
    a = np.array([1.0, 2.0, 3.0, -1.0])
    b = np.array([1.0, 0.0, 3.0, -1.0])
    check_against_torch(sg.maximum, torch.maximum, a, b)
    check_against_torch(sg.minimum, torch.minimum, a, b)


@given(triple=broadcast_shapes(num_shapes=3), data=st.data())
def test_where_matches_torch(triple, data):
    cond = np.asarray(np.random.default_rng(data.draw(seeds())).random(triple[0]) < 0.5)
    a = data.draw(arrays(triple[1]))
    b = data.draw(arrays(triple[2]))
    check_against_torch(lambda p, q: sg.where(cond, p, q),
                        lambda p, q: torch.where(torch.from_numpy(cond), p, q), a, b)


@given(data=st.data())
def test_matmul_matches_torch(data):
    m, k, n = (data.draw(st.integers(1, 4)) for _ in range(3))
    batch_a, batch_b = data.draw(broadcast_shapes(min_dims=0, max_dims=2, max_side=3))
    shape_a = data.draw(st.sampled_from([(k,), batch_a + (m, k)]))
    shape_b = data.draw(st.sampled_from([(k,), batch_b + (k, n)]))
    a = data.draw(arrays(shape_a))
    b = data.draw(arrays(shape_b))
    check_against_torch(lambda p, q: p @ q, torch.matmul, a, b)


REDUCTIONS = {
    "sum": lambda t, dims, keep: t.sum(dim=dims, keepdim=keep),
    "mean": lambda t, dims, keep: t.mean(dim=dims, keepdim=keep),
    "var": lambda t, dims, keep: t.var(dim=dims, keepdim=keep, correction=0),
    "logsumexp": lambda t, dims, keep: torch.logsumexp(t, dim=dims, keepdim=keep),
    "max": lambda t, dims, keep: torch.amax(t, dim=dims, keepdim=keep),
    "min": lambda t, dims, keep: torch.amin(t, dim=dims, keepdim=keep),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@given(data=st.data(), keepdims=st.booleans())
def test_reduction_matches_torch(name, data, keepdims):
    x = data.draw(arrays(shapes(min_dims=1), distinct=name in ("max", "min")))
    axis = data.draw(axes(x.ndim))
    check_against_torch(lambda t: getattr(t, name)(axis=axis, keepdims=keepdims),
                        lambda t: REDUCTIONS[name](t, torch_dims(axis, t.ndim), keepdims), x)


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_and_min_split_ties_evenly_like_torch_amax(name):
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    reducer = torch.amax if name == "max" else torch.amin
    for axis in (None, 0, 1):
        check_against_torch(lambda t: getattr(t, name)(axis=axis),
                            lambda t: reducer(t, dim=torch_dims(axis, 2)), x)


@given(data=st.data())
def test_shape_ops_match_torch(data):
    x = data.draw(arrays(shapes(min_dims=1)))
    perm = tuple(data.draw(st.permutations(range(x.ndim))))
    axis = data.draw(st.integers(-x.ndim - 1, x.ndim))
    start = data.draw(st.integers(0, x.ndim - 1))
    check_against_torch(lambda t: t.transpose(*perm), lambda t: t.permute(*perm), x)
    check_against_torch(lambda t: t.unsqueeze(axis), lambda t: t.unsqueeze(axis), x)
    check_against_torch(lambda t: t.reshape(x.size), lambda t: t.reshape(x.size), x)
    check_against_torch(lambda t: t.squeeze(), lambda t: t.squeeze(), x)
    check_against_torch(lambda t: t.flatten(start), lambda t: t.flatten(start), x)


@given(pair=broadcast_shapes(), data=st.data())
def test_broadcast_to_matches_torch_expand(pair, data):
    target = np.broadcast_shapes(*pair)
    x = data.draw(arrays(pair[0]))
    check_against_torch(lambda t: t.broadcast_to(target), lambda t: t.broadcast_to(target), x)


@st.composite
def torch_compatible_indices(draw, shape):
    """ints, slices with positive steps (torch has no negative steps), None, Ellipsis."""
    items = []
    for n in shape:
        kind = draw(st.sampled_from(["int", "slice", "all"]))
        if kind == "int":
            items.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            start = draw(st.one_of(st.none(), st.integers(-n, n - 1)))
            stop = draw(st.one_of(st.none(), st.integers(-n, n)))
            items.append(slice(start, stop, draw(st.integers(1, 3))))
        else:
            items.append(slice(None))
    if items and draw(st.booleans()):
        items = items[:draw(st.integers(0, len(items)))] + [Ellipsis]
    if draw(st.booleans()):
        items.insert(draw(st.integers(0, len(items))), None)
    return tuple(items)


@given(data=st.data())
def test_getitem_with_basic_indices_matches_torch(data):
    x = data.draw(arrays(shapes()))
    index = data.draw(torch_compatible_indices(x.shape))
    if x[index].size == 0:
        return
    check_against_torch(lambda t: t[index], lambda t: t[index], x)


@given(data=st.data())
def test_getitem_with_repeated_integer_arrays_matches_torch(data):
    x = data.draw(arrays(shapes(min_dims=2)))
    rng = np.random.default_rng(data.draw(seeds()))
    rows = rng.integers(-x.shape[0], x.shape[0], size=(2, 3))
    cols = rng.integers(0, x.shape[1], size=(3,))
    check_against_torch(lambda t: t[rows], lambda t: t[torch.from_numpy(rows)], x)
    check_against_torch(lambda t: t[rows, cols], lambda t: t[torch.from_numpy(rows),
                                                            torch.from_numpy(cols)], x)


@given(data=st.data())
def test_concatenate_and_stack_match_torch(data):
    shape = data.draw(shapes(min_dims=1))
    count = data.draw(st.integers(1, 3))
    arrs = [data.draw(arrays(shape)) for _ in range(count)]
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    check_against_torch(lambda *ts: sg.concatenate(list(ts), axis=axis),
                        lambda *ts: torch.cat(ts, dim=axis), *arrs)
    check_against_torch(lambda *ts: sg.stack(list(ts), axis=axis),
                        lambda *ts: torch.stack(ts, dim=axis), *arrs)


@given(data=st.data(), value=st.sampled_from([0.0, 2.5]))
def test_pad_matches_torch(data, value):
    x = data.draw(arrays(shapes(min_dims=1)))
    pairs = [tuple(data.draw(st.tuples(st.integers(0, 2), st.integers(0, 2))))
             for _ in range(x.ndim)]
    # torch lists (before, after) from the last axis backwards, flattened
    torch_pad = [p for pair in reversed(pairs) for p in pair]
    check_against_torch(lambda t: sg.pad(t, pairs, value=value),
                        lambda t: torch.nn.functional.pad(t, torch_pad, value=value), x)
