"""The networks of the VAE (models/vae.py): encoders q(z|x) and decoders p(x|z) for flat and for
convolutional images, and the Gaussian decoder's pixel variance. The equations they serve are
in vae.py; here are only their shapes."""
import math

import numpy as np

from .. import nn
from ..engine.tensor import Tensor
from .common import mlp


# ---- networks ----------------------------------------------------------------------------------
class MLPEncoder(nn.Module):
    """q(z|x) for flat images: x (B, C, H, W) -> (B, D) -> two ReLU layers -> mu, logvar (B, L)."""

    def __init__(self, image_shape, hidden, latent_dim):
        super().__init__()
        pixels = math.prod(image_shape)
        self.body = mlp([pixels, hidden, hidden], final_activation=nn.ReLU)
        self.mu = nn.Linear(hidden, latent_dim)
        self.logvar = nn.Linear(hidden, latent_dim)  # log sigma^2

    def forward(self, x):
        h = self.body(x.reshape(x.shape[0], -1))  # (B, D) -> (B, hidden)
        return self.mu(h), self.logvar(h)         # (B, L), (B, L)


class MLPDecoder(nn.Module):
    """p(x|z) parameters: z (B, L) -> two ReLU layers -> (B, C, H, W) (logits or means)."""

    def __init__(self, image_shape, hidden, latent_dim):
        super().__init__()
        self.image_shape = tuple(image_shape)
        self.net = mlp([latent_dim, hidden, hidden, math.prod(image_shape)])

    def forward(self, z):
        return self.net(z).reshape(z.shape[0], *self.image_shape)  # (B, D) -> (B, C, H, W)


class ConvEncoder(nn.Module):
    """q(z|x) for images with even H, W:
        (B, C, H, W) -conv3x3-> (B, c, H, W) -conv4x4/2-> (B, 2c, H/2, W/2)
        -flatten-> (B, 2c H W / 4) -linear-> (B, hidden) -> mu, logvar (B, L)."""

    def __init__(self, image_shape, channels, hidden, latent_dim):
        super().__init__()
        c_in, height, width = image_shape
        if height % 2 or width % 2:
            raise ValueError(f"the conv VAE needs even image sides, got {height}x{width}")
        self.features = nn.Sequential(
            nn.Conv2d(c_in, channels, 3, padding=1), nn.ReLU(),
            nn.Conv2d(channels, 2 * channels, 4, stride=2, padding=1), nn.ReLU(),
            nn.Flatten(),
            nn.Linear(2 * channels * (height // 2) * (width // 2), hidden), nn.ReLU())
        self.mu = nn.Linear(hidden, latent_dim)
        self.logvar = nn.Linear(hidden, latent_dim)  # log sigma^2

    def forward(self, x):
        h = self.features(x)                  # (B, C, H, W) -> (B, hidden)
        return self.mu(h), self.logvar(h)     # (B, L), (B, L)


class ConvDecoder(nn.Module):
    """The mirror image of ConvEncoder:
        z (B, L) -linear-> (B, hidden) -linear-> (B, 2c, H/2, W/2)
        -conv_transpose4x4/2-> (B, c, H, W) -conv3x3-> (B, C, H, W)."""

    def __init__(self, image_shape, channels, hidden, latent_dim):
        super().__init__()
        c_in, height, width = image_shape
        self.grid = (2 * channels, height // 2, width // 2)
        self.fc = nn.Sequential(nn.Linear(latent_dim, hidden), nn.ReLU(),
                                nn.Linear(hidden, math.prod(self.grid)), nn.ReLU())
        self.deconv = nn.Sequential(
            nn.ConvTranspose2d(2 * channels, channels, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(channels, c_in, 3, padding=1))

    def forward(self, z):
        h = self.fc(z).reshape(z.shape[0], *self.grid)  # (B, L) -> (B, 2c, H/2, W/2)
        return self.deconv(h)                           # -> (B, C, H, W)


class GaussianNoise(nn.Module):
    """The decoder's pixel noise: log sigma_x^2, one scalar for all pixels, learned (a
    Parameter, trained with the rest) or fixed (a constant)."""

    def __init__(self, fixed_variance=None):
        super().__init__()
        self.learned = fixed_variance is None
        if self.learned:
            self.logvar = nn.Parameter(np.zeros(1, dtype=np.float32))  # sigma_x^2 = 1 at start
        elif fixed_variance <= 0:
            raise ValueError(f"--fixed-variance must be positive, got {fixed_variance}")
        else:
            self.fixed_logvar = math.log(fixed_variance)

    def forward(self, like):
        """log sigma_x^2 as a one-element Tensor (of `like`'s dtype when fixed)."""
        if self.learned:
            return self.logvar
        return Tensor(np.full(1, self.fixed_logvar, dtype=like.dtype))

    def variance(self):
        """sigma_x^2 as a float."""
        return math.exp(float(self.logvar.data[0]) if self.learned else self.fixed_logvar)


def cast_parameters(module, dtype):
    """Convert every parameter of `module` to `dtype` in place (float64 for exact checks)."""
    for p in module.parameters():
        p.data = p.data.astype(dtype)
