"""In-place ops: += -= *= /=, add_ sub_ mul_ div_ zero_ fill_ copy_ clamp_ and x[idx] = v.

Under no_grad (or when nothing requires grad) they write into .data and bump ._version;
on a leaf that requires grad outside no_grad they are refused; on a tensor in a graph they
are recorded (the tensor is rebased onto the new value), and backward refuses to read a
value that was changed after an op saw it. `ndarray -= Tensor` computes into the array."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scratchgen as sg
from helpers import arrays, check_against_torch, gradcheck, gradgradcheck, shapes


def _iadd(y, o):
    y += o
    return y


def _isub(y, o):
    y -= o
    return y


def _imul(y, o):
    y *= o
    return y


def _idiv(y, o):
    y /= o
    return y


def _setitem_rows(y, o):
    y[1:] = o
    return y


def _setitem_ints(y, o):
    y[[0, 2]] = o
    return y


def _setitem_mask(y, o):
    y[y > 0] = 0.5
    return y * o


def _setitem_column(y, o):
    y[:, 1] = o[0] * 2  # a value with a graph of its own
    return y


# name: (in-place update of y = 1.5 x, given o; shape of o; kinks of x; values of o to avoid)
INPLACE_OPS = {
    "iadd": (_iadd, (4,), (), ()),
    "isub": (_isub, (4,), (), ()),
    "imul": (_imul, (4,), (), ()),
    "idiv": (_idiv, (4,), (), (0.0,)),
    "add_": (lambda y, o: y.add_(o), (4,), (), ()),
    "add_alpha": (lambda y, o: y.add_(o, alpha=-2.0), (3, 4), (), ()),
    "sub_": (lambda y, o: y.sub_(o), (1, 4), (), ()),
    "mul_": (lambda y, o: y.mul_(o), (3, 1), (), ()),
    "div_": (lambda y, o: y.div_(o), (), (), (0.0,)),
    "clamp_": (lambda y, o: y.clamp_(-0.5, 0.75) * o, (4,), (-1 / 3, 0.5), ()),
    "clamp_min": (lambda y, o: y.clamp_(min=0.3) * o, (4,), (0.2,), ()),
    "fill_": (lambda y, o: y.fill_(o) * y, (), (), ()),
    "zero_": (lambda y, o: y.zero_() + o, (4,), (), ()),
    "copy_": (lambda y, o: y.copy_(o) * 3.0, (4,), (), ()),
    "setitem_rows": (_setitem_rows, (4,), (), ()),
    "setitem_ints": (_setitem_ints, (2, 4), (), ()),
    "setitem_mask": (_setitem_mask, (4,), (0.0,), ()),
    "setitem_column": (_setitem_column, (3,), (), ()),
}


def _graph(op):
    """f(x, o): y = 1.5 x (not a leaf), the in-place op on y, then y * x (y's value matters)."""
    update = INPLACE_OPS[op][0]

    def f(x, o):
        y = x * 1.5
        return update(y, o) * x

    return f


@st.composite
def _case(draw, op):
    _, o_shape, kinks, avoid = INPLACE_OPS[op]
    x = draw(arrays((3, 4), kinks=kinks))
    o = draw(arrays(o_shape, kinks=avoid, gap=0.3))
    return x, o


@pytest.mark.parametrize("op", sorted(INPLACE_OPS))
@settings(max_examples=5)
@given(data=st.data())
def test_inplace_on_a_non_leaf_gradcheck(op, data):
    x, o = data.draw(_case(op))
    gradcheck(_graph(op), x, o)


@pytest.mark.parametrize("op", sorted(INPLACE_OPS))
@settings(max_examples=5)
@given(data=st.data())
def test_inplace_on_a_non_leaf_matches_torch(op, data):
    x, o = data.draw(_case(op))
    check_against_torch(_graph(op), _graph(op), x, o)


@pytest.mark.parametrize("op", sorted(INPLACE_OPS))
@settings(max_examples=3)
@given(data=st.data())
def test_inplace_on_a_non_leaf_second_order(op, data):
    x, o = data.draw(_case(op))
    gradgradcheck(_graph(op), x, o)


# ---- no_grad: the tutorial SGD step --------------------------------------------------------

def test_the_tutorial_sgd_step_changes_the_weights_in_place():
    w = sg.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    (w * w).sum().backward()  # grad = 2 w
    memory, version = w.data, w._version
    with sg.no_grad():
        w -= 0.1 * w.grad
    np.testing.assert_allclose(w.numpy(), [0.8, 1.6, 2.4])
    assert w.data is memory and w._version == version + 1
    assert w.is_leaf and w.requires_grad and w.grad_fn is None


def test_p_data_minus_equals_a_tensor_updates_the_array():
    p = sg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    (p * 3.0).sum().backward()
    memory = p.data
    p.data -= 0.5 * p.grad
    np.testing.assert_allclose(p.numpy(), [-0.5, 0.5])
    assert p.data is memory


def test_ndarray_in_place_ops_with_tensors_compute_into_the_array():
    a = np.arange(3.0)
    b = a
    b += sg.tensor(np.array([1.0, 1.0, 1.0]))
    b *= sg.tensor(np.array(2.0))
    assert b is a
    np.testing.assert_array_equal(a, [2.0, 4.0, 6.0])
    out = np.zeros(3)
    np.add(sg.tensor(np.ones(3)), np.ones(3), out=out)
    np.testing.assert_array_equal(out, [2.0, 2.0, 2.0])


def test_ndarray_and_numpy_scalars_on_the_left_give_tensors_and_other_ufuncs_are_refused():
    x = sg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    for y in (np.float64(2.0) * x, np.ones(2) ** x, np.ones(2) < x):
        assert isinstance(y, sg.Tensor)
    np.testing.assert_array_equal((np.ones(2) < x).numpy(), [False, True])
    with pytest.raises(TypeError):
        np.exp(x)


@pytest.mark.parametrize("op,expected", [
    (lambda t: t.add_(1.0), [2.0, 3.0]), (lambda t: t.sub_(1.0), [0.0, 1.0]),
    (lambda t: t.mul_(3.0), [3.0, 6.0]), (lambda t: t.div_(2.0), [0.5, 1.0]),
    (lambda t: t.zero_(), [0.0, 0.0]), (lambda t: t.fill_(7.0), [7.0, 7.0]),
    (lambda t: t.copy_(sg.tensor(np.array([5.0, 6.0]))), [5.0, 6.0]),
    (lambda t: t.clamp_(1.5, 1.75), [1.5, 1.75]), (lambda t: t.add_(2.0, alpha=0.5), [2.0, 3.0]),
    (lambda t: t.__setitem__(0, -1.0), [-1.0, 2.0]),
])
def test_inplace_ops_under_no_grad_write_into_the_array_and_bump_the_version(op, expected):
    t = sg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    memory = t.data
    with sg.no_grad():
        result = op(t)
    assert result is None or result is t
    assert t.data is memory and t._version == 1 and t.is_leaf
    np.testing.assert_array_equal(t.numpy(), expected)


def test_each_inplace_op_bumps_the_version_once():
    t = sg.zeros(3, dtype=np.float64)
    for i, op in enumerate([lambda: t.add_(1.0), lambda: t.fill_(2.0), lambda: t.zero_(),
                            lambda: t.__setitem__(1, 3.0), lambda: t.__iadd__(1.0)], 1):
        op()
        assert t._version == i


def test_under_no_grad_a_view_sees_the_change_of_its_base_as_in_torch():
    t = sg.tensor(np.zeros((2, 3)))
    with sg.no_grad():
        row = t[0]
        row += 1.0
    np.testing.assert_array_equal(t.numpy(), [[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])


# ---- refusals and checks ---------------------------------------------------------------------

LEAF_UPDATES = {
    "+=": _iadd, "-=": _isub, "*=": _imul, "/=": _idiv,
    "add_": lambda t, o: t.add_(o), "sub_": lambda t, o: t.sub_(o),
    "mul_": lambda t, o: t.mul_(o), "div_": lambda t, o: t.div_(o),
    "zero_": lambda t, o: t.zero_(), "fill_": lambda t, o: t.fill_(1.0),
    "copy_": lambda t, o: t.copy_(o), "clamp_": lambda t, o: t.clamp_(0.0, 0.5),
    "setitem": lambda t, o: t.__setitem__(0, 1.0),
}


@pytest.mark.parametrize("name", sorted(LEAF_UPDATES))
def test_inplace_on_a_leaf_that_requires_grad_is_refused_outside_no_grad(name):
    w = sg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    with pytest.raises(sg.GraphError, match="leaf tensor that requires grad.*in-place.*no_grad"):
        LEAF_UPDATES[name](w, sg.tensor(np.array([3.0, 4.0])))
    np.testing.assert_array_equal(w.numpy(), [1.0, 2.0])
    assert w._version == 0 and w.is_leaf


def test_modifying_a_saved_input_raises_at_backward_like_torch():
    x = sg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x * 2.0
    z = (y * y).sum()   # Mul saves y
    y += 1.0
    with pytest.raises(sg.GraphError, match=r"modified by an inplace operation: a tensor of "
                                            r"shape \(2,\).*is at version 1; expected version 0"):
        z.backward()


def test_modifying_a_leaf_under_no_grad_before_backward_raises():
    w = sg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    x = sg.tensor(np.array([3.0, 4.0]))
    loss = (w * x).sum()
    with sg.no_grad():
        w -= 0.1
    with pytest.raises(sg.GraphError, match="modified by an inplace operation"):
        loss.backward()
    x2 = sg.tensor(np.array([3.0, 4.0]))
    loss = (w * x2).sum()
    x2.add_(1.0)  # nothing requires grad in this update: written in place, version bumped
    with pytest.raises(sg.GraphError, match="is at version 1; expected version 0"):
        loss.backward()


def test_modifying_an_output_under_no_grad_raises_at_backward():
    x = sg.tensor(np.array([0.5, 1.0]), requires_grad=True)
    y = x.exp()  # Exp's backward reads its output
    with sg.no_grad():
        y += 1.0
    with pytest.raises(sg.GraphError, match="the output of <ExpBackward>"):
        y.sum().backward()


def test_a_rebased_tensor_keeps_the_old_value_for_the_op_that_made_it():
    x = sg.tensor(np.array([0.5, 1.0]), requires_grad=True)
    y = x.exp()
    y += 1.0  # recorded: Exp's output keeps exp(x); y is now exp(x) + 1
    np.testing.assert_allclose(y.numpy(), np.exp([0.5, 1.0]) + 1.0)
    assert y.grad_fn.name == "Add" and y._version == 1
    (y * y).sum().backward()  # d/dx (e^x + 1)^2 = 2 (e^x + 1) e^x
    e = np.exp([0.5, 1.0])
    np.testing.assert_allclose(x.grad.numpy(), 2 * (e + 1) * e)


def test_an_update_that_a_gradient_flows_through_makes_a_leaf_a_node():
    w = sg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    buf = sg.zeros(2, dtype=np.float64)
    buf += w * 3.0
    buf[1] = w[0]
    assert buf.requires_grad and not buf.is_leaf
    np.testing.assert_array_equal(buf.numpy(), [3.0, 1.0])
    buf.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [4.0, 0.0])


def test_inplace_shape_change_is_refused_and_nothing_changes():
    for recording in (False, True):
        t = sg.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=recording) * 1.0
        with pytest.raises(sg.ShapeError, match="keeps the tensor's shape"):
            t += sg.tensor(np.ones((2, 3)))
        np.testing.assert_array_equal(t.numpy(), [1.0, 2.0, 3.0])
        assert t._version == 0
    t = sg.tensor(np.zeros(3))
    with pytest.raises(sg.ShapeError, match="copy_"):
        t.copy_(sg.tensor(np.ones(2)))
    with pytest.raises(sg.ShapeError, match="setitem"):
        t[0:2] = np.ones(3)
    np.testing.assert_array_equal(t.numpy(), np.zeros(3))


def test_inplace_results_that_do_not_fit_the_dtype_are_refused():
    i = sg.tensor([1, 2, 3])
    with pytest.raises(TypeError, match="div_.*float64.*cannot be stored in place.*int64"):
        i /= 2
    with pytest.raises(TypeError, match="cannot be stored in place in this tensor of dtype int64"):
        i += 1.5
    np.testing.assert_array_equal(i.numpy(), [1, 2, 3])
    i += 2
    np.testing.assert_array_equal(i.numpy(), [3, 4, 5])
    f = sg.tensor(np.array([1.0, 2.0], dtype=np.float32))
    f += np.array([0.5, 0.5])  # float64 into float32: the same kind, cast as torch does
    assert f.dtype == np.float32
    np.testing.assert_array_equal(f.numpy(), [1.5, 2.5])


def test_inplace_on_a_read_only_broadcast_view_is_refused():
    t = sg.tensor(np.ones(3)).expand(2, 3)
    with pytest.raises(sg.GraphError, match="read-only"):
        t += 1.0


def test_fill_needs_one_value_and_setitem_refuses_strings():
    t = sg.zeros(3)
    with pytest.raises(sg.ShapeError, match="fill_"):
        t.fill_(sg.tensor(np.ones(2)))
    with pytest.raises(TypeError, match="fill_.*str"):
        t.fill_("a")
    with pytest.raises(TypeError, match="setitem.*str"):
        t[0] = "a"
    with pytest.raises(TypeError, match="clamp_"):
        t.clamp_("a")


# ---- setitem forward against NumPy -----------------------------------------------------------

@settings(max_examples=30)
@given(data=st.data())
def test_setitem_forward_matches_numpy(data):
    x = data.draw(arrays(shapes(min_dims=1)))
    n = x.shape[0]
    index = data.draw(st.sampled_from([0, -1, slice(None, None, 2), slice(None, None, -1),
                                       Ellipsis, np.array([n - 1, 0]), x > 0]))
    target_shape = x[index].shape
    value = data.draw(st.one_of(st.floats(-3, 3), arrays(target_shape[1:])))
    expected = x.copy()
    expected[index] = value
    t = sg.tensor(x)
    t[index if not isinstance(index, np.ndarray) else sg.tensor(index)] = value
    np.testing.assert_array_equal(t.numpy(), expected)
    assert t._version == 1
