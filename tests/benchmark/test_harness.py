"""The kernel benchmark harness (scratchgen/benchmark) at --quick sizes: the files it writes,
validation before timing (a wrong kernel is INVALID and never timed), the work limit, torch
missing, families whose ops are not registered, and the `scratchgen bench kernels` command."""
import json
import subprocess
import sys

import numpy as np
import pytest

from scratchgen import benchmark, kernels
from scratchgen.benchmark import harness, problems
from scratchgen.engine import dispatch

QUICK = ["--quick", "--quiet", "--repeats", "1"]


def run_main(tmp_path, *argv):
    out = tmp_path / "out"
    assert benchmark.main([*QUICK, "--out", str(out), *map(str, argv)]) == 0
    return out, json.loads((out / "results.json").read_text())


def expected_names(family):
    names = {name for op in family.ops for name in kernels.available(op, "cpu")}
    return names | {peer.name for peer in family.peers(problems.import_torch())}


@pytest.fixture(scope="module")
def full_quick_run(tmp_path_factory):
    """One quick run over every family, shared by the tests that read its files."""
    out = tmp_path_factory.mktemp("bench") / "out"
    assert benchmark.main([*QUICK, "--out", str(out)]) == 0
    return out, json.loads((out / "results.json").read_text())


@pytest.fixture
def register_temporarily():
    added = []

    def register(op, name, fn):
        dispatch.register(op, name, devices=("cpu",))(fn)
        added.append((op, name))
    yield register
    for op, name in added:
        dispatch._kernels[op].pop(name)


def test_quick_run_writes_json_markdown_and_plots_with_every_implementation(full_quick_run):
    out, results = full_quick_run
    assert results["format"] == harness.FORMAT and results["peak"]["gflops"] > 0
    assert {"cpu", "numpy", "numba", "torch"} <= results["machine"].keys()
    assert results["threads"]["requested"] >= 1 and results["threads"]["pools"]
    markdown = (out / "results.md").read_text()
    for section in results["families"]:
        family = problems.FAMILIES[section["name"]](quick=True)
        if family.missing_ops():
            assert "not registered" in section["notes"][0] and not section["rows"]
            continue
        assert f"## {section['name']}" in markdown
        assert (out / f"{section['name']}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        sizes = {row["size"] for row in section["rows"]}
        for size in sizes:
            rows = [row for row in section["rows"] if row["size"] == size]
            assert {row["implementation"] for row in rows} == expected_names(family)
        for row in section["rows"]:
            assert row["status"] in ("ok", "skipped"), row
            if row["status"] == "ok":
                assert row["max_rel_error"] <= harness.TOLERANCE["float32"]
                assert row["gflops"] > 0 and row["median_ms"] > 0 and row["first_call_ms"] > 0
                assert row["peak_memory_mib"] >= 0 and row["repeats"] >= 1
                assert set(row["per_op_ms"]) and row["fraction_of_peak"] > 0


def test_every_row_of_a_family_gets_the_ratio_against_its_peers(full_quick_run):
    _, results = full_quick_run
    for section in results["families"]:
        by_size = {}
        for row in section["rows"]:
            by_size.setdefault(row["size"], {})[row["implementation"]] = row
        for rows in by_size.values():
            for name, row in rows.items():
                for other in section["compare_with"]:
                    if other != name and other in rows and row["status"] == "ok":
                        expected = rows[other]["median_ms"] / row["median_ms"]
                        assert row["speedup"][other] == pytest.approx(expected)


def test_a_wrong_kernel_is_invalid_and_never_timed(tmp_path, register_temporarily):
    register_temporarily("matmul", "broken_for_test", lambda a, b: a @ b + 1)
    out, results = run_main(tmp_path, "--ops", "matmul")
    (section,) = results["families"]
    broken = [row for row in section["rows"] if row["implementation"] == "broken_for_test"]
    assert broken and all(row["status"] == "invalid" for row in broken)
    for row in broken:
        assert row["max_rel_error"] > harness.TOLERANCE["float32"]
        assert "median_ms" not in row and "gflops" not in row and "speedup" not in row
    assert "INVALID" in (out / "results.md").read_text()


def test_a_kernel_with_the_wrong_shape_or_nan_is_invalid(tmp_path, register_temporarily):
    register_temporarily("matmul", "nan_for_test", lambda a, b: np.full_like(a @ b, np.nan))
    register_temporarily("matmul", "shape_for_test", lambda a, b: (a @ b)[:-1])
    register_temporarily("matmul", "raises_for_test", lambda a, b: 1 / 0)
    _, results = run_main(tmp_path, "--ops", "matmul")
    rows = {row["implementation"]: row for row in results["families"][0]["rows"]}
    assert rows["nan_for_test"]["status"] == "invalid"
    assert rows["shape_for_test"]["status"] == "invalid" and "!=" in rows["shape_for_test"]["note"]
    assert rows["raises_for_test"]["status"] == "error"
    assert "ZeroDivisionError" in rows["raises_for_test"]["note"]


def test_a_slow_version_is_skipped_at_the_next_size_by_the_work_limit(tmp_path,
                                                                      register_temporarily):
    import time

    def slow(a, b):
        time.sleep(0.05)
        return a @ b
    register_temporarily("matmul", "naive_for_test", slow)
    _, results = run_main(tmp_path, "--ops", "matmul", "--sizes", "16,64",
                          "--max-call-s", "0.5")
    rows = [row for row in results["families"][0]["rows"]
            if row["implementation"] == "naive_for_test"]
    assert [row["status"] for row in rows] == ["ok", "skipped"]
    assert "--max-call-s" in rows[1]["note"] and "N=16" in rows[1]["note"]


def test_when_the_reference_is_skipped_the_others_are_checked_on_a_slice(
        tmp_path, monkeypatch, register_temporarily):
    register_temporarily("matmul", "broken_for_test", lambda a, b: a @ b + 1)
    work_limit = harness._limit_reason

    def skip_the_reference_at_80(last, problem, settings):
        if problem.label == "N=80" and last["implementation"] == dispatch.REFERENCE:
            return "skipped for the test"
        return work_limit(last, problem, settings)
    monkeypatch.setattr(harness, "_limit_reason", skip_the_reference_at_80)
    _, results = run_main(tmp_path, "--ops", "matmul", "--sizes", "16,80")
    rows = {(row["size"], row["implementation"]): row for row in results["families"][0]["rows"]}
    assert rows["N=80", "reference"]["status"] == "skipped"
    assert "slice" in rows["N=80", "reference"]["note"]
    assert rows["N=80", "numpy"]["status"] == "ok"
    assert rows["N=80", "broken_for_test"]["status"] == "invalid"


def test_without_torch_the_peer_is_left_out_with_a_note(tmp_path, monkeypatch):
    monkeypatch.setattr(harness, "import_torch", lambda: None)
    out, results = run_main(tmp_path, "--ops", "conv2d")
    (section,) = results["families"]
    assert "torch" not in {row["implementation"] for row in section["rows"]}
    assert any("torch" in note for note in section["notes"] + results["notes"])
    assert results["machine"]["torch"] is None
    assert "not installed" in (out / "results.md").read_text()


def test_a_family_whose_ops_are_not_registered_is_skipped_with_a_note(tmp_path, monkeypatch):
    monkeypatch.setattr(problems.Attention, "ops", ("attention_forward", "no_such_op_for_test"))
    out, results = run_main(tmp_path, "--ops", "attention")
    (section,) = results["families"]
    assert section["rows"] == [] and "no_such_op_for_test" in section["notes"][0]
    assert "not registered" in (out / "results.md").read_text()


def test_relative_error_is_against_the_largest_reference_value():
    truth = {"out": np.array([1.0, -4.0]), "dx": np.array([2.0])}
    errors = harness.relative_errors({"out": np.array([1.0, -3.0]), "dx": np.array([2.0]),
                                      "extra": np.zeros(3)}, truth)
    assert errors == {"out": pytest.approx(0.25), "dx": 0.0}
    assert harness.relative_errors({"out": np.array([np.nan, 0.0])}, truth)["out"] == np.inf


@pytest.mark.parametrize("argv, message", [
    (["--bogus"], "unrecognized arguments"),
    (["--ops", "fft"], "unknown op family 'fft'"),
    (["--dtype", "float16"], "--dtype must be float32 or float64"),
    (["--sizes", "a,b"], "sizes are positive integers"),
    (["--repeats", "0"], "--repeats must be positive"),
    (["--threads", "x"], "invalid int value"),
])
def test_bad_options_give_a_one_line_error(capsys, argv, message):
    from scratchgen.cli import EXIT_USAGE, main
    assert main(["bench", "kernels", *argv]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and err.startswith("scratchgen bench: error:")


def test_bench_needs_a_target(capsys):
    from scratchgen.cli import EXIT_USAGE, main
    assert main(["bench"]) == EXIT_USAGE
    assert "choose one of: kernels" in capsys.readouterr().err


def test_cli_runs_end_to_end_in_a_subprocess(tmp_path):
    out = tmp_path / "cli"
    done = subprocess.run([sys.executable, "-m", "scratchgen", "bench", "kernels", "--quick",
                           "--ops", "matmul", "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "## matmul" in done.stdout and "| N=16 | reference |" in done.stdout
    assert json.loads((out / "results.json").read_text())["families"][0]["rows"]
    assert {p.name for p in out.iterdir()} == {"results.json", "results.md", "matmul.png"}


def test_help_documents_the_options_and_bad_options_fail_in_a_subprocess(tmp_path):
    help_text = subprocess.run([sys.executable, "-m", "scratchgen", "bench", "kernels",
                                "--help"], capture_output=True, text=True, timeout=120)
    assert help_text.returncode == 0
    for option in ("--quick", "--ops", "--sizes", "--threads", "--dtype", "--repeats", "--out"):
        assert option in help_text.stdout
    bad = subprocess.run([sys.executable, "-m", "scratchgen", "bench", "kernels", "--dtype",
                          "int8"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0
    assert "float32 or float64" in bad.stderr and "Traceback" not in bad.stderr
