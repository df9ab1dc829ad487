"""What every generative model offers the training loop and the command line.

A model family subclasses `GenerativeModel` and writes:

    options, cases       its settings and their per-dataset defaults (models/options.py)
    build()              create its networks, optimizers and lr schedulers (dicts name -> object)
    train_step(batch)    one optimisation step; returns the losses as floats
    sample(n)            n new examples as a NumPy array (a string for text)
    evaluate(rng)        an Evaluation: the metrics for metrics.json, and the samples it drew
    pictures(rng, ev)    what to draw: a list of Picture records (the training layer draws them)

Everything else (checkpoints, resume, progress, the drawing itself) is shared. A model never
imports the training layer: it says what a picture shows, training/pictures.py draws it.
"""
from dataclasses import dataclass

import numpy as np

from .options import Option

# Settings every family has; a family's own table may override their defaults.
TRAINING_OPTIONS = (
    Option("steps", 1000, "total optimisation steps"),
    Option("batch_size", 128, "minibatch size"),
    Option("lr", 1e-3, "learning rate", minimum=0.0),
)


@dataclass
class Evaluation:
    """What evaluate() measured (metrics.json) and the samples it drew, if any (so the
    pictures need not draw them again: a DDPM pass is 1000 network evaluations)."""
    metrics: dict
    samples: object = None


@dataclass
class Picture:
    """One picture, as data. kind:
        "points"   data (n, 2) samples, drawn over the training data and the mode centres
        "images"   data (N, C, H, W) images in value_range, `nrow` per row (default the
                   ceiling of sqrt(N)), with a colour map
        "panels"   data [(title, images), ...]: image grids side by side
        "text"     data [(title, text), ...], set in a monospace font
        "file"     data: a string written as it is (name ends in .txt)"""
    name: str
    kind: str
    data: object
    title: str = ""
    nrow: int = None
    value_range: tuple = None
    cmap: str = "gray"


def no_progress(label, done, total):
    """The default `progress` callback of evaluate() and sample(): nothing to show."""


class GenerativeModel:
    name = "model"
    description = ""
    dataset_kinds = ("2d",)       # kinds of data it can train on
    default_dataset = "ring8"
    options = ()                  # the family's Option table (besides TRAINING_OPTIONS)
    cases = {}                    # per-case defaults: {when(...): {option: value}}
    sample_options = ()           # sample() keywords that `scratchgen sample` exposes

    def __init__(self, config, dataset):
        self.config = config
        self.dataset = dataset
        self.networks = {}
        self.optimizers = {}
        self.schedulers = {}          # name -> optim.lr_scheduler.LRScheduler
        self.build()

    # ---- to write in each family ----------------------------------------------------
    def build(self):
        raise NotImplementedError

    def train_step(self, batch):
        raise NotImplementedError

    def sample(self, n, progress=no_progress, **options):
        raise NotImplementedError

    def evaluate(self, rng, progress=no_progress):
        raise NotImplementedError

    def pictures(self, rng, evaluation):
        """The pictures of a trained model (samples.png first)."""
        return [self.samples_picture(evaluation.samples if evaluation.samples is not None
                                     else self.sample(64))]

    def samples_picture(self, samples, name="samples.png"):
        raise NotImplementedError

    # ---- shared ---------------------------------------------------------------------
    @classmethod
    def option_table(cls):
        """Every option of the family: the training ones, then its own (its own win)."""
        own = {option.name: option for option in cls.options}
        merged = [own.pop(option.name, option) for option in TRAINING_OPTIONS]
        return tuple(merged) + tuple(own.values())

    def next_batch(self, rng):
        """A minibatch drawn with replacement from the training split, by `rng` alone (so a
        resumed run draws exactly the batches the uninterrupted run would have)."""
        train = self.dataset.train
        return train[rng.integers(0, len(train), self.config["batch_size"])]

    def step_schedulers(self):
        """Move every lr scheduler on by one step: the learning rate of the next update."""
        for scheduler in self.schedulers.values():
            scheduler.step()

    def state_dict(self):
        return {
            "networks": {name: net.state_dict() for name, net in self.networks.items()},
            "optimizers": {name: opt.state_dict() for name, opt in self.optimizers.items()},
            "schedulers": {name: {"last_epoch": s.last_epoch}
                           for name, s in self.schedulers.items()},
        }

    def load_state_dict(self, state):
        """Networks and optimizers as saved. A scheduler takes only its position from the
        checkpoint: its shape comes from this run's config, so raising --steps on resume
        stretches the schedule to the new end."""
        positions = scheduler_positions(state, self.schedulers)
        for name, net in self.networks.items():
            net.load_state_dict(state["networks"][name])
        for name, opt in self.optimizers.items():
            opt.load_state_dict(state["optimizers"][name])
        for name, scheduler in self.schedulers.items():
            scheduler.seek(positions[name])

    def train(self, mode=True):
        for net in self.networks.values():
            net.train(mode)

    def num_parameters(self):
        return sum(int(np.prod(p.shape)) for net in self.networks.values()
                   for p in net.parameters())


def scheduler_positions(state, schedulers):
    """{scheduler name: step} from a model checkpoint, also from the layouts written before
    the models shared one scheduler mechanism ("schedules", gpt's "schedule", rbm's
    "steps_done"), so older run directories still resume."""
    if "schedulers" in state:
        saved = {name: int(s["last_epoch"]) for name, s in state["schedulers"].items()}
    elif "schedules" in state:
        saved = {name: int(s["last_step"]) for name, s in state["schedules"].items()}
    elif "schedule" in state or "steps_done" in state:
        step = state["schedule"]["last_step"] if "schedule" in state else state["steps_done"]
        saved = {name: int(step) for name in schedulers}
    else:
        saved = {}
    missing = sorted(set(schedulers) - set(saved))
    if missing:
        raise ValueError(f"the checkpoint has no position for the learning-rate schedule(s) "
                         f"{missing}; was it saved with other --lr-decay settings?")
    return saved
