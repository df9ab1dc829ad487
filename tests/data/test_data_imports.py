"""scratchgen.data and the sample metrics are pure NumPy: they never import the engine or torch.
(metrics/images.py is the exception by design: its feature extractor is a classifier that
scratchgen trains itself.) No file of the package imports torch, the test-only oracle."""

import ast
from pathlib import Path

import pytest

import scratchgen.data
import scratchgen.metrics

ENGINE_PARTS = {"engine", "nn", "functional", "optim"}


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, relative ones with their leading dots ("..engine")."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add("." * node.level + (node.module or ""))
    return names


def is_forbidden(module: str) -> bool:
    parts = module.lstrip(".").split(".")
    if parts[0] == "torch":
        return True
    inside_scratchgen = parts[1:] if parts[0] == "scratchgen" else parts if module.startswith("..") else []
    return bool(inside_scratchgen) and inside_scratchgen[0] in ENGINE_PARTS


TRAINS_WITH_THE_ENGINE = {"metrics/images.py"}
SOURCES = sorted(
    path
    for package in (scratchgen.data, scratchgen.metrics)
    for path in Path(package.__file__).parent.glob("*.py")
    if f"{path.parent.name}/{path.name}" not in TRAINS_WITH_THE_ENGINE
)
PACKAGE_SOURCES = sorted(Path(scratchgen.data.__file__).parent.parent.rglob("*.py"))


def test_the_import_check_recognises_engine_imports():
    assert all(map(is_forbidden, ["torch", "torch.nn", "scratchgen.engine", "scratchgen.nn.layers", "..engine"]))
    assert not any(map(is_forbidden, ["numpy", "scratchgen.data.errors", "scratchgen.errors", ".errors", "gzip"]))


def test_found_the_sources():
    assert {p.name for p in SOURCES} >= {"registry.py", "images.py", "mmd.py", "mixtures.py", "text.py"}


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_engine_or_torch_import(path):
    bad = {name for name in imported_modules(path) if is_forbidden(name)}
    assert not bad, f"{path} imports {sorted(bad)}"


@pytest.mark.parametrize("path", PACKAGE_SOURCES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_package_never_imports_torch(path):
    bad = {name for name in imported_modules(path) if name.lstrip(".").split(".")[0] == "torch"}
    assert not bad, f"{path} imports {sorted(bad)}: torch is a test oracle only"
