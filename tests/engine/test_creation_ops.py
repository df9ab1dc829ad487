"""eye, linspace, full_like, empty and empty_like: values against NumPy and torch, the default
float32 dtype, the dtype of the tensor a *_like helper copies, and clear errors for bad sizes
and fill values."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import scratchgen as sg

torch = pytest.importorskip("torch", reason="torch is the test oracle (pip install torch)")


@given(n=st.integers(0, 5), m=st.one_of(st.none(), st.integers(0, 5)), k=st.integers(-3, 3))
def test_eye_matches_numpy_and_defaults_to_float32(n, m, k):
    out = sg.eye(n, m, k=k)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.numpy(), np.eye(n, m, k, dtype=np.float32))
    if k == 0:
        want = torch.eye(n) if m is None else torch.eye(n, m)
        np.testing.assert_array_equal(out.numpy(), want.numpy())


def test_eye_dtype_and_requires_grad():
    out = sg.eye(2, dtype=np.float64, requires_grad=True)
    assert out.dtype == np.float64 and out.requires_grad and out.is_leaf
    assert sg.eye(3, dtype=np.int64).dtype == np.int64


@given(start=st.floats(-10, 10), end=st.floats(-10, 10), steps=st.integers(0, 20))
def test_linspace_matches_torch(start, end, steps):
    out = sg.linspace(start, end, steps, dtype=np.float64)
    want = torch.linspace(start, end, steps, dtype=torch.float64).numpy()
    assert out.shape == (steps,)
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-12, atol=1e-12)
    if steps >= 1:
        assert out.numpy()[0] == start
    if steps >= 2:
        assert out.numpy()[-1] == end


def test_linspace_defaults_to_float32_also_for_integer_ends():
    out = sg.linspace(0, 10, 5)
    assert out.dtype == np.float32 == torch.linspace(0, 10, 5).numpy().dtype
    np.testing.assert_array_equal(out.numpy(), [0.0, 2.5, 5.0, 7.5, 10.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.bool_])
def test_full_like_keeps_the_dtype_and_shape_of_its_tensor(dtype):
    x = sg.tensor(np.zeros((2, 3), dtype=dtype))
    out = sg.full_like(x, 1)
    assert out.dtype == dtype and out.shape == (2, 3)
    np.testing.assert_array_equal(out.numpy(), np.full((2, 3), 1, dtype=dtype))
    np.testing.assert_array_equal(out.numpy(), torch.full_like(torch.from_numpy(x.numpy()), 1))


def test_full_like_with_a_dtype_and_a_float_value():
    x = sg.tensor(np.zeros(3, dtype=np.int64))
    assert sg.full_like(x, 2.5).numpy().tolist() == [2, 2, 2]  # cast to x's dtype, as torch
    out = sg.full_like(x, 2.5, dtype=np.float64, requires_grad=True)
    assert out.dtype == np.float64 and out.requires_grad
    np.testing.assert_array_equal(out.numpy(), [2.5, 2.5, 2.5])
    assert sg.full_like(np.zeros((2,), dtype=np.float32), 7).dtype == np.float32


@pytest.mark.parametrize("args", [(2, 3), ((2, 3),), ([2, 3],), ()])
def test_empty_has_the_shape_and_default_float_dtype_and_zeros(args):
    out = sg.empty(*args)
    shape = args[0] if args and isinstance(args[0], (tuple, list)) else args
    assert out.shape == tuple(shape) and out.dtype == np.float32
    np.testing.assert_array_equal(out.numpy(), np.zeros(shape))  # documented: zeros


def test_empty_like_copies_shape_and_dtype():
    x = sg.tensor(np.ones((3, 1), dtype=np.int64))
    out = sg.empty_like(x)
    assert out.shape == (3, 1) and out.dtype == np.int64
    assert sg.empty_like(x, dtype=np.float64).dtype == np.float64
    assert sg.empty(2, dtype=np.float64, requires_grad=True).requires_grad


ERRORS = [
    (lambda: sg.eye(-1), sg.ShapeError, r"eye: n must be a non-negative integer, got -1"),
    (lambda: sg.eye(2.5), TypeError, r"eye: n must be .* got 2\.5 \(float\)"),
    (lambda: sg.eye(2, "3"), TypeError, r"eye: m must be .* got '3' \(str\)"),
    (lambda: sg.eye(2, k=0.5), TypeError, r"eye: the diagonal k must be an integer"),
    (lambda: sg.eye(None), TypeError, r"eye: n must be .* \(NoneType\)"),
    (lambda: sg.linspace(0, 1, 2.0), TypeError, r"linspace: steps must be a non-negative"),
    (lambda: sg.linspace(0, 1, -1), sg.ShapeError, r"linspace: steps must be .* got -1"),
    (lambda: sg.linspace("0", 1, 3), TypeError, r"linspace: start must be a real number"),
    (lambda: sg.linspace(0, None, 3), TypeError, r"linspace: end must be a real number"),
    (lambda: sg.full_like(sg.eye(2), "x"), TypeError, r"full_like: fill_value must be a real"),
    (lambda: sg.full_like(sg.eye(2), None), TypeError, r"full_like: fill_value .* \(NoneType\)"),
    (lambda: sg.full_like([1.0, 2.0], 0.0), TypeError, r"full_like: expected a tensor, got list"),
    (lambda: sg.empty_like("abc"), TypeError, r"empty_like: expected a tensor, got str"),
    (lambda: sg.empty(2, -3), ValueError, r"non-negative"),
]


@pytest.mark.parametrize("call, error, pattern", ERRORS,
                         ids=[f"error{i}" for i in range(len(ERRORS))])
def test_bad_arguments_raise_clear_errors(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()
