"""einsum, the shape ops (flip, roll, tril/triu, diagonal, repeat/tile, repeat_interleave, split,
chunk, meshgrid) and the small products (outer, dot, inner, trace, mm, bmm, mv): forward and
input gradients against torch (float64), gradients against finite differences, second order,
the torch/NumPy argument spellings, and the errors of bad shapes, axes and indices."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scratchgen as sg
from helpers import arrays, check_against_torch, gradcheck, gradgradcheck, seeds, shapes

torch = pytest.importorskip("torch", reason="torch is the test oracle (pip install torch)")

# finite differences of second order are slow: a few examples per case cover layouts and values
FEW = settings(max_examples=8)

# ---- einsum -----------------------------------------------------------------------------------

EINSUM = {
    # name: (subscripts, operand shapes)
    "matmul": ("ij,jk->ik", [(2, 3), (3, 4)]),
    "matmul_implicit": ("ij,jk", [(2, 3), (3, 2)]),
    "batch_matmul": ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    "matvec": ("ij,j->i", [(3, 2), (2,)]),
    "three_operands": ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)]),
    "trace": ("ii->", [(3, 3)]),
    "trace_implicit": ("ii", [(3, 3)]),
    "diagonal": ("ii->i", [(3, 3)]),
    "diagonal_with_other_axis": ("iij->ji", [(3, 3, 2)]),
    "batched_diagonal": ("...ii->...i", [(2, 3, 3)]),
    "outer": ("i,j->ij", [(3,), (2,)]),
    "transpose": ("ij->ji", [(2, 3)]),
    "sum_all": ("ij->", [(2, 3)]),
    "sum_rows": ("ij->i", [(2, 3)]),
    "summed_in_one_operand": ("ij,jk->i", [(2, 3), (3, 2)]),
    "hadamard": ("ij,ij->ij", [(2, 3), (2, 3)]),
    "size_one_broadcast": ("ij,ij->ij", [(1, 3), (2, 3)]),
    "ellipsis_matmul": ("...ij,...jk->...ik", [(2, 1, 2, 3), (3, 3, 2)]),
    "ellipsis_transpose": ("...ij->...ji", [(2, 2, 3)]),
    "ellipsis_summed": ("...ij->ij", [(2, 2, 3)]),
    "ellipsis_implicit": ("...ij,jk", [(2, 2, 3), (3, 2)]),
    "uppercase_implicit": ("Ab,bc", [(2, 3), (3, 2)]),
    "bilinear_form": ("i,ij,j->", [(2,), (2, 3), (3,)]),
}


def draw_operands(data, shapes_):
    return [data.draw(arrays(s)) for s in shapes_]


@pytest.mark.parametrize("name", sorted(EINSUM))
@FEW
@given(data=st.data())
def test_einsum_matches_torch(name, data):
    spec, shapes_ = EINSUM[name]
    check_against_torch(lambda *t: sg.einsum(spec, *t), lambda *t: torch.einsum(spec, *t),
                        *draw_operands(data, shapes_))


@pytest.mark.parametrize("name", sorted(EINSUM))
@FEW
@given(data=st.data())
def test_einsum_gradient(name, data):
    spec, shapes_ = EINSUM[name]
    gradcheck(lambda *t: sg.einsum(spec, *t), *draw_operands(data, shapes_))


@pytest.mark.parametrize("name", sorted(EINSUM))
@settings(max_examples=4)
@given(data=st.data())
def test_einsum_second_order(name, data):
    spec, shapes_ = EINSUM[name]
    gradgradcheck(lambda *t: sg.einsum(spec, *t) ** 2.0, *draw_operands(data, shapes_))


def test_einsum_takes_the_operands_as_one_list_and_arrays():
    a, b = np.arange(6.0).reshape(2, 3), np.arange(12.0).reshape(3, 4)
    np.testing.assert_allclose(sg.einsum("ij,jk", [sg.tensor(a), sg.tensor(b)]).numpy(), a @ b)
    np.testing.assert_allclose(sg.einsum("i j , j k -> i k", a, b).numpy(), a @ b)


def test_einsum_on_integer_tensors_stays_integer():
    a = sg.tensor(np.arange(6, dtype=np.int64).reshape(2, 3))
    out = sg.einsum("ij,ij->", a, a)
    assert out.dtype == np.int64 and out.item() == 55


# ---- the shape ops, each against torch, finite differences and at second order ----------------

def _pieces_weighted(pieces, concatenate):
    """Tuple results as one output: the pieces scaled 1, 2, 3 ... (a wrong piece order shows)."""
    return concatenate([p * float(i + 1) for i, p in enumerate(pieces)])


@st.composite
def shape_case(draw, name):
    """(scratchgen fn, torch fn, arrays) for one shape op with drawn shape and arguments."""
    if name in ("flip", "flip_dims_kw", "flip_all"):
        x = draw(arrays(shapes(min_dims=1)))
        dims = tuple(draw(st.lists(st.integers(-x.ndim, x.ndim - 1), min_size=1, max_size=3,
                                   unique_by=lambda d: d % x.ndim)))
        if name == "flip":
            return lambda t: t.flip(*dims), lambda t: t.flip(*dims), [x]
        if name == "flip_dims_kw":
            return lambda t: sg.flip(t, dims=dims), lambda t: torch.flip(t, dims=dims), [x]
        every = tuple(range(x.ndim))
        return lambda t: sg.flip(t), lambda t: torch.flip(t, every), [x]
    if name in ("roll", "roll_flat"):
        x = draw(arrays(shapes(min_dims=1)))
        if name == "roll_flat":
            shift = draw(st.integers(-7, 7))
            return lambda t: t.roll(shift), lambda t: t.roll(shift), [x]
        dims = tuple(draw(st.lists(st.integers(-x.ndim, x.ndim - 1), min_size=1, max_size=3)))
        shifts = tuple(draw(st.integers(-5, 5)) for _ in dims)
        return (lambda t: sg.roll(t, shifts=shifts, dims=dims),
                lambda t: torch.roll(t, shifts, dims), [x])
    if name in ("tril", "triu"):
        x = draw(arrays(shapes(min_dims=2)))
        k = draw(st.integers(-3, 3))
        return (lambda t: getattr(t, name)(k), lambda t: getattr(torch, name)(t, k), [x])
    if name == "diagonal":
        x = draw(arrays(shapes(min_dims=2)))
        d1, d2 = draw(st.lists(st.integers(-x.ndim, x.ndim - 1), min_size=2, max_size=2,
                               unique_by=lambda d: d % x.ndim))
        offset = draw(st.integers(-3, 3))
        return (lambda t: t.diagonal(offset, dim1=d1, dim2=d2),
                lambda t: torch.diagonal(t, offset, d1, d2), [x])
    if name in ("repeat", "tile"):
        x = draw(arrays(shapes(max_dims=2, max_side=3)))
        low = max(x.ndim, 1) if name == "repeat" else 0
        reps = tuple(draw(st.lists(st.integers(1, 3), min_size=low, max_size=3)))
        if name == "repeat":
            return lambda t: t.repeat(*reps), lambda t: t.repeat(*reps), [x]
        return lambda t: sg.tile(t, reps), lambda t: torch.tile(t, reps), [x]
    if name in ("repeat_interleave", "repeat_interleave_counts"):
        x = draw(arrays(shapes(min_dims=1, max_dims=2, max_side=3)))
        dim = draw(st.one_of(st.none(), st.integers(-x.ndim, x.ndim - 1)))
        if name == "repeat_interleave":
            r = draw(st.integers(0, 3))
            return (lambda t: t.repeat_interleave(r, dim=dim),
                    lambda t: torch.repeat_interleave(t, r, dim=dim), [x])
        n = x.size if dim is None else x.shape[dim]
        counts = np.random.default_rng(draw(seeds())).integers(0, 3, size=n)
        return (lambda t: sg.repeat_interleave(t, sg.tensor(counts), dim=dim),
                lambda t: torch.repeat_interleave(t, torch.from_numpy(counts), dim=dim), [x])
    if name in ("split", "split_sections", "chunk"):
        x = draw(arrays(shapes(min_dims=1, max_side=5)))
        dim = draw(st.integers(-x.ndim, x.ndim - 1))
        n = x.shape[dim]
        if name == "split":
            arg = draw(st.integers(1, 6))
        elif name == "split_sections":
            cuts = sorted(draw(st.lists(st.integers(0, n), max_size=3)))
            arg = [b - a for a, b in zip([0] + cuts, cuts + [n])]
        else:
            arg = draw(st.integers(1, 6))
        op = "chunk" if name == "chunk" else "split"
        return (lambda t: _pieces_weighted(getattr(t, op)(arg, dim=dim),
                                           lambda ps: sg.concatenate(ps, axis=dim)),
                lambda t: _pieces_weighted(getattr(t, op)(arg, dim=dim),
                                           lambda ps: torch.cat(ps, dim=dim)), [x])
    if name in ("meshgrid_ij", "meshgrid_xy"):
        indexing = name[-2:]
        vecs = [draw(arrays(draw(shapes(min_dims=0, max_dims=1)))) for _ in
                range(draw(st.integers(1, 3)))]
        return (lambda *ts: _pieces_weighted(sg.meshgrid(*ts, indexing=indexing), sg.stack),
                lambda *ts: _pieces_weighted(torch.meshgrid(*ts, indexing=indexing),
                                             torch.stack), vecs)
    n, k, m = (draw(st.integers(1, 4)) for _ in range(3))
    if name == "outer":
        return sg.outer, torch.outer, [draw(arrays((n,))), draw(arrays((m,)))]
    if name == "dot":
        return lambda a, b: a.dot(b), torch.dot, [draw(arrays((n,))), draw(arrays((n,)))]
    if name == "inner":
        batch_a, batch_b = draw(shapes(max_dims=2, max_side=3)), draw(shapes(max_dims=1))
        return sg.inner, torch.inner, [draw(arrays(batch_a + (k,))), draw(arrays(batch_b + (k,)))]
    if name == "trace":
        return lambda t: t.trace(), torch.trace, [draw(arrays((n, m)))]
    if name == "mm":
        return sg.mm, torch.mm, [draw(arrays((n, k))), draw(arrays((k, m)))]
    if name == "bmm":
        return (lambda a, b: a.bmm(b), torch.bmm, [draw(arrays((2, n, k))),
                                                    draw(arrays((2, k, m)))])
    assert name == "mv", name
    return sg.mv, torch.mv, [draw(arrays((n, k))), draw(arrays((k,)))]


SHAPE_OPS = ["flip", "flip_dims_kw", "flip_all", "roll", "roll_flat", "tril", "triu", "diagonal",
             "repeat", "tile", "repeat_interleave", "repeat_interleave_counts", "split",
             "split_sections", "chunk", "meshgrid_ij", "meshgrid_xy", "outer", "dot", "inner",
             "trace", "mm", "bmm", "mv"]


@pytest.mark.parametrize("name", SHAPE_OPS)
@FEW
@given(data=st.data())
def test_shape_op_matches_torch(name, data):
    ours, theirs, inputs = data.draw(shape_case(name))
    check_against_torch(ours, theirs, *inputs)


@pytest.mark.parametrize("name", SHAPE_OPS)
@FEW
@given(data=st.data())
def test_shape_op_gradient(name, data):
    ours, _, inputs = data.draw(shape_case(name))
    gradcheck(ours, *inputs)


@pytest.mark.parametrize("name", SHAPE_OPS)
@settings(max_examples=4)
@given(data=st.data())
def test_shape_op_second_order(name, data):
    ours, _, inputs = data.draw(shape_case(name))
    gradgradcheck(lambda *t: ours(*t) ** 2.0, *inputs)


@FEW
@given(data=st.data())
def test_dot_and_trace_follow_numpy_beyond_torchs_ranks(data):
    """numpy.dot on N-d operands (torch.dot is 1-D only); numpy.trace with offset and axes."""
    a_shape = data.draw(shapes(min_dims=1, max_dims=3, max_side=3))
    b_shape = data.draw(shapes(min_dims=0, max_dims=3, max_side=3))
    if len(b_shape) >= 1:
        b_shape = b_shape[:-2] + (a_shape[-1],) + b_shape[-1:] if len(b_shape) > 1 else (
            a_shape[-1],)
    a, b = data.draw(arrays(a_shape)), data.draw(arrays(b_shape))
    np.testing.assert_allclose(sg.dot(a, b).numpy(), np.dot(a, b), rtol=1e-12, atol=1e-12)
    gradcheck(sg.dot, a, b)
    x = data.draw(arrays(shapes(min_dims=2, max_dims=3)))
    offset = data.draw(st.integers(-2, 2))
    np.testing.assert_allclose(sg.trace(x, offset, 0, -1).numpy(),
                               np.trace(x, offset, 0, x.ndim - 1), rtol=1e-12, atol=1e-12)
    gradcheck(lambda t: sg.trace(t, offset, axis1=-1, axis2=0), x)


def test_outer_flattens_like_numpy():
    a, b = np.arange(4.0).reshape(2, 2), np.arange(3.0)
    np.testing.assert_array_equal(sg.outer(a, b).numpy(), np.outer(a, b))


def test_numpy_and_torch_spellings_agree():
    x = sg.tensor(np.arange(24.0).reshape(2, 3, 4))
    same = lambda p, q: np.testing.assert_array_equal(p.numpy(), q.numpy())
    same(sg.flip(x, axis=(0, 2)), x.flip(0, 2))
    same(sg.flip(x, dims=[0, 2]), x.flip((0, 2)))
    same(sg.roll(x, 2, axis=1), x.roll(shifts=2, dims=1))
    same(sg.roll(x, shift=(1, 2), axis=(0, 2)), x.roll((1, 2), (0, 2)))
    same(sg.tril(x, k=1), x.tril(diagonal=1))
    same(sg.triu(x, -1), x.triu(diagonal=-1))
    same(sg.diagonal(x, 1, axis1=2, axis2=0), x.diagonal(offset=1, dim1=2, dim2=0))
    same(sg.tile(x, (2, 1, 1)), x.repeat(2, 1, 1))
    same(x.tile(2), x.tile(dims=(2,)))
    same(sg.repeat_interleave(x, 2, axis=1), x.repeat_interleave(2, dim=1))
    for p, q in zip(sg.split(x, 2, axis=2), x.split(split_size=2, dim=2)):
        same(p, q)
    for p, q in zip(sg.chunk(x, 2, axis=1), x.chunk(2, dim=1)):
        same(p, q)
    same(sg.swapaxes(x, 0, 2), x.transpose(2, 1, 0))
    with pytest.raises(TypeError, match="flip: got both"):
        sg.flip(x, dims=0, axis=0)
    with pytest.raises(TypeError, match="roll: got both"):
        x.roll(1, dim=0, axis=0)


def test_meshgrid_defaults_to_ij_and_takes_a_list():
    a, b = sg.tensor(np.arange(3.0)), sg.tensor(np.arange(2.0))
    xs, ys = sg.meshgrid(a, b)
    assert xs.shape == ys.shape == (3, 2)
    xs_xy, ys_xy = sg.meshgrid([a, b], indexing="xy")
    want = np.meshgrid(np.arange(3.0), np.arange(2.0))  # NumPy's default is "xy"
    np.testing.assert_array_equal(xs_xy.numpy(), want[0])
    np.testing.assert_array_equal(ys_xy.numpy(), want[1])


def test_chunk_and_split_piece_sizes_follow_torch():
    x = sg.tensor(np.arange(5.0))
    assert [p.shape for p in x.chunk(4)] == [(2,), (2,), (1,)]  # ceil(5 / 4) = 2 each
    assert [p.shape for p in x.split(2)] == [(2,), (2,), (1,)]
    assert [p.shape for p in x.split([1, 0, 4])] == [(1,), (0,), (4,)]
    assert [p.shape for p in sg.tensor(np.zeros(0)).chunk(3)] == [(0,)] * 3


def test_mixed_advanced_indexing_moves_axes_like_numpy():
    """An int and a list separated by a slice are both advanced indices in NumPy: the indexed
    axis goes first, (2, 3). torch treats the int as basic and gives (3, 2). scratchgen keeps
    NumPy's rule (listed in docs/torch-differences.md)."""
    x = np.arange(24.0).reshape(2, 3, 4)
    got = sg.tensor(x)[0, :, [0, 1]]
    assert got.shape == (2, 3) == x[0, :, [0, 1]].shape
    assert tuple(torch.from_numpy(x)[0, :, [0, 1]].shape) == (3, 2)
    np.testing.assert_array_equal(got.numpy(), x[0, :, [0, 1]])
    gradcheck(lambda t: t[0, :, [0, 1]], x)


def test_transpose_flatten_and_axis_helpers_still_work_on_0d_tensors():
    s = sg.tensor(np.array(2.0))
    assert s.flatten().shape == (1,) and s.flatten(-1, 0).shape == (1,)
    assert s.transpose().shape == ()


# ---- errors -----------------------------------------------------------------------------------

def t(*shape):
    return sg.tensor(np.ones(shape))


ERRORS = [
    # (call, exception, pattern)
    (lambda: t(2, 3).reshape(2.0, 3), TypeError, r"reshape.*2\.0"),
    (lambda: sg.engine.ops.shape.Reshape((2.0, 3)), TypeError, r"reshape.*2\.0"),
    (lambda: t(2, 3).reshape(-1, -1), sg.ShapeError, r"reshape: only one size can be -1"),
    (lambda: t(2, 3).reshape(-2, 3), sg.ShapeError, r"reshape: invalid size -2"),
    (lambda: t(2, 3).reshape(4, 2), sg.ShapeError, r"reshape.*\(2, 3\).*\(4, 2\)"),
    (lambda: t(2, 3)[::0], sg.ShapeError, r"step"),
    (lambda: sg.engine.ops.shape.GetItem(slice(None, None, 0)), sg.ShapeError, r"step"),
    (lambda: t(4)[1.0], TypeError, r"float"),
    (lambda: t(4)[[0.0, 1.0]], TypeError, r"float64"),
    (lambda: t(4)[sg.tensor(np.array([0.5]))], TypeError, r"float64"),
    (lambda: t(4)["a"], TypeError, r"str"),
    (lambda: t(4)[0.5:2], TypeError, r"slice"),
    (lambda: t(2, 3, 4).flatten(2, 1), sg.ShapeError, r"flatten: the start axis 2 comes after"),
    (lambda: t(2, 3).flatten(0, 5), sg.ShapeError, r"flatten: end axis 5 is out of range"),
    (lambda: t(2, 3).flatten(-3), sg.ShapeError, r"flatten: start axis -3 is out of range"),
    (lambda: t(2, 3).flatten(0.0), TypeError, r"flatten: start axis must be an integer"),
    (lambda: t(2, 3).transpose(1.0, 0.0), TypeError, r"transpose: axes must be an integer"),
    (lambda: t(2, 3).transpose(0, 3), sg.ShapeError, r"transpose: axes \(0, 3\) are not a perm"),
    (lambda: t(2, 3).transpose(0, 0), sg.ShapeError, r"not a permutation"),
    (lambda: t(2, 3).unsqueeze(1.0), TypeError, r"unsqueeze: axis must be an integer"),
    (lambda: t(1, 3).squeeze(0.0), TypeError, r"squeeze: axis must be an integer"),
    (lambda: t(3).broadcast_to(2.0, 3), TypeError, r"broadcast_to: sizes must be integers"),
    (lambda: t(3).broadcast_to(-1, 3), sg.ShapeError, r"broadcast_to: invalid size -1"),
    (lambda: sg.swapaxes(t(2, 3), 0, 2), sg.ShapeError, r"swapaxes: axis 2 is out of range"),
    # einsum
    (lambda: sg.einsum(3, t(2)), sg.ShapeError, r"einsum: subscripts must be a string"),
    (lambda: sg.einsum("ij,jk->ik", t(2, 3)), sg.ShapeError, r"name 2 operand.*1 were given"),
    (lambda: sg.einsum("ij", t(2, 3, 4)), sg.ShapeError, r"operand 0 has shape \(2, 3, 4\)"),
    (lambda: sg.einsum("ijk", t(2, 3)), sg.ShapeError, r"subscripts 'ijk' name 3"),
    (lambda: sg.einsum("i1->i", t(2, 3)), sg.ShapeError, r"letters a-z, A-Z"),
    (lambda: sg.einsum("ij->k", t(2, 3)), sg.ShapeError, r"output label 'k'"),
    (lambda: sg.einsum("ij->ii", t(2, 3)), sg.ShapeError, r"output label 'i'"),
    (lambda: sg.einsum("ij->i->j", t(2, 3)), sg.ShapeError, r"more than one '->'"),
    (lambda: sg.einsum("ij,jk", t(2, 3), t(4, 2)), sg.ShapeError,
     r"label 'j' has size 3 in one operand and 4"),
    (lambda: sg.einsum("ii", t(2, 3)), sg.ShapeError, r"repeats label 'i' over axes of diff"),
    # the shape ops
    (lambda: t(2, 3).flip(2), sg.ShapeError, r"flip: axis 2 is out of range"),
    (lambda: t(2, 3).flip(0.5), TypeError, r"flip: axis must be an integer"),
    (lambda: t(2, 3).roll(1.5), TypeError, r"roll: shift must be an integer"),
    (lambda: t(2, 3).roll((1, 2), (0,)), sg.ShapeError, r"roll: got 2 shifts"),
    (lambda: t(2, 3).roll((1, 2)), sg.ShapeError, r"roll: 2 shifts"),
    (lambda: t(3).tril(), sg.ShapeError, r"tril: needs a tensor with at least 2 dim"),
    (lambda: t(3, 3).triu(0.5), TypeError, r"triu: diagonal k must be an integer"),
    (lambda: t(3, 3).diagonal(0, 1, -1), sg.ShapeError, r"axis1 and axis2 must be different"),
    (lambda: t(3).diagonal(), sg.ShapeError, r"diagonal: needs a tensor with at least 2"),
    (lambda: t(2, 3).repeat(2), sg.ShapeError, r"repeat: got 1 sizes"),
    (lambda: t(2, 3).tile(-1), sg.ShapeError, r"tile: repetitions must be >= 0"),
    (lambda: t(3).repeat_interleave([1, 2]), sg.ShapeError, r"one count per element \(3"),
    (lambda: t(3).repeat_interleave(-1), sg.ShapeError, r"repeat_interleave: repeats must be"),
    (lambda: t(3).repeat_interleave(1.5), sg.ShapeError, r"must be an integer or a 1-D"),
    (lambda: t(5).split([2, 2]), sg.ShapeError, r"split: sizes \[2, 2\] must .* add up to 5"),
    (lambda: t(5).split(0), sg.ShapeError, r"split: the piece size must be positive"),
    (lambda: t(5).split(2, dim=1), sg.ShapeError, r"split: axis 1 is out of range"),
    (lambda: t(5).chunk(0), sg.ShapeError, r"chunk: the number of chunks must be positive"),
    (lambda: sg.meshgrid(t(2), indexing="ji"), sg.ShapeError, r"indexing must be 'ij' or 'xy'"),
    (lambda: sg.meshgrid(t(2), t(2, 2)), sg.ShapeError, r"meshgrid: tensor 1 has shape"),
    (lambda: sg.meshgrid(), sg.ShapeError, r"meshgrid needs at least one"),
    # the products
    (lambda: sg.mm(t(2, 3), t(3)), sg.ShapeError, r"mm: the second operand must have 2"),
    (lambda: sg.bmm(t(2, 2, 3), t(3, 3, 2)), sg.ShapeError, r"bmm: batch sizes"),
    (lambda: sg.bmm(t(2, 3), t(3, 2)), sg.ShapeError, r"bmm: the first operand must have 3"),
    (lambda: sg.mv(t(2, 3), t(3, 1)), sg.ShapeError, r"mv: the vector must have 1"),
    (lambda: sg.mm(t(2, 3), t(2, 3)), sg.ShapeError, r"matmul: shapes \(2, 3\) @ \(2, 3\)"),
    (lambda: sg.dot(t(3), t(4)), sg.ShapeError, r"dot: shapes \(3,\) and \(4,\) do not fit"),
    (lambda: sg.inner(t(2, 3), t(2)), sg.ShapeError, r"inner: the last axes"),
]


@pytest.mark.parametrize("call, error, pattern", ERRORS,
                         ids=[f"error{i}" for i in range(len(ERRORS))])
def test_bad_arguments_raise_clear_errors(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


@given(size=st.one_of(st.floats(allow_nan=False), st.text(max_size=2), st.none(),
                      st.booleans()))
def test_reshape_refuses_any_non_integer_size(size):
    x = t(2, 3)
    with pytest.raises(TypeError, match="reshape"):
        x.reshape(size, -1)
    with pytest.raises(TypeError, match="reshape"):
        sg.engine.ops.shape.Reshape((size, 3))
