"""2D toy datasets: centres, sampling statistics, seeding, and the load_dataset / DATASETS surface."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import make_moons, make_swiss_roll

from scratchgen.data import DATASETS, GRID25, MOONS, RING8, SWISSROLL, list_datasets, load_dataset

NAMES_2D = ["ring8", "grid25", "swissroll", "moons"]


def test_ring8_has_8_distinct_centres_on_the_unit_circle_at_multiples_of_45_degrees():
    centres = RING8.centres
    assert centres.shape == (8, 2) and centres.dtype == np.float64
    np.testing.assert_allclose(np.linalg.norm(centres, axis=1), 1.0)
    angles = np.sort(np.mod(np.arctan2(centres[:, 1], centres[:, 0]), 2 * np.pi))
    np.testing.assert_allclose(angles, 2 * np.pi * np.arange(8) / 8, atol=1e-12)
    # The linspace(0, 2*pi, 8) trap would make two centres coincide.
    gaps = np.linalg.norm(centres[:, None] - centres[None], axis=-1) + np.eye(8)
    assert gaps.min() > 0.76  # adjacent centres are 2 sin(pi/8) = 0.765 apart
    assert RING8.std == 0.01


def test_grid25_centres_are_the_5x5_grid_of_even_coordinates():
    expected = {(float(a), float(b)) for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4)}
    assert {tuple(c) for c in GRID25.centres.tolist()} == expected
    assert len(GRID25.centres) == 25 and GRID25.std == 0.05


@pytest.mark.parametrize("mixture", [RING8, GRID25], ids=lambda m: m.name)
def test_mixture_samples_choose_modes_uniformly_with_the_stated_std(mixture):
    rng = np.random.default_rng(0)
    x = mixture.sample(100_000, rng)
    assert x.shape == (100_000, 2) and x.dtype == np.float32
    offsets = x[:, None, :] - mixture.centres[None]  # (n, K, 2)
    nearest = np.argmin(np.linalg.norm(offsets, axis=-1), axis=1)
    k = len(mixture.centres)
    counts = np.bincount(nearest, minlength=k)
    expected = len(x) / k
    # Multinomial counts: standard deviation sqrt(n p (1-p)) < sqrt(expected); allow 5 of them.
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected))
    residual = x - mixture.centres[nearest]
    np.testing.assert_allclose(residual.std(axis=0), mixture.std, rtol=0.02)
    np.testing.assert_allclose(residual.mean(axis=0), 0.0, atol=5 * mixture.std / np.sqrt(len(x)))


def nearest_on_curve(points, curve):
    """Distance from each point to the nearest of a dense set of curve points, and that point's index."""
    distances = np.linalg.norm(points[:, None, :] - curve[None, :, :], axis=-1)  # (n, m)
    nearest = np.argmin(distances, axis=1)
    return distances[np.arange(len(points)), nearest], nearest


def test_noise_free_moons_lie_on_scikit_learns_moons_and_use_both():
    curve, moon = make_moons(n_samples=20_000, noise=0.0)  # evenly spaced, dense; moon 0 upper, 1 lower
    curve = curve - np.array([0.5, 0.25])  # our centring
    points = type(MOONS)(noise=0.0).sample(300, np.random.default_rng(0))
    distance, nearest = nearest_on_curve(points, curve)
    assert distance.max() < 1e-3
    lower_share = moon[nearest].mean()
    assert 0.35 < lower_share < 0.65  # each moon with probability 1/2: 300 draws, sd 0.029


def test_noise_free_swissroll_lies_on_scikit_learns_roll_projected_and_scaled():
    roll, _ = make_swiss_roll(n_samples=20_000, noise=0.0, random_state=0)
    curve = roll[:, [0, 2]] / SWISSROLL.scale  # the x-z plane
    points = type(SWISSROLL)(noise=0.0).sample(300, np.random.default_rng(0))
    distance, _ = nearest_on_curve(points, curve)
    assert distance.max() < 1e-2  # the gaps between 20k random curve points


@pytest.mark.parametrize("distribution", [SWISSROLL, MOONS], ids=lambda d: d.name)
def test_curves_have_no_modes_and_stay_in_a_sensible_range(distribution):
    assert distribution.centres is None and distribution.std is None
    x = distribution.sample(20_000, np.random.default_rng(0))
    assert x.dtype == np.float32 and np.all(np.abs(x) < 2.5)
    assert np.all(x.std(axis=0) > 0.3)  # spread out, not collapsed


@settings(max_examples=15, deadline=None)
@given(name=st.sampled_from(NAMES_2D), seed=st.integers(0, 2**32 - 1), n=st.integers(1, 300))
def test_2d_datasets_are_a_function_of_the_seed(name, seed, n):
    a = load_dataset(name, seed=seed, n_train=n)
    b = load_dataset(name, seed=seed, n_train=n)
    c = load_dataset(name, seed=seed + 1, n_train=n)
    assert a.train.shape == (n, 2) and a.train.dtype == np.float32
    np.testing.assert_array_equal(a.train, b.train)
    np.testing.assert_array_equal(a.test, b.test)
    assert not np.array_equal(a.train, c.train)


@pytest.mark.parametrize("name", NAMES_2D)
def test_load_dataset_2d_fields(name):
    d = load_dataset(name, seed=3)
    assert (d.name, d.kind, d.shape) == (name, "2d", (2,))
    assert d.train.shape == (100_000, 2) and d.test.shape == (10_000, 2)
    assert d.train_labels is None and d.vocab is None
    assert isinstance(d.source, str) and d.source and "\n" not in d.source
    if name in ("ring8", "grid25"):
        assert d.centres.shape[1] == 2 and d.std > 0
    else:
        assert d.centres is None and d.std is None
    fresh = d.sample_fresh(7, np.random.default_rng(0))
    assert fresh.shape == (7, 2) and fresh.dtype == np.float32
    np.testing.assert_array_equal(fresh, d.sample_fresh(7, np.random.default_rng(0)))
    with pytest.raises(ValueError, match="text"):
        d.encode("a")


def test_sample_fresh_only_for_2d():
    with pytest.raises(ValueError, match="2D"):
        load_dataset("digits").sample_fresh(3, np.random.default_rng(0))


def test_unknown_name_lists_the_valid_choices():
    with pytest.raises(ValueError) as info:
        load_dataset("ring7")
    for name in DATASETS:
        assert name in str(info.value)


@pytest.mark.parametrize("bad", [0, -5, 2.5])
def test_bad_n_train_is_rejected(bad):
    with pytest.raises(ValueError, match="n_train"):
        load_dataset("ring8", n_train=bad)


def test_text_file_with_another_dataset_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="text_file"):
        load_dataset("ring8", text_file=tmp_path / "a.txt")


def test_registry_lists_every_spec_name_with_kind_shape_and_a_one_line_source():
    expected_kinds = {
        "ring8": "2d", "grid25": "2d", "swissroll": "2d", "moons": "2d",
        "digits": "image", "digits-binary": "image", "mnist": "image",
        "pydoc": "text", "text": "text",
    }  # fmt: skip
    infos = list_datasets()
    assert {i.name: i.kind for i in infos} == expected_kinds
    for info in infos:
        assert DATASETS[info.name] is info
        assert isinstance(info.shape, tuple)
        assert info.source and "\n" not in info.source


@pytest.mark.parametrize("name", ["ring8", "moons", "digits", "digits-binary", "pydoc"])
def test_registry_shape_and_kind_match_the_loaded_dataset(name):
    d = load_dataset(name)
    assert (d.kind, tuple(d.shape)) == (DATASETS[name].kind, DATASETS[name].shape)
    assert d.train.shape[1:] == d.shape
