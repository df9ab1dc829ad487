"""Properties of scratchgen.functional that hold for any input: softmax rows sum to 1,
conv_transpose2d is the adjoint of conv2d, <J v, u> = <v, J^T u> for the linear ops,
backward neither mutates inputs nor aliases them, float32 stays float32, and the
defining identities of dropout, attention, the norms and the losses."""
import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import scratchgen as sg
import scratchgen.functional as F
from helpers import adjoint_check, arrays, as_float, leaf, seeds, shapes

# ---- softmax ------------------------------------------------------------------------------


@given(data=st.data(), scale=st.sampled_from([1.0, 100.0, 1000.0]))
def test_softmax_sums_to_one_along_its_axis(data, scale):
    x = data.draw(arrays(shapes(min_dims=1), -3, 3)) * scale
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    p = as_float(F.softmax(sg.tensor(x), axis=axis))
    assert np.all(p >= 0) and np.all(np.isfinite(p))
    np.testing.assert_allclose(p.sum(axis=axis), 1.0, rtol=1e-12)
    logp = as_float(F.log_softmax(sg.tensor(x), axis=axis))
    assert np.all(np.isfinite(logp))
    np.testing.assert_allclose(np.exp(logp).sum(axis=axis), 1.0, rtol=1e-12)


def test_softmax_with_minus_infinity_entries():
    x = np.array([[0.0, -np.inf, 1.0], [-np.inf, 2.0, -np.inf]])
    p = as_float(F.softmax(sg.tensor(x)))
    np.testing.assert_allclose(p.sum(axis=-1), 1.0)
    assert p[0, 1] == 0.0 and p[1, 1] == 1.0


@given(data=st.data())
def test_softmax_is_invariant_to_a_constant_shift(data):
    x = data.draw(arrays(shapes(min_dims=1)))
    np.testing.assert_allclose(as_float(F.softmax(sg.tensor(x))),
                               as_float(F.softmax(sg.tensor(x + 123.0))), rtol=1e-10)


# ---- conv_transpose2d is the adjoint of conv2d ----------------------------------------------

@st.composite
def adjoint_geometry(draw):
    groups = draw(st.integers(1, 3))
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    sizes = []
    for k, p, d in zip((kh, kw), padding, dilation):
        smallest = max(1, d * (k - 1) + 1 - 2 * p)
        assume(smallest <= 7)
        sizes.append(draw(st.integers(smallest, 7)))
    n = draw(st.integers(1, 2))
    return (n, c_in, *sizes), (c_out, c_in // groups, kh, kw), dict(
        stride=stride, padding=padding, dilation=dilation, groups=groups)


@given(geometry=adjoint_geometry(), seed=seeds())
def test_conv_transpose2d_is_the_adjoint_of_conv2d(geometry, seed):
    x_shape, w_shape, kwargs = geometry
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    y_conv = as_float(F.conv2d(sg.tensor(x), sg.tensor(w), **kwargs))
    y = rng.standard_normal(y_conv.shape)
    # conv2d's floor division can drop the last rows/columns: output_padding restores them
    output_padding = tuple(
        (size + 2 * p - d * (k - 1) - 1) % s for size, p, d, k, s in
        zip(x_shape[2:], kwargs["padding"], kwargs["dilation"], w_shape[2:], kwargs["stride"]))
    x_back = as_float(F.conv_transpose2d(sg.tensor(y), sg.tensor(w), output_padding=output_padding,
                                         **kwargs))
    assert x_back.shape == x.shape
    np.testing.assert_allclose(np.sum(y_conv * y), np.sum(x * x_back), rtol=1e-10, atol=1e-10)


# ---- <J v, u> = <v, J^T u> for the ops that are linear in one input --------------------------

LINEAR_IN_ONE_INPUT = {
    "conv2d_in_x": (lambda t, c: F.conv2d(t, c["w"], stride=2, padding=1), (2, 2, 5, 4)),
    "conv2d_in_w": (lambda t, c: F.conv2d(c["x"], t, dilation=2, padding=1), (3, 2, 2, 2)),
    "conv2d_grouped": (lambda t, c: F.conv2d(t, c["wg"], groups=2), (1, 4, 3, 3)),
    "conv_transpose2d_in_x": (lambda t, c: F.conv_transpose2d(t, c["wt"], stride=2,
                                                              output_padding=1), (1, 2, 3, 3)),
    "conv_transpose2d_in_w": (lambda t, c: F.conv_transpose2d(c["xt"], t, stride=2, padding=1),
                              (2, 3, 3, 3)),
    "avg_pool2d": (lambda t, c: F.avg_pool2d(t, 3, 2, 1), (2, 2, 5, 5)),
    "interpolate_2": (lambda t, c: F.interpolate(t, scale_factor=2), (1, 2, 3, 2)),
    "interpolate_1.5": (lambda t, c: F.interpolate(t, scale_factor=1.5), (1, 2, 3, 2)),
    "linear_in_x": (lambda t, c: F.linear(t, c["lw"]), (4, 3)),
    "linear_in_w": (lambda t, c: F.linear(c["lx"], t), (5, 3)),
    "embedding_in_weight": (lambda t, c: F.embedding(c["idx"], t), (4, 3)),
    "dropout_fixed_mask": (lambda t, c: (sg.manual_seed(3), F.dropout(t, 0.4))[1], (3, 4)),
    "attention_in_v": (lambda t, c: F.scaled_dot_product_attention(c["q"], c["k"], t), (2, 4, 3)),
}


def constants(rng):
    return dict(w=sg.tensor(rng.standard_normal((3, 2, 3, 2))),
                x=sg.tensor(rng.standard_normal((2, 2, 5, 5))),
                wg=sg.tensor(rng.standard_normal((4, 2, 2, 2))),
                wt=sg.tensor(rng.standard_normal((2, 3, 2, 3))),
                xt=sg.tensor(rng.standard_normal((1, 2, 3, 3))),
                lw=sg.tensor(rng.standard_normal((5, 3))),
                lx=sg.tensor(rng.standard_normal((2, 4, 3))),
                idx=rng.integers(0, 4, size=(3, 2)),
                q=sg.tensor(rng.standard_normal((2, 3, 5))),
                k=sg.tensor(rng.standard_normal((2, 4, 5))))


@pytest.mark.parametrize("name", sorted(LINEAR_IN_ONE_INPUT))
@given(seed=seeds())
def test_adjoint_identity_for_linear_functional_ops(name, seed):
    op, shape = LINEAR_IN_ONE_INPUT[name]
    c = constants(np.random.default_rng(seed))
    adjoint_check(lambda t: op(t, c), shape, seed=seed)


# ---- backward neither mutates nor aliases ---------------------------------------------------

def _ops(rng):
    """(function of tensors, input arrays) for one call of every functional op."""
    img = rng.standard_normal((2, 4, 4, 4))
    seq = rng.standard_normal((2, 3, 4))
    vec = rng.standard_normal((3, 4))
    labels = rng.integers(0, 4, size=3)
    mask = rng.random((3, 3)) < 0.7
    mask[:, 0] = True
    return {
        "relu": (F.relu, [vec]), "leaky_relu": (F.leaky_relu, [vec]), "gelu": (F.gelu, [vec]),
        "gelu_tanh": (lambda t: F.gelu(t, approximate="tanh"), [vec]), "silu": (F.silu, [vec]),
        "softplus": (F.softplus, [vec]), "sigmoid": (F.sigmoid, [vec]), "tanh": (F.tanh, [vec]),
        "softmax": (F.softmax, [vec]), "log_softmax": (lambda t: F.log_softmax(t, 0), [vec]),
        "linear": (F.linear, [vec, rng.standard_normal((2, 4)), rng.standard_normal(2)]),
        "conv2d": (lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1, groups=2),
                   [img, rng.standard_normal((2, 2, 3, 3)), rng.standard_normal(2)]),
        "conv_transpose2d": (lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, groups=2),
                             [img, rng.standard_normal((4, 1, 2, 2)), rng.standard_normal(2)]),
        "max_pool2d": (lambda t: F.max_pool2d(t, 2), [img]),
        "avg_pool2d": (lambda t: F.avg_pool2d(t, 3, 1, 1), [img]),
        "interpolate": (lambda t: F.interpolate(t, scale_factor=2), [img]),
        "layer_norm": (lambda t, w, b: F.layer_norm(t, (4,), w, b),
                       [seq, rng.standard_normal(4), rng.standard_normal(4)]),
        "group_norm": (lambda t, w, b: F.group_norm(t, 2, w, b),
                       [img, rng.standard_normal(4), rng.standard_normal(4)]),
        "batch_norm": (lambda t, w, b: F.batch_norm(t, None, None, w, b, training=True),
                       [img, rng.standard_normal(4), rng.standard_normal(4)]),
        "batch_norm_eval": (lambda t: F.batch_norm(t, np.zeros(4), np.ones(4)), [img]),
        "embedding": (lambda w: F.embedding(np.array([[0, 1], [1, 1]]), w), [vec]),
        "dropout": (lambda t: F.dropout(t, 0.5), [vec]),
        "attention": (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=mask),
                      [seq, seq * 0.5, seq[:, :, :2]]),
        "causal_attention": (lambda q, k, v: F.scaled_dot_product_attention(
            q, k, v, is_causal=True), [seq, seq + 1.0, seq * 2.0]),
        "mse_loss": (F.mse_loss, [vec, vec[::-1]]),
        "bce_with_logits": (F.binary_cross_entropy_with_logits, [vec * 50, np.abs(vec) / 4]),
        "cross_entropy": (lambda t: F.cross_entropy(t, labels), [vec]),
        "gaussian_kl": (F.gaussian_kl, [vec, vec.T.copy().T * 0.5]),
    }


OP_NAMES = sorted(_ops(np.random.default_rng(0)))


@pytest.mark.parametrize("name", OP_NAMES)
def test_functional_backward_never_mutates_inputs_and_never_aliases(name):
    rng = np.random.default_rng(1)
    fn, arrs = _ops(rng)[name]
    copies = [a.copy() for a in arrs]
    tensors = [leaf(a) for a in arrs]
    out = fn(*tensors)
    out_before = out.data.copy()
    u = rng.standard_normal(out.shape)
    u_before = u.copy()
    out.backward(sg.Tensor(u))
    for a, a0 in zip(arrs, copies):
        np.testing.assert_array_equal(a, a0, err_msg="an input was mutated")
    np.testing.assert_array_equal(u, u_before, err_msg="the upstream gradient was mutated")
    np.testing.assert_array_equal(out.data, out_before, err_msg="the output was mutated")
    seen = list(arrs) + [u, out.data]
    for i, t in enumerate(tensors):
        assert t.grad is not None and t.grad.shape == t.shape, f"input {i}"
        for other in seen + [s.grad.data for s in tensors if s is not t]:
            assert not np.shares_memory(t.grad.data, other), f"input {i}'s gradient aliases"


@pytest.mark.parametrize("name", OP_NAMES)
def test_float32_inputs_give_float32_outputs_and_gradients(name):
    fn, arrs = _ops(np.random.default_rng(2))[name]
    if name == "batch_norm_eval":
        fn = lambda t: F.batch_norm(t, np.zeros(4, np.float32), np.ones(4, np.float32))  # noqa
    tensors = [leaf(a.astype(np.float32)) for a in arrs]
    out = fn(*tensors)
    assert out.dtype == np.float32
    out.sum().backward()
    for t in tensors:
        assert t.grad.dtype == np.float32


# ---- dropout ------------------------------------------------------------------------------

@given(p=st.sampled_from([0.1, 0.5, 0.8]), seed=st.integers(0, 2**31 - 1))
def test_dropout_zeroes_a_fraction_p_and_rescales_the_rest(p, seed):
    x = sg.tensor(np.ones(20000))
    sg.manual_seed(seed)
    y = as_float(F.dropout(x, p=p))
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / (1 - p), rtol=1e-6)
    assert abs((~kept).mean() - p) < 0.03
    assert abs(y.mean() - 1.0) < 0.1  # the expectation is unchanged
    sg.manual_seed(seed)
    np.testing.assert_array_equal(as_float(F.dropout(x, p=p)), y)  # the seed fixes the mask


def test_dropout_gradient_is_the_mask():
    x = sg.tensor(np.ones((50, 40)), requires_grad=True)
    y = F.dropout(x, p=0.25)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), y.numpy())


def test_dropout_edge_cases():
    x = sg.tensor(np.arange(1.0, 7.0))
    np.testing.assert_array_equal(F.dropout(x, p=0.0).numpy(), x.numpy())
    np.testing.assert_array_equal(F.dropout(x, p=0.9, training=False).numpy(), x.numpy())
    np.testing.assert_array_equal(F.dropout(x, p=1.0).numpy(), np.zeros(6))
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError):
            F.dropout(x, p=bad)


# ---- attention ----------------------------------------------------------------------------

def qkv(rng, batch=(2,), length=4, source=4, e=3, ev=2):
    return (sg.tensor(rng.standard_normal(batch + (length, e))),
            sg.tensor(rng.standard_normal(batch + (source, e))),
            sg.tensor(rng.standard_normal(batch + (source, ev))))


@given(seed=seeds())
def test_causal_attention_ignores_later_positions(seed):
    rng = np.random.default_rng(seed)
    q, k, v = qkv(rng)
    out = as_float(F.scaled_dot_product_attention(q, k, v, is_causal=True))
    k2, v2 = k.numpy().copy(), v.numpy().copy()
    k2[:, 2:] += 5.0
    v2[:, 2:] -= 3.0
    out2 = as_float(F.scaled_dot_product_attention(q, sg.tensor(k2), sg.tensor(v2),
                                                   is_causal=True))
    np.testing.assert_allclose(out[:, :2], out2[:, :2], rtol=1e-12)
    np.testing.assert_allclose(out[:, 0], v.numpy()[:, 0], rtol=1e-12)  # row 0 sees key 0 only


@given(seed=seeds())
def test_attention_masks_agree_with_each_other(seed):
    rng = np.random.default_rng(seed)
    q, k, v = qkv(rng, source=5)
    plain = as_float(F.scaled_dot_product_attention(q, k, v))
    all_true = as_float(F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((4, 5), bool)))
    zeros = as_float(F.scaled_dot_product_attention(q, k, v, attn_mask=np.zeros((4, 5))))
    np.testing.assert_allclose(all_true, plain, rtol=1e-12)
    np.testing.assert_allclose(zeros, plain, rtol=1e-12)
    causal = as_float(F.scaled_dot_product_attention(q, k, v, is_causal=True))
    tril = as_float(F.scaled_dot_product_attention(q, k, v,
                                                   attn_mask=np.tril(np.ones((4, 5), bool))))
    np.testing.assert_allclose(causal, tril, rtol=1e-12)
    # a boolean mask is the same as adding -inf where it is False
    mask = rng.random((4, 5)) < 0.5
    mask[:, 0] = True
    as_bool = as_float(F.scaled_dot_product_attention(q, k, v, attn_mask=mask))
    as_float_mask = as_float(F.scaled_dot_product_attention(
        q, k, v, attn_mask=np.where(mask, 0.0, -np.inf)))
    np.testing.assert_allclose(as_bool, as_float_mask, rtol=1e-12)


def test_attention_default_scale_is_one_over_sqrt_of_the_feature_size():
    rng = np.random.default_rng(0)
    q, k, v = qkv(rng, e=7)
    default = as_float(F.scaled_dot_product_attention(q, k, v))
    explicit = as_float(F.scaled_dot_product_attention(q, k, v, scale=1 / math.sqrt(7)))
    np.testing.assert_allclose(default, explicit, rtol=1e-14)
    scores = q.numpy() @ k.numpy().transpose(0, 2, 1) / math.sqrt(7)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    np.testing.assert_allclose(default, weights @ v.numpy(), rtol=1e-12)


# ---- normalisation --------------------------------------------------------------------------

@given(data=st.data())
def test_layer_norm_output_has_zero_mean_and_unit_variance(data):
    x = data.draw(arrays((3, 6), -3, 3)) * 10.0
    y = as_float(F.layer_norm(sg.tensor(x), 6, eps=1e-12))
    np.testing.assert_allclose(y.mean(axis=-1), 0.0, atol=1e-10)
    np.testing.assert_allclose(y.var(axis=-1), 1.0, rtol=1e-8)


@given(seed=seeds())
def test_group_norm_special_cases(seed):
    x = np.random.default_rng(seed).standard_normal((2, 4, 3, 3))
    # one group per channel = instance norm; one group for all channels = layer norm
    instance = as_float(F.group_norm(sg.tensor(x), 4))
    mean, var = x.mean(axis=(2, 3), keepdims=True), x.var(axis=(2, 3), keepdims=True)
    np.testing.assert_allclose(instance, (x - mean) / np.sqrt(var + 1e-5), rtol=1e-10)
    whole = as_float(F.group_norm(sg.tensor(x), 1))
    np.testing.assert_allclose(whole, as_float(F.layer_norm(sg.tensor(x), (4, 3, 3))),
                               rtol=1e-10)


def test_batch_norm_evaluation_uses_the_running_statistics():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 3, 2))
    rm, rv = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    w, b = rng.standard_normal(3), rng.standard_normal(3)
    y = as_float(F.batch_norm(sg.tensor(x), rm, rv, sg.tensor(w), sg.tensor(b), training=False))
    expected = ((x - rm[:, None]) / np.sqrt(rv[:, None] + 1e-5)) * w[:, None] + b[:, None]
    np.testing.assert_allclose(y, expected, rtol=1e-12)


# ---- losses -------------------------------------------------------------------------------

@given(data=st.data())
def test_cross_entropy_is_the_mean_negative_log_softmax_of_the_target(data):
    logits = data.draw(arrays((4, 5)))
    targets = np.random.default_rng(data.draw(seeds())).integers(0, 5, size=4)
    loss = as_float(F.cross_entropy(sg.tensor(logits), targets))
    logp = as_float(F.log_softmax(sg.tensor(logits), axis=1))
    np.testing.assert_allclose(loss, -logp[np.arange(4), targets].mean(), rtol=1e-12)


def test_binary_cross_entropy_with_logits_is_exact_at_large_logits():
    logits = np.array([-1000.0, -100.0, 100.0, 1000.0])
    target = np.array([1.0, 0.0, 1.0, 0.0])
    per_element = np.array([1000.0, 0.0, 0.0, 1000.0])  # softplus(x) - t x, exactly
    x = sg.tensor(logits, requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(x, sg.tensor(target))
    np.testing.assert_allclose(as_float(loss), per_element.mean(), rtol=1e-14, atol=1e-40)
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), np.array([-1.0, 0.0, 0.0, 1.0]) / 4, atol=1e-40)


@given(data=st.data())
def test_gaussian_kl_is_nonnegative_and_zero_only_at_the_prior(data):
    shape = data.draw(shapes(min_dims=1))
    mu, logvar = data.draw(arrays(shape)), data.draw(arrays(shape))
    kl = as_float(F.gaussian_kl(sg.tensor(mu), sg.tensor(logvar)))
    assert kl.shape == shape[:-1]
    assert np.all(kl >= -1e-12)
    zero = as_float(F.gaussian_kl(sg.tensor(np.zeros(shape)), sg.tensor(np.zeros(shape))))
    np.testing.assert_array_equal(zero, np.zeros(shape[:-1]))


def test_mse_loss_is_the_mean_squared_difference():
    a, b = np.array([1.0, 2.0, 4.0]), np.array([0.0, 2.0, 1.0])
    np.testing.assert_allclose(as_float(F.mse_loss(sg.tensor(a), sg.tensor(b))), 10.0 / 3)


# ---- pooling, resizing, activations ---------------------------------------------------------

@given(data=st.data())
def test_max_pool_padding_never_wins_and_max_is_above_mean(data):
    x = data.draw(arrays((1, 2, 4, 4), -3, -1))  # all negative: a zero pad would win
    mx = as_float(F.max_pool2d(sg.tensor(x), 3, 1, 1))
    assert np.all(mx < 0)
    np.testing.assert_array_equal(as_float(F.max_pool2d(sg.tensor(x), 2)),
                                  x.reshape(1, 2, 2, 2, 2, 2).max(axis=(3, 5)))
    av = as_float(F.avg_pool2d(sg.tensor(x), 2))
    assert np.all(as_float(F.max_pool2d(sg.tensor(x), 2)) >= av)


@given(data=st.data(), scale=st.integers(1, 3))
def test_interpolate_with_an_integer_scale_repeats_pixels(data, scale):
    x = data.draw(arrays((1, 2, 3, 2)))
    y = as_float(F.interpolate(sg.tensor(x), scale_factor=scale))
    np.testing.assert_array_equal(y, x.repeat(scale, axis=2).repeat(scale, axis=3))


@given(x=arrays(shapes(), -5, 5))
def test_activation_identities(x):
    t = sg.tensor(x)
    np.testing.assert_array_equal(as_float(F.relu(t)), np.maximum(x, 0))
    np.testing.assert_allclose(as_float(F.leaky_relu(t, 0.1)), np.where(x > 0, x, 0.1 * x))
    np.testing.assert_allclose(as_float(F.silu(t)), x / (1 + np.exp(-x)), rtol=1e-12)
    np.testing.assert_allclose(as_float(F.softplus(t)), np.logaddexp(0, x), rtol=1e-12)
    np.testing.assert_allclose(as_float(F.gelu(t, approximate="tanh")), as_float(F.gelu(t)),
                               atol=1e-3)


def test_softplus_and_sigmoid_are_finite_at_extreme_inputs():
    x = sg.tensor(np.array([-1000.0, -50.0, 50.0, 1000.0]), requires_grad=True)
    y = F.softplus(x) + F.sigmoid(x)
    y.sum().backward()
    assert np.all(np.isfinite(y.numpy())) and np.all(np.isfinite(x.grad.numpy()))
    np.testing.assert_allclose(as_float(F.softplus(x))[-1], 1000.0)
