"""Building blocks shared by several model families."""
import math

import numpy as np

from .. import nn
from ..engine.tensor import Tensor
from ..metrics import mmd2_with_floor, mode_metrics


def mlp(sizes, activation=nn.ReLU, final_activation=None):
    """Linear layers of the given widths with an activation between them."""
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(fan_in, fan_out))
        if i < len(sizes) - 2:
            layers.append(activation())
    if final_activation is not None:
        layers.append(final_activation())
    return nn.Sequential(*layers)


def sinusoidal_embedding(t, dim, max_period=10000.0):
    """Transformer-style embedding of (integer or real) times t (Vaswani et al. 2017, 3.5):

        emb(t)[i]         = sin(t / max_period^(i / half))     for i < half
        emb(t)[half + i]  = cos(t / max_period^(i / half))

    t: (B,) array -> (B, dim) Tensor (a constant: nothing to learn here)."""
    half = dim // 2
    frequencies = np.exp(-math.log(max_period) * np.arange(half) / half)  # (half,)
    angles = np.asarray(t, dtype=np.float64)[:, None] * frequencies[None, :]  # (B, half)
    emb = np.concatenate([np.sin(angles), np.cos(angles)], axis=1)
    if dim % 2:
        emb = np.concatenate([emb, np.zeros((len(emb), 1))], axis=1)
    return Tensor(emb.astype(np.float32))


def evaluate_2d(samples, dataset, rng, n=2500):
    """Mode coverage, sample quality and MMD^2 (with its floor) of 2D samples."""
    metrics = {}
    if dataset.centres is not None:
        metrics.update(mode_metrics(samples, dataset.centres, dataset.std))
    mmd, floor = mmd2_with_floor(samples[:n], dataset, rng, n=n)
    metrics.update(mmd2=float(mmd), mmd2_floor=float(floor))
    return metrics
