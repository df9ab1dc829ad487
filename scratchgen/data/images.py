"""Image datasets: scikit-learn's 8x8 digits (shipped with scikit-learn, so always offline) and MNIST from IDX files.

All images come back NCHW float32: (N, 1, H, W). Grey levels are scaled to [-1, 1], except `digits-binary`,
which is {0, 1} for models with binary visible units (RBMs, Bernoulli decoders).
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from scratchgen.data.errors import DataError

# The digits train/test split is fixed once, independent of any training seed, so that every run and every
# model is scored on the same 360 test images.
DIGITS_SPLIT_SEED = 0
DIGITS_N_TEST = 360  # of 1797: 1437 train / 360 test, about 80/20
DIGITS_MAX_LEVEL = 16.0  # load_digits pixels are counts 0..16 (4x4 blocks of a 32x32 bitmap)
DIGITS_BINARY_THRESHOLD = 8  # digits-binary: pixel > 8 (of 16) -> 1, else 0


def scale_to_pm1(pixels: np.ndarray, max_level: float) -> np.ndarray:
    """Map grey levels 0..max_level linearly onto [-1, 1] (float32)."""
    return (pixels.astype(np.float32) / np.float32(max_level)) * 2 - 1


def digits_split_indices(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The fixed (train, test) index split of the n digits images."""
    order = np.random.default_rng(DIGITS_SPLIT_SEED).permutation(n)
    return order[DIGITS_N_TEST:], order[:DIGITS_N_TEST]


def load_digits_arrays(binary: bool) -> dict[str, np.ndarray]:
    """train, test (N, 1, 8, 8) float32 and train_labels, test_labels (N,) int64."""
    # Imported here, not at module top: scikit-learn takes about a second to import and only this loader needs it.
    from sklearn.datasets import load_digits

    bunch = load_digits()
    levels = bunch.images  # (1797, 8, 8) float64, values 0..16
    labels = bunch.target.astype(np.int64)  # (1797,)
    if binary:
        images = (levels > DIGITS_BINARY_THRESHOLD).astype(np.float32)
    else:
        images = scale_to_pm1(levels, DIGITS_MAX_LEVEL)
    images = images[:, None, :, :]  # (1797, 8, 8) -> (1797, 1, 8, 8)
    train_idx, test_idx = digits_split_indices(len(images))
    return {
        "train": images[train_idx],
        "test": images[test_idx],
        "train_labels": labels[train_idx],
        "test_labels": labels[test_idx],
    }


# ---------------------------------------------------------------------------------------------------------------
# IDX reader (the format of the MNIST files, http://yann.lecun.com/exdb/mnist/):
#   bytes 0-1  zero
#   byte  2    element type code (below)
#   byte  3    number of dimensions d
#   then d big-endian uint32 sizes, then the elements, big-endian, row-major.

IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file, gzipped or plain (recognised by content, not by name), into an array of its shape.

    Raises DataError naming the file when it is missing, not gzip data although it starts like it, or when the
    magic number, type code, dimensions or payload length are wrong.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    raw = path.read_bytes()
    if raw[:2] == GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as err:  # BadGzipFile is an OSError; a cut-off stream raises EOFError
            raise DataError(f"{path}: corrupt or truncated gzip data ({err})") from err

    if len(raw) < 4:
        raise DataError(f"{path}: file is {len(raw)} bytes, too short for the 4-byte IDX magic number")
    if raw[0] != 0 or raw[1] != 0:
        raise DataError(f"{path}: bad IDX magic number {raw[:4].hex()} (the first two bytes must be zero)")
    type_code, n_dims = raw[2], raw[3]
    if type_code not in IDX_DTYPES:
        known = ", ".join(f"0x{code:02X}" for code in IDX_DTYPES)
        raise DataError(f"{path}: unknown IDX element type code 0x{type_code:02X} (known: {known})")
    if n_dims == 0:
        raise DataError(f"{path}: IDX header declares 0 dimensions")

    header_len = 4 + 4 * n_dims
    if len(raw) < header_len:
        raise DataError(f"{path}: truncated header: {n_dims} dimensions need {header_len} bytes, file has {len(raw)}")
    shape = tuple(int(size) for size in np.frombuffer(raw, dtype=">u4", count=n_dims, offset=4))
    dtype = IDX_DTYPES[type_code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    payload = len(raw) - header_len
    if payload != expected:
        problem = "truncated" if payload < expected else "has trailing bytes"
        raise DataError(
            f"{path}: payload {problem}: shape {shape} of {dtype} needs {expected} bytes, found {payload}"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header_len).reshape(shape)
    return data.astype(dtype.newbyteorder("="))  # native byte order, and a writable copy


MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def find_idx_file(data_dir: Path, stem: str) -> Path:
    """data_dir/stem, or data_dir/stem.gz; DataError listing both names when neither exists."""
    for candidate in (data_dir / stem, data_dir / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    raise DataError(f"{data_dir}: missing MNIST file {stem} (or {stem}.gz)")


def read_idx_images_and_labels(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataError(f"{images_path}: expected (N, H, W) uint8 images, found {images.shape} {images.dtype}")
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise DataError(f"{labels_path}: expected (N,) uint8 labels, found {labels.shape} {labels.dtype}")
    if len(images) != len(labels):
        raise DataError(f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} labels")
    return images, labels


def load_mnist_arrays(data_dir: str | os.PathLike | None) -> dict[str, np.ndarray]:
    """MNIST (or any dataset in the same four IDX files, e.g. Fashion-MNIST) from data_dir.

    train, test: (N, 1, H, W) float32 in [-1, 1]; train_labels, test_labels: (N,) int64.
    """
    if data_dir is None:
        raise DataError("mnist needs data_dir: a directory holding the four MNIST IDX files (plain or .gz)")
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(f"{data_dir}: MNIST data directory does not exist")
    paths = {key: find_idx_file(data_dir, stem) for key, stem in MNIST_FILES.items()}
    train_images, train_labels = read_idx_images_and_labels(paths["train_images"], paths["train_labels"])
    test_images, test_labels = read_idx_images_and_labels(paths["test_images"], paths["test_labels"])
    if train_images.shape[1:] != test_images.shape[1:]:
        raise DataError(
            f"{data_dir}: train images are {train_images.shape[1:]} but test images are {test_images.shape[1:]}"
        )
    return {
        "train": scale_to_pm1(train_images, 255)[:, None, :, :],  # (N, H, W) -> (N, 1, H, W)
        "test": scale_to_pm1(test_images, 255)[:, None, :, :],
        "train_labels": train_labels.astype(np.int64),
        "test_labels": test_labels.astype(np.int64),
    }
