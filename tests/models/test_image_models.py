"""The image networks: DCGAN generator and discriminator, the diffusion U-Net."""
import numpy as np
import pytest

import scratchgen as sg
from scratchgen import Tensor, nn
from scratchgen.engine.autograd import grad
from scratchgen.models.dcgan import DCGANDiscriminator, DCGANGenerator
from scratchgen.models.unet import SelfAttention, UNet


def as64(module):
    """Every parameter and buffer in float64, for comparisons at tight tolerances."""
    for tensor in list(module.parameters()) + list(module.buffers()):
        if tensor.data.dtype.kind == "f":
            tensor.data = tensor.data.astype(np.float64)
    return module


# ---- DCGAN ------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28)])
def test_generator_and_discriminator_shapes(shape):
    sg.manual_seed(0)
    g = DCGANGenerator(shape, latent_dim=16, channels=8)
    images = g(Tensor(np.random.default_rng(0).standard_normal((5, 16)).astype(np.float32)))
    assert images.shape == (5, *shape)
    assert np.all(np.abs(images.numpy()) <= 1)  # tanh output, the data's range
    for norm in ("batch", "layer", "none"):
        assert DCGANDiscriminator(shape, channels=8, norm=norm)(images).shape == (5,)


def test_dcgan_follows_the_paper_layout():
    """Radford et al.: BN in G and in D except D's first layer; ReLU/tanh in G, LeakyReLU 0.2 in
    D; weights from N(0, 0.02). WGAN-GP critics (norm != batch) have no batch norm at all."""
    sg.manual_seed(0)
    g = DCGANGenerator((1, 8, 8), latent_dim=64, channels=64)
    d = DCGANDiscriminator((1, 8, 8), channels=64)
    g_types = [type(m) for m in g.net]
    assert g_types.count(nn.BatchNorm2d) == 2 and g_types[-1] is nn.Tanh
    assert nn.ReLU in g_types and nn.LeakyReLU not in g_types
    d_layers = list(d.net)
    assert isinstance(d_layers[0], nn.Conv2d) and isinstance(d_layers[1], nn.LeakyReLU)
    assert [type(m) for m in d_layers].count(nn.BatchNorm2d) == 1
    assert all(m.negative_slope == 0.2 for m in d_layers if isinstance(m, nn.LeakyReLU))
    conv_weights = np.concatenate([m.weight.numpy().ravel() for m in d.net
                                   if isinstance(m, nn.Conv2d)])
    assert abs(conv_weights.std() - 0.02) < 0.002
    for norm in ("layer", "none"):
        critic = DCGANDiscriminator((1, 8, 8), channels=8, norm=norm)
        assert not any(isinstance(m, nn.BatchNorm2d) for m in critic.modules())


def test_layer_norm_critic_scores_each_image_on_its_own():
    """The gradient penalty needs D(x_i) to depend on x_i alone: true without batch norm."""
    sg.manual_seed(1)
    critic = DCGANDiscriminator((1, 8, 8), channels=8, norm="layer")
    x = np.random.default_rng(1).uniform(-1, 1, (6, 1, 8, 8)).astype(np.float32)
    together = critic(Tensor(x)).numpy()
    alone = np.array([critic(Tensor(x[i:i + 1])).numpy()[0] for i in range(6)])
    np.testing.assert_allclose(together, alone, rtol=1e-5, atol=1e-6)


def test_gradient_penalty_through_the_conv_critic_matches_torch():
    """d/dW of (||grad_x D(x)||_2 - 1)^2, a second derivative through conv, group norm and
    LeakyReLU, equals PyTorch's for the same weights."""
    torch = pytest.importorskip("torch")
    sg.manual_seed(2)
    critic = as64(DCGANDiscriminator((1, 8, 8), channels=4, norm="layer"))
    x = np.random.default_rng(2).uniform(-1, 1, (3, 1, 8, 8))

    xs = Tensor(x.copy(), requires_grad=True)
    (g,) = grad(critic(xs).sum(), xs, create_graph=True)
    penalty = (((g.reshape(3, -1) ** 2).sum(axis=1).sqrt() - 1) ** 2).mean()
    params = list(critic.parameters())
    ours = grad(penalty, params, allow_unused=True)  # the last bias drops out of grad_x D

    tnet = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 4, 2, 1), torch.nn.LeakyReLU(0.2),
        torch.nn.Conv2d(4, 8, 4, 2, 1, bias=False), torch.nn.GroupNorm(1, 8),
        torch.nn.LeakyReLU(0.2), torch.nn.Conv2d(8, 1, 2)).double()
    tnet.load_state_dict({k[len("net."):]: torch.from_numpy(v) for k, v in critic.state_dict().items()})
    xt = torch.tensor(x, requires_grad=True)
    (gt,) = torch.autograd.grad(tnet(xt).sum(), xt, create_graph=True)
    tpen = ((gt.reshape(3, -1).norm(dim=1) - 1) ** 2).mean()
    theirs = torch.autograd.grad(tpen, list(tnet.parameters()), allow_unused=True)
    np.testing.assert_allclose(penalty.item(), tpen.item(), rtol=1e-10)
    assert sum(a is not None for a in ours) >= 4
    for a, b, p in zip(ours, theirs, params):
        a = np.zeros(p.shape) if a is None else a.numpy()
        b = np.zeros(p.shape) if b is None else b.numpy()
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-12)


# ---- U-Net ------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28)])
def test_unet_shape_and_zero_initial_output(shape):
    sg.manual_seed(0)
    net = UNet(shape, channels=8)
    x = Tensor(np.random.default_rng(0).standard_normal((2, *shape)).astype(np.float32))
    out = net(x, np.array([1, 500]))
    assert out.shape == (2, *shape)
    assert np.all(out.numpy() == 0)  # last conv starts at zero (Ho et al.)


def test_unet_output_depends_on_time_and_on_every_pixel():
    sg.manual_seed(3)
    net = UNet((1, 8, 8), channels=8)
    rng = np.random.default_rng(3)
    for p in net.conv_out.parameters():  # leave the zero start so the output is not trivial
        p.data[...] = rng.standard_normal(p.shape).astype(np.float32) * 0.1
    x = Tensor(rng.standard_normal((1, 1, 8, 8)), requires_grad=True)
    as64(net)
    early, late = net(x, np.array([10])), net(x, np.array([900]))
    assert np.abs(early.numpy() - late.numpy()).max() > 1e-3
    # the centre output pixel sees the whole image (the attention mixes all positions)
    (g,) = grad(early[0, 0, 4, 4], x)
    assert np.all(g.numpy() != 0)


def test_self_attention_matches_a_plain_numpy_multi_head_attention():
    sg.manual_seed(4)
    block = as64(SelfAttention(8, heads=2))
    rng = np.random.default_rng(4)
    for p in block.parameters():
        p.data[...] = rng.standard_normal(p.shape)
    x = rng.standard_normal((2, 8, 2, 3))
    ours = block(Tensor(x)).numpy()

    # by hand: normalise, project to q, k, v per position, attend per head over 6 positions
    h = block.norm(Tensor(x)).numpy().reshape(2, 8, 6)                  # (B, C, HW)
    w_qkv, b_qkv = block.qkv.weight.numpy()[:, :, 0, 0], block.qkv.bias.numpy()
    qkv = np.einsum("oc,bcp->bop", w_qkv, h) + b_qkv[None, :, None]     # (B, 3C, HW)
    q, k, v = qkv[:, :8], qkv[:, 8:16], qkv[:, 16:]
    heads = []
    for head in range(2):
        part = slice(4 * head, 4 * head + 4)
        scores = np.einsum("bdp,bdq->bpq", q[:, part], k[:, part]) / np.sqrt(4)
        weights = np.exp(scores - scores.max(-1, keepdims=True))
        weights /= weights.sum(-1, keepdims=True)
        heads.append(np.einsum("bpq,bdq->bdp", weights, v[:, part]))    # (B, d, HW)
    y = np.concatenate(heads, axis=1)                                    # (B, C, HW)
    w_out, b_out = block.out.weight.numpy()[:, :, 0, 0], block.out.bias.numpy()
    expected = x + (np.einsum("oc,bcp->bop", w_out, y) + b_out[None, :, None]).reshape(x.shape)
    np.testing.assert_allclose(ours, expected, rtol=1e-10, atol=1e-12)


def test_packed_discriminator_stacks_consecutive_images_along_channels():
    sg.manual_seed(5)
    d = DCGANDiscriminator((1, 8, 8), channels=4, norm="layer", pack=2)
    x = np.random.default_rng(5).uniform(-1, 1, (6, 1, 8, 8)).astype(np.float32)
    scores = d(Tensor(x)).numpy()
    assert scores.shape == (3,)
    stacked = np.concatenate([x[0::2], x[1::2]], axis=1)  # (3, 2, 8, 8): images 2i and 2i + 1
    np.testing.assert_allclose(scores, d.net(Tensor(stacked)).numpy().reshape(-1), rtol=1e-6)
