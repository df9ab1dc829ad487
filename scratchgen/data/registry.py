"""Dataset names -> `Dataset` objects, one uniform shape for 2D, image and text data.

    load_dataset("ring8", seed=0)              2D: train drawn from the seed, sample_fresh for more
    load_dataset("digits")                     images: fixed split, seed unused
    load_dataset("mnist", data_dir="~/mnist")  images from IDX files
    load_dataset("pydoc")                      text: token ids, vocab, encode/decode
    load_dataset("text", text_file="a.txt")    text from any UTF-8 file
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from scratchgen.data import images, mixtures, text
from scratchgen.data.errors import DataError

# 2D datasets: a fixed training set drawn from the seed. 100k points is many epochs' worth for the small MLPs
# used on 2D data and costs 800 kB; loops that want i.i.d. data every step can call sample_fresh instead.
N_TRAIN_2D = 100_000
N_TEST_2D = 10_000


@dataclass
class Dataset:
    """A loaded dataset. Fields that do not apply to its kind are None.

    kind "2d":    train/test (N, 2) float32; centres (K, 2) and std (None for swissroll/moons); sample_fresh.
    kind "image": train/test (N, 1, H, W) float32; train_labels/test_labels (N,) int64.
    kind "text":  train/test (N,) int64 token ids; vocab (sorted characters); encode/decode.
    """

    name: str
    kind: str  # "2d" | "image" | "text"
    train: np.ndarray
    test: np.ndarray | None
    shape: tuple  # one example's shape: (2,), (1, H, W), or () for one token
    source: str  # one line: where the data comes from
    centres: np.ndarray | None = None
    std: float | None = None
    train_labels: np.ndarray | None = None
    test_labels: np.ndarray | None = None
    vocab: list[str] | None = None
    distribution: object | None = field(default=None, repr=False)  # 2D: the Mixture2D / curve it samples
    tokenizer: text.CharTokenizer | None = field(default=None, repr=False)

    def sample_fresh(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n new i.i.d. points (n, 2) float32 from the 2D distribution itself (not from train)."""
        if self.distribution is None:
            raise ValueError(f"{self.name} is a {self.kind} dataset; sample_fresh exists only for 2D data")
        return self.distribution.sample(n, rng)

    def value_range(self) -> tuple[float, float]:
        """(lowest, highest) value in the training split: [-1, 1] for digits, [0, 1] for digits-binary."""
        return float(self.train.min()), float(self.train.max())

    def encode(self, string: str) -> np.ndarray:
        return self._require_tokenizer().encode(string)

    def decode(self, ids) -> str:
        return self._require_tokenizer().decode(ids)

    def _require_tokenizer(self) -> text.CharTokenizer:
        if self.tokenizer is None:
            raise ValueError(f"{self.name} is a {self.kind} dataset; encode/decode exist only for text")
        return self.tokenizer


def first_n(array: np.ndarray, n_train: int | None, name: str) -> np.ndarray:
    """The first n_train examples (all when None); ValueError when more are asked for than exist."""
    if n_train is None:
        return array
    if n_train > len(array):
        raise ValueError(f"n_train={n_train} but {name} has only {len(array)} training examples")
    return array[:n_train]


def build_2d(name: str, seed: int, n_train: int | None, **_) -> Dataset:
    distribution = mixtures.DISTRIBUTIONS_2D[name]
    rng = np.random.default_rng(seed)
    train = distribution.sample(N_TRAIN_2D if n_train is None else n_train, rng)  # (N, 2)
    test = distribution.sample(N_TEST_2D, rng)  # drawn after train, from the same stream
    return Dataset(
        name=name,
        kind="2d",
        train=train,
        test=test,
        shape=(2,),
        source=DATASETS[name].source,
        centres=distribution.centres,
        std=distribution.std,
        distribution=distribution,
    )


def build_image(name: str, arrays: dict[str, np.ndarray], source: str, n_train: int | None) -> Dataset:
    return Dataset(
        name=name,
        kind="image",
        train=first_n(arrays["train"], n_train, name),
        test=arrays["test"],
        shape=arrays["train"].shape[1:],
        source=source,
        train_labels=first_n(arrays["train_labels"], n_train, name),
        test_labels=arrays["test_labels"],
    )


def build_digits(name: str, n_train: int | None, **_) -> Dataset:
    arrays = images.load_digits_arrays(binary=(name == "digits-binary"))
    return build_image(name, arrays, DATASETS[name].source, n_train)


def build_mnist(name: str, n_train: int | None, data_dir: str | os.PathLike | None, **_) -> Dataset:
    arrays = images.load_mnist_arrays(data_dir)
    return build_image(name, arrays, f"MNIST IDX files in {Path(data_dir).resolve()}", n_train)


def build_text_from(name: str, full_text: str, source: str, n_train: int | None) -> Dataset:
    tokenizer = text.CharTokenizer.from_text(full_text)  # vocabulary of the whole text, before the split
    train_text, test_text = text.split_text(full_text, source)
    return Dataset(
        name=name,
        kind="text",
        train=first_n(tokenizer.encode(train_text), n_train, name),
        test=tokenizer.encode(test_text),
        shape=(),
        source=source,
        vocab=tokenizer.vocab,
        tokenizer=tokenizer,
    )


def build_pydoc(name: str, n_train: int | None, **_) -> Dataset:
    return build_text_from(name, text.pydoc_text(), text.pydoc_source(), n_train)


def build_text_file(name: str, n_train: int | None, text_file: str | os.PathLike | None, **_) -> Dataset:
    if text_file is None:
        raise DataError("the 'text' dataset needs text_file: the path of a UTF-8 text file")
    return build_text_from(name, text.read_text_file(text_file), str(Path(text_file).resolve()), n_train)


@dataclass(frozen=True)
class DatasetInfo:
    """What `scratchgen datasets` lists about a name, plus the function that builds it."""

    name: str
    kind: str
    shape: tuple
    source: str
    build: Callable[..., Dataset] = field(repr=False, compare=False)


DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in [
        DatasetInfo("ring8", "2d", (2,), "8 Gaussians on the unit circle, std 0.01 (PacGAN setup)", build_2d),
        DatasetInfo("grid25", "2d", (2,), "25 Gaussians at {-4,-2,0,2,4}^2, std 0.05 (PacGAN setup)", build_2d),
        DatasetInfo("swissroll", "2d", (2,), "2D swiss roll (make_swiss_roll x-z plane / 7), noise 0.05", build_2d),
        DatasetInfo("moons", "2d", (2,), "two moons (make_moons curves, centred), noise 0.05", build_2d),
        DatasetInfo(
            "digits", "image", (1, 8, 8), "scikit-learn load_digits, 1797 8x8 images in [-1,1], 1437/360 split",
            build_digits,
        ),
        DatasetInfo(
            "digits-binary", "image", (1, 8, 8), "load_digits thresholded at pixel > 8 of 16 -> {0,1}", build_digits
        ),
        DatasetInfo(
            "mnist", "image", (1, 28, 28), "MNIST IDX files (plain or .gz) in --data-dir, scaled to [-1,1]",
            build_mnist,
        ),
        DatasetInfo("pydoc", "text", (), "Python's pydoc_data.topics help text, characters, 90/10 split", build_pydoc),
        DatasetInfo("text", "text", (), "any UTF-8 file given as --text-file, characters, 90/10 split", build_text_file),
    ]
}


def list_datasets() -> list[DatasetInfo]:
    return list(DATASETS.values())


def load_dataset(
    name: str,
    seed: int = 0,
    data_dir: str | os.PathLike | None = None,
    text_file: str | os.PathLike | None = None,
    n_train: int | None = None,
) -> Dataset:
    """Load a dataset by name.

    seed: draws the 2D training and test points; image and text splits are fixed and ignore it.
    data_dir: directory of the MNIST IDX files. text_file: the file for the "text" dataset.
    n_train: 2D, how many training points to draw (default 100_000); images and text, keep only the first
    n_train training examples (images) or tokens (text), for quick runs.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; valid choices: {', '.join(DATASETS)}")
    if text_file is not None and name != "text":
        raise ValueError(f"text_file is only used by the 'text' dataset, not by {name!r}")
    if n_train is not None and (not isinstance(n_train, (int, np.integer)) or n_train < 1):
        raise ValueError(f"n_train must be a positive integer or None, got {n_train!r}")
    return DATASETS[name].build(name=name, seed=seed, n_train=n_train, data_dir=data_dir, text_file=text_file)
