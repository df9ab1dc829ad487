"""scratchgen.save fails as a plain open(path, "wb") would, naming the caller's path (never
the temporary file), never replacing a file the caller cannot write, and leaving the old
file byte-identical with no temporary file behind; the new file has a plain write's mode.
scratchgen.load of things that are not checkpoints is a CheckpointError.

Root ignores file modes, so the tests that rely on a mode to refuse a write skip as root;
their logic is also tested by simulating the refusal (os.access saying no)."""
import json
import os
import stat
import tempfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scratchgen as sg

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
needs_non_root = pytest.mark.skipif(IS_ROOT, reason="root ignores file permissions")


def assert_no_temporary_files(folder, *expected):
    assert sorted(os.listdir(folder)) == sorted(expected)


@pytest.fixture
def umask():
    """Set a umask for one test and put the old one back afterwards."""
    old = os.umask(0o022)
    os.umask(old)
    yield lambda mask: os.umask(mask)
    os.umask(old)


def test_a_missing_folder_is_named_with_the_callers_path(tmp_path):
    target = tmp_path / "no" / "such" / "folder" / "model.npz"
    with pytest.raises(FileNotFoundError, match="cannot write .*model.npz.*does not exist") as info:
        sg.save({"w": np.ones(2)}, target)
    assert str(target) in str(info.value) and ".tmp-" not in str(info.value)
    assert_no_temporary_files(tmp_path)


def test_a_folder_in_the_way_is_an_error_and_is_left_alone(tmp_path):
    (tmp_path / "model.npz").mkdir()
    (tmp_path / "model.npz" / "inside").write_text("keep")
    with pytest.raises(IsADirectoryError, match="model.npz.*is a folder, not a file"):
        sg.save({"w": np.ones(2)}, tmp_path / "model.npz")
    assert (tmp_path / "model.npz" / "inside").read_text() == "keep"
    (tmp_path / "file").write_text("a file")
    with pytest.raises(NotADirectoryError, match="file.*is not a folder"):
        sg.save({"w": np.ones(2)}, tmp_path / "file" / "model.npz")
    assert_no_temporary_files(tmp_path, "model.npz", "file")


def test_none_or_a_non_path_is_a_clear_type_error(tmp_path):
    for bad in (None, 3, ["a.npz"]):
        with pytest.raises(TypeError, match="save: expected a file path"):
            sg.save({"w": 1}, bad)
    with pytest.raises(ValueError, match="path is empty"):
        sg.save({"w": 1}, "")


@needs_non_root
def test_a_read_only_file_is_not_replaced(tmp_path):
    target = tmp_path / "model.npz"
    sg.save({"w": np.ones(2)}, target)
    old = target.read_bytes()
    target.chmod(0o444)
    with pytest.raises(PermissionError, match="model.npz.*read-only"):
        sg.save({"w": np.zeros(2)}, target)
    assert target.read_bytes() == old
    assert_no_temporary_files(tmp_path, "model.npz")


@needs_non_root
def test_a_folder_without_write_permission_is_named(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(PermissionError, match="locked.*model.npz.*no permission"):
            sg.save({"w": np.ones(2)}, folder / "model.npz")
        assert os.listdir(folder) == []
    finally:
        folder.chmod(0o755)


def test_a_file_the_caller_may_not_write_is_left_as_it_was(tmp_path, monkeypatch):
    """As test_a_read_only_file_is_not_replaced, with the refusal simulated (runs as root)."""
    target = tmp_path / "model.npz"
    sg.save({"w": np.ones(2)}, target)
    old = target.read_bytes()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if os.fspath(p) == str(target)
                        else real_access(p, mode))
    with pytest.raises(PermissionError, match="model.npz.*read-only"):
        sg.save({"w": np.zeros(2)}, target)
    monkeypatch.undo()
    assert target.read_bytes() == old
    assert_no_temporary_files(tmp_path, "model.npz")


@pytest.mark.parametrize("where", ["mkstemp", "replace", "fsync", "write"])
def test_a_failure_names_the_callers_path_not_the_temporary_file(tmp_path, monkeypatch, where):
    target = tmp_path / "model.npz"
    sg.save({"w": np.ones(3)}, target)
    old = target.read_bytes()
    secret = str(tmp_path / ".tmp-abc123.npz")

    def fail(*args, **kwargs):
        raise PermissionError(13, "Permission denied", secret)

    if where == "mkstemp":
        monkeypatch.setattr(tempfile, "mkstemp", fail)
    elif where == "write":
        real_fdopen = os.fdopen

        class FailingFile:
            def __init__(self, f):
                self.f = f

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.f.close()

            def write(self, data):
                raise OSError(28, "No space left on device", secret)

        monkeypatch.setattr(os, "fdopen", lambda fd, mode: FailingFile(real_fdopen(fd, mode)))
    else:
        monkeypatch.setattr(os, where, fail)
    with pytest.raises(OSError) as info:
        sg.save({"w": np.zeros(1000)}, target)
    monkeypatch.undo()
    message = str(info.value)
    assert str(target) in message and "tmp-abc123" not in message and ".tmp-" not in message
    assert info.value.errno in (13, 28)
    assert target.read_bytes() == old
    assert_no_temporary_files(tmp_path, "model.npz")


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_a_new_file_gets_the_mode_of_a_plain_write(tmp_path, umask, mask):
    umask(mask)
    sg.save({"w": np.ones(2)}, tmp_path / "new.npz")
    with open(tmp_path / "plain", "wb") as f:
        f.write(b"x")
    mode = stat.S_IMODE(os.stat(tmp_path / "new.npz").st_mode)
    assert mode == 0o666 & ~mask == stat.S_IMODE(os.stat(tmp_path / "plain").st_mode)


def test_an_existing_file_keeps_its_mode(tmp_path, umask):
    umask(0o022)
    target = tmp_path / "model.npz"
    sg.save({"w": np.ones(2)}, target)
    target.chmod(0o640)
    sg.save({"w": np.zeros(2)}, target)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640
    np.testing.assert_array_equal(sg.load(target)["w"], np.zeros(2))


def test_a_symbolic_link_is_written_through(tmp_path):
    real = tmp_path / "real.npz"
    sg.save({"w": np.ones(2)}, real)
    link = tmp_path / "link.npz"
    link.symlink_to(real)
    sg.save({"w": np.zeros(2)}, link)
    assert link.is_symlink()
    np.testing.assert_array_equal(sg.load(real)["w"], np.zeros(2))
    assert_no_temporary_files(tmp_path, "real.npz", "link.npz")


# ---- load ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [None, 3, 2.5, ["x.npz"], ""])
def test_load_of_something_that_is_not_a_path_is_a_checkpoint_error(bad):
    with pytest.raises(sg.CheckpointError, match="load: (expected a file path|the file path is "
                                                 "empty)"):
        sg.load(bad)


def test_load_of_a_folder_is_a_checkpoint_error(tmp_path):
    with pytest.raises(sg.CheckpointError, match="is a folder, not a checkpoint file"):
        sg.load(tmp_path)


@needs_non_root
def test_load_of_an_unreadable_file_says_so(tmp_path):
    target = tmp_path / "model.npz"
    sg.save({"w": 1}, target)
    target.chmod(0o000)
    with pytest.raises(sg.CheckpointError, match="cannot read.*permission denied"):
        sg.load(target)


def write_manifest(path, manifest, **arrays):
    text = manifest if isinstance(manifest, str) else json.dumps(manifest)
    np.savez(path, __scratchgen__=np.frombuffer(text.encode(), dtype=np.uint8), **arrays)


GOOD_TREE = {"dict": {"w": {"array": "w"}}}


@pytest.mark.parametrize("manifest, words", [
    ([1, 2], "not a scratchgen checkpoint"),
    ("\"text\"", "not a scratchgen checkpoint"),
    ("42", "not a scratchgen checkpoint"),
    ("null", "not a scratchgen checkpoint"),
    ({"version": 1, "tree": GOOD_TREE}, "not a scratchgen checkpoint"),
    ({"format": "other", "version": 1, "tree": GOOD_TREE}, "not a scratchgen checkpoint"),
    ({"format": "scratchgen-checkpoint", "version": "1", "tree": GOOD_TREE},
     "format version is '1', expected an integer"),
    ({"format": "scratchgen-checkpoint", "version": True, "tree": GOOD_TREE}, "version is True"),
    ({"format": "scratchgen-checkpoint", "version": 1.5, "tree": GOOD_TREE}, "version is 1.5"),
    ({"format": "scratchgen-checkpoint", "tree": GOOD_TREE}, "version is None"),
    ({"format": "scratchgen-checkpoint", "version": 0, "tree": GOOD_TREE},
     "unknown checkpoint format version 0"),
    ({"format": "scratchgen-checkpoint", "version": -3, "tree": GOOD_TREE}, "version -3"),
    ({"format": "scratchgen-checkpoint", "version": 2, "tree": GOOD_TREE}, "newer scratchgen"),
    ({"format": "scratchgen-checkpoint", "version": 1}, "no valid 'tree'"),
    ({"format": "scratchgen-checkpoint", "version": 1, "tree": [1]}, "no valid 'tree'"),
    ({"format": "scratchgen-checkpoint", "version": 1, "tree": {"dict": {"w": {"array": "v"}}}},
     "truncated or corrupted"),
    ({"format": "scratchgen-checkpoint", "version": 1, "tree": {"dict": {"w": 3}}},
     "truncated or corrupted"),
    ({"format": "scratchgen-checkpoint", "version": 1, "tree": {"dict": [1]}},
     "truncated or corrupted"),
    ("{not json", "truncated or corrupted")])
def test_a_manifest_of_the_wrong_type_or_version_is_a_checkpoint_error(tmp_path, manifest, words):
    write_manifest(tmp_path / "m.npz", manifest, w=np.ones(2))
    with pytest.raises(sg.CheckpointError, match=words):
        sg.load(tmp_path / "m.npz")


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=False),
              st.text(max_size=4)),
    lambda children: st.one_of(st.lists(children, max_size=3),
                               st.dictionaries(st.sampled_from(["dict", "list", "tuple", "array",
                                                                "value", "w", "format",
                                                                "version", "tree"]),
                                               children, max_size=3)), max_leaves=10)


@settings(max_examples=40)
@given(tree=json_values, version=st.one_of(st.integers(-1, 3), json_values))
def test_any_manifest_loads_or_is_a_checkpoint_error(tmp_path_factory, tree, version):
    """Never another exception, whatever the manifest holds."""
    path = tmp_path_factory.mktemp("m") / "m.npz"
    write_manifest(path, {"format": "scratchgen-checkpoint", "version": version, "tree": tree},
                   w=np.ones(2))
    try:
        sg.load(path)
    except sg.CheckpointError as exc:
        assert str(path) in str(exc)


def test_a_failed_save_of_unstorable_state_leaves_the_file_byte_identical(tmp_path):
    target = tmp_path / "model.npz"
    sg.save({"w": np.arange(4.0)}, target)
    old = target.read_bytes()
    with pytest.raises(TypeError, match="cannot store an object of type function"):
        sg.save({"w": np.zeros(4), "f": lambda: 0}, target)
    assert target.read_bytes() == old
    assert_no_temporary_files(tmp_path, "model.npz")
