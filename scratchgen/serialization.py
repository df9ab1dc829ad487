"""save / load: nested dicts of arrays in a .npz file, never pickle, always atomic.

Layout of the file:
    "__scratchgen__"   a JSON manifest: format version and, for every leaf, its key and kind
    "<a>/<b>/<c>"      one array per leaf, keyed by its path in the nested dict

Leaves may be arrays, Tensors (stored as arrays), Python ints, floats, bools, strings and
None; containers may be dicts (string keys) and lists/tuples. The file is written to a
temporary file in the same directory, flushed to disk, then renamed over the target, so a
crash mid-write never leaves a half-written checkpoint where a good one was.

Failures are reported as a plain `open(path, "wb")` would report them, with the path the
caller gave (never the temporary file's name): a missing folder, a folder in the way, no
permission, a read-only existing file (which is not replaced). The new file gets the mode a
plain write would give it: an existing file keeps its mode, a new one gets 0o666 & ~umask.
"""
import io
import json
import numbers
import os
import stat
import tempfile
import zipfile
import zlib

import numpy as np

from .engine import backend
from .engine.tensor import Tensor
from .errors import CheckpointError

FORMAT = "scratchgen-checkpoint"
VERSION = 1
MANIFEST_KEY = "__scratchgen__"


def _flatten(obj, path, arrays):
    """Walk `obj`, putting arrays in `arrays` and describing the structure in `manifest`."""
    if isinstance(obj, dict):
        for key in obj:
            if not isinstance(key, str) or "/" in key or not key:
                raise TypeError(f"save: dict keys must be non-empty strings without '/', "
                                f"got {key!r} at {path or '<root>'}")
        if not path and MANIFEST_KEY in obj:
            raise TypeError(f"save: the top-level key {MANIFEST_KEY!r} is reserved for the "
                            "manifest; rename it")
        return {"dict": {k: _flatten(v, f"{path}/{k}" if path else k, arrays)
                         for k, v in obj.items()}}
    if isinstance(obj, (list, tuple)):
        kind = "list" if isinstance(obj, list) else "tuple"
        return {kind: [_flatten(v, f"{path}/{i}" if path else str(i), arrays)
                       for i, v in enumerate(obj)]}
    if isinstance(obj, Tensor):
        obj = obj.data
    if isinstance(obj, np.ndarray) or backend.array_module(obj) is not np:
        array = backend.to_numpy(obj)
        if array.dtype.kind not in "biufc":
            raise TypeError(f"save: array at {path!r} has dtype {array.dtype}; only numeric "
                            "and boolean arrays can be saved without pickle")
        path = path or "root"
        arrays[path] = array
        return {"array": path}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return {"value": obj}
    if isinstance(obj, np.generic):
        return {"value": obj.item()}
    raise TypeError(f"save: cannot store an object of type {type(obj).__name__} at {path!r}; "
                    "expected dicts, lists, arrays, Tensors, numbers, strings or None")


def _unflatten(node, arrays):
    (kind, body), = node.items()
    if kind == "dict":
        return {k: _unflatten(v, arrays) for k, v in body.items()}
    if kind in ("list", "tuple"):
        items = [_unflatten(v, arrays) for v in body]
        return items if kind == "list" else tuple(items)
    if kind == "array":
        return arrays[body]
    return body


def save(state, path):
    """Write a nested dict of arrays (model and optimizer state) to `path` atomically."""
    path = _check_path(path, "save")
    arrays = {}
    tree = _flatten(state, "", arrays)
    manifest = json.dumps({"format": FORMAT, "version": VERSION, "tree": tree})
    buffer = io.BytesIO()
    np.savez(buffer, **{MANIFEST_KEY: np.frombuffer(manifest.encode(), dtype=np.uint8)},
             **arrays)
    atomic_write(path, buffer.getvalue())


def _check_path(path, op):
    """`path` as a string; a clear error for None and other things that are not paths."""
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, (str, os.PathLike)):
        error = CheckpointError if op == "load" else TypeError
        raise error(f"{op}: expected a file path (a str or pathlib.Path), got "
                    f"{type(path).__name__} {path!r:.60}")
    path = os.fspath(path)
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not path:
        error = CheckpointError if op == "load" else ValueError
        raise error(f"{op}: the file path is empty")
    return path


def _umask():
    """The process's umask, read without changing it where /proc allows."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere: the classic swap, put back at once
    os.umask(mask)
    return mask


def _write_error(exc, path, reason=None):
    """`exc` again (same class, same errno) with a message that names `path`."""
    reason = reason or exc.strerror or str(exc)
    message = f"cannot write {path!r}: {reason}"
    if exc.errno is None:
        return type(exc)(message)
    return type(exc)(exc.errno, message)


def _check_writable(path, shown):
    """Raise as open(path, "wb") would, before any temporary file exists; the messages name
    `shown`, the path the caller gave."""
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise IsADirectoryError(21, f"cannot write {shown!r}: it is a folder, not a file")
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise NotADirectoryError(20, f"cannot write {shown!r}: {directory!r} is not a folder")
    if not os.path.isdir(directory):
        raise FileNotFoundError(2, f"cannot write {shown!r}: the folder {directory!r} does "
                                   "not exist")
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise PermissionError(13, f"cannot write {shown!r}: the file is read-only (it was "
                                  "left as it is)")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise PermissionError(13, f"cannot write {shown!r}: no permission to create files in "
                                  f"{directory!r}")


def atomic_write(path, payload):
    """Write bytes to `path` so that it holds either the old file or the whole new one.

    The bytes go to a temporary file in the same directory, are flushed to disk, and the
    temporary file is renamed over `path` (a rename within a file system is atomic). A path
    that is a symbolic link is written through, as a plain write would."""
    if isinstance(payload, str):
        payload = payload.encode()
    shown = _check_path(path, "save")
    path = os.path.realpath(shown) if os.path.islink(shown) else shown
    _check_writable(path, shown)
    directory = os.path.dirname(os.path.abspath(path))
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)   # an existing file keeps its mode
    except FileNotFoundError:
        mode = 0o666 & ~_umask()                     # a new one: what open() would give
    except OSError as exc:
        raise _write_error(exc, shown) from None
    try:
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=os.path.splitext(path)[1],
                                   dir=directory)
    except OSError as exc:
        raise _write_error(exc, shown) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            if hasattr(os, "fchmod"):  # mkstemp made it 0o600
                os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _write_error(exc, shown) from None
        raise
    _sync_directory(directory)


def _sync_directory(directory):
    """Flush the rename itself to disk (best effort: not every system can open a folder)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load(path):
    """Read what `save` wrote. A missing, truncated or foreign file raises CheckpointError."""
    path = _check_path(path, "load")
    if not os.path.exists(path):
        raise CheckpointError(f"no checkpoint at {path}")
    if os.path.isdir(path):
        raise CheckpointError(f"{path} is a folder, not a checkpoint file")
    try:
        contents = np.load(path, allow_pickle=False)
    except PermissionError:
        raise CheckpointError(f"cannot read the checkpoint {path}: permission denied") from None
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, zlib.error) as exc:
        raise _unreadable(path, exc) from None
    if not isinstance(contents, np.lib.npyio.NpzFile):
        raise CheckpointError(f"{path} is a single .npy array, not a scratchgen checkpoint "
                              "(.npz)")
    try:
        with contents as npz:
            if MANIFEST_KEY not in npz.files:
                raise CheckpointError(f"{path} is an .npz file but not a scratchgen checkpoint "
                                      f"(it has no {MANIFEST_KEY!r} entry)")
            manifest = json.loads(npz[MANIFEST_KEY].tobytes().decode())
            if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
                raise CheckpointError(f"{path} is not a scratchgen checkpoint (its manifest is "
                                      f"not a {FORMAT!r} manifest)")
            version = manifest.get("version")
            if isinstance(version, bool) or not isinstance(version, numbers.Integral):
                raise CheckpointError(f"{path}: the checkpoint's format version is "
                                      f"{version!r}, expected an integer")
            if version > VERSION:
                raise CheckpointError(f"{path} was written by a newer scratchgen (format "
                                      f"version {version}, this one reads {VERSION})")
            if version < 1:
                raise CheckpointError(f"{path}: unknown checkpoint format version {version} "
                                      f"(this scratchgen reads 1 to {VERSION})")
            if not isinstance(manifest.get("tree"), dict):
                raise CheckpointError(f"{path}: the checkpoint's manifest has no valid 'tree'")
            arrays = {key: npz[key] for key in npz.files if key != MANIFEST_KEY}
            return _unflatten(manifest["tree"], arrays)
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError, TypeError,
            AttributeError, IndexError, zlib.error, json.JSONDecodeError,
            UnicodeDecodeError) as exc:
        raise _unreadable(path, exc) from None


def _unreadable(path, exc):
    return CheckpointError(f"{path} is not a readable scratchgen checkpoint (truncated or "
                           f"corrupted?): {type(exc).__name__}: {exc}")
