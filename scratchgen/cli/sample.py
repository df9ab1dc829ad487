"""`scratchgen sample RUN [-n N] [--out FILE]`: new samples from a trained run.

What a run can write depends on its data: points (.png picture, .npy array, .csv text),
images (.png grid, .npy array) or text (.txt, .png; the terminal by default). Without --out,
points and images go to RUN/sample-seed<S>.png. The command always says what it wrote where.
"""
import io
import os
import sys

import numpy as np

from ..metrics import SAMPLES_2D
from .main import Parser, UsageError, positive_int

FORMATS = {"2d": (".png", ".npy", ".csv"), "image": (".png", ".npy"), "text": (".txt", ".png")}
DEFAULT_COUNT = {"2d": SAMPLES_2D, "image": 64, "text": 500}

# The options sample() of a family understands, as command-line arguments.
SAMPLE_ARGUMENTS = {
    "prompt": (dict(default=""), "gpt: text to continue"),
    "temperature": (dict(type=float), "gpt: softmax temperature (default 1; 0 is greedy)"),
    "top_k": (dict(type=int), "gpt: sample among the k likeliest characters"),
    "sampler": (dict(choices=("ddpm", "ddim")), "diffusion: sampler (default: the run's)"),
    "sample_steps": (dict(type=int), "diffusion, DDIM: sampling steps (default: the run's)"),
    "eta": (dict(type=float), "diffusion, DDIM: 0 deterministic, 1 ancestral-like"),
    "gibbs_steps": (dict(type=int), "rbm: Gibbs sweeps per chain (default: the run's)"),
}


def build_parser(model_cls=None):
    parser = Parser(prog="scratchgen sample", description=__doc__.split("\n", 2)[2].strip(),
                    epilog=None if model_cls else "Each model family has its own sample "
                    "options; `scratchgen sample RUN --help` lists those of RUN's family.")
    parser.add_argument("run_dir", help="a run directory written by `scratchgen train`")
    parser.add_argument("-n", type=positive_int, default=None,
                        help=f"how many samples (characters for text); default {SAMPLES_2D} "
                             "points, 64 images, 500 characters")
    parser.add_argument("--out", help="the file to write; its extension picks the format")
    parser.add_argument("--seed", type=int, default=0, help="seed of the samples (default 0)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    if model_cls is not None and model_cls.sample_options:
        group = parser.add_argument_group(f"options of {model_cls.name} samples")
        for name in model_cls.sample_options:
            kwargs, help_text = SAMPLE_ARGUMENTS[name]
            group.add_argument("--" + name.replace("_", "-"), dest=name, help=help_text,
                               **{"default": None, **kwargs})
    return parser


def sample_command(argv):
    from ..models import MODELS, get_model_class
    from ..training import load_run
    from ..training.config import read_config
    from ..training.rundir import RunDir

    probe = Parser(add_help=False)
    probe.add_argument("run_dir", nargs="?")
    run_dir = probe.parse_known_args(argv)[0].run_dir
    if run_dir is None or not RunDir(run_dir).file("config.json").exists():
        if run_dir is not None and not {"-h", "--help"} & set(argv):
            raise FileNotFoundError(f"{run_dir} is not a run directory (no config.json)")
        build_parser().parse_args(argv)  # --help, or the error of a missing RUN
    model_cls = get_model_class(read_config(RunDir(run_dir))["model"])
    parser = build_parser(model_cls)
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        flag = lambda name: "--" + name.replace("_", "-")  # noqa: E731
        own = [flag(name) for name in model_cls.sample_options]
        elsewhere = {flag(name) for m in MODELS for name in get_model_class(m).sample_options}
        theirs = [word for word in unknown if word.split("=")[0] in elsewhere - set(own)]
        raise UsageError(f"unknown option(s) {' '.join(unknown)} for a {model_cls.name} run"
                         + (f" ({', '.join(theirs)} apply to other model families)"
                            if theirs else "")
                         + f"; its sample options: {', '.join(own) or 'none'}")
    run, config, dataset, model = load_run(args.run_dir)
    formats = FORMATS[dataset.kind]
    out = args.out
    extension = os.path.splitext(out)[1].lower() if out is not None else None
    if out is not None and extension not in formats:
        raise UsageError(f"--out {out!r}: a {model_cls.name} run on {dataset.kind} data writes "
                         f"{', '.join(formats)} files, not {extension or 'no extension'}")
    n = args.n or DEFAULT_COUNT[dataset.kind]
    options = {name: getattr(args, name) for name in model_cls.sample_options
               if getattr(args, name) is not None}
    if dataset.kind == "text":
        options.setdefault("temperature", 1.0)

    from ..engine import random as sg_random
    from ..training.progress import StageProgress

    sg_random.manual_seed(args.seed)
    model.train(False)
    progress = StageProgress(args.quiet, prefix="sampling: ")
    try:
        samples = model.sample(n, progress=progress, **options)
    finally:
        progress.close()
    what = f"{n} {'characters' if dataset.kind == 'text' else 'samples'}" + (
        f" ({', '.join(f'{k}={v}' for k, v in options.items() if k != 'prompt')})"
        if options else "")
    if out is None and dataset.kind == "text":
        print(samples)
        print(f"wrote {what} to the terminal", file=sys.stderr)
        return 0
    if out is None:
        out = str(run.file(f"sample-seed{args.seed}.png"))
    write_samples(out, samples, model, dataset)
    print(f"wrote {what} to {out}")
    return 0


def write_samples(out, samples, model, dataset):
    """samples into `out` in the format its extension names (atomically)."""
    from ..serialization import atomic_write
    from ..training.pictures import draw
    from ..training.rundir import RunDir

    extension = os.path.splitext(out)[1].lower()
    if extension == ".txt":
        atomic_write(out, samples)
    elif extension == ".npy":
        buffer = io.BytesIO()
        np.save(buffer, samples, allow_pickle=False)
        atomic_write(out, buffer.getvalue())
    elif extension == ".csv":
        buffer = io.StringIO()
        np.savetxt(buffer, samples, fmt="%.7g", delimiter=",", header="x,y", comments="")
        atomic_write(out, buffer.getvalue())
    else:  # .png
        target = RunDir(os.path.dirname(os.path.abspath(out)))
        draw(target, model.samples_picture(samples, os.path.basename(out)), dataset)
