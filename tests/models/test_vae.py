"""The VAE: one log-variance convention (closed-form KL = Monte-Carlo KL), log-densities with
their constants, ELBO <= IWAE-5 <= IWAE-50 <= IWAE-500 on the test split, the ELBO beating
the independent-pixel baseline, the same loss curve as a PyTorch twin, and the CLI workflow
(train, resume bit-identically, sample, eval)."""
import json
import math
import os
import sys

import numpy as np
import pytest

import scratchgen.functional as F
from scratchgen import Tensor
from scratchgen.cli import main
from scratchgen.models.vae import (bernoulli_log_likelihood, gaussian_log_likelihood, log_normal,
                                   reparameterize,
                                   standard_normal_log_density)
from scratchgen.models.options import positive_ints
from scratchgen.training import make_config, train
from scratchgen.training.loop import build, load_run

BENCH = os.path.join(os.path.dirname(__file__), "..", "..", "bench")


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    """These matrices are small: on a busy machine extra BLAS threads only wait for each
    other (measured: the 1000 training steps below take 160 s instead of 10 s)."""
    from threadpoolctl import threadpool_limits
    with threadpool_limits(1):
        yield


def monte_carlo_kl(mu, logvar, eps, sampler=reparameterize):
    """Per-row mean and standard error of log q(z|x) - log p(z) over z = sampler(mu, logvar, eps).
    mu, logvar (R, L) arrays, eps (S, R, L)."""
    z = sampler(Tensor(mu), Tensor(logvar), eps)                                # (S, R, L)
    gap = (log_normal(z, Tensor(mu), Tensor(logvar)) - standard_normal_log_density(z)).numpy()
    return gap.mean(axis=0), gap.std(axis=0, ddof=1) / math.sqrt(len(eps))


def test_closed_form_kl_equals_monte_carlo_estimate():
    rng = np.random.default_rng(0)
    mu = rng.normal(0, 1.5, (6, 4))
    logvar = rng.uniform(-3, 1.5, (6, 4))
    eps = rng.standard_normal((200_000, 6, 4))
    closed_form = F.gaussian_kl(Tensor(mu), Tensor(logvar)).numpy()              # (6,)
    estimate, stderr = monte_carlo_kl(mu, logvar, eps)
    assert np.all(np.abs(closed_form - estimate) < 4 * stderr), (closed_form, estimate, stderr)

    # The check has teeth: a sampler that reads logvar as log sigma (the trap) is caught.
    def log_sigma_sampler(mu, logvar, eps):
        return mu + logvar.exp() * eps
    wrong, wrong_stderr = monte_carlo_kl(mu, logvar, eps, sampler=log_sigma_sampler)
    assert np.all(np.abs(closed_form - wrong) > 10 * wrong_stderr)


def test_log_densities_include_their_constants():
    from scipy import stats
    rng = np.random.default_rng(1)
    z, mu, logvar = rng.normal(size=(3, 5, 4))
    expected = stats.norm.logpdf(z, mu, np.exp(0.5 * logvar)).sum(axis=1)
    np.testing.assert_allclose(log_normal(Tensor(z), Tensor(mu), Tensor(logvar)).numpy(),
                               expected, rtol=1e-12)
    np.testing.assert_allclose(standard_normal_log_density(Tensor(z)).numpy(),
                               stats.norm.logpdf(z).sum(axis=1), rtol=1e-12)

    x, mean = rng.uniform(-1, 1, (2, 3, 1, 2, 2))
    pixel_logvar = np.array([-1.7])
    expected = stats.norm.logpdf(x, mean, np.exp(0.5 * pixel_logvar[0])).reshape(3, -1).sum(1)
    np.testing.assert_allclose(
        gaussian_log_likelihood(Tensor(mean), Tensor(pixel_logvar), Tensor(x)).numpy(), expected,
        rtol=1e-12)

    logits = rng.normal(0, 3, (3, 1, 2, 2))
    bits = (rng.random((3, 1, 2, 2)) < 0.5).astype(np.float64)
    p = 1 / (1 + np.exp(-logits))
    expected = (bits * np.log(p) + (1 - bits) * np.log(1 - p)).reshape(3, -1).sum(1)
    np.testing.assert_allclose(bernoulli_log_likelihood(Tensor(logits), Tensor(bits)).numpy(),
                               expected, rtol=1e-12)


def test_iwae_sample_counts_are_parsed_and_checked():
    assert positive_ints("500,1, 5,50,5") == [1, 5, 50, 500]
    for bad in ("0,5", "a,b", ""):
        with pytest.raises(ValueError):
            positive_ints(bad)


@pytest.fixture(scope="module")
def briefly_trained(tmp_path_factory):
    """The default VAE (MLP, Bernoulli, digits-binary) after 1000 steps, without a run dir."""
    config = make_config("vae", steps=1000, out=str(tmp_path_factory.mktemp("vae") / "run"))
    dataset, model = build(config)
    rng = np.random.default_rng(0)
    for _ in range(config["steps"]):
        model.train_step(model.next_batch(rng))
    model.train(False)
    return model


def test_bounds_order_on_the_test_split(briefly_trained):
    """ELBO <= L_5 <= L_50 <= L_500 holds in expectation (Burda et al. 2016, Theorem 1). Each
    bound gets its own independent draws, on the 360 test images taken twice (the same
    expectation, half the noise); L_5 and L_50 average 10 estimates per image. Each step up
    must be positive by more than 2 standard errors of the paired per-image difference
    (measured on seeds 0-2: the smallest step, L_50 -> L_500, is 5-7 standard errors)."""
    model = briefly_trained
    images = np.concatenate([model.dataset.test] * 2)                     # (720, 1, 8, 8)
    bounds = [model.elbo(images, samples=20), model.iwae_bound(images, 5, repeats=10),
              model.iwae_bound(images, 50, repeats=10), model.iwae_bound(images, 500)]
    for lower, upper in zip(bounds[:-1], bounds[1:]):
        gap = upper - lower
        stderr = gap.std(ddof=1) / math.sqrt(len(gap))
        assert gap.mean() > 2 * stderr, ([b.mean() for b in bounds], gap.mean(), stderr)


def test_elbo_beats_the_independent_pixel_baseline(briefly_trained):
    elbo = briefly_trained.elbo(briefly_trained.dataset.test, samples=20).mean()
    baseline = briefly_trained.independent_pixel_baseline().mean()
    assert -26 < baseline < -23          # 64 binary pixels: about -24.5 nats
    assert elbo > baseline + 3.0, (elbo, baseline)


# ---- side by side with PyTorch ---------------------------------------------------------------
@pytest.mark.parametrize("dataset, steps", [("digits-binary", 5), ("digits", 3)])
def test_same_loss_curve_as_a_pytorch_twin(dataset, steps):
    torch = pytest.importorskip("torch", reason="torch (the test extra) is the oracle of this test")
    sys.path.insert(0, BENCH)
    try:
        from vae_vs_torch import side_by_side
    finally:
        sys.path.remove(BENCH)
    options = {} if dataset == "digits-binary" else {"channels": 8, "hidden": 64}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny ops: more threads only contend on busy cores
    try:
        ours, theirs, _, _ = side_by_side(dataset, steps=steps, dtype="float64", **options)
    finally:
        torch.set_num_threads(threads)
    assert ours[-1] < ours[0]  # it learns
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-10)


# ---- the workflow: train, resume, sample, eval ------------------------------------------------
FAST = dict(iwae_samples="1,5", elbo_samples=4, checkpoint_every=1000)


@pytest.mark.parametrize("dataset, options", [
    ("digits-binary", {}),
    ("digits", {"channels": 4, "hidden": 32}),  # conv + Gaussian with the learned pixel variance
])
def test_resume_is_bit_identical(tmp_path, dataset, options):
    k = 6
    settings = dict(dataset=dataset, batch_size=16, **FAST, **options)
    straight = make_config("vae", steps=2 * k, out=str(tmp_path / "straight"), **settings)
    train(straight, quiet=True)
    halves = make_config("vae", steps=2 * k, out=str(tmp_path / "halves"), **settings)
    train(halves, quiet=True, stop_after=k)
    train(halves, resume=True, quiet=True)
    _, _, _, a = load_run(tmp_path / "straight")
    _, _, _, b = load_run(tmp_path / "halves")
    for name, net in a.networks.items():
        for key, value in net.state_dict().items():
            np.testing.assert_array_equal(value, b.networks[name].state_dict()[key])
    assert (tmp_path / "halves" / "log.csv").read_text() == \
        (tmp_path / "straight" / "log.csv").read_text()


def test_cli_train_sample_eval(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "vae", "--steps", "20", "--out", str(run), "--quiet",
                 "--latent-dim", "2", "--iwae-samples", "1,5", "--elbo-samples", "4"]) == 0
    for picture in ("samples.png", "reconstructions.png", "latent_walk.png", "loss.png"):
        assert (run / picture).stat().st_size > 1000, picture
    metrics = json.loads((run / "metrics.json").read_text())
    for key in ("test_elbo", "test_iwae_1", "test_iwae_5", "baseline_loglik"):
        assert math.isfinite(metrics[key]) and metrics[key] < 0, key

    assert main(["sample", str(run), "-n", "7", "--out", str(tmp_path / "s.npy")]) == 0
    samples = np.load(tmp_path / "s.npy")
    assert samples.shape == (7, 1, 8, 8) and 0 <= samples.min() and samples.max() <= 1
    assert main(["sample", str(run), "--out", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").exists()
    _, _, _, model = load_run(run)
    assert set(np.unique(model.sample(50, draw_pixels=True))) <= {0.0, 1.0}

    (run / "metrics.json").unlink()
    assert main(["eval", str(run)]) == 0
    assert "test_iwae_5" in capsys.readouterr().out
    assert json.loads((run / "metrics.json").read_text())["test_elbo"] == metrics["test_elbo"]


def test_bernoulli_likelihood_refuses_grey_images(tmp_path, capsys):
    assert main(["train", "vae", "--dataset", "digits", "--likelihood", "bernoulli",
                 "--steps", "1", "--out", str(tmp_path / "r"), "--quiet"]) == 1
    assert "binary images" in capsys.readouterr().err
