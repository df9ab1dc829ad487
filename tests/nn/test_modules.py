"""Module mechanics (registration, walking the tree, modes, state_dict), default
initialisations, containers, and the errors that bad arguments get."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scratchgen as sg
import scratchgen.nn as nn
import scratchgen.optim as optim


class Block(nn.Module):
    """A small model with a parameter, a buffer, a child and a list of children."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(np.ones(3, dtype=np.float32))
        self.register_buffer("steps", sg.zeros(1))
        self.fc = nn.Linear(3, 3)
        self.layers = nn.ModuleList([nn.Linear(3, 3), nn.BatchNorm1d(3)])
        self.plain = 5  # not state

    def forward(self, x):
        x = self.fc(x) * self.scale
        for layer in self.layers:
            x = layer(x)
        return x


# ---- registration and walking -----------------------------------------------------------

def test_attributes_register_parameters_buffers_and_children_in_order():
    block = Block()
    assert [name for name, _ in block.named_parameters()] == [
        "scale", "fc.weight", "fc.bias", "layers.0.weight", "layers.0.bias",
        "layers.1.weight", "layers.1.bias"]
    assert [name for name, _ in block.named_buffers()] == [
        "steps", "layers.1.running_mean", "layers.1.running_var", "layers.1.num_batches_tracked"]
    assert list(block.state_dict()) == [
        "scale", "steps", "fc.weight", "fc.bias", "layers.0.weight", "layers.0.bias",
        "layers.1.weight", "layers.1.bias", "layers.1.running_mean", "layers.1.running_var",
        "layers.1.num_batches_tracked"]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in block.parameters())
    assert not any(b.requires_grad for b in block.buffers())
    assert [name for name, _ in block.named_modules()] == ["", "fc", "layers", "layers.0",
                                                           "layers.1"]
    assert list(block.children()) == [block.fc, block.layers]
    assert block.num_parameters() == 3 + 12 + 12 + 6


def test_shared_parameters_are_counted_once_but_saved_under_each_name():
    shared = nn.Linear(2, 2)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(model.parameters())) == 2 and model.num_parameters() == 6
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_reassigning_an_attribute_replaces_the_registration():
    block = Block()
    block.fc = nn.Linear(3, 3, bias=False)
    assert "fc.bias" not in dict(block.named_parameters())
    block.scale = None  # a declared but absent parameter
    assert "scale" not in block.state_dict() and block.scale is None
    with pytest.raises(TypeError, match="Parameter"):
        block.fc.weight = np.zeros((3, 3))
    del block.fc
    assert not hasattr(block, "fc") and "fc.weight" not in block.state_dict()


def test_assigning_before_super_init_is_a_clear_error():
    class Forgetful(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match="super\\(\\).__init__"):
        Forgetful()


def test_train_eval_apply_zero_grad_and_requires_grad_reach_every_module():
    block = Block()
    assert block.eval() is block
    assert all(not m.training for m in block.modules())
    block.train()
    assert all(m.training for m in block.modules())
    visited = []
    block.apply(lambda m: visited.append(type(m).__name__))
    assert visited == ["Linear", "Linear", "BatchNorm1d", "ModuleList", "Block"]  # children first
    block(sg.randn(4, 3)).sum().backward()
    assert all(p.grad is not None for p in block.parameters())
    block.zero_grad()
    assert all(p.grad is None for p in block.parameters())
    block.requires_grad_(False)
    assert not any(p.requires_grad for p in block.parameters())


def test_to_cpu_keeps_the_parameter_objects():
    block = Block()
    params = list(block.parameters())
    assert block.to("cpu") is block
    assert all(a is b for a, b in zip(params, block.parameters()))
    with pytest.raises(sg.DeviceError):
        block.to("tpu")


def test_deepcopy_gives_an_independent_model():
    import copy

    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    twin = copy.deepcopy(model)  # e.g. an EMA copy of a network
    twin[0].weight.data += 1
    assert isinstance(twin[0].weight, nn.Parameter)
    assert not np.any(twin[0].weight.data == model[0].weight.data)
    assert list(twin.state_dict()) == list(model.state_dict())


# ---- state_dict and load_state_dict -------------------------------------------------------

def test_state_dict_holds_numpy_copies():
    model = nn.Linear(2, 2)
    state = model.state_dict()
    assert all(type(v) is np.ndarray for v in state.values())
    before = state["weight"].copy()
    model.weight.data += 1  # changing the model does not change the dict ...
    np.testing.assert_array_equal(state["weight"], before)
    state["bias"][:] = 7  # ... nor the dict the model
    assert not np.any(model.bias.data == 7)


def test_load_state_dict_copies_in_place_so_optimizers_keep_working():
    source, target = nn.Linear(3, 2), nn.Linear(3, 2)
    weight_before = target.weight
    opt = optim.SGD(target.parameters(), lr=0.1)
    target.load_state_dict(source.state_dict())
    assert target.weight is weight_before
    np.testing.assert_array_equal(target.weight.data, source.weight.data)
    target(sg.ones(1, 3)).sum().backward()
    opt.step()  # updates the loaded values
    np.testing.assert_allclose(target.weight.data, source.weight.data - 0.1, rtol=1e-6)


def test_load_state_dict_lists_missing_and_unexpected_keys_and_changes_nothing():
    model = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    before = model.state_dict()
    state = model.state_dict()
    del state["1.bias"]
    state["2.weight"] = np.zeros(1)
    state["0.weight"] = state["0.weight"] + 1
    with pytest.raises(ValueError) as info:
        model.load_state_dict(state)
    message = str(info.value)
    assert "missing keys: 1.bias" in message and "unexpected keys: 2.weight" in message
    for name, value in model.state_dict().items():  # nothing was half-loaded
        np.testing.assert_array_equal(value, before[name])
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert (missing, unexpected) == (["1.bias"], ["2.weight"])
    np.testing.assert_array_equal(model.state_dict()["0.weight"], before["0.weight"] + 1)


def test_load_state_dict_shape_mismatch_names_the_key_and_both_shapes():
    model = nn.Linear(2, 3)
    state = model.state_dict()
    state["weight"] = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"weight: checkpoint has shape \(3, 4\), the model "
                                         r"has \(3, 2\)"):
        model.load_state_dict(state, strict=False)


@settings(max_examples=10)
@given(widths=st.lists(st.integers(1, 5), min_size=2, max_size=4), seed=st.integers(0, 1000))
def test_state_dict_round_trip_through_save_and_load_reproduces_outputs_exactly(
        tmp_path_factory, widths, seed):
    def make():
        layers = []
        for n_in, n_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(n_in, n_out), nn.BatchNorm1d(n_out), nn.Tanh()]
        return nn.Sequential(*layers)

    sg.manual_seed(seed)
    model = make()
    for _ in range(2):  # move the running statistics away from their initial values
        model(sg.randn(8, widths[0]))
    model.eval()
    x = sg.randn(5, widths[0])
    path = tmp_path_factory.mktemp("ckpt") / "model.npz"
    sg.save(model.state_dict(), path)
    sg.manual_seed(seed + 1)  # a fresh model with other weights
    fresh = make().eval()
    assert not np.array_equal(fresh(x).data, model(x).data)
    fresh.load_state_dict(sg.load(path))
    np.testing.assert_array_equal(fresh(x).data, model(x).data)
    for name, value in model.state_dict().items():
        loaded = fresh.state_dict()[name]
        assert loaded.dtype == value.dtype
        np.testing.assert_array_equal(loaded, value)


# ---- default initialisation -----------------------------------------------------------------

def check_uniform(values, bound):
    """All within [-bound, bound], with the uniform's std bound/sqrt(3) to within 3%."""
    values = np.asarray(values, dtype=np.float64).ravel()
    assert np.all(np.abs(values) <= bound * (1 + 1e-6))
    assert abs(values.std() / (bound / math.sqrt(3)) - 1) < 0.03
    assert abs(values.mean()) < 0.05 * bound


def test_linear_init_is_uniform_within_one_over_sqrt_fan_in():
    sg.manual_seed(0)
    layer = nn.Linear(400, 300)
    assert layer.weight.dtype == np.float32 and layer.weight.shape == (300, 400)
    check_uniform(layer.weight.data, 1 / math.sqrt(400))
    big_bias = nn.Linear(400, 20000)  # enough biases for the statistics
    check_uniform(big_bias.bias.data, 1 / math.sqrt(400))


def test_conv_init_uses_fan_in_of_the_weight_axis_one():
    sg.manual_seed(0)
    conv = nn.Conv2d(8, 64, (3, 5), groups=2)  # weight (64, 4, 3, 5): fan_in = 4 * 15
    check_uniform(conv.weight.data, 1 / math.sqrt(60))
    assert np.all(np.abs(conv.bias.data) <= 1 / math.sqrt(60))
    deconv = nn.ConvTranspose2d(64, 12, 3, stride=2, groups=4)  # weight (64, 3, 3, 3): fan_in 27
    assert deconv.weight.shape == (64, 3, 3, 3)
    check_uniform(deconv.weight.data, 1 / math.sqrt(27))


def test_embedding_is_standard_normal_and_norms_start_as_identity():
    sg.manual_seed(0)
    table = nn.Embedding(1000, 64).weight.data.astype(np.float64)
    assert abs(table.mean()) < 0.01 and abs(table.std() - 1) < 0.01
    for norm in (nn.LayerNorm(5), nn.GroupNorm(1, 5), nn.BatchNorm2d(5)):
        np.testing.assert_array_equal(norm.weight.data, np.ones(5))
        np.testing.assert_array_equal(norm.bias.data, np.zeros(5))


def test_multihead_attention_init_is_xavier_with_zero_biases():
    sg.manual_seed(0)
    mha = nn.MultiheadAttention(128, 4)
    check_uniform(mha.in_proj_weight.data, math.sqrt(6 / (128 + 3 * 128)))
    np.testing.assert_array_equal(mha.in_proj_bias.data, 0)
    np.testing.assert_array_equal(mha.out_proj.bias.data, 0)
    check_uniform(mha.out_proj.weight.data, 1 / math.sqrt(128))


def test_manual_seed_makes_initialisation_repeatable_and_dtype_is_honoured():
    sg.manual_seed(7)
    a = nn.Linear(4, 3, dtype=np.float64)
    sg.manual_seed(7)
    b = nn.Linear(4, 3, dtype=np.float64)
    c = nn.Linear(4, 3, dtype=np.float64)
    assert a.weight.dtype == np.float64
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    assert not np.array_equal(b.weight.data, c.weight.data)
    with pytest.raises(TypeError, match="floating-point"):
        nn.Linear(2, 2, dtype=np.int32)


# ---- containers, dropout, repr ---------------------------------------------------------------

def test_sequential_and_module_list_index_slice_and_append():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear) and len(seq[:2]) == 2
    seq.append(nn.Sigmoid())
    out = seq(sg.randn(4, 2))
    assert out.shape == (4, 1) and np.all((out.data > 0) & (out.data < 1))
    with pytest.raises(IndexError, match="out of range"):
        seq[4]
    layers = nn.ModuleList(nn.Linear(2, 2) for _ in range(2))
    layers.append(nn.Linear(2, 5))
    layers[0] = nn.Linear(2, 2, bias=False)
    assert [name for name, _ in layers.named_parameters()] == [
        "0.weight", "1.weight", "1.bias", "2.weight", "2.bias"]
    assert "(2): Linear(in_features=2, out_features=5, bias=True)" in repr(layers)


def test_dropout_scales_survivors_in_training_and_is_the_identity_in_eval():
    sg.manual_seed(0)
    drop = nn.Dropout(0.25)
    x = sg.ones(200, 200)
    y = drop(x).data
    assert set(np.unique(y)) == {0.0, np.float32(1 / 0.75)}
    assert abs((y == 0).mean() - 0.25) < 0.01
    np.testing.assert_array_equal(drop.eval()(x).data, x.data)


def test_attention_dropout_drops_weights_in_training_only():
    sg.manual_seed(0)
    mha = nn.MultiheadAttention(8, 2, dropout=0.5, batch_first=True)
    x = sg.randn(4, 6, 8)
    _, kept = mha.eval()(x, x, x, average_attn_weights=False)
    _, dropped = mha.train()(x, x, x, average_attn_weights=False)
    zero = dropped.data == 0
    assert 0.35 < zero.mean() < 0.65
    np.testing.assert_allclose(dropped.data[~zero], 2 * kept.data[~zero], rtol=1e-5)
    out, weights = mha(x, x, x, need_weights=False)  # dropout still acts without weights
    assert weights is None and out.shape == (4, 6, 8)


# ---- bad arguments ---------------------------------------------------------------------------

@pytest.mark.parametrize("make, error, words", [
    (lambda: nn.Linear(0, 3), ValueError, "in_features"),
    (lambda: nn.Linear(3, -1), ValueError, "out_features"),
    (lambda: nn.Linear(2.5, 3), ValueError, "in_features"),
    (lambda: nn.Conv2d(3, 4, 3, groups=2), ValueError, "in_channels \\(3\\) must be divisible"),
    (lambda: nn.Conv2d(4, 3, 3, groups=2), ValueError, "out_channels \\(3\\) must be divisible"),
    (lambda: nn.Conv2d(2, 2, 0), ValueError, "kernel_size"),
    (lambda: nn.Conv2d(2, 2, 3, stride=0), ValueError, "stride"),
    (lambda: nn.Conv2d(2, 2, 3, padding=-1), ValueError, "padding"),
    (lambda: nn.ConvTranspose2d(2, 2, 3, stride=2, output_padding=2), ValueError,
     "output_padding"),
    (lambda: nn.GroupNorm(4, 6), ValueError, "divisible by num_groups"),
    (lambda: nn.BatchNorm1d(3, momentum=2.0), ValueError, "momentum"),
    (lambda: nn.Dropout(1.5), ValueError, "\\[0, 1\\]"),
    (lambda: nn.MultiheadAttention(10, 3), ValueError, "divisible by num_heads"),
    (lambda: nn.Embedding(0, 4), ValueError, "num_embeddings"),
])
def test_bad_constructor_arguments_get_clear_errors(make, error, words):
    with pytest.raises(error, match=words):
        make()


def test_bad_inputs_get_clear_errors():
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3\) expects input of shape "
                                         r"\(N, C, H, W\), got \(2, 3\)"):
        nn.BatchNorm2d(3)(sg.randn(2, 3))
    mha = nn.MultiheadAttention(4, 2)
    x = sg.randn(3, 2, 4)
    with pytest.raises(ValueError, match="attn_mask must have shape"):
        mha(x, x, x, attn_mask=np.zeros((2, 2), bool))
    with pytest.raises(ValueError, match="key_padding_mask must have shape"):
        mha(x, x, x, key_padding_mask=np.zeros((3, 3), bool))
    with pytest.raises(ValueError, match="embed_dim = 4"):
        mha(sg.randn(3, 2, 5), x, x)
