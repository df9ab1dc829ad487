"""conv1d / conv_transpose1d, pooling options (dilation, ceil_mode, return_indices,
divisor_override, 1-D and adaptive pooling), F.pad's four modes and F.interpolate's modes:
finite-difference gradchecks in float64, the torch oracle (forward, input gradients and
indices), second order, integer inputs and the errors."""
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import scratchgen as sg
import scratchgen.functional as F
from helpers import arrays, check_against_torch, gradcheck, gradgradcheck

tF = pytest.importorskip("torch.nn.functional")
import torch  # noqa: E402

FEW = settings(max_examples=15)


# ---- strategies ---------------------------------------------------------------------------

@st.composite
def conv1d_case(draw, transposed=False, max_size=6):
    """x (N, C_in, L) [or (C_in, L)], w, b and keyword arguments of a valid (transposed) conv1d."""
    groups = draw(st.integers(1, 2))
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    k, stride = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    padding, dilation = draw(st.integers(0, 2)), draw(st.integers(1, 2))
    if transposed:
        output_padding = draw(st.integers(0, stride - 1))
        length = draw(st.integers(1, 4))
        assume((length - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding >= 0)
        w = draw(arrays((c_in, c_out // groups, k)))
        kwargs = dict(stride=stride, padding=padding, output_padding=output_padding,
                      groups=groups, dilation=dilation)
    else:
        length = draw(st.integers(max(1, dilation * (k - 1) + 1 - 2 * padding), max_size))
        w = draw(arrays((c_out, c_in // groups, k)))
        kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    batch = draw(st.sampled_from([(), (1,), (2,)]))
    x = draw(arrays(batch + (c_in, length)))
    b = draw(st.one_of(st.none(), arrays((c_out,))))
    return ((x, w) if b is None else (x, w, b)), kwargs


@st.composite
def pool_options(draw, dims=2, dilation=True):
    """kernel, stride, padding, dilation, ceil_mode and an input shape whose every window
    holds at least one input element (PyTorch itself misbehaves on all-padding windows)."""
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    dil = tuple(draw(st.integers(1, 2)) for _ in range(dims)) if dilation else (1,) * dims
    ceil_mode = draw(st.booleans())
    sizes = []
    for k, s, p, d in zip(kernel, stride, padding, dil):
        size = draw(st.integers(max(1, d * (k - 1) + 1 - 2 * p), 6))
        out = (size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
        if ceil_mode and (out - 1) * s >= size + p:
            out -= 1
        # every window has a tap inside [0, size)
        for i in range(out):
            assume(any(0 <= i * s - p + j * d < size for j in range(k)))
        sizes.append(size)
    batch = draw(st.sampled_from([(), (2,)]))
    return dict(kernel_size=kernel, stride=stride, padding=padding, dilation=dil,
                ceil_mode=ceil_mode), batch + (2, *sizes)


# ---- conv1d and conv_transpose1d ------------------------------------------------------------

@settings(max_examples=10)
@given(case=conv1d_case())
def test_conv1d_gradient_and_torch(case):
    inputs, kwargs = case
    gradcheck(lambda *a: F.conv1d(*a, **kwargs), *inputs)
    check_against_torch(lambda *a: F.conv1d(*a, **kwargs), lambda *a: tF.conv1d(*a, **kwargs),
                        *inputs)


@settings(max_examples=10)
@given(case=conv1d_case(transposed=True))
def test_conv_transpose1d_gradient_and_torch(case):
    inputs, kwargs = case
    gradcheck(lambda *a: F.conv_transpose1d(*a, **kwargs), *inputs)
    check_against_torch(lambda *a: F.conv_transpose1d(*a, **kwargs),
                        lambda *a: tF.conv_transpose1d(*a, **kwargs), *inputs)


def test_conv1d_second_order():
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((1, 2, 4)), rng.standard_normal((2, 2, 2)), rng.standard_normal(2)
    gradgradcheck(lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1) ** 2.0, x, w, b)
    wt = rng.standard_normal((2, 1, 2))
    gradgradcheck(lambda x, w: F.conv_transpose1d(x, w, stride=2, output_padding=1) ** 2.0, x, wt)


@pytest.mark.parametrize("call, error, words", [
    (lambda x, w: F.conv1d(x[0, 0], w), sg.ShapeError, r"conv1d: input must be \(N, C, L\)"),
    (lambda x, w: F.conv1d(x, w[0]), sg.ShapeError,
     r"conv1d: weight must be \(out, in / groups, k\)"),
    (lambda x, w: F.conv1d(x, w, stride=0), ValueError, "conv1d: stride must be an integer >= 1"),
    (lambda x, w: F.conv1d(x, w, padding="1"), ValueError, "conv1d: padding must be"),
    (lambda x, w: F.conv1d(x, w, dilation=(1, 1)), ValueError, "conv1d: dilation must be"),
    (lambda x, w: F.conv1d(x, w, groups=0), ValueError, "conv1d: groups must be a positive int"),
    (lambda x, w: F.conv1d(x[:, :1], w), sg.ShapeError, "expected 2 input channels"),
    (lambda x, w: F.conv1d(x[:, :, :1], w), sg.ShapeError, "smaller than the kernel"),
    (lambda x, w: F.conv1d(x, w, sg.zeros(2)), sg.ShapeError, "bias of shape"),
    (lambda x, w: F.conv_transpose1d(x, w.transpose(1, 0, 2), stride=2, output_padding=2),
     ValueError, "output_padding 2 must be smaller than stride 2"),
    (lambda x, w: F.conv_transpose1d(x, w), sg.ShapeError, "expected 3 input channels"),
])
def test_conv1d_errors(call, error, words):
    x, w = sg.randn(1, 2, 4), sg.randn(3, 2, 3)
    with pytest.raises(error, match=words):
        call(x, w)


# ---- max pooling ----------------------------------------------------------------------------

@FEW
@given(data=st.data())
def test_max_pool2d_with_dilation_and_ceil_mode_matches_torch_including_indices(data):
    opts, shape = data.draw(pool_options())
    x = data.draw(arrays(shape, distinct=True))
    gradcheck(lambda t: F.max_pool2d(t, **opts), x)
    check_against_torch(lambda t: F.max_pool2d(t, **opts), lambda t: tF.max_pool2d(t, **opts), x)
    _, ours = F.max_pool2d(sg.tensor(x), **opts, return_indices=True)
    _, theirs = tF.max_pool2d(torch.tensor(x), **opts, return_indices=True)
    assert ours.dtype == np.int64
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@FEW
@given(data=st.data())
def test_max_pool1d_matches_torch_including_indices(data):
    opts, shape = data.draw(pool_options(dims=1))
    opts = {k: v[0] if isinstance(v, tuple) else v for k, v in opts.items()}
    x = data.draw(arrays(shape, distinct=True))
    gradcheck(lambda t: F.max_pool1d(t, **opts), x)
    check_against_torch(lambda t: F.max_pool1d(t, **opts), lambda t: tF.max_pool1d(t, **opts), x)
    _, ours = F.max_pool1d(sg.tensor(x), **opts, return_indices=True)
    _, theirs = tF.max_pool1d(torch.tensor(x), **opts, return_indices=True)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_max_pool_ties_send_the_gradient_to_the_first_maximum_as_torch():
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 1:3, 1:3] = 1.0  # every 3x3 window holds several equal maxima
    check_against_torch(lambda t: F.max_pool2d(t, 3, 1, 1, ceil_mode=True),
                        lambda t: tF.max_pool2d(t, 3, 1, 1, ceil_mode=True), x)
    _, ours = F.max_pool2d(sg.tensor(x), 3, 1, 1, return_indices=True)
    _, theirs = tF.max_pool2d(torch.tensor(x), 3, 1, 1, return_indices=True)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_max_pool_window_of_padding_alone_gives_minus_inf_and_torch_index():
    x = np.arange(3.0).reshape(1, 1, 1, 3)
    y, i = F.max_pool2d(sg.tensor(x), 2, 1, 1, dilation=2, return_indices=True)
    ty, ti = tF.max_pool2d(torch.tensor(x), 2, 1, 1, dilation=2, return_indices=True)
    np.testing.assert_array_equal(y.numpy(), ty.numpy())
    np.testing.assert_array_equal(i.numpy(), ti.numpy())
    assert np.isinf(y.numpy()).any()


def test_max_pool_second_order():
    x = np.random.default_rng(1).permutation(np.arange(50.0)).reshape(2, 1, 5, 5) / 10
    gradgradcheck(lambda t: F.max_pool2d(t, 3, 2, 1, dilation=1, ceil_mode=True) ** 2.0, x)
    gradgradcheck(lambda t: F.max_pool1d(t, 2, 2, ceil_mode=True) ** 2.0, x[:, 0, 0])


@pytest.mark.parametrize("dtype", [np.int64, np.int32])
def test_max_pool_of_integers_gives_integers_as_torch(dtype):
    x = np.random.default_rng(2).integers(-50, 50, (2, 3, 5, 6)).astype(dtype)
    y, i = F.max_pool2d(sg.tensor(x), 3, 2, 1, ceil_mode=True, return_indices=True)
    ty, ti = tF.max_pool2d(torch.tensor(x), 3, 2, 1, ceil_mode=True, return_indices=True)
    assert y.dtype == dtype
    np.testing.assert_array_equal(y.numpy(), ty.numpy())
    np.testing.assert_array_equal(i.numpy(), ti.numpy())


# ---- average pooling ------------------------------------------------------------------------

@FEW
@given(data=st.data())
def test_avg_pool2d_options_match_torch(data):
    opts, shape = data.draw(pool_options(dilation=False))
    del opts["dilation"]
    opts["count_include_pad"] = data.draw(st.booleans())
    opts["divisor_override"] = data.draw(st.sampled_from([None, 1, 3]))
    x = data.draw(arrays(shape))
    gradcheck(lambda t: F.avg_pool2d(t, **opts), x)
    check_against_torch(lambda t: F.avg_pool2d(t, **opts), lambda t: tF.avg_pool2d(t, **opts), x)
    ints = np.random.default_rng(0).integers(-40, 40, shape)
    np.testing.assert_array_equal(F.avg_pool2d(sg.tensor(ints), **opts).numpy(),
                                  tF.avg_pool2d(torch.tensor(ints), **opts).numpy())


@FEW
@given(data=st.data())
def test_avg_pool1d_matches_torch(data):
    opts, shape = data.draw(pool_options(dims=1, dilation=False))
    opts = {k: v[0] if isinstance(v, tuple) else v for k, v in opts.items() if k != "dilation"}
    opts["count_include_pad"] = data.draw(st.booleans())
    x = data.draw(arrays(shape))
    gradcheck(lambda t: F.avg_pool1d(t, **opts), x)
    check_against_torch(lambda t: F.avg_pool1d(t, **opts), lambda t: tF.avg_pool1d(t, **opts), x)


def test_avg_pool_ceil_mode_divisor_follows_torch_rule():
    # 5 wide, kernel 2, stride 2, ceil_mode: the last window starts at 4 (inside) and is cut
    # at the input's end, so its divisor is 1, not 2
    x = np.arange(5.0).reshape(1, 1, 1, 5)
    y = F.avg_pool2d(sg.tensor(x), (1, 2), ceil_mode=True).numpy()
    np.testing.assert_array_equal(y, [[[[0.5, 2.5, 4.0]]]])
    check_against_torch(lambda t: F.avg_pool2d(t, (1, 2), ceil_mode=True),
                        lambda t: tF.avg_pool2d(t, (1, 2), ceil_mode=True), x)


def test_avg_pool_second_order_and_adaptive_pooling():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 2, 5, 4))
    gradgradcheck(lambda t: F.avg_pool2d(t, 3, 2, 1, ceil_mode=True,
                                         count_include_pad=False) ** 2.0, x)
    for size in [(2, 3), 1, (None, 2), (7, 4)]:
        torch_size = tuple(n if n is not None else x.shape[2] for n in size) \
            if isinstance(size, tuple) else size
        gradcheck(lambda t: F.adaptive_avg_pool2d(t, size), x)
        check_against_torch(lambda t: F.adaptive_avg_pool2d(t, size),
                            lambda t: tF.adaptive_avg_pool2d(t, torch_size), x)
    check_against_torch(lambda t: F.adaptive_avg_pool1d(t, 3),
                        lambda t: tF.adaptive_avg_pool1d(t, 3), x[:, :, 0])
    gradgradcheck(lambda t: F.adaptive_avg_pool2d(t, (2, 3)) ** 2.0, x)


@pytest.mark.parametrize("call, error, words", [
    (lambda x: F.max_pool2d(x, 2, padding=2), ValueError, "at most half the kernel"),
    (lambda x: F.max_pool2d(x, 0), ValueError, "max_pool2d: kernel_size must be an integer >= 1"),
    (lambda x: F.max_pool2d(x, 2, dilation=0), ValueError, "max_pool2d: dilation"),
    (lambda x: F.max_pool2d(x, 2, ceil_mode="yes"), TypeError, "ceil_mode must be True or False"),
    (lambda x: F.max_pool2d(x, 5), sg.ShapeError, "smaller than the kernel"),
    (lambda x: F.max_pool1d(x, 2), sg.ShapeError, r"max_pool1d: input must be \(N, C, L\)"),
    (lambda x: F.avg_pool2d(x, 2, divisor_override=0), ValueError, "divisor_override"),
    (lambda x: F.avg_pool2d(x > 0, 2), TypeError, "floating-point or integer"),
    (lambda x: F.adaptive_avg_pool2d(x, (1, 2, 3)), ValueError, "output_size"),
    (lambda x: F.adaptive_avg_pool2d(x, 0), ValueError, "output_size must be an integer >= 1"),
])
def test_pooling_errors(call, error, words):
    with pytest.raises(error, match=words):
        call(sg.tensor(np.zeros((1, 2, 4, 4))))


# ---- F.pad ----------------------------------------------------------------------------------

PAD_MODES = ["constant", "reflect", "replicate", "circular"]


@st.composite
def pad_case(draw, mode):
    """An input of 2 to 4 axes and a torch-style pad tuple for its last 1..3 axes (torch's
    non-constant modes need ndim in (n+1, n+2) for n padded axes)."""
    padded = draw(st.integers(1, 3 if mode != "constant" else 2))
    ndim = padded + draw(st.integers(1, 2)) if mode != "constant" else draw(st.integers(1, 4))
    padded = min(padded, ndim)
    shape = tuple(draw(st.integers(1, 4 if k >= ndim - padded else 2)) for k in range(ndim))
    pad = []
    for axis in range(ndim - 1, ndim - 1 - padded, -1):
        top = {"reflect": shape[axis] - 1, "circular": shape[axis]}.get(mode, 3)
        pad += [draw(st.integers(0, top)), draw(st.integers(0, top))]
    return draw(arrays(shape)), tuple(pad)


@pytest.mark.parametrize("mode", PAD_MODES)
@FEW
@given(data=st.data())
def test_pad_modes_gradient_torch_and_second_order(mode, data):
    x, pad = data.draw(pad_case(mode))
    value = data.draw(st.sampled_from([0.0, -1.5])) if mode == "constant" else 0
    ours = lambda t: F.pad(t, pad, mode, value)
    gradcheck(ours, x)
    check_against_torch(ours, lambda t: tF.pad(t, pad, mode, value) if mode == "constant"
                        else tF.pad(t, pad, mode), x)
    gradgradcheck(lambda t: ours(t) ** 2.0, x)


def test_pad_modes_values_on_a_row():
    x = sg.tensor(np.array([[1.0, 2.0, 3.0]]))
    expect = {"constant": [0, 0, 1, 2, 3, 0, 0], "reflect": [3, 2, 1, 2, 3, 2, 1],
              "replicate": [1, 1, 1, 2, 3, 3, 3], "circular": [2, 3, 1, 2, 3, 1, 2]}
    for mode, row in expect.items():
        np.testing.assert_array_equal(F.pad(x, (2, 2), mode).numpy(), [row])


def test_pad_keeps_integer_dtypes():
    x = np.arange(12).reshape(1, 3, 4)
    for mode in PAD_MODES:
        y = F.pad(sg.tensor(x), (1, 2), mode)
        assert y.dtype == np.int64
        np.testing.assert_array_equal(y.numpy(), tF.pad(torch.tensor(x), (1, 2), mode).numpy())


@pytest.mark.parametrize("call, error, words", [
    (lambda x: F.pad(x, (-1, 1)), ValueError, "negative pad widths are not supported"),
    (lambda x: F.pad(x, (1, 1, 1)), sg.ShapeError, "even length"),
    (lambda x: F.pad(x, (1,) * 8), sg.ShapeError, "at most 2 \\* ndim = 6"),
    (lambda x: F.pad(x, 1), TypeError, "pad must be a tuple of ints"),
    (lambda x: F.pad(x, (1.5, 1)), TypeError, "pad must hold ints"),
    (lambda x: F.pad(x, (1, 1), "mirror"), ValueError, "mode must be one of"),
    (lambda x: F.pad(x, (4, 0), "reflect"), sg.ShapeError, "reflect padding must be smaller"),
    (lambda x: F.pad(x, (5, 0), "circular"), sg.ShapeError, "wrap around more than once"),
    (lambda x: F.pad(x, (1, 1), "reflect", value=2.0), ValueError, "only used by mode='constant'"),
    (lambda x: F.pad(x, (1, 1), value="a"), TypeError, "value must be a number"),
])
def test_pad_errors(call, error, words):
    with pytest.raises(error, match=words):
        call(sg.tensor(np.zeros((1, 3, 4))))


# ---- F.interpolate --------------------------------------------------------------------------

LINEAR = {3: "linear", 4: "bilinear", 5: "trilinear"}


@st.composite
def interpolate_case(draw):
    """x (N, C, *spatial) with 1..3 spatial axes, a mode that fits, and size or scale_factor
    (non-integer scales too; none that empties an axis)."""
    dims = draw(st.integers(1, 3))
    spatial = tuple(draw(st.integers(1, 4)) for _ in range(dims))
    mode = draw(st.sampled_from(["nearest", "nearest-exact", "linear"]))
    kwargs = {"mode": LINEAR[dims + 2] if mode == "linear" else mode}
    if mode == "linear":
        kwargs["align_corners"] = draw(st.sampled_from([None, False, True]))
    if draw(st.booleans()):
        kwargs["size"] = tuple(draw(st.integers(1, 6)) for _ in range(dims))
    else:
        scales = tuple(draw(st.sampled_from([0.5, 0.75, 1.0, 1.3, 1.7, 2.0, 2.5, 3.0]))
                       for _ in range(dims))
        assume(all(math.floor(n * s) >= 1 for n, s in zip(spatial, scales)))
        kwargs["scale_factor"] = scales if dims > 1 or draw(st.booleans()) else scales[0]
        kwargs["recompute_scale_factor"] = draw(st.sampled_from([None, True]))
    x = draw(arrays((draw(st.integers(1, 2)), 2) + spatial))
    return x, kwargs


def _torch_nearest_backward_is_consistent(x, kwargs):
    """PyTorch's 1-D and 3-D 'nearest' backward (not its forward) copies i resp. i // 2 when
    an output axis keeps its size or doubles it; there its gradient is not the adjoint of
    its forward, and scratchgen keeps the adjoint (docs/torch-differences.md)."""
    if kwargs["mode"] != "nearest" or x.ndim == 4 or "size" in kwargs \
            or kwargs.get("recompute_scale_factor"):
        return True
    out = F.interpolate(sg.tensor(x), **kwargs).shape[2:]
    return not any(o in (n, 2 * n) for o, n in zip(out, x.shape[2:]))


@settings(max_examples=40)
@given(case=interpolate_case())
def test_interpolate_modes_match_torch_and_finite_differences(case):
    x, kwargs = case
    ours = lambda t: F.interpolate(t, **kwargs)
    gradcheck(ours, x)
    check_against_torch(ours, lambda t: tF.interpolate(t, **kwargs), x,
                        check_backward=_torch_nearest_backward_is_consistent(x, kwargs))


def test_interpolate_nearest_of_3d_input_keeps_batch_and_channels():
    x = np.arange(12.0).reshape(2, 3, 2)
    y = F.interpolate(sg.tensor(x), scale_factor=2)
    assert y.shape == (2, 3, 4)
    np.testing.assert_array_equal(y.numpy(), np.repeat(x, 2, axis=2))


def test_interpolate_non_integer_scale_uses_torch_source_rule():
    # 2.13 on 5 pixels gives 10 = 2 * 5 outputs: PyTorch's 1-D forward uses floor(i / 2.13)
    # there, its 2-D forward i // 2
    x = np.arange(5.0)
    y1 = F.interpolate(sg.tensor(x.reshape(1, 1, 5)), scale_factor=2.13).numpy().ravel()
    y2 = F.interpolate(sg.tensor(x.reshape(1, 1, 1, 5)), scale_factor=(1, 2.13)).numpy().ravel()
    np.testing.assert_array_equal(y1, [0, 0, 0, 1, 1, 2, 2, 3, 3, 4])
    np.testing.assert_array_equal(y2, [0, 0, 1, 1, 2, 2, 3, 3, 4, 4])


def test_interpolate_float32_nearest_is_exact_and_area_matches_torch():
    x = np.random.default_rng(4).standard_normal((1, 2, 7, 9)).astype(np.float32)
    for scale in (0.6, 1.37, 2.9):
        np.testing.assert_array_equal(
            F.interpolate(sg.tensor(x), scale_factor=scale).numpy(),
            tF.interpolate(torch.tensor(x), scale_factor=scale).numpy())
    check_against_torch(lambda t: F.interpolate(t, size=(3, 4), mode="area"),
                        lambda t: tF.interpolate(t, size=(3, 4), mode="area"),
                        x.astype(np.float64))


def test_interpolate_second_order():
    x = np.random.default_rng(5).standard_normal((1, 1, 3, 3))
    gradgradcheck(lambda t: F.interpolate(t, scale_factor=1.5, mode="bilinear") ** 2.0, x)
    gradgradcheck(lambda t: F.interpolate(t, size=(4, 5), mode="bilinear",
                                          align_corners=True) ** 2.0, x)
    gradgradcheck(lambda t: F.interpolate(t, scale_factor=1.7, mode="nearest") ** 2.0, x[0])


def test_interpolate_of_integers_nearest():
    x = np.arange(6).reshape(1, 1, 2, 3)
    y = F.interpolate(sg.tensor(x), scale_factor=2)
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y.numpy(), x.repeat(2, 2).repeat(2, 3))


@pytest.mark.parametrize("call, error, words", [
    (lambda x: F.interpolate(x), ValueError, "exactly one of size and scale_factor"),
    (lambda x: F.interpolate(x, size=4, scale_factor=2), ValueError, "exactly one of"),
    (lambda x: F.interpolate(x, scale_factor=0.2), sg.ShapeError, "makes axis 2 .* empty"),
    (lambda x: F.interpolate(x, scale_factor=-1), ValueError, "positive and finite"),
    (lambda x: F.interpolate(x, scale_factor="2"), ValueError, "scale_factor must be a number"),
    (lambda x: F.interpolate(x, scale_factor=(2, 2, 2)), ValueError, "tuple of 2 numbers"),
    (lambda x: F.interpolate(x, size=0), ValueError, "size must be an integer >= 1"),
    (lambda x: F.interpolate(x, 2, mode="cubic"), ValueError, "mode must be one of"),
    (lambda x: F.interpolate(x, 2, align_corners=True), ValueError, "align_corners can only"),
    (lambda x: F.interpolate(x, 2, mode="linear"), sg.ShapeError, "'linear' needs a 3-D input"),
    (lambda x: F.interpolate(x[0, 0], 2), sg.ShapeError, r"input must be \(N, C, L\)"),
    (lambda x: F.interpolate(x > 0, 2, mode="bilinear"), TypeError, "floating-point"),
    (lambda x: F.interpolate(x, 2, recompute_scale_factor=True), ValueError,
     "recompute_scale_factor=True needs scale_factor"),
])
def test_interpolate_errors(call, error, words):
    with pytest.raises(error, match=words):
        call(sg.tensor(np.zeros((1, 2, 4, 4))))
