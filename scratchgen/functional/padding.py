"""F.pad with PyTorch's convention: `pad` lists (before, after) widths from the last axis
backwards, (left, right, top, bottom, front, back, ...), and four modes:

    constant    x[i] outside the input is `value`            [a b c] -> 0 0 | a b c | 0 0
    reflect     mirrored about the edge, the edge not repeated [a b c] -> c b | a b c | b a
    replicate   the edge value repeated                        [a b c] -> a a | a b c | c c
    circular    wrapped around (periodic)                      [a b c] -> b c | a b c | a b

Every mode but constant copies input elements, so padding one axis is a gather
y = x[src] with an index map src, and its gradient the adjoint scatter-add
dx[j] = sum over {i : src[i] = j} of dy[i] (the padded region's gradient is added back to
the elements it copied). Both are existing differentiable ops (indexing and its adjoint),
so gradients of every order follow.
"""
import numpy as np

from ..engine import backend
from ..engine.ops.shape import Pad
from ..errors import ShapeError

MODES = ("constant", "reflect", "replicate", "circular")


def _widths(pad, ndim):
    """torch's flat pad tuple -> one (before, after) pair per axis, NumPy's order."""
    if not isinstance(pad, (tuple, list)):
        raise TypeError(f"pad: pad must be a tuple of ints (left, right, top, bottom, ...), "
                        f"got {pad!r} (a {type(pad).__name__})")
    if any(isinstance(p, (bool, np.bool_)) or not isinstance(p, (int, np.integer)) for p in pad):
        raise TypeError(f"pad: pad must hold ints, got {tuple(pad)!r}")
    if len(pad) % 2 or len(pad) > 2 * ndim:
        raise ShapeError(f"pad: pad {tuple(pad)} must have an even length of at most "
                         f"2 * ndim = {2 * ndim} for an input with {ndim} dimensions")
    if any(p < 0 for p in pad):
        raise ValueError(f"pad: negative pad widths are not supported (PyTorch crops there; "
                         f"slice the tensor instead), got {tuple(pad)}")
    pairs = [(0, 0)] * ndim
    for k in range(len(pad) // 2):
        pairs[ndim - 1 - k] = (int(pad[2 * k]), int(pad[2 * k + 1]))
    return pairs


def _sources(n, before, after, mode):
    """Index map of one padded axis: padded position i copies input element src[i]."""
    i = np.arange(-before, n + after)
    if mode == "reflect":
        return np.where(i < 0, -i, np.where(i > n - 1, 2 * (n - 1) - i, i))
    if mode == "replicate":
        return np.clip(i, 0, n - 1)
    return i % n  # circular


def pad(x, pad, mode="constant", value=0):
    """Pad x by `pad` = (left, right, top, bottom, ...) (the last axis first, as PyTorch).

    mode 'constant' fills with `value`; 'reflect' needs each width < the axis size,
    'circular' each width <= the axis size, as in PyTorch. Widths must be >= 0."""
    if mode not in MODES:
        raise ValueError(f"pad: mode must be one of {', '.join(MODES)}, got {mode!r}")
    pairs = _widths(pad, x.ndim)
    if mode == "constant":
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
            raise TypeError(f"pad: value must be a number, got {value!r}")
        return Pad(pairs, value)(x) if any(b or a for b, a in pairs) else x
    if value not in (0, None):
        raise ValueError(f"pad: value= is only used by mode='constant', got value={value!r} "
                         f"with mode={mode!r}")
    y = x
    for axis, (before, after) in enumerate(pairs):
        if not (before or after):
            continue
        n = x.shape[axis]
        if n == 0:
            raise ShapeError(f"pad: mode={mode!r} cannot pad axis {axis} of shape {x.shape}, "
                             "which is empty")
        if mode == "reflect" and max(before, after) >= n:
            raise ShapeError(f"pad: reflect padding must be smaller than the size of the "
                             f"padded axis, got padding ({before}, {after}) for axis {axis} of "
                             f"input shape {x.shape}")
        if mode == "circular" and max(before, after) > n:
            raise ShapeError(f"pad: circular padding must be at most the size of the padded "
                             f"axis (it would wrap around more than once), got padding "
                             f"({before}, {after}) for axis {axis} of input shape {x.shape}")
        src = backend.to_device(_sources(n, before, after, mode), y.device)
        y = y[(slice(None),) * axis + (src,)]
    return y
