"""Errors: shape mismatches raise ShapeError naming the op and both shapes; misuse of the
graph raises GraphError; integer tensors cannot require gradients; devices that are
missing or mixed raise DeviceError."""
import importlib.util

import numpy as np
import pytest

import scratchgen as sg
import scratchgen.functional as F


def t(*shape, requires_grad=False):
    return sg.tensor(np.ones(shape), requires_grad=requires_grad)


def assert_names(exc_info, *words):
    message = str(exc_info.value)
    for word in words:
        assert str(word) in message, f"{word!r} not in the message: {message}"


def test_error_classes():
    for cls in (sg.ShapeError, sg.GraphError, sg.DeviceError, sg.CheckpointError):
        assert issubclass(cls, sg.ScratchgenError)
    assert issubclass(sg.ShapeError, ValueError)


# ---- ShapeError ---------------------------------------------------------------------------

BROADCAST_OPS = {
    "add": lambda a, b: a + b, "subtract": lambda a, b: a - b,
    "multiply": lambda a, b: a * b, "divide": lambda a, b: a / b,
    "power": lambda a, b: a ** b, "maximum": sg.maximum, "minimum": sg.minimum,
}


@pytest.mark.parametrize("name", sorted(BROADCAST_OPS))
def test_broadcast_mismatch_names_the_op_and_both_shapes(name):
    with pytest.raises(sg.ShapeError) as info:
        BROADCAST_OPS[name](t(2, 3), t(4, 3))
    assert_names(info, name, (2, 3), (4, 3))


def test_broadcast_mismatch_with_an_array_on_the_left():
    with pytest.raises(sg.ShapeError) as info:
        np.ones((5,)) + t(2, 3)
    assert_names(info, "add", (5,), (2, 3))


def test_where_mismatch():
    with pytest.raises(sg.ShapeError) as info:
        sg.where(np.ones((2, 2), dtype=bool), t(3), t(2, 2))
    assert_names(info, "where", (3,))


@pytest.mark.parametrize("a, b", [((2, 3), (4, 5)), ((3,), (4,)), ((2, 3), (2,)),
                                  ((2, 3, 4), (3, 4, 5))])
def test_matmul_mismatch_names_the_op_and_both_shapes(a, b):
    with pytest.raises(sg.ShapeError) as info:
        t(*a) @ t(*b)
    assert_names(info, "matmul", a, b)


def test_matmul_of_a_0d_operand():
    with pytest.raises(sg.ShapeError) as info:
        t() @ t(2)
    assert_names(info, "matmul")


def test_shape_ops_raise_shape_error():
    with pytest.raises(sg.ShapeError, match="reshape"):
        t(2, 3).reshape(4, 2)
    with pytest.raises(sg.ShapeError, match="squeeze"):
        t(2, 3).squeeze(0)
    with pytest.raises(sg.ShapeError, match="transpose"):
        t(2, 3).transpose(0, 0)
    with pytest.raises(sg.ShapeError, match="broadcast_to"):
        t(2, 3).broadcast_to(3, 3)
    with pytest.raises(sg.ShapeError, match="concatenate"):
        sg.concatenate([t(2, 3), t(2, 4)], axis=0)
    with pytest.raises(sg.ShapeError, match="stack"):
        sg.stack([t(2, 3), t(3, 2)])
    with pytest.raises(sg.ShapeError):
        t(2, 3).sum(axis=2)
    with pytest.raises(sg.ShapeError):
        t(2, 3)[5]
    with pytest.raises(sg.ShapeError, match="pad"):
        sg.pad(t(2, 3), ((1, 1), (1, 1), (1, 1)))


def test_conv2d_channel_mismatch_names_the_op_and_both_shapes():
    with pytest.raises(sg.ShapeError) as info:
        F.conv2d(t(1, 3, 5, 5), t(4, 2, 3, 3))
    assert_names(info, "conv2d", (1, 3, 5, 5), (4, 2, 3, 3))


def test_conv2d_kernel_larger_than_input():
    with pytest.raises(sg.ShapeError) as info:
        F.conv2d(t(1, 1, 2, 2), t(1, 1, 3, 3))
    assert_names(info, "conv2d", (1, 1, 2, 2))


def test_conv_transpose2d_channel_mismatch_names_the_op_and_both_shapes():
    with pytest.raises(sg.ShapeError) as info:
        F.conv_transpose2d(t(1, 3, 5, 5), t(2, 4, 3, 3))
    assert_names(info, "conv_transpose2d", (1, 3, 5, 5), (2, 4, 3, 3))


@pytest.mark.parametrize("pool", [F.max_pool2d, F.avg_pool2d])
def test_pooling_window_larger_than_input(pool):
    with pytest.raises(sg.ShapeError) as info:
        pool(t(1, 1, 2, 2), 3)
    assert_names(info, pool.__name__, (2, 2), (3, 3))  # the spatial size and the kernel


def test_linear_mismatch_names_both_shapes():
    with pytest.raises(sg.ShapeError) as info:
        F.linear(t(4, 3), t(5, 2))
    assert_names(info, "linear", (4, 3), (5, 2))


def test_attention_mismatch_names_the_op_and_the_shapes():
    with pytest.raises(sg.ShapeError) as info:
        F.scaled_dot_product_attention(t(2, 4, 3), t(2, 5, 6), t(2, 5, 6))
    assert_names(info, "scaled_dot_product_attention", (2, 4, 3), (2, 5, 6))
    with pytest.raises(sg.ShapeError) as info:
        F.scaled_dot_product_attention(t(2, 4, 3), t(2, 5, 3), t(2, 6, 3))
    assert_names(info, "scaled_dot_product_attention", (2, 5, 3), (2, 6, 3))


def test_attention_mask_that_does_not_broadcast():
    with pytest.raises(sg.ShapeError) as info:
        F.scaled_dot_product_attention(t(2, 4, 3), t(2, 5, 3), t(2, 5, 3),
                                       attn_mask=np.ones((3, 3), dtype=bool))
    assert_names(info, "scaled_dot_product_attention", (3, 3))


def test_backward_gradient_of_the_wrong_shape():
    x = t(2, 3, requires_grad=True)
    with pytest.raises(sg.ShapeError):
        (x * 2.0).backward(np.ones((3, 2)))


# ---- integer tensors and gradients ----------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda: sg.tensor([1, 2], dtype=np.int64, requires_grad=True),
    lambda: sg.tensor(np.arange(3), requires_grad=True),
    lambda: sg.tensor(np.array([True]), requires_grad=True),
    lambda: sg.zeros(3, dtype=np.int32, requires_grad=True),
    lambda: sg.tensor(np.arange(3)).requires_grad_(True),
])
def test_requires_grad_on_a_non_float_tensor_raises(make):
    with pytest.raises((TypeError, ValueError)) as info:
        make()
    assert "float" in str(info.value)


# ---- GraphError -----------------------------------------------------------------------------

def test_backward_of_a_non_scalar_without_grad_raises_graph_error():
    x = t(2, 3, requires_grad=True)
    with pytest.raises(sg.GraphError) as info:
        (x * 2.0).backward()
    assert_names(info, (2, 3))
    with pytest.raises(sg.GraphError):
        sg.grad(x * 2.0, [x])


def test_backward_of_a_tensor_without_a_graph_raises_graph_error():
    with pytest.raises(sg.GraphError):
        t(1).sum().backward()
    x = t(1, requires_grad=True)
    with sg.no_grad():
        y = (x * 2.0).sum()
    with pytest.raises(sg.GraphError):
        y.backward()


def test_grad_of_an_unused_input_raises_unless_allowed():
    x, unused = t(2, requires_grad=True), t(2, requires_grad=True)
    with pytest.raises(sg.GraphError):
        sg.grad((x * 2.0).sum(), [x, unused])
    gx, gu = sg.grad((x * 2.0).sum(), [x, unused], allow_unused=True)
    assert gu is None
    np.testing.assert_allclose(gx.numpy(), [2.0, 2.0])


def test_grad_with_respect_to_a_tensor_that_does_not_require_grad():
    x, c = t(2, requires_grad=True), t(2)
    with pytest.raises(sg.GraphError):
        sg.grad((x * c).sum(), [c])


# ---- devices --------------------------------------------------------------------------------

def gpu_available():
    if importlib.util.find_spec("cupy") is None:
        return False
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


@pytest.mark.skipif(gpu_available(), reason="a GPU is present: 'cuda' is a valid device here")
@pytest.mark.parametrize("make", [
    lambda: sg.tensor([1.0], device="cuda"),
    lambda: sg.zeros(2, device="cuda"),
    lambda: sg.randn(2, device="cuda"),
    lambda: sg.arange(3, device="cuda"),
    lambda: sg.tensor([1.0]).to("cuda"),
    lambda: sg.tensor([1.0]).to("cuda:0"),
])
def test_cuda_without_cupy_or_a_gpu_raises_a_clear_device_error(make):
    with pytest.raises(sg.DeviceError) as info:
        make()
    message = str(info.value)
    assert "cuda" in message and ("CuPy" in message or "GPU" in message)


def test_an_unknown_device_raises_device_error():
    with pytest.raises(sg.DeviceError, match="tpu"):
        sg.tensor([1.0], device="tpu")
    with pytest.raises(sg.DeviceError):
        sg.tensor([1.0]).to("metal")


class ArrayStandingInForCupy(np.ndarray):
    """Not exactly numpy.ndarray, so the engine's all-CPU fast path does not apply."""


class TensorClaimingCuda(sg.Tensor):
    """A CPU tensor that reports device 'cuda': the device check runs without a GPU."""

    def __init__(self, array):
        super().__init__(np.asarray(array).view(ArrayStandingInForCupy))

    @property
    def device(self):
        return "cuda"


@pytest.mark.parametrize("op", [lambda a, b: a + b, lambda a, b: a * b,
                                lambda a, b: a @ b, lambda a, b: sg.maximum(a, b),
                                lambda a, b: sg.concatenate([a, b])])
def test_mixing_devices_raises_device_error(op):
    cpu = sg.tensor(np.ones((2, 2)))
    other = TensorClaimingCuda(np.ones((2, 2)))
    with pytest.raises(sg.DeviceError) as info:
        op(cpu, other)
    assert "cpu" in str(info.value) and "cuda" in str(info.value)


@pytest.mark.skipif(not gpu_available(), reason="needs CuPy and a GPU")
def test_mixing_real_devices_raises_device_error():
    cpu = sg.tensor(np.ones((2, 2)))
    gpu = cpu.to("cuda")
    with pytest.raises(sg.DeviceError):
        cpu + gpu
    with pytest.raises(sg.DeviceError):
        gpu @ cpu
