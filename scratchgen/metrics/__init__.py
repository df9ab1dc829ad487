"""Sample-quality metrics, pure NumPy: mode coverage on 2D mixtures, and kernel MMD between sample sets."""

from scratchgen.metrics.mixtures import PERFECT_HQ_FRACTION, SAMPLES_2D, mode_metrics
from scratchgen.metrics.mmd import median_heuristic_bandwidth, mmd2, mmd2_null_rms, mmd2_with_floor, pairwise_sq_dists


def standard_error(values):
    """Standard error of the mean of per-item values (0 for fewer than two)."""
    import numpy as np
    values = np.asarray(values, dtype=np.float64)
    return float(np.std(values, ddof=1) / np.sqrt(len(values))) if len(values) > 1 else 0.0


__all__ = [
    "PERFECT_HQ_FRACTION",
    "SAMPLES_2D",
    "median_heuristic_bandwidth",
    "mmd2",
    "mmd2_null_rms",
    "mmd2_with_floor",
    "mode_metrics",
    "pairwise_sq_dists",
    "standard_error",
]
