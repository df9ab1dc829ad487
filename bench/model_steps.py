"""Training-step time of the models with the reference kernels against the chosen defaults.

    python bench/model_steps.py                      # DCGAN, WGAN-GP critic, U-Net on digits; gpt
    python bench/model_steps.py --models gan-digits --steps 20 --threads 1

Each model is built as `scratchgen train` builds it (its per-dataset defaults), then trained
for a few warm-up steps under each kernel choice (JIT compile and cache loads land there),
then timed step by step with the two choices interleaved, so both share the machine's noise.
Prints the median seconds per step and the speed-up of the defaults over the reference path.
"""
import argparse
import statistics
import time

import numpy as np

import scratchgen as sg
from scratchgen import kernels
from scratchgen.engine.dispatch import DEFAULT
from scratchgen.training import make_config
from scratchgen.training.loop import build

MODELS = {  # name -> the `scratchgen train` settings
    "gan-digits": dict(model="gan", dataset="digits"),
    "wgan-gp-digits": dict(model="gan", dataset="digits", loss="wgan-gp"),
    "diffusion-digits": dict(model="diffusion", dataset="digits"),
    "gpt-pydoc": dict(model="gpt", dataset="pydoc"),
}
CHOICES = {"reference": {op: kernels.REFERENCE for op in kernels.available()},
           "defaults": {op: DEFAULT for op in kernels.available()}}


def step_times(name, steps, warmup):
    settings = dict(MODELS[name])
    config = make_config(settings.pop("model"), out="unused", **settings)
    _, model = build(config)
    rng = np.random.default_rng(0)
    times = {choice: [] for choice in CHOICES}
    for i in range(warmup + steps):
        for choice, ops in CHOICES.items():
            batch = model.next_batch(rng)
            with sg.use_kernels(**ops):
                start = time.perf_counter()
                model.train_step(batch)
                elapsed = time.perf_counter() - start
            if i >= warmup:
                times[choice].append(elapsed)
    return {choice: statistics.median(t) for choice, t in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits
    import numba

    threadpool_limits(args.threads)
    numba.set_num_threads(args.threads)
    defaults = {op: kernels.default_choice(op, "cpu") for op in kernels.available()}
    print(f"threads {args.threads}; CPU defaults (a rule by its function's name): "
          f"{ {op: getattr(d, '__name__', d) for op, d in defaults.items()} }")
    print(f"| model | reference s/step | defaults s/step | speed-up |\n|---|---|---|---|")
    for name in args.models:
        t = step_times(name, args.steps, args.warmup)
        print(f"| {name} | {t['reference']:.4f} | {t['defaults']:.4f} | "
              f"{t['reference'] / t['defaults']:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
