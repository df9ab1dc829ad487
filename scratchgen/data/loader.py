"""Minibatches: shuffled epochs over arrays, and random (x, y) windows of a token stream for language models."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np


def batches(
    arrays: np.ndarray | Sequence[np.ndarray],
    batch_size: int,
    rng: np.random.Generator | None,
    shuffle: bool = True,
    drop_last: bool = True,
) -> Iterator:
    """One epoch of minibatches along axis 0.

    `arrays` is one array (yields arrays) or a tuple/list of arrays of equal length (yields tuples whose rows
    stay aligned, e.g. (images, labels)). With shuffle, the order is a fresh permutation from `rng`; without
    it, rng may be None. drop_last skips the final short batch, so every batch has exactly batch_size rows.
    """
    single = isinstance(arrays, np.ndarray)
    group = (arrays,) if single else tuple(np.asarray(a) for a in arrays)
    if not group:
        raise ValueError("batches() needs at least one array")
    n = len(group[0])
    if any(len(a) != n for a in group):
        raise ValueError(f"arrays must share their first dimension, got lengths {[len(a) for a in group]}")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if drop_last and n < batch_size:
        # Yielding nothing would make an epoch loop spin silently; better to say so.
        raise ValueError(f"drop_last with batch_size {batch_size} > {n} examples would yield no batches")
    if shuffle and rng is None:
        raise ValueError("shuffle=True needs an rng (numpy Generator)")

    order = rng.permutation(n) if shuffle else np.arange(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        rows = order[start : start + batch_size]
        picked = tuple(a[rows] for a in group)
        yield picked[0] if single else picked


def text_batches(
    tokens: np.ndarray, block_size: int, batch_size: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """A batch of random windows for next-token prediction, as nanoGPT's get_batch.

    x[b] = tokens[o_b : o_b + T] and y[b] = tokens[o_b + 1 : o_b + T + 1] for random offsets o_b, so y[b, t] is
    the token that follows x[b, t]. Returns x, y: (batch_size, block_size) int64.
    """
    tokens = np.asarray(tokens)
    if tokens.ndim != 1:
        raise ValueError(f"tokens must be a 1-D array of ids, got shape {tokens.shape}")
    if block_size < 1 or batch_size < 1:
        raise ValueError(f"block_size and batch_size must be positive, got {block_size} and {batch_size}")
    if len(tokens) < block_size + 1:
        raise ValueError(f"need at least block_size + 1 = {block_size + 1} tokens, got {len(tokens)}")
    offsets = rng.integers(0, len(tokens) - block_size, size=batch_size)  # (B,) last valid start is len - T - 1
    positions = offsets[:, None] + np.arange(block_size)[None, :]  # (B, T)
    x = tokens[positions].astype(np.int64)  # (B, T)
    y = tokens[positions + 1].astype(np.int64)  # (B, T)
    return x, y
