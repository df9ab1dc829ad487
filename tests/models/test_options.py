"""The option tables: per-case defaults are order-free and unambiguous, they resolve to the
configurations the models were measured with (frozen in resolved_configs.json, written from
the code before the tables existed), options check their values, and the layers of the
package point one way."""
import ast
import json
import pathlib
import random

import pytest

from scratchgen import data
from scratchgen.models import MODELS, get_model_class
from scratchgen.models.options import Option, positive_ints, resolve_defaults, when
from scratchgen.training import make_config
from scratchgen.training.config import option_table

FROZEN = json.loads((pathlib.Path(__file__).parent / "resolved_configs.json").read_text())
PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "scratchgen"


def combinations():
    """(model, dataset, loss or None) for every dataset a family trains on and every loss."""
    for name in sorted(MODELS):
        cls = get_model_class(name)
        losses = next((o.choices for o in cls.option_table() if o.name == "loss"), (None,))
        for dataset, info in data.DATASETS.items():
            if info.kind in cls.dataset_kinds:
                for loss in losses:
                    yield name, dataset, loss


def key(model, dataset, loss):
    return f"{model} {dataset}" + (f" loss={loss}" if loss else "")


@pytest.mark.parametrize("model, dataset, loss", list(combinations()))
def test_every_resolved_configuration_is_the_one_the_models_were_measured_with(model, dataset,
                                                                               loss):
    settings = {"loss": loss} if loss else {}
    config = make_config(model, dataset=dataset, out="x", **settings)
    config.pop("out")
    assert json.loads(json.dumps(config)) == FROZEN[key(model, dataset, loss)]


@pytest.mark.parametrize("model", sorted(MODELS))
def test_the_order_of_the_cases_does_not_matter(model):
    cls = get_model_class(model)
    table = option_table(cls).values()
    rows = list(cls.cases.items())
    for seed in range(5):
        random.Random(seed).shuffle(rows)
        for name, dataset, loss in combinations():
            if name != model:
                continue
            chosen = {o.name: o.default for o in table}
            chosen.update(dataset=dataset, dataset_kind=data.DATASETS[dataset].kind)
            if loss:
                chosen["loss"] = loss
            assert resolve_defaults(table, dict(rows), chosen) == \
                resolve_defaults(table, cls.cases, chosen)


def test_cases_never_set_what_they_test_and_name_real_options():
    for name in MODELS:
        cls = get_model_class(name)
        names = set(option_table(cls))
        for case, values in cls.cases.items():
            assert not {k for k, _ in case} & set(values), (name, case)
            assert set(values) <= names, (name, case)


def test_an_ambiguous_table_is_an_error_and_a_more_specific_case_resolves_it():
    options = [Option("steps", 10, "steps"), Option("loss", "a", "loss", choices=("a", "b"))]
    cases = {when(dataset="d"): {"steps": 20}, when(loss="b"): {"steps": 30}}
    chosen = {"steps": 10, "loss": "b", "dataset": "d"}
    with pytest.raises(ValueError, match="ambiguous defaults.*'steps'"):
        resolve_defaults(options, cases, chosen)
    cases[when(dataset="d", loss="b")] = {"steps": 40}
    assert resolve_defaults(options, cases, chosen)["steps"] == 40
    assert resolve_defaults(options, cases, {**chosen, "loss": "a"})["steps"] == 20
    with pytest.raises(ValueError, match="may test"):
        when(steps=3)


@pytest.mark.parametrize("option, value, expected", [
    (Option("n", 3, ""), "7", 7), (Option("n", 3, ""), 7.0, 7), (Option("x", 0.5, ""), "2", 2.0),
    (Option("x", 0.5, "", minimum=0.0, maximum=1.0), 1, 1.0),
    (Option("s", "a", "", choices=("a", "b")), "b", "b"), (Option("f", True, ""), False, False),
    (Option("k", "1,5", "", validate=positive_ints), "5, 1", "5, 1"),
    (Option("d", None, "", type=float), None, None)])
def test_options_convert_good_values(option, value, expected):
    got = option.check(value)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize("option, value, words", [
    (Option("latent_dim", 8, ""), 0, "--latent-dim must be an integer >= 1, got 0"),
    (Option("n", 3, ""), 2.5, "an integer"), (Option("n", 3, ""), "x", "an integer"),
    (Option("n", 3, ""), True, "an integer"),
    (Option("x", 0.5, "", minimum=0.0, maximum=1.0), 1.5, "a number in [0.0, 1.0]"),
    (Option("x", 0.5, ""), float("nan"), "a number"),
    (Option("s", "a", "", choices=("a", "b")), "c", "one of a, b, got 'c'"),
    (Option("f", True, ""), "yes", "true or false"),
    (Option("k", "1", "", validate=positive_ints), "0,1", "comma-separated positive integers")])
def test_options_refuse_bad_values_saying_what_they_expect(option, value, words):
    with pytest.raises(ValueError) as info:
        option.check(value)
    assert words in str(info.value)


def imports_of(path):
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = path.parent
            for _ in range(node.level - 1):
                base = base.parent
            module = node.module or ""
            if node.level:
                relative = base.relative_to(PACKAGE.parent).as_posix().replace("/", ".")
                module = f"{relative}.{module}" if module else relative
            names.add(module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("layer, forbidden", [
    ("models", ("scratchgen.training", "scratchgen.cli", "matplotlib")),
    ("training", ("scratchgen.cli",)),
    ("engine", ("scratchgen.models", "scratchgen.training", "scratchgen.cli")),
    ("nn", ("scratchgen.models", "scratchgen.training", "scratchgen.cli")),
    ("optim", ("scratchgen.models", "scratchgen.training", "scratchgen.cli")),
    ("functional", ("scratchgen.models", "scratchgen.training", "scratchgen.cli"))])
def test_the_layers_point_one_way(layer, forbidden):
    for path in (PACKAGE / layer).rglob("*.py"):
        for name in imports_of(path):
            assert not name.startswith(forbidden), f"{path.relative_to(PACKAGE)} imports {name}"


def test_matplotlib_is_imported_by_the_picture_and_chart_modules_only():
    users = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                   if any(n.startswith("matplotlib") for n in imports_of(p)))
    assert users == ["benchmark/report.py", "training/pictures.py"]
