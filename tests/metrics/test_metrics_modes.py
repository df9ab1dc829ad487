"""Mode coverage and high-quality fraction on 2D mixtures."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scratchgen.data import GRID25, RING8
from scratchgen.metrics import PERFECT_HQ_FRACTION, mode_metrics


def test_perfect_hq_fraction_constant():
    assert PERFECT_HQ_FRACTION == pytest.approx(0.98889, abs=1e-5)


@pytest.mark.parametrize("mixture", [RING8, GRID25], ids=lambda m: m.name)
def test_a_perfect_sampler_scores_1_minus_exp_minus_4_5_and_covers_every_mode(mixture):
    n = 200_000
    samples = mixture.sample(n, np.random.default_rng(0))
    result = mode_metrics(samples, mixture.centres, mixture.std)
    assert result["n_modes"] == len(mixture.centres)
    assert result["modes_covered"] == len(mixture.centres)
    standard_error = np.sqrt(PERFECT_HQ_FRACTION * (1 - PERFECT_HQ_FRACTION) / n)  # ~2.3e-4
    assert abs(result["hq_fraction"] - PERFECT_HQ_FRACTION) < 3 * standard_error


def test_the_3_std_boundary_is_inclusive_and_exact():
    # std 0.25 and 3 std = 0.75 are exact in binary, so "on the boundary" really is on it.
    centres = np.array([[0.0, 0.0], [10.0, 0.0]])
    samples = np.array([[0.75, 0.0], [0.0, -0.7500001], [9.5, 0.0]])  # on, just outside, inside
    result = mode_metrics(samples, centres, std=0.25)
    assert result == {"modes_covered": 2, "n_modes": 2, "hq_fraction": pytest.approx(2 / 3)}


def test_all_samples_in_one_mode_cover_one_mode():
    rng = np.random.default_rng(0)
    samples = RING8.centres[3] + RING8.std * rng.standard_normal((2500, 2))
    result = mode_metrics(samples, RING8.centres, RING8.std)
    assert result["modes_covered"] == 1 and result["n_modes"] == 8
    assert result["hq_fraction"] > 0.97


def test_samples_far_from_every_mode_score_zero():
    samples = np.random.default_rng(0).uniform(10, 20, size=(2500, 2))
    assert mode_metrics(samples, GRID25.centres, GRID25.std) == {
        "modes_covered": 0,
        "n_modes": 25,
        "hq_fraction": 0.0,
    }


def test_low_quality_samples_near_a_mode_do_not_cover_it():
    # Samples between two ring modes are nearest to one of them but 10+ std away: no coverage, no quality.
    angle = 2 * np.pi / 16
    samples = np.repeat([[np.cos(angle), np.sin(angle)]], 100, axis=0)
    assert mode_metrics(samples, RING8.centres, RING8.std)["modes_covered"] == 0


@settings(max_examples=30, deadline=None)
@given(k=st.integers(1, 8), seed=st.integers(0, 10**6))
def test_covering_exactly_k_modes(k, seed):
    rng = np.random.default_rng(seed)
    chosen = rng.choice(8, size=k, replace=False)
    samples = RING8.centres[rng.choice(chosen, size=500)] + 0.001 * rng.standard_normal((500, 2))
    result = mode_metrics(samples, RING8.centres, RING8.std)
    assert result["modes_covered"] == k and result["hq_fraction"] == 1.0


@pytest.mark.parametrize(
    "samples, centres, std, message",
    [
        (np.zeros((5, 3)), RING8.centres, 0.01, r"samples must have shape \(n, 2\)"),
        (np.zeros((0, 2)), RING8.centres, 0.01, "samples must have shape"),
        (np.zeros(2), RING8.centres, 0.01, "samples must have shape"),
        (np.array([[0.0, np.nan]]), RING8.centres, 0.01, "non-finite"),
        (np.zeros((5, 2)), np.zeros((4, 3)), 0.01, "centres must have shape"),
        (np.zeros((5, 2)), RING8.centres, 0.0, "std must be"),
        (np.zeros((5, 2)), RING8.centres, float("nan"), "std must be"),
    ],
)
def test_invalid_inputs_raise_clear_value_errors(samples, centres, std, message):
    with pytest.raises(ValueError, match=message):
        mode_metrics(samples, centres, std)
