"""The character transformer: causal mask, overfitting, the metrics, sampling, resume, the CLI,
and step-by-step agreement with a PyTorch twin in float64 (bench/gpt_vs_torch.py)."""
import importlib.util
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from scratchgen import nn
from scratchgen.data import load_dataset
from scratchgen.engine.function import no_grad
from scratchgen.models.gpt import Transformer, bigram_loss, matrices_and_rest
from scratchgen.optim import warmup_cosine
from scratchgen.serialization import load
from scratchgen.training import make_config, train
from scratchgen.training.loop import build

REPO = Path(__file__).resolve().parents[2]

TINY = dict(layers=2, d_model=32, heads=4, block_size=16, batch_size=4, warmup=2, steps=6,
            eval_batch=16)


def tiny_gpt(**settings):
    _, model = build(make_config("gpt", out="unused", **{**TINY, **settings}))
    return model


def test_causal_mask_lets_nothing_flow_from_the_future():
    rng = np.random.default_rng(0)
    net = Transformer(vocab_size=11, block_size=12, layers=2, d_model=16, n_heads=4,
                      dtype=np.float64)
    ids = rng.integers(0, 11, (3, 12))
    with no_grad():
        base = net(ids).numpy()
        for t in range(12):
            changed = ids.copy()
            changed[:, t] = (changed[:, t] + 1 + rng.integers(0, 10, 3)) % 11
            out = net(changed).numpy()
            # exactly the same logits before t (not merely close) ...
            assert np.array_equal(out[:, :t], base[:, :t]), f"position < {t} saw token {t}"
            # ... and the change does reach position t itself
            assert np.abs(out[:, t] - base[:, t]).max() > 1e-6


def test_overfits_one_batch():
    model = tiny_gpt(lr=1e-2, min_lr=1e-2, warmup=0, steps=150, weight_decay=0.0,
                     batch_size=8, block_size=32)
    batch = model.next_batch(np.random.default_rng(0))  # 8 windows of 32 characters
    losses = [model.train_step(batch)["loss"] for _ in range(150)]
    assert losses[0] > 4.0  # about log(vocabulary) at the start
    assert min(losses[-10:]) < 0.1


def load_bench():
    path = REPO / "bench" / "gpt_vs_torch.py"
    spec = importlib.util.spec_from_file_location("gpt_vs_torch", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


def test_same_loss_curve_as_pytorch_in_float64():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)  # tiny matrices: threads only add waiting
    bench = load_bench()
    model, twin = bench.gpt_and_twin(**{**TINY, "dtype": "float64", "steps": 3, "warmup": 1,
                                        "grad_clip": 0.5, "lr": 1e-2, "min_lr": 1e-3})
    ours, theirs, param_diff = bench.loss_curves(model, twin, steps=3)
    assert np.abs(ours - theirs).max() < 1e-10
    assert param_diff < 1e-10
    # the steps did something (the comparison is not between two untrained models)
    assert model.optimizer.state and abs(ours[2] - ours[0]) > 1e-3


def test_bigram_loss_counts_with_add_one_smoothing():
    train, test = np.array([0, 1, 0, 1, 1]), np.array([1, 0, 2])
    counts = {(0, 1): 2, (1, 0): 1, (1, 1): 1}
    totals = {0: 2, 1: 2, 2: 0}
    p = lambda a, b: (counts.get((a, b), 0) + 1) / (totals[a] + 3)
    expected = -(math.log(p(1, 0)) + math.log(p(0, 2))) / 2
    assert bigram_loss(train, test, 3) == pytest.approx(expected, rel=1e-12)


def test_bigram_baseline_on_pydoc_is_the_published_number():
    data = load_dataset("pydoc")
    assert bigram_loss(data.train, data.test, len(data.vocab)) == pytest.approx(2.32, abs=0.05)


def test_split_loss_scores_every_character_once():
    model = tiny_gpt(block_size=8, eval_batch=3, dtype="float64")
    model.train(False)
    tokens = np.random.default_rng(1).integers(0, len(model.dataset.vocab), 42)
    expected = []
    with no_grad():
        for i in range(1, len(tokens)):  # character i, predicted from the start of its window
            start = (i - 1) // 8 * 8
            logits = model.network(tokens[None, start:i]).numpy()[0, -1].astype(np.float64)
            log_z = np.log(np.exp(logits - logits.max()).sum()) + logits.max()
            expected.append(log_z - logits[tokens[i]])
    assert model.split_loss(tokens) == pytest.approx(np.mean(expected), rel=1e-12)


def test_weight_decay_only_on_the_linear_weight_matrices():
    model = tiny_gpt()
    decay, rest = matrices_and_rest(model.network)
    names = {id(p): n for n, p in model.network.named_parameters()}
    assert sorted(names[id(p)] for p in decay) == sorted(
        n for n, p in model.network.named_parameters()
        if n.endswith("weight") and p.ndim == 2 and not n.startswith(("wte", "wpe")))
    assert all(p.ndim == 1 or names[id(p)].startswith(("wte", "wpe")) for p in rest)
    wd = [g["weight_decay"] for g in model.optimizer.param_groups]
    assert wd == [model.config["weight_decay"], 0.0]


def test_tied_weights_are_one_parameter():
    model = tiny_gpt(tie_weights=True)
    assert model.network.lm_head.weight is model.network.wte.weight
    assert len({id(p) for p in model.network.parameters()}) == len(
        list(model.network.parameters()))


def test_learning_rate_follows_warmup_then_cosine():
    model = tiny_gpt(steps=10, warmup=3, lr=1e-2, min_lr=1e-3)
    rng = np.random.default_rng(0)
    for step in range(10):
        expected = warmup_cosine(step, 1e-2, 3, 10, 1e-3)
        assert all(g["lr"] == pytest.approx(expected) for g in model.optimizer.param_groups)
        model.train_step(model.next_batch(rng))


def test_sample_continues_the_prompt():
    model = tiny_gpt()
    model.train(False)
    text = model.sample(30, prompt="def ", temperature=0.8, top_k=5)
    assert isinstance(text, str) and text.startswith("def ") and len(text) == 34
    assert len(model.sample(40)) == 40  # no prompt: 40 new characters
    greedy = model.sample(20, prompt="The ", temperature=0)
    assert model.sample(20, prompt="The ", top_k=1) == greedy
    with pytest.raises(ValueError, match="not in the vocabulary"):
        model.sample(5, prompt="\u2603")
    with pytest.raises(ValueError, match="temperature"):
        model.sample(5, temperature=-1)


def test_resume_is_bit_identical(tmp_path):
    settings = {**TINY, "dropout": 0.1, "checkpoint_every": 100}
    whole = make_config("gpt", out=str(tmp_path / "whole"), **settings)
    train(whole, quiet=True)
    halves = make_config("gpt", out=str(tmp_path / "halves"), **settings)
    train(halves, quiet=True, stop_after=3)
    train(halves, resume=True, quiet=True)
    a, b = (load(tmp_path / name / "checkpoint.npz") for name in ("whole", "halves"))
    for name, value in a["model"]["networks"]["transformer"].items():
        assert np.array_equal(value, b["model"]["networks"]["transformer"][name]), name
    assert np.array_equal(a["log"]["loss"], b["log"]["loss"])
    assert a["model"]["schedulers"] == b["model"]["schedulers"] == {"adamw": {"last_epoch": 6}}
    # the finished run wrote its metrics and its pictures
    metrics = (tmp_path / "whole" / "metrics.json").read_text()
    assert "val_loss" in metrics and "bigram_val_loss" in metrics
    assert (tmp_path / "whole" / "samples.png").stat().st_size > 10_000
    assert "prompt 'def '" in (tmp_path / "whole" / "samples.txt").read_text()


def test_cli_trains_and_samples_text(tmp_path):
    run = tmp_path / "run"
    cli = [sys.executable, "-m", "scratchgen"]
    tiny = ["--layers", "1", "--d-model", "16", "--heads", "2", "--block-size", "8",
            "--steps", "3", "--warmup", "1", "--batch-size", "2"]
    subprocess.run(cli + ["train", "gpt", "--out", str(run), "--quiet"] + tiny, check=True,
                   cwd=tmp_path)
    out = subprocess.run(cli + ["sample", str(run), "--prompt", "def ", "--temperature", "0.8",
                                "--top-k", "20", "-n", "50"],
                         check=True, capture_output=True, text=True).stdout
    assert out.startswith("def ") and len(out.rstrip("\n")) >= 50 - out.count("\n")
    bad = subprocess.run(cli + ["sample", str(run), "--prompt", "\u2603"],
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "vocabulary" in bad.stderr and "Traceback" not in bad.stderr


def test_text_file_dataset(tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text("abcab " * 200)
    model = tiny_gpt(dataset="text", text_file=str(path))
    assert len(model.dataset.vocab) == 4
    model.train_step(model.next_batch(np.random.default_rng(0)))
    assert set(model.sample(20, prompt="ab")) <= set("abc ")


def test_context_longer_than_the_block_is_an_error():
    net = Transformer(vocab_size=5, block_size=4, layers=1, d_model=8, n_heads=2)
    with pytest.raises(ValueError, match="block size"):
        net(np.zeros((1, 5), dtype=np.int64))
    assert isinstance(net.blocks[0].attn.c_attn, nn.Linear)
