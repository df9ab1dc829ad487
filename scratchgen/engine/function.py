"""`Function`: one differentiable operation, and the switch that turns graph recording off.

A Function has two halves:

    forward(*arrays) -> array          raw NumPy/CuPy arithmetic, no graph
    backward(grad)   -> grads          written with Tensor ops, so it is differentiable too

Because backward is built from Tensor ops, running it with graph recording on
(`create_graph=True`) records the backward pass itself as a graph: that is how second
derivatives (a WGAN-GP gradient penalty, Hessian-vector products) come for free.

Calling a Function records one node of the graph:

    x ──┐
        ├── Function ── out        out.creator = the Function, Function.inputs = (x, y)
    y ──┘
"""
import contextlib
import weakref

import numpy as np

from ..errors import DeviceError, GraphError

_grad_enabled = True


def is_grad_enabled():
    return _grad_enabled


@contextlib.contextmanager
def set_grad_enabled(mode):
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, bool(mode)
    try:
        yield
    finally:
        _grad_enabled = previous


def no_grad():
    """Context manager: ops inside record no graph (evaluation, optimizer updates)."""
    return set_grad_enabled(False)


def enable_grad():
    return set_grad_enabled(True)


class Function:
    """Base class of every differentiable op. Subclasses write `forward` and `backward`."""

    freed = False

    def __call__(self, *inputs):
        Tensor = _tensor.Tensor
        for x in inputs:
            if not isinstance(x, Tensor):
                # a Python scalar takes the dtype of the op's first tensor
                like = next((t for t in inputs if isinstance(t, Tensor)), None)
                inputs = [t if isinstance(t, Tensor) else
                          _tensor.as_tensor(t, like=like, name=self.name.lower())
                          for t in inputs]
                break
        tensors = inputs
        if len(tensors) > 1:
            self.check_devices(tensors)
        out = Tensor(self.forward(*[t.data for t in tensors]))
        if _grad_enabled:
            needs = tuple([t.requires_grad for t in tensors])
            # Integer and boolean results (indices, masks, casts) are never differentiable.
            if True in needs and out.data.dtype.kind in "fc":
                self.inputs, self.needs_input_grad = tuple(tensors), needs
                # The versions backward expects to find (an in-place op bumps them).
                self.input_versions = tuple([t._version for t in tensors])
                self.output_version = 0
                # A weak reference: the output owns its creator, not the other way round.
                self._output = weakref.ref(out)
                out.creator = self
                out.requires_grad = True
        return out

    def check_devices(self, tensors):
        for t in tensors:
            if type(t.data) is not np.ndarray:
                break
        else:
            return  # all on the CPU: the common case, decided without asking each tensor
        devices = {t.device for t in tensors}
        if len(devices) > 1:
            shapes = ", ".join(f"{t.device}:{t.shape}" for t in tensors)
            raise DeviceError(f"{self.name}: inputs live on different devices ({shapes}); "
                              "move them to one device with .to(device)")

    @property
    def name(self):
        return type(self).__name__

    def __repr__(self):
        return f"<{self.name}Backward>"

    def check_versions(self):
        """Refuse to run backward when an input or the output was modified in place after
        this op saw it (its backward would read the new values, not the ones it used)."""
        for i, (t, seen) in enumerate(zip(self.inputs, self.input_versions)):
            if t._version != seen:
                self._raise_modified(t, f"input {i}", seen)
        out = self.output
        if out is not None and out._version != self.output_version:
            self._raise_modified(out, "the output", self.output_version)

    def _raise_modified(self, t, which, seen):
        raise GraphError(
            f"one of the variables needed for gradient computation has been modified by an "
            f"inplace operation: a tensor of shape {t.shape} ({which} of {self!r}) is at "
            f"version {t._version}; expected version {seen}. Make the in-place change after "
            "backward, or compute it out of place (y = y + 1 instead of y += 1)")

    @property
    def output(self):
        """The tensor this Function produced (alive whenever its backward runs)."""
        return self._output()

    def forward(self, *arrays):
        raise NotImplementedError

    def backward(self, grad):
        """Gradients of the loss with respect to each input, given the output's gradient.

        Returns one Tensor (or None for an input that needs none) per input. A gradient
        may have the broadcast shape; the engine reduces it to the input's shape.
        """
        raise NotImplementedError

    def release(self):
        """Drop the saved inputs and arrays so their memory can go (after backward)."""
        self.__dict__.clear()
        self.freed = True

    def check_not_freed(self):
        if self.freed:
            raise GraphError(
                "trying to backward through the graph a second time, but its saved values "
                "were freed by the first backward; pass retain_graph=True to the first "
                "backward (or grad) call if you need to go through it twice")


# Imported last: tensor.py itself builds on this module (a cycle resolved at call time).
from . import tensor as _tensor  # noqa: E402
