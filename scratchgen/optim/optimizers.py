"""SGD, Adam, AdamW, RMSprop and Adagrad, each update exactly PyTorch's (same order of
operations, same epsilon placement), so a scratchgen run and a PyTorch run from the same start
agree to rounding.

An optimizer holds `param_groups`, a list of dicts like PyTorch's:

    opt.param_groups[0] == {"params": [w, b], "lr": 0.01, "momentum": 0.9, ...}

so a learning-rate schedule changes training by writing group["lr"]. Per-parameter state
(momentum buffers, Adam's moments) is created at a parameter's first update. Updates work
on the raw arrays (`p.data`, NumPy or CuPy), in place, with graph recording off.

Bad arguments fail at once with a message that says what was expected: a Module instead of
model.parameters(), a bare Tensor, an empty list, a learning rate that is not a number. A
failed load_state_dict changes nothing.
"""
import numbers

import numpy as np

from ..engine import backend
from ..engine.function import no_grad
from ..engine.tensor import Tensor


def check_number(owner, name, value, low=0.0):
    """Refuse a hyper-parameter that is not a real number, or is below `low` (or NaN)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a number, got {type(value).__name__} "
                        f"{value!r}")
    if not value >= low:  # also refuses NaN
        raise ValueError(f"{owner}: {name} must be >= {low:g}, got {value}")


def _describe_params(params, owner):
    """The list of tensors in `params`, or a TypeError that says what to pass instead."""
    if isinstance(params, Tensor):
        raise TypeError(f"{owner} got a single Tensor as params; pass an iterable of Tensors, "
                        "e.g. [tensor] or model.parameters()")
    if callable(getattr(params, "parameters", None)) and callable(
            getattr(params, "state_dict", None)):
        raise TypeError(f"{owner} got a {type(params).__name__} module as params; pass "
                        "model.parameters() instead of the model")
    if isinstance(params, dict):
        raise TypeError(f"{owner} got one param-group dict as params; pass a list of them, "
                        "[{'params': ..., 'lr': ...}, ...]")
    if isinstance(params, (str, bytes)) or not hasattr(params, "__iter__"):
        raise TypeError(f"{owner} expects an iterable of Tensors (or of param-group dicts) as "
                        f"params, e.g. model.parameters(); got {type(params).__name__}")
    return list(params)


class Optimizer:
    """Base class: param groups, zero_grad, step and state_dict. Subclasses write `update`.

    A subclass may name the per-parameter state it keeps (`state_names`: every name it may
    hold; `required_state`: the names any non-empty state has), so that load_state_dict can
    refuse another optimizer's state."""

    state_names = None
    required_state = frozenset()

    def __init__(self, params, defaults):
        name = type(self).__name__
        self.check_hyperparameters(defaults)
        self.defaults = defaults
        self.param_groups = []
        # Keyed by id(param): Tensor's == is elementwise, so Tensors make poor dict keys.
        self.state = {}
        params = _describe_params(params, name)
        if not params:
            raise ValueError(f"{name} got an empty parameter list; pass "
                             "model.parameters() of a model that has parameters")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group):
        """Add {"params": [...], <hyper-parameters overriding the defaults>}."""
        name = type(self).__name__
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"{name}: a param group must be a dict with a 'params' entry, got "
                            f"{type(group).__name__}")
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else _describe_params(params, name)
        for index, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name} can only optimize Tensors, got a "
                                f"{type(p).__name__} at position {index} of the parameters")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor (one computed by an op); "
                                 "optimize the Parameters it was computed from")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params) or any(id(p) in seen for p in params):
            raise ValueError("some parameters appear more than once in the param groups")
        unknown = set(group) - set(self.defaults) - {"params"}
        if unknown:
            raise TypeError(f"unknown hyper-parameters {sorted(unknown)} for "
                            f"{name}; it takes {sorted(self.defaults)}")
        full = {**self.defaults, **group, "params": params}
        self.check_hyperparameters(full)
        self.param_groups.append(full)

    def check_hyperparameters(self, group):
        name = type(self).__name__
        check_number(name, "learning rate lr", group["lr"])
        check_number(name, "weight_decay", group["weight_decay"])

    def zero_grad(self, set_to_none=True):
        """Forget every parameter's gradient: set it to None (PyTorch's default), or with
        set_to_none=False fill the existing gradient arrays with zeros, in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                elif getattr(getattr(p.grad.data, "flags", None), "writeable", True):
                    p.grad.data[...] = 0
                else:  # a read-only (broadcast) array: replace it by zeros
                    p.grad.data = p.grad.xp.zeros_like(p.grad.data)

    def step(self):
        """One update of every parameter that has a gradient (the others are left alone)."""
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        self.update(p, p.grad.data, self.state.setdefault(id(p), {}), group)

    def update(self, p, grad, state, group):
        raise NotImplementedError

    # ---- checkpoints --------------------------------------------------------------------
    def _all_params(self):
        return [p for group in self.param_groups for p in group["params"]]

    def state_dict(self):
        """{"state": {"<param index>": {name: array or number}},
            "param_groups": [{hyper-parameters..., "params": [param indices]}]}

        Parameters are named by their position across the groups (keys are strings so that
        scratchgen.save can store them); arrays are NumPy copies."""
        state = {}
        for index, p in enumerate(self._all_params()):
            if self.state.get(id(p)):
                state[str(index)] = {name: np.array(backend.to_numpy(value))
                                     if hasattr(value, "shape") else value
                                     for name, value in self.state[id(p)].items()}
        groups, start = [], 0
        for group in self.param_groups:
            count = len(group["params"])
            groups.append({**{k: v for k, v in group.items() if k != "params"},
                           "params": list(range(start, start + count))})
            start += count
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore what state_dict() returned into an optimizer over the same parameters.

        Hyper-parameters (lr included) come from the checkpoint; state arrays are copied to
        each parameter's device and dtype, so the next step is bit-identical. Everything is
        checked first (the groups and their sizes, each state entry's parameter index, names,
        shapes and dtypes, the hyper-parameters); a failed call changes nothing."""
        name = type(self).__name__
        where = f"{name}.load_state_dict"
        if not isinstance(state_dict, dict):
            raise TypeError(f"{where} expects the dict that optimizer.state_dict() returned, "
                            f"got {type(state_dict).__name__}")
        if set(state_dict) != {"state", "param_groups"}:
            keys = sorted(map(str, state_dict))
            if keys and "state" not in state_dict and "param_groups" not in state_dict:
                raise ValueError(
                    f"{where} got what looks like a model's state_dict (keys {_few(keys)}); "
                    "pass it to model.load_state_dict(), and give the optimizer the dict "
                    "that optimizer.state_dict() returned")
            raise ValueError(f"{where} expects a dict with exactly the keys 'state' and "
                             f"'param_groups' (what optimizer.state_dict() returns), got "
                             f"keys {_few(keys)}")
        saved_groups, saved_state = state_dict["param_groups"], state_dict["state"]
        if not isinstance(saved_groups, (list, tuple)) or not all(
                isinstance(g, dict) and isinstance(g.get("params"), (list, tuple))
                for g in saved_groups):
            raise ValueError(f"{where}: 'param_groups' must be a list of dicts, each with a "
                             "'params' list")
        if not isinstance(saved_state, dict):
            raise ValueError(f"{where}: 'state' must be a dict from parameter index to that "
                             f"parameter's state, got {type(saved_state).__name__}")
        sizes = [len(g["params"]) for g in self.param_groups]
        saved_sizes = [len(g["params"]) for g in saved_groups]
        if sizes != saved_sizes:
            raise ValueError(f"optimizer state_dict has param groups of sizes {saved_sizes}, "
                             f"but this optimizer's groups have sizes {sizes}")
        params = self._all_params()
        groups = []
        for group, saved in zip(self.param_groups, saved_groups):
            merged = {**group, **{k: v for k, v in saved.items() if k != "params"}}
            try:
                self.check_hyperparameters(merged)
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"{where}: the checkpoint's hyper-parameters are not valid "
                                 f"for {name}: {exc}") from None
            groups.append(merged)
        state = {}
        for index, entry in saved_state.items():
            position = _param_index(index, len(params), where)
            p = params[position]
            state[id(p)] = self._checked_state(entry, p, position, where)
        # all checked: now assign (nothing above changed the optimizer)
        for group, merged in zip(self.param_groups, groups):
            group.update(merged)
        self.state = state

    def _checked_state(self, entry, p, position, where):
        """The state of parameter `position`, converted to p's dtype and device, or an error."""
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: the state of parameter {position} must be a dict, got "
                             f"{type(entry).__name__}")
        names = set(entry)
        if self.state_names is not None:
            unknown, missing = names - set(self.state_names), set(self.required_state) - names
            if entry and (unknown or missing):
                raise ValueError(
                    f"{where}: the state of parameter {position} has entries {sorted(names)}, "
                    f"but {type(self).__name__} keeps {sorted(self.state_names)} (is this "
                    "another optimizer's state_dict?)")
        converted = {}
        for key, value in entry.items():
            if isinstance(value, Tensor):
                value = value.data
            if hasattr(value, "shape") and hasattr(value, "dtype"):
                if tuple(value.shape) != tuple(p.shape):
                    raise ValueError(f"{where}: state {key!r} of parameter {position} has shape "
                                     f"{tuple(value.shape)}, but the parameter has shape "
                                     f"{tuple(p.shape)}")
                if np.dtype(value.dtype).kind not in "biuf":
                    raise ValueError(f"{where}: state {key!r} of parameter {position} has dtype "
                                     f"{value.dtype}; expected a real number array")
                converted[key] = backend.to_device(
                    np.array(backend.to_numpy(value), dtype=p.dtype), p.device)
            elif isinstance(value, numbers.Real):
                converted[key] = value
            else:
                raise ValueError(f"{where}: state {key!r} of parameter {position} is a "
                                 f"{type(value).__name__}; expected an array or a number")
        return converted


def _few(keys, count=3):
    """'a', 'b', 'c', ... : the first few keys, for a message."""
    shown = ", ".join(repr(k) for k in keys[:count])
    return f"[{shown}{', ...' if len(keys) > count else ''}]"


def _param_index(index, count, where):
    """The parameter position a state key names ("3" or 3), checked against `count`."""
    try:
        position = int(index)
    except (TypeError, ValueError):
        position = None
    if isinstance(index, bool) or position is None or str(position) != str(index).strip():
        raise ValueError(f"{where}: state keys must be parameter indices, got {index!r}")
    if not 0 <= position < count:
        raise ValueError(f"optimizer state_dict has state for parameter {index}, but "
                         f"there are only {count} parameters")
    return position


class SGD(Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum and L2 weight decay."""

    def __init__(self, params, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    state_names = required_state = frozenset({"momentum_buffer"})

    def check_hyperparameters(self, group):
        super().check_hyperparameters(group)
        check_number("SGD", "momentum", group["momentum"])
        check_number("SGD", "dampening", group["dampening"], low=-float("inf"))
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum needs momentum > 0 and dampening = 0")

    def update(self, p, grad, state, group):
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        # g <- g + weight_decay * p
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * p.data
        if momentum != 0:
            if "momentum_buffer" not in state:
                # b_1 <- g   (the first step takes the gradient as is, no dampening)
                state["momentum_buffer"] = grad.copy()
            else:
                # b_t <- momentum * b_(t-1) + (1 - dampening) * g
                buffer = state["momentum_buffer"]
                buffer *= momentum
                buffer += (1 - dampening) * grad
            buffer = state["momentum_buffer"]
            # Nesterov: g <- g + momentum * b_t;   plain momentum: g <- b_t
            grad = grad + momentum * buffer if group["nesterov"] else buffer
        # p <- p - lr * g
        p.data -= lr * grad


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015, Algorithm 1) with PyTorch's placement of eps.

    weight_decay here is L2 regularisation added to the gradient; AdamW decouples it.
    """

    decoupled_weight_decay = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        betas = tuple(betas) if isinstance(betas, (tuple, list)) else betas
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps,
                                      weight_decay=weight_decay))

    state_names = required_state = frozenset({"step", "exp_avg", "exp_avg_sq"})

    def check_hyperparameters(self, group):
        super().check_hyperparameters(group)
        name, betas = type(self).__name__, group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"{name}: betas must be a pair (beta1, beta2), got {betas!r}")
        for beta in betas:
            check_number(name, "betas", beta)
        if not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ValueError(f"betas must each be in [0, 1), got {group['betas']}")
        check_number(name, "eps", group["eps"])

    def update(self, p, grad, state, group):
        lr, (beta1, beta2), eps, weight_decay = (group["lr"], group["betas"], group["eps"],
                                                 group["weight_decay"])
        if not state:
            state["step"] = 0
            state["exp_avg"] = p.xp.zeros_like(p.data)     # m, first moment
            state["exp_avg_sq"] = p.xp.zeros_like(p.data)  # v, second moment
        m, v = state["exp_avg"], state["exp_avg_sq"]
        # t <- t + 1
        state["step"] += 1
        t = state["step"]
        if weight_decay != 0:
            if self.decoupled_weight_decay:
                # AdamW (Loshchilov & Hutter, 2019, Algorithm 2 line 12): p <- p (1 - lr wd)
                p.data *= 1 - lr * weight_decay
            else:
                # Adam with L2: g <- g + wd * p
                grad = grad + weight_decay * p.data
        # m <- beta1 m + (1 - beta1) g     (as PyTorch's lerp: m + (1 - beta1)(g - m))
        _lerp_(m, grad, 1 - beta1)
        # v <- beta2 v + (1 - beta2) g^2
        v *= beta2
        v += (1 - beta2) * (grad * grad)
        # p <- p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
        step_size = lr / (1 - beta1 ** t)
        denominator = p.xp.sqrt(v) / (1 - beta2 ** t) ** 0.5 + eps
        p.data -= step_size * (m / denominator)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019): the decay shrinks the
    weights directly instead of entering the moments through the gradient."""

    decoupled_weight_decay = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)


class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture 6e; centered as Graves, 2013, eq. 38-40), as PyTorch's:

        g <- g + weight_decay p
        v <- alpha v + (1 - alpha) g^2
        centered:  m <- alpha m + (1 - alpha) g,   d = sqrt(v - m^2) + eps
        otherwise: d = sqrt(v) + eps
        momentum > 0:  b <- momentum b + g / d,   p <- p - lr b
        otherwise:     p <- p - lr g / d
    """

    state_names = frozenset({"step", "square_avg", "momentum_buffer", "grad_avg"})
    required_state = frozenset({"step", "square_avg"})

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered))

    def check_hyperparameters(self, group):
        super().check_hyperparameters(group)
        for name in ("alpha", "eps", "momentum"):
            check_number("RMSprop", name, group[name])
        if not isinstance(group["centered"], (bool, np.bool_)):
            raise TypeError(f"RMSprop: centered must be True or False, got "
                            f"{group['centered']!r}")

    def update(self, p, grad, state, group):
        lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
        momentum, xp = group["momentum"], p.xp
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(p.data)
        state["step"] += 1
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * p.data
        # v <- alpha v + (1 - alpha) g^2
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1 - alpha) * grad * grad
        if group["centered"]:
            # m <- alpha m + (1 - alpha) g   (PyTorch's lerp, weight 1 - alpha)
            grad_avg = state.setdefault("grad_avg", xp.zeros_like(p.data))
            _lerp_(grad_avg, grad, 1 - alpha)
            avg = xp.sqrt(square_avg + (-1 * grad_avg) * grad_avg)
        else:
            avg = xp.sqrt(square_avg)
        avg += eps
        if momentum > 0:
            # b <- momentum b + g / d;  p <- p - lr b
            buffer = state.setdefault("momentum_buffer", xp.zeros_like(p.data))
            buffer *= momentum
            buffer += grad / avg
            p.data -= lr * buffer
        else:
            p.data -= lr * (grad / avg)


class Adagrad(Optimizer):
    """Adagrad (Duchi, Hazan & Singer, 2011), as PyTorch's, at step t = 1, 2, ...:

        g <- g + weight_decay p
        s <- s + g^2                       (s starts at initial_accumulator_value)
        p <- p - lr / (1 + (t - 1) lr_decay) * g / (sqrt(s) + eps)
    """

    state_names = required_state = frozenset({"step", "sum"})

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps))

    def check_hyperparameters(self, group):
        super().check_hyperparameters(group)
        for name in ("lr_decay", "initial_accumulator_value", "eps"):
            check_number("Adagrad", name, group[name])

    def update(self, p, grad, state, group):
        xp = p.xp
        if not state:
            state["step"] = 0
            state["sum"] = xp.full_like(p.data, group["initial_accumulator_value"])
        state["step"] += 1
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * p.data
        # the decayed step size lr / (1 + (t - 1) lr_decay)
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        state["sum"] += grad * grad
        std = xp.sqrt(state["sum"])
        std += group["eps"]
        p.data -= clr * (grad / std)


def _lerp_(start, end, weight):
    """start <- start + weight (end - start), in place, computed as torch.lerp does (from
    the nearer end, so weight 1 gives `end` exactly)."""
    if weight < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (1 - weight)
