"""Unbiased RBF MMD^2: against a loop reference and scikit-learn's kernel, and its behaviour on samples."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.metrics.pairwise import pairwise_kernels

from scratchgen.data import load_dataset
from scratchgen.metrics import median_heuristic_bandwidth, mmd2, mmd2_null_rms, mmd2_with_floor


def mmd2_loop(x, y, bandwidth):
    """The U-statistic written term by term, as in Gretton et al. (2012), Lemma 6."""

    def k(a, b):
        return np.exp(-np.sum((a - b) ** 2) / (2 * bandwidth**2))

    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def median_loop(x, y):
    pooled = np.concatenate([x, y])
    d = [np.linalg.norm(pooled[i] - pooled[j]) for i in range(len(pooled)) for j in range(i + 1, len(pooled))]
    return np.median(d)


def test_matches_the_loop_reference_on_a_tiny_input():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((6, 3)), rng.standard_normal((5, 3)) + 0.5
    for bandwidth in (0.3, 1.0, 4.0):
        assert mmd2(x, y, bandwidth) == pytest.approx(mmd2_loop(x, y, bandwidth), rel=1e-10, abs=1e-14)
    bandwidth = median_loop(x, y)
    assert median_heuristic_bandwidth(x, y) == pytest.approx(bandwidth, rel=1e-6)
    assert mmd2(x, y) == pytest.approx(mmd2_loop(x, y, bandwidth), rel=1e-6)


def test_matches_scikit_learn_rbf_kernel_computation():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((40, 2)), rng.standard_normal((30, 2)) * 1.5
    bandwidth = 0.8
    gamma = 1 / (2 * bandwidth**2)  # sklearn's rbf is exp(-gamma |a - b|^2)
    k_xx = pairwise_kernels(x, metric="rbf", gamma=gamma)
    k_yy = pairwise_kernels(y, metric="rbf", gamma=gamma)
    k_xy = pairwise_kernels(x, y, metric="rbf", gamma=gamma)
    m, n = len(x), len(y)
    expected = (
        (k_xx.sum() - m) / (m * (m - 1)) + (k_yy.sum() - n) / (n * (n - 1)) - 2 * k_xy.mean()
    )
    assert mmd2(x, y, bandwidth) == pytest.approx(expected, rel=1e-10)


finite_points = arrays(np.float64, st.tuples(st.integers(2, 8), st.just(2)), elements=st.floats(-5, 5))


@settings(max_examples=40, deadline=None)
@given(x=finite_points, y=finite_points, bandwidth=st.floats(0.1, 10))
def test_symmetric_and_matches_loop(x, y, bandwidth):
    assert mmd2(x, y, bandwidth) == pytest.approx(mmd2(y, x, bandwidth), rel=1e-9, abs=1e-12)
    assert mmd2(x, y, bandwidth) == pytest.approx(mmd2_loop(x, y, bandwidth), rel=1e-8, abs=1e-10)


def test_same_distribution_is_near_zero_and_far_below_a_different_one():
    ring = load_dataset("ring8", n_train=10)
    rng = np.random.default_rng(0)
    a, b = ring.sample_fresh(2500, rng), ring.sample_fresh(2500, rng)
    same = mmd2(a, b)
    assert abs(same) < 2e-3  # the null spread at 2500 vs 2500 is about 3e-4
    assert mmd2(a, b + np.float32(0.3)) > 20 * abs(same)  # shifted ring
    assert mmd2(a, 1.5 * b) > 20 * abs(same)  # wider ring
    assert mmd2(a, rng.standard_normal((2500, 2))) > 20 * abs(same)  # no ring at all


def test_unbiased_estimator_averages_to_zero_for_equal_distributions():
    # The biased V-statistic would average to about 2/n * (1 - E k) > 0; the U-statistic averages to 0.
    rng = np.random.default_rng(0)
    values = [mmd2(rng.standard_normal((50, 2)), rng.standard_normal((50, 2)), 1.0) for _ in range(400)]
    standard_error = np.std(values) / np.sqrt(len(values))
    assert abs(np.mean(values)) < 3 * standard_error
    assert min(values) < 0  # an unbiased estimate of 0 must sometimes be negative


def test_mmd2_with_floor_separates_a_collapsed_sampler_from_the_floor():
    dataset = load_dataset("ring8", n_train=10)
    rng = np.random.default_rng(0)
    collapsed = np.repeat(dataset.centres[:1], 2500, axis=0) + 0.01 * rng.standard_normal((2500, 2))
    model, floor = mmd2_with_floor(collapsed, dataset, np.random.default_rng(1))
    assert abs(floor) < 2e-3
    assert model > 0.1
    good_model, good_floor = mmd2_with_floor(dataset.sample_fresh(2500, rng), dataset, np.random.default_rng(1))
    assert abs(good_model) < 2e-3
    assert good_floor == floor  # same rng seed, same reference draws: the floor does not depend on the samples


def test_null_rms_is_the_spread_of_mmd2_between_equal_distributions():
    dataset = load_dataset("ring8", n_train=10)
    rms = mmd2_null_rms(dataset, np.random.default_rng(2), n=400, repeats=40)
    rng = np.random.default_rng(3)
    bandwidth = median_heuristic_bandwidth(dataset.sample_fresh(400, rng), dataset.sample_fresh(400, rng))
    values = [mmd2(dataset.sample_fresh(400, rng), dataset.sample_fresh(400, rng), bandwidth) for _ in range(40)]
    # both estimate the null's standard deviation from 40 draws (relative error ~ 1 / sqrt(80))
    assert 0.6 < rms / np.std(values) < 1.6
    # At the metrics' n = 2500, a sampler that misses one of the 8 modes (its points moved to
    # the next mode) lies outside 3 x the null's spread; fresh data lies inside.
    rms = mmd2_null_rms(dataset, rng, n=2500, repeats=4)
    missing, fresh = dataset.sample_fresh(2500, rng), dataset.sample_fresh(2500, rng)
    in_mode_0 = np.linalg.norm(missing - dataset.centres[0], axis=1) < 0.5
    missing[in_mode_0] += dataset.centres[1] - dataset.centres[0]
    assert mmd2(missing, fresh, bandwidth) > 3 * rms
    assert mmd2(dataset.sample_fresh(2500, rng), fresh, bandwidth) < 3 * rms
    with pytest.raises(ValueError, match="repeats"):
        mmd2_null_rms(dataset, rng, n=10, repeats=1)


@pytest.mark.parametrize(
    "x, y, bandwidth, message",
    [
        (np.zeros((1, 2)), np.zeros((5, 2)), 1.0, "n >= 2"),
        (np.zeros(5), np.zeros((5, 2)), 1.0, "shape"),
        (np.zeros((5, 2)), np.zeros((5, 3)), 1.0, "same dimension"),
        (np.full((5, 2), np.inf), np.zeros((5, 2)), 1.0, "non-finite"),
        (np.ones((5, 2)), np.zeros((5, 2)), -1.0, "bandwidth"),
        (np.zeros((5, 2)), np.zeros((5, 2)), None, "median pairwise distance is 0"),
    ],
)
def test_invalid_inputs_raise_clear_value_errors(x, y, bandwidth, message):
    with pytest.raises(ValueError, match=message):
        mmd2(x, y, bandwidth)
