"""A small U-Net noise predictor eps_theta(x_t, t) for images (Ho et al. 2020, appendix B,
shrunk for 8x8 digits; Ronneberger et al. 2015 for the U shape).

    x_t (B, C, H, W)
      conv3x3 ------------------------------------------------------> (B, c, H, W)
      ResBlock(c -> c)                                 skip h1         (B, c, H, W)
      conv3x3 stride 2 (downsample)                                    (B, c, H/2, W/2)
      ResBlock(c -> 2c)                                skip h2         (B, 2c, H/2, W/2)
      ResBlock, SelfAttention, ResBlock  (the middle, at H/2)
      [., h2] -> ResBlock(4c -> 2c)
      nearest upsample x2, conv3x3                                     (B, 2c, H, W)
      [., h1] -> ResBlock(3c -> c)
      GroupNorm, SiLU, conv3x3 -> eps_hat                              (B, C, H, W)

Every ResBlock sees the time t through its sinusoidal embedding (Vaswani et al. 2017, 3.5)
passed through a 2-layer MLP, added to its hidden channels as in Ho et al.'s code:

    h = conv(SiLU(GroupNorm(x))) + Linear(SiLU(temb))[:, :, None, None]
    out = skip(x) + conv(SiLU(GroupNorm(h)))

The self-attention block treats the (H/2)(W/2) positions as tokens (Vaswani et al. 2017 eq. 1,
via F.scaled_dot_product_attention) and is added back to its input. The last convolution starts
at zero (Ho et al.'s code), so the untrained network predicts eps_hat = 0.
"""

from .. import functional as F
from .. import nn
from ..engine.creation import concatenate
from .common import sinusoidal_embedding


def group_norm(channels, groups=8):
    """GroupNorm with up to `groups` groups (fewer when channels are not divisible)."""
    while channels % groups:
        groups -= 1
    return nn.GroupNorm(groups, channels)


class ResidualBlock(nn.Module):
    def __init__(self, c_in, c_out, time_dim):
        super().__init__()
        self.norm1 = group_norm(c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.time = nn.Linear(time_dim, c_out)
        self.norm2 = group_norm(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else None

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))                 # (B, c_in, H, W) -> (B, c_out, H, W)
        h = h + self.time(F.silu(temb))[:, :, None, None]     # + (B, c_out, 1, 1)
        h = self.conv2(F.silu(self.norm2(h)))
        return (x if self.skip is None else self.skip(x)) + h


class SelfAttention(nn.Module):
    """Multi-head self-attention over the H W positions, with a residual connection."""

    def __init__(self, channels, heads=4):
        super().__init__()
        if channels % heads:
            raise ValueError(f"{channels} channels cannot be split into {heads} heads")
        self.heads = heads
        self.norm = group_norm(channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.out = nn.Conv2d(channels, channels, 1)

    def forward(self, x):
        b, c, h, w = x.shape
        d = c // self.heads
        qkv = self.qkv(self.norm(x)).reshape(b, 3, self.heads, d, h * w)  # (B, 3C, H, W) -> ...
        qkv = qkv.transpose(1, 0, 2, 4, 3)                                   # (3, B, heads, HW, d)
        q, k, v = qkv[0], qkv[1], qkv[2]
        y = F.scaled_dot_product_attention(q, k, v)                          # (B, heads, HW, d)
        y = y.transpose(0, 1, 3, 2).reshape(b, c, h, w)                      # -> (B, C, H, W)
        return x + self.out(y)


class UNet(nn.Module):
    """eps_theta(x_t, t): (B, C, H, W) images (H, W even) and (B,) integer times -> (B, C, H, W)."""

    def __init__(self, image_shape, channels=32, heads=4):
        super().__init__()
        c_img, height, width = image_shape
        if height % 2 or width % 2:
            raise ValueError(f"the U-Net needs even image sides, got {height}x{width}")
        c, time_dim = channels, 4 * channels
        self.channels = c
        self.time_mlp = nn.Sequential(nn.Linear(c, time_dim), nn.SiLU(), nn.Linear(time_dim, time_dim))
        self.conv_in = nn.Conv2d(c_img, c, 3, padding=1)
        self.down1 = ResidualBlock(c, c, time_dim)
        self.downsample = nn.Conv2d(c, c, 3, stride=2, padding=1)
        self.down2 = ResidualBlock(c, 2 * c, time_dim)
        self.mid1 = ResidualBlock(2 * c, 2 * c, time_dim)
        self.attention = SelfAttention(2 * c, heads)
        self.mid2 = ResidualBlock(2 * c, 2 * c, time_dim)
        self.up2 = ResidualBlock(4 * c, 2 * c, time_dim)
        self.upsample = nn.Conv2d(2 * c, 2 * c, 3, padding=1)
        self.up1 = ResidualBlock(3 * c, c, time_dim)
        self.norm_out = group_norm(c)
        self.conv_out = nn.Conv2d(c, c_img, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    def forward(self, x, t):
        temb = self.time_mlp(sinusoidal_embedding(t, self.channels))   # (B,) -> (B, 4c)
        h1 = self.down1(self.conv_in(x), temb)                          # (B, c, H, W)
        h2 = self.down2(self.downsample(h1), temb)                      # (B, 2c, H/2, W/2)
        h = self.mid2(self.attention(self.mid1(h2, temb)), temb)        # (B, 2c, H/2, W/2)
        h = self.up2(concatenate([h, h2], axis=1), temb)                # (B, 4c, .) -> (B, 2c, .)
        h = self.upsample(F.interpolate(h, scale_factor=2))             # (B, 2c, H, W)
        h = self.up1(concatenate([h, h1], axis=1), temb)                # (B, 3c, .) -> (B, c, .)
        return self.conv_out(F.silu(self.norm_out(h)))                  # (B, C, H, W)
