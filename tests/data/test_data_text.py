"""Character text datasets: the pydoc text, any UTF-8 file, the vocabulary and the fixed 90/10 split."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scratchgen.data import CharTokenizer, DataError, load_dataset
from scratchgen.data.text import pydoc_text


@pytest.fixture(scope="module")
def pydoc():
    return load_dataset("pydoc")


def test_pydoc_text_size_and_vocabulary(pydoc):
    n = len(pydoc.train) + len(pydoc.test)
    assert 400_000 < n < 550_000  # about 465k characters (depends a little on the Python version)
    assert 80 <= len(pydoc.vocab) <= 130  # about 100 distinct symbols
    assert pydoc.vocab == sorted(set(pydoc.vocab))
    assert (pydoc.kind, pydoc.shape) == ("text", ())
    assert pydoc.train.dtype == np.int64 and pydoc.test.dtype == np.int64
    assert "pydoc_data.topics" in pydoc.source


def test_pydoc_split_is_first_90_percent_then_last_10(pydoc):
    text = pydoc_text()
    cut = int(0.9 * len(text))
    assert pydoc.decode(pydoc.train) == text[:cut]
    assert pydoc.decode(pydoc.test) == text[cut:]


def test_pydoc_ids_index_the_sorted_vocabulary(pydoc):
    assert pydoc.encode(" ") == pydoc.vocab.index(" ")
    np.testing.assert_array_equal(pydoc.encode(pydoc.vocab[0] + pydoc.vocab[-1]), [0, len(pydoc.vocab) - 1])
    assert pydoc.train.max() == len(pydoc.vocab) - 1 or pydoc.test.max() == len(pydoc.vocab) - 1


@settings(max_examples=50, deadline=None)
@given(st.text(min_size=1, max_size=200))
def test_tokenizer_round_trips_any_text(text):
    tokenizer = CharTokenizer.from_text(text)
    ids = tokenizer.encode(text)
    assert ids.dtype == np.int64 and ids.shape == (len(text),)
    assert tokenizer.decode(ids) == text
    assert ids.max() < len(tokenizer.vocab)


def test_tokenizer_rejects_unknown_characters_and_ids():
    tokenizer = CharTokenizer.from_text("abc")
    with pytest.raises(ValueError, match="'z'"):
        tokenizer.encode("abz")
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        tokenizer.decode([0, 3])


def test_text_file_dataset(tmp_path):
    path = tmp_path / "poem.txt"
    content = "héllo wörld, ünïcode ✓\n" * 10  # 230 characters
    path.write_text(content, encoding="utf-8")
    d = load_dataset("text", text_file=path)
    assert d.name == "text" and d.kind == "text"
    assert d.vocab == sorted(set(content))
    assert len(d.train) == 207 and len(d.test) == 23
    assert d.decode(np.concatenate([d.train, d.test])) == content
    assert str(path.resolve()) in d.source
    short = load_dataset("text", text_file=path, n_train=50)
    np.testing.assert_array_equal(short.train, d.train[:50])


def test_text_dataset_needs_a_file():
    with pytest.raises(DataError, match="text_file"):
        load_dataset("text")


@pytest.mark.parametrize(
    "content, message",
    [(None, "no such text file"), (b"", "empty"), (b"ok \xff\xfe bad", "UTF-8"), (b"a", "too short")],
    ids=["missing", "empty", "not-utf8", "one-char"],
)
def test_bad_text_files_raise_data_error_naming_the_file(tmp_path, content, message):
    path = tmp_path / "input.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DataError, match=message) as info:
        load_dataset("text", text_file=path)
    assert "input.txt" in str(info.value)


def test_encode_decode_only_for_text():
    with pytest.raises(ValueError, match="text"):
        load_dataset("ring8", n_train=10).decode([0])
