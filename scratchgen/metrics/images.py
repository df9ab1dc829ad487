"""Sample quality of generated images: a Frechet distance in the features of a digits classifier
that scratchgen trains itself, and how evenly the samples cover the 10 classes.

Frechet distance (Dowson and Landau 1982; as a GAN metric, the FID of Heusel et al. 2017, eq. 6).
Fit a Gaussian to the features of each image set, N(mu1, S1) and N(mu2, S2); the squared
2-Wasserstein distance between them is

    FD = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^{1/2})

Heusel et al. take the features from Inception's last pooling layer; 8x8 digits are far from
ImageNet, so here they come from the penultimate layer of a small convolutional classifier
trained on the dataset's own training split (>= 97% test accuracy on digits). FD depends on
the feature extractor and on the number of images (the estimate is biased upward for small
sets), so it is only comparable to FDs made with the same classifier and set sizes:

    fd        n generated images (n = size of the training split) against the test split
    fd_floor  the training split against the test split: what a perfect sampler scores

Class coverage: the entropy (nats) of the histogram of the classifier's predicted labels over
the samples, H = -sum_k p_k log p_k. It is log 10 = 2.303 when every digit is generated
equally often and 0 when the generator draws one digit only (mode collapse).

The classifier is cached as <cache>/<dataset>-classifier.npz (scratchgen.save: atomic, no
pickle), where <cache> is $SCRATCHGEN_CACHE, else $XDG_CACHE_HOME/scratchgen, else
~/.cache/scratchgen. The file holds a key: a hash of CLASSIFIER_VERSION, the architecture, the
training recipe and the training data. A file with another key is stale and is retrained.
Training draws from its own seeded generator and leaves scratchgen's global one as it was, so a
metric is the same whether the classifier came from the cache or was just trained.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path

import numpy as np

from .. import functional as F
from .. import nn, optim
from ..engine import random as sg_random
from ..engine.function import no_grad
from ..engine.tensor import Tensor
from ..errors import CheckpointError
from ..serialization import load, save

# Bump when the classifier's code changes in a way the key below cannot see.
CLASSIFIER_VERSION = 1
N_CLASSES = 10
# The training recipe (part of the cache key). Adam with a cosine-decayed learning rate.
CLASSIFIER_RECIPE = {"channels": (16, 32), "features": 64, "steps": 1000, "batch_size": 64,
                     "lr": 2e-3, "seed": 0}
# How many times a classifier was trained in this process (tests check that the cache is used).
TRAINING_RUNS = 0


# ---- the statistics -------------------------------------------------------------------------
def feature_statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean (d,) and covariance (d, d) of features (n, d), in float64 (unbiased, n - 1)."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"features must have shape (n, d) with n >= 2, got {features.shape}")
    if not np.all(np.isfinite(features)):
        raise ValueError("features contain NaN or inf (were the images finite?)")
    return features.mean(axis=0), np.cov(features, rowvar=False).reshape(features.shape[1], -1)


def frechet_distance(mu1, sigma1, mu2, sigma2, eps=1e-6) -> float:
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^{1/2})      (Heusel et al. 2017, eq. 6).

    (S1 S2)^{1/2} by scipy.linalg.sqrtm. S1 S2 is similar to the PSD matrix S1^{1/2} S2 S1^{1/2},
    so its square root has real eigenvalues; sqrtm may return tiny imaginary parts from rounding,
    which are dropped. When the product is singular (a constant feature) sqrtm is inaccurate;
    then, as in the reference FID code, eps I is added to both covariances first."""
    from scipy import linalg

    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != mu1.shape * 2:
        raise ValueError(f"shapes do not fit: mu {mu1.shape}, {mu2.shape}; sigma {sigma1.shape}, {sigma2.shape}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(sigma1 @ sigma2)  # (S1 S2)^{1/2}, (d, d)
    if caught or not np.all(np.isfinite(covmean)):  # singular: shift both spectra by eps
        offset = eps * np.eye(len(mu1))
        covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        imaginary = np.max(np.abs(np.diagonal(covmean).imag))
        if imaginary > 1e-3 * max(1.0, np.abs(np.diagonal(covmean).real).max()):
            raise ValueError(f"sqrtm(S1 S2) has a large imaginary part ({imaginary:.3g})")
        covmean = covmean.real
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def label_entropy(labels, n_classes: int = N_CLASSES) -> float:
    """Entropy (nats) of the histogram of integer labels: -sum_k p_k log p_k (0 log 0 = 0)."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) == 0:
        raise ValueError(f"labels must be a non-empty 1-D array, got shape {labels.shape}")
    p = np.bincount(labels, minlength=n_classes) / len(labels)  # (n_classes,)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


# ---- the classifier ---------------------------------------------------------------------------
def halve(side):
    """Output side of a 3x3 convolution with stride 2 and padding 1: ceil(side / 2)."""
    return (side - 1) // 2 + 1


class DigitsClassifier(nn.Module):
    """x (B, C, H, W) in [-1, 1] -> logits (B, 10), with the penultimate features (B, 64):

        conv3x3 c1 -> ReLU -> conv3x3/2 c2 -> ReLU -> conv3x3/2 c2 -> ReLU        (H -> H/4)
        -> flatten -> linear 64 [features] -> ReLU -> linear 10  [logits]

    The features are the penultimate layer's pre-activations: after the ReLU some units are
    zero for every digit, and their covariance would be singular."""

    def __init__(self, image_shape, channels=(16, 32), features=64):
        super().__init__()
        c_in, height, width = image_shape
        c1, c2 = channels
        self.conv = nn.Sequential(
            nn.Conv2d(c_in, c1, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c1, c2, 3, stride=2, padding=1), nn.ReLU(),   # H -> ceil(H / 2)
            nn.Conv2d(c2, c2, 3, stride=2, padding=1), nn.ReLU(),   # -> ceil(H / 4)
            nn.Flatten())
        h, w = halve(halve(height)), halve(halve(width))
        self.hidden = nn.Linear(c2 * h * w, features)
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(features, N_CLASSES))

    def features(self, x):
        return self.hidden(self.conv(x))  # (B, C, H, W) -> (B, 64)

    def forward(self, x):
        return self.head(self.features(x))  # (B, 64) -> (B, 10)


def make_classifier(dataset, recipe):
    return DigitsClassifier(dataset.shape, tuple(recipe["channels"]), recipe["features"])


def cache_dir() -> Path:
    """$SCRATCHGEN_CACHE, else $XDG_CACHE_HOME/scratchgen, else ~/.cache/scratchgen."""
    if os.environ.get("SCRATCHGEN_CACHE"):
        return Path(os.environ["SCRATCHGEN_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "scratchgen"


def classifier_key(dataset, recipe=None) -> str:
    """Hash of everything the trained weights depend on: version, recipe and training data."""
    recipe = CLASSIFIER_RECIPE if recipe is None else recipe
    data = hashlib.sha256()
    for array in (dataset.train, dataset.train_labels):
        array = np.ascontiguousarray(array)
        data.update(f"{array.dtype}{array.shape}".encode())
        data.update(array.tobytes())
    description = json.dumps({"version": CLASSIFIER_VERSION, "dataset": dataset.name, "recipe": recipe,
                              "data": data.hexdigest()}, sort_keys=True)
    return hashlib.sha256(description.encode()).hexdigest()[:32]


def train_classifier(dataset, recipe=None):
    """A DigitsClassifier trained on dataset.train by cross-entropy (Adam, cosine-decayed lr);
    returns (network in eval mode, test accuracy). Uses its own seed; restores the global RNG."""
    global TRAINING_RUNS
    recipe = CLASSIFIER_RECIPE if recipe is None else recipe
    outer_state = sg_random.get_state()
    try:
        sg_random.manual_seed(recipe["seed"])  # initialisation
        net = make_classifier(dataset, recipe)
        opt = optim.Adam(net.parameters(), lr=recipe["lr"])
        schedule = optim.WarmupCosineLR(opt, warmup_steps=0, total_steps=recipe["steps"])
        rng = np.random.default_rng(recipe["seed"])  # minibatches
        for _ in range(recipe["steps"]):
            index = rng.integers(0, len(dataset.train), recipe["batch_size"])
            opt.zero_grad()
            loss = F.cross_entropy(net(Tensor(dataset.train[index])), dataset.train_labels[index])
            loss.backward()
            opt.step()
            schedule.step()
    finally:
        sg_random.set_state(outer_state)
    TRAINING_RUNS += 1
    net.eval()
    accuracy = float(np.mean(predict(net, dataset.test).argmax(axis=1) == dataset.test_labels))
    return net, accuracy


def predict(net, images, batch_size=500, features=False):
    """Logits (N, 10), or penultimate features (N, 64) with features=True, in float64."""
    images = np.asarray(images, dtype=np.float32)
    forward = net.features if features else net
    with no_grad():
        out = [forward(Tensor(images[i:i + batch_size])).numpy() for i in range(0, len(images), batch_size)]
    return np.concatenate(out).astype(np.float64)


def load_or_train_classifier(dataset, recipe=None, directory=None):
    """(classifier, test accuracy) for an image dataset with labels: from the cache when its key
    matches, else trained now and saved there."""
    if dataset.kind != "image" or dataset.train_labels is None:
        raise ValueError(f"image metrics need a labelled image dataset, got {dataset.name} ({dataset.kind})")
    recipe = CLASSIFIER_RECIPE if recipe is None else recipe
    path = Path(directory or cache_dir()) / f"{dataset.name}-classifier.npz"
    key = classifier_key(dataset, recipe)
    if path.exists():
        try:
            state = load(path)
            if state.get("key") == key:
                net = make_classifier(dataset, recipe)
                net.load_state_dict(state["weights"])
                return net.eval(), float(state["test_accuracy"])
        except (CheckpointError, KeyError, ValueError, AttributeError):
            pass  # unreadable or from another version: train a new one below
    net, accuracy = train_classifier(dataset, recipe)
    path.parent.mkdir(parents=True, exist_ok=True)
    save({"key": key, "version": CLASSIFIER_VERSION, "recipe": dict(recipe), "test_accuracy": accuracy,
          "weights": dict(net.state_dict())}, path)
    return net, accuracy


# ---- the metrics in metrics.json --------------------------------------------------------------
def image_metrics(samples, dataset, classifier=None) -> dict:
    """fd, fd_floor, classifier_entropy (and the classifier's test accuracy) of samples
    (n, C, H, W) in the dataset's value range. Use n = len(dataset.train), so that fd and
    fd_floor compare sets of the same sizes."""
    samples = np.asarray(samples, dtype=np.float32)
    if samples.shape[1:] != tuple(dataset.shape):
        raise ValueError(f"samples of shape {samples.shape[1:]} do not match {dataset.name}'s {dataset.shape}")
    if not np.all(np.isfinite(samples)):
        raise ValueError(f"{np.sum(~np.isfinite(samples))} sample values are NaN or inf")
    if classifier is None:
        net, accuracy = load_or_train_classifier(dataset)
    else:
        net, accuracy = classifier
    test = feature_statistics(predict(net, dataset.test, features=True))
    train = feature_statistics(predict(net, dataset.train, features=True))
    generated = feature_statistics(predict(net, samples, features=True))
    labels = predict(net, samples).argmax(axis=1)  # (n,)
    return {"fd": frechet_distance(*generated, *test),
            "fd_floor": frechet_distance(*train, *test),
            "classifier_entropy": label_entropy(labels),
            "classifier_test_accuracy": accuracy}
