"""`scratchgen train MODEL [options]`: train a model family on a dataset, or continue a run.

Every option of the family is on the command line, with its default and its allowed values
in `--help`; defaults that depend on the dataset or the loss are listed there too, and
`--dry-run` prints the configuration a command would train with.
"""
import argparse
import json

from .main import Parser, UsageError, positive_int

RUN_FLAGS = ("out", "resume", "quiet", "stop_after", "dry_run")


def add_run_arguments(parser):
    group = parser.add_argument_group("the run")
    group.add_argument("--out", help="run directory (default runs/<model>-<dataset>-<time>)")
    group.add_argument("--resume", action="store_true",
                       help="continue the run in --out from its checkpoint (repeating a "
                            "saved setting is fine; only --steps and --checkpoint-every may "
                            "change)")
    group.add_argument("--stop-after", type=positive_int, metavar="N",
                       help="stop after step N with a checkpoint, as Ctrl-C would "
                            "(continue later with --resume)")
    group.add_argument("--quiet", action="store_true", help="no progress output")
    group.add_argument("--dry-run", "--print-config", dest="dry_run", action="store_true",
                       help="print the full resolved configuration as JSON and exit")


def default_text(option, cases):
    """'(default: 12000; --dataset grid25: 20000; --loss wgan-gp: 4000)' for --help."""
    from ..models.options import case_values, describe_case

    parts = [f"default: {option.default}"]
    parts += [f"{describe_case(case)}: {value}" for case, value in case_values(cases, option.name)]
    return "(" + "; ".join(parts) + ")"


def add_option_arguments(parser, model_cls):
    from ..training.config import option_table

    table = option_table(model_cls)
    group = parser.add_argument_group(f"options of {model_cls.name} (the same in config.json)")
    for option in table.values():
        help_text = f"{option.help} {default_text(option, model_cls.cases)}".replace("%", "%%")
        kwargs = dict(dest=option.name, default=None, help=help_text)
        if option.kind is bool:
            group.add_argument(option.flag, action=argparse.BooleanOptionalAction, **kwargs)
            continue
        metavar = "{" + ",".join(option.choices) + "}" if option.choices else \
            option.name.upper()
        group.add_argument(option.flag, type=option.parse, metavar=metavar, **kwargs)


def build_parser(model_cls):
    parser = Parser(prog=f"scratchgen train {model_cls.name}",
                    description=f"{model_cls.description}.",
                    epilog="Defaults: each option lists its plain default, then the defaults "
                           "that depend on the dataset or the loss. Where two of those apply, "
                           "the one with more conditions wins; a value you give always wins. "
                           "config.json records every value, and --dry-run prints them for any "
                           "command line without training.")
    parser.add_argument("model", help=argparse.SUPPRESS)
    add_run_arguments(parser)
    add_option_arguments(parser, model_cls)
    return parser


def find_model(argv):
    """The model named on the command line: the first word that is not an option or the value
    of one. Options of any family are recognised, so `train --steps 5` has no model."""
    from ..models import MODELS, get_model_class
    from ..training.config import option_table

    takes_value = {"--out", "--stop-after"}
    for name in MODELS:
        for option in option_table(get_model_class(name)).values():
            if option.kind is not bool:
                takes_value.add(option.flag)
    skip = False
    for word in argv:
        if skip:
            skip = False
        elif word.startswith("-"):
            skip = word in takes_value  # "--steps 5": 5 is the option's value
        else:
            return word
    return None


def train_command(argv):
    from ..models import MODELS, get_model_class
    from ..training import make_config, resume_config, train

    model = find_model(argv)
    if model is None:
        if "-h" in argv or "--help" in argv:
            print("usage: scratchgen train MODEL [options]   (scratchgen train MODEL --help)\n"
                  f"models: {', '.join(sorted(MODELS))}")
            return 0
        raise UsageError(f"train needs a model; choose one of: {', '.join(sorted(MODELS))}")
    model_cls = get_model_class(model)
    parser = build_parser(model_cls)
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        valid = sorted(a for action in parser._actions for a in action.option_strings)
        raise UsageError(f"unknown option(s) {' '.join(unknown)} for `train {model}`; "
                         f"valid options: {', '.join(valid)}")
    settings = {k: v for k, v in vars(args).items()
                if k not in ("model", *RUN_FLAGS) and v is not None}
    if args.resume:
        if not args.out:
            raise UsageError("--resume needs --out RUN_DIR (the run to continue)")
        saved_model = _saved_model(args.out)
        if saved_model is not None and saved_model != model:
            raise UsageError(f"{args.out} holds a {saved_model} run, not {model}")
        try:
            config = resume_config(args.out, settings)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    else:
        config = make_config(model, out=args.out, **settings)
    if args.dry_run:
        print(json.dumps(config, indent=2, sort_keys=True))
        return 0
    run, metrics = train(config, resume=args.resume, quiet=args.quiet, stop_after=args.stop_after)
    if metrics is None and not args.quiet:
        print(f"stopped at step {args.stop_after}; wrote the checkpoint, config.json and log.csv "
              f"in {run.path}; continue with: scratchgen train {config['model']} --resume "
              f"--out {run.path}")
    if metrics is not None and not args.quiet:
        print(f"wrote {run.path}: config.json, checkpoint.npz, log.csv, metrics.json and the "
              "pictures")
    return 0


def _saved_model(out):
    """The model of the run in `out`, or None when it has no readable config.json."""
    try:
        with open(f"{out}/config.json") as f:
            return json.load(f).get("model")
    except (OSError, ValueError, AttributeError):
        return None
