"""PyTorch's spellings on Tensor: size()/size(d) next to .size, numel, dim, view, permute,
expand, clone, contiguous, the dtype casts, type_as, __float__/__int__/__index__, grad_fn,
is_leaf, zero_grad(set_to_none=), new_*, dim=/keepdim= aliases, and sg.nn / sg.optim /
sg.functional as attributes."""
import pickle
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scratchgen as sg
import scratchgen.nn as nn
from helpers import arrays, check_against_torch, gradcheck, gradgradcheck, shapes

# ---- size ----------------------------------------------------------------------------------


@given(shape=shapes(min_dims=0, max_dims=4, min_side=0))
def test_size_is_the_element_count_and_callable_like_torch(shape):
    import torch

    t = sg.zeros(shape)
    n = int(np.prod(shape))
    assert t.size == n and isinstance(t.size, int) and t.size + 1 == n + 1
    assert t.numel() == n == torch.zeros(shape).numel()
    assert t.size() == tuple(torch.zeros(shape).size()) == shape
    for d in range(-len(shape), len(shape)):
        assert t.size(d) == torch.zeros(shape).size(d) and t.size(dim=d) == shape[d]
    assert t.dim() == len(shape) == t.ndim


def test_size_out_of_range_and_bad_dims_are_refused():
    t = sg.zeros(2, 3)
    with pytest.raises(sg.IndexOutOfRangeError, match="size: dimension 2 is out of range"):
        t.size(2)
    with pytest.raises(sg.IndexOutOfRangeError, match="dimension 0"):
        sg.tensor(1.0).size(0)
    with pytest.raises(TypeError, match="size: dim must be an int"):
        t.size(1.0)


def test_size_prints_and_pickles_as_an_int():
    t = sg.zeros(2, 3)
    assert str(t.size) == "6" and f"{t.size:>3}" == "  6"
    restored = pickle.loads(pickle.dumps(t.size))
    assert restored == 6 and type(restored) is int


# ---- shape spellings, with gradients -----------------------------------------------------------

# name: (scratchgen fn, torch fn, input shape)
SHAPE_SPELLINGS = {
    "view": (lambda x: x.view(3, -1), lambda x: x.view(3, -1), (2, 3, 2)),
    "view_tuple": (lambda x: x.view((4, 3)), lambda x: x.view((4, 3)), (2, 6)),
    "permute": (lambda x: x.permute(2, 0, 1), lambda x: x.permute(2, 0, 1), (2, 3, 4)),
    "permute_tuple": (lambda x: x.permute((1, 0)), lambda x: x.permute((1, 0)), (2, 3)),
    "expand": (lambda x: x.expand(2, 3, 4), lambda x: x.expand(2, 3, 4), (3, 1)),
    "expand_keep": (lambda x: x.expand(-1, 5), lambda x: x.expand(-1, 5), (3, 1)),
    "expand_as": (lambda x: x.expand_as(sg.zeros(2, 3)), lambda x: x.expand_as(
        __import__("torch").zeros(2, 3)), (3,)),
    "clone": (lambda x: x.clone() * x, lambda x: x.clone() * x, (2, 3)),
    "contiguous": (lambda x: x.T.contiguous(), lambda x: x.T.contiguous(), (2, 3)),
    "squeeze_dim": (lambda x: x.squeeze(dim=1), lambda x: x.squeeze(dim=1), (2, 1, 3)),
    "unsqueeze_dim": (lambda x: x.unsqueeze(dim=-1), lambda x: x.unsqueeze(dim=-1), (2, 3)),
    "flatten_dims": (lambda x: x.flatten(start_dim=1), lambda x: x.flatten(start_dim=1),
                     (2, 3, 2)),
    "flatten_end": (lambda x: x.flatten(0, end_dim=1), lambda x: x.flatten(0, end_dim=1),
                    (2, 3, 2)),
    "double": (lambda x: x.double() * x, lambda x: x.double() * x, (3,)),
    "type_as": (lambda x: x.type_as(x) * 2.0, lambda x: x.type_as(x) * 2.0, (3,)),
}


@pytest.mark.parametrize("name", sorted(SHAPE_SPELLINGS))
@settings(max_examples=5)
@given(data=st.data())
def test_spellings_match_torch_forward_and_gradient(name, data):
    ours, theirs, shape = SHAPE_SPELLINGS[name]
    check_against_torch(ours, theirs, data.draw(arrays(shape)))


@pytest.mark.parametrize("name", sorted(SHAPE_SPELLINGS))
@settings(max_examples=3)
@given(data=st.data())
def test_spellings_gradcheck_and_second_order(name, data):
    ours, _, shape = SHAPE_SPELLINGS[name]
    x = data.draw(arrays(shape))
    gradcheck(ours, x)
    gradgradcheck(lambda t: ours(t) * ours(t), x)


def test_clone_has_its_own_memory_and_contiguous_copies_only_when_needed():
    x = sg.tensor(np.arange(6.0).reshape(2, 3))
    c = x.clone()
    assert not np.shares_memory(c.data, x.data)
    c.data[0, 0] = 9.0
    assert x.data[0, 0] == 0.0
    assert x.contiguous() is x
    t = x.T
    assert not t.data.flags.c_contiguous and t.contiguous().data.flags.c_contiguous


def test_shape_spelling_errors():
    x = sg.zeros(2, 3)
    with pytest.raises(sg.ShapeError, match="permute: got 1 dims"):
        x.permute(0)
    with pytest.raises(TypeError, match="permute: dims must be ints"):
        x.permute(0.0, 1)
    with pytest.raises(sg.ShapeError, match="expand: size -1 is not allowed for the new"):
        x.expand(-1, 2, 3)
    with pytest.raises(sg.ShapeError, match="expand: 1 sizes"):
        x.expand(3)
    with pytest.raises(sg.ShapeError, match="broadcast_to"):
        x.expand(4, 3)
    with pytest.raises(TypeError, match="both dim= and axis="):
        x.unsqueeze(dim=0, axis=0)
    with pytest.raises(TypeError, match="both start_dim= and start_axis="):
        x.flatten(start_axis=1, start_dim=1)
    with pytest.raises(TypeError, match="flatten: unexpected argument"):
        x.flatten(begin=0)


# ---- casts and Python scalars ------------------------------------------------------------------

@pytest.mark.parametrize("method,dtype", [("float", np.float32), ("double", np.float64),
                                          ("half", np.float16), ("long", np.int64),
                                          ("int", np.int32), ("bool", np.bool_)])
def test_casts_have_torchs_dtypes(method, dtype):
    import torch

    values = np.array([0.0, 1.5, -2.0])
    ours = getattr(sg.tensor(values), method)()
    theirs = getattr(torch.tensor(values), method)()
    assert ours.dtype == dtype and str(theirs.dtype) == "torch." + np.dtype(dtype).name
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_type_as_and_element_size_and_is_floating_point():
    i, f = sg.tensor([1, 2]), sg.tensor(np.array([1.0], dtype=np.float16))
    assert i.type_as(f).dtype == np.float16 and f.type_as(i).dtype == np.int64
    assert i.element_size() == 8 and f.element_size() == 2
    assert f.is_floating_point() and not i.is_floating_point()


def test_python_scalar_conversions_of_one_element_tensors():
    assert float(sg.tensor([[2.5]])) == 2.5 and int(sg.tensor(np.array([3.7]))) == 3
    assert [10, 20, 30][sg.tensor(2)] == 30 and range(5)[sg.tensor([1])] == 1
    assert bool(sg.tensor([1.0])) and not bool(sg.tensor(0))
    with pytest.raises(sg.ShapeError, match="float\\(\\): only a tensor with one element"):
        float(sg.zeros(2))
    with pytest.raises(sg.ShapeError, match="int\\(\\)"):
        int(sg.zeros(2, dtype=np.int64))
    with pytest.raises(TypeError, match="only integer tensors of a single element"):
        [1, 2][sg.tensor(1.0)]


# ---- autograd spellings --------------------------------------------------------------------------

def test_grad_fn_is_leaf_and_requires_grad_():
    x = sg.tensor(np.array([1.0, 2.0]))
    assert x.grad_fn is None and x.is_leaf
    assert x.requires_grad_() is x and x.requires_grad
    y = x * 2.0
    assert y.grad_fn is y.creator and y.grad_fn.name == "Mul" and not y.is_leaf
    assert repr(y.grad_fn) == "<MulBackward>" and "grad_fn=<MulBackward>" in repr(y)
    assert (x + 1.0).grad_fn.name == "Add"
    with sg.no_grad():
        assert (x * 2.0).grad_fn is None


def test_zero_grad_sets_to_none_or_zeros_in_place():
    x = sg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x * 3.0).sum().backward()
    grad = x.grad
    x.zero_grad(set_to_none=False)
    assert x.grad is grad and np.all(grad.numpy() == 0.0)
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])
    x.zero_grad()
    assert x.grad is None
    x.zero_grad(set_to_none=False)  # no gradient yet: stays None
    assert x.grad is None


def test_module_zero_grad_set_to_none():
    model = nn.Linear(3, 2)
    model(sg.tensor(np.ones((4, 3), np.float32))).sum().backward()
    grads = [p.grad for p in model.parameters()]
    model.zero_grad(set_to_none=False)
    for p, g in zip(model.parameters(), grads):
        assert p.grad is g and np.all(g.numpy() == 0)
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_new_tensors_take_dtype_and_device():
    x = sg.tensor(np.ones(2, dtype=np.float64))
    for t, shape, value in ((x.new_zeros(2, 3), (2, 3), 0.0), (x.new_ones((4,)), (4,), 1.0),
                            (x.new_full((2,), 7), (2,), 7.0), (x.new_tensor([1, 2]), (2,), None)):
        assert t.dtype == np.float64 and t.device == "cpu" and t.shape == shape
        if value is not None:
            assert np.all(t.numpy() == value)
    assert x.new_zeros(2, dtype=np.int64).dtype == np.int64


# ---- subpackages as attributes -------------------------------------------------------------------

def test_import_scratchgen_gives_nn_optim_and_functional_as_attributes():
    code = ("import scratchgen as sg\n"
            "model = sg.nn.Linear(2, 1)\n"
            "opt = sg.optim.SGD(model.parameters(), lr=0.1)\n"
            "y = sg.functional.relu(model(sg.ones(3, 2))).sum()\n"
            "print(type(model).__name__, type(opt).__name__, y.shape)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Linear SGD ()"
