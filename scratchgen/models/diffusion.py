"""Denoising diffusion probabilistic models (DDPM, Ho et al. 2020) with the DDPM ancestral
sampler and the deterministic-or-not DDIM sampler (Song et al. 2021).

Forward (noising) process, with a linear schedule beta_1 .. beta_T (1e-4 .. 0.02, T = 1000):
    q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1}, beta_t I)                       (Ho eq. 2)
    alpha_t = 1 - beta_t,   alphabar_t = prod_{s <= t} alpha_s
    q(x_t | x_0)     = N(sqrt(alphabar_t) x_0, (1 - alphabar_t) I)                 (Ho eq. 4)

Training: predict the noise that was added (the "simple" objective):
    L = E_{t, x_0, eps} || eps - eps_theta(sqrt(alphabar_t) x_0 + sqrt(1 - alphabar_t) eps, t) ||^2
                                                                                  (Ho eq. 14)
Sampling, DDPM (Ho Algorithm 2), for t = T .. 1, z ~ N(0, I) (z = 0 at t = 1):
    x_{t-1} = (x_t - beta_t / sqrt(1 - alphabar_t) eps_theta(x_t, t)) / sqrt(alpha_t) + sigma_t z
    with sigma_t^2 = beta_t
Sampling, DDIM (Song eq. 12) on a sub-sequence of steps tau_1 < ... < tau_S:
    x0_hat  = (x_t - sqrt(1 - alphabar_t) eps_theta) / sqrt(alphabar_t)
    x_prev  = sqrt(alphabar_prev) x0_hat + sqrt(1 - alphabar_prev - sigma^2) eps_theta + sigma z
    sigma   = eta sqrt((1 - alphabar_prev) / (1 - alphabar_t)) sqrt(1 - alphabar_t / alphabar_prev)
eta = 0 is deterministic; eta = 1 with every step is DDPM with sigma_t^2 = betatilde_t.

Trap (docs/references.md): with these beta endpoints a small T leaves alphabar_T far from 0
(about 0.6 at T = 50), so x_T would not be N(0, I). `NoiseSchedule` warns about it.

On the 2D mixtures the modes are ~0.015 wide in standardised units, so eps_theta must be
steep near them. Two choices get there within minutes on a CPU (docs/results-2d.md): the
denoiser sees sinusoidal features of x_t besides x_t itself (`Denoiser2D`), and the
learning rate decays to 0 along a cosine over the run. In 6000-step trials on ring8 the
features alone raised hq_fraction (DDPM sampler) from 0.28 to 0.96.

Images (`--dataset digits`, or any image dataset): the same training and samplers with the
U-Net of `unet.py` as eps_theta, and, as in Ho et al. (appendix B), samples drawn with an
exponential moving average of the weights (`--ema`, the decay per step):

    theta_ema <- decay theta_ema + (1 - decay) theta          after every update

The final samples are clipped to the data's range ([-1, 1] for digits), as in Ho et al.'s code. The
metrics use the configured sampler only (DDIM with 50 steps on images: a DDPM pass over
1437 images is 1000 U-Net evaluations, about 20 times longer).
"""
import warnings

import numpy as np

from .. import nn, optim
from ..engine import random as sg_random
from ..engine.function import no_grad
from ..engine.tensor import Tensor
from ..engine.creation import concatenate
from ..functional import mse_loss
from ..metrics import SAMPLES_2D
from ..metrics.images import image_metrics
from .base import Evaluation, GenerativeModel, no_progress
from .common import (cosine_decay, evaluate_2d, mlp, samples_picture,
                     sinusoidal_embedding, sinusoidal_features_2d)
from .options import Option, when
from .unet import UNet

SAMPLERS = ("ddpm", "ddim")


class NoiseSchedule:
    """beta_t, alpha_t and alphabar_t for t = 1 .. T, stored at index t - 1 (float64)."""

    def __init__(self, steps=1000, beta_start=1e-4, beta_end=0.02):
        if steps < 1:
            raise ValueError(f"diffusion needs at least one step, got T={steps}")
        self.T = steps
        self.betas = np.linspace(beta_start, beta_end, steps, dtype=np.float64)
        self.alphas = 1.0 - self.betas
        self.alphabar = np.cumprod(self.alphas)
        if self.alphabar[-1] > 0.01:
            warnings.warn(f"with T={steps} the final alphabar is {self.alphabar[-1]:.3g}: x_T is "
                          "far from N(0, I) and samples will be poor; use T of several hundred",
                          stacklevel=2)

    def alphabar_at(self, t):
        """alphabar_t for integer t in 1..T, and 1 for t = 0 (no noise yet)."""
        t = np.asarray(t)
        return np.where(t > 0, self.alphabar[np.maximum(t, 1) - 1], 1.0)

    def q_sample(self, x0, t, eps):
        """x_t = sqrt(alphabar_t) x0 + sqrt(1 - alphabar_t) eps    (Ho eq. 4), arrays."""
        ab = self.alphabar_at(t).reshape((-1,) + (1,) * (x0.ndim - 1))
        return np.sqrt(ab) * x0 + np.sqrt(1 - ab) * eps

    def ddpm_step(self, x_t, t, eps_hat, z):
        """One ancestral step x_t -> x_{t-1} (Ho Algorithm 2, sigma_t^2 = beta_t)."""
        beta, alpha, ab = self.betas[t - 1], self.alphas[t - 1], self.alphabar[t - 1]
        mean = (x_t - beta / np.sqrt(1 - ab) * eps_hat) / np.sqrt(alpha)
        return mean + (np.sqrt(beta) * z if t > 1 else 0.0)

    def ddim_sigma(self, t, t_prev, eta):
        """sigma = eta sqrt((1 - alphabar_prev) / (1 - alphabar_t)) sqrt(1 - alphabar_t /
        alphabar_prev)   (Song eq. 16); with t_prev = t - 1 and eta = 1 it is sqrt(betatilde_t)."""
        ab, ab_prev = self.alphabar_at(t), self.alphabar_at(t_prev)
        return eta * np.sqrt((1 - ab_prev) / (1 - ab)) * np.sqrt(1 - ab / ab_prev)

    def ddim_step(self, x_t, t, t_prev, eps_hat, z, eta=0.0):
        """One DDIM step x_t -> x_{t_prev} (Song et al. 2021, eq. 12)."""
        ab, ab_prev = self.alphabar_at(t), self.alphabar_at(t_prev)
        x0_hat = (x_t - np.sqrt(1 - ab) * eps_hat) / np.sqrt(ab)
        sigma = self.ddim_sigma(t, t_prev, eta)
        direction = np.sqrt(np.maximum(1 - ab_prev - sigma ** 2, 0.0)) * eps_hat
        return np.sqrt(ab_prev) * x0_hat + direction + sigma * z

    def ddim_timesteps(self, sample_steps):
        """An evenly spaced decreasing sub-sequence T = tau_S > ... > tau_1 >= 1."""
        if not 1 <= sample_steps <= self.T:
            raise ValueError(f"--sample-steps must be in [1, {self.T}], got {sample_steps}")
        return np.unique(np.linspace(1, self.T, sample_steps).round().astype(int))[::-1]


class Denoiser2D(nn.Module):
    """eps_theta(x_t, t) for 2D points: an MLP with SiLU on

        [x_t, features(x_t), embedding(t)]        (B, 2 + 2 x_features + time_dim)

    where features are sinusoids of each coordinate (`sinusoidal_features_2d`): the data's
    modes are ~0.014 wide in standardised units, and the optimal eps_theta near a mode at
    small t has slopes of 1 / sqrt(sigma_mode^2 + 1 - alphabar_t) ~ 30-70, which a plain MLP on
    raw coordinates learns slowly."""

    def __init__(self, dim=2, hidden=128, layers=3, time_dim=32, x_features=32, x_scale=30.0):
        super().__init__()
        self.time_dim, self.x_features, self.x_scale = time_dim, x_features, x_scale
        inputs = dim + dim * x_features + time_dim
        self.net = mlp([inputs, *[hidden] * layers, dim], activation=nn.SiLU)

    def forward(self, x, t):
        """x: (B, 2) float32 Tensor, t: (B,) integer array -> (B, 2) Tensor."""
        parts = [x]                                                  # (B, 2)
        if self.x_features:
            parts.append(sinusoidal_features_2d(x.data, self.x_features, self.x_scale))  # (B, 2F)
        parts.append(sinusoidal_embedding(t, self.time_dim))        # (B, time_dim)
        return self.net(concatenate(parts, axis=1))


class Diffusion(GenerativeModel):
    name = "diffusion"
    description = ("DDPM (Ho et al. 2020) with DDPM and DDIM samplers; MLP denoiser on 2D data, "
                   "U-Net on images")
    dataset_kinds = ("2d", "image")
    default_dataset = "ring8"
    options = (
        Option("steps", 40000, "total optimisation steps"),
        Option("batch_size", 256, "minibatch size"),
        Option("lr", 2e-3, "learning rate", minimum=0.0),
        Option("timesteps", 1000, "diffusion length T"),
        Option("beta_start", 1e-4, "beta_1 of the linear schedule", minimum=0.0, maximum=1.0),
        Option("beta_end", 0.02, "beta_T of the linear schedule", minimum=0.0, maximum=1.0),
        Option("hidden", 128, "2D: width of the denoiser's hidden layers"),
        Option("layers", 3, "2D: hidden layers of the denoiser"),
        Option("time_dim", 32, "2D: size of the sinusoidal time embedding"),
        Option("x_features", 32, "2D: sinusoidal features per coordinate (0: none)", minimum=0),
        Option("x_scale", 30.0, "2D: highest frequency of those features", minimum=0.0),
        Option("channels", 16, "images: base channels of the U-Net"),
        Option("heads", 4, "images: heads of the U-Net's self-attention"),
        Option("ema", 0.0, "decay of the weights' moving average used to sample "
                           "(0: sample with the trained weights)", minimum=0.0),
        Option("lr_decay", "cosine", "learning-rate schedule over the run",
               choices=("cosine", "none")),
        Option("sampler", "ddpm", "sampler for metrics and pictures", choices=SAMPLERS),
        Option("sample_steps", 50, "DDIM: number of sampling steps"),
        Option("eta", 0.0, "DDIM: 0 deterministic, 1 ancestral-like", minimum=0.0),
    )
    # Measured in docs/results-images.md: on digits a constant lr with EMA sampling beat the
    # cosine decay, and DDIM with 50 steps is within 3 FD points of DDPM at 1/20 of the time.
    cases = {
        when(dataset_kind="image"): {"steps": 2000, "batch_size": 64, "lr_decay": "none",
                                     "ema": 0.995, "sampler": "ddim"},
    }
    sample_options = ("sampler", "sample_steps", "eta")

    def build(self):
        c = self.config
        self.schedule = NoiseSchedule(c["timesteps"], c["beta_start"], c["beta_end"])
        if not 0.0 <= c["ema"] < 1.0:
            raise ValueError(f"--ema must be in [0, 1), got {c['ema']}")
        self.denoiser = self.make_denoiser()
        self.networks = {"denoiser": self.denoiser}
        if c["ema"]:
            self.ema_denoiser = self.make_denoiser()  # starts as a copy of the denoiser
            self.ema_denoiser.load_state_dict(self.denoiser.state_dict())
            self.networks["ema_denoiser"] = self.ema_denoiser
        if self.dataset.kind == "image":
            self.shift, self.scale = 0.0, 1.0  # images already lie in [-1, 1]
        else:
            # Standardised coordinates, so one network fits ring8 (radius 1) and grid25
            # (spread 4): x_model = (x - shift) / scale.
            self.shift = self.dataset.train.mean(axis=0)
            self.scale = float(self.dataset.train.std())
        self.optimizers = {"denoiser": optim.Adam(self.denoiser.parameters(), lr=c["lr"])}
        if c["lr_decay"] == "cosine":
            self.schedulers = cosine_decay(self.optimizers, c["steps"])

    def make_denoiser(self):
        c = self.config
        if self.dataset.kind == "image":
            return UNet(self.dataset.shape, c["channels"], c["heads"])
        return Denoiser2D(self.dataset.shape[0], c["hidden"], c["layers"], c["time_dim"],
                          c["x_features"], c["x_scale"])

    def update_ema(self):
        """theta_ema <- decay theta_ema + (1 - decay) theta, in place."""
        decay = self.config["ema"]
        for ema, p in zip(self.ema_denoiser.parameters(), self.denoiser.parameters()):
            ema.data *= decay
            ema.data += (1 - decay) * p.data

    def train_step(self, batch):
        rng = sg_random.generator()
        x0 = (batch - self.shift) / self.scale
        t = rng.integers(1, self.schedule.T + 1, len(batch))     # t ~ U{1..T}
        eps = rng.standard_normal(x0.shape)
        x_t = self.schedule.q_sample(x0, t, eps).astype(np.float32)
        opt = self.optimizers["denoiser"]
        opt.zero_grad()
        loss = mse_loss(self.denoiser(Tensor(x_t), t), Tensor(eps.astype(np.float32)))  # eq. 14
        loss.backward()
        opt.step()
        if self.config["ema"]:
            self.update_ema()
        self.step_schedulers()
        return {"loss": loss.item()}

    def predict_noise(self, x_t, t):
        """eps_theta(x_t, t) from the averaged weights when --ema is on; float64 array."""
        network = self.ema_denoiser if self.config["ema"] else self.denoiser
        with no_grad():
            return network(Tensor(x_t.astype(np.float32)),
                           np.full(len(x_t), t)).numpy().astype(np.float64)

    def sample(self, n, sampler=None, sample_steps=None, eta=None, x_T=None,
               progress=no_progress, **options):
        """n points (or images) from x_T ~ N(0, I) (or the given x_T, in model units);
        progress(label, done, total) hears of each denoising step."""
        c, s, rng = self.config, self.schedule, sg_random.generator()
        sampler = sampler or c["sampler"]
        # x_T ~ N(0, I): (n, 2) points or (n, C, H, W) images
        x = rng.standard_normal((n, *self.dataset.shape)) if x_T is None else np.array(x_T)
        label = f"{sampler} sampling"
        if sampler == "ddpm":
            for t in range(s.T, 0, -1):
                x = s.ddpm_step(x, t, self.predict_noise(x, t), rng.standard_normal(x.shape))
                progress(label, s.T - t + 1, s.T)
        elif sampler == "ddim":
            eta = c["eta"] if eta is None else eta
            steps = s.ddim_timesteps(sample_steps or c["sample_steps"])
            for i, (t, t_prev) in enumerate(zip(steps, list(steps[1:]) + [0])):
                x = s.ddim_step(x, t, t_prev, self.predict_noise(x, t),
                                rng.standard_normal(x.shape), eta)
                progress(label, i + 1, len(steps))
        else:
            raise ValueError(f"unknown sampler {sampler!r}; choose 'ddpm' or 'ddim'")
        if self.dataset.kind == "image":
            return np.clip(x, *self.dataset.value_range()).astype(np.float32)
        return (x * self.scale + self.shift).astype(np.float32)

    def evaluate(self, rng, progress=no_progress):
        """2D: metrics of SAMPLES_2D samples from each sampler (DDIM ones prefixed
        ddim_). Images: FD and class coverage of as many samples as training images, from the
        configured sampler. The samples of the configured sampler go to the pictures."""
        sampler = self.config["sampler"]
        if self.dataset.kind == "image":
            samples = self.sample(len(self.dataset.train), progress=progress)
            return Evaluation(image_metrics(samples, self.dataset), samples)
        drawn = {name: self.sample(SAMPLES_2D, sampler=name, progress=progress)
                 for name in SAMPLERS}
        metrics = evaluate_2d(drawn["ddpm"], self.dataset, rng)
        ddim = evaluate_2d(drawn["ddim"], self.dataset, rng)
        metrics.update({f"ddim_{k}": v for k, v in ddim.items()})
        return Evaluation(metrics, drawn[sampler])

    def samples_picture(self, samples, name="samples.png", sampler=None):
        sampler = sampler or self.config["sampler"]
        return samples_picture(samples, self.dataset, name,
                               f"DDPM on {self.dataset.name} ({sampler} sampler)")
