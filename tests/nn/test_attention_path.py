"""One attention path: F.scaled_dot_product_attention and nn.MultiheadAttention both run
`scratchgen.functional.attention.attend`.

    MultiheadAttention (need_weights True/False, masks, dropout 0) equals torch's, weights too
    dropout_p: seeded, it equals softmax -> the same dropout draw -> @ v; gradcheck in float64
    dropout_p=0 (or eval mode) is the kernels' path bit for bit and draws nothing
    MultiheadAttention, GPT's and the U-Net's attention call `attend` (a spy counts the calls)
"""
import numpy as np
import pytest
from helpers import gradcheck, gradgradcheck

import scratchgen as sg
import scratchgen.functional as F
import scratchgen.nn as nn
from scratchgen.engine import random
from scratchgen.engine.ops.attention import Attention
from scratchgen.functional import attention as attention_path

torch = pytest.importorskip("torch", reason="the PyTorch oracle tests need torch")

RTOL, ATOL = 1e-10, 1e-12


def randn(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape)


def close(got, want, what, rtol=RTOL, atol=ATOL):
    got = np.asarray(got.data if isinstance(got, sg.Tensor) else got)
    want = want.detach().numpy() if isinstance(want, torch.Tensor) else np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=what)


def reference_softmax(q, k, scale=None, allowed=None):
    """softmax(q k^T * scale) over the allowed keys (True = may attend); empty rows give 0."""
    scale = 1 / np.sqrt(q.shape[-1]) if scale is None else scale
    scores = q @ np.swapaxes(k, -1, -2) * scale                         # (..., L, S)
    if allowed is not None:
        scores = np.where(allowed, scores, -np.inf)
    row_max = scores.max(axis=-1, keepdims=True)
    e = np.exp(scores - np.where(np.isfinite(row_max), row_max, 0))
    total = e.sum(axis=-1, keepdims=True)
    return e / np.where(total > 0, total, 1)


def reference_dropout(weights, p, seed):
    """weights * keep / (1 - p) with keep drawn as F.dropout draws it, after manual_seed."""
    sg.manual_seed(seed)
    keep = random.generator().random(weights.shape) >= p
    return weights * keep / (1 - p)


# ---- (1) MultiheadAttention against torch, dropout 0 ------------------------------------------

def mha_pair(e, heads, batch_first, seed=0):
    sg.manual_seed(seed)
    ours = nn.MultiheadAttention(e, heads, batch_first=batch_first, dtype=np.float64)
    theirs = torch.nn.MultiheadAttention(e, heads, batch_first=batch_first, dtype=torch.float64)
    state = ours.state_dict()
    state["in_proj_bias"] = randn(seed + 1, 3 * e)           # non-zero biases, so they count
    state["out_proj.bias"] = randn(seed + 2, e)
    ours.load_state_dict(state)
    theirs.load_state_dict({key: torch.from_numpy(np.array(v)) for key, v in state.items()})
    return ours, theirs


def masks_of(kind, n, l, s, seed):
    """MHA masks (True = NOT allowed), never masking a whole row."""
    rng = np.random.default_rng(seed)
    if kind == "none":
        return {}
    if kind == "causal":
        return {"attn_mask": np.triu(np.ones((l, s), bool), k=1)}
    if kind == "float":
        return {"attn_mask": rng.standard_normal((l, s))}
    padding = rng.random((n, s)) < 0.4
    padding[:, 0] = False
    return {"key_padding_mask": padding}


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("need_weights, average", [(True, True), (True, False), (False, True)])
@pytest.mark.parametrize("kind", ["none", "causal", "float", "padding"])
def test_multihead_attention_output_and_weights_equal_torch(batch_first, need_weights, average,
                                                            kind):
    n, heads, l, e = 2, 2, 4, 8
    ours, theirs = mha_pair(e, heads, batch_first)
    x = randn(3, n, l, e) if batch_first else randn(3, l, n, e)
    masks = masks_of(kind, n, l, l, seed=4)
    xs, tx = sg.Tensor(x.copy(), requires_grad=True), torch.tensor(x.copy(), requires_grad=True)
    out, weights = ours(xs, xs, xs, need_weights=need_weights, average_attn_weights=average,
                        **masks)
    t_out, t_weights = theirs(tx, tx, tx, need_weights=need_weights,
                              average_attn_weights=average,
                              **{key: torch.from_numpy(m) for key, m in masks.items()})
    close(out, t_out, "output")
    if not need_weights:
        assert weights is None and t_weights is None
    else:
        close(weights, t_weights, "weights")
    u = randn(5, *out.shape)
    loss, t_loss = (out * sg.Tensor(u)).sum(), (t_out * torch.from_numpy(u)).sum()
    if need_weights:                                    # the weights' gradient flows too
        w_u = randn(6, *weights.shape)
        loss = loss + (weights * sg.Tensor(w_u)).sum()
        t_loss = t_loss + (t_weights * torch.from_numpy(w_u)).sum()
    loss.backward()
    t_loss.backward()
    close(xs.grad, tx.grad, "gradient of the input")
    their_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        close(p.grad, their_params[name].grad, f"gradient of {name}")


def test_multihead_attention_dropout_in_training_is_the_seeded_draw_on_the_weights():
    """Training with dropout: weights = softmax * keep / (1 - p), keep drawn as F.dropout
    draws it, and the output is out_proj(merge(weights @ V))."""
    n, heads, l, e, p = 2, 2, 3, 4, 0.4
    ours, _ = mha_pair(e, heads, batch_first=True)
    ours.dropout = p
    x = randn(7, n, l, e)
    sg.manual_seed(11)
    out, weights = ours.train()(sg.Tensor(x), sg.Tensor(x), sg.Tensor(x),
                                average_attn_weights=False)                 # (N, H, L, S)
    w = ours.in_proj_weight.data
    b = ours.in_proj_bias.data
    q, k, v = ((x @ w[i * e:(i + 1) * e].T + b[i * e:(i + 1) * e])
               .reshape(n, l, heads, e // heads).transpose(0, 2, 1, 3) for i in range(3))
    want = reference_dropout(reference_softmax(q, k), p, seed=11)            # (N, H, L, S)
    close(weights, want, "dropped weights")
    heads_out = (want @ v).transpose(0, 2, 1, 3).reshape(n, l, e)          # (N, L, E)
    close(out, heads_out @ ours.out_proj.weight.data.T + ours.out_proj.bias.data, "output")


# ---- (2) dropout_p in F.scaled_dot_product_attention ------------------------------------------

def sdpa_inputs(seed, batch=(2, 2), l=3, s=4, e=3, ev=2):
    return randn(seed, *batch, l, e), randn(seed + 1, *batch, s, e), randn(seed + 2, *batch, s, ev)


@pytest.mark.parametrize("kind", ["none", "causal", "bool", "empty_row"])
@pytest.mark.parametrize("p", [0.25, 0.6])
def test_sdpa_dropout_equals_softmax_then_the_seeded_dropout_then_v(kind, p):
    q, k, v = sdpa_inputs(0)
    l, s = q.shape[-2], k.shape[-2]
    kwargs, allowed = {}, None
    if kind == "causal":
        kwargs["is_causal"], allowed = True, np.tril(np.ones((l, s), bool))
    elif kind in ("bool", "empty_row"):
        allowed = np.random.default_rng(9).random((l, s)) < 0.6
        allowed[:, 0] = kind == "bool"                  # an empty row 0 only for "empty_row"
        if kind == "empty_row":
            allowed[0] = False
        kwargs["attn_mask"] = allowed
    sg.manual_seed(3)
    out = F.scaled_dot_product_attention(sg.Tensor(q), sg.Tensor(k), sg.Tensor(v),
                                         dropout_p=p, **kwargs)
    want = reference_dropout(reference_softmax(q, k, allowed=allowed), p, seed=3) @ v
    assert not np.isnan(out.data).any()
    close(out, want, "dropped-out attention", rtol=1e-12, atol=1e-13)
    # attend with need_weights returns the very weights that multiplied v
    sg.manual_seed(3)
    out2, weights = attention_path.attend(q, k, v, dropout_p=p, need_weights=True, **kwargs)
    np.testing.assert_array_equal(out2.data, out.data)
    close(weights, reference_dropout(reference_softmax(q, k, allowed=allowed), p, seed=3),
          "weights")


@pytest.mark.parametrize("kwargs", [{}, {"is_causal": True}, {"scale": 0.3},
                                    {"attn_mask": np.array([[True, False, True, True],
                                                            [False, False, False, False],
                                                            [True, True, False, True]])}])
def test_sdpa_dropout_gradients_pass_gradcheck(kwargs):
    def fn(q, k, v):
        sg.manual_seed(5)                               # the same dropout mask every call
        return F.scaled_dot_product_attention(q, k, v, dropout_p=0.3, **kwargs)

    gradcheck(fn, *sdpa_inputs(1, batch=(2,)))


def test_attend_weights_and_dropout_pass_gradgradcheck():
    def fn(q, k, v):
        sg.manual_seed(5)
        out, weights = attention_path.attend(q, k, v, dropout_p=0.3, need_weights=True)
        return out.sum(axis=-1) + (weights * weights).sum(axis=-1)       # (1, L)

    gradcheck(fn, *sdpa_inputs(2, batch=(1,)))
    gradgradcheck(fn, *sdpa_inputs(2, batch=(1,), l=2, s=3, e=2, ev=2))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["none", "causal", "bool", "float"])
def test_dropout_p_zero_is_the_kernel_path_bit_for_bit_and_draws_nothing(dtype, kind):
    q, k, v = (a.astype(dtype) for a in sdpa_inputs(3, l=5, s=5))
    mask = {"none": None, "causal": None, "bool": np.random.default_rng(1).random((5, 5)) < 0.6,
            "float": randn(2, 5, 5).astype(dtype)}[kind]
    causal = kind == "causal"
    scale = 1 / np.sqrt(q.shape[-1])
    u = randn(4, *q.shape[:-1], v.shape[-1]).astype(dtype)

    def run(fn):
        leaves = [sg.Tensor(a.copy(), requires_grad=True) for a in (q, k, v)]
        out = fn(*leaves)
        out.backward(sg.Tensor(u))
        return [out.data] + [t.grad.data for t in leaves]

    state = random.get_state()
    plain = run(lambda *t: Attention(mask, causal, scale)(*t))
    for p_kwargs in ({}, {"dropout_p": 0.0}, {"dropout_p": 0}):
        got = run(lambda *t: F.scaled_dot_product_attention(*t, attn_mask=mask, is_causal=causal,
                                                            **p_kwargs))
        for a, b in zip(got, plain):
            np.testing.assert_array_equal(a, b)
    assert random.get_state() == state, "dropout_p=0 must not draw from the generator"


def test_multihead_attention_in_eval_is_the_plain_path_bit_for_bit():
    sg.manual_seed(0)
    mha = nn.MultiheadAttention(8, 2, dropout=0.5, batch_first=True)
    plain = nn.MultiheadAttention(8, 2, dropout=0.0, batch_first=True)
    plain.load_state_dict(mha.state_dict())
    x = sg.randn(2, 5, 8)
    mha.eval()
    state = random.get_state()
    for need_weights in (True, False):
        out, weights = mha(x, x, x, need_weights=need_weights)
        want, want_weights = plain.train()(x, x, x, need_weights=need_weights)
        np.testing.assert_array_equal(out.data, want.data)
        if need_weights:
            np.testing.assert_array_equal(weights.data, want_weights.data)
    assert random.get_state() == state


def test_dropout_p_one_gives_zeros_and_a_bad_p_is_refused():
    q, k, v = (sg.Tensor(a) for a in sdpa_inputs(4))
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=1.0)
    np.testing.assert_array_equal(out.data, 0.0)
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match="dropout_p must be in"):
            F.scaled_dot_product_attention(q, k, v, dropout_p=bad)


def test_attend_weights_without_dropout_equal_the_softmax_and_the_plain_output():
    q, k, v = sdpa_inputs(5)
    allowed = np.ones((3, 4), bool)
    allowed[1] = False                                  # a fully masked row: zeros, not NaN
    out, weights = attention_path.attend(q, k, v, attn_mask=allowed, need_weights=True)
    close(weights, reference_softmax(q, k, allowed=allowed), "weights")
    close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=allowed), "output",
          rtol=1e-12, atol=1e-13)
    np.testing.assert_array_equal(weights.data[..., 1, :], 0.0)
    assert attention_path.attend(q, k, v)[1] is None


# ---- (3) everything calls the shared function ---------------------------------------------------

@pytest.fixture
def spy(monkeypatch):
    """Replace attend by a wrapper that records each call's need_weights and dropout_p."""
    calls, real = [], attention_path.attend

    def counting(*args, **kwargs):
        result = real(*args, **kwargs)
        calls.append({"need_weights": kwargs.get("need_weights", False),
                      "dropout_p": kwargs.get("dropout_p", args[4] if len(args) > 4 else 0.0),
                      "weights": result[1]})
        return result

    monkeypatch.setattr(attention_path, "attend", counting)
    return calls


@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("need_weights", [False, True])
def test_multihead_attention_calls_the_shared_function(spy, training, need_weights):
    sg.manual_seed(0)
    mha = nn.MultiheadAttention(8, 2, dropout=0.3, batch_first=True).train(training)
    x = sg.randn(2, 4, 8)
    _, weights = mha(x, x, x, need_weights=need_weights, average_attn_weights=False)
    assert len(spy) == 1, "MultiheadAttention must compute attention through attend"
    assert spy[0]["need_weights"] == need_weights
    assert spy[0]["dropout_p"] == (0.3 if training else 0.0)
    if need_weights:
        assert weights is spy[0]["weights"]            # the weights are attend's, not redone


def test_sdpa_and_the_models_attention_call_the_shared_function(spy):
    from scratchgen.models.gpt import CausalSelfAttention
    from scratchgen.models.unet import SelfAttention

    q = sg.randn(1, 2, 3, 4)
    F.scaled_dot_product_attention(q, q, q)
    assert len(spy) == 1
    CausalSelfAttention(8, 2)(sg.randn(2 * 3, 8), 2, 3)
    assert len(spy) == 2
    SelfAttention(8, heads=2)(sg.randn(1, 8, 2, 2))
    assert len(spy) == 3
