"""dtype rules, as torch: Python ints stay int64, bools bool, Python floats take the default
float dtype (float32); arrays keep theirs; int / int and int ** float give float32; a leaf's
.grad has the leaf's dtype. Comparisons give boolean Tensors that index, mask and sum."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import scratchgen as sg
import scratchgen.functional as F
from helpers import arrays, shapes

# ---- construction ---------------------------------------------------------------------------


@st.composite
def python_data(draw):
    """A nested list of one shape whose elements are drawn from one mix of Python kinds."""
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3))
    kinds = draw(st.lists(st.sampled_from(["bool", "int", "float"]), min_size=1, max_size=3,
                          unique=True))
    element = st.one_of([{"bool": st.booleans(), "int": st.integers(-1000, 1000),
                          "float": st.floats(-1e3, 1e3)}[k] for k in kinds])
    values = draw(st.lists(element, min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))

    def nest(flat, dims):
        if not dims:
            return flat[0]
        step = len(flat) // dims[0]
        return [nest(flat[i * step:(i + 1) * step], dims[1:]) for i in range(dims[0])]

    return nest(values, list(shape))


@settings(max_examples=60)
@given(data=python_data())
def test_python_data_gets_torchs_dtype(data):
    import torch

    expected = torch.tensor(data)
    got = sg.tensor(data)
    assert str(got.dtype) == str(expected.dtype).replace("torch.", "")
    np.testing.assert_array_equal(got.numpy(), expected.numpy())


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.uint8, np.int64, np.float16,
                                   np.float32, np.float64, np.bool_])
def test_arrays_and_numpy_scalars_keep_their_dtype(dtype):
    assert sg.tensor(np.zeros(3, dtype=dtype)).dtype == dtype
    assert sg.tensor(np.zeros((), dtype=dtype)[()]).dtype == dtype


def test_creation_helpers_dtypes():
    assert sg.full((2,), 4).dtype == np.int64
    assert sg.full((2,), 4.0).dtype == np.float32
    assert sg.full((2,), True).dtype == np.bool_
    assert sg.full((2,), 4, dtype=np.float64).dtype == np.float64
    np.testing.assert_array_equal(sg.full((2,), 4).numpy(), [4, 4])
    cond = sg.tensor([True, False])
    assert sg.where(cond, 4, 2).dtype == np.int64
    np.testing.assert_array_equal(sg.where(cond, 4, 2).numpy(), [4, 2])
    assert sg.where(cond, 4.0, 2).dtype == np.float32
    assert sg.zeros(2).dtype == sg.ones(2).dtype == sg.rand(2).dtype == np.float32
    assert sg.arange(3).dtype == np.int64 and sg.arange(3.0).dtype == np.float32


# ---- results of ops ---------------------------------------------------------------------------

RESULT_DTYPES = {
    "int / int": (lambda i, f: i / i, np.float32),
    "int / python int": (lambda i, f: i / 2, np.float32),
    "python int / int": (lambda i, f: 2 / i, np.float32),
    "int ** python float": (lambda i, f: i ** 0.5, np.float32),
    "int * python float": (lambda i, f: i * 2.5, np.float32),
    "int + python int": (lambda i, f: i + 3, np.int64),
    "int * int": (lambda i, f: i * i, np.int64),
    "bool + python int": (lambda i, f: (i > 1) + 1, np.int64),
    "int + float32 tensor": (lambda i, f: i + f, np.float32),
    "float32 tensor - int": (lambda i, f: f - i, np.float32),
    "float32 * python float": (lambda i, f: f * 2.5, np.float32),
    "float32 * python int": (lambda i, f: f * 3, np.float32),
    "maximum(int, float32)": (lambda i, f: sg.maximum(i, f), np.float32),
    "where(cond, int, float32)": (lambda i, f: sg.where(i > 1, i, f), np.float32),
}


@pytest.mark.parametrize("name", sorted(RESULT_DTYPES))
def test_result_dtypes_follow_torch(name):
    import torch

    fn, expected = RESULT_DTYPES[name]
    i, f = sg.tensor([1, 2, 3]), sg.tensor([0.5, 1.5, 2.5])
    ours = fn(i, f)
    assert ours.dtype == expected, name
    torch_where = lambda c, a, b: torch.where(c, a, b)
    theirs = {"maximum(int, float32)": lambda a, b: torch.maximum(a, b),
              "where(cond, int, float32)": lambda a, b: torch_where(a > 1, a, b)}.get(name, fn)(
        torch.tensor([1, 2, 3]), torch.tensor([0.5, 1.5, 2.5]))
    assert str(theirs.dtype) == "torch." + np.dtype(expected).name
    np.testing.assert_allclose(ours.numpy().astype(np.float64), theirs.numpy().astype(np.float64),
                               rtol=1e-6)


def test_integer_and_boolean_results_never_require_grad():
    x = sg.tensor(np.array([0.5, 1.5]), requires_grad=True)
    for result in (x.long(), x.int(), x.bool(), x > 1.0, x.astype(np.int64)):
        assert not result.requires_grad and result.grad_fn is None
    assert (x * 2).requires_grad and x.float().requires_grad


# ---- gradient dtypes -----------------------------------------------------------------------------

@pytest.mark.parametrize("leaf_dtype,other_dtype", [(np.float32, np.float64),
                                                    (np.float64, np.float32),
                                                    (np.float16, np.float64)])
def test_a_leafs_grad_has_the_leafs_dtype(leaf_dtype, other_dtype):
    x = sg.tensor(np.array([1.0, 2.0], dtype=leaf_dtype), requires_grad=True)
    other = sg.tensor(np.array([3.0, 4.0], dtype=other_dtype), requires_grad=True)
    loss = (x * other).sum()
    assert loss.dtype == np.result_type(leaf_dtype, other_dtype)
    loss.backward()
    assert x.grad.dtype == leaf_dtype and other.grad.dtype == other_dtype
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 4.0])
    gx, go = sg.grad((x * other).sum(), [x, other])
    assert gx.dtype == leaf_dtype and go.dtype == other_dtype
    (g,) = sg.grad((x * other * x).sum(), [x], create_graph=True)
    assert g.dtype == leaf_dtype and g.requires_grad


def test_a_float64_array_in_a_float32_graph_gives_float32_gradients():
    w = sg.tensor(np.ones((3, 2), dtype=np.float32), requires_grad=True)
    y = (np.ones((4, 3)) @ w).sum()  # the NumPy array is float64: the graph becomes float64
    assert y.dtype == np.float64
    y.backward()
    assert w.grad.dtype == np.float32
    np.testing.assert_array_equal(w.grad.numpy(), np.full((3, 2), 4.0))


# ---- integer indices and labels, boolean masks ---------------------------------------------------

def test_indexing_with_an_integer_tensor_and_its_gradient():
    x = sg.tensor(np.arange(5.0), requires_grad=True)
    idx = sg.tensor([0, 2, 2])
    assert idx.dtype == np.int64
    y = x[idx]
    np.testing.assert_array_equal(y.numpy(), [0.0, 2.0, 2.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 0.0, 2.0, 0.0, 0.0])


def test_cross_entropy_with_labels_from_sg_tensor_matches_torch():
    import torch

    logits = np.random.default_rng(0).standard_normal((4, 3))
    labels = [0, 2, 1, 2]
    x = sg.tensor(logits, requires_grad=True)
    loss = F.cross_entropy(x, sg.tensor(labels))
    loss.backward()
    tx = torch.tensor(logits, requires_grad=True)
    expected = torch.nn.functional.cross_entropy(tx, torch.tensor(labels))
    expected.backward()
    np.testing.assert_allclose(loss.item(), expected.item(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10)


@settings(max_examples=25)
@given(x=arrays(shapes(min_dims=1)), threshold=st.floats(-1, 1))
def test_a_boolean_mask_from_a_comparison_indexes_wheres_and_sums(x, threshold):
    t = sg.tensor(x, requires_grad=True)
    mask = t > threshold
    assert isinstance(mask, sg.Tensor) and mask.dtype == np.bool_
    np.testing.assert_array_equal(t[mask].numpy(), x[x > threshold])
    count = mask.sum()
    assert count.dtype == np.int64 and count.item() == int((x > threshold).sum())
    y = sg.where(mask, t, t * 0.5)
    np.testing.assert_allclose(y.numpy(), np.where(x > threshold, x, 0.5 * x))
    (t[mask].sum() + y.sum()).backward()
    np.testing.assert_allclose(t.grad.numpy(), np.where(x > threshold, 2.0, 0.5))


def test_comparison_results_combine_with_arithmetic_as_in_torch():
    x = sg.tensor(np.array([-1.0, 0.5, 2.0]), requires_grad=True)
    relu = x * (x > 0)  # float * bool -> float
    assert relu.dtype == np.float64
    np.testing.assert_array_equal(relu.numpy(), [0.0, 0.5, 2.0])
    np.testing.assert_array_equal(((x > 0) == sg.tensor([False, True, True])).numpy(), True)
    assert (sg.tensor([1, 2, 3]) @ sg.tensor([0.5, 1.5, 2.5])).dtype == np.float32
    assert bool(x[2] > 1.0) and not bool(x[0] > 1.0)
