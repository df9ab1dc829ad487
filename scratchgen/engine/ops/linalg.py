"""Matrix product. For C = A @ B:   dL/dA = dL/dC @ B^T,   dL/dB = A^T @ dL/dC
(batch axes broadcast like NumPy; the engine sums the gradient over broadcast batches)."""
import numpy as np

from ...errors import ShapeError
from ..dispatch import call
from ..function import Function
from .shape import squeeze, swapaxes, unsqueeze


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
