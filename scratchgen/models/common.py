"""Building blocks shared by several model families."""
import math

import numpy as np

from .. import nn, optim
from ..engine.tensor import Tensor
from ..metrics import SAMPLES_2D, mmd2_null_rms, mmd2_with_floor, mode_metrics
from .base import Picture


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


def sinusoidal_features_2d(x, dim, scale):
    """Fourier features of 2D points (Tancik et al. 2020): each coordinate, times `scale`, through
    `sinusoidal_embedding`, so frequencies run from `scale` down to scale / 10^4.

    A plain MLP on raw coordinates learns sharp functions slowly (spectral bias); modes of
    std 0.01 need slopes of ~100. With these features the first layer starts with them.
    x: (B, 2) array -> (B, 2 dim) Tensor."""
    return Tensor(np.concatenate([sinusoidal_embedding(x[:, i] * scale, dim).data
                                  for i in range(x.shape[1])], axis=1))


def cosine_decay(optimizers, steps):
    """A scheduler per optimizer that decays its learning rates along a cosine from lr to 0
    over the run's `steps` (SGDR, Loshchilov & Hutter 2017, eq. 5, one cycle):

        lr(s) = lr (1 + cos(pi s / steps)) / 2
    """
    return {name: optim.lr_scheduler.WarmupCosineLR(opt, warmup_steps=0, total_steps=steps)
            for name, opt in optimizers.items()}


def evaluate_2d(samples, dataset, rng, n=SAMPLES_2D):
    """Mode coverage, sample quality and MMD^2 (with its floor, and the floor's typical size
    mmd2_null_rms) of 2D samples."""
    metrics = {}
    if dataset.centres is not None:
        metrics.update(mode_metrics(samples, dataset.centres, dataset.std))
    mmd, floor = mmd2_with_floor(samples[:n], dataset, rng, n=n)
    metrics.update(mmd2=float(mmd), mmd2_floor=float(floor),
                   mmd2_null_rms=mmd2_null_rms(dataset, rng, n=n))
    return metrics


def samples_picture(samples, dataset, name, title):
    """samples.png of a model that draws 2D points or images: the points over the data, or
    the first 100 images in the data's range."""
    if dataset.kind == "image":
        return Picture(name, "images", samples[:100], title,
                       value_range=dataset.value_range())
    return Picture(name, "points", samples, title)
