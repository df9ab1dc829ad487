"""The pooling, resizing, padding and 1-D convolution modules against torch.nn, Identity,
Unflatten and Flatten, and the layer constructors' errors for non-numeric arguments."""
import numpy as np
import pytest

import scratchgen as sg
import scratchgen.nn as nn
from helpers import check_against_torch

torch = pytest.importorskip("torch")
tnn = torch.nn


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).permutation(np.arange(np.prod(shape))).reshape(
        shape) / 7.0 - 2.0  # distinct values: no ties for max pooling


# ---- modules without parameters vs torch.nn ----------------------------------------------

MODULES = {
    "MaxPool2d": (lambda m: m.MaxPool2d(3, 2, 1, ceil_mode=True), (2, 2, 6, 5)),
    "MaxPool2d_dilated": (lambda m: m.MaxPool2d((2, 3), 1, (1, 1), dilation=2), (1, 2, 6, 6)),
    "MaxPool1d": (lambda m: m.MaxPool1d(2, ceil_mode=True), (2, 3, 5)),
    "AvgPool2d": (lambda m: m.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False),
                  (2, 2, 6, 5)),
    "AvgPool2d_divisor": (lambda m: m.AvgPool2d(2, divisor_override=3), (1, 2, 4, 4)),
    "AvgPool1d": (lambda m: m.AvgPool1d(3, 2, 1), (2, 3, 7)),
    "AdaptiveAvgPool2d": (lambda m: m.AdaptiveAvgPool2d((2, 3)), (2, 2, 5, 7)),
    "AdaptiveAvgPool1d": (lambda m: m.AdaptiveAvgPool1d(3), (2, 2, 7)),
    "Upsample_nearest": (lambda m: m.Upsample(scale_factor=2), (1, 2, 3, 3)),
    "Upsample_bilinear": (lambda m: m.Upsample(size=(5, 4), mode="bilinear",
                                               align_corners=True), (1, 2, 3, 3)),
    "Upsample_linear": (lambda m: m.Upsample(scale_factor=1.5, mode="linear"), (2, 2, 4)),
    "Upsample_trilinear": (lambda m: m.Upsample(scale_factor=(1.5, 2, 0.5),
                                                mode="trilinear"), (1, 1, 2, 3, 4)),
    "ZeroPad2d": (lambda m: m.ZeroPad2d((1, 2, 0, 1)), (1, 2, 3, 3)),
    "ConstantPad2d": (lambda m: m.ConstantPad2d(1, 3.5), (1, 2, 3, 3)),
    "ConstantPad1d": (lambda m: m.ConstantPad1d((2, 1), -1.0), (2, 3)),
    "ReflectionPad2d": (lambda m: m.ReflectionPad2d((2, 1, 1, 2)), (1, 2, 3, 4)),
    "ReflectionPad1d": (lambda m: m.ReflectionPad1d(2), (2, 2, 3)),
    "ReplicationPad2d": (lambda m: m.ReplicationPad2d(2), (1, 2, 3, 3)),
    "ReplicationPad1d": (lambda m: m.ReplicationPad1d((0, 3)), (2, 2, 3)),
    "CircularPad2d": (lambda m: m.CircularPad2d((1, 3, 2, 0)), (1, 2, 3, 3)),
    "CircularPad1d": (lambda m: m.CircularPad1d(2), (2, 2, 3)),
    "Flatten": (lambda m: m.Flatten(1, 2), (2, 3, 2, 2)),
    "Unflatten": (lambda m: m.Unflatten(1, (2, -1)), (2, 6, 2)),
    "Identity": (lambda m: m.Identity(54, unused="argument"), (2, 3)),
}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_matches_torch(name):
    make, shape = MODULES[name]
    ours, theirs = make(nn), make(tnn)
    check_against_torch(ours, theirs, _rand(*shape))


def test_max_pool_modules_return_indices_as_torch():
    x = _rand(2, 2, 5, 6)
    (y, i), (ty, ti) = (m.MaxPool2d(3, 2, 1, return_indices=True, ceil_mode=True)(t) for m, t in
                        ((nn, sg.tensor(x)), (tnn, torch.tensor(x))))
    np.testing.assert_array_equal(y.numpy(), ty.numpy())
    np.testing.assert_array_equal(i.numpy(), ti.numpy())
    x1 = x[:, :, 0]
    _, i = nn.MaxPool1d(2, return_indices=True)(sg.tensor(x1))
    _, ti = tnn.MaxPool1d(2, return_indices=True)(torch.tensor(x1))
    np.testing.assert_array_equal(i.numpy(), ti.numpy())


# ---- 1-D convolution modules ----------------------------------------------------------------

@pytest.mark.parametrize("kind, kwargs", [
    ("Conv1d", dict(stride=2, padding=1, dilation=2, groups=2)),
    ("Conv1d", dict(bias=False)),
    ("ConvTranspose1d", dict(stride=2, padding=1, output_padding=1, groups=2)),
    ("ConvTranspose1d", dict(dilation=2, bias=False)),
])
def test_conv1d_modules_match_torch_with_copied_weights(kind, kwargs):
    ours = getattr(nn, kind)(4, 6, 3, dtype=np.float64, **kwargs)
    theirs = getattr(tnn, kind)(4, 6, 3, dtype=torch.float64, **kwargs)
    assert ours.weight.shape == tuple(theirs.weight.shape)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.numpy()))
        if ours.bias is not None:
            theirs.bias.copy_(torch.tensor(ours.bias.numpy()))
    x = _rand(2, 4, 7)
    check_against_torch(ours, theirs, x)
    check_against_torch(ours, theirs, x[0])  # unbatched (C, L)
    # the parameters' gradients too
    y, ty = ours(sg.tensor(x)), theirs(torch.tensor(x))
    u = np.random.default_rng(1).standard_normal(y.shape)
    y.backward(sg.tensor(u))
    ty.backward(torch.tensor(u))
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-10)


def test_conv1d_module_default_init_has_torch_bounds():
    sg.manual_seed(0)
    layer = nn.Conv1d(4, 5, 3)
    bound = 1 / np.sqrt(4 * 3)
    assert layer.weight.shape == (5, 4, 3) and layer.bias.shape == (5,)
    assert np.abs(layer.weight.numpy()).max() <= bound
    assert np.abs(layer.weight.numpy()).max() > 0.5 * bound
    assert "kernel_size=(3,)" in repr(layer)


# ---- constructor errors -------------------------------------------------------------------

@pytest.mark.parametrize("make, error, words", [
    (lambda: nn.Linear("3", 4), ValueError, r"Linear: in_features must be a positive integer, "
                                            r"got '3' \(a str\)"),
    (lambda: nn.Linear(3, None), ValueError, "Linear: out_features .* got None"),
    (lambda: nn.Linear(3, 4, bias="yes"), ValueError, "Linear: bias must be True or False"),
    (lambda: nn.Linear(3, 4, dtype="nope"), TypeError, "Linear: dtype must be a floating"),
    (lambda: nn.Conv2d(3, 4, kernel_size="3"), ValueError, "Conv2d: kernel_size must be"),
    (lambda: nn.Conv2d(3, 4, 3, stride=[1]), ValueError, "Conv2d: stride must be"),
    (lambda: nn.Conv2d(3, 4, 3, padding=None), ValueError, "Conv2d: padding must be"),
    (lambda: nn.Conv2d(3.0, 4, 3), ValueError, "Conv2d: in_channels must be a positive"),
    (lambda: nn.Conv2d(4, 4, 3, groups=3), ValueError, r"Conv2d: in_channels \(4\) must be "
                                                       r"divisible by groups \(3\)"),
    (lambda: nn.ConvTranspose2d(2, 2, 3, output_padding="1"), ValueError,
     "ConvTranspose2d: output_padding must be"),
    (lambda: nn.Conv1d(2, 2, (3, 3)), ValueError, "Conv1d: kernel_size must be .* tuple of 1"),
    (lambda: nn.ConvTranspose1d(2, 2, 3, stride=2, output_padding=2), ValueError,
     "ConvTranspose1d: output_padding"),
    (lambda: nn.Embedding("10", 3), ValueError, "Embedding: num_embeddings"),
    (lambda: nn.Dropout(p="x"), ValueError, r"Dropout: dropout probability p must be a number "
                                            r"in \[0, 1\], got 'x'"),
    (lambda: nn.Dropout(p=-0.1), ValueError, r"in \[0, 1\], got -0.1"),
    (lambda: nn.Dropout(p=float("nan")), ValueError, r"in \[0, 1\]"),
    (lambda: nn.LeakyReLU("a"), ValueError, "LeakyReLU: negative_slope must be a number"),
    (lambda: nn.Softplus(beta=None), ValueError, "Softplus: beta must be a number"),
    (lambda: nn.GELU("fast"), ValueError, "GELU: approximate"),
    (lambda: nn.Flatten("1"), ValueError, "Flatten: start_dim must be an integer"),
    (lambda: nn.Unflatten(1, 6), ValueError, "Unflatten: unflattened_size must be a tuple"),
    (lambda: nn.Unflatten(1, (-1, -1)), ValueError, "one of them may be -1"),
    (lambda: nn.MaxPool2d("2"), ValueError, "MaxPool2d: kernel_size must be"),
    (lambda: nn.MaxPool2d(2, padding=2), ValueError, "MaxPool2d: padding .* at most half"),
    (lambda: nn.MaxPool1d(2, ceil_mode=1), ValueError, "MaxPool1d: ceil_mode must be True"),
    (lambda: nn.AvgPool2d(2, divisor_override=0), ValueError, "AvgPool2d: divisor_override"),
    (lambda: nn.AvgPool1d(2, count_include_pad="no"), ValueError, "AvgPool1d: count_include"),
    (lambda: nn.AdaptiveAvgPool2d((1, 2, 3)), ValueError, "AdaptiveAvgPool2d: output_size"),
    (lambda: nn.Upsample(), ValueError, "Upsample: give exactly one of size and scale_factor"),
    (lambda: nn.Upsample(scale_factor="2"), ValueError, "Upsample: scale_factor must be a"),
    (lambda: nn.Upsample(size=2, mode="cubic"), ValueError, "Upsample: mode must be one of"),
    (lambda: nn.ReflectionPad2d((1, 2)), ValueError, "ReflectionPad2d: padding must be .* 4"),
    (lambda: nn.ConstantPad2d(1, "0"), ValueError, "ConstantPad2d: value must be a number"),
])
def test_constructors_name_the_layer_and_the_argument(make, error, words):
    with pytest.raises(error, match=words):
        make()


def test_bad_inputs_to_the_new_modules():
    with pytest.raises(ValueError, match=r"ReflectionPad2d: expected a 3-D or 4-D input"):
        nn.ReflectionPad2d(1)(sg.zeros(4, 4))
    with pytest.raises(ValueError, match=r"Unflatten: axis 1 .* cannot be split into \(4, 2\)"):
        nn.Unflatten(1, (4, 2))(sg.zeros(2, 6))
    with pytest.raises(ValueError, match="Unflatten: dim 3 is out of range"):
        nn.Unflatten(3, (2, 3))(sg.zeros(2, 6))
    with pytest.raises(sg.ShapeError, match="reflect padding must be smaller"):
        nn.ReflectionPad1d(3)(sg.zeros(1, 2, 3))
    with pytest.raises(sg.ShapeError, match="conv1d: input must be"):
        nn.Conv1d(2, 2, 1)(sg.zeros(1, 2, 3, 3))
