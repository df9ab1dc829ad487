"""The command line tells the truth: a device that is not there is refused, --resume accepts
repeated settings, --help shows every default (per dataset) and every choice, --dry-run
prints the configuration, sample writes the formats that fit each model and says where, eval
marks unfinished runs, and evaluation shows progress and can be interrupted and resumed."""
import json
import os
import stat

import numpy as np
import pytest

from scratchgen.cli import main
from scratchgen.training import make_config

GAN_ARGS = ["--steps", "4", "--batch-size", "16", "--hidden", "16", "--checkpoint-every", "2"]
# Tiny diffusion runs use T = 100 (fast to sample), which NoiseSchedule rightly warns about.
pytestmark = pytest.mark.filterwarnings("ignore:with T=100:UserWarning")


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def gan_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("gan") / "run"
    assert main(["train", "gan", "--out", str(run), *GAN_ARGS, "--quiet"]) == 0
    return run


@pytest.fixture(scope="module")
def gpt_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("gpt") / "run"
    assert main(["train", "gpt", "--out", str(run), "--steps", "2", "--warmup", "1",
                 "--layers", "1", "--d-model", "16", "--heads", "2", "--block-size", "16",
                 "--batch-size", "4", "--quiet"]) == 0
    return run


@pytest.fixture(scope="module")
def diffusion_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("diffusion") / "run"
    assert main(["train", "diffusion", "--out", str(run), "--steps", "3", "--timesteps", "100",
                 "--batch-size", "16", "--hidden", "16", "--quiet"]) == 0
    return run


# ---- train ---------------------------------------------------------------------------------

def test_a_device_that_is_not_there_is_refused_before_anything_is_written(tmp_path, capsys):
    code, _, err = run_cli(capsys, "train", "gan", "--device", "cuda", "--out", tmp_path / "r",
                           *GAN_ARGS)
    assert code == 1 and "cuda" in err and ("--device cpu" in err or "device='cpu'" in err)
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "r").exists()
    with pytest.raises(Exception, match="cuda"):
        make_config("gan", device="cuda", out=str(tmp_path / "r"))


def test_resume_accepts_repeated_settings_and_names_a_changed_one(tmp_path, capsys):
    run = tmp_path / "run"
    first = ["train", "gan", "--out", run, "--seed", 3, "--dataset", "ring8", *GAN_ARGS, "--quiet"]
    assert run_cli(capsys, *first)[0] == 0
    code, _, err = run_cli(capsys, *first, "--resume", "--steps", 6)  # the same command again
    assert code == 0, err
    assert json.loads((run / "config.json").read_text())["steps"] == 6
    code, _, err = run_cli(capsys, *first, "--resume", "--seed", 4)
    assert code == 2 and "--seed was 3, now 4" in err
    code, _, err = run_cli(capsys, "train", "gan", "--resume", "--out", run, "--hidden", 32)
    assert code == 2 and "--hidden was 16, now 32" in err


def test_help_shows_every_default_per_dataset_and_every_choice(capsys):
    with pytest.raises(SystemExit):
        main(["train", "gan", "--help"])
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    for words in ("default: 12000", "--dataset grid25: 20000", "image datasets: 6000",
                  "--loss wgan-gp: 4000", "{nonsaturating,wgan-gp}", "{batch,layer,none}",
                  "{cosine,none}", "--dataset ring8: 100.0",
                  "--dataset ring8 with --loss wgan-gp: 1.0", "--dry-run"):
        assert words in out, words
    with pytest.raises(SystemExit):
        main(["train", "diffusion", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "{ddpm,ddim}" in out and "image datasets: ddim" in out and "default: 40000" in out
    with pytest.raises(SystemExit):
        main(["train", "vae", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "{float32,float64}" in out and "{auto,mlp,conv}" in out


def test_dry_run_prints_the_resolved_configuration_and_writes_nothing(tmp_path, capsys):
    code, out, _ = run_cli(capsys, "train", "gan", "--dataset", "grid25", "--loss", "wgan-gp",
                           "--out", tmp_path / "r", "--dry-run")
    assert code == 0
    config = json.loads(out)
    assert config == json.loads(json.dumps(make_config("gan", dataset="grid25", loss="wgan-gp",
                                                       out=str(tmp_path / "r"))))
    assert config["steps"] == 4000 and config["pack"] == 8 and config["n_critic"] == 5
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("argv, words", [
    (["train", "--steps", "5"], "train needs a model; choose one of"),
    (["train", "vae", "--latent-dim", "0"], "--latent-dim: must be an integer >= 1, got '0'"),
    (["train", "gan", "--lr", "fast"], "--lr: must be a number >= 0.0, got 'fast'"),
    (["train", "gpt", "--dropout", "2"], "--dropout: must be a number in [0.0, 1.0]"),
    (["train", "vae", "--iwae-samples", "0,5"], "comma-separated positive integers"),
])
def test_bad_values_are_named_with_what_was_expected(argv, words, tmp_path, capsys):
    code, _, err = run_cli(capsys, *argv, "--out", tmp_path / "r")
    assert code == 2 and words in err, err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_version(capsys):
    from scratchgen import __version__
    code, out, _ = run_cli(capsys, "--version")
    assert code == 0 and out.strip() == f"scratchgen {__version__}"


def test_a_nan_stop_names_the_loss_and_numpy_stays_quiet(tmp_path, capsys, monkeypatch):
    from scratchgen.models.gan import GAN

    real_step = GAN.train_step

    def overflowing_step(self, batch):
        losses = real_step(self, batch)
        bad = np.float32(3e38) * np.float32(10)  # overflow: NumPy warns by default
        return {**losses, "g_loss": float(bad - bad)}

    monkeypatch.setattr(GAN, "train_step", overflowing_step)
    with __import__("warnings").catch_warnings():
        __import__("warnings").simplefilter("error")  # any RuntimeWarning fails the test
        code, _, err = run_cli(capsys, "train", "gan", "--out", tmp_path / "r", *GAN_ARGS, "--quiet")
    assert code == 1
    assert "training diverged at step 1: g_loss is nan; no checkpoint had been written" in err
    assert "RuntimeWarning" not in err and "loss loss" not in err


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_run_files_get_the_users_umask(tmp_path, capsys, umask):
    previous = os.umask(umask)
    try:
        assert run_cli(capsys, "train", "gan", "--out", tmp_path / "r", *GAN_ARGS, "--quiet")[0] == 0
    finally:
        os.umask(previous)
    for name in ("config.json", "checkpoint.npz", "metrics.json", "log.csv", "samples.png"):
        assert stat.S_IMODE((tmp_path / "r" / name).stat().st_mode) == 0o666 & ~umask, name


# ---- sample --------------------------------------------------------------------------------

def test_sample_writes_each_format_of_points_and_says_where(gan_run, tmp_path, capsys):
    code, out, _ = run_cli(capsys, "sample", gan_run, "-n", 30, "--out", tmp_path / "p.npy")
    assert code == 0 and out.strip() == f"wrote 30 samples to {tmp_path / 'p.npy'}"
    points = np.load(tmp_path / "p.npy")
    assert points.shape == (30, 2)
    code, out, _ = run_cli(capsys, "sample", gan_run, "-n", 30, "--out", tmp_path / "p.csv")
    text = (tmp_path / "p.csv").read_text().splitlines()
    assert code == 0 and text[0] == "x,y" and len(text) == 31
    np.testing.assert_allclose(np.loadtxt(tmp_path / "p.csv", delimiter=",", skiprows=1),
                               points, rtol=1e-6)  # the same seed draws the same points
    code, out, _ = run_cli(capsys, "sample", gan_run)  # no --out: a picture in the run
    assert code == 0 and out.strip() == f"wrote 2500 samples to {gan_run / 'sample-seed0.png'}"
    assert (gan_run / "sample-seed0.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("argv, words", [
    (["--out", "x.txt"], "writes .png, .npy, .csv files, not .txt"),
    (["-n", "-3"], "argument -n: must be a positive integer, got '-3'"),
    (["-n", "many"], "argument -n: must be a positive integer, got 'many'"),
    (["--temperature", "0.5"], "--temperature apply to other model families"),
    (["--sampler", "ddim"], "its sample options: none"),
])
def test_sample_refuses_what_does_not_fit_a_gan_run(gan_run, argv, words, capsys):
    code, _, err = run_cli(capsys, "sample", gan_run, *argv)
    assert code == 2 and words in err, err
    assert len(err.strip().splitlines()) == 1


def test_sample_of_text_goes_to_the_terminal_a_txt_or_a_png(gpt_run, tmp_path, capsys):
    code, out, err = run_cli(capsys, "sample", gpt_run, "-n", 20, "--prompt", "def ")
    assert code == 0 and out.startswith("def ") and len(out) == len("def ") + 20 + 1
    assert "wrote 20 characters (temperature=1.0) to the terminal" in err
    code, out, _ = run_cli(capsys, "sample", gpt_run, "-n", 20, "--out", tmp_path / "g.txt")
    assert code == 0 and len((tmp_path / "g.txt").read_text()) == 20
    assert f"to {tmp_path / 'g.txt'}" in out
    code, out, _ = run_cli(capsys, "sample", gpt_run, "-n", 20, "--out", tmp_path / "g.png")
    assert code == 0 and (tmp_path / "g.png").read_bytes()[:4] == b"\x89PNG"
    assert not (tmp_path / "g.txt.png").exists() and not (tmp_path / "g.png.txt").exists()
    code, _, err = run_cli(capsys, "sample", gpt_run, "--out", tmp_path / "g.npy")
    assert code == 2 and "writes .txt, .png files, not .npy" in err


def test_sample_chooses_the_diffusion_sampler_and_shows_progress(diffusion_run, tmp_path,
                                                                 capsys):
    code, out, err = run_cli(capsys, "sample", diffusion_run, "-n", 10, "--sampler", "ddim",
                             "--sample-steps", 5, "--out", tmp_path / "d.npy")
    assert code == 0, err
    assert "sample_steps=5" in out and "sampler=ddim" in out
    assert "sampling: ddim sampling: 5/5" in err
    ddim = np.load(tmp_path / "d.npy")
    code, out, err = run_cli(capsys, "sample", diffusion_run, "-n", 10, "--out",
                             tmp_path / "p.npy")
    assert "sampling: ddpm sampling: 100/100" in err  # the run's own sampler
    assert not np.array_equal(ddim, np.load(tmp_path / "p.npy"))


# ---- eval ----------------------------------------------------------------------------------

def test_eval_of_an_unfinished_run_says_so_and_marks_its_metrics(tmp_path, capsys):
    run = tmp_path / "run"
    code, out, _ = run_cli(capsys, "train", "gan", "--out", run, *GAN_ARGS, "--stop-after", 2)
    assert code == 0 and "stopped at step 2" in out
    assert not (run / "metrics.json").exists()
    code, out, err = run_cli(capsys, "eval", run, "--quiet")
    assert code == 0
    assert f"{run} is unfinished (its checkpoint is at step 2 of 4)" in err
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["step"] == 2 and metrics["finished"] is False
    assert run_cli(capsys, "train", "gan", "--resume", "--out", run, "--quiet")[0] == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["step"] == 4 and metrics["finished"] is True
    code, out, err = run_cli(capsys, "eval", run, "--quiet")
    assert code == 0 and "unfinished" not in err


def test_eval_describes_each_field(gan_run, capsys):
    code, out, _ = run_cli(capsys, "eval", gan_run, "--quiet")
    assert code == 0
    floor = next(line for line in out.splitlines() if line.startswith("mmd2_floor"))
    assert "negative" in floor  # why the floor can be below zero
    assert "wrote" in out.splitlines()[-1] and "metrics.json" in out.splitlines()[-1]


def test_evaluation_shows_progress(tmp_path, capsys):
    code, _, err = run_cli(capsys, "train", "diffusion", "--out", tmp_path / "r", "--steps", 2,
                           "--timesteps", 100, "--batch-size", 16, "--hidden", 16)
    assert code == 0
    assert "training done; evaluating" in err
    assert "evaluating: ddpm sampling: 100/100" in err
    assert "evaluating: ddim sampling: 50/50" in err


def test_ctrl_c_during_evaluation_leaves_a_resumable_run(tmp_path, capsys, monkeypatch):
    from scratchgen.models.gan import GAN

    real_evaluate = GAN.evaluate

    def interrupted(self, rng, progress=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(GAN, "evaluate", interrupted)
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, "train", "gan", "--out", run, *GAN_ARGS, "--quiet")
    assert code == 130
    assert "interrupted during the evaluation" in err
    assert f"Resume with: scratchgen train gan --resume --out {run}" in err
    assert not (run / "metrics.json").exists() and (run / "checkpoint.npz").exists()
    monkeypatch.setattr(GAN, "evaluate", real_evaluate)
    code, _, err = run_cli(capsys, "train", "gan", "--resume", "--out", run, "--quiet")
    assert code == 0, err
    assert json.loads((run / "metrics.json").read_text())["finished"] is True


# ---- pictures ------------------------------------------------------------------------------

@pytest.mark.parametrize("n, columns", [(16, 4), (64, 8), (100, 10), (10, 4), (1, 1)])
def test_an_image_grid_is_as_square_as_its_count_allows(n, columns, tmp_path, monkeypatch):
    from scratchgen.models.base import Picture
    from scratchgen.training import RunDir, pictures

    shown = []
    monkeypatch.setattr(pictures, "show_mosaic",
                        lambda ax, mosaic, title, cmap="gray": shown.append(mosaic.shape))
    images = np.random.default_rng(0).random((n, 1, 8, 8))
    pictures.draw(RunDir(tmp_path), Picture("grid.png", "images", images), dataset=None)
    rows = -(-n // columns)
    assert shown == [(rows * 9 + 1, columns * 9 + 1)]  # 8 pixels and 1 of padding per cell
    assert (tmp_path / "grid.png").read_bytes()[:4] == b"\x89PNG"
