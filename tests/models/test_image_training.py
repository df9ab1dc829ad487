"""The image models from the command line: DCGAN (non-saturating and WGAN-GP) and the diffusion
U-Net on digits train, resume bit-identically, sample, and evaluate with the image metrics.
Networks are shrunk (--channels 8) and runs are a few steps: this checks the workflow, the
reference checks of docs/results-images.md check the quality."""
import json

import numpy as np
import pytest
from helpers import assert_same_checkpoints

from scratchgen.cli import main
from scratchgen.training import make_config
from scratchgen.training.loop import build

TINY = {
    "gan": ["--channels", "8", "--batch-size", "16"],
    "gan-wgan-gp": ["--channels", "8", "--batch-size", "16", "--loss", "wgan-gp", "--n-critic", "2"],
    "diffusion": ["--channels", "8", "--batch-size", "8", "--sample-steps", "3"],
}


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def train(capsys, name, out, steps, *extra):
    model = name.split("-")[0]
    return run_cli(capsys, "train", model, "--dataset", "digits", "--out", out, "--steps", steps,
                   "--checkpoint-every", 2, "--quiet", *TINY[name], *extra)


@pytest.mark.parametrize("name", sorted(TINY))
def test_train_resume_sample_eval_on_digits(tmp_path, capsys, name):
    straight, split = tmp_path / "straight", tmp_path / "split"
    train(capsys, name, straight, 4)
    train(capsys, name, split, 4, "--stop-after", 2)
    run_cli(capsys, "train", name.split("-")[0], "--resume", "--out", split, "--quiet")

    assert_same_checkpoints(straight / "checkpoint.npz", split / "checkpoint.npz")
    assert (straight / "log.csv").read_text() == (split / "log.csv").read_text()

    metrics = json.loads((straight / "metrics.json").read_text())
    assert {"fd", "fd_floor", "classifier_entropy"} <= metrics.keys()
    assert metrics["fd"] > 0 and metrics["fd_floor"] > 0
    assert 0 <= metrics["classifier_entropy"] <= np.log(10) + 1e-9
    assert (straight / "samples.png").stat().st_size > 0

    run_cli(capsys, "sample", straight, "-n", 12, "--out", tmp_path / "s.npy")
    samples = np.load(tmp_path / "s.npy")
    assert samples.shape == (12, 1, 8, 8)
    assert np.all(np.isfinite(samples)) and np.all(np.abs(samples) <= 1)  # the data's range
    run_cli(capsys, "sample", straight, "-n", 12, "--out", tmp_path / "s.png")
    assert (tmp_path / "s.png").stat().st_size > 0

    out = run_cli(capsys, "eval", straight)
    assert "fd" in out and "classifier_entropy" in out


def test_image_defaults_follow_the_papers_and_the_users_values_win():
    gan = make_config("gan", dataset="digits", out="x")
    assert (gan["latent_dim"], gan["lr"], gan["d_lr"], gan["beta1"]) == (100, 1e-4, 4e-4, 0.5)
    assert gan["norm"] == "batch" and gan["n_critic"] == 1
    wgan = make_config("gan", dataset="digits", loss="wgan-gp", out="x")
    assert (wgan["norm"], wgan["gp_weight"], wgan["n_critic"], wgan["beta1"], wgan["beta2"]) == \
        ("layer", 10.0, 5, 0.0, 0.9)
    assert make_config("gan", dataset="digits", loss="wgan-gp", gp_weight=1.0,
                       out="x")["gp_weight"] == 1.0
    assert make_config("gan", loss="wgan-gp", out="x")["gp_weight"] == 0.1  # the 2D default
    diffusion = make_config("diffusion", dataset="digits", out="x")
    assert (diffusion["sampler"], diffusion["ema"]) == ("ddim", 0.995)
    assert make_config("diffusion", out="x")["ema"] == 0.0


def test_wgan_gp_refuses_a_batch_norm_critic(tmp_path, capsys):
    code = main(["train", "gan", "--dataset", "digits", "--loss", "wgan-gp", "--norm", "batch",
                 "--out", str(tmp_path / "r"), "--steps", "1", "--quiet"])
    err = capsys.readouterr().err
    assert code != 0 and "batch norm" in err and "--norm layer" in err
    assert "Traceback" not in err


def test_ema_weights_follow_their_definition():
    config = make_config("diffusion", dataset="digits", out="x", channels=8, batch_size=4,
                         ema=0.9, steps=3)
    _, model = build(config)
    rng = np.random.default_rng(0)
    ema = [p.data.copy() for p in model.ema_denoiser.parameters()]
    for _ in range(3):
        model.train_step(model.next_batch(rng))
        # theta_ema <- 0.9 theta_ema + 0.1 theta, after every update
        ema = [0.9 * e + 0.1 * p.data for e, p in zip(ema, model.denoiser.parameters())]
    for expected, p in zip(ema, model.ema_denoiser.parameters()):
        np.testing.assert_allclose(p.data, expected, rtol=1e-5, atol=1e-7)
    changed = [not np.array_equal(p.data, q.data)
               for p, q in zip(model.ema_denoiser.parameters(), model.denoiser.parameters())]
    assert any(changed)  # the average lags the trained weights


def test_no_ema_network_without_ema():
    _, model = build(make_config("diffusion", dataset="digits", out="x", channels=8, ema=0.0))
    assert set(model.networks) == {"denoiser"}
    with pytest.raises(ValueError, match="--ema"):
        build(make_config("diffusion", dataset="digits", out="x", channels=8, ema=1.0))
