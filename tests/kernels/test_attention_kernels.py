"""Every registered attention kernel, forward and backward, equals the reference.

Shapes are drawn so that L != S, lengths are not multiples of the flash tiles (64), B = 1
occurs, E != Ev; masks: causal, boolean with fully masked rows (broadcast views included),
float with -inf entries; float32 and float64; non-contiguous q, k, v.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scratchgen import kernels
from scratchgen.engine import reference_kernels as ref

FORWARD = [n for n in kernels.available("attention_forward", "cpu") if n != "reference"]
BACKWARD = [n for n in kernels.available("attention_backward", "cpu") if n != "reference"]


def tolerance(dtype, source):
    """float32 sums over S keys and E features: error grows like sqrt(S); float64 tight."""
    if dtype == np.float32:
        return dict(rtol=1e-4, atol=2e-5 * np.sqrt(source))
    return dict(rtol=1e-10, atol=1e-11 * np.sqrt(source))


@st.composite
def attention_inputs(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    n_batch = draw(st.sampled_from([1, 3]))
    length, source = draw(st.integers(1, 150)), draw(st.integers(1, 150))
    e, ev = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    q, k, v, g = (rng.standard_normal(shape).astype(dtype) for shape in
                  [(n_batch, length, e), (n_batch, source, e), (n_batch, source, ev),
                   (n_batch, length, ev)])
    if draw(st.booleans()):   # non-contiguous: a transposed layout of the same values
        q, k, v = (np.asfortranarray(a) for a in (q, k, v))
    kind = draw(st.sampled_from(["none", "causal", "bool", "bool_broadcast", "float"]))
    mask, causal = None, kind == "causal"
    if kind.startswith("bool"):
        shape = (length, source) if kind == "bool_broadcast" else (n_batch, length, source)
        mask = rng.random(shape) < 0.5
        mask[..., rng.integers(0, length), :] = False            # a fully masked row
        mask = np.broadcast_to(mask, (n_batch, length, source))  # zero-stride view
    elif kind == "float":
        mask = rng.standard_normal((n_batch, length, source))
        mask[rng.random(mask.shape) < 0.3] = -np.inf
        mask[:, rng.integers(0, length)] = -np.inf                # a fully masked row
    scale = draw(st.sampled_from([0.3, 1 / np.sqrt(e)]))
    return q, k, v, g, mask, causal, scale


def check_forward(name, q, k, v, mask, causal, scale):
    out, lse = kernels.get("attention_forward", name)(q, k, v, mask, causal, scale)
    want_out, want_lse = ref.attention_forward(q, k, v, mask, causal, scale)
    tol = tolerance(q.dtype, k.shape[1])
    assert out.dtype == q.dtype and out.shape == want_out.shape
    assert not np.isnan(out).any()
    np.testing.assert_allclose(out, want_out, **tol)
    np.testing.assert_array_equal(np.isneginf(lse), np.isneginf(want_lse))
    finite = np.isfinite(want_lse)
    np.testing.assert_allclose(lse[finite], want_lse[finite], **tol)
    return out, lse


@pytest.mark.parametrize("name", FORWARD)
@settings(max_examples=20)
@given(case=attention_inputs())
def test_forward_equals_reference(name, case):
    q, k, v, _, mask, causal, scale = case
    check_forward(name, q, k, v, mask, causal, scale)


@pytest.mark.parametrize("name", BACKWARD)
@settings(max_examples=20)
@given(case=attention_inputs())
def test_backward_equals_reference(name, case):
    q, k, v, g, mask, causal, scale = case
    out, lse = ref.attention_forward(q, k, v, mask, causal, scale)
    grads = kernels.get("attention_backward", name)(q, k, v, out, lse, g, mask, causal, scale)
    wants = ref.attention_backward(q, k, v, out, lse, g, mask, causal, scale)
    for got, want, x in zip(grads, wants, (q, k, v)):
        assert got.shape == x.shape and got.dtype == x.dtype
        np.testing.assert_allclose(got, want, **tolerance(q.dtype, max(k.shape[1], q.shape[1])))


@pytest.mark.parametrize("name", FORWARD)
def test_fully_masked_rows_give_zeros_and_zero_gradients(name):
    rng = np.random.default_rng(0)
    q, k, v, g = (rng.standard_normal((2, 70, 5)) for _ in range(4))
    mask = np.ones((2, 70, 70), bool)
    mask[:, 3] = False
    out, lse = kernels.get("attention_forward", name)(q, k, v, mask, False, 0.5)
    assert np.all(out[:, 3] == 0) and np.all(np.isneginf(lse[:, 3]))
    assert np.isfinite(out).all()
    dq, dk, dv = kernels.get("attention_backward", name)(q, k, v, out, lse, g, mask, False, 0.5)
    assert np.all(dq[:, 3] == 0)
    assert np.isfinite(dk).all() and np.isfinite(dv).all()


@pytest.mark.parametrize("name", FORWARD)
def test_long_causal_sequence_across_many_tiles(name):
    """Lengths well past the tile sizes, so the online softmax rescales many times."""
    rng = np.random.default_rng(1)
    q, k, v, g = (rng.standard_normal((2, 300, 16)).astype(np.float32) * 2 for _ in range(4))
    out, lse = check_forward(name, q, k, v, None, True, 0.25)
    grads = kernels.get("attention_backward", name)(q, k, v, out, lse, g, None, True, 0.25)
    for got, want in zip(grads, ref.attention_backward(q, k, v, out, lse, g, None, True, 0.25)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)


def test_the_flat_mask_never_copies_a_broadcast_mask_out():
    from scratchgen.kernels.cpu.attention import flat_mask

    base = np.random.default_rng(2).random((7, 9)) < 0.5
    kind, bools, _, strides = flat_mask(np.broadcast_to(base, (5, 7, 9)), False, np.float32)
    assert bools.size == base.size and list(strides) == [0, 9, 1]
