"""Lookup and random masking."""
from ..engine import backend, random
from ..engine.tensor import Tensor
from ..errors import ShapeError


def embedding(indices, weight):
    """Row lookup: weight[indices]; rows picked twice get both gradients (they add)."""
    idx = indices.data if isinstance(indices, Tensor) else backend.array_module(
        weight.data).asarray(indices)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers, got dtype {idx.dtype}")
    if weight.ndim != 2:
        raise ShapeError(f"embedding: weight must be (num_embeddings, dim), got {weight.shape}")
    if idx.size and (idx.min() < 0 or idx.max() >= weight.shape[0]):
        raise ValueError(f"embedding: indices must lie in [0, {weight.shape[0]}), got values in "
                         f"[{int(idx.min())}, {int(idx.max())}]")
    return weight[idx]


def dropout(x, p=0.5, training=True):
    """Zero each element with probability p and scale the rest by 1 / (1 - p) (inverted
    dropout, Srivastava et al. 2014), so the expected value is unchanged."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0:
        return x
    if p == 1:
        return x * 0
    keep = random.generator().random(x.shape) >= p
    mask = backend.to_device((keep / (1 - p)).astype(x.dtype), x.device)
    return x * mask
