"""DCGAN networks (Radford, Metz and Chintala 2016, "Unsupervised representation learning with
deep convolutional generative adversarial networks") for small grey images: 1x8x8 digits and
1x28x28 MNIST (any side divisible by 4).

The paper's architecture guidelines (section 3), all followed here:
  * no pooling: strided convolutions in D, fractionally-strided (transposed) ones in G;
  * batch norm in G, and in D except its first layer;
  * no fully connected hidden layers;
  * ReLU in G with tanh on the output; LeakyReLU (slope 0.2) in D;
  * weights initialised from N(0, 0.02) (section 4).

    Generator      z (B, Z) -> (B, Z, 1, 1)
                   -convT kxk->   (B, 4c, H/4, W/4)  BN ReLU     (k = H/4: the "projection")
                   -convT 4x4/2-> (B, 2c, H/2, W/2)  BN ReLU
                   -convT 4x4/2-> (B, C, H, W)       tanh
    Discriminator  x (B, C, H, W)
                   -conv 4x4/2->  (B, c, H/2, W/2)   LeakyReLU   (no norm on the first layer)
                   -conv 4x4/2->  (B, 2c, H/4, W/4)  norm LeakyReLU
                   -conv kxk->    (B, 1, 1, 1)       a logit (or a WGAN critic score)

For WGAN-GP (Gulrajani et al. 2017, section 4) the critic must not use batch norm: the
gradient penalty is taken per input, and batch norm makes each score depend on the whole
batch. They suggest layer normalisation instead; `norm="layer"` uses GroupNorm with one group,
which normalises each sample over (C, H, W) as layer norm does, with a per-channel affine.
"""

from .. import nn

NORMS = ("batch", "layer", "none")


def dcgan_init(module):
    """Radford et al., section 4: every weight from N(0, 0.02); norm scales from N(1, 0.02)."""
    for sub in module.modules():
        if isinstance(sub, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(sub.weight, 0.0, 0.02)
            if sub.bias is not None:
                nn.init.zeros_(sub.bias)
        elif isinstance(sub, (nn.BatchNorm2d, nn.GroupNorm)) and sub.weight is not None:
            nn.init.normal_(sub.weight, 1.0, 0.02)
            nn.init.zeros_(sub.bias)


def normalization(kind, channels):
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)  # one group: statistics over (C, H, W) of each sample
    if kind == "none":
        return None
    raise ValueError(f"unknown normalisation {kind!r}; choose one of {NORMS}")


def quarter_side(image_shape):
    _, height, width = image_shape
    if height % 4 or width % 4 or height != width:
        raise ValueError(f"the DCGAN networks need square images with sides divisible by 4, "
                         f"got {height}x{width}")
    return height // 4


class DCGANGenerator(nn.Module):
    def __init__(self, image_shape, latent_dim=64, channels=64):
        super().__init__()
        c_out, k, c = image_shape[0], quarter_side(image_shape), channels
        self.latent_dim = latent_dim
        self.net = nn.Sequential(
            nn.ConvTranspose2d(latent_dim, 4 * c, k, bias=False),                  # 1 -> H/4
            nn.BatchNorm2d(4 * c), nn.ReLU(),
            nn.ConvTranspose2d(4 * c, 2 * c, 4, stride=2, padding=1, bias=False),  # -> H/2
            nn.BatchNorm2d(2 * c), nn.ReLU(),
            nn.ConvTranspose2d(2 * c, c_out, 4, stride=2, padding=1),              # -> H
            nn.Tanh())
        dcgan_init(self)

    def forward(self, z):
        return self.net(z.reshape(z.shape[0], self.latent_dim, 1, 1))  # (B, Z) -> (B, C, H, W)


class DCGANDiscriminator(nn.Module):
    """pack > 1 (PacGAN, Lin et al. 2018): D judges `pack` images at once, stacked along the
    channels as in PacGAN's own image experiments: (B, C, H, W) -> (B / pack, pack C, H, W)."""

    def __init__(self, image_shape, channels=64, norm="batch", pack=1):
        super().__init__()
        k, c = quarter_side(image_shape), channels
        self.pack = pack
        second_norm = normalization(norm, 2 * c)
        layers = [nn.Conv2d(pack * image_shape[0], c, 4, stride=2, padding=1),            # -> H/2
                  nn.LeakyReLU(0.2),
                  nn.Conv2d(c, 2 * c, 4, stride=2, padding=1, bias=second_norm is None)]  # -> H/4
        layers += [second_norm] if second_norm is not None else []
        layers += [nn.LeakyReLU(0.2), nn.Conv2d(2 * c, 1, k)]                               # -> 1
        self.net = nn.Sequential(*layers)
        dcgan_init(self)

    def forward(self, x):
        b, c, h, w = x.shape
        packs = x.reshape(b // self.pack, self.pack * c, h, w)  # (B / pack, pack C, H, W)
        return self.net(packs).reshape(-1)                      # (B / pack,)
