"""The kernel registry: the one place where device and kernel choice happen.

The heavy ops (matmul, convolution, attention, the fused ops) do not call NumPy directly;
they hand their raw arrays to the registry, which picks a kernel and runs it:

    call("conv2d_forward", x, w, stride, padding, dilation, groups)

Each op has a plain reference implementation (NumPy/CuPy, in reference_kernels.py) and may
have faster ones registered under other names (Numba on the CPU in kernels/cpu, CUDA C on
the GPU). The reference is the oracle every other kernel is tested against.

Which kernel runs, for an op on the device of its first array argument:

    1. the user's choice (`use`, `using`; `scratchgen.use_kernels` / `set_kernels`), which
       must be able to run there: a Numba kernel asked to run on CuPy arrays raises
       DeviceError rather than quietly running something else, so a benchmark can never
       time the wrong kernel;
    2. otherwise the default for that device (`set_default`): a kernel name, or a rule
       `rule(*args) -> name` that looks at the shapes (kernels/cpu/__init__.py documents
       the rules and the measurements behind them);
    3. otherwise the reference.

    register("matmul", "packed", devices=("cpu",))(fast_matmul)
    use("matmul", "packed")            # choose it for every later call
    with using(matmul="reference"):    # or temporarily
        ...
"""
import contextlib
import functools

from ..errors import DeviceError
from . import backend

REFERENCE = "reference"
DEFAULT = "default"   # `use(op, "default")` drops the user's choice for op

_kernels = {}      # op name -> {kernel name -> (function, devices)}
_selected = {}     # op name -> kernel name chosen by the user
_defaults = {}     # (op name, device) -> kernel name, or rule(*args) -> kernel name


def register(op, name, devices=("cpu", "cuda")):
    """Decorator: make `fn` available as kernel `name` of `op` on `devices`."""
    devices = tuple(backend.check_device(d) for d in devices)

    def decorate(fn):
        _kernels.setdefault(op, {})[name] = (fn, devices)
        return fn
    return decorate


def _check_op(op):
    if op not in _kernels:
        raise KeyError(f"unknown op {op!r}; registered ops: {sorted(_kernels)}")
    return _kernels[op]


def _check_name(op, name):
    kernels = _check_op(op)
    if name not in kernels:
        raise KeyError(f"op {op!r} has no kernel {name!r}; available: {sorted(kernels)}")
    return kernels[name]


def available(op=None, device=None):
    """The kernel names of `op` (that run on `device`, if given); {op: names} without an op."""
    if op is None:
        return {name: available(name, device) for name in sorted(_kernels)}
    kernels = _check_op(op)
    if device is not None:
        device = backend.check_device(device)
        return sorted(name for name, (_, devices) in kernels.items() if device in devices)
    return sorted(kernels)


def devices_of(op, name):
    """The devices kernel `name` of `op` runs on."""
    return _check_name(op, name)[1]


def get(op, name):
    """Kernel `name` of `op` as a callable on raw arrays.

    A kernel that runs on some devices only checks its first array argument on each call
    and raises DeviceError for data that lives elsewhere.
    """
    fn, devices = _check_name(op, name)
    if set(devices) >= set(backend.DEVICES):
        return fn

    @functools.wraps(fn)
    def checked(*args, **kwargs):
        _check_runs_on(op, name, devices, backend.device_of(args[0]))
        return fn(*args, **kwargs)
    return checked


def _check_runs_on(op, name, devices, device):
    if device not in devices:
        raise DeviceError(
            f"kernel {name!r} of op {op!r} runs on {', '.join(devices)}, but the data lives "
            f"on {device}; choose one of {available(op, device)} for {device} data, or "
            f"use_kernels({op}='default') to let scratchgen choose")


def use(op, name):
    """Select kernel `name` for `op` from now on; 'default' restores the automatic choice."""
    _check_op(op)
    if name == DEFAULT:
        _selected.pop(op, None)
        return
    _check_name(op, name)
    _selected[op] = name


def set_kernels(**choices):
    """Select kernels for several ops at once: set_kernels(matmul="packed", ...)."""
    for op, name in choices.items():
        _check_name(op, name) if name != DEFAULT else _check_op(op)
    for op, name in choices.items():
        use(op, name)


@contextlib.contextmanager
def using(**choices):
    """Context manager: the chosen kernels inside, the previous choices restored after."""
    previous = dict(_selected)
    try:
        set_kernels(**choices)
        yield
    finally:
        _selected.clear()
        _selected.update(previous)


def selected():
    """The user's current choices, {op: kernel name} (ops left to the default are absent)."""
    return dict(_selected)


def set_default(op, device, choice):
    """The kernel `op` runs on `device` when the user chose none: a name, or rule(*args) -> name."""
    device = backend.check_device(device)
    if not callable(choice):
        _check_name(op, choice)
    _defaults[op, device] = choice


def default_choice(op, device):
    """The default of `op` on `device` as set: a kernel name, or the rule function."""
    return _defaults.get((op, backend.check_device(device)), REFERENCE)


def default_for(op, device, *args):
    """The name of the kernel the default picks for these arguments."""
    choice = default_choice(op, device)
    return choice(*args) if callable(choice) else choice


def select(op, *args):
    """The name of the kernel that `call(op, *args)` runs."""
    device = backend.device_of(args[0])
    name = _selected.get(op)
    if name is not None:
        _check_runs_on(op, name, _kernels[op][name][1], device)
        return name
    return default_for(op, device, *args)


def call(op, *args):
    """Run the kernel chosen for `op` on raw arrays `args` (the first one names the device)."""
    return _kernels[op][select(op, *args)][0](*args)


from . import reference_kernels  # noqa: E402,F401  (registers the reference kernels)
