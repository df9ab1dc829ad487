"""Matrix product. For C = A @ B:   dL/dA = dL/dC @ B^T,   dL/dB = A^T @ dL/dC
(batch axes broadcast like NumPy; the engine sums the gradient over broadcast batches).

einsum generalises it: the gradient of one operand is the einsum of the output's gradient
with the other operands, written back to that operand's subscripts."""
import string

import numpy as np

from ...errors import ShapeError
from .. import backend
from ..dispatch import call
from ..function import Function
from .shape import _as_tensor, diagonal, flatten, squeeze, swapaxes, unsqueeze


class MatMul(Function):
    def forward(self, a, b):
        return call("matmul", a, b)

    def backward(self, g):
        a, b = self.inputs
        ga = g @ swapaxes(b, -1, -2) if self.needs_input_grad[0] else None  # (.., M, K)
        gb = swapaxes(a, -1, -2) @ g if self.needs_input_grad[1] else None  # (.., K, N)
        return ga, gb


def matmul(a, b):
    """a @ b with NumPy's rules: 1-D operands are promoted to matrices and squeezed back."""
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"matmul: operands must have at least one dimension, got shapes "
                         f"{a.shape} @ {b.shape} (use * for scalars)")
    if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
        raise ShapeError(f"matmul: shapes {a.shape} @ {b.shape} do not fit: the last dimension "
                         f"of the left ({a.shape[-1]}) must equal the "
                         f"{'second-to-last' if b.ndim > 1 else 'only'} dimension of the right "
                         f"({b.shape[-2 if b.ndim > 1 else 0]})")
    a2 = unsqueeze(a, 0) if a.ndim == 1 else a   # (K,) -> (1, K)
    b2 = unsqueeze(b, -1) if b.ndim == 1 else b  # (K,) -> (K, 1)
    try:
        np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    except ValueError:
        raise ShapeError(f"matmul: batch dimensions of {a.shape} @ {b.shape} cannot be "
                             "broadcast together") from None
    out = MatMul()(a2, b2)
    if a.ndim == 1:
        out = squeeze(out, -2)
    if b.ndim == 1:
        out = squeeze(out, -1)
    return out


# ---- issue 9: einsum and the small products built on it -----------------------------------

LETTERS = string.ascii_letters  # the labels np.einsum accepts


def _parse_einsum(subscripts, shapes):
    """'...ij,jk->...ik' and the operand shapes -> (one label string per operand, the output
    labels), with '...' replaced by labels of its own and the implicit output made explicit
    (the ellipsis axes, then the labels used once, in alphabetical order, as NumPy and torch)."""
    if not isinstance(subscripts, str):
        raise ShapeError(f"einsum: subscripts must be a string like 'ij,jk->ik', got "
                         f"{subscripts!r} ({type(subscripts).__name__})")
    spec = subscripts.replace(" ", "")
    if spec.count("->") > 1:
        raise ShapeError(f"einsum: subscripts {subscripts!r} have more than one '->'")
    lhs, arrow, rhs = spec.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ShapeError(f"einsum: subscripts {subscripts!r} name {len(terms)} operand(s), but "
                         f"{len(shapes)} were given")
    for term in terms + [rhs]:
        if term.replace("...", "").strip(LETTERS) or term.count("...") > 1:
            raise ShapeError(f"einsum: subscripts {subscripts!r}: each term must be letters "
                             "a-z, A-Z with at most one '...'")
    ellipsis_dims = []
    for i, (term, shape) in enumerate(zip(terms, shapes)):
        named = len(term.replace("...", ""))
        extra = len(shape) - named
        if extra < 0 or (extra and "..." not in term):
            raise ShapeError(f"einsum: operand {i} has shape {tuple(shape)} ({len(shape)} "
                             f"dimensions), but its subscripts {term!r} name {named}")
        ellipsis_dims.append(extra if "..." in term else 0)
    spare = [c for c in LETTERS if c not in spec]
    n_ellipsis = max(ellipsis_dims, default=0)
    if n_ellipsis > len(spare):
        raise ShapeError("einsum: too many dimensions for the 52 labels a-z, A-Z")
    ell = "".join(spare[:n_ellipsis])
    inputs = tuple(term.replace("...", ell[n_ellipsis - k:]) for term, k in
                   zip(terms, ellipsis_dims))
    if arrow:
        output = rhs.replace("...", ell)  # without '...' the ellipsis axes are summed (torch)
        for c in rhs.replace("...", ""):
            if rhs.count(c) > 1 or c not in lhs:
                raise ShapeError(f"einsum: output label {c!r} of {subscripts!r} must appear "
                                 "once in the output and in some operand")
    else:
        labels = "".join(terms).replace("...", "")
        output = ell + "".join(sorted(c for c in set(labels) if labels.count(c) == 1))
    sizes = {}
    for i, (term, shape) in enumerate(zip(inputs, shapes)):
        for c, n in zip(term, shape):
            if term.count(c) > 1 and n != shape[term.index(c)]:
                raise ShapeError(f"einsum: operand {i} of shape {tuple(shape)} repeats label "
                                 f"{c!r} over axes of different sizes")
            if n != 1 and sizes.get(c, 1) not in (1, n):
                raise ShapeError(f"einsum {subscripts!r}: label {c!r} has size {sizes[c]} in one "
                                 f"operand and {n} in another (shapes "
                                 f"{', '.join(str(tuple(s)) for s in shapes)})")
            sizes[c] = n if n != 1 else sizes.get(c, 1)
    return inputs, output


class Einsum(Function):
    """out[output labels] = sum over the other labels of prod_k operand_k[its labels].

    The gradient of operand k is the einsum of the output's gradient with the other operands,
    onto operand k's labels; a label only operand k has was summed away, so the gradient is
    constant (broadcast) along it; a label repeated in operand k (a diagonal, a trace) takes the
    gradient only on the diagonal (a product with identity matrices)."""

    def __init__(self, inputs, output):
        self.labels, self.out_labels = tuple(inputs), output

    def forward(self, *arrays):
        spec = ",".join(self.labels) + "->" + self.out_labels
        return backend.array_module(*arrays).einsum(spec, *arrays, optimize=len(arrays) > 2)

    def backward(self, g):
        return tuple(self._grad(k, g) if need else None
                     for k, need in enumerate(self.needs_input_grad))

    def _grad(self, k, g):
        from ..tensor import Tensor

        own, shape = self.labels[k], self.inputs[k].shape
        others = [j for j in range(len(self.labels)) if j != k]
        labels = (self.out_labels,) + tuple(self.labels[j] for j in others)
        seen = "".join(labels)
        unique = "".join(dict.fromkeys(own))
        kept = "".join(c for c in unique if c in seen)
        grad = Einsum(labels, kept)(g, *[self.inputs[j] for j in others])
        size = dict(zip(own, shape))
        size.update(zip(kept, grad.shape))
        if kept != unique:  # labels summed in this operand alone: broadcast along them
            grad = grad.reshape(tuple(size[c] if c in kept else 1 for c in unique))
            grad = grad.broadcast_to(tuple(size[c] for c in unique))
        if unique != own:  # repeated labels: g on the diagonal, zeros off it
            spare = iter(c for c in LETTERS if c not in seen + own)
            positions, eyes, first = [], [], set()
            for c in own:
                if c in first:
                    fresh = next(spare)
                    positions.append(fresh)
                    eyes.append((c + fresh, size[c]))
                else:
                    first.add(c)
                    positions.append(c)
            xp = backend.array_module(g.data)
            identities = [Tensor(xp.eye(n, dtype=grad.dtype)) for _, n in eyes]
            grad = Einsum((unique,) + tuple(e for e, _ in eyes), "".join(positions))(
                grad, *identities)
        return grad


def einsum(subscripts, *operands):
    """Einstein summation, as numpy.einsum and torch.einsum: 'ij,jk->ik' is a matmul, 'ii' a
    trace, 'ii->i' a diagonal, '...ij->...ji' a batched transpose. Operands may also be given
    as one list (torch's einsum(eq, [a, b]))."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    operands = [_as_tensor(t) for t in operands]
    inputs, output = _parse_einsum(subscripts, [t.shape for t in operands])
    return Einsum(inputs, output)(*operands)


def outer(a, b):
    """out[i, j] = a[i] * b[j] (inputs are flattened first, like numpy.outer)."""
    a, b = flatten(_as_tensor(a)), flatten(_as_tensor(b))
    return einsum("i,j->ij", a, b)


def _check_ndim(name, t, ndims, what):
    if t.ndim not in ndims:
        raise ShapeError(f"{name}: {what} must have {' or '.join(map(str, ndims))} "
                         f"dimension(s), got shape {t.shape}")


def dot(a, b):
    """numpy.dot: a product of scalars, the inner product of vectors, a matrix product, and
    in general the sum over the last axis of a and the second-to-last of b."""
    a, b = _as_tensor(a), _as_tensor(b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
        raise ShapeError(f"dot: shapes {a.shape} and {b.shape} do not fit: the last axis of the "
                         f"first ({a.shape[-1]}) must equal the "
                         f"{'second-to-last' if b.ndim > 1 else 'only'} axis of the second "
                         f"({b.shape[-2 if b.ndim > 1 else 0]})")
    la = LETTERS[:a.ndim - 1]  # a's free axes; "Z" labels the contracted axis
    lb = LETTERS[a.ndim - 1:a.ndim + b.ndim - 2]  # b's free axes
    b_labels = lb[:-1] + "Z" + lb[-1:] if b.ndim > 1 else "Z"
    return einsum(f"{la}Z,{b_labels}->{la}{lb}", a, b)


def inner(a, b):
    """Sum over the last axes: out[i.., j..] = sum_k a[i.., k] b[j.., k] (scalars multiply)."""
    a, b = _as_tensor(a), _as_tensor(b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.shape[-1] != b.shape[-1]:
        raise ShapeError(f"inner: the last axes of {a.shape} and {b.shape} must have the same "
                         "size")
    la, lb = LETTERS[:a.ndim - 1], LETTERS[a.ndim - 1:a.ndim + b.ndim - 2]
    return einsum(f"{la}Z,{lb}Z->{la}{lb}", a, b)


def trace(x, offset=0, axis1=0, axis2=1):
    """Sum of the diagonal `offset` over axes (axis1, axis2) (numpy.trace; torch.trace is the
    2-D case)."""
    return diagonal(x, offset, axis1, axis2).sum(axis=-1)


def mm(a, b):
    """torch.mm: (n, k) @ (k, m), matrices only."""
    a, b = _as_tensor(a), _as_tensor(b)
    _check_ndim("mm", a, (2,), "the first operand")
    _check_ndim("mm", b, (2,), "the second operand")
    return matmul(a, b)


def bmm(a, b):
    """torch.bmm: (B, n, k) @ (B, k, m), one batch axis of equal size, no broadcasting."""
    a, b = _as_tensor(a), _as_tensor(b)
    _check_ndim("bmm", a, (3,), "the first operand")
    _check_ndim("bmm", b, (3,), "the second operand")
    if a.shape[0] != b.shape[0]:
        raise ShapeError(f"bmm: batch sizes of {a.shape} and {b.shape} must be equal")
    return matmul(a, b)


def mv(a, v):
    """torch.mv: (n, k) @ (k,)."""
    a, v = _as_tensor(a), _as_tensor(v)
    _check_ndim("mv", a, (2,), "the matrix")
    _check_ndim("mv", v, (1,), "the vector")
    return matmul(a, v)
