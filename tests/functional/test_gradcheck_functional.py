"""scratchgen.functional: analytic gradients equal central finite differences (float64)
under a random upstream gradient, on drawn shapes, layouts and op arguments."""
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.special import expit

import scratchgen as sg
import scratchgen.functional as F
from helpers import (arrays, attention_case, conv2d_case, conv_inputs, conv_transpose2d_case,
                     gradcheck, pool_case, seeds, shapes)

# ---- activations --------------------------------------------------------------------------

ACTIVATIONS = {
    "relu": (F.relu, (0.0,)),
    "leaky_relu": (F.leaky_relu, (0.0,)),
    "leaky_relu_0.2": (lambda x: F.leaky_relu(x, negative_slope=0.2), (0.0,)),
    "gelu": (F.gelu, ()),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), ()),
    "silu": (F.silu, ()),
    "softplus": (F.softplus, ()),
    "sigmoid": (F.sigmoid, ()),
    "tanh": (F.tanh, ()),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@given(data=st.data())
def test_activation_gradient(name, data):
    op, kinks = ACTIVATIONS[name]
    x = data.draw(arrays(shapes(), -4, 4, kinks=kinks))
    gradcheck(op, x)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@given(data=st.data())
def test_softmax_gradients_over_any_axis(name, data):
    x = data.draw(arrays(shapes(min_dims=1), -3, 3))
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    op = getattr(F, name)
    gradcheck(lambda t: op(t, axis=axis), x)
    if axis == x.ndim - 1 or axis == -1:
        gradcheck(op, x)  # the default axis is the last


# ---- linear and convolution ---------------------------------------------------------------

@given(data=st.data(), with_bias=st.booleans())
def test_linear_gradient(data, with_bias):
    lead = data.draw(shapes(min_dims=0, max_dims=2))
    n_in, n_out = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    x = data.draw(arrays(lead + (n_in,)))
    w = data.draw(arrays((n_out, n_in)))
    if with_bias:
        b = data.draw(arrays((n_out,)))
        gradcheck(F.linear, x, w, b)
    else:
        gradcheck(F.linear, x, w)


@given(case=conv2d_case())
def test_conv2d_gradient_over_drawn_geometry(case):
    inputs, kwargs = conv_inputs(case)
    gradcheck(lambda *a: F.conv2d(*a, **kwargs), *inputs)


@given(case=conv_transpose2d_case())
def test_conv_transpose2d_gradient_over_drawn_geometry(case):
    inputs, kwargs = conv_inputs(case)
    gradcheck(lambda *a: F.conv_transpose2d(*a, **kwargs), *inputs)


# ---- pooling and resizing -----------------------------------------------------------------

@given(case=pool_case(distinct=True))
def test_max_pool2d_gradient_with_distinct_values(case):
    x, k, stride, padding = case
    gradcheck(lambda t: F.max_pool2d(t, k, stride, padding), x)


@given(case=pool_case(distinct=False))
def test_avg_pool2d_gradient(case):
    x, k, stride, padding = case
    gradcheck(lambda t: F.avg_pool2d(t, k, stride, padding), x)


@given(data=st.data(), scale=st.sampled_from([1, 2, 3, 2.0, 1.5, 0.5, 2.5]))
def test_interpolate_nearest_gradient(data, scale):
    x = data.draw(arrays((data.draw(st.integers(1, 2)), 2, data.draw(st.integers(2, 4)),
                          data.draw(st.integers(2, 4)))))
    gradcheck(lambda t: F.interpolate(t, scale_factor=scale, mode="nearest"), x)
    gradcheck(lambda t: F.interpolate(t, scale_factor=scale), x)  # mode defaults to nearest


# ---- normalisation ------------------------------------------------------------------------

@given(data=st.data(), affine=st.booleans())
def test_layer_norm_gradient(data, affine):
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    k = data.draw(st.integers(1, len(shape)))
    normalized = shape[len(shape) - k:]
    x = data.draw(arrays(shape))
    spelling = normalized[0] if (k == 1 and data.draw(st.booleans())) else normalized
    if affine:
        w, b = data.draw(arrays(normalized)), data.draw(arrays(normalized))
        gradcheck(lambda t, w, b: F.layer_norm(t, spelling, w, b), x, w, b)
    else:
        gradcheck(lambda t: F.layer_norm(t, spelling), x)


@given(data=st.data(), affine=st.booleans())
def test_group_norm_gradient(data, affine):
    groups = data.draw(st.integers(1, 3))
    c = groups * data.draw(st.integers(1, 2))
    spatial = data.draw(shapes(min_dims=0, max_dims=2, max_side=3))
    x = data.draw(arrays((data.draw(st.integers(1, 2)), c) + spatial))
    if affine:
        w, b = data.draw(arrays((c,))), data.draw(arrays((c,)))
        gradcheck(lambda t, w, b: F.group_norm(t, groups, w, b), x, w, b)
    else:
        gradcheck(lambda t: F.group_norm(t, groups), x)


@given(data=st.data(), affine=st.booleans(), training=st.booleans())
def test_batch_norm_gradient(data, affine, training):
    c = data.draw(st.integers(1, 3))
    spatial = data.draw(shapes(min_dims=0, max_dims=2, max_side=3))
    n = data.draw(st.integers(2 if not spatial else 1, 3))
    assume(n * int(np.prod(spatial)) >= 2)
    x = data.draw(arrays((n, c) + spatial))
    rng = np.random.default_rng(data.draw(seeds()))
    mean0, var0 = rng.standard_normal(c), rng.uniform(0.5, 2.0, c)

    def bn(t, *affine_args):
        # fresh running statistics on every call: training updates them in place
        return F.batch_norm(t, mean0.copy(), var0.copy(), *affine_args, training=training)

    if affine:
        gradcheck(bn, x, data.draw(arrays((c,))), data.draw(arrays((c,))))
    else:
        gradcheck(bn, x)


# ---- lookup, masking ----------------------------------------------------------------------

@given(data=st.data())
def test_embedding_gradient_accumulates_repeated_rows(data):
    vocab, dim = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 3))
    weight = data.draw(arrays((vocab, dim)))
    idx_shape = data.draw(shapes(min_dims=1, max_dims=2))
    idx = np.random.default_rng(data.draw(seeds())).integers(0, vocab, size=idx_shape)
    as_tensor = data.draw(st.booleans())
    indices = sg.tensor(idx) if as_tensor else idx
    gradcheck(lambda w: F.embedding(indices, w), weight)


@given(data=st.data(), p=st.sampled_from([0.0, 0.3, 0.5, 0.9]), seed=seeds())
def test_dropout_gradient_for_a_fixed_mask(data, p, seed):
    x = data.draw(arrays(shapes()))

    def drop(t):
        sg.manual_seed(seed % 2**31)  # the same mask on every call
        return F.dropout(t, p=p)

    gradcheck(drop, x)
    gradcheck(lambda t: F.dropout(t, p=p, training=False), x)


# ---- attention ----------------------------------------------------------------------------

@given(case=attention_case())
def test_scaled_dot_product_attention_gradient(case):
    q, k, v, kwargs = case
    gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, **kwargs), q, k, v)


def test_attention_gradient_flows_into_a_float_mask_tensor():
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((2, 3, 2)) for _ in range(3))
    mask = rng.standard_normal((3, 3))
    gradcheck(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
              q, k, v, mask)


# ---- losses -------------------------------------------------------------------------------

@given(data=st.data())
def test_mse_loss_gradient_in_input_and_target(data):
    shape = data.draw(shapes())
    gradcheck(F.mse_loss, data.draw(arrays(shape)), data.draw(arrays(shape)))


@given(data=st.data())
def test_binary_cross_entropy_with_logits_gradient(data):
    shape = data.draw(shapes())
    logits = data.draw(arrays(shape, -6, 6))
    target = data.draw(arrays(shape, 0, 1))
    gradcheck(F.binary_cross_entropy_with_logits, logits, target)


def test_binary_cross_entropy_with_logits_gradient_at_extreme_logits():
    logits = np.array([-1000.0, -150.0, -100.0, 100.0, 150.0, 1000.0])
    target = np.array([0.0, 1.0, 0.3, 0.0, 1.0, 0.7])
    gradcheck(lambda t: F.binary_cross_entropy_with_logits(t, sg.Tensor(target)), logits,
              eps=1e-3)
    x = sg.Tensor(logits, requires_grad=True)
    F.binary_cross_entropy_with_logits(x, sg.Tensor(target)).backward()
    # d/dx mean(softplus(x) - t x) = (sigmoid(x) - t) / n
    np.testing.assert_allclose(x.grad.numpy(), (expit(logits) - target) / 6,
                               atol=1e-15)


@given(data=st.data())
def test_cross_entropy_gradient(data):
    n, c = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    extra = data.draw(st.sampled_from([(), (2,), (2, 3)]))
    logits = data.draw(arrays((n, c) + extra, -3, 3))
    targets = np.random.default_rng(data.draw(seeds())).integers(0, c, size=(n,) + extra)
    gradcheck(lambda t: F.cross_entropy(t, targets), logits)
    gradcheck(lambda t: F.cross_entropy(t, sg.tensor(targets)), logits)


@given(data=st.data())
def test_gaussian_kl_gradient(data):
    shape = data.draw(shapes(min_dims=1))
    gradcheck(F.gaussian_kl, data.draw(arrays(shape)), data.draw(arrays(shape)))


# ---- a small network end to end ------------------------------------------------------------

@settings(max_examples=5)
@given(seed=seeds())
def test_a_small_conv_net_with_every_kind_of_layer(seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 2, 4, 4))
    w1 = rng.standard_normal((4, 2, 3, 3)) * 0.5
    g1 = rng.standard_normal(4)
    w2 = rng.standard_normal((3, 4)) * 0.5
    labels = rng.integers(0, 3, size=2)

    def net(x, w1, g1, w2):
        h = F.conv2d(x, w1, padding=1)                       # (2, 4, 4, 4)
        h = F.group_norm(h, 2, g1)
        h = F.avg_pool2d(F.silu(h), 2)                       # (2, 4, 2, 2)
        h = h.mean(axis=(2, 3))                              # (2, 4)
        return F.cross_entropy(F.linear(h, w2), labels)

    gradcheck(net, x, w1, g1, w2)
