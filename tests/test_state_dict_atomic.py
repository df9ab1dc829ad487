"""Module.load_state_dict and Optimizer.load_state_dict are all or nothing: every key, shape
and dtype is checked first, and a failed call leaves the model and the optimizer exactly as
they were (same values, same dtypes, same array objects). Corruptions are drawn with
hypothesis: one bad entry among many good ones."""
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import scratchgen as sg
import scratchgen.optim as optim
from scratchgen import nn


def make_model(seed):
    sg.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))


def snapshot(model):
    """(name, array object, copy of its values) of every parameter and buffer."""
    return [(name, tensor.data, tensor.data.copy()) for name, tensor in model._state_tensors()]


def assert_unchanged(model, before):
    after = list(model._state_tensors())
    assert [name for name, _ in after] == [name for name, _, _ in before]
    for (name, tensor), (_, array, values) in zip(after, before):
        assert tensor.data is array, f"{name} was replaced"
        assert tensor.data.dtype == values.dtype, name
        np.testing.assert_array_equal(tensor.data, values, err_msg=name)


# kind of corruption -> (apply it to state[key], words the error must contain)
CORRUPTIONS = {
    "shape": (lambda v: np.zeros(v.shape + (2,), v.dtype), "shape mismatches"),
    "transposed": (lambda v: np.zeros(v.shape[::-1] + (1,) * (v.ndim < 2), v.dtype),
                   "shape mismatches"),
    "string": (lambda v: "weights", "got a str, expected an array"),
    "none": (lambda v: None, "got a NoneType, expected an array"),
    "dict": (lambda v: {"value": v}, "got a dict, expected an array"),
    "complex": (lambda v: np.zeros(v.shape, complex), "dtype complex128"),
    "object": (lambda v: np.array([object()] * max(v.size, 1), dtype=object),
               "dtype object, expected real numbers"),
    "ragged": (lambda v: [[1.0, 2.0], [3.0]], "cannot be read as an array"),
    "text array": (lambda v: np.full(v.shape, "x"), "expected real numbers"),
}


@settings(max_examples=40)
@given(seed=st.integers(0, 100), data=st.data(),
       kind=st.sampled_from(sorted(CORRUPTIONS) + ["missing", "unexpected", "float into int"]))
def test_one_bad_entry_among_many_changes_nothing(seed, data, kind):
    model = make_model(seed)
    good = make_model(seed + 1).state_dict()  # different values: a load would show
    keys = list(good)
    key = data.draw(st.sampled_from(keys), label="key")
    state = dict(good)
    if kind == "missing":
        del state[key]
        words = f"missing keys: {key}"
    elif kind == "unexpected":
        state["extra.weight"] = np.ones(3)
        words = "unexpected keys: extra.weight"
    elif kind == "float into int":
        key = "1.num_batches_tracked"
        state[key] = np.array(2.5)
        words = "float64, which does not convert to the model's int64"
    else:
        corrupt, words = CORRUPTIONS[kind]
        state[key] = corrupt(good[key])
    before = snapshot(model)
    with pytest.raises(ValueError, match=words) as info:
        model.load_state_dict(state)
    assert "nothing was changed" in str(info.value)
    if kind not in ("missing", "unexpected"):
        assert key in str(info.value)
    assert_unchanged(model, before)


@settings(max_examples=15)
@given(seed=st.integers(0, 100), data=st.data())
def test_every_problem_is_reported_at_once(seed, data):
    model = make_model(seed)
    state = make_model(seed + 1).state_dict()
    first, second = data.draw(st.lists(st.sampled_from(list(state)), min_size=2, max_size=2,
                                       unique=True))
    state[first] = "bad"
    state[second] = np.zeros((7, 7), state[second].dtype)
    del state[next(k for k in state if k not in (first, second))]
    before = snapshot(model)
    with pytest.raises(ValueError) as info:
        model.load_state_dict(state)
    message = str(info.value)
    assert "missing keys" in message and "shape mismatches" in message and first in message
    assert_unchanged(model, before)


def test_a_good_load_converts_dtypes_in_place():
    model = make_model(0)
    source = make_model(1)
    arrays = {name: t.data for name, t in model._state_tensors()}
    state = {name: (np.asarray(v, np.float64) if v.dtype.kind == "f" else v)
             for name, v in source.state_dict().items()}
    state["0.bias"] = sg.Tensor(state["0.bias"])  # Tensors are accepted too
    state["2.bias"] = state["2.bias"].tolist()    # and nested lists of numbers
    assert model.load_state_dict(state) == ([], [])
    for name, tensor in model._state_tensors():
        assert tensor.data is arrays[name]  # in place: optimizers keep their Parameters
        np.testing.assert_array_equal(tensor.data, source.state_dict()[name])
        assert tensor.data.dtype == source.state_dict()[name].dtype


def test_not_strict_returns_the_keys_and_still_checks_shapes():
    model = make_model(0)
    state = make_model(1).state_dict()
    del state["2.bias"]
    state["extra"] = np.ones(1)
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["2.bias"] and result.unexpected_keys == ["extra"]
    np.testing.assert_array_equal(model.state_dict()["0.weight"], state["0.weight"])
    state["0.weight"] = np.ones((1, 1))
    before = snapshot(model)
    with pytest.raises(ValueError, match="0.weight: checkpoint has shape \\(1, 1\\)"):
        model.load_state_dict(state, strict=False)
    assert_unchanged(model, before)


def test_an_optimizers_state_dict_or_a_non_mapping_is_refused_with_a_hint():
    model = make_model(0)
    opt = optim.Adam(model.parameters())
    before = snapshot(model)
    with pytest.raises(ValueError, match="looks like an optimizer's state_dict"):
        model.load_state_dict(opt.state_dict())
    with pytest.raises(TypeError, match="expects a dict of name -> array.*got list"):
        model.load_state_dict([np.ones(2)])
    assert_unchanged(model, before)


# ---- Optimizer.load_state_dict -----------------------------------------------------------------

def trained_optimizer(name, model, steps=2):
    opt = {"Adam": lambda p: optim.Adam(p, lr=0.01),
           "SGD": lambda p: optim.SGD(p, lr=0.01, momentum=0.9),
           "RMSprop": lambda p: optim.RMSprop(p, momentum=0.5, centered=True),
           "Adagrad": lambda p: optim.Adagrad(p)}[name](model.parameters())
    x = sg.Tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3))
    for _ in range(steps):
        opt.zero_grad()
        (model(x) ** 2).sum().backward()
        opt.step()
    return opt


def optimizer_snapshot(opt):
    state = {pid: {k: (v, v.copy() if hasattr(v, "copy") else v) for k, v in entry.items()}
             for pid, entry in opt.state.items()}
    groups = [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]
    return state, groups


def assert_optimizer_unchanged(opt, before):
    state, groups = before
    assert [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups] == groups
    assert set(opt.state) == set(state)
    for pid, entry in state.items():
        assert set(opt.state[pid]) == set(entry)
        for key, (obj, values) in entry.items():
            assert opt.state[pid][key] is obj or opt.state[pid][key] == values
            np.testing.assert_array_equal(opt.state[pid][key], values)


@settings(max_examples=40)
@given(name=st.sampled_from(["Adam", "SGD", "RMSprop", "Adagrad"]), data=st.data(),
       kind=st.sampled_from(["shape", "string", "complex", "drop entry", "extra entry",
                             "index", "lr", "group size"]))
def test_one_bad_optimizer_entry_changes_nothing(name, data, kind):
    model = make_model(0)
    opt = trained_optimizer(name, model)
    state = trained_optimizer(name, make_model(1), steps=3).state_dict()
    index = data.draw(st.sampled_from(sorted(state["state"])), label="parameter")
    entry = state["state"][index]
    key = data.draw(st.sampled_from(sorted(k for k in entry if k != "step")), label="entry")
    words = {"shape": "has shape", "string": "is a str", "complex": "dtype complex128",
             "drop entry": "another optimizer's", "extra entry": "another optimizer's",
             "index": "only 6 parameters", "lr": "hyper-parameters are not valid",
             "group size": "groups of sizes"}[kind]
    if kind == "shape":
        entry[key] = np.zeros(entry[key].shape + (3,), np.float32)
    elif kind == "string":
        entry[key] = "zeros"
    elif kind == "complex":
        entry[key] = entry[key].astype(complex)
    elif kind == "drop entry":  # (SGD's one entry dropped is an empty state: no state)
        assume(name != "SGD")
        del entry["step"]
    elif kind == "extra entry":
        entry["velocity"] = entry[key]
    elif kind == "index":
        state["state"]["6"] = entry
    elif kind == "lr":
        state["param_groups"][0]["lr"] = -1.0
    else:
        state["param_groups"][0]["params"].append(6)
    before = optimizer_snapshot(opt)
    twin = trained_optimizer(name, make_model(0))
    with pytest.raises(ValueError, match=words):
        opt.load_state_dict(state)
    assert_optimizer_unchanged(opt, before)
    # and it goes on exactly as an optimizer that was never asked to load anything
    for o in (opt, twin):
        for p in o._all_params():
            p.grad = sg.Tensor(np.ones(p.shape, np.float32))
        o.step()
    for p, q in zip(opt._all_params(), twin._all_params()):
        np.testing.assert_array_equal(p.data, q.data)
