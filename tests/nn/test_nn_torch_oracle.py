"""Every layer against its torch.nn twin, in float64.

Each test builds the scratchgen layer (with its own initialisation), copies its state_dict
into the torch layer (so the parameter and buffer names must match torch's too), runs the
same input forward, sends the same random upstream gradient backward, and compares the
output, the input's gradient and every parameter's gradient.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scratchgen as sg
import scratchgen.nn as nn

torch = pytest.importorskip("torch", reason="the PyTorch oracle tests need torch")

RTOL, ATOL = 1e-10, 1e-12


def copy_weights(ours, theirs):
    """Load our state_dict into the torch module; the keys must be torch's keys."""
    theirs.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in ours.state_dict().items()},
                           strict=True)


def close(got, want, what):
    got = np.asarray(got.data if isinstance(got, sg.Tensor) else got)
    want = want.detach().numpy() if isinstance(want, torch.Tensor) else np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != torch's {want.shape}"
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, err_msg=what)


def check_module(ours, theirs, x, seed=0, copy=True, integer_input=False):
    """Forward + backward through both modules on the same input and upstream gradient."""
    if copy:
        copy_weights(ours, theirs)
    x_ours = sg.Tensor(x.copy(), requires_grad=not integer_input)
    x_theirs = torch.tensor(x.copy(), requires_grad=not integer_input)
    out, expected = ours(x_ours), theirs(x_theirs)
    close(out, expected, "forward")
    u = np.random.default_rng(seed).standard_normal(expected.shape)
    out.backward(sg.Tensor(u.copy()))
    expected.backward(torch.from_numpy(u))
    if not integer_input:
        close(x_ours.grad, x_theirs.grad, "input gradient")
    ours_params, their_params = dict(ours.named_parameters()), dict(theirs.named_parameters())
    assert ours_params.keys() == their_params.keys()
    for name, p in ours_params.items():
        close(p.grad, their_params[name].grad, f"gradient of {name}")
    return out


def randn(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape)


# ---- layers with weights -------------------------------------------------------------------

@settings(max_examples=20)
@given(n_in=st.integers(1, 6), n_out=st.integers(1, 6), bias=st.booleans(),
       batch=st.lists(st.integers(1, 3), max_size=2), seed=st.integers(0, 10**6))
def test_linear_matches_torch(n_in, n_out, bias, batch, seed):
    sg.manual_seed(seed)
    ours = nn.Linear(n_in, n_out, bias=bias, dtype=np.float64)
    theirs = torch.nn.Linear(n_in, n_out, bias=bias, dtype=torch.float64)
    check_module(ours, theirs, randn(seed, *batch, n_in), seed)


@st.composite
def conv_configs(draw, transposed=False):
    groups = draw(st.integers(1, 2))
    config = dict(in_channels=groups * draw(st.integers(1, 2)),
                  out_channels=groups * draw(st.integers(1, 2)),
                  kernel_size=(draw(st.integers(1, 3)), draw(st.integers(1, 3))),
                  stride=(draw(st.integers(1, 2)), draw(st.integers(1, 3))),
                  padding=(draw(st.integers(0, 1)), draw(st.integers(0, 2))),
                  dilation=(draw(st.integers(1, 2)), draw(st.integers(1, 2))),
                  groups=groups, bias=draw(st.booleans()))
    if transposed:
        config["output_padding"] = tuple(draw(st.integers(0, s - 1)) for s in config["stride"])
    size = (draw(st.integers(5, 7)), draw(st.integers(5, 7)))
    return config, size


@pytest.mark.parametrize("name, transposed", [("Conv2d", False), ("ConvTranspose2d", True)])
@settings(max_examples=20)
@given(data=st.data(), batch=st.integers(1, 2), seed=st.integers(0, 10**6))
def test_conv_layers_match_torch(name, transposed, data, batch, seed):
    config, (h, w) = data.draw(conv_configs(transposed=transposed))
    sg.manual_seed(seed)
    ours = getattr(nn, name)(**config, dtype=np.float64)
    theirs = getattr(torch.nn, name)(**config, dtype=torch.float64)
    check_module(ours, theirs, randn(seed, batch, config["in_channels"], h, w), seed)


def test_embedding_matches_torch_including_repeated_indices():
    sg.manual_seed(0)
    ours = nn.Embedding(7, 3, dtype=np.float64)
    theirs = torch.nn.Embedding(7, 3, dtype=torch.float64)
    copy_weights(ours, theirs)
    indices = np.array([[0, 6, 2], [2, 2, 5]])  # row 2 three times: its gradients add up
    out, expected = ours(indices), theirs(torch.from_numpy(indices))
    close(out, expected, "forward")
    u = randn(1, 2, 3, 3)
    out.backward(sg.Tensor(u))
    expected.backward(torch.from_numpy(u))
    close(ours.weight.grad, theirs.weight.grad, "weight gradient")


# ---- normalisation ---------------------------------------------------------------------------

@settings(max_examples=15)
@given(normalized=st.sampled_from([(4,), (3, 4)]), affine=st.booleans(), bias=st.booleans(),
       seed=st.integers(0, 10**6))
def test_layer_norm_matches_torch(normalized, affine, bias, seed):
    ours = nn.LayerNorm(normalized, elementwise_affine=affine, bias=bias, dtype=np.float64)
    theirs = torch.nn.LayerNorm(normalized, elementwise_affine=affine, bias=bias,
                                dtype=torch.float64)
    if affine:  # non-trivial affine parameters, so their gradients are tested
        with torch.no_grad():
            for p in theirs.parameters():
                p.copy_(torch.from_numpy(randn(seed + 1, *p.shape)))
        ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    check_module(ours, theirs, randn(seed, 2, 3, *normalized), seed, copy=False)


@settings(max_examples=15)
@given(groups=st.sampled_from([1, 2, 3, 6]), affine=st.booleans(), spatial=st.integers(0, 2),
       seed=st.integers(0, 10**6))
def test_group_norm_matches_torch(groups, affine, spatial, seed):
    ours = nn.GroupNorm(groups, 6, affine=affine, dtype=np.float64)
    theirs = torch.nn.GroupNorm(groups, 6, affine=affine, dtype=torch.float64)
    if affine:
        with torch.no_grad():
            for p in theirs.parameters():
                p.copy_(torch.from_numpy(randn(seed + 1, *p.shape)))
        ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    check_module(ours, theirs, randn(seed, 2, 6, *[3] * spatial), seed, copy=False)


@pytest.mark.parametrize("layer, shape", [("BatchNorm1d", (8, 3)), ("BatchNorm1d", (4, 3, 5)),
                                          ("BatchNorm2d", (4, 3, 2, 3))])
@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_batch_norm_train_then_eval_matches_torch_with_running_stats(layer, shape, momentum):
    ours = getattr(nn, layer)(3, momentum=momentum, dtype=np.float64)
    theirs = getattr(torch.nn, layer)(3, momentum=momentum, dtype=torch.float64)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor([0.5, -1.0, 2.0]))
        theirs.bias.copy_(torch.tensor([0.1, 0.2, -0.3]))
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    for step in range(3):  # training: batch statistics, running stats move
        for p in list(ours.parameters()) + list(theirs.parameters()):
            p.grad = None
        check_module(ours, theirs, 2 + 3 * randn(step, *shape), seed=step, copy=False)
        for name, value in theirs.state_dict().items():
            close(ours.state_dict()[name], value, f"{name} after training step {step}")
    assert int(ours.num_batches_tracked.item()) == 3
    ours.eval(), theirs.eval()  # evaluation: the running statistics, which stay put
    check_module(ours, theirs, randn(10, *shape), seed=10, copy=False)
    for name, value in theirs.state_dict().items():
        close(ours.state_dict()[name], value, f"{name} after evaluation")


def test_batch_norm_without_running_stats_uses_batch_statistics_in_eval_too():
    ours = nn.BatchNorm1d(3, track_running_stats=False, dtype=np.float64).eval()
    theirs = torch.nn.BatchNorm1d(3, track_running_stats=False, dtype=torch.float64).eval()
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight", "bias"]
    check_module(ours, theirs, randn(0, 6, 3))


# ---- activations and containers --------------------------------------------------------------

ACTIVATIONS = [("ReLU", {}), ("LeakyReLU", {"negative_slope": 0.2}), ("GELU", {}),
               ("GELU", {"approximate": "tanh"}), ("SiLU", {}), ("Sigmoid", {}), ("Tanh", {}),
               ("Softplus", {}), ("Softplus", {"beta": 2.0, "threshold": 3.0})]


@pytest.mark.parametrize("name, kwargs", ACTIVATIONS)
def test_activation_modules_match_torch(name, kwargs):
    x = 3 * randn(0, 4, 5)
    x[np.abs(x) < 1e-3] = 0.5  # away from relu's kink, where the derivative is a convention
    check_module(getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs), x)


def test_sequential_matches_torch_with_torch_state_dict_names():
    sg.manual_seed(3)
    ours = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, dtype=np.float64),
                         nn.BatchNorm2d(4, dtype=np.float64), nn.SiLU(), nn.Flatten(),
                         nn.Linear(4 * 5 * 5, 3, dtype=np.float64),
                         nn.LayerNorm(3, dtype=np.float64))
    theirs = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3, padding=1), torch.nn.BatchNorm2d(4),
                                 torch.nn.SiLU(), torch.nn.Flatten(), torch.nn.Linear(100, 3),
                                 torch.nn.LayerNorm(3)).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    check_module(ours, theirs, randn(0, 2, 2, 5, 5))


# ---- multi-head attention --------------------------------------------------------------------

def mha_pair(embed_dim, heads, batch_first, bias=True, seed=0):
    sg.manual_seed(seed)
    ours = nn.MultiheadAttention(embed_dim, heads, bias=bias, batch_first=batch_first,
                                 dtype=np.float64)
    theirs = torch.nn.MultiheadAttention(embed_dim, heads, bias=bias, batch_first=batch_first,
                                         dtype=torch.float64)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    copy_weights(ours, theirs)
    if bias:  # torch starts the biases at zero; make them non-zero so their gradients count
        with torch.no_grad():
            theirs.in_proj_bias.copy_(torch.from_numpy(randn(seed + 1, 3 * embed_dim)))
            theirs.out_proj.bias.copy_(torch.from_numpy(randn(seed + 2, embed_dim)))
        ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def run_mha(module, lib, q, k, v, **kwargs):
    """Call the module with fresh leaf copies of q, k, v; return the outputs and the leaves."""
    make = ((lambda a: sg.Tensor(a.copy(), requires_grad=True)) if lib == "sg" else
            (lambda a: torch.tensor(a.copy(), requires_grad=True)))
    leaves = [make(a) for a in (q, k, v)]
    convert = (lambda m: m) if lib == "sg" else (
        lambda m: None if m is None else torch.from_numpy(m))
    kwargs = {key: convert(m) if key.endswith("mask") else m for key, m in kwargs.items()}
    out, weights = module(*leaves, **kwargs)
    return out, weights, leaves


def compare_mha(ours, theirs, q, k, v, seed=0, **kwargs):
    ours.zero_grad(), theirs.zero_grad()
    out, weights, leaves = run_mha(ours, "sg", q, k, v, **kwargs)
    t_out, t_weights, t_leaves = run_mha(theirs, "torch", q, k, v, **kwargs)
    close(out, t_out, "attention output")
    if t_weights is None:
        assert weights is None
    else:
        close(weights, t_weights, "attention weights")
    u = randn(seed + 7, *t_out.shape)
    loss = (out * sg.Tensor(u)).sum()
    t_loss = (t_out * torch.from_numpy(u)).sum()
    if weights is not None:  # the weights are an output too: their gradient must flow
        w_u = randn(seed + 8, *t_weights.shape)
        loss = loss + (weights * sg.Tensor(w_u)).sum()
        t_loss = t_loss + (t_weights * torch.from_numpy(w_u)).sum()
    loss.backward()
    t_loss.backward()
    for name, leaf, t_leaf in zip("qkv", leaves, t_leaves):
        close(leaf.grad, t_leaf.grad, f"gradient of {name}")
    their_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        close(p.grad, their_params[name].grad, f"gradient of {name}")


def padding_mask(seed, n, s):
    """A boolean key padding mask (True = padding) that leaves every row at least one key."""
    mask = np.random.default_rng(seed).random((n, s)) < 0.4
    mask[:, 0] = False
    return mask


def attention_masks(kind, n, heads, l, s, seed):
    """Masks of one kind, in torch's MHA conventions, never masking out a whole row."""
    rng = np.random.default_rng(seed + 5)
    if kind == "none":
        return {}
    if kind == "bool":  # True = NOT allowed; key 0 stays visible to every query
        mask = rng.random((l, s)) < 0.4
        mask[:, 0] = False
        return {"attn_mask": mask}
    if kind == "float":
        return {"attn_mask": rng.standard_normal((l, s))}
    if kind == "per_head":  # (N * H, L, S): batch-major, as torch lays it out
        return {"attn_mask": rng.standard_normal((n * heads, l, s))}
    if kind == "padding":
        return {"key_padding_mask": padding_mask(seed, n, s)}
    if kind == "both":
        mask = rng.random((l, s)) < 0.3
        mask[:, 0] = False
        return {"attn_mask": mask, "key_padding_mask": padding_mask(seed, n, s)}
    assert kind == "float_both"
    return {"attn_mask": rng.standard_normal((l, s)),
            "key_padding_mask": np.where(padding_mask(seed, n, s), -np.inf, 0.0)}


MASK_KINDS = ["none", "bool", "float", "per_head", "padding", "both", "float_both"]


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("mask_kind", MASK_KINDS)
def test_multihead_attention_with_each_mask_matches_torch(batch_first, mask_kind):
    n, heads, l, s, e = 3, 2, 3, 4, 8
    ours, theirs = mha_pair(e, heads, batch_first)
    layout = (lambda length: (n, length, e)) if batch_first else (lambda length: (length, n, e))
    q, k, v = randn(0, *layout(l)), randn(1, *layout(s)), randn(2, *layout(s))
    masks = attention_masks(mask_kind, n, heads, l, s, seed=0)
    compare_mha(ours, theirs, q, k, v, need_weights=True, average_attn_weights=False, **masks)
    compare_mha(ours, theirs, q, k, v, need_weights=False, **masks)


@settings(max_examples=20)
@given(batch_first=st.booleans(), heads=st.sampled_from([1, 2, 4]), l=st.integers(1, 4),
       s=st.integers(1, 4), n=st.integers(1, 3), need_weights=st.booleans(),
       average=st.booleans(), bias=st.booleans(),
       mask_kind=st.sampled_from(MASK_KINDS),
       seed=st.integers(0, 10**6))
def test_multihead_attention_matches_torch(batch_first, heads, l, s, n, need_weights, average,
                                           bias, mask_kind, seed):
    e = 8
    ours, theirs = mha_pair(e, heads, batch_first, bias, seed)
    layout = (lambda length: (n, length, e)) if batch_first else (lambda length: (length, n, e))
    q, k, v = randn(seed, *layout(l)), randn(seed + 3, *layout(s)), randn(seed + 4, *layout(s))
    masks = attention_masks(mask_kind, n, heads, l, s, seed)
    compare_mha(ours, theirs, q, k, v, seed, need_weights=need_weights,
                average_attn_weights=average, **masks)


@pytest.mark.parametrize("need_weights", [True, False])
def test_multihead_attention_unbatched_input_matches_torch(need_weights):
    ours, theirs = mha_pair(6, 3, batch_first=False)
    q, kv = randn(0, 4, 6), randn(1, 5, 6)
    compare_mha(ours, theirs, q, kv, kv, key_padding_mask=np.array([0, 0, 1, 0, 1], bool),
                need_weights=need_weights)


@pytest.mark.parametrize("need_weights", [True, False])
def test_multihead_attention_causal_mask_matches_torch(need_weights):
    ours, theirs = mha_pair(8, 2, batch_first=True)
    x = randn(0, 2, 5, 8)
    causal = np.triu(np.ones((5, 5), bool), k=1)  # True above the diagonal = the future
    compare_mha(ours, theirs, x, x, x, attn_mask=causal, is_causal=True,
                need_weights=need_weights)
    # is_causal alone builds that mask (torch insists on being given it)
    alone, _, _ = run_mha(ours, "sg", x, x, x, is_causal=True, need_weights=need_weights)
    masked, _, _ = run_mha(theirs, "torch", x, x, x, attn_mask=causal,
                           need_weights=need_weights)
    close(alone, masked, "is_causal without a mask")


def test_multihead_attention_dropout_is_off_in_eval_mode():
    ours, theirs = mha_pair(8, 2, batch_first=False)
    ours.dropout = theirs.dropout = 0.5
    ours.eval(), theirs.eval()
    x = randn(0, 3, 2, 8)
    compare_mha(ours, theirs, x, x, x)


def test_multihead_attention_boolean_mask_means_not_allowed():
    """A key that is masked out for every query must not influence the output at all."""
    ours, _ = mha_pair(4, 2, batch_first=True, bias=False)
    q, k, v = randn(0, 1, 3, 4), randn(1, 1, 4, 4), randn(2, 1, 4, 4)
    mask = np.zeros((3, 4), bool)
    mask[:, 2] = True
    out, weights = ours(sg.Tensor(q), sg.Tensor(k), sg.Tensor(v), attn_mask=mask)
    v_changed = v.copy()
    v_changed[:, 2] += 100.0
    out_changed, _ = ours(sg.Tensor(q), sg.Tensor(k), sg.Tensor(v_changed), attn_mask=mask)
    np.testing.assert_array_equal(weights.data[..., 2], 0.0)
    np.testing.assert_allclose(out.data, out_changed.data, rtol=1e-12, atol=1e-12)
