"""scratchgen.functional against torch.nn.functional (CPU, float64): forward outputs and the
gradients of every float input agree to float64 precision on drawn inputs and arguments."""
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import scratchgen as sg
import scratchgen.functional as F
from helpers import (arrays, as_float, attention_case, check_against_torch, conv2d_case,
                     conv_inputs, conv_transpose2d_case, pool_case, seeds, shapes)

torch = pytest.importorskip("torch", reason="torch is the test oracle (pip install torch)")
tF = torch.nn.functional

ACTIVATIONS = {
    "relu": (F.relu, tF.relu, (0.0,)),
    "leaky_relu": (F.leaky_relu, tF.leaky_relu, (0.0,)),
    "leaky_relu_0.2": (lambda x: F.leaky_relu(x, negative_slope=0.2),
                       lambda x: tF.leaky_relu(x, negative_slope=0.2), (0.0,)),
    "gelu": (F.gelu, tF.gelu, ()),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"),
                  lambda x: tF.gelu(x, approximate="tanh"), ()),
    "silu": (F.silu, tF.silu, ()),
    "softplus": (F.softplus, tF.softplus, (20.0,)),
    "sigmoid": (F.sigmoid, torch.sigmoid, ()),
    "tanh": (F.tanh, torch.tanh, ()),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@given(data=st.data())
def test_activation_matches_torch(name, data):
    ours, theirs, kinks = ACTIVATIONS[name]
    x = data.draw(arrays(shapes(), -30, 30, kinks=kinks))
    check_against_torch(ours, theirs, x)


def test_activations_at_exact_kinks_match_torch():
    x = np.array([-1.0, 0.0, 0.0, 1.0, 20.0])
    for name, (ours, theirs, _) in ACTIVATIONS.items():
        check_against_torch(ours, theirs, x)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@given(data=st.data(), big=st.booleans())
def test_softmax_matches_torch_over_any_axis(name, data, big):
    x = data.draw(arrays(shapes(min_dims=1), -3, 3))
    x = x * 400.0 if big else x  # logits in the hundreds: exp would overflow unshifted
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    check_against_torch(lambda t: getattr(F, name)(t, axis=axis),
                        lambda t: getattr(tF, name)(t, dim=axis), x)


@given(data=st.data(), with_bias=st.booleans())
def test_linear_matches_torch(data, with_bias):
    lead = data.draw(shapes(min_dims=0, max_dims=2))
    n_in, n_out = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    arrs = [data.draw(arrays(lead + (n_in,))), data.draw(arrays((n_out, n_in)))]
    if with_bias:
        arrs.append(data.draw(arrays((n_out,))))
    check_against_torch(F.linear, tF.linear, *arrs)


@given(case=conv2d_case())
def test_conv2d_matches_torch(case):
    inputs, kwargs = conv_inputs(case)
    check_against_torch(lambda *a: F.conv2d(*a, **kwargs), lambda *a: tF.conv2d(*a, **kwargs),
                        *inputs)


@given(case=conv_transpose2d_case())
def test_conv_transpose2d_matches_torch(case):
    inputs, kwargs = conv_inputs(case)
    check_against_torch(lambda *a: F.conv_transpose2d(*a, **kwargs),
                        lambda *a: tF.conv_transpose2d(*a, **kwargs), *inputs)


@given(case=pool_case(distinct=True))
def test_max_pool2d_matches_torch(case):
    x, k, stride, padding = case
    check_against_torch(lambda t: F.max_pool2d(t, k, stride, padding),
                        lambda t: tF.max_pool2d(t, k, stride, padding), x)


@given(case=pool_case(distinct=False))
def test_avg_pool2d_matches_torch(case):
    x, k, stride, padding = case
    check_against_torch(lambda t: F.avg_pool2d(t, k, stride, padding),
                        lambda t: tF.avg_pool2d(t, k, stride, padding), x)


@given(data=st.data(), scale=st.sampled_from([1, 2, 3, 2.0, 1.5, 0.5, 2.5, 0.75]))
def test_interpolate_nearest_matches_torch(data, scale):
    x = data.draw(arrays((data.draw(st.integers(1, 2)), 2, data.draw(st.integers(1, 5)),
                          data.draw(st.integers(1, 5)))))
    if min(x.shape[2:]) * scale < 1:
        return  # an empty output
    check_against_torch(lambda t: F.interpolate(t, scale_factor=scale, mode="nearest"),
                        lambda t: tF.interpolate(t, scale_factor=scale, mode="nearest"), x)


@pytest.mark.parametrize("size, scale", [(2, 1.1), (3, 1.3), (4, 2.1)])
def test_interpolate_nearest_matches_torch_when_the_output_is_the_same_size_or_double(size,
                                                                                      scale):
    # BUG (reported to the lead): torch's nearest resize copies pixel i when the output size
    # equals the input size and takes pixel i // 2 when it is exactly double, whatever the
    # scale_factor; F.interpolate uses floor(i / scale) there. Reproduction:
    #     x = np.arange(4.0).reshape(1, 1, 2, 2)
    #     F.interpolate(sg.tensor(x), scale_factor=1.1).numpy()      # [[0, 0], [0, 0]]
    #     tF.interpolate(torch.tensor(x), scale_factor=1.1)          # [[0, 1], [2, 3]]
    x = np.arange(size * size, dtype=np.float64).reshape(1, 1, size, size)
    assert int(size * scale) in (size, 2 * size)  # the sizes where torch special-cases
    check_against_torch(lambda t: F.interpolate(t, scale_factor=scale),
                        lambda t: tF.interpolate(t, scale_factor=scale, mode="nearest"), x)


@given(data=st.data(), affine=st.booleans())
def test_layer_norm_matches_torch(data, affine):
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    normalized = shape[len(shape) - data.draw(st.integers(1, len(shape))):]
    arrs = [data.draw(arrays(shape))]
    if affine:
        arrs += [data.draw(arrays(normalized)), data.draw(arrays(normalized))]
    check_against_torch(lambda t, *wb: F.layer_norm(t, normalized, *wb),
                        lambda t, *wb: tF.layer_norm(t, normalized, *wb), *arrs)


@given(data=st.data(), affine=st.booleans())
def test_group_norm_matches_torch(data, affine):
    groups = data.draw(st.integers(1, 3))
    c = groups * data.draw(st.integers(1, 2))
    spatial = data.draw(shapes(min_dims=0, max_dims=2, max_side=3))
    assume(c // groups * int(np.prod(spatial)) >= 2)  # torch refuses one value per group
    arrs = [data.draw(arrays((data.draw(st.integers(1, 2)), c) + spatial))]
    if affine:
        arrs += [data.draw(arrays((c,))), data.draw(arrays((c,)))]
    check_against_torch(lambda t, *wb: F.group_norm(t, groups, *wb),
                        lambda t, *wb: tF.group_norm(t, groups, *wb), *arrs)


@given(data=st.data(), affine=st.booleans(), training=st.booleans(),
       momentum=st.sampled_from([0.1, 0.5]))
def test_batch_norm_matches_torch_including_running_statistics(data, affine, training,
                                                               momentum):
    c = data.draw(st.integers(1, 3))
    spatial = data.draw(shapes(min_dims=0, max_dims=2, max_side=3))
    n = data.draw(st.integers(2, 3))
    arrs = [data.draw(arrays((n, c) + spatial))]
    if affine:
        arrs += [data.draw(arrays((c,))), data.draw(arrays((c,)))]
    rng = np.random.default_rng(data.draw(seeds()))
    mean0, var0 = rng.standard_normal(c), rng.uniform(0.5, 2.0, c)
    ours_stats = [mean0.copy(), var0.copy()]
    torch_stats = [torch.tensor(mean0), torch.tensor(var0)]
    check_against_torch(
        lambda t, *wb: F.batch_norm(t, *ours_stats, *wb, training=training, momentum=momentum),
        lambda t, *wb: tF.batch_norm(t, *torch_stats, *wb, training=training,
                                     momentum=momentum), *arrs)
    for ours, theirs in zip(ours_stats, torch_stats):
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-12, atol=1e-14)


def test_batch_norm_running_statistics_as_tensors_are_updated_in_place():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3, 2))
    rm, rv = sg.tensor(np.zeros(3)), sg.tensor(np.ones(3))
    trm, trv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    F.batch_norm(sg.tensor(x), rm, rv, training=True)
    tF.batch_norm(torch.tensor(x), trm, trv, training=True)
    np.testing.assert_allclose(rm.numpy(), trm.numpy(), rtol=1e-12)
    np.testing.assert_allclose(rv.numpy(), trv.numpy(), rtol=1e-12)


@given(data=st.data())
def test_embedding_matches_torch(data):
    vocab, dim = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 3))
    weight = data.draw(arrays((vocab, dim)))
    idx = np.random.default_rng(data.draw(seeds())).integers(
        0, vocab, size=data.draw(shapes(min_dims=1, max_dims=2)))
    check_against_torch(lambda w: F.embedding(idx, w),
                        lambda w: tF.embedding(torch.from_numpy(idx), w), weight)


@given(case=attention_case())
def test_scaled_dot_product_attention_matches_torch(case):
    q, k, v, kwargs = case
    mask = kwargs["attn_mask"]
    torch_kwargs = dict(kwargs, attn_mask=None if mask is None else torch.from_numpy(mask))
    check_against_torch(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, **kwargs),
                        lambda q, k, v: tF.scaled_dot_product_attention(q, k, v, **torch_kwargs),
                        q, k, v)


def test_attention_float_mask_gradient_matches_torch():
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((2, 3, 4)) for _ in range(3))
    mask = rng.standard_normal((2, 3, 3))
    check_against_torch(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
                        lambda q, k, v, m: tF.scaled_dot_product_attention(q, k, v, attn_mask=m),
                        q, k, v, mask)


@given(data=st.data())
def test_mse_loss_matches_torch(data):
    shape = data.draw(shapes())
    check_against_torch(F.mse_loss, tF.mse_loss, data.draw(arrays(shape)),
                        data.draw(arrays(shape)))


@given(data=st.data(), scale=st.sampled_from([1.0, 50.0, 500.0]))
def test_binary_cross_entropy_with_logits_matches_torch(data, scale):
    shape = data.draw(shapes())
    logits = data.draw(arrays(shape, -2, 2)) * scale  # |logits| up to 1000
    target = data.draw(arrays(shape, 0, 1))
    check_against_torch(F.binary_cross_entropy_with_logits,
                        tF.binary_cross_entropy_with_logits, logits, target)


def test_binary_cross_entropy_with_logits_is_stable_at_large_logits():
    logits = np.array([-1000.0, -200.0, -100.0, 100.0, 200.0, 1000.0])
    for target in (np.zeros(6), np.ones(6), np.full(6, 0.25)):
        check_against_torch(F.binary_cross_entropy_with_logits,
                            tF.binary_cross_entropy_with_logits, logits, target)
        loss = F.binary_cross_entropy_with_logits(sg.tensor(logits), sg.tensor(target))
        assert np.isfinite(as_float(loss))


@given(data=st.data(), big=st.booleans())
def test_cross_entropy_matches_torch(data, big):
    n, c = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    extra = data.draw(st.sampled_from([(), (2,), (2, 3)]))
    logits = data.draw(arrays((n, c) + extra, -3, 3)) * (300.0 if big else 1.0)
    targets = np.random.default_rng(data.draw(seeds())).integers(0, c, size=(n,) + extra)
    check_against_torch(lambda t: F.cross_entropy(t, targets),
                        lambda t: tF.cross_entropy(t, torch.from_numpy(targets)), logits)


def torch_gaussian_kl(mu, logvar):
    normal = torch.distributions.Normal
    q = normal(mu, torch.exp(0.5 * logvar))
    p = normal(torch.zeros_like(mu), torch.ones_like(mu))
    return torch.distributions.kl_divergence(q, p).sum(-1)


@given(data=st.data())
def test_gaussian_kl_matches_torch_distributions(data):
    shape = data.draw(shapes(min_dims=1))
    check_against_torch(F.gaussian_kl, torch_gaussian_kl, data.draw(arrays(shape)),
                        data.draw(arrays(shape)), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("p", [0.0, 0.5])
def test_dropout_in_evaluation_and_p0_is_the_identity_like_torch(p):
    x = np.random.default_rng(0).standard_normal((3, 4))
    check_against_torch(lambda t: F.dropout(t, p=0.5, training=False),
                        lambda t: tF.dropout(t, p=0.5, training=False), x)
    check_against_torch(lambda t: F.dropout(t, p=0.0), lambda t: tF.dropout(t, p=0.0), x)
    check_against_torch(lambda t: F.dropout(t, p=1.0), lambda t: tF.dropout(t, p=1.0), x)


def test_positional_arguments_follow_the_documented_order():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 5, 5))
    w, wt, b = rng.standard_normal((6, 2, 3, 2)), rng.standard_normal((4, 3, 2, 3)), \
        rng.standard_normal(6)
    check_against_torch(lambda x, w, b: F.conv2d(x, w, b, 2, 1, 2, 2),
                        lambda x, w, b: tF.conv2d(x, w, b, 2, 1, 2, 2), x, w, b)
    # conv_transpose2d(x, weight, bias, stride, padding, output_padding, groups, dilation)
    check_against_torch(lambda x, w, b: F.conv_transpose2d(x, w, b, 3, 1, 2, 2, 2),
                        lambda x, w, b: tF.conv_transpose2d(x, w, b, 3, 1, 2, 2, 2), x, wt, b)
    check_against_torch(lambda t: F.max_pool2d(t, 3, 2, 1), lambda t: tF.max_pool2d(t, 3, 2, 1),
                        x)
    check_against_torch(lambda t: F.avg_pool2d(t, 3, 2, 1), lambda t: tF.avg_pool2d(t, 3, 2, 1),
                        x)
    check_against_torch(lambda t: F.leaky_relu(t, 0.3), lambda t: tF.leaky_relu(t, 0.3), x)
    check_against_torch(lambda t: F.softmax(t, 1), lambda t: tF.softmax(t, 1), x)
    check_against_torch(lambda t: F.interpolate(t, None, 2, "nearest"),
                        lambda t: tF.interpolate(t, None, 2, "nearest"), x)


@pytest.mark.parametrize("eps", [1e-5, 1e-2, 0.5])
def test_norm_eps_matches_torch(eps):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4, 2)) * 0.1  # small variance: eps matters
    w, b = rng.standard_normal(4), rng.standard_normal(4)
    check_against_torch(lambda t: F.layer_norm(t, (4, 2), None, None, eps),
                        lambda t: tF.layer_norm(t, (4, 2), None, None, eps), x)
    check_against_torch(lambda t, w, b: F.group_norm(t, 2, w, b, eps),
                        lambda t, w, b: tF.group_norm(t, 2, w, b, eps), x, w, b)
    rm, rv = np.zeros(4), np.ones(4)
    trm, trv = torch.zeros(4, dtype=torch.float64), torch.ones(4, dtype=torch.float64)
    check_against_torch(lambda t, w, b: F.batch_norm(t, rm, rv, w, b, True, 0.3, eps),
                        lambda t, w, b: tF.batch_norm(t, trm, trv, w, b, True, 0.3, eps), x, w, b)
    np.testing.assert_allclose(rv, trv.numpy(), rtol=1e-12)
