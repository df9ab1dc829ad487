"""The kernel registry: the one place where device and kernel choice happen.

The heavy ops (matmul, convolution, attention) do not call NumPy directly; they ask the
registry for a kernel:

    kernel("conv2d_forward", x)(x, w, stride, padding, dilation, groups)

Each op name has a plain reference implementation (NumPy/CuPy, in reference_kernels.py)
and may have faster ones registered under other names (Numba on the CPU, CUDA C on the
GPU). The reference is the oracle every other kernel is tested against.

    register("matmul", "numba", devices=("cpu",))(fast_matmul)
    use("matmul", "numba")           # choose it for every later call
    with using(matmul="reference"):  # or temporarily
        ...
"""
import contextlib

from . import backend

_kernels = {}      # op name -> {kernel name -> (function, devices)}
_selected = {}     # op name -> kernel name chosen by the user
REFERENCE = "reference"


def register(op, name, devices=("cpu", "cuda")):
    """Decorator: make `fn` available as kernel `name` of `op` on `devices`."""
    def decorate(fn):
        _kernels.setdefault(op, {})[name] = (fn, tuple(devices))
        return fn
    return decorate


def available(op=None):
    """{op: [kernel names]} (or the names for one op)."""
    if op is not None:
        return sorted(_kernels.get(op, {}))
    return {name: sorted(kernels) for name, kernels in _kernels.items()}


def use(op, name):
    """Select kernel `name` for `op` from now on ('reference' restores the default)."""
    if op not in _kernels:
        raise KeyError(f"unknown op {op!r}; registered ops: {sorted(_kernels)}")
    if name not in _kernels[op]:
        raise KeyError(f"op {op!r} has no kernel {name!r}; available: {available(op)}")
    _selected[op] = name


@contextlib.contextmanager
def using(**choices):
    previous = dict(_selected)
    try:
        for op, name in choices.items():
            use(op, name)
        yield
    finally:
        _selected.clear()
        _selected.update(previous)


def kernel(op, like):
    """The kernel chosen for `op` on the device of array `like` (the reference otherwise)."""
    device = backend.device_of(like)
    name = _selected.get(op, REFERENCE)
    fn, devices = _kernels[op][name]
    if device not in devices:  # e.g. a Numba kernel asked to run on CuPy arrays
        fn, _ = _kernels[op][REFERENCE]
    return fn


from . import reference_kernels  # noqa: E402,F401  (registers the reference kernels)
