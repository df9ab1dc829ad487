"""Gradient clipping by global norm (Pascanu et al., 2013), as torch.nn.utils.clip_grad_norm_."""
import math

import numpy as np

from ..engine import backend
from ..engine.tensor import Tensor


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale every gradient in place so that their joint norm is at most max_norm.

        total = || (||g_1||_p, ||g_2||_p, ...) ||_p   the p-norm of all gradients as one vector
        g_i  <- g_i * max_norm / (total + 1e-6)       only when that factor is < 1

    Returns `total` (before clipping) as a float. Parameters without a gradient are skipped.
    """
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    grads = [p.grad.data for p in params if p.grad is not None]
    if not grads:
        return 0.0
    norm_type = float(norm_type)
    norms = [float(backend.array_module(g).linalg.norm(g.ravel(), norm_type)) for g in grads]
    total = float(np.linalg.norm(np.array(norms), norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"the total norm of order {norm_type} of the gradients is {total}; "
                           "set error_if_nonfinite=False to clip anyway")
    clip_coef = max_norm / (total + 1e-6)
    if clip_coef < 1:
        for g in grads:
            g *= clip_coef
    return total
