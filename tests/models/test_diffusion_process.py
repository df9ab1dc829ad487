"""The DDPM forward process and the DDIM step, checked against their definitions.

    q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1}, beta_t I)           (Ho et al. 2020, eq. 2)
    q(x_t | x_0)     = N(sqrt(alphabar_t) x_0, (1 - alphabar_t) I)     (eq. 4)
    betatilde_t      = (1 - alphabar_{t-1}) / (1 - alphabar_t) beta_t  (eq. 7)
"""
import warnings

import numpy as np
import pytest

from scratchgen.models.diffusion import NoiseSchedule

T = 1000


@pytest.fixture(scope="module")
def schedule():
    return NoiseSchedule(T)


def iterate_chain(schedule, x0, t, rng):
    """x_t by applying q(x_s | x_{s-1}) for s = 1 .. t, one Gaussian draw per step."""
    x = x0.copy()
    for s in range(1, t + 1):
        beta = schedule.betas[s - 1]
        x = np.sqrt(1 - beta) * x + np.sqrt(beta) * rng.standard_normal(x.shape)
    return x


@pytest.mark.parametrize("t", [1, 10, 100, 400, 1000])
def test_closed_form_matches_iterating_the_chain(schedule, t):
    rng = np.random.default_rng(t)
    n = 20_000
    x0 = np.broadcast_to(np.array([1.5, -0.7]), (n, 2))  # one starting point, n chains
    chain = iterate_chain(schedule, x0, t, rng)          # (n, 2)
    closed = schedule.q_sample(x0, np.full(n, t), rng.standard_normal((n, 2)))
    mean, var = np.sqrt(schedule.alphabar[t - 1]) * x0[0], 1 - schedule.alphabar[t - 1]
    for name, x in (("chain", chain), ("closed form", closed)):
        # mean: standard error sqrt(var / n); variance: standard error var sqrt(2 / (n - 1))
        np.testing.assert_allclose(x.mean(axis=0), mean, atol=5 * np.sqrt(var / n), err_msg=name)
        np.testing.assert_allclose(x.var(axis=0), var, rtol=5 * np.sqrt(2 / (n - 1)), err_msg=name)


def test_q_sample_is_the_closed_form_per_row(schedule):
    rng = np.random.default_rng(0)
    x0, eps = rng.standard_normal((5, 2)), rng.standard_normal((5, 2))
    t = np.array([0, 1, 17, 500, 1000])  # t = 0: no noise yet
    ab = np.array([1.0, *np.cumprod(1 - np.linspace(1e-4, 0.02, T))[t[1:] - 1]])
    expected = np.sqrt(ab)[:, None] * x0 + np.sqrt(1 - ab)[:, None] * eps
    np.testing.assert_allclose(schedule.q_sample(x0, t, eps), expected, rtol=1e-12)


def test_final_alphabar_with_1000_steps_is_about_4e5_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        schedule = NoiseSchedule(1000)
    assert 3.5e-5 < schedule.alphabar[-1] < 4.5e-5


def test_a_short_chain_leaves_signal_and_warns():
    with pytest.warns(UserWarning, match="alphabar"):
        schedule = NoiseSchedule(50)
    assert 0.55 < schedule.alphabar[-1] < 0.65


def test_ddim_with_eta_0_is_deterministic(schedule):
    rng = np.random.default_rng(1)
    x, eps = rng.standard_normal((64, 2)), rng.standard_normal((64, 2))
    z1, z2 = rng.standard_normal((2, 64, 2))
    a = schedule.ddim_step(x, 600, 580, eps, z1, eta=0.0)
    b = schedule.ddim_step(x, 600, 580, eps, z2, eta=0.0)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(schedule.ddim_step(x, 600, 580, eps, z1, eta=1.0),
                           schedule.ddim_step(x, 600, 580, eps, z2, eta=1.0))


def test_ddim_sampler_with_eta_0_maps_the_same_start_to_the_same_points():
    from scratchgen.engine import random as sg_random
    from scratchgen.training import make_config
    from scratchgen.training.loop import build

    config = make_config("diffusion", out="unused", steps=1, hidden=16, layers=1)
    _, model = build(config)
    x_T = np.random.default_rng(2).standard_normal((10, 2))
    sg_random.manual_seed(1)
    a = model.sample(10, sampler="ddim", sample_steps=20, eta=0.0, x_T=x_T)
    sg_random.manual_seed(2)  # other draws for the (unused) z at every step
    b = model.sample(10, sampler="ddim", sample_steps=20, eta=0.0, x_T=x_T)
    np.testing.assert_array_equal(a, b)


def test_ddim_sigma_at_eta_1_with_every_step_is_sqrt_betatilde(schedule):
    t = np.arange(2, T + 1)
    ab, ab_prev = schedule.alphabar[t - 1], schedule.alphabar[t - 2]
    betatilde = (1 - ab_prev) / (1 - ab) * schedule.betas[t - 1]  # Ho eq. 7
    np.testing.assert_allclose(schedule.ddim_sigma(t, t - 1, 1.0), np.sqrt(betatilde), rtol=1e-10)
    assert schedule.ddim_sigma(1, 0, 1.0) == 0.0  # the last step adds no noise


def test_ddim_at_eta_1_has_the_ddpm_posterior_mean(schedule):
    """With z = 0 the eta = 1 DDIM step and Ho's Algorithm 2 step land on the same mean."""
    rng = np.random.default_rng(3)
    x, eps, zero = rng.standard_normal((8, 2)), rng.standard_normal((8, 2)), np.zeros((8, 2))
    for t in (2, 50, 999, 1000):
        np.testing.assert_allclose(schedule.ddim_step(x, t, t - 1, eps, zero, eta=1.0),
                                   schedule.ddpm_step(x, t, eps, zero), rtol=1e-9, atol=1e-12)
