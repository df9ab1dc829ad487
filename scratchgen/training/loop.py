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
from .config import read_config
from .pictures import draw, plot_losses
from .progress import Progress, StageProgress
from .rundir import RunDir

# Offsets that separate the seeds of the three streams derived from the run's one seed.
DATA_STREAM, EVAL_STREAM = 1, 2


class TrainingDiverged(ScratchgenError):
    """A loss became NaN or infinite; the last good checkpoint is left as it was."""


class Interrupted(ScratchgenError):
    """Training stopped by Ctrl-C after saving a checkpoint."""


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
    """(run dir, config, dataset, model) of a saved run, weights loaded from its checkpoint;
    run.saved_step is the step the checkpoint was saved at."""
    run = RunDir(path)
    if not run.file("config.json").exists():
        raise FileNotFoundError(f"{path} is not a run directory (no config.json)")
    config = read_config(run)
    dataset, model = build(config)
    state = run.load_checkpoint()
    model.load_state_dict(state["model"])
    run.saved_step = int(state["step"])
    return run, config, dataset, model


def evaluate_run(run, config, model, step, quiet=False, stream=None):
    """Metrics of the model (trained for `step` of config["steps"] steps), written to
    metrics.json with "step" and "finished"; pictures refreshed. Progress of the long parts
    (sampling, bounds, AIS) is shown unless quiet."""
    progress = StageProgress(quiet, stream, prefix="evaluating: ")
    eval_seed = config["seed"] * 1000 + EVAL_STREAM
    sg_random.manual_seed(eval_seed)
    model.train(False)
    try:
        evaluation = model.evaluate(np.random.default_rng(eval_seed), progress=progress)
        metrics = {**evaluation.metrics, "step": int(step), "finished": step >= config["steps"]}
        run.write_json("metrics.json", metrics)
        sg_random.manual_seed(eval_seed)  # pictures draw the same numbers whatever evaluate used
        for picture in model.pictures(np.random.default_rng(eval_seed), evaluation):
            draw(run, picture, model.dataset)
    finally:
        progress.close()
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
    progress.message(f"{'resuming' if resume else 'training'} {config['model']} on "
                     f"{config['dataset']} (step {step} of {total}) in {run.path}")
    interrupted = []
    previous_handler = signal.signal(signal.SIGINT, lambda *_: interrupted.append(True)) \
        if _in_main_thread() else None
    last_saved = step if resume else None
    try:
        while step < total:
            # overflow on the way to a NaN loss is reported below, not as NumPy's warning
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                losses = model.train_step(model.next_batch(data_rng))
            bad = {k: v for k, v in losses.items() if not math.isfinite(v)}
            if bad:
                where = (f"the last good checkpoint (step {last_saved}) is untouched in "
                         f"{run.checkpoint}" if last_saved is not None else "no checkpoint "
                         "had been written yet")
                raise TrainingDiverged(
                    f"training diverged at step {step + 1}: "
                    f"{', '.join(f'{k} is {v}' for k, v in bad.items())}; {where}")
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
                                      f"{resume_hint(config, run)}")
                return run, None
    finally:
        progress.close()
        if previous_handler is not None:
            signal.signal(signal.SIGINT, previous_handler)
    if last_saved != step:  # resumed a finished run: nothing new was trained
        run.write_log(log)
    plot_losses(run, log)
    progress.message("training done; evaluating")
    try:
        metrics = evaluate_run(run, config, model, step, quiet=quiet, stream=stream)
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted during the evaluation; the trained model is saved "
                          f"(step {step}/{total}). {resume_hint(config, run)}") from None
    progress.message(f"done: {run.path}  " + "  ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in metrics.items()))
    return run, metrics


def resume_hint(config, run):
    return f"Resume with: scratchgen train {config['model']} --resume --out {run.path}"


def _in_main_thread():
    import threading
    return threading.current_thread() is threading.main_thread()
