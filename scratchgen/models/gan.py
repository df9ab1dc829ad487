"""Generative adversarial networks (Goodfellow et al. 2014), with the non-saturating loss
and the Wasserstein loss with gradient penalty (WGAN-GP, Gulrajani et al. 2017).

A generator G maps noise z ~ N(0, I) to data space; a discriminator (critic) D scores
points. The two are trained against each other.

Non-saturating GAN (Goodfellow et al. 2014, section 3):
    L_D = -E_x[log D(x)] - E_z[log(1 - D(G(z)))]          (D(.) = sigmoid of a logit)
    L_G = -E_z[log D(G(z))]                                 (instead of minimising log(1 - D))

WGAN-GP (Gulrajani et al. 2017, Algorithm 1):
    L_D = E_z[D(G(z))] - E_x[D(x)] + lambda E_xhat[(||grad_xhat D(xhat)||_2 - 1)^2]
          with xhat = eps x + (1 - eps) G(z), eps ~ U[0, 1]
    L_G = -E_z[D(G(z))]
The penalty differentiates D's input gradient with respect to D's weights: a second
derivative, which scratchgen gets by building the first gradient with create_graph=True.

Packing (PacGAN, Lin et al. 2018): the discriminator judges `pack` samples at once, so a
generator that repeats one mode is easy to spot. pack=1 is the plain GAN. Here each sample of
a pack is first embedded by a shared MLP and the pack's embeddings are concatenated before the
discriminator's last layers (`PackedDiscriminator`). Concatenating the raw points instead
(PacGAN's own D) asks D to resolve 25^4 tiny clusters in 8 dimensions on grid25: in our runs
its samples stayed blurred (hq_fraction 0.14 against 0.55 after 8000 steps).

Two more choices make the samples sharp on the 2D mixtures, whose modes are 0.01 (ring8) or
0.05 (grid25) wide: the learning rates decay to 0 along a cosine over the run (`lr_decay`),
so G stops moving once D has pulled it onto the modes; and on ring8 D sees its input scaled
up (`input_scale`), so its first layer can draw lines at the 0.01 scale of the modes.

Images (`--dataset digits`, or any image dataset): the same losses with the DCGAN networks of
`dcgan.py` (Radford et al. 2016) and their recipe: Adam with beta1 = 0.5, weights from
N(0, 0.02). Two more choices, measured in docs/results-images.md: D learns 4x faster than G
(the two time-scale update rule, TTUR, of Heusel et al. 2017: `--d-lr`), and both rates decay
along a cosine, which steadies the end of the run. With `--loss wgan-gp` the critic uses
layer norm instead of batch norm (`--norm layer`) and the recipe of Gulrajani et al.'s
Algorithm 1: lambda = 10, n_critic = 5, Adam lr 1e-4, betas (0, 0.9).
"""
import numpy as np

from .. import nn, optim
from ..engine import random as sg_random
from ..engine.autograd import grad
from ..engine.function import no_grad
from ..engine.tensor import Tensor
from ..functional import binary_cross_entropy_with_logits
from ..metrics import SAMPLES_2D
from ..metrics.images import image_metrics
from .base import Evaluation, GenerativeModel, no_progress
from .common import cosine_decay, evaluate_2d, mlp, samples_picture
from .dcgan import NORMS, DCGANDiscriminator, DCGANGenerator
from .options import Option, when

LOSSES = ("nonsaturating", "wgan-gp")


class PackedDiscriminator(nn.Module):
    """D on packs of `pack` samples: a shared per-sample embedding, then a head on the pack.

        x (B, 2) --* input_scale--> embed --> (B, H) --> (B / pack, pack H) --> head --> (B / pack,)
    """

    def __init__(self, dim=2, hidden=128, layers=3, pack=4, input_scale=1.0):
        super().__init__()
        self.pack, self.input_scale = pack, input_scale
        leaky = lambda: nn.LeakyReLU(0.2)  # noqa: E731
        # `layers` hidden layers in all: layers - 1 in the embedding, one in the head
        self.embed = mlp([dim, *[hidden] * max(1, layers - 1)], activation=leaky,
                         final_activation=leaky)
        self.head = mlp([pack * hidden, hidden, 1], activation=leaky)

    def forward(self, x):
        h = self.embed(x * self.input_scale)            # (B, 2) -> (B, H)
        # pack i holds samples i * pack .. i * pack + pack - 1, side by side
        packs = h.reshape(x.shape[0] // self.pack, -1)  # (B, H) -> (B / pack, pack H)
        return self.head(packs).reshape(-1)             # -> (B / pack,)


class GAN(GenerativeModel):
    name = "gan"
    description = ("GAN: MLPs on 2D data, DCGAN on images (non-saturating or WGAN-GP loss, "
                   "PacGAN packing)")
    dataset_kinds = ("2d", "image")
    default_dataset = "ring8"
    options = (
        Option("steps", 12000, "total optimisation steps (generator updates)"),
        Option("batch_size", 256, "minibatch size (of each of the n_critic D updates)"),
        Option("lr", 1e-3, "G's learning rate (and D's unless --d-lr)", minimum=0.0),
        Option("loss", "nonsaturating", "adversarial loss", choices=LOSSES),
        Option("latent_dim", 8, "dimension of the noise z"),
        Option("hidden", 128, "2D: width of the hidden layers"),
        Option("layers", 3, "2D: hidden layers in G and in D"),
        Option("channels", 32, "images: channels of D's first layer (G mirrors it)"),
        Option("norm", "batch", "images: normalisation in D (WGAN-GP needs layer or none)",
               choices=NORMS),
        Option("d_lr", None, "D's learning rate; None: the same as --lr", type=float,
               minimum=0.0),
        Option("pack", 4, "PacGAN packing degree (1 = plain GAN)"),
        Option("input_scale", 1.0, "2D: D sees x times this (module docstring)", minimum=0.0),
        Option("n_critic", 1, "discriminator steps per generator step"),
        Option("gp_weight", 0.1, "WGAN-GP penalty weight lambda", minimum=0.0),
        Option("beta1", 0.5, "Adam beta1", minimum=0.0),
        Option("beta2", 0.999, "Adam beta2", minimum=0.0),
        Option("lr_decay", "cosine", "learning-rate schedule over the run",
               choices=("cosine", "none")),
    )
    # Defaults that depend on the data or the loss, measured in docs/results-2d.md and
    # docs/results-images.md. The case with more conditions wins; the user's values always do.
    cases = {
        # ring8's modes are 0.01 wide: D's first layer sees them 100 times larger
        when(dataset="ring8"): {"input_scale": 100.0},
        when(dataset="grid25"): {"steps": 20000, "lr": 2e-3, "pack": 8},
        # Gulrajani et al. 2017, Algorithm 1: n_critic = 5. Each step is ~5x dearer, so fewer
        # steps; and D's input unscaled, since the penalty fixes D's slope in its input space.
        when(loss="wgan-gp"): {"n_critic": 5, "steps": 4000},
        when(dataset="ring8", loss="wgan-gp"): {"input_scale": 1.0},
        when(dataset="grid25", loss="wgan-gp"): {"steps": 4000},
        # DCGAN on images: Radford et al.'s z of 100 dimensions and beta1 0.5, TTUR lr.
        when(dataset_kind="image"): {"steps": 6000, "batch_size": 128, "latent_dim": 100,
                                     "lr": 1e-4, "d_lr": 4e-4},
        when(dataset_kind="image", loss="wgan-gp"): {
            "steps": 4000, "batch_size": 64, "lr": 1e-4, "d_lr": 1e-4, "beta1": 0.0,
            "beta2": 0.9, "gp_weight": 10.0, "norm": "layer"},
    }

    def build(self):
        c = self.config
        if c["batch_size"] % c["pack"]:
            raise ValueError(f"batch_size {c['batch_size']} must be divisible by pack {c['pack']}")
        if self.dataset.kind == "image":
            if c["loss"] == "wgan-gp" and c["norm"] == "batch":
                raise ValueError("--loss wgan-gp penalises D's gradient per input, which batch "
                                 "norm mixes across the batch: use --norm layer or --norm none")
            self.generator = DCGANGenerator(self.dataset.shape, c["latent_dim"], c["channels"])
            self.discriminator = DCGANDiscriminator(self.dataset.shape, c["channels"], c["norm"],
                                                    c["pack"])
        else:
            dim = self.dataset.shape[0]
            self.generator = mlp([c["latent_dim"], *[c["hidden"]] * c["layers"], dim],
                                 activation=nn.ReLU)
            self.discriminator = PackedDiscriminator(dim, c["hidden"], c["layers"], c["pack"],
                                                     c["input_scale"])
        self.networks = {"generator": self.generator, "discriminator": self.discriminator}
        betas, d_lr = (c["beta1"], c["beta2"]), c["d_lr"] or c["lr"]
        self.optimizers = {
            "generator": optim.Adam(self.generator.parameters(), lr=c["lr"], betas=betas),
            "discriminator": optim.Adam(self.discriminator.parameters(), lr=d_lr, betas=betas),
        }
        if c["lr_decay"] == "cosine":
            self.schedulers = cosine_decay(self.optimizers, c["steps"])

    # ---- the two players ------------------------------------------------------------
    def generate(self, n):
        z = Tensor(sg_random.generator().standard_normal((n, self.config["latent_dim"]))
                   .astype(np.float32))
        return self.generator(z)  # (n, latent) -> (n, 2) or (n, C, H, W)

    def discriminator_loss(self, real, fake):
        D = self.discriminator
        if self.config["loss"] == "wgan-gp":
            xhat = Tensor(self.interpolates(real.data, fake.data), requires_grad=True)
            return (D(fake).mean() - D(real).mean()
                    + self.config["gp_weight"] * self.gradient_penalty(xhat))
        real_logits, fake_logits = D(real), D(fake)
        ones, zeros = np.ones(real_logits.shape, np.float32), np.zeros(fake_logits.shape, np.float32)
        # -log D(x) - log(1 - D(G(z))), as cross-entropies with labels 1 and 0
        return (binary_cross_entropy_with_logits(real_logits, ones)
                + binary_cross_entropy_with_logits(fake_logits, zeros))

    def interpolates(self, real, fake):
        """xhat = eps x + (1 - eps) G(z), eps ~ U[0, 1], one eps per pack (every sample of a
        pack lies at the same position on its segment). Arrays (B, ...) -> (B, ...)."""
        pack = self.config["pack"]
        eps = sg_random.generator().random(real.shape[0] // pack).astype(np.float32)
        eps = np.repeat(eps, pack).reshape((-1,) + (1,) * (real.ndim - 1))  # (B, 1, ...)
        return (eps * real + (1 - eps) * fake).astype(np.float32)

    def gradient_penalty(self, xhat):
        """E[(||grad D(xhat)||_2 - 1)^2] over packs, the gradient taken with respect to D's own
        input (the pack, scaled by input_scale), so the penalty means the same at any scale.
        xhat: (B, 2) or (B, C, H, W) Tensor with requires_grad."""
        D, pack = self.discriminator, self.config["pack"]
        scale = getattr(D, "input_scale", 1.0)
        (g,) = grad(D(xhat).sum(), xhat, create_graph=True)  # d D / d x, shaped like x
        g = g.reshape(g.shape[0] // pack, -1) / scale         # (B / pack, pack * size of x)
        norms = (g ** 2).sum(axis=1).sqrt()                    # (B / pack,)
        return ((norms - 1) ** 2).mean()

    def generator_loss(self, fake):
        logits = self.discriminator(fake)
        if self.config["loss"] == "wgan-gp":
            return -logits.mean()
        # non-saturating: -log D(G(z))
        return binary_cross_entropy_with_logits(logits, np.ones(logits.shape, np.float32))

    # ---- training -------------------------------------------------------------------
    def next_batch(self, rng):
        """n_critic real minibatches: one per discriminator update of this step."""
        train, c = self.dataset.train, self.config
        return train[rng.integers(0, len(train), (c["n_critic"], c["batch_size"]))]

    def train_step(self, batches):
        """n_critic discriminator updates, then one generator update (Algorithm 1 of
        Gulrajani et al. 2017; n_critic = 1 alternates as in Goodfellow et al. 2014)."""
        opt_d, opt_g = self.optimizers["discriminator"], self.optimizers["generator"]
        for batch in batches:
            fake = self.generate(len(batch)).detach()  # G is fixed while D learns
            opt_d.zero_grad()
            d_loss = self.discriminator_loss(Tensor(batch), fake)
            d_loss.backward()
            opt_d.step()
        opt_g.zero_grad()
        g_loss = self.generator_loss(self.generate(batches.shape[1]))
        g_loss.backward()
        opt_g.step()
        self.step_schedulers()
        return {"d_loss": d_loss.item(), "g_loss": g_loss.item()}

    # ---- sampling and evaluation ----------------------------------------------------
    def sample(self, n, progress=no_progress, **options):
        with no_grad():
            return self.generate(n).numpy()

    def evaluate(self, rng, progress=no_progress):
        """2D: modes, quality and MMD of SAMPLES_2D samples. Images: FD and class
        coverage of as many samples as training images (scratchgen.metrics.images)."""
        if self.dataset.kind == "image":
            samples = self.sample(len(self.dataset.train))
            return Evaluation(image_metrics(samples, self.dataset), samples)
        samples = self.sample(SAMPLES_2D)
        return Evaluation(evaluate_2d(samples, self.dataset, rng), samples)

    def samples_picture(self, samples, name="samples.png"):
        return samples_picture(samples, self.dataset, name,
                               f"GAN ({self.config['loss']}) on {self.dataset.name}")
