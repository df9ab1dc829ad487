"""Mode coverage and sample quality on 2D Gaussian mixtures (VEEGAN, PacGAN).

A sample is *high quality* when it lies within 3 standard deviations of its nearest mode centre
(Euclidean distance <= 3 std). A mode is *covered* when it is the nearest centre of at least one high-quality
sample. Models are measured on SAMPLES_2D = 2500 samples, as the papers do.

A perfect sampler does not score 100%: for an isotropic 2D Gaussian, |x - mu| / sigma follows a Rayleigh
law and P(|x - mu| <= 3 sigma) = 1 - exp(-9/2) = 0.98889.
"""

from __future__ import annotations

# How many samples a 2D model is measured on (VEEGAN and PacGAN use 2500), and how many data
# points the MMD floor compares.
SAMPLES_2D = 2500

import numpy as np

HQ_RADIUS_IN_STDS = 3.0
PERFECT_HQ_FRACTION = 1 - np.exp(-HQ_RADIUS_IN_STDS**2 / 2)  # 0.98889


def as_points_2d(array, what: str) -> np.ndarray:
    """array as float64 (n, 2) with n >= 1, all finite; ValueError saying which input is wrong."""
    points = np.asarray(array, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
        raise ValueError(f"{what} must have shape (n, 2) with n >= 1, got {points.shape}")
    if not np.all(np.isfinite(points)):
        raise ValueError(f"{what} contain {np.sum(~np.isfinite(points))} non-finite values (NaN or inf)")
    return points


def mode_metrics(samples, centres, std: float) -> dict:
    """Returns dict(modes_covered=int, n_modes=int, hq_fraction=float) for samples (n, 2), centres (K, 2)."""
    samples = as_points_2d(samples, "samples")
    centres = as_points_2d(centres, "centres")
    if not (np.isfinite(std) and std > 0):
        raise ValueError(f"std must be a finite positive number, got {std!r}")

    offsets = samples[:, None, :] - centres[None, :, :]  # (n, 1, 2) - (1, K, 2) -> (n, K, 2)
    distances = np.linalg.norm(offsets, axis=-1)  # (n, K)
    nearest = np.argmin(distances, axis=1)  # (n,)
    nearest_distance = distances[np.arange(len(samples)), nearest]  # (n,)
    high_quality = nearest_distance <= HQ_RADIUS_IN_STDS * std  # (n,)
    covered = np.unique(nearest[high_quality])  # the modes that own at least one high-quality sample
    return {
        "modes_covered": int(len(covered)),
        "n_modes": int(len(centres)),
        "hq_fraction": float(np.mean(high_quality)),
    }
