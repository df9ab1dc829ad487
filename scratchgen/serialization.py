"""save / load: nested dicts of arrays in a .npz file, never pickle, always atomic.

Layout of the file:
    "__scratchgen__"   a JSON manifest: format version and, for every leaf, its key and kind
    "<a>/<b>/<c>"      one array per leaf, keyed by its path in the nested dict

Leaves may be arrays, Tensors (stored as arrays), Python ints, floats, bools, strings and
None; containers may be dicts (string keys) and lists/tuples. The file is written to a
temporary file in the same directory, flushed to disk, then renamed over the target, so a
crash mid-write never leaves a half-written checkpoint where a good one was.
"""
import io
import json
import os
import tempfile
import zipfile

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
    arrays = {}
    tree = _flatten(state, "", arrays)
    manifest = json.dumps({"format": FORMAT, "version": VERSION, "tree": tree})
    buffer = io.BytesIO()
    np.savez(buffer, **{MANIFEST_KEY: np.frombuffer(manifest.encode(), dtype=np.uint8)},
             **arrays)
    atomic_write(path, buffer.getvalue())


def atomic_write(path, payload):
    """Write bytes to `path` so that it holds either the old file or the whole new one.

    The bytes go to a temporary file in the same directory, are flushed to disk, and the
    temporary file is renamed over `path` (a rename within a file system is atomic)."""
    if isinstance(payload, str):
        payload = payload.encode()
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=os.path.splitext(path)[1], dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load(path):
    """Read what `save` wrote. A missing, truncated or foreign file raises CheckpointError."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        contents = np.load(path, allow_pickle=False)
        if not isinstance(contents, np.lib.npyio.NpzFile):
            raise CheckpointError(f"{path} is a single .npy array, not a scratchgen checkpoint "
                                  "(.npz)")
        with contents as npz:
            if MANIFEST_KEY not in npz.files:
                raise CheckpointError(f"{path} is an .npz file but not a scratchgen checkpoint "
                                      f"(it has no {MANIFEST_KEY!r} entry)")
            manifest = json.loads(npz[MANIFEST_KEY].tobytes().decode())
            if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
                raise CheckpointError(f"{path} is not a scratchgen checkpoint")
            if manifest.get("version", 0) > VERSION:
                raise CheckpointError(f"{path} was written by a newer scratchgen (format "
                                      f"version {manifest['version']}, this one reads {VERSION})")
            arrays = {key: npz[key] for key in npz.files if key != MANIFEST_KEY}
            return _unflatten(manifest["tree"], arrays)
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError,
            json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path} is not a readable scratchgen checkpoint (truncated or "
                              f"corrupted?): {type(exc).__name__}: {exc}") from None
