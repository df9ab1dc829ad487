"""Image datasets: the digits split and scaling, the IDX reader on tiny files written here, and MNIST loading."""

import gzip
import struct

import numpy as np
import pytest
from sklearn.datasets import load_digits

from scratchgen.data import DataError, load_dataset, read_idx
from scratchgen.data.images import IDX_DTYPES, MNIST_FILES

# --- digits ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def raw_digits():
    bunch = load_digits()
    return bunch.images, bunch.target


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def test_digits_shapes_dtypes_and_range(digits):
    assert (digits.kind, digits.shape) == ("image", (1, 8, 8))
    assert digits.train.shape == (1437, 1, 8, 8) and digits.test.shape == (360, 1, 8, 8)
    assert digits.train.dtype == np.float32 and digits.test.dtype == np.float32
    assert digits.train_labels.shape == (1437,) and digits.test_labels.dtype == np.int64
    both = np.concatenate([digits.train, digits.test])
    assert both.min() == -1.0 and both.max() == 1.0
    # 17 grey levels 0..16 map to -1 + k/8
    np.testing.assert_allclose(np.unique(both), -1 + np.arange(17) / 8, atol=1e-6)


def test_digits_split_is_a_partition_of_all_1797_images_with_labels_kept(digits, raw_digits):
    images, labels = raw_digits
    levels = np.concatenate([digits.train, digits.test])[:, 0]  # (1797, 8, 8)
    levels = np.rint((levels + 1) * 8).astype(int)  # back to 0..16
    got = sorted(zip(map(bytes, levels.astype(np.uint8)), np.concatenate([digits.train_labels, digits.test_labels])))
    want = sorted(zip(map(bytes, images.astype(np.uint8)), labels.astype(np.int64)))
    assert got == want


def test_digits_split_ignores_the_training_seed(digits):
    other = load_dataset("digits", seed=123)
    np.testing.assert_array_equal(digits.test, other.test)
    np.testing.assert_array_equal(digits.train_labels, other.train_labels)
    # and it is shuffled, not the first 1437 images in file order
    assert not np.array_equal(digits.train_labels, load_digits().target[:1437])


def test_digits_binary_thresholds_at_more_than_8_of_16(digits):
    binary = load_dataset("digits-binary")
    assert binary.train.dtype == np.float32 and set(np.unique(binary.train)) == {0.0, 1.0}
    levels = (digits.train + 1) * 8  # the same split, so images line up
    np.testing.assert_array_equal(binary.train, (levels > 8.5).astype(np.float32))  # level 8 -> 0, 9 -> 1
    np.testing.assert_array_equal(binary.train_labels, digits.train_labels)


def test_n_train_keeps_the_first_images_and_labels(digits):
    small = load_dataset("digits", n_train=100)
    np.testing.assert_array_equal(small.train, digits.train[:100])
    np.testing.assert_array_equal(small.train_labels, digits.train_labels[:100])
    np.testing.assert_array_equal(small.test, digits.test)
    with pytest.raises(ValueError, match="1437"):
        load_dataset("digits", n_train=5000)


# --- IDX reader -----------------------------------------------------------------------------------------------

CODE_OF = {dtype: code for code, dtype in IDX_DTYPES.items()}


def idx_bytes(array: np.ndarray) -> bytes:
    """array in the IDX format, written independently of the reader under test."""
    big_endian = array.astype(array.dtype.newbyteorder(">"))
    code = CODE_OF[big_endian.dtype]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + big_endian.tobytes()


def write(path, payload: bytes, gz: bool = False):
    path.write_bytes(gzip.compress(payload) if gz else payload)
    return path


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_read_idx_round_trips_every_element_type(tmp_path, dtype, gz):
    rng = np.random.default_rng(0)
    array = (rng.standard_normal((3, 4, 5)) * 50).astype(dtype)
    got = read_idx(write(tmp_path / "a.idx", idx_bytes(array), gz))
    assert got.dtype == np.dtype(dtype) and got.shape == (3, 4, 5)
    np.testing.assert_array_equal(got, array)
    got[0, 0, 0] = 1  # a writable array, not a view of immutable bytes


def test_read_idx_detects_gzip_by_content_not_name(tmp_path):
    array = np.arange(6, dtype=np.uint8).reshape(2, 3)
    np.testing.assert_array_equal(read_idx(write(tmp_path / "labels", idx_bytes(array), gz=True)), array)


GOOD = idx_bytes(np.arange(24, dtype=np.uint8).reshape(2, 3, 4))


@pytest.mark.parametrize(
    "payload, message",
    [
        (b"", "too short"),
        (b"\x00\x00", "too short"),
        (b"\x01\x00" + GOOD[2:], "magic"),
        (GOOD[:2] + b"\x07" + GOOD[3:], "type code 0x07"),
        (GOOD[:3] + b"\x00", "0 dimensions"),
        (GOOD[:10], "truncated header"),
        (GOOD[:-1], "payload truncated"),
        (GOOD + b"\x00", "trailing bytes"),
    ],
    ids=["empty", "two-bytes", "magic", "type-code", "zero-dims", "short-header", "short-payload", "extra-bytes"],
)
@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_read_idx_rejects_damaged_files_naming_the_file(tmp_path, payload, message, gz):
    path = write(tmp_path / "bad-idx1-ubyte", payload, gz)
    with pytest.raises(DataError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_read_idx_rejects_a_cut_off_gzip_stream(tmp_path):
    compressed = gzip.compress(GOOD)
    path = tmp_path / "cut.gz"
    path.write_bytes(compressed[: len(compressed) // 2])
    with pytest.raises(DataError, match="gzip") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_idx(tmp_path / "nope")


# --- MNIST from a fake directory ------------------------------------------------------------------------------


def write_fake_mnist(directory, n_train=5, n_test=3, gz=False, size=28):
    rng = np.random.default_rng(0)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, size, size)).astype(np.uint8),
        "train_labels": rng.integers(0, 10, n_train).astype(np.uint8),
        "test_images": rng.integers(0, 256, (n_test, size, size)).astype(np.uint8),
        "test_labels": rng.integers(0, 10, n_test).astype(np.uint8),
    }
    arrays["train_images"][0, 0, :2] = [0, 255]  # make sure both ends of the range appear
    for key, stem in MNIST_FILES.items():
        write(directory / (stem + (".gz" if gz else "")), idx_bytes(arrays[key]), gz)
    return arrays


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_mnist_loads_and_scales_to_pm1(tmp_path, gz):
    arrays = write_fake_mnist(tmp_path, gz=gz)
    d = load_dataset("mnist", data_dir=tmp_path)
    assert (d.kind, d.shape) == ("image", (1, 28, 28))
    assert d.train.shape == (5, 1, 28, 28) and d.test.shape == (3, 1, 28, 28) and d.train.dtype == np.float32
    assert d.train.min() == -1.0 and d.train.max() == 1.0
    np.testing.assert_allclose(d.train[:, 0], arrays["train_images"] / 255 * 2 - 1, atol=1e-6)
    np.testing.assert_array_equal(d.test_labels, arrays["test_labels"])
    assert d.train_labels.dtype == np.int64
    assert str(tmp_path.resolve()) in d.source


def test_mnist_without_data_dir_or_with_a_missing_one(tmp_path):
    with pytest.raises(DataError, match="data_dir"):
        load_dataset("mnist")
    with pytest.raises(DataError, match="does not exist") as info:
        load_dataset("mnist", data_dir=tmp_path / "absent")
    assert str(tmp_path / "absent") in str(info.value)


def test_mnist_missing_one_file_names_it(tmp_path):
    write_fake_mnist(tmp_path)
    (tmp_path / MNIST_FILES["test_labels"]).unlink()
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte"):
        load_dataset("mnist", data_dir=tmp_path)


def test_mnist_image_and_label_counts_must_agree(tmp_path):
    write_fake_mnist(tmp_path)
    write(tmp_path / MNIST_FILES["train_labels"], idx_bytes(np.zeros(4, dtype=np.uint8)))
    with pytest.raises(DataError, match="5 images but .* 4 labels"):
        load_dataset("mnist", data_dir=tmp_path)


def test_mnist_rejects_labels_in_place_of_images(tmp_path):
    write_fake_mnist(tmp_path)
    write(tmp_path / MNIST_FILES["train_images"], idx_bytes(np.zeros(5, dtype=np.uint8)))
    with pytest.raises(DataError, match=r"expected \(N, H, W\) uint8 images"):
        load_dataset("mnist", data_dir=tmp_path)
