"""SGD, Adam and AdamW, each update exactly PyTorch's (same order of operations, same epsilon
placement), so a scratchgen run and a PyTorch run from the same start agree to rounding.

An optimizer holds `param_groups`, a list of dicts like PyTorch's:

    opt.param_groups[0] == {"params": [w, b], "lr": 0.01, "momentum": 0.9, ...}

so a learning-rate schedule changes training by writing group["lr"]. Per-parameter state
(momentum buffers, Adam's moments) is created at a parameter's first update. Updates work
on the raw arrays (`p.data`, NumPy or CuPy), in place, with graph recording off.
"""
import numpy as np

from ..engine import backend
from ..engine.function import no_grad
from ..engine.tensor import Tensor


class Optimizer:
    """Base class: param groups, zero_grad, step and state_dict. Subclasses write `update`."""

    def __init__(self, params, defaults):
        self.check_hyperparameters(defaults)
        self.defaults = defaults
        self.param_groups = []
        # Keyed by id(param): Tensor's == is elementwise, so Tensors make poor dict keys.
        self.state = {}
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__} got an empty parameter list; pass "
                             "model.parameters() of a model that has parameters")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group):
        """Add {"params": [...], <hyper-parameters overriding the defaults>}."""
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError("a param group must be a dict with a 'params' entry")
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__} can only optimize Tensors, got a "
                                f"{type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor (one computed by an op); "
                                 "optimize the Parameters it was computed from")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params) or any(id(p) in seen for p in params):
            raise ValueError("some parameters appear more than once in the param groups")
        unknown = set(group) - set(self.defaults) - {"params"}
        if unknown:
            raise TypeError(f"unknown hyper-parameters {sorted(unknown)} for "
                            f"{type(self).__name__}; it takes {sorted(self.defaults)}")
        full = {**self.defaults, **group, "params": params}
        self.check_hyperparameters(full)
        self.param_groups.append(full)

    def check_hyperparameters(self, group):
        if group["lr"] < 0:
            raise ValueError(f"learning rate lr must be >= 0, got {group['lr']}")
        if group["weight_decay"] < 0:
            raise ValueError(f"weight_decay must be >= 0, got {group['weight_decay']}")

    def zero_grad(self):
        """Forget every parameter's gradient (set to None, PyTorch's default)."""
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

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
        each parameter's device and dtype, so the next step is bit-identical."""
        saved_groups = state_dict["param_groups"]
        sizes = [len(g["params"]) for g in self.param_groups]
        saved_sizes = [len(g["params"]) for g in saved_groups]
        if sizes != saved_sizes:
            raise ValueError(f"optimizer state_dict has param groups of sizes {saved_sizes}, "
                             f"but this optimizer's groups have sizes {sizes}")
        params = self._all_params()
        for index in state_dict["state"]:
            if not 0 <= int(index) < len(params):
                raise ValueError(f"optimizer state_dict has state for parameter {index}, but "
                                 f"there are only {len(params)} parameters")
        for group, saved in zip(self.param_groups, saved_groups):
            group.update({k: v for k, v in saved.items() if k != "params"})
        self.state = {}
        for index, saved_state in state_dict["state"].items():
            p = params[int(index)]
            self.state[id(p)] = {
                name: backend.to_device(np.array(value, dtype=p.dtype), p.device)
                if hasattr(value, "shape") else value
                for name, value in saved_state.items()}


class SGD(Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum and L2 weight decay."""

    def __init__(self, params, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    def check_hyperparameters(self, group):
        super().check_hyperparameters(group)
        if group["momentum"] < 0:
            raise ValueError(f"momentum must be >= 0, got {group['momentum']}")
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
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay))

    def check_hyperparameters(self, group):
        super().check_hyperparameters(group)
        beta1, beta2 = group["betas"]
        if not (0 <= beta1 < 1 and 0 <= beta2 < 1):
            raise ValueError(f"betas must each be in [0, 1), got {group['betas']}")
        if group["eps"] < 0:
            raise ValueError(f"eps must be >= 0, got {group['eps']}")

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
        m += (1 - beta1) * (grad - m)
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
