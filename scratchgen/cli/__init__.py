"""The command line: `scratchgen train | sample | eval | datasets | models | bench`.

    scratchgen train gan                      # ring8, writes runs/gan-ring8-<time>/
    scratchgen train diffusion --dataset grid25 --steps 4000
    scratchgen sample runs/gan-ring8-... -n 1000 --out points.npy
    scratchgen eval runs/gan-ring8-...
    scratchgen bench kernels --quick          # every kernel validated and timed

Bad input (an unknown model, dataset or option, a missing data directory, a corrupted
checkpoint) gives a one-line error and a non-zero exit code, never a traceback.
"""
import argparse
import contextlib
import os
import sys

EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130


def _common_train_arguments(parser):
    parser.add_argument("model", help="model family (see `scratchgen models`)")
    parser.add_argument("--dataset", help="training data (see `scratchgen datasets`)")
    parser.add_argument("--steps", type=int, help="total optimisation steps")
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--lr", type=float, help="learning rate")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--device", choices=["cpu", "cuda"])
    parser.add_argument("--out", help="run directory (default runs/<model>-<dataset>-<time>)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --out from its checkpoint")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.add_argument("--checkpoint-every", type=int)
    parser.add_argument("--stop-after", type=int, metavar="N",
                        help="stop after step N with a checkpoint, as Ctrl-C would "
                             "(continue later with --resume)")
    parser.add_argument("--data-dir", help="directory of the mnist IDX files")
    parser.add_argument("--text-file", help="a UTF-8 text file to train the gpt on")


def _add_model_options(parser, model_cls):
    group = parser.add_argument_group(f"options of model {model_cls.name}")
    for name, spec in model_cls.options.items():
        kwargs = {k: spec[k] for k in ("help", "choices") if k in spec}
        default = spec["default"]
        if isinstance(default, bool):
            group.add_argument("--" + name.replace("_", "-"), dest=name,
                               action=argparse.BooleanOptionalAction, default=None, **kwargs)
        else:
            kind = spec.get("type", type(default) if default is not None else str)
            group.add_argument("--" + name.replace("_", "-"), dest=name, type=kind, default=None,
                               metavar=name.upper(), **kwargs)


def _train(argv):
    from ..models import MODELS, get_model_class
    from ..training import make_config, resume_config, train

    probe = argparse.ArgumentParser(prog="scratchgen train", add_help=False)
    probe.add_argument("model", nargs="?")
    known, _ = probe.parse_known_args(argv)
    if known.model is None or known.model.startswith("-"):
        if "-h" in argv or "--help" in argv:
            parser = argparse.ArgumentParser(prog="scratchgen train")
            _common_train_arguments(parser)
            parser.print_help()
            return 0
        raise UsageError(f"train needs a model; choose one of: {', '.join(sorted(MODELS))}")
    model_cls = get_model_class(known.model)
    parser = argparse.ArgumentParser(prog=f"scratchgen train {known.model}",
                                     description=model_cls.description)
    _common_train_arguments(parser)
    _add_model_options(parser, model_cls)
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        valid = sorted(a for action in parser._actions for a in action.option_strings)
        raise UsageError(f"unknown option(s) {' '.join(unknown)} for `train {known.model}`; "
                         f"valid options: {', '.join(valid)}")
    settings = {k: v for k, v in vars(args).items()
                if k not in ("model", "resume", "quiet", "stop_after") and v is not None}
    if args.resume:
        if not args.out:
            raise UsageError("--resume needs --out RUN_DIR (the run to continue)")
        fixed = sorted(set(settings) - {"out", "steps", "checkpoint_every"})
        if fixed:
            raise UsageError(f"--resume continues the saved configuration; only --steps and "
                             f"--checkpoint-every may change, not "
                             f"{', '.join('--' + k.replace('_', '-') for k in fixed)}")
        config = resume_config(args.out, settings.get("steps"))
        config["checkpoint_every"] = settings.get("checkpoint_every", config["checkpoint_every"])
        if config["model"] != args.model:
            raise UsageError(f"{args.out} holds a {config['model']} run, not {args.model}")
    else:
        config = make_config(args.model, **settings)
    run, metrics = train(config, resume=args.resume, quiet=args.quiet, stop_after=args.stop_after)
    if metrics is None and not args.quiet:
        print(f"stopped at step {args.stop_after}; continue with: scratchgen train "
              f"{config['model']} --resume --out {run.path}")
    if metrics is not None and not args.quiet:
        print(f"run directory: {run.path}")
    return 0


def _sample(argv):
    import numpy as np

    from ..training import load_run

    parser = argparse.ArgumentParser(prog="scratchgen sample")
    parser.add_argument("run_dir")
    parser.add_argument("-n", type=int, default=None, help="how many samples")
    parser.add_argument("--out", help="FILE.png (a picture) or FILE.npy (the raw samples)")
    parser.add_argument("--prompt", default="", help="gpt: text to continue")
    parser.add_argument("--temperature", type=float, default=1.0, help="gpt: softmax temperature")
    parser.add_argument("--top-k", type=int, default=None, help="gpt: sample among the k likeliest")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.out and not args.out.endswith((".png", ".npy")):
        raise UsageError(f"--out must end in .png or .npy, got {args.out!r}")
    run, config, dataset, model = load_run(args.run_dir)
    from ..engine import random as sg_random

    sg_random.manual_seed(args.seed)
    model.train(False)
    options = {"prompt": args.prompt, "temperature": args.temperature, "top_k": args.top_k} \
        if dataset.kind == "text" else {}
    n = args.n if args.n is not None else (500 if dataset.kind == "text" else
                                           (64 if dataset.kind == "image" else 2500))
    samples = model.sample(n, **options)
    if isinstance(samples, str):
        print(samples)
        if args.out:
            from ..serialization import atomic_write
            atomic_write(args.out.rsplit(".", 1)[0] + ".txt", samples)
        return 0
    if args.out and args.out.endswith(".npy"):
        import io
        from ..serialization import atomic_write
        buffer = io.BytesIO()
        np.save(buffer, samples, allow_pickle=False)
        atomic_write(args.out, buffer.getvalue())
    elif args.out:
        from ..training.rundir import RunDir
        target = RunDir(os.path.dirname(os.path.abspath(args.out)))
        model.plot_samples(target, samples, os.path.basename(args.out))
    else:
        np.savetxt(sys.stdout, samples.reshape(len(samples), -1), fmt="%.5g")
    if args.out:
        print(f"wrote {len(samples)} samples to {args.out}")
    return 0


def _eval(argv):
    from ..training import evaluate_run, load_run

    parser = argparse.ArgumentParser(prog="scratchgen eval")
    parser.add_argument("run_dir")
    args = parser.parse_args(argv)
    run, config, dataset, model = load_run(args.run_dir)
    metrics = evaluate_run(run, config, model)
    width = max(len(k) for k in metrics)
    for k, v in metrics.items():
        print(f"{k:<{width}}  {v:.6g}" if isinstance(v, float) else f"{k:<{width}}  {v}")
    return 0


def _datasets(argv):
    from ..data import list_datasets

    argparse.ArgumentParser(prog="scratchgen datasets").parse_args(argv)
    rows = list_datasets()
    for row in rows:
        print(f"{row.name:<14} {row.kind:<6} {str(row.shape):<12} {row.source}")
    return 0


def _models(argv):
    from ..models import MODELS, get_model_class

    argparse.ArgumentParser(prog="scratchgen models").parse_args(argv)
    classes = {name: get_model_class(name) for name in sorted(MODELS)}
    width = max(len(cls.default_dataset) for cls in classes.values())
    for name, cls in classes.items():
        print(f"{name:<10} default dataset {cls.default_dataset:<{width}}  {cls.description}")
    return 0


def _bench(argv):
    from ..benchmark import UsageError as BenchUsageError
    from ..benchmark import main as bench_main

    if argv and argv[0] in ("-h", "--help"):
        print("usage: scratchgen bench kernels [options]  (scratchgen bench kernels --help)")
        return 0
    if not argv or argv[0] != "kernels":
        raise UsageError("bench needs a target; choose one of: kernels")
    try:
        return bench_main(argv[1:])
    except BenchUsageError as exc:
        raise UsageError(str(exc)) from None


COMMANDS = {"train": _train, "sample": _sample, "eval": _eval, "datasets": _datasets,
            "models": _models, "bench": _bench}


@contextlib.contextmanager
def blas_threads():
    """Limit BLAS and Numba to SCRATCHGEN_BLAS_THREADS threads (default 1) while a command runs.

    The built-in models multiply matrices of a few hundred rows, where a second BLAS thread
    buys little and, on a shared machine, costs a lot (measured: a gpt step 4x slower with
    two OpenBLAS threads under load). Numba's parallel kernels are the same story: the digits
    DCGAN ran 100 steps in 66.6 s with two Numba threads against 21.1 s with one on the 2-core
    machine. Set SCRATCHGEN_BLAS_THREADS=0 to keep both libraries' defaults."""
    import numba
    from threadpoolctl import threadpool_limits

    threads = int(os.environ.get("SCRATCHGEN_BLAS_THREADS", "1"))
    previous = numba.get_num_threads()
    if threads > 0:
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        with threadpool_limits(limits=threads if threads > 0 else None, user_api="blas"):
            yield
    finally:
        numba.set_num_threads(previous)


class UsageError(Exception):
    pass


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        print(f"\ncommands: {', '.join(COMMANDS)}  (scratchgen COMMAND --help for more)")
        return 0 if argv else EXIT_USAGE
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"scratchgen: error: unknown command {command!r}; choose one of: "
              f"{', '.join(COMMANDS)}", file=sys.stderr)
        return EXIT_USAGE
    from ..data import DataError
    from ..engine.backend import keep_freed_memory
    from ..errors import ScratchgenError
    from ..training import Interrupted

    keep_freed_memory()  # fewer page faults in every training step
    try:
        with blas_threads():
            return COMMANDS[command](rest)
    except Interrupted as exc:
        print(f"scratchgen: {exc}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:  # Ctrl-C outside the training steps (loading, evaluating)
        print(f"scratchgen {command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except UsageError as exc:
        print(f"scratchgen {command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (ScratchgenError, DataError, OSError, ValueError, KeyError) as exc:
        if os.environ.get("SCRATCHGEN_DEBUG"):
            raise
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"scratchgen {command}: error: {message}", file=sys.stderr)
        return EXIT_ERROR
