"""Every registered kernel of the fused ops (layer norm, cross-entropy, GELU; forward and
backward) equals the NumPy reference on drawn shapes: rows and columns of size 1, sizes that
are not multiples of the block sizes, float32 and float64, non-contiguous inputs, layer
norm without weight or bias. The reference itself is checked against the definitions."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scratchgen import kernels
from scratchgen.engine import reference_kernels as reference

FUSED_OPS = ("layer_norm_forward", "layer_norm_backward", "cross_entropy_forward",
             "cross_entropy_backward", "gelu_forward", "gelu_backward")

FEW = settings(max_examples=20, deadline=None)


def tolerance(dtype, scale=1.0):
    """float32 sums over a row of up to ~100 terms lose a few ulps; float64 is tight."""
    if dtype == np.float32:
        return dict(rtol=2e-4, atol=2e-5 * scale)
    return dict(rtol=1e-10, atol=1e-12 * scale)


def others(op):
    return [name for name in kernels.available(op, "cpu") if name != kernels.REFERENCE]


def maybe_strided(array, strided):
    """The same values through a non-contiguous view (every other column of a wider array)."""
    if not strided:
        return array
    wide = np.zeros(array.shape[:-1] + (2 * array.shape[-1],), array.dtype)
    wide[..., ::2] = array
    return wide[..., ::2]


def assert_close(ours, truth, dtype, scale=1.0):
    assert ours.dtype == truth.dtype == dtype
    np.testing.assert_allclose(ours, truth, **tolerance(dtype, scale))


rows = st.integers(1, 70)
columns = st.integers(1, 70)
dtypes = st.sampled_from([np.float32, np.float64])


def test_every_fused_op_has_a_numba_kernel():
    for op in FUSED_OPS:
        assert "numba" in kernels.available(op, "cpu"), op
        assert kernels.devices_of(op, "numba") == ("cpu",)


@pytest.mark.parametrize("name", others("layer_norm_forward"))
@FEW
@given(m=rows, n=columns, dtype=dtypes, strided=st.booleans(), affine=st.booleans(),
       with_bias=st.booleans(), offset=st.sampled_from([0.0, 100.0]), seed=st.integers(0, 99))
def test_layer_norm_kernels_match_reference(name, m, n, dtype, strided, affine, with_bias,
                                            offset, seed):
    rng = np.random.default_rng(seed)
    x = maybe_strided((rng.standard_normal((m, n)) + offset).astype(dtype), strided)
    weight = rng.standard_normal(n).astype(dtype) if affine else None
    bias = rng.standard_normal(n).astype(dtype) if with_bias else None
    truth = reference.layer_norm_forward(x, weight, bias, 1e-5)
    ours = kernels.get("layer_norm_forward", name)(x, weight, bias, 1e-5)
    for a, b in zip(ours, truth):
        assert_close(a, b, dtype, scale=10)
    g = maybe_strided(rng.standard_normal((m, n)).astype(dtype), strided)
    mean, rstd = truth[1], truth[2]
    truth = reference.layer_norm_backward(g, x, weight, mean, rstd)
    ours = kernels.get("layer_norm_backward", name)(g, x, weight, mean, rstd)
    assert_close(ours[0], truth[0], dtype, scale=10)
    assert (ours[1] is None) == (weight is None)
    if weight is not None:
        assert_close(ours[1], truth[1], dtype, scale=m)
    assert_close(ours[2], truth[2], dtype, scale=m)


@pytest.mark.parametrize("name", others("cross_entropy_forward"))
@FEW
@given(m=rows, c=columns, dtype=dtypes, strided=st.booleans(), seed=st.integers(0, 99),
       spread=st.sampled_from([1.0, 30.0]))
def test_cross_entropy_kernels_match_reference(name, m, c, dtype, strided, seed, spread):
    rng = np.random.default_rng(seed)
    logits = maybe_strided((spread * rng.standard_normal((m, c))).astype(dtype), strided)
    targets = rng.integers(0, c, size=m).astype(np.int32)[::-1]     # int32, reversed view
    truth = reference.cross_entropy_forward(logits, targets)
    ours = kernels.get("cross_entropy_forward", name)(logits, targets)
    for a, b in zip(ours, truth):
        assert_close(a, b, dtype, scale=spread)
    g = rng.standard_normal(m).astype(dtype)
    truth = reference.cross_entropy_backward(g, logits, targets, truth[1])
    ours = kernels.get("cross_entropy_backward", name)(g, logits, targets, ours[1])
    assert_close(ours, truth, dtype)


@pytest.mark.parametrize("name", others("gelu_forward"))
@pytest.mark.parametrize("approximate", ["none", "tanh"])
@FEW
@given(shape=st.lists(st.integers(1, 9), min_size=1, max_size=3), dtype=dtypes,
       strided=st.booleans(), seed=st.integers(0, 99))
def test_gelu_kernels_match_reference(name, approximate, shape, dtype, strided, seed):
    rng = np.random.default_rng(seed)
    x = maybe_strided((4 * rng.standard_normal(shape)).astype(dtype), strided)
    assert_close(kernels.get("gelu_forward", name)(x, approximate),
                 reference.gelu_forward(x, approximate), dtype, scale=4)
    g = rng.standard_normal(shape).astype(dtype)
    assert_close(kernels.get("gelu_backward", name)(g, x, approximate),
                 reference.gelu_backward(g, x, approximate), dtype)


def test_gelu_kernel_over_many_blocks_and_saturation():
    """More elements than one parallel block, and |x| far in the tails of tanh."""
    x = np.linspace(-40, 40, 3 * 4096 + 7)
    for dtype in (np.float32, np.float64):
        for approximate in ("none", "tanh"):
            xs = x.astype(dtype)
            assert_close(kernels.get("gelu_forward", "numba")(xs, approximate),
                         reference.gelu_forward(xs, approximate), dtype, scale=40)
            assert_close(kernels.get("gelu_backward", "numba")(np.ones_like(xs), xs, approximate),
                         reference.gelu_backward(np.ones_like(xs), xs, approximate), dtype)


def test_layer_norm_backward_over_many_row_blocks():
    """dweight and dbias are summed over blocks of rows: more rows than one block."""
    rng = np.random.default_rng(0)
    x, g, w = rng.standard_normal((200, 5)), rng.standard_normal((200, 5)), rng.standard_normal(5)
    _, mean, rstd = reference.layer_norm_forward(x, w, None, 1e-5)
    for a, b in zip(kernels.get("layer_norm_backward", "numba")(g, x, w, mean, rstd),
                    reference.layer_norm_backward(g, x, w, mean, rstd)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_cross_entropy_kernels_with_infinite_logits():
    """-inf logits (masked classes) give probability 0 and finite losses, as the reference."""
    logits = np.array([[0.0, -np.inf, 1.0], [-np.inf, 2.0, -np.inf]])
    targets = np.array([2, 1])
    for name in kernels.available("cross_entropy_forward"):
        loss, lse = kernels.get("cross_entropy_forward", name)(logits, targets)
        np.testing.assert_allclose(loss, [np.log1p(np.exp(-1.0)), 0.0], atol=1e-15)
        d = kernels.get("cross_entropy_backward", name)(np.ones(2), logits, targets, lse)
        np.testing.assert_allclose(d, [[1 / (1 + np.e), 0, -1 / (1 + np.e)], [0, 0, 0]],
                                   atol=1e-15)


def test_references_follow_their_definitions():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 6))
    y, mean, rstd = reference.layer_norm_forward(x, None, None, 0.0)
    np.testing.assert_allclose(y, (x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True))
    loss, lse = reference.cross_entropy_forward(x, np.arange(4))
    p = np.exp(x) / np.exp(x).sum(1, keepdims=True)
    np.testing.assert_allclose(loss, -np.log(p[np.arange(4), np.arange(4)]))
    from scipy.special import erf
    np.testing.assert_allclose(reference.gelu_forward(x, "none"), 0.5 * x * (1 + erf(x / 2 ** 0.5)))
