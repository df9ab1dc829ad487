"""scratchgen.save / scratchgen.load: exact round trips of nested state, atomic writes,
clear errors for files that are not checkpoints, and no pickle anywhere."""
import json
import math
import os
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import scratchgen as sg

DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
          "float16", "float32", "float64", "complex64", "complex128", ">i4", ">f8"]

arrays = hnp.arrays(dtype=st.sampled_from(DTYPES).map(np.dtype),
                    shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
leaves = st.one_of(arrays, st.none(), st.booleans(), st.integers(-2**80, 2**80),
                   st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8))
keys = st.text(min_size=1, max_size=6).filter(lambda k: "/" not in k and k != "__scratchgen__")
trees = st.recursive(leaves, lambda children: st.one_of(
    st.lists(children, max_size=3), st.lists(children, max_size=3).map(tuple),
    st.dictionaries(keys, children, max_size=3)), max_leaves=12)


def assert_same(got, want, path="root"):
    """Equal values and equal types all the way down (bool is not int, tuple is not list)."""
    assert type(got) is type(want), f"{path}: {type(got).__name__} != {type(want).__name__}"
    if isinstance(want, dict):
        assert list(got) == list(want), f"{path}: keys {list(got)} != {list(want)}"
        for k in want:
            assert_same(got[k], want[k], f"{path}/{k}")
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want), f"{path}: length {len(got)} != {len(want)}"
        for i, (a, b) in enumerate(zip(got, want)):
            assert_same(a, b, f"{path}/{i}")
    elif isinstance(want, np.ndarray):
        assert got.dtype == want.dtype and got.shape == want.shape, path
        np.testing.assert_array_equal(got, want, err_msg=path)
    elif isinstance(want, float) and math.isnan(want):
        assert math.isnan(got), path
    else:
        assert got == want, path
        if isinstance(want, float):  # also the sign of zero
            assert math.copysign(1, got) == math.copysign(1, want), path


@settings(max_examples=60)
@given(tree=trees)
def test_nested_state_round_trips_exactly(tmp_path_factory, tree):
    path = tmp_path_factory.mktemp("ckpt") / "state.npz"
    sg.save(tree, path)
    assert_same(sg.load(path), tree)


def test_tensors_are_stored_as_arrays_and_paths_may_be_strings(tmp_path):
    weight = sg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    state = {"weight": weight, "view": np.arange(12).reshape(3, 4).T}  # a non-contiguous view
    sg.save(state, str(tmp_path / "t.npz"))
    loaded = sg.load(str(tmp_path / "t.npz"))
    assert type(loaded["weight"]) is np.ndarray
    np.testing.assert_array_equal(loaded["weight"], weight.data)
    np.testing.assert_array_equal(loaded["view"], state["view"])


def test_the_file_is_a_plain_npz_readable_without_pickle(tmp_path):
    sg.save({"a": {"b": np.ones(2)}}, tmp_path / "c.npz")
    with np.load(tmp_path / "c.npz", allow_pickle=False) as npz:
        assert sorted(npz.files) == ["__scratchgen__", "a/b"]
        manifest = json.loads(npz["__scratchgen__"].tobytes().decode())
    assert manifest["format"] == "scratchgen-checkpoint"


def test_pickle_is_never_used(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("pickle was called")

    for name in ("dump", "dumps", "load", "loads"):
        monkeypatch.setattr(pickle, name, refuse)
    state = {"x": np.arange(3), "meta": ["a", 1, None]}
    sg.save(state, tmp_path / "p.npz")
    assert_same(sg.load(tmp_path / "p.npz"), state)


@pytest.mark.parametrize("value", [np.array([1, "a"], dtype=object), np.array(["text"]),
                                   np.array(["2020-01-01"], dtype="datetime64[D]")])
def test_arrays_that_would_need_pickle_are_refused(tmp_path, value):
    with pytest.raises(TypeError, match="at 'nested/0' has dtype .*without pickle"):
        sg.save({"nested": [value]}, tmp_path / "o.npz")
    assert not (tmp_path / "o.npz").exists()


@pytest.mark.parametrize("state, words", [({1: np.ones(1)}, "keys must be non-empty strings"),
                                          ({"a/b": 1}, "without '/'"),
                                          ({"": 1}, "non-empty"),
                                          ({"f": lambda: 0}, "cannot store an object of type")])
def test_unstorable_state_is_a_clear_type_error(tmp_path, state, words):
    with pytest.raises(TypeError, match=words):
        sg.save(state, tmp_path / "bad.npz")


# ---- atomic writes ------------------------------------------------------------------------------

@pytest.mark.parametrize("failing", ["replace", "fsync"])
def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path, monkeypatch, failing):
    target = tmp_path / "model.npz"
    sg.save({"version": 1, "w": np.ones(3)}, target)
    good_bytes = target.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(os, failing, crash)
    with pytest.raises(OSError, match="simulated"):
        sg.save({"version": 2, "w": np.zeros(1000)}, target)
    monkeypatch.undo()
    assert target.read_bytes() == good_bytes
    assert os.listdir(tmp_path) == ["model.npz"]
    assert sg.load(target)["version"] == 1


# ---- files that are not checkpoints --------------------------------------------------------------

def test_truncated_file_is_a_checkpoint_error(tmp_path):
    path = tmp_path / "ckpt.npz"
    sg.save({"w": np.arange(1000.0)}, path)
    data = path.read_bytes()
    for keep in (len(data) // 2, len(data) - 10, 0):
        path.write_bytes(data[:keep])
        with pytest.raises(sg.CheckpointError, match="truncated or corrupted"):
            sg.load(path)


@settings(max_examples=20)
@given(junk=st.binary(min_size=0, max_size=300))
def test_random_bytes_are_a_checkpoint_error(tmp_path_factory, junk):
    path = tmp_path_factory.mktemp("junk") / "junk.npz"
    path.write_bytes(junk)
    with pytest.raises(sg.CheckpointError, match="junk.npz"):
        sg.load(path)


def test_npz_without_manifest_missing_file_and_newer_version_are_checkpoint_errors(tmp_path):
    np.savez(tmp_path / "plain.npz", w=np.ones(2))
    with pytest.raises(sg.CheckpointError, match="not a scratchgen checkpoint"):
        sg.load(tmp_path / "plain.npz")
    with pytest.raises(sg.CheckpointError, match="no checkpoint at"):
        sg.load(tmp_path / "missing.npz")
    manifest = json.dumps({"format": "scratchgen-checkpoint", "version": 99, "tree": {}})
    np.savez(tmp_path / "future.npz",
             __scratchgen__=np.frombuffer(manifest.encode(), dtype=np.uint8))
    with pytest.raises(sg.CheckpointError, match="newer scratchgen"):
        sg.load(tmp_path / "future.npz")


def test_plain_npy_file_is_a_checkpoint_error(tmp_path):
    np.save(tmp_path / "array.npy", np.ones(3))
    with pytest.raises(sg.CheckpointError):
        sg.load(tmp_path / "array.npy")


def test_the_manifest_key_is_refused_with_a_clear_error(tmp_path):
    with pytest.raises(TypeError, match="__scratchgen__.*(reserved|manifest)"):
        sg.save({"__scratchgen__": np.ones(2)}, tmp_path / "k.npz")


def test_a_manifest_that_is_not_an_object_is_a_checkpoint_error(tmp_path):
    np.savez(tmp_path / "m.npz", __scratchgen__=np.frombuffer(b"[1]", np.uint8))
    with pytest.raises(sg.CheckpointError, match="not a scratchgen checkpoint"):
        sg.load(tmp_path / "m.npz")
