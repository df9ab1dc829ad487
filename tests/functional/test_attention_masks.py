"""Attention masks at the edges, against torch 2.13: F.scaled_dot_product_attention and
nn.MultiheadAttention take a boolean mask or a float mask of the query's dtype and refuse any
other dtype; a query whose keys are all masked (False everywhere, or -inf everywhere) gets
zeros and zero gradients on every attention kernel, never NaN; nn.MultiheadAttention refuses
inputs of the wrong rank with a ShapeError naming the layouts it takes."""
import numpy as np
import pytest

import scratchgen as sg
import scratchgen.functional as F
import scratchgen.nn as nn
from scratchgen import kernels

torch = pytest.importorskip("torch", reason="torch is the test oracle (pip install torch)")
tF = torch.nn.functional

NAMES = kernels.available("attention_forward", "cpu")   # reference, rowwise, flash, ...


def qkv(rng, dtype, batch=(2, 3), length=5, source=70, e=4, ev=3):
    """source = 70 > 64: the flash kernel sees a row split over two key tiles."""
    return [rng.standard_normal(batch + shape).astype(dtype)
            for shape in ((length, e), (source, e), (source, ev))]


def masks_with_empty_rows(rng, kind, dtype, length=5, source=70):
    """A (L, S) mask, bool (True = attend) or float, whose rows 1 and 3 see no key at all
    (row 3 only through the second key tile); every other row sees at least one key."""
    allowed = rng.random((length, source)) < 0.5
    allowed[:, 0] = True
    allowed[1] = False
    allowed[3, :] = False
    if kind == "bool":
        return allowed
    values = rng.standard_normal((length, source)).astype(dtype)
    return np.where(allowed, values, -np.inf).astype(dtype)


def run(lib, arrays, mask, name=None, upstream=None):
    """Output and q, k, v gradients of sum(out * upstream), with scratchgen or torch."""
    if lib == "torch":
        leaves = [torch.tensor(a, requires_grad=True) for a in arrays]
        out = tF.scaled_dot_product_attention(*leaves, attn_mask=torch.from_numpy(mask))
        (out * torch.from_numpy(upstream)).sum().backward()
        return out.detach().numpy(), [x.grad.numpy() for x in leaves]
    leaves = [sg.Tensor(a, requires_grad=True) for a in arrays]
    with sg.use_kernels(attention_forward=name, attention_backward=name):
        out = F.scaled_dot_product_attention(*leaves, attn_mask=mask)
        (out * sg.Tensor(upstream)).sum().backward()
    return out.numpy(), [x.grad.numpy() for x in leaves]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("kind", ["bool", "float"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_fully_masked_row_gives_zeros_and_zero_gradients_as_torch(name, kind, dtype):
    rng = np.random.default_rng(0)
    arrays = qkv(rng, dtype)
    mask = masks_with_empty_rows(rng, kind, dtype)
    upstream = rng.standard_normal((2, 3, 5, 3)).astype(dtype)
    out, grads = run("sg", arrays, mask, name, upstream)
    t_out, t_grads = run("torch", arrays, mask, upstream=upstream)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-11)
    assert out.dtype == dtype
    assert not np.isnan(out).any() and not any(np.isnan(g).any() for g in grads)
    np.testing.assert_array_equal(out[..., [1, 3], :], 0.0)
    np.testing.assert_array_equal(t_out[..., [1, 3], :], 0.0)        # torch 2.13 agrees
    np.testing.assert_array_equal(grads[0][..., [1, 3], :], 0.0)
    np.testing.assert_allclose(out, t_out, **tol)
    for what, g, tg in zip("qkv", grads, t_grads):
        np.testing.assert_allclose(g, tg, err_msg=f"gradient of {what}", **tol)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("kind", ["bool", "float"])
def test_double_backward_through_fully_masked_rows_equals_torch(name, kind):
    rng = np.random.default_rng(1)
    arrays = qkv(rng, np.float64, batch=(2,), source=7)
    mask = masks_with_empty_rows(rng, kind, np.float64, source=7)
    q, k, v = (sg.Tensor(a, requires_grad=True) for a in arrays)
    with sg.use_kernels(attention_forward=name, attention_backward=name):
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        gq, gk = sg.grad((out * out).sum(), [q, k], create_graph=True)
        ((gq * gq).sum() + (gk * gk).sum()).backward()
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in arrays)
    t_out = tF.scaled_dot_product_attention(tq, tk, tv, attn_mask=torch.from_numpy(mask))
    tgq, tgk = torch.autograd.grad((t_out * t_out).sum(), [tq, tk], create_graph=True)
    ((tgq * tgq).sum() + (tgk * tgk).sum()).backward()
    for what, x, tx in zip("qkv", (q, k, v), (tq, tk, tv)):
        assert not np.isnan(x.grad.numpy()).any()
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-8, atol=1e-10,
                                   err_msg=f"second-order gradient of {what}")


def test_a_float_mask_that_requires_grad_gets_zero_gradient_on_a_fully_masked_row():
    rng = np.random.default_rng(2)
    arrays = qkv(rng, np.float64, batch=(2,), source=6)
    mask = masks_with_empty_rows(rng, "float", np.float64, source=6)
    leaves = [sg.Tensor(a, requires_grad=True) for a in arrays + [mask]]
    out = F.scaled_dot_product_attention(*leaves[:3], attn_mask=leaves[3])
    (out * out).sum().backward()
    t_leaves = [torch.tensor(a, requires_grad=True) for a in arrays + [mask]]
    t_out = tF.scaled_dot_product_attention(*t_leaves[:3], attn_mask=t_leaves[3])
    (t_out * t_out).sum().backward()
    np.testing.assert_array_equal(leaves[3].grad.numpy()[[1, 3]], 0.0)
    for x, tx in zip(leaves, t_leaves):
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-12)


# ---- mask dtypes -------------------------------------------------------------------------------

def small(dtype):
    rng = np.random.default_rng(3)
    return [sg.Tensor(a) for a in qkv(rng, dtype, batch=(1,), length=3, source=4)]


@pytest.mark.parametrize("q_dtype, mask_dtype", [
    (np.float32, np.int64), (np.float32, np.uint8), (np.float32, np.float64),
    (np.float64, np.int32), (np.float64, np.float32), (np.float32, np.float16)])
def test_sdpa_refuses_a_mask_that_is_neither_boolean_nor_of_the_query_dtype(q_dtype, mask_dtype):
    q, k, v = small(q_dtype)
    mask = np.zeros((3, 4), mask_dtype)
    with pytest.raises(TypeError, match=f"scaled_dot_product_attention: attn_mask must be "
                                        f"boolean or have the query's dtype "
                                        f"{np.dtype(q_dtype)}, got dtype {np.dtype(mask_dtype)}"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    with pytest.raises(TypeError):
        F.scaled_dot_product_attention(q, k, v, attn_mask=sg.Tensor(mask))


def test_torch_also_refuses_integer_masks_and_a_float64_mask_on_a_float32_query():
    q, k, v = (torch.from_numpy(t.numpy()) for t in small(np.float32))
    for dtype in (torch.int64, torch.float64):
        with pytest.raises(RuntimeError, match="Expected attn_mask dtype"):
            tF.scaled_dot_product_attention(q, k, v, attn_mask=torch.zeros(3, 4, dtype=dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sdpa_takes_boolean_masks_float_masks_of_its_dtype_and_python_lists(dtype):
    q, k, v = small(dtype)
    allowed = np.array([[1, 0, 1, 1], [0, 1, 1, 0], [1, 1, 1, 1]], bool)
    additive = np.where(allowed, 0.0, -np.inf).astype(dtype)
    want = tF.scaled_dot_product_attention(*(torch.from_numpy(t.numpy()) for t in (q, k, v)),
                                           attn_mask=torch.from_numpy(allowed)).numpy()
    for mask in (allowed, sg.Tensor(allowed), additive, sg.Tensor(additive), allowed.tolist(),
                 additive.tolist()):
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        assert out.dtype == dtype
        np.testing.assert_allclose(out.numpy(), want, rtol=1e-5 if dtype == np.float32 else 1e-12)
    with pytest.raises(TypeError, match="got dtype int64"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=[[0, 1, 1, 1]] * 3)


# ---- nn.MultiheadAttention ---------------------------------------------------------------------

def mha_pair(batch_first=True, dtype=np.float64):
    sg.manual_seed(0)
    ours = nn.MultiheadAttention(8, 2, batch_first=batch_first, dtype=dtype)
    theirs = torch.nn.MultiheadAttention(8, 2, batch_first=batch_first,
                                         dtype=getattr(torch, np.dtype(dtype).name))
    theirs.load_state_dict({key: torch.from_numpy(p.copy())
                            for key, p in ours.state_dict().items()})
    with torch.no_grad():   # non-zero biases, so that the masked rows' output is not just 0
        theirs.in_proj_bias.normal_()
        theirs.out_proj.bias.normal_()
    ours.load_state_dict({key: p.numpy() for key, p in theirs.state_dict().items()})
    return ours, theirs


@pytest.mark.parametrize("which", ["attn_mask", "key_padding_mask"])
def test_multihead_attention_fully_masked_rows_give_zero_weights_never_nan(which):
    ours, theirs = mha_pair()
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 4, 8))
    if which == "attn_mask":      # True = may NOT attend: query 2 sees nothing
        mask = np.zeros((4, 4), bool)
        mask[2] = True
        kwargs = {"attn_mask": mask}
    else:                         # the whole second sequence is padding
        mask = np.zeros((2, 4), bool)
        mask[1] = True
        kwargs = {"key_padding_mask": mask}
    t_kwargs = {key: torch.from_numpy(m) for key, m in kwargs.items()}
    leaf = sg.Tensor(x, requires_grad=True)
    out, weights = ours(leaf, leaf, leaf, need_weights=True, **kwargs)
    plain, _ = ours(sg.Tensor(x), sg.Tensor(x), sg.Tensor(x), need_weights=False, **kwargs)
    t_plain, _ = theirs(*[torch.from_numpy(x)] * 3, need_weights=False, **t_kwargs)
    t_out, t_weights = theirs(*[torch.from_numpy(x)] * 3, need_weights=True, **t_kwargs)
    assert np.isnan(t_weights.detach().numpy()).any()           # torch's softmax path: NaN
    assert not np.isnan(weights.numpy()).any() and not np.isnan(out.numpy()).any()
    empty = (slice(None), 2) if which == "attn_mask" else (1,)
    np.testing.assert_array_equal(weights.numpy()[empty], 0.0)
    # both of our paths, and torch's need_weights=False path, agree
    np.testing.assert_allclose(plain.numpy(), t_plain.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out.numpy(), plain.numpy(), rtol=1e-10, atol=1e-12)
    out.sum().backward()
    assert not np.isnan(leaf.grad.numpy()).any()


@pytest.mark.parametrize("batch_first", [False, True])
def test_multihead_attention_refuses_inputs_of_the_wrong_rank(batch_first):
    mha = nn.MultiheadAttention(4, 2, batch_first=batch_first)
    layout = r"\(N, L, E\)" if batch_first else r"\(L, N, E\)"
    x3 = sg.randn(3, 2, 4)
    for bad in (sg.randn(3, 2, 4, 1), sg.randn(4)):
        with pytest.raises(sg.ShapeError, match=f"query must be batched 3-D {layout} "
                                                f"\\(batch_first={batch_first}\\) or unbatched "
                                                f"2-D \\(L, E\\), got a {bad.ndim}-D tensor"):
            mha(bad, bad, bad)
    with pytest.raises(sg.ShapeError, match="key must be 3-D like the query"):
        mha(x3, sg.randn(3, 4), x3)
    with pytest.raises(sg.ShapeError, match="value must be 3-D like the query"):
        mha(x3, x3, sg.randn(3, 2, 4, 1))
    with pytest.raises(TypeError, match="query must be a Tensor, got list"):
        mha([[[0.0] * 4] * 2] * 3, x3, x3)
    with pytest.raises(TypeError, match="value must be a Tensor, got NoneType"):
        mha(x3, x3, None)


@pytest.mark.parametrize("which", ["attn_mask", "key_padding_mask"])
def test_multihead_attention_refuses_masks_of_other_dtypes(which):
    ours, theirs = mha_pair(dtype=np.float32)
    x = sg.randn(2, 4, 8)
    shape = (4, 4) if which == "attn_mask" else (2, 4)
    for dtype in (np.int64, np.float64):
        with pytest.raises(TypeError, match=f"MultiheadAttention: {which} must be boolean or "
                                            f"have the query's dtype float32, got dtype "
                                            f"{np.dtype(dtype)}"):
            ours(x, x, x, **{which: np.zeros(shape, dtype)})
    for need_weights in (True, False):   # and a float32 mask works on both paths
        out, _ = ours(x, x, x, need_weights=need_weights,
                      **{which: np.zeros(shape, np.float32)})
        assert out.dtype == np.float32
