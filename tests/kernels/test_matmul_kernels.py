"""Every registered matmul kernel equals the reference (np.matmul) on drawn shapes and layouts,
and `a @ b` through the engine gives the reference's forward and gradients with each selected."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scratchgen as sg
import scratchgen.kernels.cpu.matmul  # noqa: F401  (registers the Numba versions)
from scratchgen import kernels

NAMES = [name for name in kernels.available("matmul", device="cpu") if name != kernels.REFERENCE]
reference = kernels.get("matmul", kernels.REFERENCE)


def test_the_numba_versions_are_registered():
    assert {"naive", "loop_order", "blocked", "packed", "register_blocked", "parallel"} <= set(NAMES)


def assert_matches_reference(name, a, b):
    got, expected = kernels.get("matmul", name)(a, b), reference(a, b)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert got.flags.c_contiguous
    k = a.shape[-1]
    # float32 sums of k products: rounding grows with k and with the size of the terms
    tol = 1e-5 if expected.dtype == np.float32 else 1e-13
    scale = np.abs(a).max(initial=0) * np.abs(b).max(initial=0) * max(k, 1)
    np.testing.assert_allclose(got, expected, rtol=tol * 10, atol=tol * scale, err_msg=name)


def layout(x, kind):
    """The same values as x in another memory layout."""
    if kind == "transposed":     # a view whose last two axes are swapped from C order
        return np.ascontiguousarray(x.swapaxes(-1, -2)).swapaxes(-1, -2)
    if kind == "strided":        # every other column of a wider array
        wide = np.zeros(x.shape[:-1] + (2 * x.shape[-1],), x.dtype)
        wide[..., ::2] = x
        return wide[..., ::2]
    if kind == "fortran":
        return np.asfortranarray(x)
    return x


sizes = st.integers(1, 70)
batch_dims = st.lists(st.integers(1, 3), max_size=2)
layouts = st.sampled_from(["c", "transposed", "strided", "fortran"])
dtypes = st.sampled_from([np.float32, np.float64])


@st.composite
def problems(draw):
    m, k, n = draw(sizes), draw(sizes), draw(sizes)
    batch = draw(batch_dims)
    # each batch axis of an operand is either the full size or 1 (broadcast), or missing
    a_batch = [draw(st.sampled_from([d, 1])) for d in batch]
    b_batch = [draw(st.sampled_from([d, 1])) for d in batch]
    if batch and draw(st.booleans()):
        b_batch = b_batch[1:]
    seed = draw(st.integers(0, 2 ** 16))
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(tuple(a_batch) + (m, k)).astype(draw(dtypes))
    b = rng.standard_normal(tuple(b_batch) + (k, n)).astype(draw(dtypes))
    return layout(a, draw(layouts)), layout(b, draw(layouts))


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=30, deadline=None)
@given(problem=problems())
def test_kernel_equals_reference_on_drawn_shapes(name, problem):
    a, b = problem
    assert_matches_reference(name, a, b)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernel_equals_reference_across_block_boundaries(name, dtype):
    rng = np.random.default_rng(1)
    m, k, n = (70, 600, 50) if name == "naive" else (300, 1100, 190)   # K crosses KC = 512
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((n, k)).astype(dtype).T                    # transposed view
    assert_matches_reference(name, a, b)
    if name != "naive":
        assert_matches_reference(name, a[:257], np.ascontiguousarray(b))


@pytest.mark.parametrize("name", NAMES)
def test_degenerate_sizes(name):
    fn = kernels.get("matmul", name)
    for a_shape, b_shape in [((1, 1), (1, 1)), ((5, 1), (1, 7)), ((0, 3), (3, 4)),
                             ((3, 0), (0, 4)), ((2, 0, 3, 2), (2, 5))]:
        a, b = np.ones(a_shape, np.float32), np.ones(b_shape, np.float32)
        got = fn(a, b)
        assert got.shape == np.matmul(a, b).shape
        np.testing.assert_array_equal(got, np.matmul(a, b))


def test_other_dtypes_are_refused_with_a_clear_error():
    with pytest.raises(TypeError, match="float32 or float64"):
        kernels.get("matmul", "packed")(np.ones((2, 2), np.int64), np.ones((2, 2), np.int64))


@pytest.mark.parametrize("name", NAMES)
def test_engine_matmul_forward_and_gradients_match_the_reference_path(name):
    rng = np.random.default_rng(2)
    a_data = rng.standard_normal((3, 33, 20))
    b_data = rng.standard_normal((20, 17))

    def run(kernel):
        a, b = sg.Tensor(a_data, requires_grad=True), sg.Tensor(b_data, requires_grad=True)
        with sg.use_kernels(matmul=kernel):
            out = a @ b
            (out * out).sum().backward()
        return out.data, a.grad.data, b.grad.data

    for got, expected in zip(run(name), run(kernels.REFERENCE)):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-10)
