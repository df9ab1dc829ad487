"""Maximum mean discrepancy with a Gaussian (RBF) kernel (Gretton et al. 2012, "A Kernel Two-Sample Test").

    k(a, b) = exp(-|a - b|^2 / (2 bandwidth^2))

mmd2 is the *unbiased* U-statistic (Gretton et al., Lemma 6):

    MMD^2_u = 1/(m(m-1)) sum_{i != j} k(x_i, x_j) + 1/(n(n-1)) sum_{i != j} k(y_i, y_j) - 2/(mn) sum_{i,j} k(x_i, y_j)

Leaving out the i == j terms removes the bias, so its mean is exactly MMD^2 (zero for equal distributions), and
one estimate can be slightly negative.
The bandwidth defaults to the median heuristic: the median distance between distinct points of the pooled sample.
"""

from __future__ import annotations

import numpy as np

from scratchgen.metrics.mixtures import SAMPLES_2D


def as_sample(array, what: str) -> np.ndarray:
    """array as float64 (n, d) with n >= 2 (the U-statistic needs pairs), all finite."""
    points = np.asarray(array, dtype=np.float64)
    if points.ndim != 2 or len(points) < 2:
        raise ValueError(f"{what} must have shape (n, d) with n >= 2, got {points.shape}")
    if not np.all(np.isfinite(points)):
        raise ValueError(f"{what} contains {np.sum(~np.isfinite(points))} non-finite values (NaN or inf)")
    return points


def pairwise_sq_dists(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|a_i - b_j|^2 for a (m, d), b (n, d) -> (m, n).

    Expanded as |a|^2 + |b|^2 - 2 a.b so memory stays (m, n) instead of (m, n, d); in float64 the cancellation
    error is ~1e-16 times |a|^2, far below the smallest spread we use (std 0.01). Clipped at 0 against it.
    """
    sq = np.sum(a**2, axis=1)[:, None] + np.sum(b**2, axis=1)[None, :] - 2 * a @ b.T  # (m, n)
    return np.maximum(sq, 0.0)


def off_diagonal(square: np.ndarray) -> np.ndarray:
    """The entries above the diagonal of an (n, n) matrix: one value per distinct pair."""
    return square[np.triu(np.ones(square.shape, dtype=bool), k=1)]


def median_heuristic_bandwidth(x, y) -> float:
    """Median distance over all distinct pairs of the pooled sample [x; y]."""
    x, y = as_sample(x, "x"), as_sample(y, "y")
    # The pooled pair set is: pairs within x, pairs within y, and all x-y pairs. Taking it block by block avoids
    # the (m+n, m+n) matrix.
    sq = np.concatenate(
        [off_diagonal(pairwise_sq_dists(x, x)), off_diagonal(pairwise_sq_dists(y, y)), pairwise_sq_dists(x, y).ravel()]
    )
    # sqrt is increasing, so the median distance is the square root of the median squared distance (for an
    # even count np.median averages the two middle values, a difference of order 1e-8 here); this skips
    # 12.5 million square roots at 2500 + 2500 points.
    bandwidth = float(np.sqrt(np.median(sq)))
    if bandwidth == 0:
        raise ValueError("median pairwise distance is 0 (most points coincide); pass an explicit bandwidth")
    return bandwidth


def mmd2(x, y, bandwidth: float | None = None) -> float:
    """Unbiased RBF-kernel MMD^2 between samples x (m, d) and y (n, d); bandwidth None = median heuristic."""
    x, y = as_sample(x, "x"), as_sample(y, "y")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must have the same dimension, got {x.shape[1]} and {y.shape[1]}")
    if bandwidth is None:
        bandwidth = median_heuristic_bandwidth(x, y)
    elif not (np.isfinite(bandwidth) and bandwidth > 0):
        raise ValueError(f"bandwidth must be a finite positive number, got {bandwidth!r}")
    m, n = len(x), len(y)
    gamma = 1.0 / (2.0 * bandwidth**2)

    k_xx = np.exp(-gamma * pairwise_sq_dists(x, x))  # (m, m)
    k_yy = np.exp(-gamma * pairwise_sq_dists(y, y))  # (n, n)
    k_xy = np.exp(-gamma * pairwise_sq_dists(x, y))  # (m, n)
    # The diagonals are k(x_i, x_i) = 1 exactly (squared distance 0), so subtracting the trace drops i == j.
    within_x = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    within_y = (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
    between = k_xy.sum() / (m * n)
    return float(within_x + within_y - 2 * between)


def mmd2_with_floor(samples, dataset, rng: np.random.Generator, n: int = SAMPLES_2D) -> tuple[float, float]:
    """(MMD^2 of samples vs fresh data, MMD^2 floor between two fresh data sets), one bandwidth for both.

    `dataset` is anything with sample_fresh(n, rng), e.g. a 2D `scratchgen.data.Dataset`. A reference set of n
    fresh points is compared with `samples` and with a second fresh set of the same size as `samples`; the
    second number is what a perfect sampler would score, the noise floor to read the first against. The
    bandwidth is the median heuristic on the two fresh sets, so it depends on the data only and is the same
    for both numbers (a collapsed sampler cannot shrink its own kernel).
    """
    samples = as_sample(samples, "samples")
    reference = dataset.sample_fresh(n, rng)  # (n, d)
    perfect = dataset.sample_fresh(len(samples), rng)  # (len(samples), d)
    bandwidth = median_heuristic_bandwidth(reference, perfect)
    return mmd2(samples, reference, bandwidth), mmd2(perfect, reference, bandwidth)


def mmd2_null_rms(dataset, rng: np.random.Generator, n: int = SAMPLES_2D, repeats: int = 8) -> float:
    """Root-mean-square of MMD^2 between pairs of fresh data sets of n points: the typical size
    of the estimate when the two distributions are equal (its mean is 0, so it is the standard
    deviation of the null distribution). One floor draw is noise around 0 and often negative,
    so "within 3x of the floor" is read as mmd2 <= 3 x this (docs/results-2d.md). Bandwidth as
    in mmd2_with_floor: the median heuristic on the first pair."""
    if repeats < 2:
        raise ValueError(f"repeats must be at least 2, got {repeats}")
    pairs = [(dataset.sample_fresh(n, rng), dataset.sample_fresh(n, rng)) for _ in range(repeats)]
    bandwidth = median_heuristic_bandwidth(*pairs[0])
    values = np.array([mmd2(a, b, bandwidth) for a, b in pairs])
    return float(np.sqrt(np.mean(values ** 2)))
