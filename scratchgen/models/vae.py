"""Variational autoencoders (Kingma and Welling 2014, "Auto-Encoding Variational Bayes"),
evaluated with the importance-weighted bound of Burda, Grosse and Salakhutdinov (2016).

The model. A latent z ~ p(z) = N(0, I) of `latent_dim` dimensions; a decoder p(x | z) over
the image; an encoder q(z | x) = N(mu(x), diag sigma^2(x)) that approximates the posterior.

The one convention for the encoder's spread, used everywhere in this file:
    the encoder outputs  logvar = log sigma^2   (the log-VARIANCE, not log sigma)
    sampling             z = mu + exp(logvar / 2) * eps               (sigma = exp(logvar / 2))
    density              log q(z|x) = log N(z; mu, exp(logvar))       (`log_normal`)
    KL                   F.gaussian_kl(mu, logvar)                    (same logvar)
tests/models/test_vae.py checks that the closed-form KL equals a Monte-Carlo estimate of
E_q[log q(z|x) - log p(z)] made with this file's sampler and density, so a sampler that
read logvar as log sigma would fail there (a trap seen in a popular teaching VAE, whose
sampler and KL term disagree on the convention; docs/results-vae.md).

Training maximises the evidence lower bound (ELBO), K&W eq. (3):
    L(x) = -KL(q(z|x) || p(z)) + E_q(z|x)[log p(x|z)]  <=  log p(x)
with the reparameterised estimator of K&W eq. (10) (one z per image, as in the paper):
    L(x) ~= 1/2 sum_j (1 + log sigma_j^2 - mu_j^2 - sigma_j^2) + log p(x | z),
    z = mu + sigma * eps,  eps ~ N(0, I)
averaged over a minibatch (K&W eq. (8) up to the constant factor N, which only rescales
the learning rate); the loss is -L in nats per image.

Two likelihoods, each a real log-density written in full, so the bounds are real nats:
  * Bernoulli (binary images, `digits-binary`), K&W appendix C.1, with y = sigmoid(logits):
        log p(x|z) = sum_i x_i log y_i + (1 - x_i) log(1 - y_i)
                   = -sum_i BCE_with_logits(logits_i, x_i)
    a log-probability of the 64 binary pixels: it is <= 0.
  * Gaussian (grey images in [-1, 1], `digits`), K&W appendix C.2, with one variance sigma_x^2
    shared by all pixels:
        log p(x|z) = -1/2 sum_i [log(2 pi) + log sigma_x^2 + (x_i - m_i(z))^2 / sigma_x^2]
    Choice: sigma_x^2 is one learned scalar (`--fixed-variance V` fixes it instead). K&W let
    the decoder output a variance per pixel; on digits many border pixels are always -1, and
    a per-pixel variance would shrink to 0 there and send the density to infinity. One shared
    variance is the maximum-likelihood noise level of the whole image and stays finite.
    This is a density over [-1, 1]^D (nats per image, may be positive), not a probability of
    the 17 discrete grey levels. Training adds uniform noise of one grey level's width to
    every pixel (dequantisation, Theis et al. 2016; --no-dequantize turns it off), so that
    the learned variance cannot keep shrinking onto the exact training values; the test
    bounds are evaluated on the test images as they are.

Evaluation, on the test split (Burda et al. 2016, eq. (8)):
    L_k(x) = E_{z_1..z_k ~ q(z|x)} [ log 1/k sum_i p(x, z_i) / q(z_i | x) ]
           = E [ logsumexp_i(log w_i) - log k ],
    log w_i = log p(x|z_i) + log p(z_i) - log q(z_i|x)
L_1 is the ELBO; L_k grows with k towards log p(x) (Burda et al., Theorem 1). Each k gets
its own independent draws, so the order ELBO <= L_5 <= L_50 <= L_500 is measured, not
built in. To give every bound about the same precision, L_k for k < K = max k averages
K / k independent estimates per image (K samples in all); `test_elbo` uses the closed-form
KL and K&W eq. (10) with --elbo-samples draws for the reconstruction term. Standard errors
(`*_stderr`) are over test images.
"""
import math
from statistics import NormalDist

import numpy as np

from .. import functional as F
from .. import optim
from ..engine import random as sg_random
from ..engine.function import no_grad
from ..engine.tensor import Tensor
from ..metrics import standard_error
from ..metrics.images import image_metrics
from .base import Evaluation, GenerativeModel, Picture, no_progress
from .options import Option, positive_ints
from .vae_networks import ConvDecoder, ConvEncoder, GaussianNoise, MLPDecoder, MLPEncoder, \
    cast_parameters

LOG_2PI = math.log(2 * math.pi)
NOISE_LR_FACTOR = 10  # learning rate of the Gaussian decoder's log sigma_x^2, relative to lr


# ---- the Gaussian pieces, one convention (logvar = log sigma^2) ------------------------------
def reparameterize(mu, logvar, eps):
    """z = mu + sigma * eps with sigma = exp(logvar / 2)      (K&W eq. (10), section 2.4).
    eps is drawn outside (a NumPy array), so the step is repeatable and testable."""
    return mu + (0.5 * logvar).exp() * eps


def log_normal(z, mu, logvar):
    """log N(z; mu, diag exp(logvar)), summed over the last axis:
        log q(z|x) = -1/2 sum_j [log(2 pi) + logvar_j + (z_j - mu_j)^2 / exp(logvar_j)]."""
    return -0.5 * (LOG_2PI + logvar + (z - mu) ** 2 / logvar.exp()).sum(axis=-1)


def standard_normal_log_density(z):
    """log p(z) = log N(z; 0, I) = -1/2 sum_j [log(2 pi) + z_j^2]."""
    return -0.5 * (LOG_2PI + z * z).sum(axis=-1)


def bernoulli_log_likelihood(logits, x):
    """log p(x|z) = sum_i x_i log y_i + (1 - x_i) log(1 - y_i), y = sigmoid(logits)
    (K&W appendix C.1), as minus the summed BCE-with-logits (exact for any logit).
    logits, x: (B, C, H, W) -> (B,)."""
    bce = F.binary_cross_entropy_with_logits(logits, x, reduction="none")  # (B, C, H, W)
    return -bce.reshape(bce.shape[0], -1).sum(axis=1)


def gaussian_log_likelihood(mean, logvar, x):
    """log N(x; mean, sigma^2 I) = -1/2 sum_i [log(2 pi) + log sigma^2 + (x_i - m_i)^2 / sigma^2]
    (K&W appendix C.2), constant included. mean, x: (B, C, H, W); logvar = log sigma^2, a
    one-element Tensor -> (B,)."""
    per_pixel = LOG_2PI + logvar + (x - mean) ** 2 / logvar.exp()  # (B, C, H, W)
    return -0.5 * per_pixel.reshape(per_pixel.shape[0], -1).sum(axis=1)


# ---- the model -----------------------------------------------------------------------------------
class VAE(GenerativeModel):
    name = "vae"
    description = ("variational autoencoder (Kingma and Welling 2014): MLP + Bernoulli on "
                   "digits-binary, conv + Gaussian on digits; ELBO and IWAE bounds")
    dataset_kinds = ("image",)
    default_dataset = "digits-binary"
    options = (
        Option("steps", 3000, "total optimisation steps"),
        Option("batch_size", 100, "minibatch size"),
        Option("lr", 1e-3, "learning rate", minimum=0.0),
        Option("latent_dim", 8, "dimension of z (2 gives a 2D latent-grid picture)"),
        Option("hidden", 256, "width of the hidden (fully connected) layers"),
        Option("channels", 8, "conv model: channels of the first conv layer"),
        Option("architecture", "auto", "auto: mlp for binary images, conv for grey ones",
               choices=("auto", "mlp", "conv")),
        Option("likelihood", "auto", "p(x|z); auto: bernoulli for binary images, gaussian "
                                     "otherwise", choices=("auto", "bernoulli", "gaussian")),
        Option("fixed_variance", None, "gaussian: fix the pixel variance sigma_x^2 (default: "
                                       "learned)", type=float, minimum=1e-12),
        Option("dequantize", True, "gaussian: train on x + uniform noise of one grey level"),
        Option("iwae_samples", "1,5,50,500", "evaluation: the k of the importance-weighted "
                                             "bounds, comma-separated", validate=positive_ints),
        Option("elbo_samples", 500, "evaluation: z samples per test image for the ELBO's "
                                    "reconstruction term"),
        Option("dtype", "float32", "parameter and compute precision",
               choices=("float32", "float64")),
    )

    def build(self):
        c, shape = self.config, tuple(self.dataset.shape)
        binary = bool(np.isin(self.dataset.train, (0.0, 1.0)).all())
        self.likelihood = c["likelihood"] if c["likelihood"] != "auto" else (
            "bernoulli" if binary else "gaussian")
        if self.likelihood == "bernoulli" and not binary:
            raise ValueError(f"the Bernoulli likelihood needs binary images; {self.dataset.name} "
                             "is grey-level: use --likelihood gaussian or --dataset digits-binary")
        self.architecture = c["architecture"] if c["architecture"] != "auto" else (
            "mlp" if self.likelihood == "bernoulli" else "conv")
        self.iwae_ks = positive_ints(c["iwae_samples"])
        self.dtype = np.dtype(c["dtype"])
        levels = np.unique(self.dataset.train)
        self.level_spacing = float(np.diff(levels).min()) if len(levels) > 1 else 1.0

        latent = c["latent_dim"]
        if self.architecture == "mlp":
            self.encoder = MLPEncoder(shape, c["hidden"], latent)
            self.decoder = MLPDecoder(shape, c["hidden"], latent)
        else:
            self.encoder = ConvEncoder(shape, c["channels"], c["hidden"], latent)
            self.decoder = ConvDecoder(shape, c["channels"], c["hidden"], latent)
        self.networks = {"encoder": self.encoder, "decoder": self.decoder}
        if self.likelihood == "gaussian":
            self.noise = GaussianNoise(c["fixed_variance"])
            self.networks["noise"] = self.noise
        for net in self.networks.values():
            cast_parameters(net, self.dtype)
        # One optimizer for everything: phi and theta ascend the same bound jointly (K&W
        # Algorithm 1). Adam moves a parameter by about lr per step, so the one scalar
        # log sigma_x^2, which has to travel from 0 to about -4, gets a larger step.
        groups = [{"params": [*self.encoder.parameters(), *self.decoder.parameters()]}]
        if self.likelihood == "gaussian" and self.noise.learned:
            groups.append({"params": self.noise.parameters(), "lr": NOISE_LR_FACTOR * c["lr"]})
        self.optimizers = {"vae": optim.Adam(groups, lr=c["lr"])}

    # ---- the bound ----------------------------------------------------------------------------
    def log_likelihood(self, z, x):
        """log p(x | z) in nats, z (B, L), x (B, C, H, W) -> (B,)."""
        decoded = self.decoder(z)  # (B, C, H, W): logits (Bernoulli) or means (Gaussian)
        if self.likelihood == "bernoulli":
            return bernoulli_log_likelihood(decoded, x)
        return gaussian_log_likelihood(decoded, self.noise(decoded), x)

    def elbo_terms(self, x, eps):
        """The two terms of K&W eq. (10) per image: log p(x|z) at z = mu + sigma eps, and
        KL(q(z|x) || p(z)) in closed form (K&W appendix B). x (B, C, H, W), eps (B, L)."""
        mu, logvar = self.encoder(x)                # (B, L) each; logvar = log sigma^2
        z = reparameterize(mu, logvar, eps)         # (B, L)
        return self.log_likelihood(z, x), F.gaussian_kl(mu, logvar)  # (B,), (B,)

    def dequantize(self, batch):
        """x + u, u ~ U(-delta/2, delta/2) per pixel, delta the spacing of the grey levels
        (Theis et al. 2016): the data become continuous, so the Gaussian density cannot grow
        without bound by collapsing onto the exact training values."""
        u = sg_random.generator().uniform(-0.5, 0.5, batch.shape) * self.level_spacing
        return batch + u.astype(batch.dtype)

    def draw_noise(self, *shape):
        return sg_random.generator().standard_normal(shape).astype(self.dtype)

    def train_step(self, batch, eps=None):
        """One Adam step on -ELBO (nats per image). eps (B, L) ~ N(0, I) is drawn from the
        global generator unless given (the PyTorch comparison passes its own)."""
        if self.likelihood == "gaussian" and self.config["dequantize"]:
            batch = self.dequantize(batch)
        x = Tensor(batch.astype(self.dtype))                      # (B, C, H, W)
        if eps is None:
            eps = self.draw_noise(len(batch), self.config["latent_dim"])
        opt = self.optimizers["vae"]
        opt.zero_grad()
        log_px_z, kl = self.elbo_terms(x, eps)
        # L = -KL + log p(x|z), averaged over the minibatch (K&W eqs. (8) and (10))
        loss = (kl - log_px_z).mean()
        loss.backward()
        opt.step()
        return {"loss": loss.item(), "recon": -log_px_z.mean().item(), "kl": kl.mean().item()}

    def posterior_samples(self, x, k):
        """Encode images x (B, C, H, W) (an array) and draw k z per image from q(z|x):
        mu, logvar (B, 1, L) and z (B, k, L) Tensors (graph recording is up to the caller)."""
        batch, latent = len(x), self.config["latent_dim"]
        mu, logvar = self.encoder(Tensor(x.astype(self.dtype)))                # (B, L)
        mu, logvar = mu.reshape(batch, 1, latent), logvar.reshape(batch, 1, latent)
        return mu, logvar, reparameterize(mu, logvar, self.draw_noise(batch, k, latent))

    def log_likelihood_of_samples(self, z, x):
        """log p(x_b | z_bi) for z (B, k, L), x (B, C, H, W) array -> (B, k)."""
        batch, k, latent = z.shape
        x_repeated = Tensor(np.repeat(x, k, axis=0).astype(self.dtype))       # (B k, C, H, W)
        return self.log_likelihood(z.reshape(batch * k, latent), x_repeated).reshape(batch, k)

    def log_importance_weights(self, x, k):
        """log w_i = log p(x|z_i) + log p(z_i) - log q(z_i|x), z_i ~ q(z|x), i = 1..k
        (Burda et al. 2016, eq. (8)). x (B, C, H, W) array -> (B, k) array."""
        with no_grad():
            mu, logvar, z = self.posterior_samples(x, k)                       # z (B, k, L)
            log_w = (self.log_likelihood_of_samples(z, x)                      # (B, k)
                     + standard_normal_log_density(z) - log_normal(z, mu, logvar))
            return log_w.numpy().astype(np.float64)

    def iwae_bound(self, images, k, repeats=1, rows_per_pass=5000, progress=no_progress):
        """Per-image L_k = logsumexp_i(log w_i) - log k   (Burda et al. 2016, eq. (8)),
        images (N, C, H, W) -> (N,) in nats. Each image gets `repeats` independent sets of k
        fresh samples, and the estimate is the mean of their L_k: the same expectation with
        less Monte-Carlo noise."""
        chunk = max(1, rows_per_pass // (k * repeats))
        bounds = []
        for start in range(0, len(images), chunk):
            x = images[start:start + chunk]
            log_w = self.log_importance_weights(x, k * repeats).reshape(len(x), repeats, k)
            per_set = Tensor(log_w).logsumexp(axis=2).numpy() - math.log(k)  # (n, repeats)
            bounds.append(per_set.mean(axis=1))
            progress(f"IWAE bound, k={k}", start + len(x), len(images))
        return np.concatenate(bounds)

    def elbo(self, images, samples, rows_per_pass=5000, progress=no_progress):
        """Per-image ELBO by K&W eq. (10) with L = `samples` draws of z for the reconstruction
        term and the closed-form KL: images (N, C, H, W) -> (N,) in nats."""
        chunk = max(1, rows_per_pass // samples)
        bounds = []
        with no_grad():
            for start in range(0, len(images), chunk):
                x = images[start:start + chunk]
                mu, logvar, z = self.posterior_samples(x, samples)             # z (n, S, L)
                reconstruction = self.log_likelihood_of_samples(z, x).mean(axis=1)  # (n,)
                kl = F.gaussian_kl(mu[:, 0], logvar[:, 0])                         # (n,)
                bounds.append((reconstruction - kl).numpy().astype(np.float64))
                progress("ELBO", start + len(x), len(images))
        return np.concatenate(bounds)

    # ---- evaluation ---------------------------------------------------------------------------
    def evaluate(self, rng, progress=no_progress):
        """Test-split bounds in nats per image (higher is better): test_elbo and test_iwae_k,
        each with its standard error over images, and the independent-pixel baseline; and
        on labelled data the image metrics of decoded samples (fd, fd_floor,
        classifier_entropy: scratchgen.metrics.images)."""
        test = self.dataset.test
        metrics = {}
        elbo = self.elbo(test, self.config["elbo_samples"], progress=progress)
        metrics["test_elbo"] = float(elbo.mean())
        metrics["test_elbo_stderr"] = standard_error(elbo)
        most = max(self.iwae_ks)
        for k in self.iwae_ks:
            # every bound averages most // k independent estimates: about the same number of
            # samples, hence of decoder passes, per bound
            bound = self.iwae_bound(test, k, repeats=max(1, most // k), progress=progress)
            metrics[f"test_iwae_{k}"] = float(bound.mean())
            metrics[f"test_iwae_{k}_stderr"] = standard_error(bound)
        metrics["baseline_loglik"] = float(self.independent_pixel_baseline().mean())
        if self.likelihood == "gaussian":
            metrics["pixel_variance"] = self.noise.variance()
        if self.dataset.train_labels is not None:  # fd, fd_floor, classifier_entropy
            metrics.update(image_metrics(self.sample(len(self.dataset.train)), self.dataset))
        return Evaluation(metrics)

    def independent_pixel_baseline(self):
        """Test log-likelihood (N,) of the model in which the pixels are independent, fitted
        on the train split: the baseline a latent-variable model has to beat.
          Bernoulli: p_i = (ones_i + 1) / (N + 2) (add-one smoothing, never 0 or 1),
                     log p(x) = sum_i x_i log p_i + (1 - x_i) log(1 - p_i).
          Gaussian:  N(m_i, v_i + delta^2 / 12) per pixel, v_i the train variance plus the
                     variance of one quantisation bin of width delta (pixels that never
                     change would otherwise get zero variance and infinite density)."""
        train = self.dataset.train.reshape(len(self.dataset.train), -1).astype(np.float64)
        test = self.dataset.test.reshape(len(self.dataset.test), -1).astype(np.float64)
        if self.likelihood == "bernoulli":
            p = (train.sum(axis=0) + 1) / (len(train) + 2)                       # (D,)
            return test @ np.log(p) + (1 - test) @ np.log1p(-p)                  # (N,)
        levels = np.unique(train)
        delta = np.diff(levels).min() if len(levels) > 1 else 1.0
        mean, var = train.mean(axis=0), train.var(axis=0) + delta ** 2 / 12   # (D,)
        return -0.5 * (LOG_2PI + np.log(var) + (test - mean) ** 2 / var).sum(axis=1)

    # ---- sampling and pictures ---------------------------------------------------------------
    def decode_mean(self, z):
        """E[x | z]: pixel probabilities sigmoid(logits) (Bernoulli) or means (Gaussian),
        z (n, L) array -> (n, C, H, W) array."""
        with no_grad():
            decoded = self.decoder(Tensor(np.asarray(z, dtype=self.dtype)))
            if self.likelihood == "bernoulli":
                decoded = decoded.sigmoid()
            return decoded.numpy()

    def sample(self, n, draw_pixels=False, progress=no_progress, **options):
        """n images decoded from z ~ N(0, I): the decoder's mean E[x|z] (what VAE papers show),
        or with draw_pixels=True a draw x ~ p(x|z) (binary pixels, or mean + Gaussian noise)."""
        latent = self.config["latent_dim"]
        mean = self.decode_mean(self.draw_noise(n, latent))  # (n, C, H, W)
        if not draw_pixels:
            return mean.astype(np.float32)
        rng = sg_random.generator()
        if self.likelihood == "bernoulli":
            return (rng.random(mean.shape) < mean).astype(np.float32)
        sigma = math.sqrt(self.noise.variance())
        return (mean + sigma * rng.standard_normal(mean.shape)).astype(np.float32)

    def value_range(self):
        return (0.0, 1.0) if self.likelihood == "bernoulli" else (-1.0, 1.0)

    def title(self):
        c = self.config
        return (f"VAE ({self.architecture}, {self.likelihood}, latent {c['latent_dim']}) "
                f"on {self.dataset.name}")

    def samples_picture(self, samples, name="samples.png"):
        return Picture(name, "images", samples[:100], value_range=self.value_range(),
                       title=f"{self.title()}\ndecoder means E[x|z], z ~ N(0, I)")

    def reconstructions(self, images):
        """Decoder means at the encoder means, images (n, C, H, W) -> (n, C, H, W)."""
        with no_grad():
            mu, _ = self.encoder(Tensor(images.astype(self.dtype)))
        return self.decode_mean(mu.numpy())

    def pictures(self, rng, evaluation):
        """samples.png, reconstructions.png and latent_walk.png."""
        samples = self.samples_picture(self.sample(100))
        test = self.dataset.test
        originals = test[rng.choice(len(test), 40, replace=False)]               # (40, C, H, W)
        recon = self.reconstructions(originals)
        rows = np.stack([originals.reshape(4, 10, *originals.shape[1:]),
                         recon.reshape(4, 10, *originals.shape[1:])], axis=1)     # (4, 2, 10, ...)
        reconstructions = Picture(
            "reconstructions.png", "images", rows.reshape(80, *originals.shape[1:]), nrow=10,
            value_range=self.value_range(),
            title=f"{self.title()}\nrows 1, 3, 5, 7: test images; rows 2, 4, 6, 8: their "
                  "reconstructions E[x | z = mu(x)]")
        return [samples, reconstructions, self.latent_walk(rng)]

    def latent_walk(self, rng, steps=10):
        """latent_dim 2: the decoder over a grid of z at Gaussian quantiles 0.05..0.95 (as
        K&W figure 4). Otherwise: straight lines in z between the encoder means of pairs of
        test images, with the two images at the ends of each row."""
        latent = self.config["latent_dim"]
        if latent == 2:
            quantiles = np.linspace(0.05, 0.95, 15)
            axis = np.array([NormalDist().inv_cdf(q) for q in quantiles])
            z = np.stack(np.meshgrid(axis, axis[::-1]), axis=-1).reshape(-1, 2)  # (225, 2)
            return Picture("latent_walk.png", "images", self.decode_mean(z), nrow=15,
                           value_range=self.value_range(),
                           title=f"{self.title()}\ndecoder means over a grid of z at N(0, 1) "
                                 "quantiles 0.05..0.95")
        test, pairs = self.dataset.test, 8
        picked = test[rng.choice(len(test), 2 * pairs, replace=False)]          # (16, C, H, W)
        with no_grad():
            mu, _ = self.encoder(Tensor(picked.astype(self.dtype)))
        mu = mu.numpy().reshape(pairs, 2, latent)
        t = np.linspace(0, 1, steps)[None, :, None]                           # (1, steps, 1)
        z = (1 - t) * mu[:, :1] + t * mu[:, 1:]                               # (pairs, steps, L)
        walk = self.decode_mean(z.reshape(-1, latent)).reshape(pairs, steps, *test.shape[1:])
        ends = picked.reshape(pairs, 2, *test.shape[1:])
        rows = np.concatenate([ends[:, :1], walk, ends[:, 1:]], axis=1)  # (pairs, steps + 2, ...)
        return Picture("latent_walk.png", "images", rows.reshape(-1, *test.shape[1:]),
                       nrow=steps + 2, value_range=self.value_range(),
                       title=f"{self.title()}\neach row: a test image, the decoder along the "
                             "line between the two encodings, the other test image")
