"""Image metrics: the Frechet distance, the label entropy, and the cached digits classifier."""
import math

import numpy as np
import pytest

import scratchgen.metrics.images as images
from scratchgen.data import load_dataset
from scratchgen.engine import random as sg_random
from scratchgen.metrics.images import (feature_statistics, frechet_distance, image_metrics,
                                       label_entropy, load_or_train_classifier)


def random_covariance(rng, d):
    a = rng.standard_normal((d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def psd_sqrt(s):
    values, vectors = np.linalg.eigh(s)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


# ---- Frechet distance -------------------------------------------------------------------------
def test_fd_of_a_sample_against_itself_is_zero():
    rng = np.random.default_rng(0)
    x = rng.multivariate_normal(rng.standard_normal(8), random_covariance(rng, 8), 2000)
    stats = feature_statistics(x)
    assert abs(frechet_distance(*stats, *stats)) < 1e-8


def test_fd_of_two_samples_of_one_gaussian_is_small():
    rng = np.random.default_rng(1)
    mu, cov = rng.standard_normal(5), random_covariance(rng, 5)
    a = feature_statistics(rng.multivariate_normal(mu, cov, 20000))
    b = feature_statistics(rng.multivariate_normal(mu, cov, 20000))
    far = feature_statistics(rng.multivariate_normal(mu + 1, cov, 20000))
    assert frechet_distance(*a, *b) < 0.01
    assert frechet_distance(*a, *far) == pytest.approx(5.0, rel=0.05)  # ||(1,..,1)||^2


def test_fd_matches_the_closed_form_for_diagonal_covariances():
    """With commuting (diagonal) covariances the trace term is sum_i (sqrt(s1_i) - sqrt(s2_i))^2."""
    mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.5])
    s1, s2 = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(s1) - np.sqrt(s2)) ** 2)  # 7.25 + 5
    assert frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2)) == pytest.approx(expected, rel=1e-10)
    assert expected == pytest.approx(12.25)


def test_fd_matches_the_symmetric_form_for_full_covariances():
    """Tr (S1 S2)^{1/2} = Tr (S1^{1/2} S2 S1^{1/2})^{1/2}: the right side needs only symmetric
    eigendecompositions, an independent route from scipy's sqrtm of the non-symmetric S1 S2."""
    rng = np.random.default_rng(2)
    d = 6
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    s1, s2 = random_covariance(rng, d), random_covariance(rng, d)
    root1 = psd_sqrt(s1)
    trace_term = np.trace(psd_sqrt(root1 @ s2 @ root1))
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * trace_term
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-8)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(frechet_distance(mu2, s2, mu1, s1), rel=1e-8)


def test_fd_survives_a_singular_covariance():
    """A constant feature makes both covariances singular; the result stays finite and right."""
    mu, s = np.zeros(3), np.diag([1.0, 2.0, 0.0])
    assert frechet_distance(mu, s, mu + np.array([0, 0, 3.0]), s) == pytest.approx(9.0, abs=1e-4)


def test_fd_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="shapes"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))


# ---- label entropy ----------------------------------------------------------------------------
def test_entropy_of_uniform_labels_is_log_10():
    assert label_entropy(np.repeat(np.arange(10), 7)) == pytest.approx(math.log(10), rel=1e-12)


def test_entropy_of_one_class_is_zero_and_of_two_is_log_2():
    assert label_entropy(np.full(50, 3)) == 0.0
    assert label_entropy(np.array([1, 7] * 20)) == pytest.approx(math.log(2), rel=1e-12)


# ---- the classifier and its cache -------------------------------------------------------------
@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture(scope="module")
def classifier(digits, request):
    """The real classifier with the real recipe, cached in pytest's cache directory (kept
    between test sessions, so only the first session pays for training)."""
    directory = request.config.cache.mkdir("scratchgen-classifier")
    return load_or_train_classifier(digits, directory=directory)


def test_classifier_reaches_97_percent_on_the_test_split(digits, classifier):
    net, accuracy = classifier
    predicted = images.predict(net, digits.test).argmax(axis=1)
    assert accuracy == pytest.approx(np.mean(predicted == digits.test_labels))
    assert accuracy >= 0.97


def test_image_metrics_on_real_images_and_on_noise(digits, classifier):
    floor = image_metrics(digits.train, digits, classifier=classifier)
    assert floor["fd"] == pytest.approx(floor["fd_floor"])  # train vs test in both
    assert floor["classifier_entropy"] > 2.25                 # the 10 classes, nearly balanced
    noise = np.random.default_rng(0).uniform(-1, 1, digits.train.shape).astype(np.float32)
    assert image_metrics(noise, digits, classifier=classifier)["fd"] > 10 * floor["fd_floor"]
    one_digit = digits.train[digits.train_labels == 3]
    assert image_metrics(one_digit, digits, classifier=classifier)["classifier_entropy"] < 0.3


TINY_RECIPE = dict(images.CLASSIFIER_RECIPE, steps=3)  # a fast stand-in for the cache tests


def test_cache_is_reused_and_a_new_version_retrains(digits, tmp_path, monkeypatch):
    monkeypatch.setenv("SCRATCHGEN_CACHE", str(tmp_path))
    runs = images.TRAINING_RUNS
    net, _ = load_or_train_classifier(digits, recipe=TINY_RECIPE)
    assert images.TRAINING_RUNS == runs + 1
    assert (tmp_path / "digits-classifier.npz").exists()

    cached, _ = load_or_train_classifier(digits, recipe=TINY_RECIPE)  # second call: from the file
    assert images.TRAINING_RUNS == runs + 1
    for (name, a), (_, b) in zip(net.state_dict().items(), cached.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=name)

    monkeypatch.setattr(images, "CLASSIFIER_VERSION", images.CLASSIFIER_VERSION + 1)
    load_or_train_classifier(digits, recipe=TINY_RECIPE)  # stale key: retrained
    assert images.TRAINING_RUNS == runs + 2
    load_or_train_classifier(digits, recipe=TINY_RECIPE)  # and the new one is cached
    assert images.TRAINING_RUNS == runs + 2


def test_a_changed_recipe_or_a_corrupt_file_retrains(digits, tmp_path):
    runs = images.TRAINING_RUNS
    load_or_train_classifier(digits, recipe=TINY_RECIPE, directory=tmp_path)
    load_or_train_classifier(digits, recipe=dict(TINY_RECIPE, lr=1e-3), directory=tmp_path)
    assert images.TRAINING_RUNS == runs + 2
    (tmp_path / "digits-classifier.npz").write_bytes(b"not a checkpoint")
    load_or_train_classifier(digits, recipe=TINY_RECIPE, directory=tmp_path)
    assert images.TRAINING_RUNS == runs + 3


def test_cache_directory_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("SCRATCHGEN_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert images.cache_dir() == tmp_path / "xdg" / "scratchgen"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert images.cache_dir() == tmp_path / "home" / ".cache" / "scratchgen"
    monkeypatch.setenv("SCRATCHGEN_CACHE", str(tmp_path / "mine"))
    assert images.cache_dir() == tmp_path / "mine"


def test_training_the_classifier_leaves_the_global_generator_alone(digits, tmp_path):
    """Evaluation must not depend on whether the classifier came from the cache."""
    sg_random.manual_seed(123)
    before = sg_random.get_state()
    load_or_train_classifier(digits, recipe=TINY_RECIPE, directory=tmp_path)
    assert sg_random.get_state() == before
