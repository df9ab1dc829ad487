"""The kernel registry itself: listing, lookup, selection, defaults, device checks."""
import numpy as np
import pytest

import scratchgen as sg
from scratchgen import kernels
from scratchgen.engine import dispatch
from scratchgen.errors import DeviceError


@pytest.fixture
def scratch_op():
    """A throw-away op with a reference and two extra kernels, removed afterwards."""
    calls = []

    def make(name):
        def fn(a, b):
            calls.append(name)
            return a + b
        return fn

    dispatch.register("test_add", "reference")(make("reference"))
    dispatch.register("test_add", "fast", devices=("cpu",))(make("fast"))
    dispatch.register("test_add", "gpu_only", devices=("cuda",))(make("gpu_only"))
    yield calls
    dispatch._kernels.pop("test_add")
    dispatch._selected.pop("test_add", None)
    dispatch._defaults.pop(("test_add", "cpu"), None)


def test_every_op_has_its_reference():
    for op in kernels.OPS:
        assert kernels.REFERENCE in kernels.available(op), op
    assert set(kernels.OPS) <= set(kernels.available())


def test_available_by_device(scratch_op):
    assert kernels.available("test_add") == ["fast", "gpu_only", "reference"]
    assert kernels.available("test_add", device="cpu") == ["fast", "reference"]
    assert kernels.available("test_add", device="cuda:0") == ["gpu_only", "reference"]
    assert kernels.devices_of("test_add", "fast") == ("cpu",)


def test_unknown_op_and_kernel_name_what_exists():
    with pytest.raises(KeyError, match="registered ops"):
        kernels.get("no_such_op", "reference")
    with pytest.raises(KeyError, match=r"available: \[.*'reference'"):
        kernels.get("matmul", "no_such_kernel")
    with pytest.raises(KeyError, match="no_such_kernel"):
        sg.set_kernels(matmul="no_such_kernel")


def test_get_returns_the_kernel_on_raw_arrays():
    a, b = np.ones((2, 3)), np.ones((3, 4))
    np.testing.assert_array_equal(kernels.get("matmul", "reference")(a, b), a @ b)


def test_call_runs_the_default_then_the_choice(scratch_op):
    x = np.ones(3)
    dispatch.call("test_add", x, x)
    with sg.use_kernels(test_add="fast"):
        assert kernels.select("test_add", x, x) == "fast"
        dispatch.call("test_add", x, x)
    dispatch.call("test_add", x, x)
    assert scratch_op == ["reference", "fast", "reference"]


def test_use_kernels_restores_previous_choices_even_after_an_error(scratch_op):
    sg.set_kernels(test_add="fast")
    with pytest.raises(RuntimeError):
        with sg.use_kernels(test_add="reference"):
            assert kernels.selected()["test_add"] == "reference"
            raise RuntimeError("inside")
    assert kernels.selected()["test_add"] == "fast"
    sg.set_kernels(test_add="default")
    assert "test_add" not in kernels.selected()


def test_a_failed_set_kernels_changes_nothing(scratch_op):
    before = kernels.selected()
    with pytest.raises(KeyError):
        sg.set_kernels(test_add="fast", matmul="no_such_kernel")
    assert kernels.selected() == before


def test_default_rule_sees_the_arguments_and_the_user_choice_wins(scratch_op):
    dispatch.set_default("test_add", "cpu", lambda a, b: "fast" if a.size > 10 else "reference")
    small, large = np.ones(3), np.ones(100)
    assert kernels.select("test_add", small, small) == "reference"
    assert kernels.select("test_add", large, large) == "fast"
    with sg.use_kernels(test_add="reference"):
        assert kernels.select("test_add", large, large) == "reference"
    with pytest.raises(KeyError):
        dispatch.set_default("test_add", "cpu", "no_such_kernel")


def test_a_kernel_that_cannot_run_on_the_data_raises_instead_of_falling_back(scratch_op):
    x = np.ones(3)
    with sg.use_kernels(test_add="gpu_only"):
        with pytest.raises(DeviceError, match=r"'gpu_only' of op 'test_add' runs on cuda, but "
                                              r"the data lives on cpu; choose one of "
                                              r"\['fast', 'reference'\]"):
            dispatch.call("test_add", x, x)
    with pytest.raises(DeviceError, match="runs on cuda"):
        kernels.get("test_add", "gpu_only")(x, x)
    assert scratch_op == []  # nothing ran


def test_the_engine_runs_the_selected_kernel():
    seen = []

    def spy(a, b):
        seen.append((a.shape, b.shape))
        return np.matmul(a, b)

    dispatch.register("matmul", "spy_for_test", devices=("cpu",))(spy)
    try:
        a = sg.tensor(np.ones((2, 3)), requires_grad=True)
        b = sg.tensor(np.ones((3, 4)), requires_grad=True)
        with sg.use_kernels(matmul="spy_for_test"):
            (a @ b).sum().backward()
        # forward, then the two gradient products of backward
        assert seen == [((2, 3), (3, 4)), ((2, 4), (4, 3)), ((3, 2), (2, 4))]
    finally:
        dispatch._kernels["matmul"].pop("spy_for_test")
