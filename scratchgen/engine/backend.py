"""Devices and array modules: the one place that knows about NumPy versus CuPy.

Every op takes its array module from its inputs (`xp = array_module(x)`), so the same
code runs on NumPy arrays (device "cpu") and CuPy arrays (device "cuda"). CuPy is only
imported when a CUDA tensor is asked for, never at import time.
"""
import sys

import numpy as np

from ..errors import DeviceError

DEVICES = ("cpu", "cuda")


def cupy_module():
    """Import CuPy for device "cuda", with a clear error when it or a GPU is missing."""
    try:
        import cupy
    except ImportError as exc:
        raise DeviceError(
            "device 'cuda' needs CuPy, which is not installed; install it with "
            "`pip install scratchgen[cuda]` on a machine with an NVIDIA GPU, or use device='cpu'"
        ) from exc
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDA driver missing or broken
        raise DeviceError(f"device 'cuda' asked for, but CuPy cannot reach a GPU: {exc}") from exc
    if count == 0:
        raise DeviceError("device 'cuda' asked for, but no GPU is present; use device='cpu'")
    return cupy


def check_device(device):
    """Normalise a device name ('cpu', 'cuda', 'cuda:0') to 'cpu' or 'cuda'."""
    if device is None:
        return "cpu"
    name = str(device).split(":")[0]
    if name not in DEVICES:
        raise DeviceError(f"unknown device {device!r}; expected one of {DEVICES}")
    return name


def array_module(*arrays):
    """numpy or cupy, whichever the arrays live in (numpy for Python scalars)."""
    cupy = sys.modules.get("cupy")  # imported only once a CUDA tensor was made
    if cupy is not None:
        for a in arrays:
            if isinstance(a, cupy.ndarray):
                return cupy
    return np


def device_of(array):
    if type(array) is np.ndarray:
        return "cpu"
    return "cuda" if array_module(array) is not np else "cpu"


def module_for(device):
    return cupy_module() if check_device(device) == "cuda" else np


def to_device(array, device):
    """Move an array to a device (a copy only when the device changes)."""
    device = check_device(device)
    if device_of(array) == device:
        return array
    if device == "cuda":
        return cupy_module().asarray(array)
    return array.get()


def to_numpy(array):
    return array if isinstance(array, np.ndarray) else array.get()


def special_functions(xp):
    """scipy.special or its CuPy twin (erf and friends)."""
    if xp is np:
        import scipy.special

        return scipy.special
    import cupyx.scipy.special

    return cupyx.scipy.special


def scatter_add(xp, target, index, values):
    """target[index] += values, with repeated indices accumulating (np.add.at)."""
    if xp is np:
        np.add.at(target, index, values)
    else:
        import cupyx

        cupyx.scatter_add(target, index, values)


def keep_freed_memory():
    """Ask glibc's malloc to keep freed memory in the process instead of returning it to the
    operating system at once (CPU only; a no-op where glibc is absent).

    By default glibc serves blocks above a few hundred kB with mmap and gives them back with
    munmap on free, and trims the heap top above 128 kB. A training step allocates and frees
    hundreds of activation-sized arrays, so each new one page-faults its memory in again: on
    the gpt's step that was about a fifth of the time. Returns True when the settings took.
    """
    import ctypes

    M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3  # from glibc's malloc.h
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    return bool(libc.mallopt(M_MMAP_THRESHOLD, 32 << 20)       # the largest glibc accepts
                and libc.mallopt(M_TRIM_THRESHOLD, 1 << 30)
                and libc.mallopt(M_TOP_PAD, 64 << 20))
