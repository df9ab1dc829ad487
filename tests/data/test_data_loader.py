"""Minibatch iterators: epochs over arrays and random next-token windows."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scratchgen.data import batches, text_batches


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 60), batch_size=st.integers(1, 70), seed=st.integers(0, 1000))
def test_one_epoch_without_drop_last_visits_every_row_once(n, batch_size, seed):
    data = np.arange(n)
    got = list(batches(data, batch_size, np.random.default_rng(seed), drop_last=False))
    assert all(len(b) == batch_size for b in got[:-1]) and 1 <= len(got[-1]) <= batch_size
    assert sorted(np.concatenate(got).tolist()) == list(range(n))


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 60), batch_size=st.integers(1, 60), seed=st.integers(0, 1000))
def test_drop_last_gives_only_full_batches(n, batch_size, seed):
    if n < batch_size:
        with pytest.raises(ValueError, match="no batches"):
            list(batches(np.arange(n), batch_size, np.random.default_rng(seed)))
        return
    got = list(batches(np.arange(n), batch_size, np.random.default_rng(seed)))
    assert len(got) == n // batch_size and all(len(b) == batch_size for b in got)
    assert len(set(np.concatenate(got).tolist())) == len(got) * batch_size  # no row twice


def test_shuffle_depends_on_the_seed_and_only_on_it():
    data = np.arange(100)
    first = np.concatenate(list(batches(data, 10, np.random.default_rng(1))))
    again = np.concatenate(list(batches(data, 10, np.random.default_rng(1))))
    other = np.concatenate(list(batches(data, 10, np.random.default_rng(2))))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert not np.array_equal(first, data)


def test_no_shuffle_keeps_order_and_needs_no_rng():
    got = list(batches(np.arange(7), 3, None, shuffle=False, drop_last=False))
    assert [b.tolist() for b in got] == [[0, 1, 2], [3, 4, 5], [6]]


def test_several_arrays_stay_aligned_row_by_row():
    images = np.arange(40).reshape(10, 2, 2)
    labels = np.arange(10) * 100
    for x, y in batches((images, labels), 4, np.random.default_rng(0)):
        assert x.shape == (4, 2, 2) and y.shape == (4,)
        np.testing.assert_array_equal(x[:, 0, 0] // 4 * 100, y)


def test_batches_rejects_bad_arguments():
    with pytest.raises(ValueError, match="first dimension"):
        list(batches((np.zeros(3), np.zeros(4)), 2, np.random.default_rng(0)))
    with pytest.raises(ValueError, match="batch_size"):
        list(batches(np.zeros(3), 0, np.random.default_rng(0)))
    with pytest.raises(ValueError, match="rng"):
        list(batches(np.zeros(3), 1, None))


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(2, 80), block_size=st.integers(1, 20), batch_size=st.integers(1, 16), seed=st.integers(0, 10**6)
)
def test_text_batches_y_is_x_shifted_by_one(n, block_size, batch_size, seed):
    tokens = np.arange(n) * 7  # every token tells its position
    if n < block_size + 1:
        with pytest.raises(ValueError, match="block_size"):
            text_batches(tokens, block_size, batch_size, np.random.default_rng(seed))
        return
    x, y = text_batches(tokens, block_size, batch_size, np.random.default_rng(seed))
    assert x.shape == y.shape == (batch_size, block_size)
    assert x.dtype == np.int64 and y.dtype == np.int64
    starts = x[:, 0] // 7
    positions = starts[:, None] + np.arange(block_size)
    np.testing.assert_array_equal(x, tokens[positions])
    np.testing.assert_array_equal(y, tokens[positions + 1])


def test_text_batches_reach_both_ends_of_the_stream_and_follow_the_seed():
    tokens = np.arange(12)
    x, y = text_batches(tokens, 4, 2000, np.random.default_rng(0))
    assert x[:, 0].min() == 0 and y[:, -1].max() == 11  # first and last token both used
    x2, _ = text_batches(tokens, 4, 2000, np.random.default_rng(0))
    np.testing.assert_array_equal(x, x2)
