"""Engine invariants: deep graphs, accumulation, graph freeing, no mutation of inputs,
gradients that never alias data, and the adjoint identity <J v, u> = <v, J^T u>."""
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import scratchgen as sg
from helpers import adjoint_check, arrays, broadcast_shapes, leaf, seeds, shapes

# ---- deep graphs --------------------------------------------------------------------------


def test_backward_through_a_graph_6000_ops_deep_does_not_recurse():
    x = sg.tensor(np.array([0.5, -0.25]), requires_grad=True)
    y = x
    for _ in range(3000):  # two ops per step: 6000 Functions in one chain
        y = y * 1.0001 + 0.0
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)  # a recursive walk would need thousands of frames
    try:
        y.sum().backward()
    finally:
        sys.setrecursionlimit(limit)
    np.testing.assert_allclose(x.grad.numpy(), np.full(2, 1.0001 ** 3000), rtol=1e-10)


def test_grad_with_create_graph_through_a_deep_graph():
    x = sg.tensor(np.array([0.3]), requires_grad=True)
    y = x
    for _ in range(2500):
        y = (y * 0.999).tanh() + y * 0.0
    (g,) = sg.grad(y.sum(), [x], create_graph=True)
    (gg,) = sg.grad(g.sum(), [x])
    assert np.isfinite(gg.numpy()).all()


# ---- accumulation and graph freeing ---------------------------------------------------------

def test_gradients_accumulate_into_leaves_across_two_backward_calls():
    x = sg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x * x).sum().backward()
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.array([1.0, 2.0]) + 3.0)


def test_retain_graph_allows_a_second_backward_with_exactly_doubled_gradients():
    # a diamond: every intermediate receives gradient from two paths; a stale intermediate
    # gradient from the first call would make the second one wrong (micrograd's bug)
    x = sg.tensor(np.array([0.7, -1.2]), requires_grad=True)
    h = x.tanh()
    y = (h * h + h.exp()).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first, rtol=1e-12)


def test_a_second_backward_through_a_freed_graph_raises_graph_error():
    x = sg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(sg.GraphError, match="retain_graph"):
        y.backward()


def test_a_freed_shared_subgraph_raises_for_a_new_output_too():
    x = sg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    h = x.exp()
    h.sum().backward()
    with pytest.raises(sg.GraphError, match="retain_graph"):
        (h * 2.0).sum().backward()


def test_grad_frees_the_graph_unless_asked_to_keep_it():
    x = sg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (x * x).sum()
    sg.grad(y, [x])
    with pytest.raises(sg.GraphError):
        sg.grad(y, [x])
    z = (x * x).sum()
    (g,) = sg.grad(z, [x], create_graph=True)
    sg.grad(z, [x])  # create_graph keeps the graph
    g.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


def test_unused_leaves_get_no_gradient():
    x = sg.tensor(np.array([1.0]), requires_grad=True)
    unused = sg.tensor(np.array([1.0]), requires_grad=True)
    (x * 2.0).sum().backward()
    assert unused.grad is None


# ---- no mutation, no aliasing, gradient shapes -------------------------------------------

OPS = {
    "add": lambda a, b: a + b, "mul": lambda a, b: a * b, "div": lambda a, b: a / (b * b + 1),
    "sub": lambda a, b: a - b, "maximum": sg.maximum, "minimum": sg.minimum,
    "pow": lambda a, b: (a * a + 1) ** b, "where": lambda a, b: sg.where(a.data > 0, a, b),
    "mixed": lambda a, b: (a.exp() * b.tanh()).sum(axis=0, keepdims=True) + b.abs().max()
    + a.sigmoid().logsumexp() + (a * b).var() - a.clip(-0.5, 0.5).mean(),
    "identity_like": lambda a, b: a + 0.0 * b,
    "index": lambda a, b: (a + b)[..., None] * 1.0,
}


@pytest.mark.parametrize("name", sorted(OPS))
@given(pair=broadcast_shapes(), data=st.data())
def test_backward_never_mutates_inputs_or_the_upstream_gradient(name, pair, data):
    a = data.draw(arrays(pair[0]))
    b = data.draw(arrays(pair[1]))
    a0, b0 = a.copy(), b.copy()
    ta, tb = leaf(a), leaf(b)
    out = OPS[name](ta, tb)
    out_before = out.data.copy()
    u = np.random.default_rng(data.draw(seeds())).standard_normal(out.shape)
    u0 = u.copy()
    out.backward(sg.Tensor(u))
    np.testing.assert_array_equal(a, a0)
    np.testing.assert_array_equal(b, b0)
    np.testing.assert_array_equal(u, u0)
    np.testing.assert_array_equal(out.data, out_before)
    for t, x in ((ta, a), (tb, b)):
        assert t.grad.shape == x.shape and t.grad.dtype == x.dtype


@pytest.mark.parametrize("name", sorted(OPS))
@given(pair=broadcast_shapes(), data=st.data())
def test_gradients_are_fresh_arrays_that_alias_nothing(name, pair, data):
    a = data.draw(arrays(pair[0]))
    b = data.draw(arrays(pair[1]))
    ta, tb = leaf(a), leaf(b)
    out = OPS[name](ta, tb)
    u = np.random.default_rng(data.draw(seeds())).standard_normal(out.shape)
    out.backward(sg.Tensor(u))
    arrays_seen = [a, b, u, out.data]
    for t in (ta, tb):
        assert t.grad.data is not t.data
        for other in arrays_seen:
            assert not np.shares_memory(t.grad.data, other)
    assert not np.shares_memory(ta.grad.data, tb.grad.data)


def test_gradient_is_not_an_alias_when_the_output_is_the_input_itself():
    x = sg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    u = np.array([5.0, 6.0])
    (x + 0.0).backward(sg.Tensor(u))
    assert not np.shares_memory(x.grad.data, u) and not np.shares_memory(x.grad.data, x.data)
    g_before = x.grad.data.copy()
    u[:] = 0.0  # changing the caller's array afterwards must not change x.grad
    np.testing.assert_array_equal(x.grad.data, g_before)


def test_accumulated_gradient_does_not_write_into_an_earlier_grad_array():
    x = sg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x * 2.0).sum().backward()
    first = x.grad
    first_values = first.data.copy()
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 5.0])
    held = first.data
    np.testing.assert_array_equal(held, first_values)


@given(pair=broadcast_shapes(max_dims=4), data=st.data())
def test_every_gradient_has_its_inputs_shape_after_broadcasting(pair, data):
    a = data.draw(arrays(pair[0]))
    b = data.draw(arrays(pair[1]))
    ta, tb = leaf(a), leaf(b)
    ((ta * tb + ta) / (tb * tb + 1.0)).sum().backward()
    assert ta.grad.shape == a.shape and tb.grad.shape == b.shape


# ---- the adjoint identity <J v, u> = <v, J^T u> for linear ops ----------------------------

@st.composite
def linear_ops(draw):
    shape = draw(shapes(min_dims=1))
    ndim = len(shape)
    const = np.random.default_rng(draw(seeds())).standard_normal(shape)
    perm = tuple(draw(st.permutations(range(ndim))))
    idx = np.random.default_rng(1).integers(0, shape[0], size=5)
    target = (2,) + shape
    ops = {
        "sum": lambda t: t.sum(axis=0),
        "mean": lambda t: t.mean(axis=-1, keepdims=True),
        "transpose": lambda t: t.transpose(*perm),
        "reshape": lambda t: t.reshape(int(np.prod(shape))),
        "broadcast_to": lambda t: t.broadcast_to(target),
        "getitem_repeats": lambda t: t[idx],
        "getitem_steps": lambda t: t[::-2],
        "pad": lambda t: sg.pad(t, 1),
        "concatenate": lambda t: sg.concatenate([t, t * 2.0], axis=0),
        "stack": lambda t: sg.stack([t, -t], axis=-1),
        "scale_by_constant": lambda t: t * sg.tensor(const),
        "matmul_constant": lambda t: t @ sg.tensor(np.ones((shape[-1], 2))),
        "where": lambda t: sg.where(const > 0, t, 0.0),
        "neg_sub": lambda t: -t - t / 3.0,
    }
    name = draw(st.sampled_from(sorted(ops)))
    return name, ops[name], shape


@given(case=linear_ops(), seed=seeds())
def test_adjoint_identity_on_random_directions(case, seed):
    _, op, shape = case
    adjoint_check(op, shape, seed=seed)


@pytest.mark.parametrize("name", sorted(OPS))
def test_create_graph_gradients_do_not_alias_the_inputs_data(name):
    rng = np.random.default_rng(0)
    ta, tb = leaf(rng.standard_normal((2, 3))), leaf(rng.standard_normal(3))
    OPS[name](ta, tb).sum().backward(create_graph=True)
    for t in (ta, tb):
        assert not np.shares_memory(t.grad.data, ta.data)
        assert not np.shares_memory(t.grad.data, tb.data)


def test_backward_frees_intermediate_tensors_unless_the_graph_is_retained():
    import weakref

    x = sg.tensor(np.ones(3), requires_grad=True)
    kept_y = x.exp()
    kept = (kept_y * 2.0).sum()
    kept_ref = weakref.ref(kept_y)
    del kept_y
    kept.backward(retain_graph=True)
    assert kept_ref() is not None  # retained: the saved intermediate is still there

    y = x.exp()
    z = (y * 2.0).sum()
    ref = weakref.ref(y)
    del y
    z.backward()
    assert ref() is None  # freed: nothing holds the intermediate once backward is done
