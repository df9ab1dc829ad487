"""scratchgen.data and the sample metrics are pure NumPy: they never import the engine or torch.
(metrics/images.py is the exception by design: its feature extractor is a classifier that
scratchgen trains itself.) No file of the package or of kernels/ imports torch, the test-only
oracle, except the kernel benchmark, which times torch as an optional peer: there the import
must sit in a try block that catches ImportError."""

import ast
from pathlib import Path

import pytest

import scratchgen.data
import scratchgen.kernels
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
PACKAGE_SOURCES = sorted([*Path(scratchgen.data.__file__).parent.parent.rglob("*.py"),
                          *Path(scratchgen.kernels.__file__).parent.rglob("*.py")])
OPTIONAL_TORCH_PEER = {"benchmark/problems.py"}


def torch_imports_outside_try_import_error(path: Path) -> set[str]:
    """The torch imports of a file that are not guarded by `try: ... except ImportError`."""
    tree = ast.parse(path.read_text(), filename=str(path))
    guarded = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
                isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError")
                for h in node.handlers):
            guarded.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    return {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
            and id(node) not in guarded for alias in node.names
            if alias.name.split(".")[0] == "torch"}


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
    if f"{path.parent.name}/{path.name}" in OPTIONAL_TORCH_PEER:
        bad = torch_imports_outside_try_import_error(path)
    else:
        bad = {name for name in imported_modules(path) if name.lstrip(".").split(".")[0] == "torch"}
    assert not bad, f"{path} imports {sorted(bad)}: torch is a test oracle only"


def test_the_optional_peer_check_sees_an_unguarded_import(tmp_path):
    source = tmp_path / "peer.py"
    source.write_text("try:\n    import torch\nexcept ImportError:\n    torch = None\n"
                      "import torch.nn\n")
    assert torch_imports_outside_try_import_error(source) == {"torch.nn"}
