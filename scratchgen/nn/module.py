"""`Module`: a bag of parameters, buffers and sub-modules, found by attribute assignment.

    class MLP(Module):
        def __init__(self):
            super().__init__()
            self.fc = Linear(2, 8)        # a sub-module: registered as "fc"
            self.scale = Parameter(...)   # a parameter:  registered as "scale"

    MLP().state_dict()  ->  {"scale": ..., "fc.weight": ..., "fc.bias": ...}

Three kinds of state live in a module, each in its own ordered dict:

    _parameters   Parameters: trained by the optimizer, returned by parameters()
    _buffers      Tensors that are state but not trained (BatchNorm's running mean)
    _modules      child Modules, whose state appears under "<child name>."

`state_dict()` walks all three in that order, recursively, giving PyTorch's dotted names,
so a scratchgen model and its PyTorch twin have the same keys.
"""
from collections import OrderedDict, namedtuple
from collections.abc import Mapping

import numpy as np

from ..engine import backend
from ..engine.tensor import Tensor, as_array

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Parameter(Tensor):
    """A Tensor that a Module registers as trainable (requires_grad=True by default)."""

    def __init__(self, data, requires_grad=True):
        array = data.data if isinstance(data, Tensor) else as_array(data)
        super().__init__(array, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """Base class of every layer and model. Subclasses call super().__init__() first."""

    def __init__(self):
        # object.__setattr__: our own __setattr__ needs these dicts to exist already.
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward() method")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ---- registration -----------------------------------------------------------------
    def _check_initialised(self, name):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {name!r} before Module.__init__() ran; call "
                                 f"super().__init__() first in {type(self).__name__}.__init__")

    def _forget(self, name, keep):
        """Remove `name` from the registries other than `keep`, where it is being registered
        (re-registering in the same registry keeps its place in the order, as in PyTorch)."""
        for registry in (self._parameters, self._buffers, self._modules):
            if registry is not keep:
                registry.pop(name, None)
        self.__dict__.pop(name, None)

    def register_parameter(self, name, param):
        """Register a Parameter (or None: a declared but absent one, like bias=False)."""
        self._check_initialised(name)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot register a {type(param).__name__} as parameter {name!r}; "
                            "wrap it in nn.Parameter (or use register_buffer for untrained state)")
        self._forget(name, keep=self._parameters)
        self._parameters[name] = param

    def register_buffer(self, name, tensor):
        """Register state that is saved in state_dict() but not trained (not in parameters())."""
        self._check_initialised(name)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"buffer {name!r} must be a Tensor or None, got "
                            f"{type(tensor).__name__}")
        self._forget(name, keep=self._buffers)
        self._buffers[name] = tensor

    def add_module(self, name, module):
        self._check_initialised(name)
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{name!r}: {type(module).__name__} is not a Module")
        self._forget(name, keep=self._modules)
        self._modules[name] = module

    def __setattr__(self, name, value):
        if isinstance(value, Parameter):
            self.register_parameter(name, value)
        elif isinstance(value, Module):
            self.add_module(name, value)
        elif name in self.__dict__.get("_parameters", ()):
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} to parameter {name!r}; "
                                "assign an nn.Parameter (or None)")
            self._parameters[name] = None
        elif name in self.__dict__.get("_buffers", ()):
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"buffer {name!r} must be a Tensor or None, got "
                                f"{type(value).__name__}")
            self._buffers[name] = value
        elif name in self.__dict__.get("_modules", ()):
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} to sub-module {name!r}; "
                                "assign a Module (or None)")
            self._modules[name] = None
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        # Only called when ordinary lookup fails: the registered state lives in the dicts.
        for registry in ("_parameters", "_buffers", "_modules"):
            entries = self.__dict__.get(registry, {})
            if name in entries:
                return entries[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name):
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                return
        object.__delattr__(self, name)

    # ---- walking the tree -------------------------------------------------------------
    def named_modules(self, prefix=""):
        """(dotted name, module) for this module and every descendant, each module once."""
        seen, stack = set(), [(prefix, self)]
        while stack:  # depth-first, children in registration order
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [(f"{name}.{child_name}" if name else child_name, child)
                        for child_name, child in module._modules.items() if child is not None]
            stack.extend(reversed(children))

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        for name, module in self._modules.items():
            if module is not None:
                yield name, module

    def children(self):
        for _, module in self.named_children():
            yield module

    def _named_members(self, registry, recurse):
        """(dotted name, tensor) from one registry of every module; shared tensors once."""
        seen = set()
        modules = self.named_modules() if recurse else [("", self)]
        for module_name, module in modules:
            for name, tensor in getattr(module, registry).items():
                if tensor is None or id(tensor) in seen:
                    continue
                seen.add(id(tensor))
                yield (f"{module_name}.{name}" if module_name else name), tensor

    def named_parameters(self, recurse=True):
        return self._named_members("_parameters", recurse)

    def parameters(self, recurse=True):
        for _, param in self.named_parameters(recurse):
            yield param

    def named_buffers(self, recurse=True):
        return self._named_members("_buffers", recurse)

    def buffers(self, recurse=True):
        for _, buffer in self.named_buffers(recurse):
            yield buffer

    def num_parameters(self, trainable_only=False):
        """How many numbers the parameters hold (shared parameters counted once)."""
        return sum(p.size for p in self.parameters() if p.requires_grad or not trainable_only)

    # ---- modes, devices, gradients ----------------------------------------------------
    def train(self, mode=True):
        """Training mode (Dropout drops, BatchNorm uses batch statistics) for the whole tree."""
        for module in self.modules():
            module.training = bool(mode)
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        """Freeze (False) or unfreeze every parameter, e.g. a GAN's discriminator."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Forget every parameter's gradient (set to None, PyTorch's default), or with
        set_to_none=False zero the gradients in place."""
        for param in self.parameters():
            param.zero_grad(set_to_none=set_to_none)

    def to(self, device):
        """Move every parameter, gradient and buffer to `device` ('cpu' or 'cuda'), in place.

        The Parameter objects stay the same (only their arrays move), so an optimizer
        built before the move keeps working."""
        device = backend.check_device(device)
        for tensor in list(self.parameters()) + list(self.buffers()):
            tensor.data = backend.to_device(tensor.data, device)
            if tensor.grad is not None:
                tensor.grad = Tensor(backend.to_device(tensor.grad.data, device))
        return self

    def apply(self, fn):
        """Call fn(module) on every descendant, then on this module (PyTorch's order)."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ---- state ------------------------------------------------------------------------
    def _state_tensors(self, prefix=""):
        """(dotted name, tensor) in state_dict order: own parameters, own buffers, children.

        Unlike named_parameters() a shared tensor appears under every name, as in PyTorch."""
        for name, param in self._parameters.items():
            if param is not None:
                yield prefix + name, param
        for name, buffer in self._buffers.items():
            if buffer is not None:
                yield prefix + name, buffer
        for name, child in self._modules.items():
            if child is not None:
                yield from child._state_tensors(f"{prefix}{name}.")

    def state_dict(self):
        """OrderedDict dotted name -> NumPy array (a copy: later training does not change it)."""
        return OrderedDict((name, np.array(backend.to_numpy(tensor.data)))
                           for name, tensor in self._state_tensors())

    def load_state_dict(self, state_dict, strict=True):
        """Copy the values of `state_dict` into this module's parameters and buffers, in place.

        Every key, shape and dtype is checked before anything is copied, and each value is
        converted to its target's dtype first, so a failed load leaves the model exactly as
        it was (all or nothing). A shape mismatch or a value that is not a real-number array
        (a string, None, a complex array into a real one, a float into an integer buffer) is
        always an error; missing and unexpected keys are errors when strict (otherwise they
        are returned, as in PyTorch)."""
        name = type(self).__name__
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"{name}.load_state_dict expects a dict of name -> array (what "
                            f"model.state_dict() returns), got {type(state_dict).__name__}")
        if {"state", "param_groups"} <= set(state_dict) and not any(
                "." in str(key) for key in state_dict):
            raise ValueError(f"{name}.load_state_dict got what looks like an optimizer's "
                             "state_dict (keys 'state' and 'param_groups'); pass it to "
                             "optimizer.load_state_dict() and give the model model.state_dict()")
        targets = OrderedDict(self._state_tensors())
        missing = [key for key in targets if key not in state_dict]
        unexpected = [str(key) for key in state_dict if key not in targets]
        sources, mismatched, unusable = {}, [], []
        for key, target in targets.items():
            if key not in state_dict:
                continue
            source, problem = _converted(state_dict[key], target)
            if problem is not None:
                unusable.append(f"{key}: {problem}")
            elif tuple(source.shape) != tuple(target.shape):
                mismatched.append(f"{key}: checkpoint has shape {tuple(source.shape)}, "
                                  f"the model has {tuple(target.shape)}")
            else:
                sources[key] = source
        problems = []
        if strict and missing:
            problems.append("missing keys: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        if mismatched:
            problems.append("shape mismatches: " + "; ".join(mismatched))
        if unusable:
            problems.append("values that cannot be loaded: " + "; ".join(unusable))
        if problems:
            raise ValueError(f"error(s) loading state_dict into {name} (nothing was changed):"
                             "\n  " + "\n  ".join(problems))
        # Everything is checked and converted: the copies below cannot fail half-way.
        moved = {key: backend.to_device(source, targets[key].device)
                 for key, source in sources.items()}
        for key, source in moved.items():
            # in place: a Parameter an optimizer holds stays the same object
            targets[key].data[...] = source
        return IncompatibleKeys(missing, unexpected)

    # ---- printing ---------------------------------------------------------------------
    def extra_repr(self):
        """The constructor arguments shown between the parentheses in repr()."""
        return ""

    def __repr__(self):
        children = [f"({name}): " + repr(child).replace("\n", "\n  ")
                    for name, child in self.named_children()]
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = ([self.extra_repr()] if self.extra_repr() else []) + children
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"


def _converted(value, target):
    """(value as an array of target's dtype, None), or (None, what is wrong with it).

    Accepted: Tensors, NumPy/CuPy arrays, numbers and nested lists of numbers whose dtype
    converts to target's within its kind or more safely (bool -> int -> float; a wider
    float into a narrower one is fine, a float into an integer buffer or complex into real
    is not)."""
    if isinstance(value, Tensor):
        value = value.data
    if value is None or isinstance(value, (str, bytes, Mapping)):
        return None, f"got a {type(value).__name__}, expected an array"
    if backend.array_module(value) is np:
        try:
            value = np.asarray(value)
        except (TypeError, ValueError) as exc:
            return None, f"cannot be read as an array ({exc})"
    dtype = np.dtype(value.dtype)
    if dtype.kind not in "biuf":
        return None, f"has dtype {dtype}, expected real numbers"
    if not np.can_cast(dtype, target.dtype, casting="same_kind"):
        return None, f"has dtype {dtype}, which does not convert to the model's {target.dtype}"
    return value.astype(target.dtype, copy=True), None
