"""Optimizers, clip_grad_norm_ and the warm-up + cosine schedule against torch.optim, and
bit-identical resume through scratchgen.save / scratchgen.load.

The model is a small tanh MLP written with Tensor ops, so the gradients come from each
framework's own autograd; from identical starting values they agree to rounding, and the
updates must keep the parameters together to ~1e-12 over ten steps.
"""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scratchgen as sg
import scratchgen.optim as optim
from scratchgen.nn import Parameter

torch = pytest.importorskip("torch", reason="the PyTorch oracle tests need torch")

RTOL, ATOL = 1e-12, 1e-14


def initial_values(seed):
    rng = np.random.default_rng(seed)
    shapes = [(3, 5), (5,), (5, 2)]
    params = [rng.standard_normal(s) for s in shapes]
    x, y = rng.standard_normal((8, 3)), rng.standard_normal((8, 2))
    return params, x, y


def mlp_loss(params, x, y):
    """mean((tanh(x W1 + b1) W2 - y)^2), for scratchgen and torch tensors alike."""
    w1, b1, w2 = params
    h = x @ w1 + b1
    out = (h.tanh() if isinstance(h, sg.Tensor) else torch.tanh(h)) @ w2
    return ((out - y) ** 2).mean()


def train_both(make_ours, make_theirs, steps=10, seed=0, between_steps=None):
    """Run both optimizers side by side; after each step the parameters must agree."""
    values, x, y = initial_values(seed)
    ours = [Parameter(v.copy()) for v in values]
    theirs = [torch.tensor(v.copy(), requires_grad=True) for v in values]
    opt, t_opt = make_ours(ours), make_theirs(theirs)
    for step in range(steps):
        opt.zero_grad(), t_opt.zero_grad()
        mlp_loss(ours, sg.Tensor(x), sg.Tensor(y)).backward()
        mlp_loss(theirs, torch.from_numpy(x), torch.from_numpy(y)).backward()
        opt.step(), t_opt.step()
        for i, (p, tp) in enumerate(zip(ours, theirs)):
            np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=RTOL, atol=ATOL,
                                       err_msg=f"parameter {i} after step {step + 1}")
        if between_steps is not None:
            between_steps(step, opt, t_opt)
    return opt, t_opt, ours, theirs


SGD_CONFIGS = [dict(lr=0.1), dict(lr=0.1, momentum=0.9), dict(lr=0.05, momentum=0.9, dampening=0.3),
               dict(lr=0.05, momentum=0.8, nesterov=True), dict(lr=0.1, weight_decay=0.1),
               dict(lr=0.05, momentum=0.9, weight_decay=0.05, nesterov=True)]
ADAM_CONFIGS = [dict(), dict(lr=0.05), dict(lr=0.01, betas=(0.5, 0.9), eps=1e-6),
                dict(lr=0.01, weight_decay=0.1)]


@pytest.mark.parametrize("config", SGD_CONFIGS)
def test_sgd_matches_torch(config):
    opt, t_opt, _, _ = train_both(lambda p: optim.SGD(p, **config),
                                  lambda p: torch.optim.SGD(p, **config))
    if config.get("momentum"):  # the buffers carry torch's name and values
        ours_state, their_state = opt.state_dict()["state"], t_opt.state_dict()["state"]
        for index, state in their_state.items():
            np.testing.assert_allclose(ours_state[str(index)]["momentum_buffer"],
                                       state["momentum_buffer"].numpy(), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
@pytest.mark.parametrize("config", ADAM_CONFIGS)
def test_adam_and_adamw_match_torch_including_their_state(name, config):
    opt, t_opt, ours, theirs = train_both(lambda p: getattr(optim, name)(p, **config),
                                          lambda p: getattr(torch.optim, name)(p, **config))
    ours_state, their_state = opt.state_dict()["state"], t_opt.state_dict()["state"]
    assert sorted(ours_state) == [str(i) for i in sorted(their_state)]
    for index, state in their_state.items():
        assert ours_state[str(index)]["step"] == int(state["step"])
        for key in ("exp_avg", "exp_avg_sq"):
            np.testing.assert_allclose(ours_state[str(index)][key], state[key].numpy(),
                                       rtol=RTOL, atol=ATOL)


def test_adamw_default_weight_decay_is_torchs():
    params = [Parameter(np.ones(2))]
    assert optim.AdamW(params).param_groups[0]["weight_decay"] == 0.01
    assert optim.Adam(params).param_groups[0]["weight_decay"] == 0


@settings(max_examples=15)
@given(lr=st.floats(1e-4, 0.1), momentum=st.floats(0, 0.95), weight_decay=st.floats(0, 0.2),
       nesterov=st.booleans(), beta1=st.floats(0.5, 0.95), beta2=st.floats(0.9, 0.9999),
       seed=st.integers(0, 1000))
def test_random_hyperparameters_match_torch(lr, momentum, weight_decay, nesterov, beta1, beta2,
                                            seed):
    nesterov = nesterov and momentum > 0
    sgd = dict(lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov)
    train_both(lambda p: optim.SGD(p, **sgd), lambda p: torch.optim.SGD(p, **sgd), seed=seed)
    for name in ("Adam", "AdamW"):
        adam = dict(lr=lr, betas=(beta1, beta2), weight_decay=weight_decay)
        train_both(lambda p: getattr(optim, name)(p, **adam),
                   lambda p: getattr(torch.optim, name)(p, **adam), seed=seed)


def test_param_groups_and_a_changed_lr_match_torch():
    def groups(params, lib):
        return lib.SGD([{"params": params[:2], "momentum": 0.9}, {"params": params[2:]}], lr=0.1)

    def change_lr(step, opt, t_opt):
        if step == 4:
            opt.param_groups[1]["lr"] = t_opt.param_groups[1]["lr"] = 0.01

    opt, _, _, _ = train_both(lambda p: groups(p, optim), lambda p: groups(p, torch.optim),
                              between_steps=change_lr)
    assert [g["momentum"] for g in opt.param_groups] == [0.9, 0.0]
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01]


@pytest.mark.parametrize("make", [lambda p: optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.1),
                                  lambda p: optim.Adam(p, weight_decay=0.1),
                                  lambda p: optim.AdamW(p)])
def test_parameters_without_gradient_are_left_alone(make):
    used, unused = Parameter(np.ones(3)), Parameter(np.ones(3))
    opt = make([used, unused])
    (used * used).sum().backward()
    opt.step()
    np.testing.assert_array_equal(unused.data, np.ones(3))
    assert not np.array_equal(used.data, np.ones(3))


def test_step_updates_the_parameter_arrays_in_place():
    p = Parameter(np.ones(3))
    array = p.data
    opt = optim.Adam([p])
    (p * p).sum().backward()
    opt.step()
    assert p.data is array and not np.array_equal(array, np.ones(3))


# ---- resume is bit-identical -----------------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
    lambda p: optim.Adam(p, lr=0.01, weight_decay=0.01),
    lambda p: optim.AdamW([{"params": p[:1], "lr": 0.02}, {"params": p[1:]}], lr=0.01)])
def test_five_steps_save_load_five_steps_equals_ten_steps(tmp_path, make):
    values, x, y = initial_values(3)
    x, y = sg.Tensor(x.astype(np.float32)), sg.Tensor(y.astype(np.float32))

    def run(params, opt, sched, steps):
        for _ in range(steps):
            opt.zero_grad()
            mlp_loss(params, x, y).backward()
            opt.step()
            sched.step()

    straight = [Parameter(v.astype(np.float32)) for v in values]
    opt = make(straight)
    sched = optim.WarmupCosineLR(opt, warmup_steps=3, total_steps=10, min_lr=1e-4)
    run(straight, opt, sched, 10)

    first = [Parameter(v.astype(np.float32)) for v in values]
    opt = make(first)
    sched = optim.WarmupCosineLR(opt, warmup_steps=3, total_steps=10, min_lr=1e-4)
    run(first, opt, sched, 5)
    sg.save({"params": [p.data for p in first], "optimizer": opt.state_dict(),
             "schedule": sched.state_dict()}, tmp_path / "ckpt.npz")

    checkpoint = sg.load(tmp_path / "ckpt.npz")
    resumed = [Parameter(np.zeros_like(v, dtype=np.float32)) for v in values]
    for p, saved in zip(resumed, checkpoint["params"]):
        p.data[...] = saved
    opt = make(resumed)
    sched = optim.WarmupCosineLR(opt, warmup_steps=3, total_steps=10, min_lr=1e-4)
    opt.load_state_dict(checkpoint["optimizer"])
    sched.load_state_dict(checkpoint["schedule"])
    run(resumed, opt, sched, 5)
    for a, b in zip(straight, resumed):
        np.testing.assert_array_equal(a.data, b.data)
        assert b.dtype == np.float32


def test_load_state_dict_needs_matching_param_groups():
    a, b = Parameter(np.ones(2)), Parameter(np.ones(3))
    state = optim.Adam([a, b]).state_dict()
    with pytest.raises(ValueError, match="sizes \\[2\\].*sizes \\[1\\]"):
        optim.Adam([a]).load_state_dict(state)


# ---- clip_grad_norm_ ---------------------------------------------------------------------------

@settings(max_examples=25)
@given(max_norm=st.floats(0.01, 20), norm_type=st.sampled_from([1.0, 2.0, 3.0, math.inf]),
       seed=st.integers(0, 10**6))
def test_clip_grad_norm_matches_torch(max_norm, norm_type, seed):
    rng = np.random.default_rng(seed)
    grads = [rng.standard_normal(s) for s in [(3, 4), (4,), (2, 2, 2)]]
    ours = [Parameter(np.zeros(g.shape)) for g in grads] + [Parameter(np.zeros(2))]  # no grad
    theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, tp, g in zip(ours, theirs, grads):
        p.grad, tp.grad = sg.Tensor(g.copy()), torch.from_numpy(g.copy())
    total = optim.clip_grad_norm_(ours, max_norm, norm_type)
    t_total = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert isinstance(total, float)
    np.testing.assert_allclose(total, t_total.item(), rtol=RTOL)
    for p, tp in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.data, tp.grad.numpy(), rtol=RTOL, atol=ATOL)
    assert ours[-1].grad is None


def test_clip_grad_norm_leaves_small_gradients_alone_and_accepts_one_tensor():
    p = Parameter(np.zeros(2))
    p.grad = sg.Tensor(np.array([3.0, 4.0]))
    assert optim.clip_grad_norm_(p, 10.0) == 5.0
    np.testing.assert_array_equal(p.grad.data, [3.0, 4.0])
    assert optim.clip_grad_norm_(p, 1.0) == 5.0
    np.testing.assert_allclose(p.grad.data, [0.6, 0.8], rtol=1e-6)
    assert optim.clip_grad_norm_([Parameter(np.zeros(2))], 1.0) == 0.0
    p.grad = sg.Tensor(np.array([np.inf, 1.0]))
    with pytest.raises(RuntimeError, match="error_if_nonfinite"):
        optim.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)


# ---- the schedule --------------------------------------------------------------------------------

@settings(max_examples=50)
@given(base_lr=st.floats(1e-5, 1.0), warmup=st.integers(0, 20), decay=st.integers(1, 50),
       min_fraction=st.floats(0, 0.5))
def test_warmup_cosine_formula(base_lr, warmup, decay, min_fraction):
    total, min_lr = warmup + decay, base_lr * min_fraction
    lrs = [optim.warmup_cosine(t, base_lr, warmup, total, min_lr) for t in range(total + 5)]
    for t in range(warmup):  # linear from 0
        assert lrs[t] == pytest.approx(base_lr * t / warmup, rel=1e-12)
    assert lrs[warmup] == pytest.approx(base_lr, rel=1e-12)
    assert all(a >= b for a, b in zip(lrs[warmup:], lrs[warmup + 1:]))
    if decay % 2 == 0:  # half way through the decay: the midpoint of base_lr and min_lr
        assert lrs[warmup + decay // 2] == pytest.approx((base_lr + min_lr) / 2, rel=1e-12)
    assert all(lr == pytest.approx(min_lr, abs=1e-15) for lr in lrs[total:])


@pytest.mark.parametrize("warmup, total, min_lr", [(5, 20, 0.0), (0, 10, 0.01), (4, 4, 0.02)])
def test_warmup_cosine_scheduler_matches_torch_lambda_lr(warmup, total, min_lr):
    base_lrs = [0.1, 0.3]
    params = [Parameter(np.zeros(1)), Parameter(np.zeros(1))]
    t_params = [torch.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)]
    opt = optim.SGD([{"params": params[:1]}, {"params": params[1:], "lr": base_lrs[1]}],
                    lr=base_lrs[0])
    t_opt = torch.optim.SGD([{"params": t_params[:1]}, {"params": t_params[1:],
                                                         "lr": base_lrs[1]}], lr=base_lrs[0])
    sched = optim.WarmupCosineLR(opt, warmup, total, min_lr)
    lambdas = [lambda t, b=b: optim.warmup_cosine(t, b, warmup, total, min_lr) / b
               for b in base_lrs]
    t_sched = torch.optim.lr_scheduler.LambdaLR(t_opt, lambdas)
    for _ in range(total + 3):
        theirs = [g["lr"] for g in t_opt.param_groups]
        np.testing.assert_allclose([g["lr"] for g in opt.param_groups], theirs, rtol=1e-12)
        np.testing.assert_allclose(sched.get_lr(), theirs, rtol=1e-12)
        opt.step(), t_opt.step()
        sched.step(), t_sched.step()


def test_scheduler_state_round_trip():
    opt = optim.SGD([Parameter(np.zeros(1))], lr=1.0)
    sched = optim.WarmupCosineLR(opt, 2, 10)
    for _ in range(4):
        sched.step()
    fresh_opt = optim.SGD([Parameter(np.zeros(1))], lr=1.0)
    fresh = optim.WarmupCosineLR(fresh_opt, 2, 10)
    fresh_opt.load_state_dict(opt.state_dict())  # as PyTorch: the optimizer holds the lrs
    fresh.load_state_dict(sched.state_dict())
    assert fresh.get_last_lr() == sched.get_last_lr() == [fresh_opt.param_groups[0]["lr"]]
    sched.step(), fresh.step()
    assert fresh.get_last_lr() == sched.get_last_lr()


def test_seek_sets_the_closed_form_lr_of_any_step():
    opt = optim.SGD([Parameter(np.zeros(1))], lr=0.5)
    sched = optim.WarmupCosineLR(opt, 3, 20, min_lr=0.01)
    for step in (0, 2, 3, 11, 20, 25, 7):
        sched.seek(step)
        assert sched.last_epoch == step
        assert opt.param_groups[0]["lr"] == optim.warmup_cosine(step, 0.5, 3, 20, 0.01)
    with pytest.raises(ValueError, match="epoch must be >= 0"):
        sched.seek(-1)
    assert sched.last_epoch == 7


# ---- bad arguments --------------------------------------------------------------------------

def test_bad_optimizer_arguments_get_clear_errors():
    p = Parameter(np.ones(2))
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])
    with pytest.raises(ValueError, match="lr must be >= 0"):
        optim.SGD([p], lr=-0.1)
    with pytest.raises(ValueError, match="lr must be >= 0"):
        optim.Adam([{"params": [p], "lr": -1.0}])
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="momentum"):
        optim.SGD([p], lr=0.1, momentum=-0.5)
    with pytest.raises(ValueError, match="betas"):
        optim.Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="eps"):
        optim.AdamW([p], eps=-1.0)
    with pytest.raises(ValueError, match="weight_decay"):
        optim.AdamW([p], weight_decay=-1.0)
    with pytest.raises(ValueError, match="more than once"):
        optim.SGD([p, p], lr=0.1)
    with pytest.raises(TypeError, match="only optimize Tensors"):
        optim.SGD([np.ones(2)], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([p * 2], lr=0.1)
    with pytest.raises(TypeError, match="unknown hyper-parameters \\['momentum'\\]"):
        optim.Adam([{"params": [p], "momentum": 0.9}])


@pytest.mark.parametrize("warmup, total, min_lr, words", [
    (-1, 10, 0.0, "warmup_steps must be >= 0"), (5, 3, 0.0, "warmup_steps <= total_steps"),
    (0, 0, 0.0, "total_steps must be >= 1"), (2.5, 10, 0.0, "warmup_steps must be an integer"),
    (1, 10, -1.0, "min_lr must be >= 0")])
def test_bad_schedule_arguments_get_clear_errors(warmup, total, min_lr, words):
    opt = optim.SGD([Parameter(np.ones(1))], lr=0.1)
    with pytest.raises((ValueError, TypeError), match=words):
        optim.WarmupCosineLR(opt, warmup, total, min_lr)
