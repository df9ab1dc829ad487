"""`scratchgen train | sample | eval | datasets | models` end to end, on tiny step counts."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from scratchgen import load
from scratchgen.cli import main

TINY = ["--steps", "4", "--batch-size", "16", "--quiet", "--checkpoint-every", "2"]


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def train_tiny(capsys, out, *extra):
    code, stdout, err = run_cli(capsys, "train", "gan", "--out", str(out), *TINY, *extra)
    assert code == 0, err
    return stdout, err


def test_train_writes_a_complete_run_directory(tmp_path, capsys):
    train_tiny(capsys, tmp_path / "run", "--seed", "3")
    run = tmp_path / "run"
    for name in ("config.json", "checkpoint.npz", "metrics.json", "samples.png", "loss.png",
                 "log.csv"):
        assert (run / name).stat().st_size > 0, name
    config = json.loads((run / "config.json").read_text())
    # every setting, defaults included, and the seed
    for key in ("model", "dataset", "steps", "batch_size", "lr", "seed", "device",
                "checkpoint_every", "loss", "pack", "latent_dim"):
        assert key in config, key
    assert config["seed"] == 3 and config["dataset"] == "ring8" and config["steps"] == 4
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["n_modes"] == 8 and 0 <= metrics["hq_fraction"] <= 1 and "mmd2_floor" in metrics
    log = (run / "log.csv").read_text().splitlines()
    assert log[0].startswith("step,") and len(log) == 1 + 4
    state = load(run / "checkpoint.npz")
    assert state["step"] == 4 and "generator" in state["model"]["networks"]


def test_resume_gives_bit_identical_parameters_and_losses(tmp_path, capsys):
    straight, split = tmp_path / "straight", tmp_path / "split"
    run_cli(capsys, "train", "gan", "--out", str(straight), "--steps", "6", "--batch-size", "16",
            "--quiet", "--loss", "wgan-gp", "--n-critic", "2")
    code, _, err = run_cli(capsys, "train", "gan", "--out", str(split), "--steps", "6",
                           "--stop-after", "3", "--batch-size", "16", "--quiet",
                           "--loss", "wgan-gp", "--n-critic", "2")
    assert code == 0, err
    assert load(split / "checkpoint.npz")["step"] == 3
    code, _, err = run_cli(capsys, "train", "gan", "--resume", "--out", str(split), "--quiet")
    assert code == 0, err
    a, b = load(straight / "checkpoint.npz"), load(split / "checkpoint.npz")
    assert a["step"] == b["step"] == 6

    def leaves(tree, prefix=""):
        if isinstance(tree, dict):
            for k, v in tree.items():
                yield from leaves(v, f"{prefix}/{k}")
        elif isinstance(tree, (list, tuple)):
            for i, v in enumerate(tree):
                yield from leaves(v, f"{prefix}/{i}")
        else:
            yield prefix, tree

    flat_a, flat_b = dict(leaves(a["model"])), dict(leaves(b["model"]))
    assert flat_a.keys() == flat_b.keys()
    for key in flat_a:
        np.testing.assert_array_equal(flat_a[key], flat_b[key], err_msg=key)
    assert (straight / "log.csv").read_text() == (split / "log.csv").read_text()


def test_sample_to_npy_and_png_and_eval(tmp_path, capsys):
    run = tmp_path / "run"
    train_tiny(capsys, run)
    code, out, err = run_cli(capsys, "sample", str(run), "-n", "100", "--out",
                             str(tmp_path / "points.npy"))
    assert code == 0, err
    points = np.load(tmp_path / "points.npy")
    assert points.shape == (100, 2) and np.isfinite(points).all()
    code, _, err = run_cli(capsys, "sample", str(run), "-n", "50", "--out",
                           str(tmp_path / "points.png"))
    assert code == 0 and (tmp_path / "points.png").read_bytes()[:4] == b"\x89PNG"
    (run / "metrics.json").unlink()
    code, out, err = run_cli(capsys, "eval", str(run))
    assert code == 0, err
    assert "modes_covered" in out and "hq_fraction" in out
    assert json.loads((run / "metrics.json").read_text())["n_modes"] == 8


def test_datasets_and_models_are_listed(capsys):
    code, out, _ = run_cli(capsys, "datasets")
    assert code == 0
    for name in ("ring8", "grid25", "swissroll", "moons", "digits", "digits-binary", "mnist",
                 "pydoc"):
        assert name in out
    code, out, _ = run_cli(capsys, "models")
    assert code == 0 and "gan" in out and "diffusion" in out


@pytest.mark.parametrize("argv, expected", [
    (["train", "nosuchmodel"], ["diffusion", "gan"]),
    (["train", "gan", "--dataset", "nosuchdata", "--steps", "1"], ["ring8", "grid25"]),
    (["train", "gan", "--bogus-option", "1"], ["--loss", "--steps"]),
    (["frobnicate"], ["train", "sample"]),
])
def test_unknown_names_list_the_valid_choices(argv, expected, capsys, tmp_path):
    code, out, err = run_cli(capsys, *argv, "--out", str(tmp_path / "r")) \
        if argv[0] == "train" and len(argv) > 2 else run_cli(capsys, *argv)
    assert code != 0
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    for word in expected:
        assert word in err


def test_missing_mnist_directory_is_one_line(tmp_path, capsys):
    code, _, err = run_cli(capsys, "train", "vae", "--dataset", "mnist", "--data-dir",
                           str(tmp_path / "nowhere"), "--out", str(tmp_path / "r"), "--quiet")
    assert code != 0 and len(err.strip().splitlines()) == 1 and "nowhere" in err


def test_corrupted_checkpoint_is_one_line_for_eval_sample_and_resume(tmp_path, capsys):
    run = tmp_path / "run"
    train_tiny(capsys, run)
    data = (run / "checkpoint.npz").read_bytes()
    (run / "checkpoint.npz").write_bytes(data[: len(data) // 2])  # truncated
    for argv in (["eval", str(run)], ["sample", str(run), "-n", "5"],
                 ["train", "gan", "--resume", "--out", str(run), "--steps", "8", "--quiet"]):
        code, _, err = run_cli(capsys, *argv)
        assert code != 0, argv
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
        assert "checkpoint" in err


def test_an_existing_run_is_not_overwritten_without_resume(tmp_path, capsys):
    run = tmp_path / "run"
    train_tiny(capsys, run)
    before = (run / "checkpoint.npz").read_bytes()
    code, _, err = run_cli(capsys, "train", "gan", "--out", str(run), *TINY)
    assert code != 0 and "--resume" in err
    assert (run / "checkpoint.npz").read_bytes() == before


def test_a_nan_loss_stops_at_its_step_and_keeps_the_last_good_checkpoint(tmp_path, capsys,
                                                                          monkeypatch):
    from scratchgen.models.gan import GAN

    real_step = GAN.train_step
    calls = []

    def failing_step(self, batch):
        losses = real_step(self, batch)
        calls.append(1)
        return {**losses, "d_loss": float("nan")} if len(calls) == 3 else losses

    monkeypatch.setattr(GAN, "train_step", failing_step)
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, "train", "gan", "--out", str(run), *TINY)
    assert code != 0 and "step 3" in err and "Traceback" not in err
    assert load(run / "checkpoint.npz")["step"] == 2  # checkpoint-every 2: the last good one


def test_ctrl_c_saves_a_checkpoint_and_says_how_to_resume(tmp_path):
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "scratchgen", "train", "gan", "--out", str(run), "--steps",
         "100000", "--batch-size", "16", "--checkpoint-every", "100000"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.time() + 120
    while not (run / "config.json").exists() and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(2.0)  # some steps in
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "--resume" in err and "Traceback" not in err
    state = load(run / "checkpoint.npz")
    assert 0 < state["step"] < 100000
