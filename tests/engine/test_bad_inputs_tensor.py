"""Bad inputs to tensors: sg.tensor and the creation helpers refuse strings, None, objects and
ragged lists naming the bad element's type and position; operators refuse unsupported
operands naming the op; axes, shapes and slices that make no sense get scratchgen's errors."""
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import scratchgen as sg
from scratchgen.engine.ops.reduce import normalize_axes

BAD_VALUES = st.sampled_from(["a", "", None, {}, {"k": 1}, object(), b"x", set(), sg.Tensor])


def _type_name(value):
    return "None" if value is None else type(value).__name__


# ---- sg.tensor ------------------------------------------------------------------------------

@settings(max_examples=60)
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3), data=st.data())
def test_a_bad_element_is_named_with_its_type_and_position(shape, data):
    values = np.zeros(shape).tolist()
    position = tuple(data.draw(st.integers(0, n - 1)) for n in shape)
    bad = data.draw(BAD_VALUES)
    row = values
    for i in position[:-1]:
        row = row[i]
    row[position[-1]] = bad
    where = "".join(f"[{i}]" for i in position)
    with pytest.raises(TypeError) as info:
        sg.tensor(values)
    message = str(info.value)
    assert message.startswith(f"tensor: element {where} is "), message
    assert _type_name(bad) in message and "expected numbers or booleans" in message


@pytest.mark.parametrize("bad", ["abc", None, {"a": 1}, object(), b"x"])
def test_a_bad_scalar_is_named(bad):
    with pytest.raises(TypeError, match=f"tensor: got .*{_type_name(bad)}.*expected a number"):
        sg.tensor(bad)


@settings(max_examples=40)
@given(lengths=st.lists(st.integers(0, 4), min_size=2, max_size=4).filter(
    lambda ls: len(set(ls)) > 1), nested=st.booleans())
def test_ragged_lists_name_the_rows_that_differ(lengths, nested):
    rows = [[1.0] * n for n in lengths]
    data = [rows, rows] if not nested else [[[0.0] * 2] * 2, rows]
    first_bad = next(i for i, n in enumerate(lengths) if n != lengths[0])
    with pytest.raises(sg.ShapeError, match="tensor: ragged nested list") as info:
        sg.tensor(data)
    message = str(info.value)
    if not nested:
        assert (f"row [0][{first_bad}] has length {lengths[first_bad]} but row [0][0] has length "
                f"{lengths[0]}") in message


def test_a_number_next_to_a_list_is_ragged():
    with pytest.raises(sg.ShapeError,
                       match=r"element \[1\] is a number but row \[0\] has length 2"):
        sg.tensor([[1, 2], 3])


@pytest.mark.parametrize("array", [np.array(["a", "b"]), np.array([1, None], dtype=object),
                                   np.array([b"x"]), np.array(["2020-01-01"], dtype="M8[D]")])
def test_arrays_of_non_numeric_dtype_are_refused(array):
    with pytest.raises(TypeError, match=re.escape(f"tensor: got an array of dtype {array.dtype}")):
        sg.tensor(array)
    with pytest.raises(TypeError, match="expected numbers or booleans"):
        sg.tensor([array, array])


def test_a_bad_dtype_argument_is_named():
    with pytest.raises(TypeError, match="tensor: dtype 'floaty' is not a dtype"):
        sg.tensor([1.0], dtype="floaty")
    with pytest.raises(TypeError, match="zeros: dtype"):
        sg.zeros(2, dtype="floaty")


# ---- creation helpers ---------------------------------------------------------------------------

CREATORS = {
    "zeros": lambda s: sg.zeros(s), "ones": lambda s: sg.ones(s), "rand": lambda s: sg.rand(s),
    "randn": lambda s: sg.randn(s), "full": lambda s: sg.full(s, 1.0),
    "zeros_varargs": lambda s: sg.zeros(2, s), "ones_tuple": lambda s: sg.ones((s, 2)),
}


@pytest.mark.parametrize("name", sorted(CREATORS))
@settings(max_examples=10)
@given(bad=st.one_of(st.floats(0.5, 4.5).filter(lambda v: v != int(v)), st.just("2"),
                     st.just(None), st.booleans()))
def test_creation_helpers_refuse_shapes_that_are_not_ints(name, bad):
    helper = name.split("_")[0]
    with pytest.raises(TypeError, match=f"{helper}: the shape must be ints"):
        CREATORS[name](bad)


@pytest.mark.parametrize("name", sorted(CREATORS))
def test_creation_helpers_refuse_negative_sizes(name):
    with pytest.raises(sg.ShapeError, match=f"{name.split('_')[0]}: the shape must be "
                                            "non-negative"):
        CREATORS[name](-1)


def test_creation_helpers_accept_numpy_integers():
    assert sg.zeros(np.int64(2), np.int32(3)).shape == (2, 3)
    assert sg.full((np.int64(2),), 1).shape == (2,)


def test_other_creation_arguments_are_checked():
    with pytest.raises(TypeError,
                       match="full: fill_value must be a number or a boolean, got a str"):
        sg.full((2,), "a")
    with pytest.raises(TypeError, match="full: fill_value.*None"):
        sg.full((2,), None)
    with pytest.raises(sg.ShapeError, match="arange: step must be non-zero"):
        sg.arange(0, 5, 0)
    with pytest.raises(TypeError, match="arange: stop must be a real number, got a str"):
        sg.arange("5")
    with pytest.raises(TypeError, match="zeros_like: expected a Tensor, got a list"):
        sg.zeros_like([1.0, 2.0])
    with pytest.raises(TypeError, match="ones_like: expected a Tensor"):
        sg.ones_like(None)
    with pytest.raises(TypeError, match="randn: draws need a floating-point dtype"):
        sg.randn(2, dtype=np.int64)
    with pytest.raises(TypeError, match="where: the condition must be a boolean tensor"):
        sg.where("yes", 1.0, 2.0)
    with pytest.raises(TypeError, match="where: the condition must be boolean, got dtype float"):
        sg.where(np.array([0.5]), 1.0, 2.0)
    with pytest.raises(TypeError, match="where: unsupported operand a str"):
        sg.where(np.array([True]), "a", 2.0)
    with pytest.raises(TypeError, match="maximum: unsupported operand None"):
        sg.maximum(sg.zeros(2), None)


# ---- operators -----------------------------------------------------------------------------------

OPERATORS = {
    "add": lambda a, b: a + b, "subtract": lambda a, b: a - b, "multiply": lambda a, b: a * b,
    "divide": lambda a, b: a / b, "power": lambda a, b: a ** b, "matmul": lambda a, b: a @ b,
}
IN_PLACE = {"add_": lambda a, b: a.add_(b), "sub_": lambda a, b: a.sub_(b),
            "mul_": lambda a, b: a.mul_(b), "div_": lambda a, b: a.div_(b)}


@pytest.mark.parametrize("op", sorted(OPERATORS))
@settings(max_examples=10)
@given(bad=BAD_VALUES)
def test_operators_refuse_unsupported_operands_both_ways(op, bad):
    t = sg.tensor(np.ones(2))
    name = _type_name(bad) if bad is not None else "NoneType"
    with pytest.raises(TypeError, match=f"unsupported operand for {op}: Tensor and {name}"):
        OPERATORS[op](t, bad)
    if isinstance(bad, (str, bytes, set)) and op in ("multiply", "subtract"):
        return  # str * Tensor: Python asks str first, which refuses on its own terms
    with pytest.raises(TypeError, match=f"unsupported operand for {op}: {name} and Tensor"):
        OPERATORS[op](bad, t)


@pytest.mark.parametrize("op", sorted(IN_PLACE))
@settings(max_examples=5)
@given(bad=BAD_VALUES)
def test_in_place_ops_refuse_unsupported_operands_and_change_nothing(op, bad):
    t = sg.tensor(np.ones(2))
    with pytest.raises(TypeError, match=f"unsupported operand for {op}"):
        IN_PLACE[op](t, bad)
    assert t._version == 0 and np.all(t.numpy() == 1.0)


@pytest.mark.parametrize("symbol", ["<", "<=", ">", ">="])
@given(bad=BAD_VALUES)
@settings(max_examples=5)
def test_ordering_comparisons_refuse_unsupported_operands(symbol, bad):
    t = sg.tensor(np.ones(2))
    with pytest.raises(TypeError, match=f"unsupported operand for comparison {symbol}"):
        eval(f"t {symbol} bad")


def test_equality_with_unsupported_operands_is_identity_as_in_python():
    t = sg.tensor(np.ones(2))
    assert (t == None) is False and (t != None) is True  # noqa: E711
    assert (t == "a") is False


@pytest.mark.parametrize("symbol", ["<", "<=", ">", ">=", "==", "!="])
@settings(max_examples=10)
@given(shapes=st.tuples(hnp.array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=4),
                        hnp.array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=4)))
def test_comparisons_of_shapes_that_do_not_broadcast_raise_shape_error(symbol, shapes):
    a, b = shapes
    try:
        np.broadcast_shapes(a, b)
        return  # they broadcast: nothing to refuse
    except ValueError:
        pass
    x, y = sg.zeros(a), sg.zeros(b)
    with pytest.raises(sg.ShapeError, match=f"comparison {symbol}: shapes"):
        eval(f"x {symbol} y")


# ---- axes, shapes, indices -----------------------------------------------------------------------

@settings(max_examples=20)
@given(bad=st.one_of(st.floats(allow_nan=False), st.booleans(), st.just("0"), st.just(None)
                     .map(lambda _: 1j)), ndim=st.integers(1, 3))
def test_normalize_axes_refuses_non_integer_axes_naming_the_op(bad, ndim):
    with pytest.raises(TypeError, match="softmax: axis must be an int or a tuple of ints"):
        normalize_axes(bad, ndim, op="softmax")
    with pytest.raises(TypeError, match="softmax: axis must be an int"):
        normalize_axes((0, bad), ndim, op="softmax")


@settings(max_examples=20)
@given(ndim=st.integers(0, 3), data=st.data())
def test_normalize_axes_out_of_range_is_a_shape_error(ndim, data):
    limit = max(ndim, 1)
    axis = data.draw(st.one_of(st.integers(limit, 10), st.integers(-10, -limit - 1)))
    with pytest.raises(sg.ShapeError, match=f"sum: axis {axis} is out of range for a tensor "
                                            f"with {ndim} dimensions"):
        normalize_axes(axis, ndim, op="sum")


def test_normalize_axes_accepts_numpy_integers_lists_and_ranges():
    assert normalize_axes(np.int64(-1), 3) == (2,)
    assert normalize_axes([0, np.int32(2)], 3) == (0, 2)
    assert normalize_axes(range(2), 3) == (0, 1)


def test_a_float_axis_in_a_reduction_is_a_type_error():
    with pytest.raises(TypeError, match="axis must be an int"):
        sg.zeros(2, 3).sum(axis=1.0)


def test_reshape_and_view_refuse_float_sizes():
    x = sg.zeros(2, 3)
    with pytest.raises(TypeError, match=r"reshape: shape must be ints, got \(3, 2.0\)"):
        x.reshape(3, 2.0)
    with pytest.raises(TypeError, match="reshape: shape must be ints"):
        x.view((6.0,))


@pytest.mark.parametrize("index", [slice(None, None, 0), (0, slice(1, None, 0)),
                                   (Ellipsis, slice(0, 2, 0))])
def test_slices_with_step_zero_are_shape_errors(index):
    x = sg.zeros(3, 3)
    with pytest.raises(sg.ShapeError, match="getitem: slice .* has step 0"):
        x[index]
    with pytest.raises(sg.ShapeError, match="setitem: slice .* has step 0"):
        x[index] = 1.0


@pytest.mark.parametrize("index", [1.0, "a", (0, 1.5), slice(0.5, 2),
                                   np.array([0.0, 1.0]), sg.tensor([0.0])])
def test_indices_that_are_not_integers_are_type_errors(index):
    x = sg.zeros(3, 3)
    with pytest.raises(TypeError, match="getitem: "):
        x[index]
    with pytest.raises(TypeError, match="setitem: "):
        x[index] = 1.0
    assert x._version == 0
