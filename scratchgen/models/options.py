"""The settings of a model family, declared as data: one table of options and one table of
the defaults that depend on the data or on another option.

    options = (
        Option("steps", 12000, "total optimisation steps"),
        Option("loss", "nonsaturating", "adversarial loss", choices=("nonsaturating", "wgan-gp")),
        ...
    )
    cases = {
        when(dataset="grid25"):                  {"steps": 20000, "pack": 8},
        when(loss="wgan-gp"):                    {"steps": 4000, "n_critic": 5},
        when(dataset="grid25", loss="wgan-gp"):  {"steps": 4000},
    }

Resolving a configuration (`resolve_defaults`): every option starts at its default; each case
whose conditions all hold sets its values; where two matching cases set the same option, the
one with more conditions wins, and two with as many conditions must agree (otherwise the
table is ambiguous and `resolve_defaults` says so: the order of the rows never matters).
Conditions test the options as given or defaulted, plus "dataset_kind" ("2d", "image" or
"text"). Values the user gives always win. `scratchgen train MODEL --help` prints both tables.
"""
import math
import numbers
from dataclasses import dataclass

CONDITION_KEYS = ("dataset", "dataset_kind", "loss")


@dataclass(frozen=True)
class Option:
    """One setting: its default, a line of help, and what values it accepts.

    type: int, float, str or bool (default: the default's type). Numbers must lie in
    [minimum, maximum]; ints default to minimum 1 (sizes and counts), give minimum=0 or None
    where that is wrong. choices: the allowed strings."""
    name: str
    default: object
    help: str
    choices: tuple = None
    type: type = None
    minimum: float = "auto"
    maximum: float = None
    validate: object = None  # a function that raises ValueError for a bad (string) value

    @property
    def flag(self):
        return "--" + self.name.replace("_", "-")

    @property
    def kind(self):
        if self.type is not None:
            return self.type
        return str if self.default is None else type(self.default)

    @property
    def low(self):
        if self.minimum == "auto":
            return 1 if self.kind is int else None
        return self.minimum

    def describe_range(self):
        if self.validate is not None:
            return self.validate.__doc__.strip().splitlines()[0].rstrip(".")
        if self.choices:
            return "one of " + ", ".join(map(str, self.choices))
        name = {int: "an integer", float: "a number", bool: "true or false"}.get(self.kind,
                                                                                "a string")
        if self.low is not None and self.maximum is not None:
            return f"{name} in [{self.low}, {self.maximum}]"
        if self.low is not None:
            return f"{name} >= {self.low}"
        return name

    def check(self, value):
        """The value converted to the option's type, or a ValueError that names the option,
        what it got and what it accepts."""
        try:
            return self._convert(value)
        except ValueError:
            raise ValueError(f"{self.flag} must be {self.describe_range()}, got {value!r}") \
                from None

    def parse(self, text):
        """argparse's `type=`: the value of a command-line string, checked."""
        import argparse
        try:
            return self._convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {self.describe_range()}, got {text!r}") \
                from None

    def _convert(self, value):
        kind = self.kind
        if value is None and self.default is None:
            return None
        if kind is bool:
            if not isinstance(value, (bool, numbers.Integral)) or value not in (0, 1):
                raise ValueError
            return bool(value)
        if kind in (int, float):
            if isinstance(value, str):
                value = float(value) if kind is float else int(value)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise ValueError
            if kind is int and value != int(value):
                raise ValueError
            value = int(value) if kind is int else float(value)
            if not math.isfinite(value):
                raise ValueError
            if (self.low is not None and value < self.low) or (
                    self.maximum is not None and value > self.maximum):
                raise ValueError
            return value
        if not isinstance(value, str) or (self.choices and value not in self.choices):
            raise ValueError
        if self.validate is not None:
            self.validate(value)
        return value


def positive_ints(text):
    """comma-separated positive integers, such as 1,5,50.

    Returns them sorted and without repeats: '500,1, 5,50,5' -> [1, 5, 50, 500]."""
    try:
        values = sorted({int(part) for part in str(text).split(",") if part.strip()})
    except ValueError:
        values = []
    if not values or values[0] < 1:
        raise ValueError(f"expected comma-separated positive integers, got {text!r}")
    return values


def when(**conditions):
    """A case of the defaults table: every (option, value) pair must hold."""
    unknown = set(conditions) - set(CONDITION_KEYS)
    if unknown:
        raise ValueError(f"a case may test {', '.join(CONDITION_KEYS)}, not {sorted(unknown)}")
    return tuple(sorted(conditions.items()))


def describe_case(case):
    """'--dataset grid25 with --loss wgan-gp', 'image datasets', for --help."""
    parts = []
    for key, value in case:
        parts.append(f"{value} datasets" if key == "dataset_kind" else
                     f"--{key.replace('_', '-')} {value}")
    return " with ".join(parts)


def resolve_defaults(options, cases, chosen):
    """The defaults of every option for the settings in `chosen` (options given or defaulted,
    plus dataset_kind), by the rule in this module's docstring."""
    config = {option.name: option.default for option in options}
    setters = {}  # option -> [(case, value)] of the matching cases that set it
    for case, values in cases.items():
        if all(chosen.get(key) == value for key, value in case):
            for name, value in values.items():
                if name not in config:
                    raise ValueError(f"the case {describe_case(case)} sets {name!r}, which is "
                                     "not an option of this model")
                setters.setdefault(name, []).append((case, value))
    for name, rows in setters.items():
        most = max(len(case) for case, _ in rows)
        winners = [(case, value) for case, value in rows if len(case) == most]
        if len({repr(value) for _, value in winners}) > 1:
            which = " and ".join(describe_case(case) for case, _ in winners)
            wanted = " and ".join(repr(value) for _, value in winners)
            raise ValueError(f"ambiguous defaults: {which} set {name!r} to {wanted}; add a case "
                             "with all their conditions")
        config[name] = winners[0][1]
    return config


def case_values(cases, name):
    """[(case, value)] of the cases that set option `name`, fewest conditions first."""
    rows = [(case, values[name]) for case, values in cases.items() if name in values]
    return sorted(rows, key=lambda row: len(row[0]))
