"""scratchgen's VAE against a PyTorch twin: same architecture, same initial weights (ours,
copied into torch), same minibatches, same noise eps. The two loss curves must agree to
rounding (about 1e-12 in float64), and the training-step time of each is measured.

    python bench/vae_vs_torch.py                         # MLP + Bernoulli on digits-binary
    python bench/vae_vs_torch.py --dataset digits        # conv + Gaussian on digits
    python bench/vae_vs_torch.py --steps 20 --time-steps 200 --threads 1

The torch side is written independently of ours where it can be: its log-likelihoods come
from torch.distributions (Bernoulli(logits).log_prob, Normal(mean, sigma).log_prob, constant
included) and its KL from torch.distributions.kl_divergence, so agreement also checks our
hand-written densities. tests/models/test_vae.py runs a short float64 version of this.
"""
import argparse
import statistics
import time

import numpy as np
import torch
from torch import nn as tnn

from scratchgen.models.vae import NOISE_LR_FACTOR
from scratchgen.training import make_config
from scratchgen.training.loop import build


# ---- the PyTorch twin (module names match ours, so state dicts map one to one) ----------------
class TorchMLPEncoder(tnn.Module):
    def __init__(self, pixels, hidden, latent):
        super().__init__()
        self.body = tnn.Sequential(tnn.Linear(pixels, hidden), tnn.ReLU(),
                                   tnn.Linear(hidden, hidden), tnn.ReLU())
        self.mu = tnn.Linear(hidden, latent)
        self.logvar = tnn.Linear(hidden, latent)

    def forward(self, x):
        h = self.body(x.flatten(1))
        return self.mu(h), self.logvar(h)


class TorchMLPDecoder(tnn.Module):
    def __init__(self, image_shape, hidden, latent):
        super().__init__()
        self.image_shape = tuple(image_shape)
        self.net = tnn.Sequential(tnn.Linear(latent, hidden), tnn.ReLU(),
                                  tnn.Linear(hidden, hidden), tnn.ReLU(),
                                  tnn.Linear(hidden, int(np.prod(image_shape))))

    def forward(self, z):
        return self.net(z).reshape(z.shape[0], *self.image_shape)


class TorchConvEncoder(tnn.Module):
    def __init__(self, image_shape, channels, hidden, latent):
        super().__init__()
        c, h, w = image_shape
        self.features = tnn.Sequential(
            tnn.Conv2d(c, channels, 3, padding=1), tnn.ReLU(),
            tnn.Conv2d(channels, 2 * channels, 4, stride=2, padding=1), tnn.ReLU(),
            tnn.Flatten(), tnn.Linear(2 * channels * (h // 2) * (w // 2), hidden), tnn.ReLU())
        self.mu = tnn.Linear(hidden, latent)
        self.logvar = tnn.Linear(hidden, latent)

    def forward(self, x):
        h = self.features(x)
        return self.mu(h), self.logvar(h)


class TorchConvDecoder(tnn.Module):
    def __init__(self, image_shape, channels, hidden, latent):
        super().__init__()
        c, h, w = image_shape
        self.grid = (2 * channels, h // 2, w // 2)
        self.fc = tnn.Sequential(tnn.Linear(latent, hidden), tnn.ReLU(),
                                 tnn.Linear(hidden, int(np.prod(self.grid))), tnn.ReLU())
        self.deconv = tnn.Sequential(
            tnn.ConvTranspose2d(2 * channels, channels, 4, stride=2, padding=1), tnn.ReLU(),
            tnn.Conv2d(channels, c, 3, padding=1))

    def forward(self, z):
        return self.deconv(self.fc(z).reshape(z.shape[0], *self.grid))


class TorchNoise(tnn.Module):
    def __init__(self):
        super().__init__()
        self.logvar = tnn.Parameter(torch.zeros(1))


class TorchVAE(tnn.Module):
    """The same model as scratchgen's VAE, built from torch.nn and torch.distributions."""

    def __init__(self, ours):
        super().__init__()
        c, shape = ours.config, tuple(ours.dataset.shape)
        self.likelihood = ours.likelihood
        latent = c["latent_dim"]
        if ours.architecture == "mlp":
            self.encoder = TorchMLPEncoder(int(np.prod(shape)), c["hidden"], latent)
            self.decoder = TorchMLPDecoder(shape, c["hidden"], latent)
        else:
            self.encoder = TorchConvEncoder(shape, c["channels"], c["hidden"], latent)
            self.decoder = TorchConvDecoder(shape, c["channels"], c["hidden"], latent)
        if self.likelihood == "gaussian":
            if c["fixed_variance"] is not None:
                raise ValueError("the torch twin covers the learned pixel variance only")
            self.noise = TorchNoise()
        dtype = torch.float64 if ours.dtype == np.float64 else torch.float32
        self.to(dtype)
        self.load_weights_of(ours)

    def load_weights_of(self, ours):
        """Copy our initial weights in: the same dotted names on both sides."""
        state = {f"{net_name}.{key}": torch.from_numpy(np.array(value))
                 for net_name, net in ours.networks.items()
                 for key, value in net.state_dict().items()}
        self.load_state_dict(state, strict=True)

    def loss(self, x, eps):
        """-ELBO per image, K&W eq. (10): KL(q || p) - log p(x | z), z = mu + sigma eps."""
        D = torch.distributions
        mu, logvar = self.encoder(x)
        sigma = torch.exp(0.5 * logvar)
        z = mu + sigma * eps
        decoded = self.decoder(z)
        if self.likelihood == "bernoulli":
            log_px_z = D.Bernoulli(logits=decoded).log_prob(x).flatten(1).sum(1)
        else:
            pixel_sigma = torch.exp(0.5 * self.noise.logvar)
            log_px_z = D.Normal(decoded, pixel_sigma).log_prob(x).flatten(1).sum(1)
        kl = D.kl_divergence(D.Normal(mu, sigma), D.Normal(torch.zeros_like(mu),
                                                           torch.ones_like(mu))).sum(1)
        return (kl - log_px_z).mean()


# ---- side by side ------------------------------------------------------------------------------
def side_by_side(dataset="digits-binary", steps=20, dtype="float64", seed=0, **options):
    """Train ours and the twin for `steps` steps on the same batches and noise.
    Returns (our losses, torch losses, our step times, torch step times) (seconds)."""
    if dataset != "digits-binary":
        # dequantisation noise is drawn inside our train_step; the twin would not see it
        options.setdefault("dequantize", False)
    config = make_config("vae", dataset=dataset, dtype=dtype, seed=seed, out="unused",
                         **options)
    _, ours = build(config)
    twin = TorchVAE(ours)
    groups = [{"params": [*twin.encoder.parameters(), *twin.decoder.parameters()]}]
    if ours.likelihood == "gaussian":  # the same two learning rates as ours
        groups.append({"params": twin.noise.parameters(), "lr": NOISE_LR_FACTOR * config["lr"]})
    opt = torch.optim.Adam(groups, lr=config["lr"])
    rng = np.random.default_rng(seed)
    ours_losses, torch_losses, ours_times, torch_times = [], [], [], []
    for _ in range(steps):
        batch = ours.next_batch(rng)                                     # (B, C, H, W)
        eps = rng.standard_normal((len(batch), config["latent_dim"])).astype(ours.dtype)

        start = time.perf_counter()
        ours_losses.append(ours.train_step(batch, eps=eps)["loss"])
        ours_times.append(time.perf_counter() - start)

        start = time.perf_counter()
        opt.zero_grad()
        loss = twin.loss(torch.from_numpy(batch.astype(ours.dtype)), torch.from_numpy(eps))
        loss.backward()
        opt.step()
        torch_losses.append(loss.item())
        torch_times.append(time.perf_counter() - start)
    return np.array(ours_losses), np.array(torch_losses), ours_times, torch_times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="digits-binary", choices=["digits-binary", "digits"])
    parser.add_argument("--steps", type=int, default=20, help="steps compared in float64")
    parser.add_argument("--time-steps", type=int, default=200,
                        help="steps timed in float32 (the training precision)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS / torch threads, both sides")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from threadpoolctl import threadpool_limits
    torch.set_num_threads(args.threads)
    with threadpool_limits(args.threads):
        ours, theirs, _, _ = side_by_side(args.dataset, args.steps, "float64", args.seed)
        print(f"{args.dataset}: {args.steps} steps in float64")
        for step in (0, 1, args.steps // 2, args.steps - 1):
            print(f"  step {step + 1:3d}  scratchgen {ours[step]:.15f}  torch {theirs[step]:.15f}")
        print(f"  max |loss difference| over {args.steps} steps: {np.abs(ours - theirs).max():.3g}")

        ours32, theirs32, ours_t, theirs_t = side_by_side(args.dataset, args.time_steps,
                                                          "float32", args.seed)
        warm = max(1, args.time_steps // 10)  # leave out the first steps (allocations)
        ours_ms = 1e3 * statistics.median(ours_t[warm:])
        theirs_ms = 1e3 * statistics.median(theirs_t[warm:])
        print(f"float32, {args.time_steps} steps, {args.threads} thread(s): max |loss "
              f"difference| {np.abs(ours32 - theirs32).max():.3g} "
              f"(final losses {ours32[-1]:.4f} / {theirs32[-1]:.4f})")
        print(f"  median step time: scratchgen {ours_ms:.2f} ms, torch {theirs_ms:.2f} ms "
              f"(ratio {ours_ms / theirs_ms:.2f})")


if __name__ == "__main__":
    main()
