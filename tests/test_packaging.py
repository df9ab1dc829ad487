"""The package list in pyproject.toml covers every package folder, kernels/ included."""
import pathlib
import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _packages_on_disk():
    found = set()
    for top, name in (("scratchgen", "scratchgen"), ("kernels", "scratchgen.kernels")):
        for init in (ROOT / top).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / top).parts
            found.add(".".join((name, *relative)))
    return found


def test_pyproject_lists_every_package_and_maps_kernels():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert config["package-dir"]["scratchgen.kernels"] == "kernels"
    assert set(config["packages"]) == _packages_on_disk()


def test_kernels_import_from_the_top_level_folder():
    import scratchgen.kernels

    assert pathlib.Path(scratchgen.kernels.__file__).parent == ROOT / "kernels"
