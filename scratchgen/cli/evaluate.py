"""`scratchgen eval RUN`: measure a run's model again (metrics.json and the pictures).

An unfinished run (stopped with --stop-after or Ctrl-C) is measured as it is, and said to be:
metrics.json records "step" and "finished"."""
import sys

from .main import Parser


def eval_command(argv):
    from ..metrics.descriptions import describe
    from ..training import evaluate_run, load_run

    parser = Parser(prog="scratchgen eval", description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    args = parser.parse_args(argv)
    run, config, dataset, model = load_run(args.run_dir)
    step, total = run.saved_step, config["steps"]
    if step < total:
        print(f"note: {run.path} is unfinished (its checkpoint is at step {step} of {total}); "
              f"the metrics describe the model at step {step} and metrics.json says "
              f'"finished": false. Finish it with: scratchgen train {config["model"]} '
              f"--resume --out {run.path}", file=sys.stderr)
    metrics = evaluate_run(run, config, model, step, quiet=args.quiet)
    width = max(len(k) for k in metrics)
    for k, v in metrics.items():
        value = f"{v:.6g}" if isinstance(v, float) else str(v)
        print(f"{k:<{width}}  {value:<12}  {describe(k)}")
    print(f"wrote {run.file('metrics.json')} and the pictures in {run.path}")
    return 0
