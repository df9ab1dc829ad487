"""`Tensor`: an array plus the graph that produced it.

`Tensor.data` is the raw array (numpy.ndarray on the CPU, cupy.ndarray on a GPU). A tensor
with requires_grad=True records every op applied to it; `.backward()` then fills the
`.grad` of the leaves (tensors created by the user rather than by an op).
"""
import numbers
import operator
import weakref

import numpy as np

from ..errors import GraphError, IndexOutOfRangeError, ShapeError
from . import backend
from . import autograd
from .function import is_grad_enabled
from .spelling import rename, torch_names

DEFAULT_FLOAT = np.float32  # the dtype Python floats become (torch's default dtype)
NUMERIC_KINDS = "biufc"     # bool, signed and unsigned ints, floats, complex
# Python scalars that may appear in tensor data (bool is an int; numpy's scalars count too)
PYTHON_SCALARS = (bool, int, float, complex, np.bool_, np.number)


def _default_dtype(array):
    """Python data: floats take the default float dtype, ints int64, bools stay bool."""
    if array.dtype.kind == "f" and array.dtype != DEFAULT_FLOAT:
        return array.astype(DEFAULT_FLOAT)
    if array.dtype.kind == "i" and array.dtype != np.int64:
        return array.astype(np.int64)
    return array


def describe(value):
    """A value for an error message: "a str ('a')", "None", "a dict ({...})"."""
    if value is None:
        return "None"
    kind = type(value).__name__
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    article = "an" if kind[0].lower() in "aeiou" else "a"
    return f"{article} {kind} ({text})"


def check_dtype(dtype, name="tensor"):
    """`dtype` as a numpy dtype, or a TypeError naming the op."""
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name}: dtype {dtype!r} is not a dtype; give e.g. np.float32, "
                        "np.int64 or bool") from None


def _check_array_dtype(array, name):
    if array.dtype.kind not in NUMERIC_KINDS:
        raise TypeError(f"{name}: got an array of dtype {array.dtype}; expected numbers or "
                        "booleans (a numeric or boolean dtype)")


def _explain_bad_data(data, name):
    """Raise the error that says what is wrong with Python `data`: a bad element (its type and
    position) or a ragged nested list (which rows differ). Returns if nothing is found."""

    def shape_of(value, position):
        if isinstance(value, (list, tuple)):
            shapes = [shape_of(v, f"{position}[{i}]") for i, v in enumerate(value)]
            for i, s in enumerate(shapes[1:], 1):
                if s != shapes[0]:
                    where = position or "the data"
                    raise ShapeError(f"{name}: ragged nested list: in {where}, "
                                     f"{_shape_words(position, i, s)} but "
                                     f"{_shape_words(position, 0, shapes[0])}; every row of a "
                                     "level must have the same length")
            return (len(value),) + (shapes[0] if shapes else ())
        if isinstance(value, PYTHON_SCALARS):
            return ()
        if isinstance(value, Tensor):
            return value.shape
        if isinstance(value, np.ndarray):
            if value.dtype.kind not in NUMERIC_KINDS:
                raise TypeError(f"{name}: element {position} is an array of dtype "
                                f"{value.dtype}; expected numbers or booleans")
            return value.shape
        if not position:
            raise TypeError(f"{name}: got {describe(value)}; expected a number, a boolean, a "
                            "(nested) list of them, an array or a Tensor")
        raise TypeError(f"{name}: element {position} is {describe(value)}; expected numbers "
                        "or booleans")

    shape_of(data, "")


def _shape_words(position, i, shape):
    if shape == ():
        return f"element {position}[{i}] is a number"
    return f"row {position}[{i}] has length {shape[0]}" + (
        f" (shape {shape})" if len(shape) > 1 else "")


def _from_python(data, name):
    """Python scalars and (nested) lists -> a numeric array, or a clear error."""
    try:
        array = np.asarray(data)
    except (ValueError, TypeError):  # ragged lists; objects NumPy refuses
        _explain_bad_data(data, name)
        raise
    if array.dtype.kind not in NUMERIC_KINDS:
        _explain_bad_data(data, name)
        raise TypeError(f"{name}: cannot turn {describe(data)} into numbers (NumPy made an "
                        f"array of dtype {array.dtype}); expected numbers or booleans")
    return array


def as_array(data, dtype=None, device=None, name="tensor"):
    """Anything array-like -> an array on `device`, following scratchgen's dtype rules.

    Python floats (and lists holding one) become float32, Python ints int64, bools bool;
    arrays keep their dtype. Strings, None, objects and ragged lists are refused with an
    error naming the bad element's type and position."""
    if isinstance(data, Tensor):
        array = data.data
    elif isinstance(data, np.ndarray) or backend.array_module(data) is not np:
        array = data
        _check_array_dtype(array, name)
    elif isinstance(data, np.generic):
        array = np.asarray(data)
        _check_array_dtype(array, name)
    else:  # Python scalars and (nested) lists
        array = _from_python(data, name)
        if dtype is None:
            array = _default_dtype(array)
    if dtype is not None:
        array = array.astype(check_dtype(dtype, name), copy=False)
    if device is not None:
        array = backend.to_device(array, device)
    return array


def as_array_like(data, like, name="tensor"):
    """A Python scalar or array-like as an array next to `like` (same device).

    A Python scalar takes the dtype torch gives `like <op> scalar`: it never upcasts a
    float32 tensor to float64, and a float with an integer or boolean tensor takes the
    default float dtype (float32)."""
    if isinstance(data, (bool, int, float)):
        xp = backend.array_module(like)
        kind = like.dtype.kind
        if kind == "f" and not isinstance(data, bool):
            return xp.asarray(data, dtype=like.dtype)  # the common case, without result_type
        if kind in "biu" and isinstance(data, float):
            return xp.asarray(data, dtype=DEFAULT_FLOAT)
        return xp.asarray(data, dtype=xp.result_type(like.dtype, data))
    return backend.to_device(as_array(data, name=name), backend.device_of(like))


def as_tensor(data, like=None, name="tensor"):
    if isinstance(data, Tensor):
        return data
    return Tensor(as_array(data, name=name) if like is None
                  else as_array_like(data, like.data, name))


def is_operand(value):
    """Can `value` take part in an op with a tensor (a number, an array, a list, a Tensor)?"""
    return (isinstance(value, (Tensor, numbers.Number, np.ndarray, np.generic, list, tuple))
            or backend.array_module(value) is not np)


def promote(a, b):
    """torch's rule across kinds: an integer or boolean tensor meeting a float tensor takes
    the float's dtype (NumPy would make int64 with float32 a float64). Integer and boolean
    tensors never require grad, so the cast records nothing."""
    da, db = a.data.dtype, b.data.dtype
    if da is db:  # the common case: NumPy's builtin dtypes are singletons
        return a, b
    ka, kb = da.kind, db.kind
    if ka == kb:
        return a, b
    if ka == "f" and kb in "biu":
        return a, Tensor(b.data.astype(a.data.dtype))
    if kb == "f" and ka in "biu":
        return Tensor(a.data.astype(b.data.dtype)), b
    return a, b


class _Size(int):
    """`x.size`: the number of elements (an int, as NumPy's `a.size`) that can also be called
    as PyTorch's `x.size()` (the shape) and `x.size(d)` (the length of axis d)."""

    def __new__(cls, shape):
        count = 1
        for n in shape:
            count *= n
        size = int.__new__(cls, count)
        size.shape = tuple(shape)
        return size

    def __call__(self, dim=None):
        if dim is None:
            return self.shape
        if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
            raise TypeError(f"size: dim must be an int, got {describe(dim)}")
        ndim = len(self.shape)
        if not -max(ndim, 1) <= dim < max(ndim, 1) or ndim == 0:
            raise IndexOutOfRangeError(f"size: dimension {dim} is out of range for a tensor "
                                       f"with {ndim} dimensions")
        return self.shape[dim]

    def __reduce__(self):  # pickles as the plain int it is
        return (int, (int(self),))


# NumPy ufuncs that `ndarray <op> Tensor` reaches, and the Tensor operator each one means
_UFUNC_OPERATORS = {
    np.add: operator.add, np.subtract: operator.sub, np.multiply: operator.mul,
    np.true_divide: operator.truediv, np.power: operator.pow, np.matmul: operator.matmul,
    np.floor_divide: operator.floordiv, np.remainder: operator.mod,
    np.bitwise_and: operator.and_, np.bitwise_or: operator.or_, np.bitwise_xor: operator.xor,
    np.less: operator.lt, np.less_equal: operator.le, np.greater: operator.gt,
    np.greater_equal: operator.ge, np.equal: operator.eq, np.not_equal: operator.ne,
}


class Tensor:
    _version = 0  # bumped by every in-place op (instances set their own)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """NumPy meets a Tensor.

        `ndarray <op> Tensor` becomes the Tensor op (a Tensor, with a graph), like
        Tensor.__radd__. With `out=` plain arrays (`p.data -= lr * p.grad`), the Tensor
        operands are unwrapped and NumPy computes into `out`. Other ufuncs are refused."""
        out = kwargs.get("out")
        if out is not None:
            if method == "__call__" and all(isinstance(o, np.ndarray) for o in out):
                raw = [backend.to_numpy(x.data) if isinstance(x, Tensor) else x for x in inputs]
                return ufunc(*raw, **kwargs)
            return NotImplemented
        if method == "__call__" and not kwargs and len(inputs) == 2 and ufunc in _UFUNC_OPERATORS:
            a, b = (x if isinstance(x, Tensor) else as_tensor(x, like=self, name=ufunc.__name__)
                    for x in inputs)
            return _UFUNC_OPERATORS[ufunc](a, b)
        if method == "__call__" and not kwargs and ufunc is np.negative:
            return -inputs[0]
        return NotImplemented

    def __init__(self, data, requires_grad=False):
        if isinstance(data, np.generic):  # NumPy returns scalars from full reductions
            data = np.asarray(data)
        self.data = data
        self.grad = None
        self.creator = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # ---- properties -------------------------------------------------------------------
    @property
    def shape(self):
        return tuple(self.data.shape)

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        """The number of elements (an int); also callable: size() is the shape, size(d) an axis."""
        return _Size(self.data.shape)

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def device(self):
        return backend.device_of(self.data)

    @property
    def xp(self):
        """The array module of this tensor (numpy or cupy)."""
        return backend.array_module(self.data)

    @property
    def is_leaf(self):
        return self.creator is None

    @property
    def T(self):
        return self.transpose()

    def requires_grad_(self, flag=True):
        if flag and self.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require gradients, but this one "
                            f"has dtype {self.dtype}; create it with a float dtype")
        self.requires_grad = bool(flag)
        return self

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __repr__(self):
        body = np.array2string(backend.to_numpy(self.data), separator=", ", prefix="tensor(")
        extras = ""
        if self.device != "cpu":
            extras += f", device='{self.device}'"
        if self.creator is not None:
            extras += f", grad_fn={self.creator!r}"
        elif self.requires_grad:
            extras += ", requires_grad=True"
        return f"tensor({body}, dtype={self.dtype}{extras})"

    def __array__(self, dtype=None, copy=None):
        array = backend.to_numpy(self.data)
        return array if dtype is None else array.astype(dtype)

    def __bool__(self):
        if self.size != 1:
            raise ValueError(f"the truth value of a tensor with {self.size} elements is "
                             "ambiguous; use .any() or .all() on .data")
        return bool(self.data)

    __hash__ = object.__hash__

    # ---- conversion -------------------------------------------------------------------
    def numpy(self):
        """The values as a NumPy array (copied from the GPU if needed)."""
        return backend.to_numpy(self.data)

    def item(self):
        if self.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.reshape(()).item()

    def tolist(self):
        return self.numpy().tolist()

    def detach(self):
        """The same values, cut from the graph (shares memory, like torch)."""
        return Tensor(self.data)

    def to(self, device):
        """A copy on `device` ('cpu' or 'cuda'); differentiable, like any other op."""
        if backend.check_device(device) == self.device:
            return self
        return _elementwise.ToDevice(device)(self)

    def astype(self, dtype):
        if np.dtype(dtype) == self.dtype:
            return self
        return _elementwise.Cast(dtype)(self)

    # ---- autograd ---------------------------------------------------------------------
    def backward(self, grad=None, retain_graph=False, create_graph=False):
        """Accumulate the gradient of this tensor into the .grad of every leaf."""
        autograd.backward(self, grad, retain_graph, create_graph)

    def zero_grad(self, set_to_none=True):
        """Forget the gradient (set_to_none=True, the default) or zero it in place."""
        if set_to_none or self.grad is None:
            self.grad = None
        elif self.grad.creator is not None:  # a gradient with a graph (create_graph=True)
            self.grad = Tensor(self.grad.xp.zeros_like(self.grad.data))
        else:
            self.grad.data[...] = 0
            self.grad._version += 1

    # ---- arithmetic (the ops live in engine/ops; these are the spellings) -------------
    def _operand(self, other, op, reverse=False):
        """`other` as a Tensor next to this one, or a TypeError naming the op."""
        if isinstance(other, Tensor):
            return other
        if type(other) in (float, int):  # the common case, decided without is_operand
            return Tensor(as_array_like(other, self.data))
        if not is_operand(other):
            pair = (f"{type(other).__name__} and Tensor" if reverse
                    else f"Tensor and {type(other).__name__}")
            raise TypeError(f"unsupported operand for {op}: {pair}; expected a Tensor, a "
                            "number or an array")
        return as_tensor(other, like=self, name=op)

    def _binary(self, fn, other, reverse=False, op="op"):
        if not isinstance(other, Tensor):
            other = self._operand(other, op, reverse)
        a, b = (other, self) if reverse else (self, other)
        return fn()(*promote(a, b))

    def __add__(self, other):
        return self._binary(_elementwise.Add, other, op="add")

    def __radd__(self, other):
        return self._binary(_elementwise.Add, other, reverse=True, op="add")

    def __sub__(self, other):
        return self._binary(_elementwise.Sub, other, op="subtract")

    def __rsub__(self, other):
        return self._binary(_elementwise.Sub, other, reverse=True, op="subtract")

    def __mul__(self, other):
        return self._binary(_elementwise.Mul, other, op="multiply")

    def __rmul__(self, other):
        return self._binary(_elementwise.Mul, other, reverse=True, op="multiply")

    def _divide(self, other, reverse):
        """True division; integers and booleans divide in the default float dtype (torch)."""
        other = self._operand(other, "divide", reverse)
        a, b = (other, self) if reverse else (self, other)
        if a.dtype.kind in "biu" and b.dtype.kind in "biu":
            a, b = Tensor(a.data.astype(DEFAULT_FLOAT)), Tensor(b.data.astype(DEFAULT_FLOAT))
        return _elementwise.Div()(*promote(a, b))

    def __truediv__(self, other):
        return self._divide(other, reverse=False)

    def __rtruediv__(self, other):
        return self._divide(other, reverse=True)

    def __pow__(self, other):
        return self._binary(_elementwise.Pow, other, op="power")

    def __rpow__(self, other):
        return self._binary(_elementwise.Pow, other, reverse=True, op="power")

    def __matmul__(self, other):
        return _linalg.matmul(*promote(self, self._operand(other, "matmul")))

    def __rmatmul__(self, other):
        return _linalg.matmul(*promote(self._operand(other, "matmul", reverse=True), self))

    def __neg__(self):
        return _elementwise.Neg()(self)

    def __pos__(self):
        return self

    # Comparisons give boolean Tensors without a graph: they are not differentiable.
    def _compare(self, other, op, symbol):
        if not is_operand(other):
            if symbol in ("==", "!="):
                return NotImplemented  # Python then compares identities: t == None is False
            raise TypeError(f"unsupported operand for comparison {symbol}: Tensor and "
                            f"{type(other).__name__}; expected a Tensor, a number or an array")
        b = other.data if isinstance(other, Tensor) else as_array_like(other, self.data, symbol)
        _elementwise.check_broadcast(f"comparison {symbol}", self.data, b)
        return Tensor(op(self.data, b))

    def __lt__(self, other):
        return self._compare(other, operator.lt, "<")

    def __le__(self, other):
        return self._compare(other, operator.le, "<=")

    def __gt__(self, other):
        return self._compare(other, operator.gt, ">")

    def __ge__(self, other):
        return self._compare(other, operator.ge, ">=")

    def __eq__(self, other):
        return self._compare(other, operator.eq, "==")

    def __ne__(self, other):
        return self._compare(other, operator.ne, "!=")

    # ---- in-place ops (torch's semantics, with a version counter) ------------------------
    #
    # Under no_grad, or when nothing involved requires grad, an in-place op writes into
    # .data and bumps ._version. While recording, the new value is computed out of place
    # and the tensor is "rebased" onto it: this object takes the new value and the new
    # creator, and the old value moves into a fresh Tensor that the graph keeps. Every
    # Function records its inputs' versions, so a backward that would read a value that
    # was changed since raises GraphError instead of using it.

    def _in_place(self, name, compute, write, operands=()):
        """compute(old) -> the new value out of place (recorded); write(array) updates the
        array in place (no graph). Returns self."""
        recording = is_grad_enabled() and (
            self.requires_grad or any(t.requires_grad for t in operands))
        if not recording:
            if not getattr(self.data.flags, "writeable", True):
                raise GraphError(f"{name}: this tensor's memory is read-only (a broadcast view, "
                                 "from expand or broadcast_to); take a .clone() first")
            write(self.data)
            self._version += 1
            return self
        if self.requires_grad and self.creator is None:
            raise GraphError(f"{name}: a leaf tensor that requires grad is used in an in-place "
                             "operation; wrap the update in `with sg.no_grad():` (or update "
                             "its .data)")
        old = Tensor.__new__(Tensor)
        old.__dict__.update(self.__dict__)
        out = compute(old)
        if out.shape != self.shape:
            raise ShapeError(f"{name}: the result has shape {out.shape}, but an in-place op "
                             f"keeps the tensor's shape {self.shape}")
        if out.dtype != self.dtype:
            self._check_can_store(name, out.dtype)
            out = out.astype(self.dtype)
        creator = self.creator
        if creator is not None and not creator.freed:
            creator._output = weakref.ref(old)  # the old node's output keeps the old value
        self.data, self.creator, self.requires_grad = out.data, out.creator, out.requires_grad
        self._version += 1
        if out.creator is not None:
            out.creator._output = weakref.ref(self)
            out.creator.output_version = self._version
        return self

    def _check_can_store(self, name, result_dtype):
        if not np.can_cast(result_dtype, self.dtype, casting="same_kind"):
            raise TypeError(f"{name}: the result has dtype {np.dtype(result_dtype)}, which "
                            f"cannot be stored in place in this tensor of dtype {self.dtype}; "
                            "use the out-of-place op or cast the tensor first")

    def _ufunc_in_place(self, name, ufunc, a, *args):
        """xp.<ufunc>(a, *args, out=a): NumPy checks the cast before writing anything."""
        try:
            getattr(backend.array_module(a), ufunc)(a, *args, out=a, casting="same_kind")
        except TypeError as exc:
            self._check_can_store(name, getattr(exc, "from_", None) or np.float64)
            raise

    def _arithmetic_(self, name, fn, ufunc, other):
        other = self._operand(other, name)

        def write(a):
            b = other.data
            shape = _elementwise.check_broadcast(name, a, b)
            if tuple(shape) != a.shape:
                raise ShapeError(f"{name}: an operand of shape {tuple(b.shape)} would make the "
                                 f"result shape {tuple(shape)}, but an in-place op keeps the "
                                 f"tensor's shape {a.shape}")
            self._ufunc_in_place(name, ufunc, a, b)

        return self._in_place(name, lambda old: fn()(old, other), write, (other,))

    def add_(self, other, alpha=1):
        """self += alpha * other, in place."""
        if alpha != 1:
            other = self._operand(other, "add_") * alpha
        return self._arithmetic_("add_", _elementwise.Add, "add", other)

    def sub_(self, other, alpha=1):
        """self -= alpha * other, in place."""
        if alpha != 1:
            other = self._operand(other, "sub_") * alpha
        return self._arithmetic_("sub_", _elementwise.Sub, "subtract", other)

    def mul_(self, other):
        return self._arithmetic_("mul_", _elementwise.Mul, "multiply", other)

    def div_(self, other):
        return self._arithmetic_("div_", _elementwise.Div, "true_divide", other)

    def __iadd__(self, other):
        return self._arithmetic_("add_ (+=)", _elementwise.Add, "add", other)

    def __isub__(self, other):
        return self._arithmetic_("sub_ (-=)", _elementwise.Sub, "subtract", other)

    def __imul__(self, other):
        return self._arithmetic_("mul_ (*=)", _elementwise.Mul, "multiply", other)

    def __itruediv__(self, other):
        return self._arithmetic_("div_ (/=)", _elementwise.Div, "true_divide", other)

    def clamp_(self, min=None, max=None):
        """Clamp to [min, max] in place (the gradient passes where min <= x <= max)."""
        for bound in (min, max):
            if bound is not None and not isinstance(bound, (numbers.Real, np.generic)):
                raise TypeError(f"clamp_: min and max must be numbers or None, got "
                                f"{describe(bound)}")
        if min is None and max is None:
            raise ValueError("clamp_: give at least one of min and max")

        def write(a):
            self._ufunc_in_place("clamp_", "clip", a, min, max)

        return self._in_place("clamp_", lambda old: _elementwise.Clip(min, max)(old), write)

    clip_ = clamp_

    def __setitem__(self, index, value):
        """x[index] = value (broadcast to x[index]). Differentiable while recording: the
        gradient to x is g with x[index] zeroed, to value g[index] summed to its shape."""
        self._assign("setitem", index, value)

    def _assign(self, name, index, value):
        if not isinstance(value, Tensor):
            if not is_operand(value):
                raise TypeError(f"{name}: cannot assign {describe(value)} to a tensor; expected "
                                "a Tensor, a number or an array")
            value = as_tensor(value, like=self, name=name)

        _check_index(name, index)

        def write(a):
            raw = _shape._index_on_device(_shape._raw_index(index), a)
            try:
                a[raw] = backend.to_device(value.data, backend.device_of(a))
            except IndexError as exc:
                raise IndexOutOfRangeError(f"{name}: indexing a tensor of shape {a.shape}: "
                                           f"{exc}") from None
            except ValueError as exc:
                raise ShapeError(f"{name}: cannot assign a value of shape {value.shape} to "
                                 f"a tensor of shape {a.shape} at {index!r}: {exc}") from None

        return self._in_place(name, lambda old: _inplace.SetItem(index)(old, value), write,
                              (value,))

    def fill_(self, value):
        """Every element becomes `value` (a number or a one-element tensor), in place."""
        if isinstance(value, Tensor) and value.size != 1:
            raise ShapeError(f"fill_: the value must be a number or a one-element tensor, "
                             f"got shape {value.shape}")
        if not isinstance(value, (Tensor, numbers.Number, np.generic)):
            raise TypeError(f"fill_: the value must be a number or a one-element tensor, "
                            f"got {describe(value)}")
        if isinstance(value, Tensor):
            value = value.reshape(())
        return self._assign("fill_", Ellipsis, value)

    def zero_(self):
        """Every element becomes 0, in place."""
        return self._assign("zero_", Ellipsis, 0)

    def copy_(self, src):
        """Copy `src` (broadcast to this shape, cast to this dtype) into this tensor."""
        if not isinstance(src, Tensor):
            if not is_operand(src):
                raise TypeError(f"copy_: cannot copy from {describe(src)}; expected a Tensor "
                                "or an array")
            src = as_tensor(src, name="copy_")
        try:
            broadcast = np.broadcast_shapes(self.shape, src.shape)
        except ValueError:
            broadcast = None
        if broadcast != self.shape:
            raise ShapeError(f"copy_: the source of shape {src.shape} does not broadcast to "
                             f"this tensor's shape {self.shape}")
        if src.dtype != self.dtype:
            src = src.astype(self.dtype)
        return self._assign("copy_", Ellipsis, src)

    def __getitem__(self, index):
        _check_index("getitem", index)
        return _shape.GetItem(index)(self)

    # ---- methods with NumPy's names ---------------------------------------------------
    @torch_names
    def sum(self, axis=None, keepdims=False, dtype=None):
        return _reduce.Sum(axis, keepdims, dtype)(self)

    @torch_names
    def mean(self, axis=None, keepdims=False, dtype=None):
        """sum / count; booleans and integers average in the default float dtype."""
        return _reduce.mean(self, axis, keepdims, dtype)

    @torch_names
    def var(self, axis=None, keepdims=False, ddof=None, correction=None, unbiased=None):
        """Variance with NumPy's default ddof=0 (torch's default is correction=1)."""
        return _reduce.var(self, axis, keepdims, ddof, correction, unbiased)

    @torch_names
    def max(self, axis=None, keepdims=False):
        """The maximum values (NumPy's max; torch's x.max(dim) also returns indices: use
        x.amax(dim) and x.argmax(dim))."""
        return _reduce.Max(axis, keepdims)(self)

    @torch_names
    def min(self, axis=None, keepdims=False):
        return _reduce.Min(axis, keepdims)(self)

    @torch_names
    def logsumexp(self, axis=None, keepdims=False):
        return _reduce.logsumexp(self, axis, keepdims)

    @torch_names
    def argmax(self, axis=None, keepdims=False):
        """Indices of the maxima: an int64 Tensor (not differentiable)."""
        return _reduce.argmax(self, axis, keepdims)

    def exp(self):
        return _elementwise.Exp()(self)

    def log(self):
        return _elementwise.Log()(self)

    def sqrt(self):
        return _elementwise.Sqrt()(self)

    def tanh(self):
        return _elementwise.Tanh()(self)

    def sigmoid(self):
        return _elementwise.Sigmoid()(self)

    def abs(self):
        return _elementwise.Abs()(self)

    def clip(self, min=None, max=None):
        return _elementwise.Clip(min, max)(self)

    def reshape(self, *shape):
        return _shape.Reshape(_check_ints("reshape", _shape_arg(shape)))(self)

    def transpose(self, *axes):
        return _shape.Transpose(_shape_arg(axes) or None)(self)

    @torch_names
    def squeeze(self, axis=None):
        return _shape.squeeze(self, axis)

    @torch_names
    def unsqueeze(self, axis):
        return _shape.unsqueeze(self, axis)

    def broadcast_to(self, *shape):
        return _shape.BroadcastTo(_shape_arg(shape))(self)

    def flatten(self, start_axis=0, end_axis=-1, **torch_spelling):
        """Merge axes start..end into one (torch's start_dim= and end_dim= are accepted)."""
        if torch_spelling:
            given = dict(torch_spelling)
            if start_axis != 0:
                given["start_axis"] = start_axis
            if end_axis != -1:
                given["end_axis"] = end_axis
            names = rename("flatten", given, {"start_dim": "start_axis", "end_dim": "end_axis"})
            unknown = set(names) - {"start_axis", "end_axis"}
            if unknown:
                raise TypeError(f"flatten: unexpected argument {sorted(unknown)[0]}=")
            start_axis, end_axis = names.get("start_axis", 0), names.get("end_axis", -1)
        return _shape.flatten(self, start_axis, end_axis)

    # ---- issue 9 section CORE (methods added by that part of the work) ----
    # PyTorch's spellings (the dtype casts float() ... bool() are at the end of the class:
    # as class attributes they would hide the builtins from the class body below them)
    def numel(self):
        """The number of elements (torch's name for .size)."""
        return int(self.data.size)

    def dim(self):
        """The number of axes (torch's name for .ndim)."""
        return self.data.ndim

    def element_size(self):
        """Bytes per element."""
        return int(self.data.itemsize)

    def is_floating_point(self):
        return self.data.dtype.kind == "f"

    @property
    def grad_fn(self):
        """The Function that made this tensor (None for a leaf); its repr is <MulBackward>."""
        return self.creator

    def view(self, *shape):
        """torch's name for reshape (one size may be -1)."""
        return self.reshape(*shape)

    def view_as(self, other):
        return self.reshape(other.shape)

    def permute(self, *dims):
        """Reorder the axes: the result's axis i is this tensor's axis dims[i]."""
        dims = _check_ints("permute", _shape_arg(dims), "dims")
        if len(dims) != self.ndim:
            raise ShapeError(f"permute: got {len(dims)} dims {dims} for a tensor with "
                             f"{self.ndim} dimensions; give one per dimension")
        return _shape.Transpose(dims)(self)

    def expand(self, *sizes):
        """Broadcast to `sizes` without copying; -1 keeps a size, new axes go in front."""
        sizes = _check_ints("expand", _shape_arg(sizes), "sizes")
        lead = len(sizes) - self.ndim
        if lead < 0:
            raise ShapeError(f"expand: {len(sizes)} sizes {sizes} for a tensor with {self.ndim} "
                             "dimensions; give at least one size per dimension")
        target = []
        for i, n in enumerate(sizes):
            if n == -1:
                if i < lead:
                    raise ShapeError(f"expand: size -1 is not allowed for the new leading "
                                     f"dimension {i} (sizes {sizes})")
                n = self.shape[i - lead]
            target.append(n)
        return _shape.BroadcastTo(tuple(target))(self)

    def expand_as(self, other):
        return self.expand(other.shape)

    def clone(self):
        """A copy with its own memory; differentiable (the gradient passes unchanged)."""
        return _inplace.Clone()(self)

    def contiguous(self):
        """This tensor if its memory is C-contiguous, else a contiguous (differentiable) copy."""
        return self if self.data.flags.c_contiguous else _inplace.Clone()(self)

    def type_as(self, other):
        """This tensor cast to other's dtype."""
        return self.astype(other.dtype)

    def _scalar(self, what):
        if self.data.size != 1:
            raise ShapeError(f"{what}: only a tensor with one element can be converted to a "
                             f"Python scalar, got shape {self.shape}")
        return self.data.reshape(()).item()

    def __float__(self):
        return float(self._scalar("float()"))

    def __int__(self):
        return int(self._scalar("int()"))

    def __index__(self):
        if self.data.dtype.kind not in "iu":
            raise TypeError(f"only integer tensors of a single element can be used as an index, "
                            f"got dtype {self.dtype}")
        return int(self._scalar("__index__"))

    def new_zeros(self, *size, dtype=None, requires_grad=False):
        """zeros of `size` with this tensor's dtype (unless given) and device."""
        return _creation.zeros(*size, dtype=dtype or self.dtype, device=self.device,
                               requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, requires_grad=False):
        return _creation.ones(*size, dtype=dtype or self.dtype, device=self.device,
                              requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, requires_grad=False):
        return _creation.full(size, fill_value, dtype=dtype or self.dtype, device=self.device,
                              requires_grad=requires_grad)

    def new_tensor(self, data, dtype=None, requires_grad=False):
        return tensor(data, dtype=dtype or self.dtype, device=self.device,
                      requires_grad=requires_grad)
    # [end of section CORE]

    # ---- issue 9 section REDUCE (methods added by that part of the work) ----
    @torch_names
    def std(self, axis=None, keepdims=False, ddof=None, correction=None, unbiased=None):
        """Standard deviation with NumPy's default ddof=0 (torch's is correction=1)."""
        return _reduce.std(self, axis, keepdims, ddof, correction, unbiased)

    @torch_names
    def prod(self, axis=None, keepdims=False, dtype=None):
        return _reduce.prod(self, axis, keepdims, dtype)

    @torch_names
    def cumsum(self, axis=None, dtype=None):
        return _reduce.cumsum(self, axis, dtype)

    @torch_names
    def cumprod(self, axis=None, dtype=None):
        return _reduce.cumprod(self, axis, dtype)

    @torch_names
    def logcumsumexp(self, axis):
        return _reduce.logcumsumexp(self, axis)

    @torch_names
    def argmin(self, axis=None, keepdims=False):
        """Indices of the minima: an int64 Tensor (not differentiable)."""
        return _reduce.argmin(self, axis, keepdims)

    @torch_names
    def amax(self, axis=None, keepdims=False):
        return _reduce.amax(self, axis, keepdims)

    @torch_names
    def amin(self, axis=None, keepdims=False):
        return _reduce.amin(self, axis, keepdims)

    @torch_names
    def any(self, axis=None, keepdims=False):
        return _reduce.any_(self, axis, keepdims)

    @torch_names
    def all(self, axis=None, keepdims=False):
        return _reduce.all_(self, axis, keepdims)

    def sort(self, *args, **kwargs):
        """(values, indices) along the last axis by default (torch's x.sort(dim, descending))."""
        from .ops import select as _select  # (imported here: select builds on Tensor)
        return _select.sort(self, *args, **kwargs)

    def argsort(self, *args, **kwargs):
        from .ops import select as _select
        return _select.argsort(self, *args, **kwargs)

    def topk(self, *args, **kwargs):
        from .ops import select as _select
        return _select.topk(self, *args, **kwargs)

    def gather(self, *args, **kwargs):
        from .ops import select as _select
        return _select.gather(self, *args, **kwargs)

    def take_along_dim(self, indices, dim=None):
        """torch's name for take_along_axis (dim None: from the flattened tensor)."""
        from .ops import select as _select
        return _select.take_along_axis(self, indices, dim)

    def scatter(self, *args, **kwargs):
        from .ops import select as _select
        return _select.scatter(self, *args, **kwargs)

    def scatter_add(self, *args, **kwargs):
        from .ops import select as _select
        return _select.scatter_add(self, *args, **kwargs)

    def masked_fill(self, mask, value):
        from .ops import select as _select
        return _select.masked_fill(self, mask, value)

    def nonzero(self, as_tuple=False):
        from .ops import select as _select
        return _select.nonzero(self, as_tuple)
    # [end of section REDUCE]

    # ---- issue 9 section MATH (methods added by that part of the work) ----
    # elementwise math (engine/ops/elementwise.py); integer and boolean tensors are cast to
    # the default float dtype, except by the rounding ops, which keep them as they are
    def sin(self):
        return _elementwise.sin(self)

    def cos(self):
        return _elementwise.cos(self)

    def tan(self):
        return _elementwise.tan(self)

    def arcsin(self):
        return _elementwise.arcsin(self)

    def arccos(self):
        return _elementwise.arccos(self)

    def arctan(self):
        return _elementwise.arctan(self)

    def arctan2(self, other):
        return _elementwise.arctan2(self, other)

    def sinh(self):
        return _elementwise.sinh(self)

    def cosh(self):
        return _elementwise.cosh(self)

    def arcsinh(self):
        return _elementwise.arcsinh(self)

    def arccosh(self):
        return _elementwise.arccosh(self)

    def arctanh(self):
        return _elementwise.arctanh(self)

    # torch's names of the inverse functions
    asin, acos, atan, atan2 = arcsin, arccos, arctan, arctan2
    asinh, acosh, atanh = arcsinh, arccosh, arctanh

    def log2(self):
        return _elementwise.log2(self)

    def log10(self):
        return _elementwise.log10(self)

    def log1p(self):
        return _elementwise.log1p(self)

    def expm1(self):
        return _elementwise.expm1(self)

    def exp2(self):
        return _elementwise.exp2(self)

    def rsqrt(self):
        return _elementwise.rsqrt(self)

    def erf(self):
        return _elementwise.erf(self)

    def erfinv(self):
        return _elementwise.erfinv(self)

    def logaddexp(self, other):
        return _elementwise.logaddexp(self, other)

    def lerp(self, end, weight):
        """self + weight (end - self)."""
        return _elementwise.lerp(self, end, weight)

    # piecewise constant: the gradient is 0
    def sign(self):
        return _elementwise.sign(self)

    def floor(self):
        return _elementwise.floor(self)

    def ceil(self):
        return _elementwise.ceil(self)

    def trunc(self):
        return _elementwise.trunc(self)

    fix = trunc

    def round(self, decimals=0):
        return _elementwise.round(self, decimals)

    # boolean results (no graph)
    def isnan(self):
        return _elementwise.isnan(self)

    def isinf(self):
        return _elementwise.isinf(self)

    def isfinite(self):
        return _elementwise.isfinite(self)

    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return _elementwise.isclose(self, other, rtol, atol, equal_nan)

    # % and // (Python's floor rules); // is not differentiable
    def remainder(self, other):
        return _elementwise.remainder(self, other)

    def floor_divide(self, other):
        return _elementwise.floor_divide(self, other)

    def __mod__(self, other):
        return _elementwise.remainder(self, other)

    def __rmod__(self, other):
        return _elementwise.remainder(other, self)

    def __floordiv__(self, other):
        return _elementwise.floor_divide(self, other)

    def __rfloordiv__(self, other):
        return _elementwise.floor_divide(other, self)

    # bitwise ops on integer and boolean tensors, logical ops on any (no graph)
    def bitwise_and(self, other):
        return _elementwise.bitwise_and(self, other)

    def bitwise_or(self, other):
        return _elementwise.bitwise_or(self, other)

    def bitwise_xor(self, other):
        return _elementwise.bitwise_xor(self, other)

    def bitwise_not(self):
        return _elementwise.bitwise_not(self)

    def bitwise_left_shift(self, other):
        return _elementwise.bitwise_left_shift(self, other)

    def bitwise_right_shift(self, other):
        return _elementwise.bitwise_right_shift(self, other)

    def __and__(self, other):
        return _elementwise.bitwise_and(self, other)

    def __rand__(self, other):
        return _elementwise.bitwise_and(other, self)

    def __or__(self, other):
        return _elementwise.bitwise_or(self, other)

    def __ror__(self, other):
        return _elementwise.bitwise_or(other, self)

    def __xor__(self, other):
        return _elementwise.bitwise_xor(self, other)

    def __rxor__(self, other):
        return _elementwise.bitwise_xor(other, self)

    def __invert__(self):
        return _elementwise.bitwise_not(self)

    def __lshift__(self, other):
        return _elementwise.bitwise_left_shift(self, other)

    def __rlshift__(self, other):
        return _elementwise.bitwise_left_shift(other, self)

    def __rshift__(self, other):
        return _elementwise.bitwise_right_shift(self, other)

    def __rrshift__(self, other):
        return _elementwise.bitwise_right_shift(other, self)

    def logical_and(self, other):
        return _elementwise.logical_and(self, other)

    def logical_or(self, other):
        return _elementwise.logical_or(self, other)

    def logical_xor(self, other):
        return _elementwise.logical_xor(self, other)

    def logical_not(self):
        return _elementwise.logical_not(self)
    # [end of section MATH]

    # ---- issue 9 section SHAPE (methods added by that part of the work) ----
    def flip(self, *dims, **names):
        """Reverse the order along the axes given (torch's x.flip(0, 1); none = every axis)."""
        return _shape.flip(self, *([_shape_arg(dims)] if dims else []), **names)

    # torch's positional order is the functions' own (shifts, dims / offset, dim1, dim2 / ...)
    def roll(self, *args, **kwargs):
        return _shape.roll(self, *args, **kwargs)

    def tril(self, *args, **kwargs):
        return _shape.tril(self, *args, **kwargs)

    def triu(self, *args, **kwargs):
        return _shape.triu(self, *args, **kwargs)

    def diagonal(self, *args, **kwargs):
        return _shape.diagonal(self, *args, **kwargs)

    def repeat(self, *sizes):
        """torch's repeat: tile the whole tensor sizes[i] times along axis i."""
        return _shape.repeat(self, *sizes)

    def tile(self, *reps, **names):
        return _shape.tile(self, *([_shape_arg(reps)] if reps else []), **names)

    def repeat_interleave(self, *args, **kwargs):
        return _shape.repeat_interleave(self, *args, **kwargs)

    def split(self, *args, **kwargs):
        return _shape.split(self, *args, **kwargs)

    def chunk(self, *args, **kwargs):
        return _shape.chunk(self, *args, **kwargs)

    def swapaxes(self, axis1, axis2):
        return _shape.swapaxes(self, axis1, axis2)

    def outer(self, other):
        return _linalg.outer(self, other)

    def dot(self, other):
        return _linalg.dot(self, other)

    def inner(self, other):
        return _linalg.inner(self, other)

    def trace(self, offset=0, axis1=0, axis2=1):
        return _linalg.trace(self, offset, axis1, axis2)

    def mm(self, other):
        return _linalg.mm(self, other)

    def bmm(self, other):
        return _linalg.bmm(self, other)

    def mv(self, vec):
        return _linalg.mv(self, vec)

    # [end of section SHAPE]

    # ---- issue 9 section NNF (methods added by that part of the work) ----
    # [end of section NNF]

    # ---- dtype casts with torch's names (last: they hide the builtins float, int, bool) ----
    def float(self):
        """Cast to float32 (differentiable)."""
        return self.astype(np.float32)

    def double(self):
        """Cast to float64 (differentiable)."""
        return self.astype(np.float64)

    def half(self):
        """Cast to float16 (differentiable)."""
        return self.astype(np.float16)

    def long(self):
        """Cast to int64 (no gradient)."""
        return self.astype(np.int64)

    def int(self):
        """Cast to int32 (no gradient)."""
        return self.astype(np.int32)

    def bool(self):
        """Cast to bool (no gradient)."""
        return self.astype(np.bool_)


def _shape_arg(args):
    """Accept both t.reshape(2, 3) and t.reshape((2, 3))."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return tuple(args)


def _check_ints(name, values, what="shape"):
    """A tuple of ints (NumPy's integers too, never bools or floats), or a TypeError."""
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise TypeError(f"{name}: {what} must be ints, got {tuple(values)} (element {i} is "
                            f"{describe(v)})")
    return tuple(int(v) for v in values)


def _check_index(name, index):
    """Refuse what NumPy would answer with its own text: steps of 0, float or string indices."""
    for item in index if isinstance(index, tuple) else (index,):
        if isinstance(item, slice):
            for part in (item.start, item.stop, item.step):
                if part is not None and (isinstance(part, bool) or not isinstance(
                        part, (numbers.Integral, Tensor))):
                    raise TypeError(f"{name}: slice {item} must have int bounds and step, got "
                                    f"{describe(part)}")
            if item.step is not None and int(item.step) == 0:
                raise ShapeError(f"{name}: slice {item} has step 0; a step must be non-zero")
        elif isinstance(item, (Tensor, np.ndarray)):
            if item.dtype.kind not in "biu":
                raise TypeError(f"{name}: an index tensor or array must hold integers or "
                                f"booleans, got dtype {item.dtype}")
        elif not (item is None or item is Ellipsis or isinstance(item, (numbers.Integral, list))
                  or backend.array_module(item) is not np):
            raise TypeError(f"{name}: an index must be an int, a slice, None, ..., a list or an "
                            f"integer or boolean tensor, got {describe(item)}")


def tensor(data, requires_grad=False, dtype=None, device=None):
    """Create a leaf tensor (a copy of `data`).

    Arrays keep their dtype (float64 stays float64, int32 stays int32). Python data
    follows torch: floats become float32, ints int64 and bools bool, unless `dtype` says
    otherwise. Strings, None, objects and ragged lists are refused with a clear error.
    """
    array = as_array(data, dtype=dtype)
    device = backend.check_device(device) if device is not None else backend.device_of(array)
    array = backend.to_device(array, device)
    xp = backend.array_module(array)
    return Tensor(xp.array(array, copy=True), requires_grad=requires_grad)


__all__ = ["Tensor", "tensor", "as_tensor", "is_grad_enabled", "GraphError"]


# The ops are imported last: they build on Tensor (a cycle resolved at call time).
from .ops import elementwise as _elementwise  # noqa: E402
from .ops import linalg as _linalg  # noqa: E402
from .ops import reduce as _reduce  # noqa: E402
from .ops import shape as _shape  # noqa: E402
from .ops import inplace as _inplace  # noqa: E402
from . import creation as _creation  # noqa: E402
