"""The training loop: one function that trains, checkpoints, resumes and evaluates.

Exact resume. Everything random in a step is drawn from two generators: scratchgen's
global one (initialisation, noise, dropout) and the data generator (minibatch indices).
A checkpoint stores both states next to the networks and optimizers, so training k steps,
stopping, and resuming for k more replays exactly the numbers an uninterrupted run of 2k
steps would have drawn: the parameters come out bit-identical.
"""
import math
import signal

import numpy as np

from .. import data as datasets
from ..engine import random as sg_random
from ..errors import ScratchgenError
from ..models import get_model_class
from .pictures import plot_losses
from .progress import Progress
from .rundir import RunDir

# Offsets that separate the seeds of the three streams derived from the run's one seed.
DATA_STREAM, EVAL_STREAM = 1, 2


class TrainingDiverged(ScratchgenError):
    """A loss became NaN or infinite; the last good checkpoint is left as it was."""


class Interrupted(ScratchgenError):
    """Training stopped by Ctrl-C after saving a checkpoint."""


def model_defaults(model_cls):
    """Every setting with its default: training defaults, then the model's options."""
    config = {"steps": 1000, "batch_size": 128, "lr": 1e-3, "seed": 0, "device": "cpu",
              "checkpoint_every": 500, "dataset": model_cls.default_dataset, "data_dir": None,
              "text_file": None}
    config.update(model_cls.defaults)
    config.update({name: spec["default"] for name, spec in model_cls.options.items()})
    return config


def make_config(model, **settings):
    """The full configuration of a run: defaults overridden by the settings given.

    A model may declare `defaults_when = {condition: {setting: default, ...}}`: defaults that
    apply when another setting has a value (for example a longer run on grid25). A condition
    is one (setting, value) pair or a tuple of pairs that must all hold; besides the settings,
    "dataset_kind" ("2d", "image" or "text") can be tested. Rows apply in order, so a later
    row wins. Settings given explicitly always win over any default."""
    model_cls = get_model_class(model)
    config = model_defaults(model_cls)
    unknown = set(settings) - set(config) - {"out"}
    if unknown:
        raise ValueError(f"unknown settings for model {model!r}: {sorted(unknown)}; "
                         f"valid: {sorted(config)}")
    given = {k: v for k, v in settings.items() if v is not None}
    chosen = {**config, **given}
    info = datasets.DATASETS.get(chosen["dataset"])
    chosen["dataset_kind"] = info.kind if info is not None else None
    for condition, defaults in getattr(model_cls, "defaults_when", {}).items():
        pairs = condition if isinstance(condition[0], tuple) else (condition,)
        if all(chosen.get(setting) == value for setting, value in pairs):
            config.update(defaults)
    config.update(given)
    config["model"] = model
    for name in ("steps", "batch_size", "checkpoint_every"):
        if config[name] < 1:
            raise ValueError(f"{name} must be positive, got {config[name]}")
    if not config.get("out"):
        config["out"] = str(RunDir.fresh_name(model, config["dataset"]))
    return config


def read_config(run):
    """config.json of a run. A setting added to the model after the run was made is filled in
    with its plain default (new options default to the behaviour that came before them)."""
    config = run.read_json("config.json")
    if not isinstance(config, dict) or "model" not in config:
        raise ValueError(f"{run.file('config.json')} is not a scratchgen run configuration")
    return {**model_defaults(get_model_class(config["model"])), **config}


def resume_config(out, steps=None):
    """The saved configuration of the run in `out`, optionally with more steps."""
    run = RunDir(out)
    if not run.file("config.json").exists():
        raise FileNotFoundError(f"--resume: {out} is not a run directory (no config.json)")
    config = read_config(run)
    config["out"] = str(out)  # the run may have been moved since
    if steps is not None:
        config["steps"] = steps
    return config


def build(config):
    """Dataset and model for a configuration (fresh, untrained)."""
    dataset = datasets.load_dataset(config["dataset"], seed=config["seed"],
                                    data_dir=config.get("data_dir"),
                                    text_file=config.get("text_file"))
    model_cls = get_model_class(config["model"])
    if dataset.kind not in model_cls.dataset_kinds:
        raise ValueError(f"model {config['model']!r} trains on {'/'.join(model_cls.dataset_kinds)} "
                         f"data, but dataset {config['dataset']!r} is {dataset.kind} data")
    sg_random.manual_seed(config["seed"])
    return dataset, model_cls(config, dataset)


def load_run(path):
    """(run dir, config, dataset, model) of a saved run, weights loaded from its checkpoint."""
    run = RunDir(path)
    if not run.file("config.json").exists():
        raise FileNotFoundError(f"{path} is not a run directory (no config.json)")
    config = read_config(run)
    dataset, model = build(config)
    state = run.load_checkpoint()
    model.load_state_dict(state["model"])
    return run, config, dataset, model


def evaluate_run(run, config, model):
    """Metrics of a trained model, written to metrics.json; pictures refreshed."""
    eval_seed = config["seed"] * 1000 + EVAL_STREAM
    sg_random.manual_seed(eval_seed)
    model.train(False)
    metrics = model.evaluate(np.random.default_rng(eval_seed))
    run.write_json("metrics.json", metrics)
    sg_random.manual_seed(eval_seed)
    model.save_pictures(run, np.random.default_rng(eval_seed))
    model.train(True)
    return metrics


def _checkpoint_state(step, model, data_rng, log):
    return {"step": step, "model": model.state_dict(),
            "rng": {"scratchgen": sg_random.get_state(), "data": data_rng.bit_generator.state},
            "log": {k: np.asarray(v) for k, v in log.items()}}


def train(config, resume=False, quiet=False, stop_after=None, stream=None):
    """Train a model as `config` says; return (run dir, metrics).

    resume: continue the run in config["out"] from its checkpoint (config["steps"] may be
    raised to train longer). stop_after: stop (with a checkpoint) after that many steps in
    total, as Ctrl-C would; used to test resume."""
    run = RunDir(config["out"])
    if resume and not run.has_checkpoint():
        raise FileNotFoundError(f"--resume: no checkpoint in {run.path}; train without "
                                "--resume first")
    if not resume and run.has_checkpoint():
        raise FileExistsError(f"{run.path} already holds a run; pass --resume to continue it "
                              "or choose another --out")
    dataset, model = build(config)  # before making the directory: bad settings leave nothing
    run.path.mkdir(parents=True, exist_ok=True)
    data_rng = np.random.default_rng(config["seed"] * 1000 + DATA_STREAM)
    step, log = 0, {"step": []}
    if resume:
        state = run.load_checkpoint()
        model.load_state_dict(state["model"])
        sg_random.set_state(state["rng"]["scratchgen"])
        data_rng.bit_generator.state = state["rng"]["data"]
        step = int(state["step"])
        log = {k: list(np.asarray(v).tolist()) for k, v in state["log"].items()}
    run.write_json("config.json", config)

    total = config["steps"]
    progress = Progress(total, start=step, quiet=quiet, stream=stream)
    interrupted = []
    previous_handler = signal.signal(signal.SIGINT, lambda *_: interrupted.append(True)) \
        if _in_main_thread() else None
    last_saved = step if resume else None
    try:
        while step < total:
            losses = model.train_step(model.next_batch(data_rng))
            bad = {k: v for k, v in losses.items() if not math.isfinite(v)}
            if bad:
                where = (f"the last good checkpoint (step {last_saved}) is untouched in "
                         f"{run.checkpoint}" if last_saved is not None else "no checkpoint "
                         "had been written yet")
                raise TrainingDiverged(f"loss {', '.join(f'{k}={v}' for k, v in bad.items())} "
                                       f"at step {step + 1}; {where}")
            step += 1
            log["step"].append(step)
            for k, v in losses.items():
                log.setdefault(k, []).append(v)
            progress.update(step, losses)
            stopping = bool(interrupted) or step == stop_after
            if step % config["checkpoint_every"] == 0 or step == total or stopping:
                run.save_checkpoint(_checkpoint_state(step, model, data_rng, log))
                run.write_log(log)
                last_saved = step
            if stopping:
                progress.close()
                if interrupted:
                    raise Interrupted(f"interrupted at step {step}/{total}; checkpoint saved. "
                                      f"Resume with: scratchgen train {config['model']} "
                                      f"--resume --out {run.path}")
                return run, None
    finally:
        progress.close()
        if previous_handler is not None:
            signal.signal(signal.SIGINT, previous_handler)
    if last_saved != step:  # resumed a finished run: nothing new was trained
        run.write_log(log)
    plot_losses(run, log)
    metrics = evaluate_run(run, config, model)
    progress.message(f"done: {run.path}  " + "  ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in metrics.items()))
    return run, metrics


def _in_main_thread():
    import threading
    return threading.current_thread() is threading.main_thread()
