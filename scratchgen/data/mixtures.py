"""Two-dimensional toy distributions: Gaussian mixtures with known modes, and two curves without modes.

Each distribution is a small dataclass with `.sample(n, rng) -> (n, 2) float32`, where `rng` is a
`numpy.random.Generator`. The mixtures also carry `centres` (K, 2) float64 and `std`, which is what the mode
metrics (`scratchgen.metrics.mode_metrics`) need; the curves have `centres = None` and `std = None`.

Setups follow PacGAN's code (Lin et al. 2018; docs/results-2d.md):
    ring8   8 Gaussians on the unit circle, std 0.01
    grid25  25 Gaussians at {-4, -2, 0, 2, 4}^2, std 0.05
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Mixture2D:
    """An equal-weight mixture of isotropic 2D Gaussians N(centres[k], std^2 I)."""

    name: str
    centres: np.ndarray  # (K, 2) float64
    std: float

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        modes = rng.integers(len(self.centres), size=n)  # (n,) each mode with probability 1/K
        noise = rng.standard_normal((n, 2))  # (n, 2)
        return (self.centres[modes] + self.std * noise).astype(np.float32)  # (n, 2)


def ring8_centres() -> np.ndarray:
    # Angles 2*pi*i/8 for i = 0..7. linspace(0, 2*pi, 8) would put the last centre on top of the first and
    # leave only 7 distinct modes, a trap several public implementations fall into.
    angles = 2 * np.pi * np.arange(8) / 8  # (8,)
    return np.stack([np.cos(angles), np.sin(angles)], axis=1)  # (8, 2)


def grid25_centres() -> np.ndarray:
    coords = np.array([-4.0, -2.0, 0.0, 2.0, 4.0])
    xs, ys = np.meshgrid(coords, coords, indexing="ij")  # (5, 5) each
    return np.stack([xs.ravel(), ys.ravel()], axis=1)  # (25, 2)


RING8 = Mixture2D("ring8", ring8_centres(), std=0.01)
GRID25 = Mixture2D("grid25", grid25_centres(), std=0.05)


@dataclass(frozen=True)
class SwissRoll2D:
    """The 2D swiss roll: the (x, z) projection of scikit-learn's `make_swiss_roll`, scaled to about [-2, 2].

    On the curve, t ~ Uniform(1.5 pi, 4.5 pi) and the point is (t cos t, t sin t) / scale, as in
    `make_swiss_roll`; the height coordinate y of the 3D roll is dropped. Then isotropic Gaussian noise of
    standard deviation `noise` is added in the scaled units. scale = 7 maps the roll (radius up to 4.5 pi ~ 14.1)
    into about [-1.4, 1.8] x [-1.6, 2.0].
    """

    name: str = "swissroll"
    noise: float = 0.05
    scale: float = 7.0
    centres: None = None  # no modes: mode metrics do not apply
    std: None = None

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        t = 1.5 * np.pi * (1 + 2 * rng.random(n))  # (n,) angle, which is also the radius
        on_curve = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / self.scale  # (n, 2)
        return (on_curve + self.noise * rng.standard_normal((n, 2))).astype(np.float32)


@dataclass(frozen=True)
class Moons2D:
    """Two interleaving half circles, the curves of scikit-learn's `make_moons`, centred on the origin.

    Upper moon: (cos t, sin t); lower moon: (1 - cos t, 0.5 - sin t); t ~ Uniform(0, pi), moon chosen with
    probability 1/2. The pair is shifted by (-0.5, -0.25) so it is centred, giving about [-1.5, 1.5] x
    [-0.75, 0.75], then Gaussian noise of standard deviation `noise` is added.

    Why not call `make_moons` itself: it places points evenly along each moon (a linspace over t), so two
    "independent" draws share their positions, and an MMD floor between two such draws would be too low.
    Here t is drawn i.i.d. from the generator.
    """

    name: str = "moons"
    noise: float = 0.05
    centres: None = None
    std: None = None

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        t = np.pi * rng.random(n)  # (n,)
        lower = rng.random(n) < 0.5  # (n,) which moon
        upper_xy = np.stack([np.cos(t), np.sin(t)], axis=1)  # (n, 2)
        lower_xy = np.stack([1 - np.cos(t), 0.5 - np.sin(t)], axis=1)  # (n, 2)
        on_curve = np.where(lower[:, None], lower_xy, upper_xy) - np.array([0.5, 0.25])  # (n, 2)
        return (on_curve + self.noise * rng.standard_normal((n, 2))).astype(np.float32)


SWISSROLL = SwissRoll2D()
MOONS = Moons2D()

DISTRIBUTIONS_2D = {d.name: d for d in (RING8, GRID25, SWISSROLL, MOONS)}
