"""A run directory and the files in it.

    runs/gan-ring8-20261121-104200/
        config.json      every setting, defaults and seed included
        checkpoint.npz   networks, optimizers, random generators, step, loss log
        log.csv          step and losses, one row per step
        metrics.json     what `evaluate` measured
        samples.png      what the model generates
        loss.png         the loss curves

Every file is written atomically: a crash leaves the previous version, never half a file.
"""
import csv
import io
import json
import os
import time
from pathlib import Path

from ..serialization import atomic_write, load, save


class RunDir:
    def __init__(self, path):
        self.path = Path(path)

    @classmethod
    def fresh_name(cls, model, dataset, root="runs"):
        stamp = time.strftime("%Y%m%d-%H%M%S")
        return Path(root) / f"{model}-{dataset}-{stamp}"

    def file(self, name):
        return self.path / name

    @property
    def checkpoint(self):
        return self.file("checkpoint.npz")

    def has_checkpoint(self):
        return self.checkpoint.exists()

    def write_json(self, name, obj):
        atomic_write(self.file(name), json.dumps(obj, indent=2, sort_keys=True) + "\n")

    def read_json(self, name):
        with open(self.file(name)) as f:
            return json.load(f)

    def save_checkpoint(self, state):
        save(state, self.checkpoint)

    def load_checkpoint(self):
        return load(self.checkpoint)

    def write_log(self, log):
        """log: {column: list of numbers}, with a 'step' column first."""
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        columns = list(log)
        writer.writerow(columns)
        writer.writerows(zip(*(log[c] for c in columns)))
        atomic_write(self.file("log.csv"), buffer.getvalue())

    def save_figure(self, name, figure):
        """Save a matplotlib figure atomically (render to memory, then rename into place)."""
        buffer = io.BytesIO()
        figure.savefig(buffer, format=os.path.splitext(name)[1][1:], dpi=110,
                       bbox_inches="tight")
        atomic_write(self.file(name), buffer.getvalue())
