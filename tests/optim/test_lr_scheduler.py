"""optim.lr_scheduler against torch.optim.lr_scheduler: every learning rate (and, for
OneCycleLR, every momentum / beta1) of many steps, exactly; state_dict through
scratchgen.save / scratchgen.load continuing exactly as an uninterrupted run; clear errors.

Both sides compute the same floating-point expressions in the same order, so the learning
rates are compared with ==, not with a tolerance.
"""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scratchgen as sg
import scratchgen.optim as optim
from scratchgen.nn import Parameter
from scratchgen.optim import lr_scheduler

torch = pytest.importorskip("torch", reason="the PyTorch oracle tests need torch")

BASE_LRS = (0.1, 0.3)


def optimizers(name="SGD", **kwargs):
    """The same two-group optimizer in scratchgen and in torch (lrs 0.1 and 0.3)."""
    ours = [Parameter(np.zeros(2)), Parameter(np.zeros(2))]
    theirs = [torch.zeros(2, dtype=torch.float64, requires_grad=True) for _ in range(2)]
    opt = getattr(optim, name)([{"params": ours[:1]}, {"params": ours[1:], "lr": BASE_LRS[1]}],
                               lr=BASE_LRS[0], **kwargs)
    t_opt = getattr(torch.optim, name)([{"params": theirs[:1]},
                                        {"params": theirs[1:], "lr": BASE_LRS[1]}],
                                       lr=BASE_LRS[0], **kwargs)
    return opt, t_opt


def group_values(opt):
    """lr, and momentum / beta1 where the optimizer has them, of every group."""
    values = []
    for group in opt.param_groups:
        values.append(group["lr"])
        if "momentum" in group:
            values.append(group["momentum"])
        if "betas" in group:
            values.append(tuple(group["betas"]))
    return values


def assert_same_run(make, steps=80, name="SGD", metrics=None, **kwargs):
    """Run both schedulers `steps` steps; after each one every value must be identical."""
    opt, t_opt = optimizers(name, **kwargs)
    sched, t_sched = make(lr_scheduler, opt), make(torch.optim.lr_scheduler, t_opt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's "step() before optimizer.step()" advice
        for step in range(steps):
            assert group_values(opt) == group_values(t_opt), f"after step {step}"
            assert sched.get_last_lr() == t_sched.get_last_lr(), f"after step {step}"
            assert sched.last_epoch == t_sched.last_epoch
            opt.step(), t_opt.step()
            if metrics is None:
                sched.step(), t_sched.step()
            else:
                sched.step(metrics[step]), t_sched.step(metrics[step])
    return opt, sched


# Each entry builds a scheduler from either module (ours or torch's) and an optimizer.
SCHEDULERS = {
    "StepLR": lambda m, o: m.StepLR(o, step_size=7, gamma=0.5),
    "StepLR-1": lambda m, o: m.StepLR(o, step_size=1, gamma=0.97),
    "MultiStepLR": lambda m, o: m.MultiStepLR(o, milestones=[30, 5, 9, 9], gamma=0.3),
    "ExponentialLR": lambda m, o: m.ExponentialLR(o, gamma=0.93),
    "CosineAnnealingLR": lambda m, o: m.CosineAnnealingLR(o, T_max=17, eta_min=0.01),
    "CosineAnnealingLR-0": lambda m, o: m.CosineAnnealingLR(o, T_max=30),
    "LambdaLR": lambda m, o: m.LambdaLR(o, lambda t: 0.9 ** t + t % 3),
    "LambdaLR-list": lambda m, o: m.LambdaLR(o, [lambda t: 1 / (t + 1), lambda t: 0.5 ** t]),
    "LinearLR": lambda m, o: m.LinearLR(o, start_factor=0.2, end_factor=0.9, total_iters=13),
    "LinearLR-down": lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.0,
                                             total_iters=40),
    "ConstantLR": lambda m, o: m.ConstantLR(o, factor=0.4, total_iters=6),
    "SequentialLR": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, 0.1, 1.0, 5), m.CosineAnnealingLR(o, 20), m.ExponentialLR(o, 0.9)],
        milestones=[5, 25]),
    "SequentialLR-warmup": lambda m, o: m.SequentialLR(
        o, [m.ConstantLR(o, 0.5, 3), m.StepLR(o, 10, 0.5)], milestones=[8]),
    "OneCycleLR": lambda m, o: m.OneCycleLR(o, max_lr=[1.0, 2.0], total_steps=81),
    "OneCycleLR-linear": lambda m, o: m.OneCycleLR(o, 0.5, epochs=9, steps_per_epoch=9,
                                                   anneal_strategy="linear", pct_start=0.4),
    "OneCycleLR-three-phase": lambda m, o: m.OneCycleLR(o, 0.8, total_steps=81,
                                                        three_phase=True, div_factor=10.0,
                                                        final_div_factor=100.0),
    "OneCycleLR-no-momentum": lambda m, o: m.OneCycleLR(o, 1.0, total_steps=81,
                                                        cycle_momentum=False),
}


@pytest.mark.parametrize("key", sorted(SCHEDULERS))
def test_each_scheduler_matches_torch_step_for_step(key):
    assert_same_run(SCHEDULERS[key], momentum=0.9)


@pytest.mark.parametrize("name", ["Adam", "AdamW", "RMSprop"])
@pytest.mark.parametrize("three_phase", [False, True])
def test_one_cycle_cycles_beta1_or_momentum_as_torch(name, three_phase):
    kwargs = dict(momentum=0.9) if name == "RMSprop" else {}
    assert_same_run(lambda m, o: m.OneCycleLR(o, [0.01, 0.02], total_steps=61,
                                              base_momentum=[0.8, 0.7], max_momentum=0.9,
                                              three_phase=three_phase),
                    steps=61, name=name, **kwargs)


def test_one_cycle_refuses_an_optimizer_without_momentum():
    opt, t_opt = optimizers("Adagrad")
    with pytest.raises(ValueError, match="cycle_momentum=True needs an optimizer with momentum"):
        lr_scheduler.OneCycleLR(opt, 1.0, total_steps=10)
    assert_same_run(lambda m, o: m.OneCycleLR(o, 1.0, total_steps=30, cycle_momentum=False),
                    steps=30, name="Adagrad")


def test_two_chained_schedulers_compose_as_in_torch():
    opt, t_opt = optimizers(momentum=0.9)
    ours = [lr_scheduler.ExponentialLR(opt, 0.95), lr_scheduler.StepLR(opt, 4, 0.5)]
    theirs = [torch.optim.lr_scheduler.ExponentialLR(t_opt, 0.95),
              torch.optim.lr_scheduler.StepLR(t_opt, 4, 0.5)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for step in range(30):
            assert group_values(opt) == group_values(t_opt), f"step {step}"
            for s, t in zip(ours, theirs):
                s.step(), t.step()
    assert opt.param_groups[0]["lr"] < 0.1 * 0.95 ** 29  # both took part


@settings(max_examples=25)
@given(kind=st.sampled_from(["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR",
                             "LinearLR", "ConstantLR", "OneCycleLR"]),
       size=st.integers(1, 12), gamma=st.floats(0.1, 1.0), factor=st.floats(0.05, 1.0),
       milestones=st.lists(st.integers(0, 40), max_size=4), pct=st.floats(0.05, 0.95),
       three_phase=st.booleans(), cos=st.booleans())
def test_random_schedules_match_torch(kind, size, gamma, factor, milestones, pct, three_phase,
                                      cos):
    total = 50
    if kind == "OneCycleLR":
        first = pct * total - 1
        if first == 0 or (three_phase and 2 * pct * total - 2 == total - 1):
            return  # a phase without steps: refused (see test_bad_arguments), torch divides by 0
    makers = {
        "StepLR": lambda m, o: m.StepLR(o, size, gamma),
        "MultiStepLR": lambda m, o: m.MultiStepLR(o, milestones, gamma),
        "ExponentialLR": lambda m, o: m.ExponentialLR(o, gamma),
        "CosineAnnealingLR": lambda m, o: m.CosineAnnealingLR(o, size, eta_min=gamma / 100),
        "LinearLR": lambda m, o: m.LinearLR(o, factor, gamma, size),
        "ConstantLR": lambda m, o: m.ConstantLR(o, factor, size),
        "OneCycleLR": lambda m, o: m.OneCycleLR(o, gamma, total_steps=total, pct_start=pct,
                                                three_phase=three_phase,
                                                anneal_strategy="cos" if cos else "linear"),
    }
    assert_same_run(makers[kind], steps=total, momentum=0.5)


@settings(max_examples=25)
@given(mode=st.sampled_from(["min", "max"]), threshold_mode=st.sampled_from(["rel", "abs"]),
       patience=st.integers(0, 4), cooldown=st.integers(0, 3), factor=st.floats(0.1, 0.9),
       min_lr=st.one_of(st.floats(0, 0.05), st.tuples(st.floats(0, 0.05), st.floats(0, 0.05))),
       metrics=st.lists(st.sampled_from([1.0, 0.9, 0.99995, 1.1, 0.5, 2.0, 0.5]), min_size=40,
                        max_size=40))
def test_reduce_lr_on_plateau_matches_torch(mode, threshold_mode, patience, cooldown, factor,
                                            min_lr, metrics):
    min_lr = list(min_lr) if isinstance(min_lr, tuple) else min_lr
    assert_same_run(lambda m, o: m.ReduceLROnPlateau(o, mode, factor, patience,
                                                     threshold_mode=threshold_mode,
                                                     cooldown=cooldown, min_lr=min_lr),
                    steps=40, metrics=metrics)


def test_reduce_lr_on_plateau_takes_a_one_element_tensor():
    opt, _ = optimizers()
    sched = lr_scheduler.ReduceLROnPlateau(opt, patience=0)
    sched.step(sg.Tensor(np.array(1.0)))
    sched.step(sg.Tensor(np.array([2.0])))
    assert sched.get_last_lr() == [0.1 * 0.1, 0.3 * 0.1]
    with pytest.raises(TypeError, match="metric as a number or a one-element tensor, got str"):
        sched.step("loss")
    assert sched.last_epoch == 2


def test_resuming_with_last_epoch_needs_initial_lr_and_then_matches_torch():
    opt, t_opt = optimizers()
    with pytest.raises(ValueError, match="param_groups\\[0\\] has no 'initial_lr'"):
        lr_scheduler.CosineAnnealingLR(opt, T_max=10, last_epoch=3)
    for group, t_group in zip(opt.param_groups, t_opt.param_groups):
        group["initial_lr"] = t_group["initial_lr"] = group["lr"]
    ours = lr_scheduler.CosineAnnealingLR(opt, T_max=10, last_epoch=3)
    theirs = torch.optim.lr_scheduler.CosineAnnealingLR(t_opt, T_max=10, last_epoch=3)
    for _ in range(12):
        assert ours.get_last_lr() == theirs.get_last_lr() and ours.last_epoch == theirs.last_epoch
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours.step(), theirs.step()


# ---- state_dict: save -> load -> continue is the uninterrupted run ---------------------------

RESUMABLE = dict(SCHEDULERS, ReduceLROnPlateau=lambda m, o: m.ReduceLROnPlateau(
    o, patience=1, cooldown=1, min_lr=[0.0, 0.01]))
RESUME_OPTIMIZERS = {"OneCycleLR": ("Adam", {}), "OneCycleLR-three-phase": ("RMSprop",
                                                                              dict(momentum=0.9))}
PLATEAU_METRICS = [1.0, 0.9, 0.95, 0.97, 0.8, 0.85, 0.9, 0.9, 0.7, 0.75, 0.8, 0.81, 0.82] * 6


def run_training(opt, sched, params, steps, start=0):
    """`steps` steps of a tiny quadratic problem; the lr (and the parameters) it leaves."""
    lrs = []
    for step in range(start, start + steps):
        opt.zero_grad()
        ((params[0] - 1.0) ** 2 + (params[1] * 3.0) ** 2).sum().backward()
        opt.step()
        if isinstance(sched, lr_scheduler.ReduceLROnPlateau):
            sched.step(PLATEAU_METRICS[step])
        else:
            sched.step()
        lrs.append(group_values(opt))
    return lrs


@pytest.mark.parametrize("key", sorted(RESUMABLE))
def test_save_load_continue_equals_the_uninterrupted_run(tmp_path, key):
    name, kwargs = RESUME_OPTIMIZERS.get(key, ("SGD", dict(momentum=0.9)))
    make = RESUMABLE[key]

    def fresh():
        params = [Parameter(np.full(2, 0.5)), Parameter(np.full(2, -0.5))]
        opt = getattr(optim, name)([{"params": params[:1]},
                                    {"params": params[1:], "lr": BASE_LRS[1]}],
                                   lr=BASE_LRS[0], **kwargs)
        return params, opt, make(lr_scheduler, opt)

    params, opt, sched = fresh()
    straight = run_training(opt, sched, params, 60)
    straight_params = [p.data.copy() for p in params]

    params, opt, sched = fresh()
    first = run_training(opt, sched, params, 25)
    sg.save({"params": [p.data for p in params], "optimizer": opt.state_dict(),
             "scheduler": sched.state_dict()}, tmp_path / "ckpt.npz")

    checkpoint = sg.load(tmp_path / "ckpt.npz")
    params, opt, sched = fresh()  # the order PyTorch asks for: build, then load
    for p, saved in zip(params, checkpoint["params"]):
        p.data[...] = saved
    opt.load_state_dict(checkpoint["optimizer"])
    sched.load_state_dict(checkpoint["scheduler"])
    assert sched.get_last_lr() == straight[24][0::2]  # [lr, momentum or betas] per group
    rest = run_training(opt, sched, params, 35, start=25)
    assert first + rest == straight
    for p, want in zip(params, straight_params):
        np.testing.assert_array_equal(p.data, want)


class Warmup:
    """A callable object: its attributes are saved by LambdaLR, a function's are not."""

    def __init__(self, steps):
        self.steps = steps

    def __call__(self, t):
        return min(1.0, (t + 1) / self.steps)


def test_lambda_lr_saves_callable_objects_attributes_but_not_functions(tmp_path):
    opt, _ = optimizers()
    sched = lr_scheduler.LambdaLR(opt, [Warmup(10), lambda t: 0.5])
    for _ in range(3):
        sched.step()
    state = sched.state_dict()
    assert state["lr_lambdas"] == [{"steps": 10}, None]
    sg.save(state, tmp_path / "s.npz")
    opt2, _ = optimizers()
    other = Warmup(99)
    resumed = lr_scheduler.LambdaLR(opt2, [other, lambda t: 0.5])
    resumed.load_state_dict(sg.load(tmp_path / "s.npz"))
    assert other.steps == 10 and resumed.last_epoch == 3
    sched.step(), resumed.step()
    assert resumed.get_last_lr() == sched.get_last_lr()


def test_the_state_dict_is_a_copy():
    opt, _ = optimizers()
    sched = lr_scheduler.MultiStepLR(opt, [2, 4])
    state = sched.state_dict()
    state["milestones"].append(1)
    state["base_lrs"][0] = 5.0
    assert sched.milestones == [2, 4] and sched.base_lrs == list(BASE_LRS)


def test_warmup_cosine_still_drives_the_optimizer():
    opt, _ = optimizers()
    sched = optim.WarmupCosineLR(opt, warmup_steps=2, total_steps=6)
    lrs = []
    for _ in range(7):
        lrs.append(opt.param_groups[0]["lr"])
        sched.step()
    assert lrs[:3] == [0.0, 0.05, 0.1] and lrs[-1] == 0.0


# ---- errors -----------------------------------------------------------------------------------

@pytest.mark.parametrize("build, error, words", [
    (lambda o: lr_scheduler.StepLR("opt", 3), TypeError, "StepLR expects a scratchgen optimizer"),
    (lambda o: lr_scheduler.StepLR(torch.optim.SGD([torch.zeros(1, requires_grad=True)], 0.1),
                                   3), TypeError, "got SGD"),
    (lambda o: lr_scheduler.StepLR(o, 0), ValueError, "step_size must be >= 1"),
    (lambda o: lr_scheduler.StepLR(o, 2.5), TypeError, "step_size must be an integer"),
    (lambda o: lr_scheduler.StepLR(o, 2, gamma="half"), TypeError, "gamma must be a number"),
    (lambda o: lr_scheduler.MultiStepLR(o, 5), TypeError, "milestones must be a list"),
    (lambda o: lr_scheduler.MultiStepLR(o, [3, -1]), ValueError, "milestones must be >= 0"),
    (lambda o: lr_scheduler.ExponentialLR(o, None), TypeError, "gamma must be a number"),
    (lambda o: lr_scheduler.CosineAnnealingLR(o, 0), ValueError, "T_max must be >= 1"),
    (lambda o: lr_scheduler.LambdaLR(o, [lambda t: 1]), ValueError, "expected 2 lr_lambdas"),
    (lambda o: lr_scheduler.LambdaLR(o, 0.5), TypeError, "lr_lambda must be a function"),
    (lambda o: lr_scheduler.LinearLR(o, start_factor=0), ValueError, "start_factor must be in"),
    (lambda o: lr_scheduler.LinearLR(o, end_factor=1.5), ValueError, "end_factor must be in"),
    (lambda o: lr_scheduler.ConstantLR(o, factor=0), ValueError, "factor must be in \\(0, 1\\]"),
    (lambda o: lr_scheduler.SequentialLR(o, [], []), ValueError, "non-empty list of schedulers"),
    (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.StepLR(o, 2)], [3]), ValueError,
     "one milestone fewer than schedulers"),
    (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.StepLR(o, 2), "x"], [3]), TypeError,
     "schedulers\\[1\\] is a str"),
    (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.StepLR(o, 2),
                                             lr_scheduler.StepLR(optimizers()[0], 2)], [3]),
     ValueError, "drives another optimizer"),
    (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.StepLR(o, 2),
                                             lr_scheduler.ReduceLROnPlateau(o)], [3]),
     ValueError, "cannot run ReduceLROnPlateau"),
    (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.StepLR(o, 2)] * 3, [5, 2]),
     ValueError, "increasing order"),
    (lambda o: lr_scheduler.OneCycleLR(o, 1.0), ValueError, "give total_steps"),
    (lambda o: lr_scheduler.OneCycleLR(o, 1.0, total_steps=0), ValueError, "total_steps must"),
    (lambda o: lr_scheduler.OneCycleLR(o, 1.0, 10, pct_start=1.5), ValueError, "pct_start"),
    (lambda o: lr_scheduler.OneCycleLR(o, 1.0, 10, pct_start=0.1), ValueError,
     "a phase of the cycle would have no steps"),
    (lambda o: lr_scheduler.OneCycleLR(o, 1.0, 10, anneal_strategy="exp"), ValueError,
     "anneal_strategy must be 'cos' or 'linear'"),
    (lambda o: lr_scheduler.OneCycleLR(o, [1.0], 10), ValueError, "one value per param group"),
    (lambda o: lr_scheduler.OneCycleLR(o, "1", 10), TypeError, "max_lr must be a number"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, mode="lowest"), ValueError, "mode must be"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, threshold_mode="x"), ValueError,
     "threshold_mode must be"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, factor=1.0), ValueError, "factor must be < 1"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, patience=-1), ValueError, "patience must be"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, min_lr=[0.1]), ValueError,
     "one value per param group")])
def test_bad_arguments_get_clear_errors(build, error, words):
    opt, _ = optimizers(momentum=0.9)
    with pytest.raises(error, match=words):
        build(opt)


def test_stepping_one_cycle_past_its_end_is_an_error_that_changes_nothing():
    opt, _ = optimizers(momentum=0.9)
    sched = lr_scheduler.OneCycleLR(opt, 1.0, total_steps=5)
    for _ in range(5):
        sched.step()
    before = group_values(opt)
    with pytest.raises(ValueError, match="tried to step 6 times, but total_steps is 5"):
        sched.step()
    assert sched.last_epoch == 5 and group_values(opt) == before
    assert sched.get_last_lr() == [before[0], before[2]]


@pytest.mark.parametrize("state, error, words", [
    ([1, 2], TypeError, "expects the dict that StepLR.state_dict\\(\\) returned"),
    (lambda: lr_scheduler.CosineAnnealingLR(optimizers()[0], 10).state_dict(), ValueError,
     "another scheduler's state_dict"),
    (lambda: {**lr_scheduler.StepLR(optimizers()[0], 3).state_dict(), "last_epoch": "3"},
     ValueError, "last_epoch must be an integer"),
    (lambda: {**lr_scheduler.StepLR(optimizers()[0], 3).state_dict(), "base_lrs": [0.1]},
     ValueError, "base_lrs must be a list of 2 values")])
def test_a_bad_scheduler_state_is_refused_and_changes_nothing(state, error, words):
    opt, _ = optimizers()
    sched = lr_scheduler.StepLR(opt, 3)
    sched.step()
    before = sched.state_dict()
    with pytest.raises(error, match=words):
        sched.load_state_dict(state() if callable(state) else state)
    assert sched.state_dict() == before


def test_a_bad_sequential_state_changes_none_of_its_schedulers():
    opt, _ = optimizers()
    sched = lr_scheduler.SequentialLR(opt, [lr_scheduler.ConstantLR(opt, 0.5, 2),
                                            lr_scheduler.ExponentialLR(opt, 0.9)], [3])
    for _ in range(5):
        sched.step()
    state = sched.state_dict()
    before = sched.state_dict()
    state["last_epoch"] = 1
    state["_schedulers"][0]["last_epoch"] = 0
    state["_schedulers"][1] = {"gamma": 0.9}  # the second one is broken
    with pytest.raises(ValueError, match="another scheduler's state_dict"):
        sched.load_state_dict(state)
    assert sched.state_dict() == before


def test_the_state_of_every_scheduler_goes_through_save_and_load(tmp_path):
    for key, make in sorted(RESUMABLE.items()):
        opt, _ = optimizers(momentum=0.9)
        state = make(lr_scheduler, opt).state_dict()
        sg.save(state, tmp_path / f"{key}.npz")
        loaded = sg.load(tmp_path / f"{key}.npz")
        assert loaded == state, key  # numbers, lists, tuples and inf come back as they were
