"""The configuration of a run: every setting with its value, resolved from the model family's
option table, its per-case defaults (models/options.py) and what the user gave.

    make_config("gan", dataset="grid25")   # steps 20000, lr 0.002, pack 8, ...
    resume_config("runs/gan-ring8-...", steps=20000)

config.json in the run directory holds the result; `scratchgen train MODEL --dry-run` prints
it without training.
"""
from .. import data as datasets
from ..engine.backend import check_device, cupy_module
from ..errors import DeviceError
from ..models import get_model_class
from ..models.options import Option, resolve_defaults
from .rundir import RunDir

# Settings of the training loop itself, the same for every family (a family may override a
# default, as the gpt does for checkpoint_every).
LOOP_OPTIONS = (
    Option("seed", 0, "seed of initialisation, minibatches and evaluation", minimum=0),
    Option("device", "cpu", "where to train (cuda is refused until training runs on the GPU)",
           choices=("cpu", "cuda")),
    Option("checkpoint_every", 500, "steps between checkpoints"),
    Option("data_dir", None, "directory of the mnist IDX files", type=str),
    Option("text_file", None, "a UTF-8 text file to train the gpt on", type=str),
)


def option_table(model_cls):
    """{name: Option} of every setting of a family: the dataset, its own table, then the
    loop's (its own win where both have a name)."""
    names = sorted(name for name, info in datasets.DATASETS.items()
                   if info.kind in model_cls.dataset_kinds)
    table = {"dataset": Option("dataset", model_cls.default_dataset, "training data (see "
                               "`scratchgen datasets`)", choices=tuple(names))}
    table.update((option.name, option) for option in model_cls.option_table())
    for option in LOOP_OPTIONS:
        table.setdefault(option.name, option)
    return table


def model_defaults(model_cls):
    """Every setting with its plain default (before per-case defaults)."""
    return {name: option.default for name, option in option_table(model_cls).items()}


def resolved_defaults(model_cls, given):
    """The defaults that apply when the user gave `given` (per-case defaults included)."""
    table = option_table(model_cls)
    chosen = {**{name: option.default for name, option in table.items()}, **given}
    info = datasets.DATASETS.get(chosen["dataset"])
    chosen["dataset_kind"] = info.kind if info is not None else None
    return resolve_defaults(table.values(), model_cls.cases, chosen)


def check_settings(model, model_cls, settings):
    """The settings converted and checked against the option table: an unknown name or a bad
    value is a ValueError that says what was expected."""
    table = option_table(model_cls)
    unknown = sorted(set(settings) - set(table) - {"out"})
    if unknown:
        raise ValueError(f"unknown settings for model {model!r}: {unknown}; valid: "
                         f"{sorted(table)}")
    return {name: (value if name == "out" else table[name].check(value))
            for name, value in settings.items() if value is not None}


def make_config(model, **settings):
    """The full configuration of a new run: defaults (per-case ones included) overridden by
    the settings given. A setting given explicitly always wins over any default."""
    model_cls = get_model_class(model)
    given = check_settings(model, model_cls, settings)
    require_device(given.get("device", "cpu"))
    config = {**resolved_defaults(model_cls, given), **given, "model": model}
    if not config.get("out"):
        config["out"] = str(RunDir.fresh_name(model, config["dataset"]))
    return config


def require_device(device):
    """Refuse at once a device the training loop cannot use (never train somewhere else)."""
    if check_device(device) == "cuda":
        cupy_module()  # a clear DeviceError when CuPy or the GPU is missing
        raise DeviceError("--device cuda: the training loop does not run on the GPU yet (the "
                          "models and data stay in NumPy); train with --device cpu")


def read_config(run):
    """config.json of a run. A setting added to the model after the run was made is filled in
    with its plain default (new options default to the behaviour that came before them)."""
    config = run.read_json("config.json")
    if not isinstance(config, dict) or "model" not in config:
        raise ValueError(f"{run.file('config.json')} is not a scratchgen run configuration")
    return {**model_defaults(get_model_class(config["model"])), **config}


def resume_config(out, settings=None):
    """The saved configuration of the run in `out`. `settings` the user repeated must equal
    the saved ones, except steps and checkpoint_every, which may change (more steps train
    longer); a changed value is a ValueError naming the option, the saved and the new value."""
    run = RunDir(out)
    if not run.file("config.json").exists():
        raise FileNotFoundError(f"--resume: {out} is not a run directory (no config.json)")
    config = read_config(run)
    config["out"] = str(out)  # the run may have been moved since
    given = check_settings(config["model"], get_model_class(config["model"]),
                           {k: v for k, v in (settings or {}).items() if k != "out"})
    require_device(given.get("device", config["device"]))
    changed = [(name, config.get(name), value) for name, value in given.items()
               if name not in ("steps", "checkpoint_every") and config.get(name) != value]
    if changed:
        raise ValueError("--resume continues the saved configuration; only --steps and "
                         "--checkpoint-every may change: " + "; ".join(
                             f"--{name.replace('_', '-')} was {saved!r}, now {new!r}"
                             for name, saved, new in changed))
    config.update(given)
    return config
