"""Learning-rate schedules: linear warm-up followed by cosine decay (Loshchilov & Hutter, 2017,
SGDR, eq. 5, without restarts), as a pure function and as a scheduler that drives an optimizer.
"""
import math
import numbers


def warmup_cosine(step, base_lr, warmup_steps, total_steps, min_lr=0.0):
    """The learning rate after `step` optimizer steps, with w = warmup_steps, T = total_steps:

        lr(t) = base_lr * t / w                                            0 <= t < w
        lr(t) = min_lr + (base_lr - min_lr) (1 + cos(pi (t - w) / (T - w))) / 2     w <= t < T
        lr(t) = min_lr                                                     t >= T

    So it climbs linearly from 0 to base_lr, reaches base_lr at t = w, and falls along half a
    cosine to min_lr at t = T (as Hugging Face's get_cosine_schedule_with_warmup).
    """
    if step < warmup_steps:
        return base_lr * step / warmup_steps
    if step >= total_steps:
        return min_lr
    progress = (step - warmup_steps) / (total_steps - warmup_steps)  # 0 -> 1
    return min_lr + (base_lr - min_lr) * 0.5 * (1 + math.cos(math.pi * progress))


class WarmupCosine:
    """Drives optimizer.param_groups[i]["lr"] along warmup_cosine, from each group's lr at
    construction (its base_lr). Call .step() once after each optimizer.step():

        sched = WarmupCosine(opt, warmup_steps=100, total_steps=10_000)   # sets lr(0) = 0
        for batch in data:
            loss.backward(); opt.step(); opt.zero_grad(); sched.step()

    To resume, load the optimizer's state_dict and then this one's (it holds the base lrs).
    """

    def __init__(self, optimizer, warmup_steps, total_steps, min_lr=0.0):
        for name, value in (("warmup_steps", warmup_steps), ("total_steps", total_steps)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        if total_steps < 1 or warmup_steps > total_steps:
            raise ValueError(f"need 0 <= warmup_steps <= total_steps and total_steps >= 1, got "
                             f"warmup_steps={warmup_steps}, total_steps={total_steps}")
        if min_lr < 0:
            raise ValueError(f"min_lr must be >= 0, got {min_lr}")
        self.optimizer = optimizer
        self.warmup_steps, self.total_steps = int(warmup_steps), int(total_steps)
        self.min_lr = min_lr
        self.base_lrs = [group["lr"] for group in optimizer.param_groups]
        self.last_step = 0
        self._set_lrs()

    def get_lr(self):
        """The current learning rate of each param group (a list, like PyTorch's)."""
        return [warmup_cosine(self.last_step, base_lr, self.warmup_steps, self.total_steps,
                              self.min_lr) for base_lr in self.base_lrs]

    def step(self):
        self.last_step += 1
        self._set_lrs()

    def _set_lrs(self):
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr

    def state_dict(self):
        return {"last_step": self.last_step, "base_lrs": list(self.base_lrs),
                "warmup_steps": self.warmup_steps, "total_steps": self.total_steps,
                "min_lr": self.min_lr}

    def load_state_dict(self, state_dict):
        self.last_step = int(state_dict["last_step"])
        self.base_lrs = list(state_dict["base_lrs"])
        self.warmup_steps = int(state_dict["warmup_steps"])
        self.total_steps = int(state_dict["total_steps"])
        self.min_lr = state_dict["min_lr"]
        self._set_lrs()
