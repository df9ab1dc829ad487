"""More of `scratchgen train` end to end (test_cli_workflow.py has the basics): the saved
configuration, resume by raising --steps, the diffusion model's run, what --resume refuses,
progress output, and Ctrl-C followed by a resume."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from helpers import assert_same_checkpoints

from scratchgen import load
from scratchgen.cli import main
from scratchgen.training import make_config

SMALL = ["--batch-size", "16", "--hidden", "16", "--quiet"]
# Tiny diffusion runs use T = 100 (fast to sample), which NoiseSchedule rightly warns about.
pytestmark = pytest.mark.filterwarnings("ignore:with T=100:UserWarning")


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("model, extra", [("gan", []), ("gan", ["--dataset", "grid25"]),
                                          ("diffusion", ["--timesteps", "100"])])
def test_config_json_holds_every_setting_with_its_default(tmp_path, capsys, model, extra):
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, "train", model, "--out", run, "--steps", 2, "--seed", 5,
                           *SMALL, *extra)
    assert code == 0, err
    config = json.loads((run / "config.json").read_text())
    expected = make_config(model, out=str(run), steps=2, seed=5, batch_size=16, hidden=16,
                           **dict(zip([e.lstrip("-") for e in extra[::2]],
                                      [int(v) if v.isdigit() else v for v in extra[1::2]])))
    assert config == json.loads(json.dumps(expected))  # every key, defaults included
    assert config["seed"] == 5


def test_per_dataset_defaults_apply_unless_given(tmp_path):
    assert make_config("gan", dataset="grid25", out="x")["pack"] == 8
    assert make_config("gan", dataset="grid25", pack=2, out="x")["pack"] == 2
    assert make_config("gan", out="x")["pack"] == 4
    assert make_config("gan", loss="wgan-gp", out="x")["n_critic"] == 5


def test_raising_steps_on_resume_matches_one_long_run(tmp_path, capsys):
    """Without a learning-rate schedule tied to the run's length, `--steps k` then `--resume
    --steps 2k` is the same run as `--steps 2k`."""
    common = [*SMALL, "--lr-decay", "none", "--checkpoint-every", 3]
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert run_cli(capsys, "train", "gan", "--out", straight, "--steps", 6, *common)[0] == 0
    assert run_cli(capsys, "train", "gan", "--out", split, "--steps", 3, *common)[0] == 0
    code, _, err = run_cli(capsys, "train", "gan", "--resume", "--out", split, "--steps", 6,
                           "--quiet")
    assert code == 0, err
    assert_same_checkpoints(straight / "checkpoint.npz", split / "checkpoint.npz")
    assert (straight / "log.csv").read_text() == (split / "log.csv").read_text()


def test_diffusion_resume_is_bit_identical_and_sample_eval_work(tmp_path, capsys):
    common = ["--steps", 6, "--timesteps", 100, *SMALL]
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert run_cli(capsys, "train", "diffusion", "--out", straight, *common)[0] == 0
    assert run_cli(capsys, "train", "diffusion", "--out", split, *common, "--stop-after", 4)[0] == 0
    assert load(split / "checkpoint.npz")["step"] == 4
    assert run_cli(capsys, "train", "diffusion", "--resume", "--out", split, "--quiet")[0] == 0
    assert_same_checkpoints(straight / "checkpoint.npz", split / "checkpoint.npz")
    assert (straight / "log.csv").read_text() == (split / "log.csv").read_text()

    metrics = json.loads((split / "metrics.json").read_text())
    assert {"hq_fraction", "ddim_hq_fraction", "mmd2", "mmd2_floor"} <= metrics.keys()
    code, out, err = run_cli(capsys, "eval", split)
    assert code == 0 and "ddim_hq_fraction" in out
    code, _, err = run_cli(capsys, "sample", split, "-n", 7, "--out", tmp_path / "p.npy")
    assert code == 0, err
    assert np.load(tmp_path / "p.npy").shape == (7, 2)


def test_resume_refuses_to_change_the_saved_settings(tmp_path, capsys):
    run = tmp_path / "run"
    assert run_cli(capsys, "train", "gan", "--out", run, "--steps", 2, *SMALL)[0] == 0
    code, _, err = run_cli(capsys, "train", "gan", "--resume", "--out", run, "--lr", 0.1)
    assert code != 0 and "--lr" in err and "Traceback" not in err
    code, _, err = run_cli(capsys, "train", "diffusion", "--resume", "--out", run)
    assert code != 0 and "gan" in err
    code, _, err = run_cli(capsys, "train", "gan", "--resume")
    assert code != 0 and "--out" in err


def test_an_invalid_option_value_lists_the_choices(tmp_path, capsys):
    code, _, err = run_cli(capsys, "train", "gan", "--loss", "hinge", "--out", tmp_path / "r")
    assert code == 2 and "--loss" in err and "nonsaturating" in err and "wgan-gp" in err
    assert len(err.strip().splitlines()) == 1 and "'hinge'" in err
    assert not (tmp_path / "r").exists()


def test_a_corrupted_config_is_one_line(tmp_path, capsys):
    run = tmp_path / "run"
    assert run_cli(capsys, "train", "gan", "--out", run, "--steps", 2, *SMALL)[0] == 0
    (run / "config.json").write_text("{not json")
    for argv in (["eval", run], ["sample", run, "-n", 3]):
        code, _, err = run_cli(capsys, *argv)
        assert code != 0 and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_run_from_before_an_option_existed_still_loads(tmp_path, capsys):
    """Options added later (here d_lr and channels) take their plain defaults, which keep the
    old behaviour; a configuration that is not one (a list) is a one-line error."""
    run = tmp_path / "run"
    assert run_cli(capsys, "train", "gan", "--out", run, "--steps", 2, *SMALL)[0] == 0
    before = json.loads((run / "metrics.json").read_text())
    config = json.loads((run / "config.json").read_text())
    del config["d_lr"], config["channels"]
    (run / "config.json").write_text(json.dumps(config))
    code, _, err = run_cli(capsys, "eval", run)
    assert code == 0, err
    assert json.loads((run / "metrics.json").read_text()) == before
    (run / "config.json").write_text("[1, 2]")
    code, _, err = run_cli(capsys, "eval", run)
    assert code != 0 and "not a scratchgen run configuration" in err
    assert len(err.strip().splitlines()) == 1


def test_progress_prints_plain_lines_off_a_terminal_and_nothing_when_quiet(tmp_path, capsys):
    args = ["train", "gan", "--steps", 4, "--batch-size", 16, "--hidden", 16]
    code, out, err = run_cli(capsys, *args, "--out", tmp_path / "a")
    assert code == 0
    assert "step 1/4" in err and "step 4/4" in err and "steps/s" in err and "d_loss=" in err
    assert err.splitlines()[0] == f"training gan on ring8 (step 0 of 4) in {tmp_path / 'a'}"
    assert f"wrote {tmp_path / 'a'}" in out
    code, out, err = run_cli(capsys, *args, "--out", tmp_path / "b", "--quiet")
    assert code == 0 and out == "" and err == ""


def test_progress_uses_a_bar_on_a_terminal():
    import io

    from scratchgen.training.progress import Progress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    progress = Progress(10, stream=stream)
    assert progress.bar is not None
    for step in range(1, 11):
        progress.update(step, {"loss": 0.5})
    progress.close()
    text = stream.getvalue()
    assert "10/10" in text and "loss=0.5" in text and "step/s" in text


def test_ctrl_c_then_resume_finishes_the_run(tmp_path):
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "scratchgen", "train", "gan", "--out", str(run),
               "--batch-size", "16", "--hidden", "16", "--checkpoint-every", "100000"]
    process = subprocess.Popen(command + ["--steps", "100000"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env)
    first = process.stderr.readline()  # the run directory is named before the first step
    assert first.startswith("training gan on ring8") and str(run) in first, first
    second = process.stderr.readline()  # "step 1/100000 ...": training has started
    assert second.startswith("step 1/"), second
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "--resume" in err and "Traceback" not in err
    stopped = load(run / "checkpoint.npz")["step"]
    assert 1 <= stopped < 100000

    done = subprocess.run(command[:5] + ["--resume", "--out", str(run), "--steps",
                                         str(stopped + 3), "--quiet"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert load(run / "checkpoint.npz")["step"] == stopped + 3
    assert len((run / "log.csv").read_text().splitlines()) == 1 + stopped + 3
