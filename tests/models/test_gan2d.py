"""The 2D GAN: the WGAN-GP penalty (a second derivative) and PacGAN packing."""
import numpy as np
import pytest

from scratchgen import Tensor
from scratchgen.training import make_config
from scratchgen.training.loop import build

torch = pytest.importorskip("torch")


def gan(**settings):
    config = make_config("gan", out="unused", **{"batch_size": 32, "hidden": 16, **settings})
    return build(config)[1]


def torch_discriminator(D):
    """The same packed discriminator in PyTorch, with D's weights (float64)."""
    def linears(sequential):
        return [m for m in sequential._modules.values() if hasattr(m, "weight")]

    def as_torch(layers):
        out = []
        for layer in layers:
            lin = torch.nn.Linear(layer.in_features, layer.out_features).double()
            lin.weight.data = torch.tensor(layer.weight.data, dtype=torch.float64)
            lin.bias.data = torch.tensor(layer.bias.data, dtype=torch.float64)
            out.append(lin)
        return out

    embed, head = as_torch(linears(D.embed)), as_torch(linears(D.head))
    leaky = torch.nn.functional.leaky_relu

    def forward(x):
        h = x * D.input_scale
        for lin in embed:
            h = leaky(lin(h), 0.2)                          # every embedding layer is followed
        h = h.reshape(x.shape[0] // D.pack, -1)             # by its activation
        h = leaky(head[0](h), 0.2)
        return head[1](h).reshape(-1)

    return forward, [p for lin in embed + head for p in (lin.weight, lin.bias)]


def test_wgan_gp_penalty_is_finite_and_its_gradient_reaches_d_like_torch():
    model = gan(loss="wgan-gp", n_critic=2, input_scale=3.0)
    rng = np.random.default_rng(0)
    for _ in range(5):  # a short run first: the penalty of a trained critic, not of a fresh one
        model.train_step(model.next_batch(rng))
    real = model.next_batch(rng)[0]
    fake = model.sample(len(real))
    xhat = model.interpolates(real, fake)

    D = model.discriminator
    for p in D.parameters():
        p.grad = None
    penalty = model.gradient_penalty(Tensor(xhat, requires_grad=True))
    penalty.backward()
    assert np.isfinite(penalty.item()) and penalty.item() > 0
    # Every weight matrix of D feels the penalty. (The biases only move the kinks of the
    # piecewise-linear D, so the input gradient, and the penalty, has no slope along them.)
    weights = [p for name, p in D.named_parameters() if name.endswith("weight")]
    assert len(weights) == 4
    for w in weights:
        assert w.grad is not None and np.isfinite(w.grad.data).all()
        assert np.abs(w.grad.data).sum() > 0

    forward, params = torch_discriminator(D)
    x = torch.tensor(xhat, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(forward(x).sum(), x, create_graph=True)
    norms = (g.reshape(len(xhat) // D.pack, -1) / D.input_scale).norm(dim=1)
    expected = ((norms - 1) ** 2).mean()
    expected.backward()
    np.testing.assert_allclose(penalty.item(), expected.item(), rtol=1e-4)
    for (name, p), theirs in zip(D.named_parameters(), params):
        ours = np.zeros(p.shape) if p.grad is None else p.grad.data
        expected_grad = np.zeros(p.shape) if theirs.grad is None else theirs.grad.numpy()
        np.testing.assert_allclose(ours, expected_grad, rtol=2e-3, atol=1e-6, err_msg=name)


def test_interpolates_share_one_eps_per_pack():
    model = gan(loss="wgan-gp", pack=4)
    real, fake = np.zeros((32, 2), np.float32), np.ones((32, 2), np.float32)
    xhat = model.interpolates(real, fake)       # = 1 - eps, so eps is readable
    packs = xhat.reshape(8, 4 * 2)              # pack i: rows 4 i .. 4 i + 3
    assert np.all(packs == packs[:, :1])        # one position on the segment per pack
    assert len(np.unique(packs[:, 0])) == 8


def test_packing_groups_consecutive_samples_as_documented():
    model = gan(pack=4)
    D = model.discriminator
    x = np.random.default_rng(1).standard_normal((32, 2)).astype(np.float32)
    scores = D(Tensor(x)).numpy()
    assert scores.shape == (8,)                 # (B, 2) -> (B / pack,)
    moved = x.copy()
    moved[13] += 1.0                            # sample 13 sits in pack 13 // 4 = 3
    changed = np.flatnonzero(~np.isclose(D(Tensor(moved)).numpy(), scores))
    assert changed.tolist() == [3]


def test_batch_size_must_be_a_multiple_of_pack():
    with pytest.raises(ValueError, match="divisible by pack"):
        gan(batch_size=30, pack=4)
