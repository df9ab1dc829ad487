"""What every generative model offers the training loop and the command line.

A model family subclasses `GenerativeModel` and writes four things:

    build()              create its networks and optimizers (dicts of name -> object)
    train_step(batch)    one optimisation step; returns the losses as floats
    sample(n)            n new examples as a NumPy array
    evaluate(rng)        a dict of metrics (numbers) for metrics.json

Everything else (checkpoints, resume, progress, pictures of losses) is shared.
"""
import numpy as np


class GenerativeModel:
    name = "model"
    description = ""
    dataset_kinds = ("2d",)       # kinds of data it can train on
    default_dataset = "ring8"
    defaults = {"steps": 1000, "batch_size": 128, "lr": 1e-3}  # training defaults
    options = {}                  # model options: name -> dict(default=..., help=..., [type, choices])

    def __init__(self, config, dataset):
        self.config = config
        self.dataset = dataset
        self.networks = {}
        self.optimizers = {}
        self.build()

    # ---- to write in each family ----------------------------------------------------
    def build(self):
        raise NotImplementedError

    def train_step(self, batch):
        raise NotImplementedError

    def sample(self, n, **options):
        raise NotImplementedError

    def evaluate(self, rng):
        raise NotImplementedError

    # ---- shared ---------------------------------------------------------------------
    def next_batch(self, rng):
        """A minibatch drawn with replacement from the training split, by `rng` alone (so a
        resumed run draws exactly the batches the uninterrupted run would have)."""
        train = self.dataset.train
        return train[rng.integers(0, len(train), self.config["batch_size"])]

    def save_pictures(self, run_dir, rng):
        """Write samples.png (and any other pictures) into run_dir."""

    def state_dict(self):
        return {
            "networks": {name: net.state_dict() for name, net in self.networks.items()},
            "optimizers": {name: opt.state_dict() for name, opt in self.optimizers.items()},
        }

    def load_state_dict(self, state):
        for name, net in self.networks.items():
            net.load_state_dict(state["networks"][name])
        for name, opt in self.optimizers.items():
            opt.load_state_dict(state["optimizers"][name])

    def train(self, mode=True):
        for net in self.networks.values():
            net.train(mode)

    def num_parameters(self):
        return sum(int(np.prod(p.shape)) for net in self.networks.values()
                   for p in net.parameters())
