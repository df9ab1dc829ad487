"""The RBM: the free energy and exact log Z against brute force, the training loss against
the classic CD statistics, the Gibbs sampler against the exact distribution, AIS against
the exact log Z (also on a trained 16-hidden RBM), and the workflow (exact resume, CLI
train, sample and eval). PCD against CD-1 and the scikit-learn comparison take minutes:
they are documented commands, with results, in docs/results-rbm.md."""
import json

import numpy as np
import pytest
from scipy.special import logsumexp

import scratchgen as sg
from scratchgen import Tensor
from scratchgen.cli import main
from scratchgen.models.rbm import (RBMNetwork, ais_log_partition, all_binary_states,
                                   annealing_schedule, base_rate_bias, binarize,
                                   binarizing_threshold, free_energy,
                                   gibbs_chain, log_partition_exact, log_unnormalised)
from scratchgen.serialization import load
from scratchgen.training import make_config, train


def random_rbm(n_visible, n_hidden, seed, scale=1.0):
    rng = np.random.default_rng(seed)
    return (scale * rng.standard_normal((n_visible, n_hidden)), rng.standard_normal(n_visible),
            rng.standard_normal(n_hidden))


def energy(v, h, W, b, c):
    """E(v, h) = -b.v - c.h - v^T W h for every pair of rows: (N, V), (S, H) -> (N, S)."""
    return -(v @ b)[:, None] - (h @ c)[None, :] - v @ W @ h.T


def exact_visible_distribution(W, b, c):
    """p(v) for all 2^V visible states, by brute force over all (v, h) pairs."""
    v = all_binary_states(0, 2 ** W.shape[0], W.shape[0])
    h = all_binary_states(0, 2 ** W.shape[1], W.shape[1])
    log_joint = -energy(v, h, W, b, c)  # (2^V, 2^H)
    return v, np.exp(logsumexp(log_joint, axis=1) - logsumexp(log_joint))


# ---- the formulas ----------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 2])
def test_log_partition_by_hidden_enumeration_equals_brute_force_6x4(seed):
    W, b, c = random_rbm(6, 4, seed, scale=2.0)
    v = all_binary_states(0, 2 ** 6, 6)
    h = all_binary_states(0, 2 ** 4, 4)
    brute_force = logsumexp(-energy(v, h, W, b, c))  # over all 2^6 x 2^4 joint states
    assert log_partition_exact(W, b, c) == pytest.approx(brute_force, abs=1e-10)
    # chunking must not matter
    assert log_partition_exact(W, b, c, chunk_size=3) == pytest.approx(brute_force, abs=1e-10)


def test_free_energy_sums_out_the_hidden_units():
    W, b, c = random_rbm(6, 4, 3)
    v = all_binary_states(0, 2 ** 6, 6)
    h = all_binary_states(0, 2 ** 4, 4)
    minus_f = logsumexp(-energy(v, h, W, b, c), axis=1)  # -F(v) = log sum_h exp(-E(v, h))
    np.testing.assert_allclose(-free_energy(v, W, b, c), minus_f, atol=1e-10)
    # the engine's free energy (what training differentiates) is the same function
    net = RBMNetwork(6, 4, b)
    net.weight.data[...] = W
    net.hidden_bias.data[...] = c
    np.testing.assert_allclose(net.free_energy(Tensor(v.astype(np.float32))).numpy(),
                               free_energy(v, *net.arrays(np.float64)), rtol=1e-5, atol=1e-5)
    # and the probabilities exp(-F(v)) / Z sum to one
    assert logsumexp(-free_energy(v, W, b, c)) == pytest.approx(log_partition_exact(W, b, c))


def test_contrastive_gradients_are_the_engines_gradient_of_the_free_energy_gap():
    """Training's closed-form update (Hinton 2002: <v h>_data - <v h>_model with h the hidden
    probabilities, as in scikit-learn's BernoulliRBM) is minus the gradient the autograd
    engine computes for mean F(v_data) - mean F(v_model)."""
    rng = np.random.default_rng(0)
    sg.manual_seed(0)
    net = RBMNetwork(10, 5, rng.standard_normal(10))
    net.weight.data[...] = rng.standard_normal((10, 5))
    net.hidden_bias.data[...] = rng.standard_normal(5)
    v_data = (rng.random((7, 10)) < 0.5).astype(np.float32)
    v_model = (rng.random((4, 10)) < 0.5).astype(np.float32)
    loss = net.free_energy(Tensor(v_data)).mean() - net.free_energy(Tensor(v_model)).mean()
    loss.backward()
    autograd = [p.grad.numpy().copy() for p in (net.weight, net.visible_bias, net.hidden_bias)]
    gap = net.contrastive_gradients(v_data, v_model)
    closed_form = [p.grad.numpy() for p in (net.weight, net.visible_bias, net.hidden_bias)]
    for engine_grad, hand_grad in zip(autograd, closed_form):
        np.testing.assert_allclose(hand_grad, engine_grad, rtol=1e-4, atol=1e-6)
    assert gap == pytest.approx(loss.item(), rel=1e-5)
    # and the closed form is the textbook expression
    W, b, c = net.arrays(np.float64)
    h_data = 1 / (1 + np.exp(-(v_data @ W + c)))
    h_model = 1 / (1 + np.exp(-(v_model @ W + c)))
    np.testing.assert_allclose(closed_form[0], -(v_data.T @ h_data / 7 - v_model.T @ h_model / 4),
                               rtol=1e-4, atol=1e-6)


def test_gibbs_chains_sample_the_exact_distribution():
    """Many chains of block Gibbs sampling on a 4x3 RBM: the empirical distribution of the
    final states is within sampling noise of the exact p(v) (total variation)."""
    W, b, c = random_rbm(4, 3, 5)
    states, p = exact_visible_distribution(W, b, c)
    rng = np.random.default_rng(0)
    v = gibbs_chain((rng.random((20000, 4)) < 0.5).astype(np.float64), W, b, c, 50, rng)
    index = (v @ (2 ** np.arange(4))).astype(int)  # the row of each state in `states`
    empirical = np.bincount(index, minlength=16) / len(v)
    np.testing.assert_array_equal(states @ (2 ** np.arange(4)), np.arange(16))
    assert 0.5 * np.abs(empirical - p).sum() < 0.02
    # a sampler drawing from the wrong conditionals (biases flipped) is far off
    v_wrong = gibbs_chain(v, W, -b, c, 50, rng)
    wrong = np.bincount((v_wrong @ (2 ** np.arange(4))).astype(int), minlength=16) / len(v)
    assert 0.5 * np.abs(wrong - p).sum() > 0.1


def test_ais_on_a_small_rbm_matches_the_exact_log_partition():
    W, b, c = random_rbm(8, 5, 7)
    exact = log_partition_exact(W, b, c)
    estimate, stderr, log_w = ais_log_partition(W, b, c, np.zeros(8), annealing_schedule(500),
                                                200, np.random.default_rng(0))
    assert log_w.shape == (200,)
    assert 0 < stderr < 0.05
    assert abs(estimate - exact) < 4 * stderr + 0.01


def test_log_unnormalised_interpolates_base_rate_and_rbm():
    W, b, c = random_rbm(5, 3, 8)
    v = all_binary_states(0, 32, 5)
    base = np.linspace(-1, 1, 5)
    # beta = 0: the base-rate model times 2^H free hidden states; beta = 1: the RBM
    np.testing.assert_allclose(log_unnormalised(v, W, b, c, 0.0, base), v @ base + 3 * np.log(2))
    np.testing.assert_allclose(log_unnormalised(v, W, b, c, 1.0, base), -free_energy(v, W, b, c))


def test_annealing_schedule():
    for n in (2, 10, 29, 30, 1000, 14500):
        betas = annealing_schedule(n)
        assert len(betas) == n and betas[0] == 0.0 and betas[-1] == 1.0
        assert np.all(np.diff(betas) > 0)
    fine = annealing_schedule(14500)
    assert np.sum(fine < 0.5) == 500 and np.sum(fine >= 0.9) == 10000
    with pytest.raises(ValueError):
        annealing_schedule(1)


def test_binarize_and_base_rate():
    ones_and_zeros = np.array([[[[0.0, 1.0], [1.0, 0.0]]]], dtype=np.float32)
    assert binarizing_threshold(ones_and_zeros) == 0.5
    np.testing.assert_array_equal(binarize(ones_and_zeros, 0.5), [[0, 1, 1, 0]])
    grey = np.array([[[[-1.0, 0.0], [0.1, 1.0]]]], dtype=np.float32)
    assert binarizing_threshold(grey) == 0.0
    np.testing.assert_array_equal(binarize(grey, 0.0), [[0, 0, 1, 1]])
    # on digits, thresholding the [-1, 1] images at mid-grey gives digits-binary exactly
    from scratchgen.data import load_dataset
    grey_digits, binary_digits = load_dataset("digits"), load_dataset("digits-binary")
    np.testing.assert_array_equal(
        binarize(grey_digits.train, binarizing_threshold(grey_digits.train)),
        binarize(binary_digits.train, binarizing_threshold(binary_digits.train)))
    data = np.array([[0, 1], [0, 1], [0, 0]], dtype=np.float32)
    p = 1 / (1 + np.exp(-base_rate_bias(data, pseudo_count=1.0)))
    np.testing.assert_allclose(p, [1 / 5, 3 / 5])  # (count + 1) / (N + 2)


# ---- a trained RBM: AIS against the exact log Z -----------------------------------------

def train_rbm(tmp_path, name, **settings):
    config = make_config("rbm", out=str(tmp_path / name), ais_chains=100, ais_betas=2000,
                         gibbs_steps=20, **settings)
    run, metrics = train(config, quiet=True)
    return run, metrics


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A 16-hidden RBM trained by PCD-1 for 4000 steps (a few seconds)."""
    return train_rbm(tmp_path_factory.mktemp("rbm"), "pcd", steps=4000, batch_size=20,
                     lr=0.05, hidden=16, seed=0)


def test_trained_rbm_metrics_and_ais_within_a_tenth_of_a_nat(trained_run):
    run, metrics = trained_run
    assert set(metrics) >= {"log_z_exact", "log_z_ais", "log_z_ais_stderr", "test_loglik_exact",
                            "test_loglik_ais", "train_loglik_exact"}
    assert json.loads(run.file("metrics.json").read_text()) == pytest.approx(metrics)
    assert abs(metrics["log_z_ais"] - metrics["log_z_exact"]) < 0.1
    assert metrics["test_loglik_ais"] - metrics["test_loglik_exact"] == pytest.approx(
        metrics["log_z_exact"] - metrics["log_z_ais"], abs=1e-9)
    # far better than independent pixels (about -24.5 nats on digits-binary's test split)
    assert metrics["test_loglik_exact"] > -20.0
    for picture in ("samples.png", "filters.png", "chains.png", "loss.png"):
        assert run.file(picture).stat().st_size > 1000


# ---- the workflow: resume, sample, eval ------------------------------------------------------

def test_resume_is_bit_identical(tmp_path):
    settings = dict(steps=40, batch_size=8, hidden=6, checkpoint_every=10, ais_chains=10,
                    ais_betas=50, gibbs_steps=5, momentum=0.5)
    straight = make_config("rbm", out=str(tmp_path / "straight"), **settings)
    train(straight, quiet=True)
    split = make_config("rbm", out=str(tmp_path / "split"), **settings)
    train(split, quiet=True, stop_after=20)
    train(split, resume=True, quiet=True)
    a = load(tmp_path / "straight" / "checkpoint.npz")
    b = load(tmp_path / "split" / "checkpoint.npz")
    assert (a["model"]["schedulers"]["rbm"]["last_epoch"]
            == b["model"]["schedulers"]["rbm"]["last_epoch"] == 40)
    for key, value in a["model"]["networks"]["rbm"].items():
        np.testing.assert_array_equal(value, b["model"]["networks"]["rbm"][key], err_msg=key)
    assert "persistent_chains" in a["model"]["networks"]["rbm"]
    momenta_a = a["model"]["optimizers"]["rbm"]["state"]
    momenta_b = b["model"]["optimizers"]["rbm"]["state"]
    assert momenta_a.keys() == momenta_b.keys() and len(momenta_a) == 3
    for key, value in momenta_a.items():
        np.testing.assert_array_equal(value["momentum_buffer"], momenta_b[key]["momentum_buffer"])


def test_cli_train_sample_eval(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "rbm", "--steps", "30", "--hidden", "5", "--no-pcd", "--k", "2",
                 "--gibbs-steps", "10", "--ais-chains", "20", "--ais-betas", "100",
                 "--out", str(out), "--quiet"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert (config["pcd"], config["k"], config["hidden"]) == (False, 2, 5)
    assert main(["sample", str(out), "-n", "12", "--out", str(tmp_path / "s.npy")]) == 0
    samples = np.load(tmp_path / "s.npy")
    assert samples.shape == (12, 1, 8, 8)
    assert set(np.unique(samples)) <= {0.0, 1.0}
    assert main(["sample", str(out), "--out", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").stat().st_size > 1000
    (out / "metrics.json").unlink()
    assert main(["eval", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"log_z_exact", "log_z_ais", "test_loglik_exact", "test_loglik_ais"} <= set(metrics)
    assert all(np.isfinite(v) for v in metrics.values())
    capsys.readouterr()


def test_no_exact_log_z_beyond_twenty_hidden_units(tmp_path):
    _, metrics = train_rbm(tmp_path, "big", steps=5, hidden=21, batch_size=4)
    assert "log_z_exact" not in metrics and np.isfinite(metrics["log_z_ais"])
