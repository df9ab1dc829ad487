"""The one random number generator scratchgen draws from.

`manual_seed(n)` makes every draw (initialisation, dropout, randn, samplers) repeatable.
Draws happen on the CPU with NumPy's PCG64 and are moved to the device afterwards, so a
seed gives the same numbers on every device. `get_state`/`set_state` let checkpoints
save and restore the generator exactly.
"""
import numpy as np

_generator = np.random.default_rng(0)


def manual_seed(seed):
    """Seed everything scratchgen draws."""
    global _generator
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"manual_seed expects a non-negative integer, got {seed!r}")
    _generator = np.random.default_rng(int(seed))
    return _generator


def generator():
    """The global numpy Generator (use it for any draw that must follow manual_seed)."""
    return _generator


def get_state():
    """The generator state as a JSON-able dict."""
    return _generator.bit_generator.state


def set_state(state):
    _generator.bit_generator.state = state
