"""The Tensor surface: construction and dtype rules, properties, conversion, backward and
scratchgen.grad, no_grad, seeding, creation helpers, operators and comparisons."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import scratchgen as sg
from helpers import arrays, shapes

# ---- construction and dtypes --------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
def test_a_float_array_keeps_its_dtype(dtype):
    x = sg.tensor(np.arange(6, dtype=dtype).reshape(2, 3))
    assert x.dtype == dtype and isinstance(x.data, np.ndarray) and x.shape == (2, 3)


@pytest.mark.parametrize("data", [1.5, [1, 2.0, 3], [[1.0, 2.0]], [[1, 2], [3, 4.5]]])
def test_python_floats_and_lists_holding_one_become_float32(data):
    x = sg.tensor(data)
    assert x.dtype == np.float32
    np.testing.assert_array_equal(x.numpy(), np.asarray(data, dtype=np.float32))


@pytest.mark.parametrize("data", [3, [1, 2, 3], [[1, 2], [3, 4]]])
def test_python_ints_and_int_lists_become_int64(data):
    x = sg.tensor(data)
    assert x.dtype == np.int64
    np.testing.assert_array_equal(x.numpy(), np.asarray(data, dtype=np.int64))


def test_dtype_argument_overrides_the_default():
    assert sg.tensor([1, 2], dtype=np.float64).dtype == np.float64
    assert sg.tensor(1.0, dtype=np.float64).dtype == np.float64
    assert sg.tensor(np.ones(3, np.float64), dtype=np.float32).dtype == np.float32
    assert sg.tensor([1, 2], dtype=np.int64).dtype == np.int64


def test_integer_and_boolean_arrays_keep_their_dtype():
    assert sg.tensor(np.arange(3)).dtype == np.arange(3).dtype
    assert sg.tensor(np.array([True, False])).dtype == bool


def test_tensor_copies_its_data():
    source = np.ones(3)
    x = sg.tensor(source)
    source[0] = 5.0
    assert x.data[0] == 1.0
    assert not np.shares_memory(x.data, source)


def test_tensor_of_a_tensor_copies_values():
    a = sg.tensor(np.arange(3.0))
    b = sg.tensor(a)
    assert b.dtype == np.float64 and not np.shares_memory(a.data, b.data)
    np.testing.assert_array_equal(a.numpy(), b.numpy())


OPS_WITH_SCALARS = {
    "add": lambda x: x + 2.5, "radd": lambda x: 2.5 + x, "sub": lambda x: x - 2.5,
    "rsub": lambda x: 2.5 - x, "mul": lambda x: x * 2.5, "rmul": lambda x: 2.5 * x,
    "div": lambda x: x / 2.5, "rdiv": lambda x: 1.5 / x, "pow": lambda x: x ** 2.5,
    "rpow": lambda x: 2.0 ** x, "int_pow": lambda x: x ** 2, "int_mul": lambda x: 3 * x,
    "where": lambda x: sg.where(x.data > 1, x, 0.5), "maximum": lambda x: sg.maximum(x, 0.5),
    "minimum": lambda x: sg.minimum(1.5, x), "clip": lambda x: x.clip(0.5, 1.5),
    "pad": lambda x: sg.pad(x, 1, value=0.5),
}


@pytest.mark.parametrize("name", sorted(OPS_WITH_SCALARS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_python_scalars_never_change_a_tensors_dtype(name, dtype):
    x = sg.tensor(np.array([1.0, 2.0], dtype=dtype), requires_grad=True)
    y = OPS_WITH_SCALARS[name](x)
    assert y.dtype == dtype
    y.sum().backward()
    assert x.grad.dtype == dtype


def test_float32_arithmetic_keeps_float32_through_a_graph():
    x = sg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = ((x * 0.5).tanh() @ x.T).logsumexp(axis=1).mean()
    assert y.dtype == np.float32
    y.backward()
    assert x.grad.dtype == np.float32


# ---- properties and conversion ------------------------------------------------------------

def test_properties():
    x = sg.tensor(np.zeros((2, 3, 4)), requires_grad=True)
    assert x.shape == (2, 3, 4) and isinstance(x.shape, tuple)
    assert x.ndim == 3 and x.dtype == np.float64 and x.device == "cpu"
    assert x.requires_grad is True and x.grad is None
    assert sg.tensor(1.0).requires_grad is False
    assert sg.tensor(2.0).shape == () and sg.tensor(2.0).ndim == 0


def test_numpy_item_detach_to():
    x = sg.tensor(np.array([[1.5, 2.5]]), requires_grad=True)
    assert isinstance(x.numpy(), np.ndarray)
    np.testing.assert_array_equal(x.numpy(), [[1.5, 2.5]])
    assert sg.tensor(np.array([[3.25]])).item() == 3.25
    assert isinstance(sg.tensor(3.25).item(), float)
    with pytest.raises(ValueError):
        x.item()
    d = x.detach()
    assert not d.requires_grad and d.grad is None
    np.testing.assert_array_equal(d.numpy(), x.numpy())
    y = x.to("cpu")
    assert y.device == "cpu"
    np.testing.assert_array_equal(y.numpy(), x.numpy())


def test_detach_cuts_the_graph():
    x = sg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (x * x.detach()).sum()  # d/dx = x (the detached factor is a constant)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 2.0])


def test_ndarray_on_the_left_gives_a_tensor():
    x = sg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    for y in (np.ones(2) + x, np.ones(2) * x, np.ones(2) - x, np.ones(2) / x,
              np.ones((3, 2)) @ x):
        assert isinstance(y, sg.Tensor) and y.requires_grad


def test_comparisons_return_boolean_tensors_without_gradient():
    x = sg.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = sg.tensor(np.array([3.0, 2.0, 1.0]))
    cases = {"<": (x < y, [True, False, False]), "<=": (x <= 2.0, [True, True, False]),
             ">": (x > y, [False, False, True]), ">=": (2.0 >= x, [True, True, False]),
             "==": (x == y, [False, True, False]), "!=": (x != 2.0, [True, False, True])}
    for op, (result, expected) in cases.items():
        assert isinstance(result, sg.Tensor) and result.dtype == bool, op
        assert not result.requires_grad and result.grad_fn is None, op
        np.testing.assert_array_equal(result.numpy(), expected, err_msg=op)


def test_reshape_accepts_varargs_and_a_tuple_and_T_reverses_axes():
    x = sg.tensor(np.arange(24.0).reshape(2, 3, 4))
    assert x.reshape(4, 6).shape == (4, 6) and x.reshape((6, 4)).shape == (6, 4)
    assert x.T.shape == (4, 3, 2)
    np.testing.assert_array_equal(x.T.numpy(), np.arange(24.0).reshape(2, 3, 4).T)
    assert x.transpose(1, 0, 2).shape == (3, 2, 4)


@given(x=arrays(shapes()))
def test_methods_match_numpy_forward(x):
    t = sg.tensor(x)
    for name in ("sum", "mean", "max", "min", "var"):
        np.testing.assert_allclose(getattr(t, name)().numpy(), getattr(x, name)(), rtol=1e-12)
    np.testing.assert_allclose(t.exp().numpy(), np.exp(x), rtol=1e-12)
    np.testing.assert_allclose(t.abs().numpy(), np.abs(x), rtol=1e-12)
    np.testing.assert_allclose(t.sigmoid().numpy(), 1 / (1 + np.exp(-x)), rtol=1e-12)
    np.testing.assert_allclose(t.logsumexp().numpy(), np.log(np.exp(x).sum()), rtol=1e-12)
    np.testing.assert_array_equal(t.flatten().numpy(), x.flatten())
    np.testing.assert_array_equal(t.clip(-0.5, 0.5).numpy(), np.clip(x, -0.5, 0.5))


# ---- backward and grad --------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(), (1,), (1, 1)])
def test_backward_without_grad_works_for_one_element_outputs(shape):
    x = sg.tensor(np.full(shape, 3.0), requires_grad=True)
    (x * x).backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full(shape, 6.0))


def test_backward_with_an_explicit_gradient_tensor_or_array():
    x = sg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x * 3.0).backward(sg.tensor(np.array([1.0, -1.0])))
    np.testing.assert_allclose(x.grad.numpy(), [3.0, -3.0])
    z = sg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    (z * 3.0).backward(np.array([2.0, 0.5]))
    np.testing.assert_allclose(z.grad.numpy(), [6.0, 1.5])


def test_gradients_keep_the_inputs_dtype_whatever_the_upstream_gradients_dtype():
    # BUG (reported to the lead): a float64 upstream array (np.ones is float64) turns every
    # gradient of a float32 graph into float64; torch casts the upstream gradient to the
    # output's dtype. Reproduction:
    #     x = sg.tensor([1.0, 2.0], requires_grad=True)   # float32
    #     (x * 3.0).backward(np.ones(2))
    #     x.grad.dtype                                     # float64, expected float32
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    (x * 3.0).backward(np.ones(2))
    assert x.grad.dtype == np.float32
    w = sg.tensor([1.0, 2.0], requires_grad=True)
    (gw,) = sg.grad(w * 3.0, [w], grad_outputs=sg.tensor(np.ones(2)))
    assert gw.dtype == np.float32


def test_grad_returns_a_tuple_and_leaves_dot_grad_alone():
    x = sg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    w = sg.tensor(np.array([3.0, 4.0]), requires_grad=True)
    loss = (x * w).sum()
    gx, gw = sg.grad(loss, [x, w])
    assert isinstance(gx, sg.Tensor) and isinstance(gw, sg.Tensor)
    np.testing.assert_allclose(gx.numpy(), [3.0, 4.0])
    np.testing.assert_allclose(gw.numpy(), [1.0, 2.0])
    assert x.grad is None and w.grad is None
    result = sg.grad((x * x).sum(), x)
    assert isinstance(result, tuple) and len(result) == 1


def test_grad_with_respect_to_intermediate_tensors():
    x = sg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x * 2.0
    gy, gx = sg.grad((y * y).sum(), [y, x])
    np.testing.assert_allclose(gy.numpy(), [4.0, 8.0])   # 2 y
    np.testing.assert_allclose(gx.numpy(), [8.0, 16.0])  # 2 y * 2


def test_third_order_gradients():
    x = sg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    (g,) = sg.grad((x ** 3.0).sum(), [x], create_graph=True)
    (h,) = sg.grad(g.sum(), [x], create_graph=True)
    (t,) = sg.grad(h.sum(), [x])
    np.testing.assert_allclose(g.numpy(), [3.0, 12.0])
    np.testing.assert_allclose(h.numpy(), [6.0, 12.0])
    np.testing.assert_allclose(t.numpy(), [6.0, 6.0])


def test_grad_with_several_outputs_sums_their_contributions():
    x = sg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    (g,) = sg.grad([(x * x).sum(), (x * 3.0).sum()], [x])
    np.testing.assert_allclose(g.numpy(), [5.0, 7.0])
    (g,) = sg.grad([x * x, x * 3.0], [x], grad_outputs=[sg.tensor(np.ones(2)),
                                                        sg.tensor(np.array([2.0, 0.0]))])
    np.testing.assert_allclose(g.numpy(), [8.0, 4.0])


def test_iterating_a_tensor_yields_its_rows():
    # BUG (reported to the lead): Python iterates an object with __getitem__ until IndexError,
    # but an out-of-range index raises ShapeError (a ValueError), so list(t) and `for row in t`
    # crash after the last row. Reproduction:
    #     list(sg.tensor([1.0, 2.0]))   # ShapeError: index 2 is out of bounds for axis 0
    t = sg.tensor(np.arange(6.0).reshape(3, 2))
    rows = list(t)
    assert len(rows) == 3
    np.testing.assert_array_equal(rows[1].numpy(), [2.0, 3.0])


def test_grad_with_grad_outputs_and_create_graph():
    x = sg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x ** 3.0
    (g,) = sg.grad(y, [x], grad_outputs=sg.tensor(np.array([1.0, 2.0])), create_graph=True)
    np.testing.assert_allclose(g.numpy(), [3.0, 24.0])  # 3 x^2 u
    assert g.requires_grad
    (gg,) = sg.grad(g.sum(), [x])
    np.testing.assert_allclose(gg.numpy(), [6.0, 24.0])  # 6 x u


def test_no_grad_records_nothing_and_restores_the_mode():
    x = sg.tensor(np.array([1.0]), requires_grad=True)
    with sg.no_grad():
        y = x * 2.0
        with sg.no_grad():
            pass
        z = x * 2.0
    assert not y.requires_grad and not z.requires_grad
    assert (x * 2.0).requires_grad


def test_no_grad_restores_the_mode_after_an_exception():
    with pytest.raises(RuntimeError):
        with sg.no_grad():
            raise RuntimeError("boom")
    assert (sg.tensor(np.array([1.0]), requires_grad=True) * 2.0).requires_grad


def test_manual_seed_makes_draws_repeatable():
    sg.manual_seed(123)
    a, b = sg.randn(3, 4), sg.rand(5)
    sg.manual_seed(123)
    c, d = sg.randn(3, 4), sg.rand(5)
    np.testing.assert_array_equal(a.numpy(), c.numpy())
    np.testing.assert_array_equal(b.numpy(), d.numpy())
    sg.manual_seed(124)
    assert not np.array_equal(sg.randn(3, 4).numpy(), a.numpy())


# ---- creation helpers ---------------------------------------------------------------------

def test_creation_helpers_shapes_and_dtypes():
    assert sg.zeros(2, 3).shape == (2, 3) and sg.zeros((2, 3)).shape == (2, 3)
    assert sg.zeros(2).dtype == np.float32
    assert np.all(sg.zeros(2, 3).numpy() == 0) and np.all(sg.ones(4).numpy() == 1)
    assert sg.ones(2, dtype=np.float64).dtype == np.float64
    full = sg.full((2, 2), 7.5)
    assert full.shape == (2, 2) and np.all(full.numpy() == 7.5) and full.dtype == np.float32
    r = sg.rand(1000)
    assert r.dtype == np.float32 and r.numpy().min() >= 0 and r.numpy().max() < 1
    n = sg.randn(2000, dtype=np.float64)
    assert n.dtype == np.float64 and abs(n.numpy().mean()) < 0.15 and 0.8 < n.numpy().std() < 1.2
    assert sg.zeros(3, requires_grad=True).requires_grad
    assert sg.zeros(0, 3).shape == (0, 3)


def test_arange():
    a = sg.arange(5)
    assert a.dtype == np.int64
    np.testing.assert_array_equal(a.numpy(), np.arange(5))
    b = sg.arange(0.0, 1.0, 0.25)
    assert b.dtype == np.float32
    np.testing.assert_allclose(b.numpy(), [0.0, 0.25, 0.5, 0.75])
    np.testing.assert_array_equal(sg.arange(2, 9, 3).numpy(), [2, 5, 8])


def test_zeros_like_and_ones_like_keep_shape_and_dtype():
    x = sg.tensor(np.ones((2, 3), np.float64))
    z, o = sg.zeros_like(x), sg.ones_like(x)
    assert z.shape == o.shape == (2, 3) and z.dtype == o.dtype == np.float64
    assert np.all(z.numpy() == 0) and np.all(o.numpy() == 1)
    assert sg.zeros_like(x, requires_grad=True).requires_grad


def test_free_functions_forward_match_numpy():
    a = np.arange(6.0).reshape(2, 3)
    b = -a
    ta, tb = sg.tensor(a), sg.tensor(b)
    np.testing.assert_array_equal(sg.concatenate([ta, tb], axis=1).numpy(),
                                  np.concatenate([a, b], axis=1))
    np.testing.assert_array_equal(sg.stack([ta, tb], axis=1).numpy(), np.stack([a, b], axis=1))
    np.testing.assert_array_equal(sg.where(a > 2, ta, tb).numpy(), np.where(a > 2, a, b))
    np.testing.assert_array_equal(sg.maximum(ta, 2.0).numpy(), np.maximum(a, 2.0))
    np.testing.assert_array_equal(sg.minimum(ta, tb).numpy(), np.minimum(a, b))
    np.testing.assert_array_equal(sg.pad(ta, ((1, 0), (2, 1)), value=-1.0).numpy(),
                                  np.pad(a, ((1, 0), (2, 1)), constant_values=-1.0))


@given(st.data())
def test_getitem_forward_matches_numpy(data):
    x = data.draw(arrays(shapes(min_dims=1)))
    t = sg.tensor(x)
    idx = np.array([0, -1, 0])
    np.testing.assert_array_equal(t[idx].numpy(), x[idx])
    np.testing.assert_array_equal(t[..., None, ::-1].numpy(), x[..., None, ::-1])
    np.testing.assert_array_equal(t[-1].numpy(), x[-1])
