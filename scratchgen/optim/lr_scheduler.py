"""Learning-rate schedulers with PyTorch's names and semantics (torch.optim.lr_scheduler).

    sched = lr_scheduler.StepLR(opt, step_size=30, gamma=0.1)
    for epoch in range(100):
        train(...)            # opt.step() inside
        sched.step()

A scheduler writes group["lr"] of each param group of its optimizer. Construction performs
step 0 (last_epoch becomes 0 and the lr of step 0 is set); each step() moves to the next.
As in PyTorch most schedulers are chainable: a step multiplies the *current* lr by the ratio
lr(t) / lr(t - 1) of its formula, so two schedulers on one optimizer compose, and the
starting lr of each group is remembered as group["initial_lr"] (base_lrs).

state_dict() holds only numbers, strings, None, lists and dicts, so it goes through
scratchgen.save / scratchgen.load. To resume, build the optimizer and the scheduler, then
load the optimizer's state_dict, then the scheduler's: the run continues exactly. LambdaLR
does not save its functions (only the attributes of callable objects, as PyTorch).
"""
import copy
import math
import numbers
import types
from bisect import bisect_right

from .optimizers import Optimizer, check_number

__all__ = ["LRScheduler", "LambdaLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR",
           "ExponentialLR", "SequentialLR", "CosineAnnealingLR", "ReduceLROnPlateau",
           "OneCycleLR", "WarmupCosineLR", "warmup_cosine"]


def _check_optimizer(owner, optimizer):
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{owner} expects a scratchgen optimizer (e.g. optim.SGD(...)), got "
                        f"{type(optimizer).__name__}")
    return optimizer


def _check_int(owner, name, value, low):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{owner}: {name} must be an integer, got {type(value).__name__} "
                        f"{value!r}")
    if value < low:
        raise ValueError(f"{owner}: {name} must be >= {low}, got {value}")
    return int(value)


def _per_group(owner, name, optimizer, value):
    """One value per param group: a list of that length, or one number for every group."""
    count = len(optimizer.param_groups)
    values = list(value) if isinstance(value, (list, tuple)) else [value] * count
    if len(values) != count:
        raise ValueError(f"{owner}: {name} must have one value per param group "
                         f"({count}), got {len(values)}")
    for v in values:
        check_number(owner, name, v)
    return values


class LRScheduler:
    """Base class. A subclass writes get_lr(): the lrs of step `self.last_epoch`, usually
    from the current group["lr"] (chainable); `_closed_form_lr()` gives them from base_lrs.
    Read the current lrs with get_last_lr()."""

    _not_saved = ("optimizer", "_is_initial")  # attributes that state_dict() leaves out

    def __init__(self, optimizer, last_epoch=-1):
        name = type(self).__name__
        self.optimizer = _check_optimizer(name, optimizer)
        last_epoch = _check_int(name, "last_epoch", last_epoch, low=-1)
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for index, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise ValueError(
                        f"{name}: param_groups[{index}] has no 'initial_lr', which resuming with "
                        f"last_epoch={last_epoch} needs; load the optimizer's state_dict first, "
                        "or start with last_epoch=-1")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self):
        """Step 0: sets the lrs of the first step."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self):
        raise NotImplementedError(f"{type(self).__name__} has no get_lr() method")

    def get_last_lr(self):
        """The lr of each param group as this scheduler last set it (a list)."""
        return list(self._last_lr)

    def step(self):
        """Move to the next step: last_epoch += 1 and set that step's lrs. Call it after
        optimizer.step()."""
        self._step_count += 1
        try:
            self._update_lr()
        except BaseException:
            self._step_count -= 1
            raise

    def _update_lr(self, epoch=None):
        """Set the lrs of step last_epoch + 1 (or, given `epoch`, of that step from the closed
        form). A failure leaves last_epoch and the lrs as they were."""
        previous = self.last_epoch
        self.last_epoch = previous + 1 if epoch is None else epoch
        try:
            if epoch is not None and hasattr(self, "_closed_form_lr"):
                values = self._closed_form_lr()
            else:
                values = self.get_lr()
        except BaseException:
            self.last_epoch = previous
            raise
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _current_lrs(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    def seek(self, epoch):
        """Jump to step `epoch` and set its lrs from the closed form (scratchgen's; PyTorch
        spells it `step(epoch)`, now deprecated there). The built-in models resume with it: the
        shape of a schedule comes from the run's configuration (--steps may have been raised),
        only the position along it from the checkpoint."""
        self._update_lr(epoch=_check_int(type(self).__name__, "epoch", epoch, low=0))

    # ---- checkpoints --------------------------------------------------------------------
    def state_dict(self):
        """Every attribute but the optimizer, as plain values (a copy)."""
        return {key: copy.deepcopy(value) for key, value in self.__dict__.items()
                if key not in self._not_saved}

    def load_state_dict(self, state_dict):
        """Restore what state_dict() returned. Checked first: a failed call changes nothing."""
        self._check_state(state_dict)
        self._apply_state(copy.deepcopy(state_dict))

    def _check_state(self, state_dict):
        name = type(self).__name__
        where = f"{name}.load_state_dict"
        if not isinstance(state_dict, dict):
            raise TypeError(f"{where} expects the dict that {name}.state_dict() returned, got "
                            f"{type(state_dict).__name__}")
        expected, got = set(self.state_dict()), set(state_dict)
        if got != expected:
            raise ValueError(f"{where}: the state_dict has keys {sorted(map(str, got - expected))} "
                             f"that a {name} does not have and lacks "
                             f"{sorted(expected - got)} (is it another scheduler's state_dict?)")
        last_epoch = state_dict["last_epoch"]
        if isinstance(last_epoch, bool) or not isinstance(last_epoch, numbers.Integral):
            raise ValueError(f"{where}: last_epoch must be an integer, got {last_epoch!r}")
        count = len(self.optimizer.param_groups)
        for key in ("base_lrs", "_last_lr", "min_lrs"):
            value = state_dict.get(key)
            if key in state_dict and (not isinstance(value, (list, tuple)) or len(value) != count):
                raise ValueError(f"{where}: {key} must be a list of {count} values (one per "
                                 f"param group of the optimizer), got {value!r}")

    def _apply_state(self, state_dict):
        self.__dict__.update(state_dict)


class LambdaLR(LRScheduler):
    """lr(t) = initial_lr * lr_lambda(t), with one function or one per param group."""

    _not_saved = LRScheduler._not_saved + ("lr_lambdas",)

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        self.optimizer = _check_optimizer("LambdaLR", optimizer)
        count = len(optimizer.param_groups)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != count:
                raise ValueError(f"LambdaLR: expected {count} lr_lambdas (one per param group), "
                                 f"got {len(lr_lambda)}")
            lambdas = list(lr_lambda)
        else:
            lambdas = [lr_lambda] * count
        for fn in lambdas:
            if not callable(fn):
                raise TypeError(f"LambdaLR: lr_lambda must be a function of the step, got "
                                f"{type(fn).__name__}")
        self.lr_lambdas = lambdas
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base_lr * fn(self.last_epoch) for fn, base_lr in zip(self.lr_lambdas,
                                                                      self.base_lrs)]

    def state_dict(self):
        """As the base class, plus for each lr_lambda None (a function: not saved) or the
        attributes of a callable object."""
        state = super().state_dict()
        state["lr_lambdas"] = [None if isinstance(fn, types.FunctionType)
                               else copy.deepcopy(fn.__dict__) for fn in self.lr_lambdas]
        return state

    def _check_state(self, state_dict):
        super()._check_state(state_dict)
        saved = state_dict["lr_lambdas"]
        if not isinstance(saved, (list, tuple)) or len(saved) != len(self.lr_lambdas):
            raise ValueError(f"LambdaLR.load_state_dict: lr_lambdas must be a list of "
                             f"{len(self.lr_lambdas)} entries, got {saved!r}")
        for entry, fn in zip(saved, self.lr_lambdas):
            if entry is not None and (not isinstance(entry, dict) or not hasattr(fn, "__dict__")):
                raise ValueError("LambdaLR.load_state_dict: a saved lr_lambda entry must be None "
                                 "or the attribute dict of a callable object")

    def _apply_state(self, state_dict):
        saved = state_dict.pop("lr_lambdas")
        super()._apply_state(state_dict)
        for entry, fn in zip(saved, self.lr_lambdas):
            if entry is not None:
                fn.__dict__.update(entry)


def warmup_cosine(step, base_lr, warmup_steps, total_steps, min_lr=0.0):
    """The learning rate after `step` optimizer steps, with w = warmup_steps, T = total_steps:

        lr(t) = base_lr * t / w                                                  0 <= t < w
        lr(t) = min_lr + (base_lr - min_lr) (1 + cos(pi (t - w) / (T - w))) / 2     w <= t < T
        lr(t) = min_lr                                                           t >= T

    It climbs linearly from 0 to base_lr, reaches base_lr at t = w, and falls along half a
    cosine (SGDR, Loshchilov & Hutter 2017, eq. 5, one cycle) to min_lr at t = T, as Hugging
    Face's get_cosine_schedule_with_warmup does.
    """
    if step < warmup_steps:
        return base_lr * step / warmup_steps
    if step >= total_steps:
        return min_lr
    progress = (step - warmup_steps) / (total_steps - warmup_steps)  # 0 -> 1
    return min_lr + (base_lr - min_lr) * 0.5 * (1 + math.cos(math.pi * progress))


class WarmupCosineLR(LRScheduler):
    """lr(t) = warmup_cosine(t, initial_lr, warmup_steps, total_steps, min_lr) for each param
    group: a linear warm-up, then a cosine decay to min_lr (torch has no single class for it:
    LambdaLR with that function is the same). Computed in closed form at every step, so it is
    exact after any number of steps and after seek()."""

    def __init__(self, optimizer, warmup_steps, total_steps, min_lr=0.0, last_epoch=-1):
        name = "WarmupCosineLR"
        self.warmup_steps = _check_int(name, "warmup_steps", warmup_steps, low=0)
        self.total_steps = _check_int(name, "total_steps", total_steps, low=1)
        if warmup_steps > total_steps:
            raise ValueError(f"{name}: need warmup_steps <= total_steps, got "
                             f"warmup_steps={warmup_steps}, total_steps={total_steps}")
        check_number(name, "min_lr", min_lr)
        if min_lr < 0:
            raise ValueError(f"{name}: min_lr must be >= 0, got {min_lr}")
        self.min_lr = min_lr
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [warmup_cosine(self.last_epoch, base_lr, self.warmup_steps, self.total_steps,
                              self.min_lr) for base_lr in self.base_lrs]


class StepLR(LRScheduler):
    """lr(t) = initial_lr * gamma ** (t // step_size): multiply by gamma every step_size steps."""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        self.step_size = _check_int("StepLR", "step_size", step_size, low=1)
        check_number("StepLR", "gamma", gamma)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _closed_form_lr(self):
        return [base_lr * self.gamma ** (self.last_epoch // self.step_size)
                for base_lr in self.base_lrs]


class MultiStepLR(LRScheduler):
    """lr(t) = initial_lr * gamma ** (number of milestones <= t); a milestone given twice
    counts twice."""

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        if isinstance(milestones, (str, bytes)) or not hasattr(milestones, "__iter__"):
            raise TypeError(f"MultiStepLR: milestones must be a list of steps, got "
                            f"{type(milestones).__name__}")
        self.milestones = sorted(_check_int("MultiStepLR", "milestones", m, low=0)
                                 for m in milestones)
        check_number("MultiStepLR", "gamma", gamma)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        count = self.milestones.count(self.last_epoch)
        if count == 0:
            return self._current_lrs()
        return [lr * self.gamma ** count for lr in self._current_lrs()]

    def _closed_form_lr(self):
        passed = bisect_right(self.milestones, self.last_epoch)
        return [base_lr * self.gamma ** passed for base_lr in self.base_lrs]


class ConstantLR(LRScheduler):
    """lr(t) = initial_lr * factor for t < total_iters, then initial_lr."""

    def __init__(self, optimizer, factor=1.0 / 3, total_iters=5, last_epoch=-1):
        check_number("ConstantLR", "factor", factor)
        if not 0 < factor <= 1:
            raise ValueError(f"ConstantLR: factor must be in (0, 1], got {factor}")
        self.factor = factor
        self.total_iters = _check_int("ConstantLR", "total_iters", total_iters, low=0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [lr * self.factor for lr in self._current_lrs()]
        if self.last_epoch != self.total_iters:
            return self._current_lrs()
        return [lr * (1.0 / self.factor) for lr in self._current_lrs()]

    def _closed_form_lr(self):
        return [base_lr * (self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor))
                for base_lr in self.base_lrs]


class LinearLR(LRScheduler):
    """lr(t) = initial_lr * (s + (e - s) min(t, total_iters) / total_iters), with
    s = start_factor and e = end_factor: a straight line from s to e, then flat."""

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5,
                 last_epoch=-1):
        check_number("LinearLR", "start_factor", start_factor)
        check_number("LinearLR", "end_factor", end_factor)
        if not 0 < start_factor <= 1:
            raise ValueError(f"LinearLR: start_factor must be in (0, 1], got {start_factor}")
        if not 0 <= end_factor <= 1:
            raise ValueError(f"LinearLR: end_factor must be in [0, 1], got {end_factor}")
        self.start_factor, self.end_factor = start_factor, end_factor
        self.total_iters = _check_int("LinearLR", "total_iters", total_iters, low=1)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [lr * self.start_factor for lr in self._current_lrs()]
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._current_lrs()
        # lr(t) / lr(t - 1) = 1 + (e - s) / (total_iters s + (t - 1)(e - s))
        slope = self.end_factor - self.start_factor
        ratio = 1.0 + slope / (self.total_iters * self.start_factor
                               + (self.last_epoch - 1) * slope)
        return [lr * ratio for lr in self._current_lrs()]

    def _closed_form_lr(self):
        return [base_lr * (self.start_factor + (self.end_factor - self.start_factor)
                           * min(self.total_iters, self.last_epoch) / self.total_iters)
                for base_lr in self.base_lrs]


class ExponentialLR(LRScheduler):
    """lr(t) = initial_lr * gamma ** t."""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        check_number("ExponentialLR", "gamma", gamma)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _closed_form_lr(self):
        return [base_lr * self.gamma ** self.last_epoch for base_lr in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """lr(t) = eta_min + (initial_lr - eta_min) (1 + cos(pi t / T_max)) / 2 (SGDR without
    restarts, Loshchilov & Hutter 2017, eq. 5), computed step to step as PyTorch does; past
    T_max it climbs back along the same cosine."""

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        self.T_max = _check_int("CosineAnnealingLR", "T_max", T_max, low=1)
        check_number("CosineAnnealingLR", "eta_min", eta_min)
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        t, period, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._current_lrs()
        if self._step_count == 1 and t > 0:  # resumed with last_epoch >= 0: the closed form
            return [eta_min + (base_lr - eta_min) * (1 + math.cos(t * math.pi / period)) / 2
                    for base_lr in self.base_lrs]
        if (t - 1 - period) % (2 * period) == 0:  # the bottom of the cosine: start climbing
            return [lr + (base_lr - eta_min) * (1 - math.cos(math.pi / period)) / 2
                    for base_lr, lr in zip(self.base_lrs, self._current_lrs())]
        return [(1 + math.cos(math.pi * t / period)) / (1 + math.cos(math.pi * (t - 1) / period))
                * (lr - eta_min) + eta_min for lr in self._current_lrs()]

    def _closed_form_lr(self):
        return [self.eta_min + (base_lr - self.eta_min)
                * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base_lr in self.base_lrs]


class SequentialLR(LRScheduler):
    """Run schedulers[0] until milestones[0], then schedulers[1] (restarted at its step 0)
    until milestones[1], and so on."""

    _not_saved = LRScheduler._not_saved + ("_schedulers",)

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        name = "SequentialLR"
        self.optimizer = _check_optimizer(name, optimizer)
        schedulers = list(schedulers) if isinstance(schedulers, (list, tuple)) else schedulers
        if not isinstance(schedulers, list) or not schedulers:
            raise ValueError(f"{name} expects a non-empty list of schedulers, got {schedulers!r}")
        for index, scheduler in enumerate(schedulers):
            if not isinstance(scheduler, LRScheduler):
                raise TypeError(f"{name}: schedulers[{index}] is a {type(scheduler).__name__}, "
                                "not a learning-rate scheduler")
            if isinstance(scheduler, ReduceLROnPlateau):
                raise ValueError(f"{name} cannot run ReduceLROnPlateau (schedulers[{index}]): "
                                 "its step() needs the metric")
            if scheduler.optimizer is not optimizer:
                raise ValueError(f"{name}: schedulers[{index}] ({type(scheduler).__name__}) "
                                 "drives another optimizer; all must drive the one given")
        milestones = [_check_int(name, "milestones", m, low=0) for m in milestones]
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"{name} needs one milestone fewer than schedulers, got "
                             f"{len(schedulers)} schedulers and {len(milestones)} milestones")
        if milestones != sorted(milestones):
            raise ValueError(f"{name}: milestones must be in increasing order, got {milestones}")
        last_epoch = _check_int(name, "last_epoch", last_epoch, low=-1)
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = last_epoch + 1
        # back to the initial lrs, and undo the step 0 each scheduler took when it was built
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        self._undo_initial_steps(self)
        index = bisect_right(milestones, 0)
        schedulers[index]._initial_step()
        self._last_lr = schedulers[index].get_last_lr()

    def _undo_initial_steps(self, scheduler):
        if isinstance(scheduler, SequentialLR):
            for child in scheduler._schedulers:
                self._undo_initial_steps(child)
        else:
            scheduler.last_epoch -= 1

    def step(self):
        self.last_epoch += 1
        index = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[index]
        if index > 0 and self._milestones[index - 1] == self.last_epoch:
            scheduler._update_lr(0)  # a new phase starts at its own step 0
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self):
        state = super().state_dict()
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def _check_state(self, state_dict):
        super()._check_state(state_dict)
        saved = state_dict["_schedulers"]
        if not isinstance(saved, (list, tuple)) or len(saved) != len(self._schedulers):
            raise ValueError(f"SequentialLR.load_state_dict: expected the states of "
                             f"{len(self._schedulers)} schedulers, got {saved!r:.80}")
        for scheduler, state in zip(self._schedulers, saved):
            scheduler._check_state(state)

    def _apply_state(self, state_dict):
        saved = state_dict.pop("_schedulers")
        super()._apply_state(state_dict)
        for scheduler, state in zip(self._schedulers, saved):
            scheduler._apply_state(state)


class ReduceLROnPlateau(LRScheduler):
    """Multiply the lrs by `factor` when the metric given to step(metric) has not improved
    (by more than `threshold`, relative or absolute) for more than `patience` steps; then wait
    `cooldown` steps before counting again. No lr goes below its min_lr."""

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0.0, eps=1e-8):
        name = "ReduceLROnPlateau"
        check_number(name, "factor", factor)
        if factor >= 1.0:
            raise ValueError(f"{name}: factor must be < 1, got {factor}")
        self.factor = factor
        self.optimizer = _check_optimizer(name, optimizer)
        if isinstance(min_lr, (list, tuple)):
            self.default_min_lr = None
            self.min_lrs = _per_group(name, "min_lr", optimizer, min_lr)
        else:
            check_number(name, "min_lr", min_lr)
            self.default_min_lr = min_lr
            self.min_lrs = [min_lr] * len(optimizer.param_groups)
        self.patience = _check_int(name, "patience", patience, low=0)
        self.cooldown = _check_int(name, "cooldown", cooldown, low=0)
        check_number(name, "eps", eps)
        check_number(name, "threshold", threshold)
        self.eps = eps
        self.last_epoch = 0
        self._last_lr = self._current_lrs()
        self._init_is_better(mode, threshold, threshold_mode)
        self._reset()

    def _reset(self):
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def _init_is_better(self, mode, threshold, threshold_mode):
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got "
                             f"{threshold_mode!r}")
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.mode, self.threshold, self.threshold_mode = mode, threshold, threshold_mode

    def _is_better(self, value, best):
        if self.mode == "min" and self.threshold_mode == "rel":
            return value < best * (1.0 - self.threshold)
        if self.mode == "min":
            return value < best - self.threshold
        if self.threshold_mode == "rel":
            return value > best * (self.threshold + 1.0)
        return value > best + self.threshold

    @property
    def in_cooldown(self):
        return self.cooldown_counter > 0

    def step(self, metrics):
        """One step with the metric of this epoch (a number or a one-element tensor)."""
        value = getattr(metrics, "data", metrics)
        try:
            if getattr(value, "size", None) == 1:  # a one-element array of any shape
                value = value.reshape(())
            current = float(value)
        except (TypeError, ValueError):
            raise TypeError(f"ReduceLROnPlateau.step expects the metric as a number or a "
                            f"one-element tensor, got {type(metrics).__name__}") from None
        self.last_epoch += 1
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = self._current_lrs()

    def _reduce_lr(self):
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise ValueError(f"ReduceLROnPlateau: the optimizer has {len(groups)} param "
                                 f"groups but min_lr gave {len(self.min_lrs)} values")
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, min_lr in zip(groups, self.min_lrs):
            old_lr = float(group["lr"])
            new_lr = max(old_lr * self.factor, min_lr)
            if old_lr - new_lr > self.eps:
                group["lr"] = new_lr

    def _apply_state(self, state_dict):
        super()._apply_state(state_dict)
        self._init_is_better(self.mode, self.threshold, self.threshold_mode)


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin, 2017): over total_steps steps the lr climbs from
    max_lr / div_factor to max_lr during the first pct_start of the steps, then anneals to
    initial_lr / final_div_factor ("cos" or "linear"); three_phase climbs, comes back down to
    the initial lr symmetrically, then anneals to the minimum. With cycle_momentum the
    momentum (SGD, RMSprop) or beta1 (Adam) moves the opposite way, between max_momentum and
    base_momentum. Stepping past total_steps is an error."""

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
                 pct_start=0.3, anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85,
                 max_momentum=0.95, div_factor=25.0, final_div_factor=1e4, three_phase=False,
                 last_epoch=-1):
        name = "OneCycleLR"
        self.optimizer = _check_optimizer(name, optimizer)
        if total_steps is not None:
            self.total_steps = _check_int(name, "total_steps", total_steps, low=1)
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = (_check_int(name, "epochs", epochs, low=1)
                                * _check_int(name, "steps_per_epoch", steps_per_epoch, low=1))
        else:
            raise ValueError(f"{name}: give total_steps, or both epochs and steps_per_epoch")
        check_number(name, "pct_start", pct_start)
        if not 0 <= pct_start <= 1:
            raise ValueError(f"{name}: pct_start must be in [0, 1], got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"{name}: anneal_strategy must be 'cos' or 'linear', got "
                             f"{anneal_strategy!r}")
        check_number(name, "div_factor", div_factor)
        check_number(name, "final_div_factor", final_div_factor)
        if div_factor == 0 or final_div_factor == 0:
            raise ValueError(f"{name}: div_factor and final_div_factor must be > 0")
        total = self.total_steps
        if three_phase:
            self._schedule_phases = [
                {"end_step": float(pct_start * total) - 1, "start_lr": "initial_lr",
                 "end_lr": "max_lr", "start_momentum": "max_momentum",
                 "end_momentum": "base_momentum"},
                {"end_step": float(2 * pct_start * total) - 2, "start_lr": "max_lr",
                 "end_lr": "initial_lr", "start_momentum": "base_momentum",
                 "end_momentum": "max_momentum"},
                {"end_step": total - 1, "start_lr": "initial_lr", "end_lr": "min_lr",
                 "start_momentum": "max_momentum", "end_momentum": "max_momentum"}]
        else:
            self._schedule_phases = [
                {"end_step": float(pct_start * total) - 1, "start_lr": "initial_lr",
                 "end_lr": "max_lr", "start_momentum": "max_momentum",
                 "end_momentum": "base_momentum"},
                {"end_step": total - 1, "start_lr": "max_lr", "end_lr": "min_lr",
                 "start_momentum": "base_momentum", "end_momentum": "max_momentum"}]
        phases = self._schedule_phases
        if phases[0]["end_step"] == 0 or phases[-1]["end_step"] == phases[-2]["end_step"]:
            raise ValueError(f"{name}: with total_steps={total} and pct_start={pct_start} a "
                             "phase of the cycle would have no steps (its length divides the "
                             "progress); change pct_start or total_steps")
        self._anneal_func_type = anneal_strategy
        max_lrs = _per_group(name, "max_lr", optimizer, max_lr)
        if last_epoch == -1:
            for group, group_max_lr in zip(optimizer.param_groups, max_lrs):
                group["initial_lr"] = group_max_lr / div_factor
                group["max_lr"] = group_max_lr
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = bool(cycle_momentum)
        if self.cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(f"{name}: cycle_momentum=True needs an optimizer with momentum "
                                 f"or betas, and {type(optimizer).__name__} has neither; pass "
                                 "cycle_momentum=False")
            self.use_beta1 = "betas" in optimizer.defaults
            max_momentums = _per_group(name, "max_momentum", optimizer, max_momentum)
            base_momentums = _per_group(name, "base_momentum", optimizer, base_momentum)
            if last_epoch == -1:
                for high, low, group in zip(max_momentums, base_momentums,
                                            optimizer.param_groups):
                    if self.use_beta1:
                        group["betas"] = (high, *group["betas"][1:])
                    else:
                        group["momentum"] = high
                    group["max_momentum"] = high
                    group["base_momentum"] = low
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start, end, pct):
        if self._anneal_func_type == "cos":
            # end + (start - end) (1 + cos(pi pct)) / 2
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self):
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step {step} times, but total_steps is "
                             f"{self.total_steps}")
        lrs = []
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for index, phase in enumerate(self._schedule_phases):
                end_step = phase["end_step"]
                if step <= end_step or index == len(self._schedule_phases) - 1:
                    pct = (step - start_step) / (end_step - start_step)
                    lr = self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct)
                    if self.cycle_momentum:
                        momentum = self._anneal(group[phase["start_momentum"]],
                                                group[phase["end_momentum"]], pct)
                    break
                start_step = phase["end_step"]
            lrs.append(lr)
            if self.cycle_momentum:
                if self.use_beta1:
                    group["betas"] = (momentum, *group["betas"][1:])
                else:
                    group["momentum"] = momentum
        return lrs
