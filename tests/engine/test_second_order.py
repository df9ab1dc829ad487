"""Gradients of gradients (create_graph=True) against finite differences of the gradient,
for the elementwise ops, reductions, shape ops, matmul, convolution, pooling and norms,
and a WGAN-GP gradient penalty through an MLP and a conv critic, compared with torch."""
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import scratchgen as sg
import scratchgen.functional as F
from helpers import BINARY_OPS, arrays, as_float, broadcast_shapes, gradgradcheck, seeds, shapes

UNARY = {
    "exp": (lambda x: x.exp(), (-2, 2), ()),
    "log": (lambda x: x.log(), (0.3, 3), ()),
    "sqrt": (lambda x: x.sqrt(), (0.3, 3), ()),
    "tanh": (lambda x: x.tanh(), (-2, 2), ()),
    "sigmoid": (lambda x: x.sigmoid(), (-3, 3), ()),
    "abs": (lambda x: x.abs() * x, (-2, 2), (0.0,)),
    "clip": (lambda x: x.clip(-0.5, 0.7) * x, (-2, 2), (-0.5, 0.7)),
    "cube": (lambda x: x ** 3.0, (-2, 2), ()),
    "rpow": (lambda x: 2.0 ** x, (-2, 2), ()),
    "rdiv": (lambda x: 1.5 / x, (-2, 2), (0.0,)),
    "neg_square": (lambda x: -(x * x), (-2, 2), ()),
}

BINARY = BINARY_OPS


@pytest.mark.parametrize("name", sorted(UNARY))
@given(data=st.data())
def test_unary_second_order(name, data):
    op, (low, high), kinks = UNARY[name]
    x = data.draw(arrays(shapes(max_side=3), low, high, kinks=kinks))
    gradgradcheck(op, x)


@pytest.mark.parametrize("name", sorted(BINARY))
@given(pair=broadcast_shapes(max_side=3), data=st.data())
def test_binary_second_order_with_broadcasting(name, pair, data):
    op, a_range, b_range, kinks = BINARY[name]
    a = data.draw(arrays(pair[0], *a_range))
    b = data.draw(arrays(pair[1], *b_range, kinks=kinks))
    gradgradcheck(op, a, b)


@pytest.mark.parametrize("name", ["maximum", "minimum"])
@given(pair=broadcast_shapes(max_side=3), seed=seeds())
def test_maximum_minimum_second_order(name, pair, seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(-10, 10, size=pair[0]) * 0.2
    b = rng.integers(-10, 10, size=pair[1]) * 0.2 + 0.1
    op = getattr(sg, name)
    gradgradcheck(lambda p, q: op(p, q) * p * q, a, b)


@given(data=st.data())
def test_where_second_order(data):
    x = data.draw(arrays(shapes(min_dims=1, max_side=3)))
    cond = x > 0
    gradgradcheck(lambda t: sg.where(cond, t * t, t.exp()), x)


@given(data=st.data())
def test_matmul_second_order(data):
    m, k, n = (data.draw(st.integers(1, 3)) for _ in range(3))
    batch = data.draw(st.sampled_from([(), (2,)]))
    shape_a = data.draw(st.sampled_from([(k,), batch + (m, k)]))
    a = data.draw(arrays(shape_a))
    b = data.draw(arrays((k, n)))
    gradgradcheck(lambda p, q: (p @ q).tanh(), a, b)
    gradgradcheck(lambda p, q: p @ q, a, b)


@pytest.mark.parametrize("name", ["sum", "mean", "var", "logsumexp", "max", "min"])
@given(data=st.data(), keepdims=st.booleans())
def test_reduction_second_order(name, data, keepdims):
    x = data.draw(arrays(shapes(min_dims=1, max_side=3), distinct=name in ("max", "min")))
    axis = data.draw(st.one_of(st.none(), st.integers(-x.ndim, x.ndim - 1)))
    gradgradcheck(lambda t: getattr(t, name)(axis=axis, keepdims=keepdims) * t.sum(), x)


@given(data=st.data())
def test_shape_ops_second_order(data):
    x = data.draw(arrays(shapes(min_dims=2, max_dims=2, max_side=3)))
    rows = np.array([0, 0, x.shape[0] - 1])
    gradgradcheck(lambda t: (t.T.reshape(t.size) ** 2.0)[::-2], x)
    gradgradcheck(lambda t: sg.concatenate([t, t * t], axis=1)[rows].unsqueeze(0).sum(axis=1), x)
    gradgradcheck(lambda t: sg.stack([t, t.exp()], axis=-1).flatten() ** 2.0, x)
    gradgradcheck(lambda t: sg.pad(t * t, ((1, 0), (0, 2))).broadcast_to((2,) + tuple(
        n + p for n, p in zip(t.shape, (1, 2)))), x)


# ---- convolution, pooling, norms ------------------------------------------------------------

@st.composite
def conv_case(draw, transposed=False):
    groups = draw(st.sampled_from([1, 2]))
    c_in = groups * draw(st.integers(1, 2))
    c_out = groups * draw(st.integers(1, 2))
    k = draw(st.integers(1, 2))
    stride = draw(st.integers(1, 2))
    padding = draw(st.integers(0, 1))
    dilation = draw(st.integers(1, 2))
    size = draw(st.integers(2, 4)) if transposed else draw(st.integers(dilation * (k - 1) + 1, 4))
    if transposed:  # the output (size-1)*stride - 2*padding + dilation*(k-1) + 1 must be non-empty
        assume((size - 1) * stride - 2 * padding + dilation * (k - 1) + 1 > 0)
    x = draw(arrays((1, c_in, size, size), layout=False))
    if transposed:
        w = draw(arrays((c_in, c_out // groups, k, k), layout=False))
    else:
        w = draw(arrays((c_out, c_in // groups, k, k), layout=False))
    b = draw(arrays((c_out,), layout=False))
    return x, w, b, dict(stride=stride, padding=padding, dilation=dilation, groups=groups)


@settings(max_examples=10)
@given(case=conv_case())
def test_conv2d_second_order(case):
    x, w, b, geometry = case
    gradgradcheck(lambda x, w, b: F.conv2d(x, w, b, **geometry), x, w, b)


@settings(max_examples=10)
@given(case=conv_case(transposed=True))
def test_conv_transpose2d_second_order(case):
    x, w, b, geometry = case
    gradgradcheck(lambda x, w, b: F.conv_transpose2d(x, w, b, **geometry), x, w, b)


@settings(max_examples=10)
@given(seed=seeds(), kernel=st.integers(1, 2), stride=st.sampled_from([None, 1, 2]))
def test_pooling_second_order(seed, kernel, stride):
    rng = np.random.default_rng(seed)
    x = rng.permutation(np.arange(2 * 16) * 0.1).reshape(1, 2, 4, 4)  # distinct: no ties
    gradgradcheck(lambda t: F.max_pool2d(t, kernel, stride) ** 2.0, x)
    gradgradcheck(lambda t: F.avg_pool2d(t, kernel, stride) ** 2.0, x)


@settings(max_examples=10)
@given(seed=seeds())
def test_normalization_second_order(seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 4, 2))
    w, b = rng.standard_normal(4), rng.standard_normal(4)
    gradgradcheck(lambda t, w, b: F.layer_norm(t.transpose(0, 2, 1), (4,), w, b), x, w, b)
    gradgradcheck(lambda t, w, b: F.group_norm(t, 2, w, b), x, w, b)
    gradgradcheck(lambda t, w, b: F.batch_norm(t, None, None, w, b, training=True), x, w, b)


@settings(max_examples=10)
@given(seed=seeds())
def test_activation_and_loss_second_order(seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, (2, 3))
    x = np.where(np.abs(x) < 0.1, 0.1, x)
    target = rng.random((2, 3))
    labels = rng.integers(0, 3, size=2)
    gradgradcheck(lambda t: F.softmax(t, axis=-1), x)
    gradgradcheck(lambda t: F.log_softmax(t, axis=0), x)
    gradgradcheck(lambda t: F.gelu(t) + F.gelu(t, approximate="tanh"), x)
    gradgradcheck(lambda t: F.silu(t) + F.softplus(t) + F.leaky_relu(t, 0.2) * t, x)
    gradgradcheck(lambda t: F.binary_cross_entropy_with_logits(t, sg.tensor(target)), x)
    gradgradcheck(lambda t: F.cross_entropy(t, labels), x)
    gradgradcheck(lambda mu, logvar: F.gaussian_kl(mu, logvar), x, x[::-1] * 0.5)


# ---- WGAN-GP: (||grad_x D(x)||_2 - 1)^2, differentiated w.r.t. the critic's parameters ------

def mlp_critic(x, w1, b1, w2, b2, w3, b3, lib):
    h = lib["act"](lib["linear"](x, w1, b1))
    h = lib["act"](lib["linear"](h, w2, b2))
    return lib["linear"](h, w3, b3)


def conv_critic(x, c1, cb1, c2, cb2, w, b, lib):
    h = lib["act"](lib["conv2d"](x, c1, cb1, stride=1, padding=1))
    h = lib["act"](lib["conv2d"](h, c2, cb2, stride=2, padding=0))
    return lib["linear"](lib["flatten"](h), w, b)


def sg_penalty(critic, x, params):
    """mean over the batch of (||grad_x D(x)||_2 - 1)^2, as a graph in the params."""
    x = sg.Tensor(x, requires_grad=True)
    ps = [sg.Tensor(p, requires_grad=True) for p in params]
    lib = dict(act=lambda t: F.leaky_relu(t, 0.2), linear=F.linear, conv2d=F.conv2d,
               flatten=lambda t: t.reshape(t.shape[0], t.size // t.shape[0]))
    out = critic(x, *ps, lib=lib)
    (gx,) = sg.grad(out.sum(), [x], create_graph=True)
    norms = (gx.reshape(gx.shape[0], gx.size // gx.shape[0]) ** 2.0).sum(axis=1).sqrt()
    return ((norms - 1.0) ** 2.0).mean(), ps


def torch_penalty(critic, x, params):
    torch = pytest.importorskip("torch", reason="torch is the test oracle")
    tF = torch.nn.functional
    x = torch.tensor(x, requires_grad=True)
    ps = [torch.tensor(p, requires_grad=True) for p in params]
    lib = dict(act=lambda t: tF.leaky_relu(t, 0.2), linear=tF.linear, conv2d=tF.conv2d,
               flatten=lambda t: t.reshape(t.shape[0], -1))
    out = critic(x, *ps, lib=lib)
    (gx,) = torch.autograd.grad(out.sum(), [x], create_graph=True)
    norms = gx.reshape(gx.shape[0], -1).pow(2).sum(1).sqrt()
    penalty = (norms - 1).pow(2).mean()
    grads = torch.autograd.grad(penalty, ps, allow_unused=True)  # the last bias is unused
    return penalty, [torch.zeros_like(p) if g is None else g for p, g in zip(ps, grads)]


def mlp_setup(rng):
    x = rng.standard_normal((4, 3))
    params = [rng.standard_normal((5, 3)), rng.standard_normal(5), rng.standard_normal((5, 5)),
              rng.standard_normal(5), rng.standard_normal((1, 5)), rng.standard_normal(1)]
    return mlp_critic, x, params


def conv_setup(rng):
    x = rng.standard_normal((2, 1, 4, 4))
    params = [rng.standard_normal((2, 1, 3, 3)), rng.standard_normal(2),
              rng.standard_normal((3, 2, 2, 2)), rng.standard_normal(3),
              rng.standard_normal((1, 12)), rng.standard_normal(1)]
    return conv_critic, x, params


@pytest.mark.parametrize("setup", [mlp_setup, conv_setup], ids=["mlp", "conv"])
@pytest.mark.parametrize("seed", [0, 1])
def test_wgan_gp_penalty_gradient_matches_torch_and_finite_differences(setup, seed):
    critic, x, params = setup(np.random.default_rng(seed))
    penalty, ps = sg_penalty(critic, x, params)
    penalty.backward()
    ours = [np.zeros(p.shape) if p.grad is None else as_float(p.grad) for p in ps]

    expected_value, expected = torch_penalty(critic, x, params)
    np.testing.assert_allclose(as_float(penalty), expected_value.item(), rtol=1e-10)
    for got, want in zip(ours, expected):
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-9, atol=1e-11)

    eps = 1e-6
    for k, p in enumerate(params):
        numeric = np.zeros(p.shape)
        for pos in np.ndindex(p.shape):
            values = []
            for sign in (1, -1):
                shifted = [q.copy() for q in params]
                shifted[k][pos] += sign * eps
                values.append(as_float(sg_penalty(critic, x, shifted)[0]))
            numeric[pos] = (values[0] - values[1]) / (2 * eps)
        np.testing.assert_allclose(ours[k], numeric, rtol=1e-5, atol=1e-7,
                                   err_msg=f"parameter {k}")


# ---- every other functional op, once each on small inputs ------------------------------------

def _functional_cases(rng):
    seq = rng.standard_normal((2, 3, 2))
    mask = np.array([[True, False, True], [True, True, False], [False, True, True]])
    img = rng.standard_normal((1, 2, 2, 3))
    return {
        "linear": (F.linear, [rng.standard_normal((2, 3)), rng.standard_normal((2, 3)),
                              rng.standard_normal(2)]),
        "attention_bool_mask": (lambda q, k, v: F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask), [seq, seq[::-1].copy(), seq * 0.5]),
        "attention_causal": (lambda q, k, v: F.scaled_dot_product_attention(
            q, k, v, is_causal=True, scale=0.7), [seq, seq + 0.5, seq * 2.0]),
        "attention_float_mask": (lambda q, k, v, m: F.scaled_dot_product_attention(
            q, k, v, attn_mask=m), [seq, seq * -1.0, seq, rng.standard_normal((3, 3))]),
        "interpolate_2": (lambda t: F.interpolate(t, scale_factor=2) ** 2.0, [img]),
        "interpolate_1.5": (lambda t: F.interpolate(t, scale_factor=1.5) ** 2.0, [img]),
        "embedding": (lambda w: F.embedding(np.array([1, 1, 0]), w) ** 2.0,
                      [rng.standard_normal((3, 2))]),
        "dropout": (lambda t: (sg.manual_seed(5), F.dropout(t, 0.5))[1] ** 3.0,
                    [rng.standard_normal((3, 3))]),
        "mse_loss": (F.mse_loss, [rng.standard_normal(4), rng.standard_normal(4)]),
        "relu_times_x": (lambda t: F.relu(t) * t, [np.array([-1.5, -0.3, 0.4, 2.0])]),
        "layer_norm_2d": (lambda t: F.layer_norm(t, (2, 2)), [rng.standard_normal((2, 2, 2))]),
        "batch_norm_eval": (lambda t, w, b: F.batch_norm(t, np.zeros(2), np.full(2, 2.0), w, b),
                            [rng.standard_normal((3, 2)), rng.standard_normal(2),
                             rng.standard_normal(2)]),
        "transpose_squeeze_broadcast": (lambda t: (t.T.unsqueeze(0).broadcast_to(2, 3, 1, 2)
                                                   .squeeze(2) ** 2.0).transpose(2, 0, 1),
                                        [rng.standard_normal((2, 1, 3))]),
    }


@pytest.mark.parametrize("name", sorted(_functional_cases(np.random.default_rng(0))))
def test_functional_second_order(name):
    fn, arrs = _functional_cases(np.random.default_rng(1))[name]
    gradgradcheck(fn, *arrs)
