"""Shared test utilities: gradient checkers, a PyTorch oracle, and hypothesis strategies.

    gradcheck(f, x, y)          analytic vs central finite differences, random upstream grad
    gradgradcheck(f, x, y)      the same one order up (create_graph=True)
    check_against_torch(f, tf, x, y)   forward and input gradients equal torch's (float64)
    adjoint_check(f, x)         <J v, u> = <v, J^T u> for an op linear in x

Every checker takes a function of Tensors and float64 NumPy arrays for its inputs. The
arrays are wrapped without a copy (`Tensor(array)`), so a non-contiguous array reaches the
op as it is. Torch is imported only inside `check_against_torch`.
"""
import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import scratchgen as sg
from scratchgen import Tensor

# ---- building inputs ---------------------------------------------------------------------


def leaf(array, requires_grad=None):
    """A leaf Tensor over `array` itself (no copy: the memory layout is kept)."""
    if requires_grad is None:
        requires_grad = array.dtype.kind == "f"
    return Tensor(array, requires_grad=requires_grad)


def noncontiguous(array):
    """The same values in a non-C-contiguous layout (a transposed or strided view)."""
    array = np.asarray(array)
    if array.ndim >= 2:
        return np.ascontiguousarray(array.transpose()).transpose()
    if array.ndim == 1:
        buffer = np.zeros((2 * array.shape[0],) + array.shape[1:], dtype=array.dtype)
        buffer[::2] = array
        return buffer[::2]
    return array


def away_from(values, kinks, gap):
    """Push every value that lies within `gap` of a kink out to kink +- gap."""
    for k in kinks:
        near = np.abs(values - k) < gap
        side = np.where(values >= k, 1.0, -1.0)
        values = np.where(near, k + gap * side, values)
    return values


def float_array(rng, shape, low=-2.0, high=2.0, kinks=(), gap=0.1, distinct=False):
    """Uniform float64 values in [low, high), away from `kinks`.

    distinct=True gives values at least `gap` apart (no ties for max, min, sorting)."""
    shape = tuple(shape)
    size = int(np.prod(shape, dtype=np.int64))
    if distinct:
        # a shuffled grid with spacing 2*gap, jittered by at most gap/2: no two within gap
        grid = low + 2 * gap * np.arange(size) + rng.uniform(-gap / 2, gap / 2, size)
        values = rng.permutation(grid).reshape(shape)
    else:
        values = rng.uniform(low, high, size=shape)
    return away_from(np.asarray(values, dtype=np.float64), kinks, gap)


def random_upstream(rng, shape):
    """A random upstream gradient (never all ones, which hides transposed gradients)."""
    return rng.standard_normal(tuple(shape))


def as_float(value):
    return np.asarray(value.data if isinstance(value, Tensor) else value, dtype=np.float64)


# ---- hypothesis strategies ----------------------------------------------------------------

def shapes(min_dims=0, max_dims=3, min_side=1, max_side=4):
    """Array shapes including 0-d and size-1 axes."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def broadcast_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=1, max_side=4):
    """Tuples of shapes that broadcast together, with size-1 and missing axes both ways."""
    return hnp.mutually_broadcastable_shapes(num_shapes=num_shapes, min_dims=min_dims,
                                             max_dims=max_dims, min_side=min_side,
                                             max_side=max_side).map(lambda b: b.input_shapes)


def seeds():
    return st.integers(0, 2**32 - 1)


@st.composite
def arrays(draw, shape, low=-2.0, high=2.0, kinks=(), gap=0.1, distinct=False, layout=None):
    """A float64 array of `shape` (or of a drawn shape if `shape` is a strategy).

    Values come from a drawn seed (hypothesis shrinks the seed, not thousands of floats);
    the layout is drawn too: C-contiguous or a non-contiguous (transposed/strided) view."""
    if isinstance(shape, st.SearchStrategy):
        shape = draw(shape)
    rng = np.random.default_rng(draw(seeds()))
    values = float_array(rng, shape, low, high, kinks, gap, distinct)
    transposed = draw(st.booleans()) if layout is None else layout
    return noncontiguous(values) if transposed else values


def axes(ndim, allow_none=True, allow_tuple=True):
    """An `axis` argument for a tensor with `ndim` axes: None, an int (negative too) or a tuple."""
    options = []
    if allow_none:
        options.append(st.none())
    if ndim > 0:
        options.append(st.integers(-ndim, ndim - 1))
        if allow_tuple:
            options.append(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim,
                                    unique=True).map(tuple))
    return st.one_of(options) if options else st.none()


# ---- strategies for the functional ops ----------------------------------------------------

@st.composite
def conv2d_case(draw, max_size=5):
    """A valid conv2d: arrays x (N, C, H, W) [or (C, H, W)], w, b and its keyword args."""
    groups = draw(st.integers(1, 2))
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = draw(st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    padding = draw(st.one_of(st.integers(0, 2), st.tuples(st.integers(0, 2), st.integers(0, 2))))
    dilation = draw(st.one_of(st.integers(1, 2), st.tuples(st.integers(1, 2), st.integers(1, 2))))
    pad2 = padding if isinstance(padding, tuple) else (padding, padding)
    dil2 = dilation if isinstance(dilation, tuple) else (dilation, dilation)
    sizes = []
    for k, p, d in zip((kh, kw), pad2, dil2):
        smallest = max(1, d * (k - 1) + 1 - 2 * p)
        assume(smallest <= max_size)
        sizes.append(draw(st.integers(smallest, max_size)))
    batch = draw(st.sampled_from([(), (1,), (2,)]))  # () = an unbatched (C, H, W) input
    x = draw(arrays(batch + (c_in, *sizes)))
    w = draw(arrays((c_out, c_in // groups, kh, kw)))
    b = draw(st.one_of(st.none(), arrays((c_out,))))
    return x, w, b, dict(stride=stride, padding=padding, dilation=dilation, groups=groups)


@st.composite
def conv_transpose2d_case(draw, max_size=4):
    """A valid conv_transpose2d: x (N, C_in, H, W) [or (C_in, H, W)], w (C_in, C_out / groups,
    kh, kw), b and its keyword args (output_padding < stride, non-empty output)."""
    groups = draw(st.integers(1, 2))
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = draw(st.integers(1, 3))
    padding = draw(st.integers(0, 2))
    dilation = draw(st.integers(1, 2))
    output_padding = draw(st.integers(0, stride - 1))
    h, w_ = draw(st.integers(1, max_size)), draw(st.integers(1, max_size))
    for size, k in ((h, kh), (w_, kw)):
        assume((size - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1 >= 1)
    batch = draw(st.sampled_from([(), (1,), (2,)]))
    x = draw(arrays(batch + (c_in, h, w_)))
    w = draw(arrays((c_in, c_out // groups, kh, kw)))
    b = draw(st.one_of(st.none(), arrays((c_out,))))
    return x, w, b, dict(stride=stride, padding=padding, output_padding=output_padding,
                         groups=groups, dilation=dilation)


def conv_inputs(case):
    """(inputs, kwargs) of a conv case: (x, w) or (x, w, b) when it draws a bias."""
    x, w, b, kwargs = case
    return (x, w) if b is None else (x, w, b), kwargs


@st.composite
def pool_case(draw, distinct):
    """x (N, 2, H, W) [or (2, H, W)], kernel (int or pair), stride (None = kernel), padding
    (at most half the kernel); distinct=True for max pooling (no ties in a window)."""
    k = draw(st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    k2 = k if isinstance(k, tuple) else (k, k)
    stride = draw(st.one_of(st.none(), st.integers(1, 3)))
    padding = draw(st.tuples(st.integers(0, k2[0] // 2), st.integers(0, k2[1] // 2)))
    sizes = [draw(st.integers(max(1, kk - 2 * p), 5)) for kk, p in zip(k2, padding)]
    batch = draw(st.sampled_from([(), (2,)]))
    x = draw(arrays(batch + (2, *sizes), distinct=distinct))
    return x, k, stride, padding


@st.composite
def attention_case(draw):
    """q (..., L, E), k (..., S, E), v (..., S, Ev) and the keyword args: no mask, a boolean
    mask (True attends; every query keeps at least one key), a float mask, or is_causal."""
    batch = draw(st.sampled_from([(), (2,), (2, 2)]))
    length, source, e, ev = (draw(st.integers(1, 3)) for _ in range(4))
    q = draw(arrays(batch + (length, e)))
    k = draw(arrays(batch + (source, e)))
    v = draw(arrays(batch + (source, ev)))
    kind = draw(st.sampled_from(["none", "bool", "float", "causal"]))
    rng = np.random.default_rng(draw(seeds()))
    mask, causal = None, False
    if kind == "bool":
        mask = rng.random((length, source)) < 0.6
        mask[np.arange(length), rng.integers(0, source, length)] = True  # no empty rows
    elif kind == "float":
        mask = rng.standard_normal(batch + (length, source))
    elif kind == "causal":
        causal = True
    scale = draw(st.sampled_from([None, 0.3]))
    return q, k, v, dict(attn_mask=mask, is_causal=causal, scale=scale)


# ---- gradient checks ----------------------------------------------------------------------

def _numeric_gradient(value_of, arrays, index, eps):
    """d value_of(arrays) / d arrays[index] by central differences (float64)."""
    base = arrays[index]
    grad = np.zeros(base.shape, dtype=np.float64)
    for pos in np.ndindex(base.shape):
        shifted = []
        for sign in (1.0, -1.0):
            moved = base.copy()
            moved[pos] += sign * eps
            args = list(arrays)
            args[index] = moved
            shifted.append(value_of(args))
        grad[pos] = (shifted[0] - shifted[1]) / (2 * eps)
    return grad


def _check_shape_and_dtype(grad, array, what):
    assert grad is not None, f"{what}: no gradient"
    assert tuple(grad.shape) == tuple(array.shape), (
        f"{what}: gradient shape {tuple(grad.shape)} != input shape {tuple(array.shape)}")
    assert grad.dtype == np.float64, f"{what}: gradient dtype {grad.dtype} (float64 expected)"


def gradcheck(fn, *arrays, eps=1e-6, rtol=1e-5, atol=1e-6, seed=0):
    """Analytic gradients of fn(*Tensors) under a random upstream gradient u equal the central
    finite differences of <fn(x), u>. Float arrays are differentiated; other arrays are
    passed as constant Tensors. Returns the analytic gradients (as arrays)."""
    arrays = [np.asarray(a) for a in arrays]
    before = [a.copy() for a in arrays]
    tensors = [leaf(a) for a in arrays]
    out = fn(*tensors)
    assert out.dtype == np.float64, f"float64 inputs gave a {out.dtype} output"
    u = random_upstream(np.random.default_rng(seed), out.shape)
    out.backward(Tensor(u.copy()))
    for a, b in zip(arrays, before):
        np.testing.assert_array_equal(a, b, err_msg="the op or its backward mutated an input")

    def value_of(args):
        return float(np.sum(as_float(fn(*[leaf(a, False) for a in args])) * u))

    grads = []
    for i, (a, t) in enumerate(zip(arrays, tensors)):
        if not t.requires_grad:
            grads.append(None)
            continue
        analytic = np.zeros(a.shape) if t.grad is None else as_float(t.grad)
        if t.grad is not None:
            _check_shape_and_dtype(t.grad, a, f"input {i}")
        numeric = _numeric_gradient(value_of, arrays, i, eps)
        np.testing.assert_allclose(analytic, numeric, rtol=rtol, atol=atol,
                                   err_msg=f"gradient of input {i} (shape {a.shape})")
        grads.append(analytic)
    return grads


def _first_grads(fn, tensors, u, create_graph):
    """grad(<fn(x), u>, x) for the differentiable tensors (zeros for unused ones)."""
    out = fn(*tensors)
    wrt = [t for t in tensors if t.requires_grad]
    if not out.requires_grad:
        return out, [Tensor(np.zeros(t.shape)) for t in wrt]
    grads = sg.grad(out, wrt, grad_outputs=u, create_graph=create_graph, allow_unused=True)
    return out, [Tensor(np.zeros(t.shape)) if g is None else g for t, g in zip(wrt, grads)]


def gradgradcheck(fn, *arrays, eps=1e-5, rtol=1e-4, atol=1e-6, seed=0):
    """Second order: h(x, u) = sum_i <grad_x_i <fn(x), u>, v_i>, with random u and v, is
    built with create_graph=True; its gradient in x and in u (the upstream gradient,
    which tests the grad-of-grad w.r.t. grad_outputs) must equal finite differences of h
    computed from first-order gradients."""
    rng = np.random.default_rng(seed)
    arrays = [np.asarray(a) for a in arrays]
    diff = [i for i, a in enumerate(arrays) if a.dtype.kind == "f"]
    out_shape = fn(*[leaf(a, False) for a in arrays]).shape
    u0 = random_upstream(rng, out_shape)
    vs = [rng.standard_normal(arrays[i].shape) for i in diff]

    def h_of(args, u, create_graph):
        tensors = [leaf(a, requires_grad=(i in diff)) for i, a in enumerate(args)]
        u_t = Tensor(u, requires_grad=create_graph)
        _, grads = _first_grads(fn, tensors, u_t, create_graph)
        terms = [(g * Tensor(v)).sum() for g, v in zip(grads, vs)]
        h = terms[0]
        for term in terms[1:]:
            h = h + term
        return h, tensors, u_t

    h, tensors, u_t = h_of(arrays, u0.copy(), create_graph=True)
    wrt = [tensors[i] for i in diff] + [u_t]
    if h.requires_grad:
        analytic = sg.grad(h, wrt, allow_unused=True)
        analytic = [np.zeros(t.shape) if g is None else as_float(g) for g, t in zip(analytic, wrt)]
    else:  # the gradient does not depend on x or u at all
        analytic = [np.zeros(t.shape) for t in wrt]
    for g, t in zip(analytic, wrt):
        assert g.shape == t.shape

    all_args = [arrays[i] for i in diff] + [u0]

    def value_of(args):
        x = list(arrays)
        for k, i in enumerate(diff):
            x[i] = args[k]
        h, _, _ = h_of(x, args[-1], create_graph=False)
        return float(as_float(h))

    for k in range(len(all_args)):
        numeric = _numeric_gradient(value_of, all_args, k, eps)
        what = f"input {diff[k]}" if k < len(diff) else "the upstream gradient"
        np.testing.assert_allclose(analytic[k], numeric, rtol=rtol, atol=atol,
                                   err_msg=f"second-order gradient w.r.t. {what}")
    return analytic


def adjoint_check(fn, shape, seed=0, rtol=1e-10, atol=1e-10):
    """For fn linear in its one input: <J v, u> = <v, J^T u> on random v and u, where
    J v = fn(v) and J^T u comes from backward."""
    rng = np.random.default_rng(seed)
    v = rng.standard_normal(shape)
    jv = as_float(fn(Tensor(v)))
    u = rng.standard_normal(jv.shape)
    x = Tensor(rng.standard_normal(shape), requires_grad=True)
    fn(x).backward(Tensor(u))
    jtu = as_float(x.grad)
    np.testing.assert_allclose(np.sum(jv * u), np.sum(v * jtu), rtol=rtol, atol=atol)


# ---- the PyTorch oracle ---------------------------------------------------------------------

def check_against_torch(sg_fn, torch_fn, *arrays, rtol=1e-10, atol=1e-12, seed=0,
                        check_backward=True):
    """sg_fn(*Tensors) and torch_fn(*torch.Tensors) on float64 copies of the same arrays:
    forward outputs and the gradients of every float input (under one random upstream
    gradient) must agree. Integer and boolean arrays are passed without gradients."""
    import torch

    arrays = [np.asarray(a) for a in arrays]
    ours = [leaf(a.copy()) for a in arrays]
    theirs = [torch.tensor(a.copy(), requires_grad=(a.dtype.kind == "f" and check_backward))
              for a in arrays]
    out = sg_fn(*ours)
    expected = torch_fn(*theirs)
    assert tuple(out.shape) == tuple(expected.shape), (
        f"output shape {tuple(out.shape)} != torch's {tuple(expected.shape)}")
    np.testing.assert_allclose(as_float(out), expected.detach().numpy(), rtol=rtol, atol=atol,
                               err_msg="forward differs from torch")
    if not check_backward:
        return
    u = random_upstream(np.random.default_rng(seed), out.shape)
    out.backward(Tensor(u.copy()))
    expected.backward(torch.from_numpy(u.copy()))
    for i, (a, t, tt) in enumerate(zip(arrays, ours, theirs)):
        if a.dtype.kind != "f":
            continue
        want = np.zeros(a.shape) if tt.grad is None else tt.grad.numpy()
        got = np.zeros(a.shape) if t.grad is None else as_float(t.grad)
        if t.grad is not None:
            _check_shape_and_dtype(t.grad, a, f"input {i}")
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol,
                                   err_msg=f"gradient of input {i} (shape {a.shape}) differs "
                                           "from torch")


# The binary operators checked at first and second order: op, value range of a, of b, and the
# values of b to stay away from (a kink or a pole).
BINARY_OPS = {
    "add": (lambda a, b: a + b, (-2, 2), (-2, 2), ()),
    "sub": (lambda a, b: a - b, (-2, 2), (-2, 2), ()),
    "mul": (lambda a, b: a * b, (-2, 2), (-2, 2), ()),
    "div": (lambda a, b: a / b, (-2, 2), (-2, 2), (0.0,)),
    "pow": (lambda a, b: a ** b, (0.3, 2.5), (-2, 2), ()),
}


# ---- checkpoints ------------------------------------------------------------------------------
def flat(tree, prefix=""):
    """{path: leaf} of a nested checkpoint."""
    if isinstance(tree, dict):
        return {k: v for key, sub in tree.items() for k, v in flat(sub, f"{prefix}/{key}").items()}
    if isinstance(tree, (list, tuple)):
        return {k: v for i, sub in enumerate(tree) for k, v in flat(sub, f"{prefix}/{i}").items()}
    return {prefix: tree}


def assert_same_checkpoints(a, b):
    """Two checkpoint files hold the same keys with bit-identical arrays."""
    a, b = flat(sg.load(a)), flat(sg.load(b))
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
