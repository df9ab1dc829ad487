"""The Numba conv2d kernels (kernels/cpu/conv2d.py) against the NumPy reference: every
registered version of the forward, input-gradient and weight-gradient ops on drawn geometries,
through F.conv2d / F.conv_transpose2d and autograd, and in a WGAN-GP penalty against torch."""
import importlib.util
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scratchgen as sg
import scratchgen.functional as F
import scratchgen.kernels as kernels
import scratchgen.kernels.cpu.conv2d  # noqa: F401  (registers the versions)
from scratchgen.engine.reference_kernels import conv_output_size

OPS = ("conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight")
VERSIONS = [v for v in kernels.available(OPS[0], "cpu") if v != kernels.REFERENCE]


@st.composite
def geometries(draw):
    """A conv2d geometry with at least one output pixel; small, the direct version is slow."""
    groups = draw(st.integers(1, 3))
    in_ch = groups * draw(st.integers(1, 2))
    out_ch = groups * draw(st.integers(1, 2))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    size = []
    for k, p, d in zip(kernel, padding, dilation):
        smallest = max(1, d * (k - 1) + 1 - 2 * p)
        size.append(draw(st.integers(smallest, smallest + 6)))
    n = draw(st.integers(1, 3))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    out_hw = tuple(conv_output_size(s, k, st_, p, d) for s, k, st_, p, d in
                   zip(size, kernel, stride, padding, dilation))
    return dict(x_shape=(n, in_ch, *size), w_shape=(out_ch, in_ch // groups, *kernel),
                y_shape=(n, out_ch, *out_hw), args=(stride, padding, dilation, groups),
                dtype=dtype, seed=draw(st.integers(0, 2 ** 16)),
                strided=draw(st.booleans()))


def operand(rng, shape, dtype, strided):
    """A random array; `strided` makes it a non-contiguous view (every other element of a
    larger array, axes permuted back)."""
    if not strided:
        return rng.standard_normal(shape).astype(dtype)
    big = rng.standard_normal((*shape[:-1], 2 * shape[-1])).astype(dtype)
    view = big[..., ::2]
    assert not view.flags.c_contiguous or shape[-1] == 1
    return view


def tolerance(dtype, reduced):
    """float32: rtol 1e-5 with atol growing with the reduction length; float64 tight."""
    if dtype == np.float32:
        return dict(rtol=1e-4, atol=1e-5 * np.sqrt(reduced) * 4)
    return dict(rtol=1e-10, atol=1e-12 * reduced)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("op", OPS)
@settings(max_examples=20)
@given(case=geometries())
def test_every_version_matches_the_reference(version, op, case):
    rng = np.random.default_rng(case["seed"])
    dtype, strided, args = case["dtype"], case["strided"], case["args"]
    x = operand(rng, case["x_shape"], dtype, strided)
    w = operand(rng, case["w_shape"], dtype, strided)
    g = operand(rng, case["y_shape"], dtype, strided)
    operands = {"conv2d_forward": (x, w),
                "conv2d_backward_input": (g, w, x.shape),
                "conv2d_backward_weight": (x, g, w.shape)}[op]
    want = kernels.get(op, kernels.REFERENCE)(*operands, *args)
    got = kernels.get(op, version)(*operands, *args)
    assert got.shape == want.shape and got.dtype == dtype and got.flags.c_contiguous
    reduced = {"conv2d_forward": np.prod(w.shape[1:]),
               "conv2d_backward_input": w.shape[0] * np.prod(w.shape[2:]),
               "conv2d_backward_weight": g.shape[0] * np.prod(g.shape[2:])}[op]
    np.testing.assert_allclose(got, want, **tolerance(dtype, reduced))


def _engine_run(case, transposed):
    """Output and gradients of a conv (or transposed conv) layer with a bias, in float64."""
    rng = np.random.default_rng(case["seed"])
    stride, padding, dilation, groups = case["args"]
    if transposed:   # conv_transpose2d's input is the conv2d's output: weight (in, out/G, ...)
        x = sg.Tensor(rng.standard_normal(case["y_shape"]), requires_grad=True)
        o, cg, kh, kw = case["w_shape"]
        w = sg.Tensor(rng.standard_normal((o, cg, kh, kw)), requires_grad=True)
        b = sg.Tensor(rng.standard_normal(cg * groups), requires_grad=True)
        y = F.conv_transpose2d(x, w, b, stride=stride, padding=padding, groups=groups,
                               dilation=dilation)
    else:
        x = sg.Tensor(rng.standard_normal(case["x_shape"]), requires_grad=True)
        w = sg.Tensor(rng.standard_normal(case["w_shape"]), requires_grad=True)
        b = sg.Tensor(rng.standard_normal(case["w_shape"][0]), requires_grad=True)
        y = F.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)
    (y * sg.Tensor(rng.standard_normal(y.shape))).sum().backward()
    return [t.numpy().copy() for t in (y, x.grad, w.grad, b.grad)]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("transposed", [False, True], ids=["conv2d", "conv_transpose2d"])
@settings(max_examples=10)
@given(case=geometries())
def test_the_engine_path_matches_the_reference_path(version, transposed, case):
    with sg.use_kernels(**{op: kernels.REFERENCE for op in OPS}):
        want = _engine_run(case, transposed)
    with sg.use_kernels(**{op: version for op in OPS}):
        got = _engine_run(case, transposed)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-11)


def _second_order_helpers():
    """tests/engine/test_second_order.py's WGAN-GP helpers (the conv critic, the penalty on
    both sides), loaded from its file: the test folders are not packages."""
    path = os.path.join(os.path.dirname(__file__), "..", "engine", "test_second_order.py")
    spec = importlib.util.spec_from_file_location("_second_order_for_conv_kernels", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("seed", [0, 1])
def test_wgan_gp_penalty_through_a_conv_critic_matches_torch(version, seed):
    pytest.importorskip("torch", reason="torch is the test oracle")
    helpers = _second_order_helpers()
    critic, x, params = helpers.conv_setup(np.random.default_rng(seed))
    with sg.use_kernels(**{op: version for op in OPS}):
        penalty, ps = helpers.sg_penalty(critic, x, params)
        penalty.backward()
    ours = [np.zeros(p.shape) if p.grad is None else p.grad.numpy() for p in ps]
    expected_value, expected = helpers.torch_penalty(critic, x, params)
    np.testing.assert_allclose(penalty.item(), expected_value.item(), rtol=1e-10)
    for got, want in zip(ours, expected):
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-9, atol=1e-11)
