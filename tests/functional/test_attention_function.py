"""The Attention Function behind F.scaled_dot_product_attention, with each registered kernel:
forward and gradients equal torch's (the oracle) and the composed path's, on 4-D
(..., H, L, E) inputs with broadcasting; fully masked rows give zeros (torch 2.13);
double backward (create_graph=True) equals torch's; nn.MultiheadAttention with
need_weights=False equals torch's.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scratchgen as sg
import scratchgen.functional as F
import scratchgen.nn as nn
from scratchgen import kernels
from scratchgen.engine.ops.attention import composed_attention

torch = pytest.importorskip("torch", reason="the PyTorch oracle tests need torch")
tF = torch.nn.functional

NAMES = kernels.available("attention_forward", "cpu")   # reference, rowwise, flash, ...


def leaves(arrays):
    return ([sg.Tensor(a, requires_grad=True) for a in arrays],
            [torch.tensor(a, requires_grad=True) for a in arrays])


def close(got, want, what, rtol=1e-9, atol=1e-10):
    got = np.asarray(got.data if isinstance(got, sg.Tensor) else got)
    want = want.detach().numpy() if isinstance(want, torch.Tensor) else np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=what)


@st.composite
def sdpa_case(draw):
    """4-D inputs (N, H, L, E) whose batch dims broadcast, and a mask of one kind."""
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    n, h = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    length, source = draw(st.integers(1, 70)), draw(st.integers(1, 70))
    e, ev = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    k_batch = draw(st.sampled_from([(n, h), (1, h), (h,)]))     # k, v shared over batch
    q = rng.standard_normal((n, h, length, e))
    k = rng.standard_normal(k_batch + (source, e))
    v = rng.standard_normal(k_batch + (source, ev))
    kind = draw(st.sampled_from(["none", "causal", "bool", "bool_per_batch", "float"]))
    kwargs = {}
    if kind == "causal":
        kwargs["is_causal"] = True
    elif kind.startswith("bool"):
        shape = (n, 1, length, source) if kind == "bool_per_batch" else (length, source)
        mask = rng.random(shape) < 0.6
        mask[..., rng.integers(0, length), :] = False   # a fully masked row: zeros in torch 2.13
        kwargs["attn_mask"] = mask
    elif kind == "float":
        mask = rng.standard_normal((h, length, source))
        mask[rng.random(mask.shape) < 0.2] = -np.inf
        kwargs["attn_mask"] = mask
    if draw(st.booleans()):
        kwargs["scale"] = 0.4
    return (q, k, v), kwargs, rng.standard_normal((n, h, length, ev))


def torch_kwargs(kwargs):
    return {key: torch.from_numpy(m) if key == "attn_mask" else m for key, m in kwargs.items()}


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=15)
@given(case=sdpa_case())
def test_sdpa_forward_and_gradients_equal_torch_and_the_composed_path(name, case):
    arrays, kwargs, upstream = case
    (q, k, v), (tq, tk, tv) = leaves(arrays)
    with sg.use_kernels(attention_forward=name, attention_backward=name):
        out = F.scaled_dot_product_attention(q, k, v, **kwargs)
        (out * sg.Tensor(upstream)).sum().backward()
    t_out = tF.scaled_dot_product_attention(tq, tk, tv, **torch_kwargs(kwargs))
    (t_out * torch.from_numpy(upstream)).sum().backward()
    close(out, t_out, "output")
    for what, x, tx in zip("qkv", (q, k, v), (tq, tk, tv)):
        close(x.grad, tx.grad, f"gradient of {what}")

    # the composed Tensor-op path gives the same values
    scale = kwargs.get("scale", 1 / np.sqrt(arrays[0].shape[-1]))
    mask = kwargs.get("attn_mask")
    composed = composed_attention(sg.Tensor(arrays[0]), sg.Tensor(arrays[1]),
                                  sg.Tensor(arrays[2]), mask, kwargs.get("is_causal", False), scale)
    close(out, composed.data, "composed path")


@pytest.mark.parametrize("name", NAMES)
def test_fully_masked_rows_are_zero_with_zero_gradients_as_in_torch(name):
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal((2, 3, 6, 4)) for _ in range(3)]
    mask = rng.random((6, 6)) < 0.5
    mask[2] = False
    mask[0, 0] = True
    (q, k, v), (tq, tk, tv) = leaves(arrays)
    with sg.use_kernels(attention_forward=name, attention_backward=name):
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        out.sum().backward()
    t_out = tF.scaled_dot_product_attention(tq, tk, tv, attn_mask=torch.from_numpy(mask))
    t_out.sum().backward()
    assert np.all(out.data[..., 2, :] == 0) and not np.isnan(out.data).any()
    assert np.all(q.grad.data[..., 2, :] == 0)
    close(out, t_out, "output")
    for what, x, tx in zip("qkv", (q, k, v), (tq, tk, tv)):
        close(x.grad, tx.grad, f"gradient of {what}")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("kind", ["causal", "bool", "float"])
def test_double_backward_equals_torch(name, kind):
    """grad(create_graph=True), then the gradient of a function of that gradient."""
    rng = np.random.default_rng(4)
    arrays = [rng.standard_normal((2, 2, 5, 3)), rng.standard_normal((2, 2, 7, 3)),
              rng.standard_normal((2, 2, 7, 4))]
    kwargs = {"causal": {"is_causal": True},
              "bool": {"attn_mask": rng.random((5, 7)) < 0.7},
              "float": {"attn_mask": rng.standard_normal((5, 7))}}[kind]
    upstream = rng.standard_normal((2, 2, 5, 4))
    (q, k, v), (tq, tk, tv) = leaves(arrays)
    with sg.use_kernels(attention_forward=name, attention_backward=name):
        out = F.scaled_dot_product_attention(q, k, v, **kwargs)
        gq, gk = sg.grad((out * sg.Tensor(upstream)).sum(), [q, k], create_graph=True)
        ((gq ** 2).sum() + (gk * gk.data).sum()).backward()
    t_out = tF.scaled_dot_product_attention(tq, tk, tv, **torch_kwargs(kwargs))
    tgq, tgk = torch.autograd.grad((t_out * torch.from_numpy(upstream)).sum(), [tq, tk],
                                   create_graph=True)
    ((tgq ** 2).sum() + (tgk * tgk.detach()).sum()).backward()
    close(gq, tgq, "first gradient of q")
    for what, x, tx in zip("qkv", (q, k, v), (tq, tk, tv)):
        close(x.grad, tx.grad, f"second-order gradient of {what}", rtol=1e-8, atol=1e-9)


def test_a_float_mask_that_requires_grad_gets_its_gradient():
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 6, 3)),
              rng.standard_normal((2, 6, 2)), rng.standard_normal((4, 6))]
    (q, k, v, m), (tq, tk, tv, tm) = leaves(arrays)
    with sg.use_kernels(attention_forward="flash", attention_backward="flash"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=m).sum().backward()
    tF.scaled_dot_product_attention(tq, tk, tv, attn_mask=tm).sum().backward()
    close(m.grad, tm.grad, "gradient of the mask")
    close(q.grad, tq.grad, "gradient of q")


def test_float32_flash_through_F_matches_the_reference_kernel():
    rng = np.random.default_rng(6)
    arrays = [rng.standard_normal((2, 4, 200, 16)).astype(np.float32) for _ in range(3)]
    results = {}
    for name in ("reference", "flash"):
        q, k, v = (sg.Tensor(a, requires_grad=True) for a in arrays)
        with sg.use_kernels(attention_forward=name, attention_backward=name):
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            (out * out).sum().backward()
        assert out.dtype == np.float32 and q.grad.dtype == np.float32
        results[name] = [out.data, q.grad.data, k.grad.data, v.grad.data]
    for got, want in zip(results["flash"], results["reference"]):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", ["flash", "rowwise"])
@pytest.mark.parametrize("mask_kind", ["none", "causal", "padding"])
def test_multihead_attention_without_weights_equals_torch(name, mask_kind):
    n, heads, l, e = 3, 2, 5, 8
    sg.manual_seed(0)
    ours = nn.MultiheadAttention(e, heads, batch_first=True, dtype=np.float64)
    theirs = torch.nn.MultiheadAttention(e, heads, batch_first=True, dtype=torch.float64)
    theirs.load_state_dict({key: torch.from_numpy(p.copy())
                            for key, p in ours.state_dict().items()})
    rng = np.random.default_rng(7)
    x = rng.standard_normal((n, l, e))
    kwargs, t_kwargs = {}, {}
    if mask_kind == "causal":
        causal = np.triu(np.ones((l, l), bool), k=1)     # MHA: True = NOT allowed
        kwargs, t_kwargs = {"attn_mask": causal}, {"attn_mask": torch.from_numpy(causal)}
    elif mask_kind == "padding":
        pad = rng.random((n, l)) < 0.4
        pad[:, 0] = False
        kwargs, t_kwargs = ({"key_padding_mask": pad},
                            {"key_padding_mask": torch.from_numpy(pad)})
    (xs,), (tx,) = leaves([x])
    with sg.use_kernels(attention_forward=name, attention_backward=name):
        out, weights = ours(xs, xs, xs, need_weights=False, **kwargs)
        out.sum().backward()
    t_out, _ = theirs(tx, tx, tx, need_weights=False, **t_kwargs)
    t_out.sum().backward()
    assert weights is None
    close(out, t_out, "output")
    close(xs.grad, tx.grad, "gradient of the input")
    their_params = dict(theirs.named_parameters())
    for key, p in ours.named_parameters():
        close(p.grad, their_params[key].grad, f"gradient of {key}")
