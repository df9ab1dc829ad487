"""The models' learning rates all come from optim.lr_scheduler: saved as a position, resumed
with seek() along the schedule of the run's current config (so raising --steps stretches
it), and read from the layouts of checkpoints written before the schedulers were shared."""
import math

import pytest

from scratchgen.optim import warmup_cosine
from scratchgen.training import make_config
from scratchgen.training.loop import build

TINY = {"gan": dict(hidden=16, batch_size=16, steps=10),
        "rbm": dict(hidden=4, batch_size=8, steps=10),
        "gpt": dict(layers=1, d_model=16, heads=2, block_size=8, batch_size=2, warmup=2,
                    steps=10)}


def model(name, tmp_path, **extra):
    return build(make_config(name, out=str(tmp_path / name), **{**TINY[name], **extra}))[1]


def lrs(m):
    return [g["lr"] for opt in m.optimizers.values() for g in opt.param_groups]


def expected(name, step, steps, lr):
    if name == "rbm":
        return lr * (1.0 - step / steps)
    if name == "gpt":
        return warmup_cosine(step, lr, 2, steps, 3e-4)
    return warmup_cosine(step, lr, 0, steps)


@pytest.mark.parametrize("name", ["gan", "rbm", "gpt"])
def test_lrs_follow_the_schedule_and_resume_stretched_to_new_steps(name, tmp_path):
    first = model(name, tmp_path)
    for _ in range(4):
        first.step_schedulers()
    state = first.state_dict()
    assert {s["last_epoch"] for s in state["schedulers"].values()} == {4}
    longer = model(name, tmp_path, steps=20)  # resumed with --steps 20
    longer.load_state_dict(state)
    lr = first.config["lr"]
    assert lrs(longer)[0] == expected(name, 4, 20, lr) != expected(name, 4, 10, lr)
    assert lrs(first)[0] == expected(name, 4, 10, lr)


@pytest.mark.parametrize("name, legacy", [
    ("gan", lambda s: {"schedules": {k: {"last_step": 4} for k in s["schedulers"]}}),
    ("gpt", lambda s: {"schedule": {"last_step": 4}}),
    ("rbm", lambda s: {"steps_done": 4})])
def test_checkpoints_from_before_the_shared_schedulers_still_resume(name, legacy, tmp_path):
    trained = model(name, tmp_path)
    state = trained.state_dict()
    old = {k: v for k, v in state.items() if k != "schedulers"}
    old.update(legacy(state))
    fresh = model(name, tmp_path)
    fresh.load_state_dict(old)
    assert all(s.last_epoch == 4 for s in fresh.schedulers.values())
    assert math.isclose(lrs(fresh)[0], expected(name, 4, 10, trained.config["lr"]), rel_tol=0)


def test_a_checkpoint_without_the_schedule_is_refused_before_anything_loads(tmp_path):
    trained = model("gan", tmp_path)
    state = {k: v for k, v in trained.state_dict().items() if k != "schedulers"}
    fresh = model("gan", tmp_path)
    with pytest.raises(ValueError, match="no position for the learning-rate schedule"):
        fresh.load_state_dict(state)
