"""The elementwise math of issue 9: trigonometric, hyperbolic, logarithmic and special
functions, rounding, arctan2/logaddexp/lerp, %, //, the predicates, and the bitwise and logical
ops. Each differentiable op against torch (forward and input gradients, float64), against
finite differences and at second order; the others against torch or NumPy; the edges of
x ** y at x = 0 on a grid, the result dtypes, the spellings and the errors."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scratchgen as sg
from helpers import (arrays, broadcast_shapes, check_against_torch, gradcheck, gradgradcheck,
                     seeds, shapes)
from scratchgen import ShapeError

torch = pytest.importorskip("torch", reason="torch is the test oracle (pip install torch)")

FEW = settings(max_examples=10)
FEWER = settings(max_examples=5)
SMALL = shapes(max_side=3)

# name: (scratchgen op, torch op, (low, high) of the input)
UNARY = {
    "sin": (sg.sin, torch.sin, (-3, 3)),
    "cos": (sg.cos, torch.cos, (-3, 3)),
    "tan": (sg.tan, torch.tan, (-1.2, 1.2)),
    "arcsin": (sg.arcsin, torch.arcsin, (-0.9, 0.9)),
    "arccos": (sg.arccos, torch.arccos, (-0.9, 0.9)),
    "arctan": (sg.arctan, torch.arctan, (-3, 3)),
    "sinh": (sg.sinh, torch.sinh, (-2, 2)),
    "cosh": (sg.cosh, torch.cosh, (-2, 2)),
    "arcsinh": (sg.arcsinh, torch.arcsinh, (-3, 3)),
    "arccosh": (sg.arccosh, torch.arccosh, (1.2, 3)),
    "arctanh": (sg.arctanh, torch.arctanh, (-0.9, 0.9)),
    "log2": (sg.log2, torch.log2, (0.2, 3)),
    "log10": (sg.log10, torch.log10, (0.2, 3)),
    "log1p": (sg.log1p, torch.log1p, (-0.8, 3)),
    "expm1": (sg.expm1, torch.expm1, (-2, 2)),
    "exp2": (sg.exp2, torch.exp2, (-2, 2)),
    "rsqrt": (sg.rsqrt, torch.rsqrt, (0.2, 3)),
    "erf": (sg.erf, torch.erf, (-2, 2)),
    "erfinv": (sg.erfinv, torch.erfinv, (-0.9, 0.9)),
}

# the methods and torch's names reach the same ops
ALIASES = {"asin": "arcsin", "acos": "arccos", "atan": "arctan", "asinh": "arcsinh",
           "acosh": "arccosh", "atanh": "arctanh"}


@pytest.mark.parametrize("name", sorted(UNARY))
@FEW
@given(data=st.data())
def test_unary_matches_torch(name, data):
    op, torch_op, (low, high) = UNARY[name]
    x = data.draw(arrays(SMALL, low, high))
    check_against_torch(op, torch_op, x)
    check_against_torch(lambda t: getattr(t, name)(), torch_op, x)  # the method


@pytest.mark.parametrize("name", sorted(UNARY))
@FEW
@given(data=st.data())
def test_unary_gradient(name, data):
    op, _, (low, high) = UNARY[name]
    gradcheck(op, data.draw(arrays(SMALL, low, high)))


@pytest.mark.parametrize("name", sorted(UNARY))
@FEWER
@given(data=st.data())
def test_unary_second_order(name, data):
    op, _, (low, high) = UNARY[name]
    gradgradcheck(op, data.draw(arrays(SMALL, low, high)))


@pytest.mark.parametrize("alias", sorted(ALIASES))
def test_torch_names_of_the_inverse_functions(alias):
    numpy_name = ALIASES[alias]
    x = sg.tensor(np.array([0.3, 0.6]) + (1.0 if numpy_name == "arccosh" else 0.0))
    assert getattr(sg, alias) is getattr(sg, numpy_name)
    np.testing.assert_array_equal(getattr(x, alias)().numpy(), getattr(x, numpy_name)().numpy())


# ---- rounding: forward as torch, gradient 0 (torch gives zeros too) ---------------------------

ROUNDING = {
    "sign": (lambda t: t.sign(), torch.sign),
    "floor": (lambda t: t.floor(), torch.floor),
    "ceil": (lambda t: t.ceil(), torch.ceil),
    "trunc": (lambda t: t.trunc(), torch.trunc),
    "fix": (sg.fix, torch.trunc),
    "round": (lambda t: t.round(), torch.round),
    "round_2": (lambda t: sg.round(t, decimals=2), lambda t: torch.round(t, decimals=2)),
    "round_-1": (lambda t: t.round(-1), lambda t: torch.round(t, decimals=-1)),
}


@pytest.mark.parametrize("name", sorted(ROUNDING))
@FEW
@given(data=st.data())
def test_rounding_matches_torch_with_zero_gradient(name, data):
    op, torch_op = ROUNDING[name]
    x = data.draw(arrays(SMALL, -30, 30))
    check_against_torch(op, torch_op, x)


def test_rounding_at_ties_and_zero_matches_torch():
    x = np.array([-2.5, -1.5, -0.5, 0.0, -0.0, 0.5, 1.5, 2.5, 3.0, -3.0])
    for name in ("sign", "floor", "ceil", "trunc", "round"):
        op, torch_op = ROUNDING[name]
        check_against_torch(op, torch_op, x)


@pytest.mark.parametrize("name", ["sign", "floor", "ceil", "trunc", "round"])
@FEWER
@given(data=st.data())
def test_rounding_second_order(name, data):
    """x * floor(x) has the derivative floor(x) (+ 0): second order sees the zero gradient."""
    op = ROUNDING[name][0]
    kinks = (0.0,) if name == "sign" else (-2.5, -2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5,
                                           2.0, 2.5)
    x = data.draw(arrays(SMALL, -2.9, 2.9, kinks=kinks))
    gradgradcheck(lambda t: op(t) * t * t, x)


def test_rounding_keeps_integer_and_boolean_tensors():
    i = sg.tensor(np.array([15, -25, 7], dtype=np.int64))
    for name in ("sign", "floor", "ceil", "trunc", "round"):
        out = getattr(sg, name)(i)
        assert out.dtype == np.int64
        expected = np.sign(i.numpy()) if name == "sign" else i.numpy()
        np.testing.assert_array_equal(out.numpy(), expected)
    np.testing.assert_array_equal(sg.round(i, decimals=-1).numpy(), np.round(i.numpy(), -1))
    b = sg.tensor(np.array([True, False]))
    np.testing.assert_array_equal(sg.sign(b).numpy(), torch.sign(torch.tensor([True, False])))
    assert sg.sign(b).dtype == np.bool_


# ---- binary math: arctan2, logaddexp, lerp ----------------------------------------------------

BINARY = {
    # name: (scratchgen op, torch op, range of a, range of b, kinks of b)
    "arctan2": (sg.arctan2, torch.arctan2, (-2, 2), (-2, 2), (0.0,)),
    "atan2_method": (lambda a, b: a.atan2(b), torch.atan2, (-2, 2), (-2, 2), (0.0,)),
    "logaddexp": (sg.logaddexp, torch.logaddexp, (-3, 3), (-3, 3), ()),
    "logaddexp_method": (lambda a, b: a.logaddexp(b), torch.logaddexp, (-30, 30), (-30, 30), ()),
    "lerp_scalar": (lambda a, b: sg.lerp(a, b, 0.3), lambda a, b: torch.lerp(a, b, 0.3),
                    (-2, 2), (-2, 2), ()),
    "lerp_method": (lambda a, b: a.lerp(b, 0.75), lambda a, b: a.lerp(b, 0.75), (-2, 2),
                    (-2, 2), ()),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@FEW
@given(pair=broadcast_shapes(max_side=3), data=st.data())
def test_binary_matches_torch_with_broadcasting(name, pair, data):
    op, torch_op, a_range, b_range, kinks = BINARY[name]
    a = data.draw(arrays(pair[0], *a_range))
    b = data.draw(arrays(pair[1], *b_range, kinks=kinks))
    check_against_torch(op, torch_op, a, b)


@pytest.mark.parametrize("name", sorted(BINARY))
@FEW
@given(pair=broadcast_shapes(max_side=3), data=st.data())
def test_binary_gradient(name, pair, data):
    op, _, a_range, b_range, kinks = BINARY[name]
    gradcheck(op, data.draw(arrays(pair[0], *a_range)),
              data.draw(arrays(pair[1], *b_range, kinks=kinks)))


@pytest.mark.parametrize("name", sorted(BINARY))
@FEWER
@given(pair=broadcast_shapes(max_side=2), data=st.data())
def test_binary_second_order(name, pair, data):
    op, _, a_range, b_range, kinks = BINARY[name]
    gradgradcheck(op, data.draw(arrays(pair[0], *a_range)),
                  data.draw(arrays(pair[1], *b_range, kinks=kinks)))


@FEW
@given(shapes3=broadcast_shapes(num_shapes=3, max_side=3), data=st.data())
def test_lerp_with_a_tensor_weight(shapes3, data):
    start, end, weight = (data.draw(arrays(s)) for s in shapes3)
    check_against_torch(sg.lerp, torch.lerp, start, end, weight)
    gradcheck(sg.lerp, start, end, weight)


@FEWER
@given(shapes3=broadcast_shapes(num_shapes=3, max_side=2), data=st.data())
def test_lerp_second_order(shapes3, data):
    gradgradcheck(lambda s, e, w: sg.lerp(s, e, w) * w,
                  *(data.draw(arrays(s)) for s in shapes3))


def test_arctan2_gradient_at_the_origin_is_zero_as_torch():
    a = np.array([0.0, 0.0, 1.0, -0.0])
    b = np.array([0.0, 1.0, 0.0, -0.0])
    check_against_torch(sg.arctan2, torch.arctan2, a, b)
    x, y = sg.tensor(a, requires_grad=True), sg.tensor(b, requires_grad=True)
    gx, gy = sg.grad(sg.arctan2(x, y).sum(), [x, y], create_graph=True)
    hx, hy = sg.grad((gx + gy).sum(), [x, y])
    assert np.isfinite(hx.numpy()).all() and np.isfinite(hy.numpy()).all()


def test_logaddexp_is_exact_for_large_inputs():
    a, b = np.array([1000.0, -1000.0, 0.0]), np.array([1000.0, -1001.0, -1e4])
    check_against_torch(sg.logaddexp, torch.logaddexp, a, b)


# ---- x ** y at the edges (torch's rule, on a grid) ------------------------------------------

def pow_grid():
    bases = np.array([0.0, -0.0, 2.0, -2.0, 0.5, -1.5, 1.0])
    exponents = np.array([0.0, 1.0, 2.0, 3.0, -1.0, -2.0, 0.5, 2.5, -0.5])
    a, b = np.meshgrid(bases, exponents, indexing="ij")
    return a.ravel(), b.ravel()


def test_pow_gradients_on_a_grid_with_zero_and_negative_bases_match_torch():
    a, b = pow_grid()
    with np.errstate(all="ignore"):
        check_against_torch(lambda x, y: x ** y, lambda x, y: x ** y, a, b)


def test_pow_gradients_at_zero_base_are_zero_not_nan():
    a, b = pow_grid()
    x, y = sg.tensor(a, requires_grad=True), sg.tensor(b, requires_grad=True)
    with np.errstate(all="ignore"):
        (x ** y).sum().backward()
    assert (x.grad.numpy()[b == 0] == 0).all()
    assert (y.grad.numpy()[(a == 0) & (b >= 0)] == 0).all()


def test_pow_second_order_at_zero_base_is_finite():
    """torch's double backward gives nan at a = 0; scratchgen keeps the limits (finite)."""
    a = np.array([0.0, 0.0, 0.0, 0.0])
    b = np.array([0.0, 1.0, 2.0, 3.0])
    x, y = sg.tensor(a, requires_grad=True), sg.tensor(b, requires_grad=True)
    gx, gy = sg.grad((x ** y).sum(), [x, y], create_graph=True)
    np.testing.assert_array_equal(gx.numpy(), [0.0, 1.0, 0.0, 0.0])
    np.testing.assert_array_equal(gy.numpy(), [0.0, 0.0, 0.0, 0.0])
    hx, hy = sg.grad((gx * gx).sum() * 0.5 + gx.sum(), [x, y])
    # d/da of b a^(b-1) at a = 0 is b (b-1) a^(b-2): 0, 0, 2, 0
    np.testing.assert_array_equal(hx.numpy(), [0.0, 0.0, 2.0, 0.0])
    assert np.isfinite(hy.numpy()).all()


@FEW
@given(data=st.data())
def test_pow_with_negative_bases_and_integer_exponents(data):
    x = data.draw(arrays(SMALL, -2, 2, kinks=(0.0,)))
    n = np.random.default_rng(data.draw(seeds())).integers(-2, 4, size=x.shape).astype(float)
    check_against_torch(lambda a: a ** sg.tensor(n), lambda a: a ** torch.from_numpy(n), x)
    gradcheck(lambda a: a ** sg.tensor(n), x)


def test_pow_result_dtypes():
    i = sg.tensor(np.array([2, 3], dtype=np.int64))
    assert (i ** 2).dtype == np.int64 and (i ** 2).tolist() == [4, 9]
    assert (i ** i).dtype == np.int64 and (i ** i).tolist() == [4, 27]
    assert (2 ** i).dtype == np.int64 and (2 ** i).tolist() == [4, 8]
    assert (i ** 0.5).dtype == np.float32
    np.testing.assert_allclose((i ** 0.5).numpy(), np.sqrt([2.0, 3.0]), rtol=1e-6)
    assert (sg.tensor(np.array([2.0], dtype=np.float32)) ** 2).dtype == np.float32


def test_integer_pow_with_a_negative_exponent_is_refused():
    i = sg.tensor(np.array([2, 3], dtype=np.int64))
    with pytest.raises(ValueError, match="power: integers to negative integer powers"):
        i ** -1
    with pytest.raises(ValueError, match="power: integers to negative integer powers"):
        i ** sg.tensor(np.array([1, -2], dtype=np.int64))


# ---- % and // -------------------------------------------------------------------------------

def remainder_operands(data, pair):
    """b away from 0 and a = b (n + f) with f in [0.1, 0.9]: no jump of a % b within reach of
    the finite differences. a has the broadcast shape, b its own."""
    rng = np.random.default_rng(data.draw(seeds()))
    b = data.draw(arrays(pair[1], -2, 2, kinks=(0.0,), gap=0.3))
    shape = np.broadcast_shapes(pair[0], pair[1])
    a = np.broadcast_to(b, shape) * (rng.integers(-3, 3, size=shape) + rng.uniform(0.1, 0.9,
                                                                                      shape))
    return np.ascontiguousarray(a), b


@FEW
@given(pair=broadcast_shapes(max_side=3), data=st.data())
def test_remainder_matches_torch(pair, data):
    a, b = remainder_operands(data, pair)
    check_against_torch(lambda x, y: x % y, torch.remainder, a, b)
    check_against_torch(sg.remainder, torch.remainder, a, b)
    check_against_torch(lambda x, y: x.remainder(y), torch.remainder, a, b)


@FEW
@given(pair=broadcast_shapes(max_side=3), data=st.data())
def test_remainder_gradient(pair, data):
    a, b = remainder_operands(data, pair)
    grad_a, _ = gradcheck(lambda x, y: x % y, a, b)
    np.testing.assert_array_equal(grad_a, gradcheck(lambda x, y: x + 0 * y, a, b)[0])  # d/da = 1


@FEWER
@given(pair=broadcast_shapes(max_side=2), data=st.data())
def test_remainder_second_order(pair, data):
    a, b = remainder_operands(data, pair)
    gradgradcheck(lambda x, y: (x % y) * x * y, a, b)


def test_remainder_and_floor_divide_follow_python_on_signs():
    values = [(-7, 3), (7, -3), (-7, -3), (7, 3), (0, 5), (5, 5)]
    a = np.array([p[0] for p in values], dtype=np.int64)
    b = np.array([p[1] for p in values], dtype=np.int64)
    ta, tb = sg.tensor(a), sg.tensor(b)
    assert (ta % tb).tolist() == [x % y for x, y in values]
    assert (ta // tb).tolist() == [x // y for x, y in values]
    assert (ta % tb).dtype == np.int64 and (ta // tb).dtype == np.int64
    fa, fb = a.astype(np.float64), b.astype(np.float64)
    np.testing.assert_array_equal((sg.tensor(fa) % sg.tensor(fb)).numpy(),
                                  torch.remainder(torch.tensor(fa), torch.tensor(fb)).numpy())
    np.testing.assert_array_equal((sg.tensor(fa) // sg.tensor(fb)).numpy(),
                                  torch.floor_divide(torch.tensor(fa), torch.tensor(fb)).numpy())


@FEW
@given(pair=broadcast_shapes(max_side=3), data=st.data())
def test_floor_divide_matches_torch_and_records_no_graph(pair, data):
    a = data.draw(arrays(pair[0], -10, 10))
    b = data.draw(arrays(pair[1], -3, 3, kinks=(0.0,)))
    x = sg.tensor(a, requires_grad=True)
    for out in (x // sg.tensor(b), sg.floor_divide(x, b), x.floor_divide(sg.tensor(b))):
        np.testing.assert_array_equal(out.numpy(),
                                      torch.floor_divide(torch.tensor(a), torch.tensor(b)).numpy())
        assert not out.requires_grad and out.grad_fn is None


def test_python_scalars_on_either_side_of_mod_and_floordiv():
    x = sg.tensor(np.array([-5.5, 7.25]))
    np.testing.assert_array_equal((x % 2).numpy(), np.array([-5.5, 7.25]) % 2)
    np.testing.assert_array_equal((10 % x).numpy(), 10 % np.array([-5.5, 7.25]))
    np.testing.assert_array_equal((x // 2).numpy(), np.array([-5.5, 7.25]) // 2)
    np.testing.assert_array_equal((10 // x).numpy(), 10 // np.array([-5.5, 7.25]))
    i = sg.tensor(np.array([7, -7], dtype=np.int64))
    assert (i % 2.5).dtype == np.float32 and (i // 2).dtype == np.int64
    out = np.array([5.0, 6.0]) % sg.tensor(np.array([4.0, 4.0]))  # through __array_ufunc__
    assert isinstance(out, sg.Tensor) and out.tolist() == [1.0, 2.0]


def test_float_division_by_zero_gives_nan_and_inf_as_torch():
    a, b = np.array([5.0, -5.0, 0.0]), np.array([0.0, 0.0, 0.0])
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal((sg.tensor(a) % sg.tensor(b)).numpy(),
                                      torch.remainder(torch.tensor(a), torch.tensor(b)).numpy())
        np.testing.assert_array_equal((sg.tensor(a) // sg.tensor(b)).numpy(),
                                      torch.floor_divide(torch.tensor(a), torch.tensor(b)).numpy())


@pytest.mark.parametrize("op", [lambda a, b: a % b, lambda a, b: a // b])
def test_integer_division_by_zero_is_refused(op):
    i = sg.tensor(np.array([5, 6], dtype=np.int64))
    with pytest.raises(ZeroDivisionError, match="integer division by zero"):
        op(i, sg.tensor(np.array([1, 0], dtype=np.int64)))
    with pytest.raises(ZeroDivisionError, match="integer division by zero"):
        op(i, 0)


# ---- predicates ---------------------------------------------------------------------------------

SPECIAL = np.array([0.0, -1.5, np.nan, np.inf, -np.inf, 1e38, -0.0])


@pytest.mark.parametrize("name", ["isnan", "isinf", "isfinite"])
def test_predicates_match_torch(name):
    for values in (SPECIAL, SPECIAL.astype(np.float32).reshape(7, 1),
                   np.array([[1, -2], [0, 3]], dtype=np.int64)):
        ours = getattr(sg, name)(sg.tensor(values))
        method = getattr(sg.tensor(values), name)()
        expected = getattr(torch, name)(torch.from_numpy(values)).numpy()
        assert ours.dtype == np.bool_ and not ours.requires_grad
        np.testing.assert_array_equal(ours.numpy(), expected)
        np.testing.assert_array_equal(method.numpy(), expected)


@pytest.mark.parametrize("kwargs", [{}, {"rtol": 0.1}, {"atol": 0.5}, {"equal_nan": True},
                                    {"rtol": 0.0, "atol": 0.0}])
@FEW
@given(pair=broadcast_shapes(max_side=3), seed=seeds())
def test_isclose_matches_torch(kwargs, pair, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(pair[0])
    b = rng.standard_normal(pair[1])
    near = np.broadcast_to(a, np.broadcast_shapes(*pair)) + rng.choice(
        [0.0, 1e-9, 1e-6, 1e-3, 0.2, 1.0], size=np.broadcast_shapes(*pair))
    near = np.where(rng.random(near.shape) < 0.1, np.nan, near)
    for x, y in ((a, b), (a, near), (near, near)):
        ours = sg.isclose(sg.tensor(x), sg.tensor(y), **kwargs)
        expected = torch.isclose(torch.tensor(np.broadcast_to(x, np.broadcast_shapes(
            x.shape, y.shape)).copy()), torch.tensor(np.broadcast_to(y, np.broadcast_shapes(
                x.shape, y.shape)).copy()), **kwargs).numpy()
        np.testing.assert_array_equal(ours.numpy(), expected)
        np.testing.assert_array_equal(sg.tensor(x).isclose(sg.tensor(y), **kwargs).numpy(),
                                      expected)


# ---- bitwise and logical ops ------------------------------------------------------------------

BITWISE = {
    # name: (scratchgen operator, torch operator)
    "and": (lambda a, b: a & b, lambda a, b: a & b),
    "or": (lambda a, b: a | b, lambda a, b: a | b),
    "xor": (lambda a, b: a ^ b, lambda a, b: a ^ b),
    "bitwise_and": (sg.bitwise_and, torch.bitwise_and),
    "bitwise_or": (lambda a, b: a.bitwise_or(b), torch.bitwise_or),
    "bitwise_xor": (sg.bitwise_xor, torch.bitwise_xor),
}
SHIFTS = {
    "lshift": (lambda a, b: a << b, lambda a, b: a << b),
    "rshift": (lambda a, b: a >> b, lambda a, b: a >> b),
    "bitwise_left_shift": (sg.bitwise_left_shift, torch.bitwise_left_shift),
    "bitwise_right_shift": (lambda a, b: a.bitwise_right_shift(b), torch.bitwise_right_shift),
}
LOGICAL = ["logical_and", "logical_or", "logical_xor"]


def int_operands(seed, pair, dtype, low=-50, high=50):
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return rng.random(pair[0]) < 0.5, rng.random(pair[1]) < 0.5
    return (rng.integers(low, high, size=pair[0]).astype(dtype),
            rng.integers(low, high, size=pair[1]).astype(dtype))


def assert_same(ours, expected):
    expected = expected.numpy()
    assert ours.dtype == expected.dtype, (ours.dtype, expected.dtype)
    assert not ours.requires_grad
    np.testing.assert_array_equal(ours.numpy(), expected)


@pytest.mark.parametrize("name", sorted(BITWISE))
@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
@FEW
@given(pair=broadcast_shapes(max_side=3), seed=seeds())
def test_bitwise_ops_match_torch(name, dtype, pair, seed):
    op, torch_op = BITWISE[name]
    a, b = int_operands(seed, pair, dtype)
    assert_same(op(sg.tensor(a), sg.tensor(b)),
                torch_op(torch.from_numpy(np.asarray(a)), torch.from_numpy(np.asarray(b))))


@pytest.mark.parametrize("name", sorted(SHIFTS))
@FEW
@given(pair=broadcast_shapes(max_side=3), seed=seeds())
def test_shifts_match_torch(name, pair, seed):
    op, torch_op = SHIFTS[name]
    a, _ = int_operands(seed, pair, "int64", -1000, 1000)
    _, b = int_operands(seed + 1, pair, "int64", 0, 20)
    assert_same(op(sg.tensor(a), sg.tensor(b)), torch_op(torch.from_numpy(a),
                                                         torch.from_numpy(b)))


def test_bitwise_with_python_scalars_on_either_side():
    a = np.array([5, -6, 12], dtype=np.int64)
    t, tt = sg.tensor(a), torch.from_numpy(a)
    for op in (lambda x: x & 3, lambda x: 3 & x, lambda x: x | 8, lambda x: 8 | x,
               lambda x: x ^ 7, lambda x: 7 ^ x, lambda x: x << 2, lambda x: 1 << x.abs(),
               lambda x: x >> 1, lambda x: 100 >> x.abs(), lambda x: ~x):
        assert_same(op(t), op(tt))
    m = np.array([True, False, True])
    for op in (lambda x: ~x, lambda x: x & True, lambda x: False | x, lambda x: x ^ True,
               lambda x: x << 1):
        assert_same(op(sg.tensor(m)), op(torch.from_numpy(m)))
    assert_same(sg.bitwise_not(t), torch.bitwise_not(tt))
    assert sg.invert is sg.bitwise_not and sg.left_shift is sg.bitwise_left_shift


@pytest.mark.parametrize("name", LOGICAL)
@pytest.mark.parametrize("dtype", ["bool", "int64", "float64"])
@FEW
@given(pair=broadcast_shapes(max_side=3), seed=seeds())
def test_logical_ops_match_torch(name, dtype, pair, seed):
    a, b = int_operands(seed, pair, "bool" if dtype == "bool" else "int64", -2, 3)
    a, b = np.asarray(a).astype(dtype), np.asarray(b).astype(dtype)
    expected = getattr(torch, name)(torch.from_numpy(a), torch.from_numpy(b))
    assert_same(getattr(sg, name)(sg.tensor(a), sg.tensor(b)), expected)
    assert_same(getattr(sg.tensor(a), name)(sg.tensor(b)), expected)
    assert_same(sg.logical_not(sg.tensor(a)), torch.logical_not(torch.from_numpy(a)))
    assert_same(sg.tensor(a).logical_not(), torch.logical_not(torch.from_numpy(a)))


# ---- dtypes and spellings ---------------------------------------------------------------------

def test_float_math_of_integer_tensors_gives_float32_as_torch():
    i = np.array([1, 2, 3], dtype=np.int64)
    for name in ("sin", "exp2", "log1p", "rsqrt", "erf", "arctan"):
        out = getattr(sg, name)(sg.tensor(i))
        expected = getattr(torch, name)(torch.from_numpy(i))
        assert out.dtype == np.float32 and str(expected.dtype) == "torch.float32"
        np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-6)
    assert sg.arctan2(sg.tensor(i), sg.tensor(i)).dtype == np.float32
    assert sg.sin(sg.tensor(np.array([1.0], dtype=np.float32))).dtype == np.float32


def test_functions_take_numbers_and_arrays():
    np.testing.assert_allclose(sg.sin(np.array([0.5])).numpy(), np.sin([0.5]))
    np.testing.assert_allclose(sg.arctan2(1.0, np.array([2.0])).numpy(), np.arctan2(1.0, 2.0),
                               rtol=1e-6)
    np.testing.assert_allclose(sg.lerp(np.array([0.0]), np.array([10.0]), 0.25).numpy(), [2.5])


# ---- errors -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["sin", "erfinv", "floor", "round", "isnan", "logical_not",
                                  "bitwise_not"])
def test_unary_functions_refuse_non_numbers(name):
    with pytest.raises(TypeError, match=f"{name}: expected a Tensor, a number or an array, got "
                                        "a str"):
        getattr(sg, name)("abc")


@pytest.mark.parametrize("op, name", [
    (lambda x: x % "a", "remainder"), (lambda x: None % x, "remainder"),
    (lambda x: x // None, "floor_divide"), (lambda x: x & "a", "bitwise_and"),
    (lambda x: x << {}, "bitwise_left_shift"), (lambda x: sg.arctan2(x, "a"), "arctan2"),
    (lambda x: sg.isclose(x, None), "isclose"), (lambda x: x.logaddexp([None]), "logaddexp")])
def test_binary_ops_refuse_unsupported_operands(op, name):
    x = sg.tensor(np.array([1, 2], dtype=np.int64))
    with pytest.raises((TypeError, ShapeError), match=name):
        op(x)


@pytest.mark.parametrize("op", [lambda a, b: a & b, lambda a, b: a | b, lambda a, b: a ^ b,
                                lambda a, b: a << b, lambda a, b: a >> b,
                                lambda a, b: sg.bitwise_and(a, b)])
def test_bitwise_ops_refuse_floats(op):
    f = sg.tensor(np.array([1.0, 2.0]))
    i = sg.tensor(np.array([1, 2], dtype=np.int64))
    for a, b in ((f, i), (i, f), (f, f)):
        with pytest.raises(TypeError, match="bitwise ops need integer or boolean tensors, got "
                                            "dtype .*float64"):
            op(a, b)
    with pytest.raises(TypeError, match="bitwise_and: bitwise ops need integer"):
        i & 1.5
    with pytest.raises(TypeError, match="bitwise_not: bitwise ops need integer or boolean "
                                        "tensors, got dtype float64"):
        ~f


@pytest.mark.parametrize("op, name", [
    (sg.arctan2, "arctan2"), (sg.logaddexp, "logaddexp"), (lambda a, b: a % b, "remainder"),
    (lambda a, b: a // b, "floor_divide"), (sg.isclose, "isclose"),
    (sg.logical_and, "logical_and"), (lambda a, b: a.long() & b.long(), "bitwise_and")])
def test_binary_ops_refuse_shapes_that_do_not_broadcast(op, name):
    a, b = sg.tensor(np.ones((2, 3))), sg.tensor(np.ones((4,)))
    with pytest.raises(ShapeError, match=rf"{name}: shapes \(2, 3\) and \(4,\) cannot be "
                                         "broadcast"):
        op(a, b)


def test_round_refuses_non_integer_decimals():
    with pytest.raises(TypeError, match="round: decimals must be an int, got 1.5"):
        sg.round(sg.tensor(np.array([1.0])), decimals=1.5)
