"""Restricted Boltzmann machines with binary visible and hidden units (Smolensky 1986;
Hinton 2002), trained by contrastive divergence (CD-k, Hinton 2002) or persistent CD (PCD,
Tieleman 2008), and evaluated by their exact log-likelihood or by annealed importance
sampling (AIS, Neal 2001; Salakhutdinov and Murray 2008).

The model, as in section 2 of Salakhutdinov and Murray (2008) ("S&M" below): visible
v in {0,1}^V, hidden h in {0,1}^H, weights W (V, H), visible biases b (V,), hidden biases
c (H,), and

    energy        E(v, h)      = -b.v - c.h - v^T W h
    likelihood    p(v)         = (1 / Z) sum_h exp(-E(v, h)),   Z = sum_v sum_h exp(-E(v, h))
    conditionals  p(h_j=1 | v) = sigmoid(c_j + sum_i W_ij v_i)
                  p(v_i=1 | h) = sigmoid(b_i + sum_j W_ij h_j)

Summing out h (each h_j on its own) gives the free energy, p(v) = exp(-F(v)) / Z:

    F(v) = -b.v - sum_j softplus(c_j + W_j.v)

Training. The log-likelihood gradient is the difference of two expectations of dF/dtheta,

    d log p(v) / dtheta = -dF(v)/dtheta + E_{v' ~ model}[dF(v')/dtheta]

and the second is estimated with samples v_model from a Gibbs chain: k block-Gibbs sweeps
started at the data (CD-k), or continued from the previous update's chains (PCD). For the
RBM the derivatives of F are closed-form, giving Hinton's (2002) update

    dlog p / dW = <v h^T>_data - <v h^T>_model,   dlog p / db = <v>_data - <v>_model,
    dlog p / dc = <h>_data - <h>_model            (h replaced by p(h = 1 | v))

which `RBMNetwork.contrastive_gradients` writes into the parameters' .grad (as minus the
above: optimizers minimise) and an ordinary optimizer (SGD with momentum and weight decay)
applies. It is exactly the gradient the engine computes for the loss

    loss = mean_data F(v_data) - mean_chains F(v_model)        (v_model held constant)

through `RBMNetwork.free_energy` (a test checks the two agree); the closed form is used in
training because it is the textbook equation and several times cheaper per update. The Gibbs
sampling needs no gradient, so it is NumPy arithmetic on the parameters' arrays, with every
random draw taken from scratchgen's seeded generator (runs repeat and resume exactly; the
PCD chains are part of the saved state).

Evaluation. With few hidden units the partition function is exact: summing over v first,

    log Z = logsumexp_{h in {0,1}^H} [ c.h + sum_i softplus(b_i + (W h)_i) ]

(2^H terms, enumerated in chunks). For any size, AIS as S&M apply it to RBMs anneals from
a base-rate model p_A (no weights, visible biases b_A fitting the data's pixel marginals,
log Z_A = sum_i softplus(b_A_i)) to the RBM through the intermediate distributions

    log p*_beta(v) = (1 - beta) b_A.v + beta b.v + sum_j softplus(beta (c_j + W_j.v))

for 0 = beta_0 < beta_1 < ... < beta_K = 1 (at beta = 0 the hidden units are free coins,
so Z_0 = 2^H Z_A). Each chain starts with v ~ p_A and moves by one Gibbs sweep that leaves
p_beta_k invariant; its log importance weight is

    log w = sum_k [ log p*_beta_k(v_k) - log p*_beta_(k-1)(v_k) ]

and log Z ~= log Z_0 + log mean(w). The test log-likelihood per image is
mean(-F(v_test)) - log Z, in nats.
"""
import math

import numpy as np
from scipy.special import expit, logsumexp

from .. import functional as F
from .. import nn, optim
from ..engine import random as sg_random
from ..engine.tensor import Tensor
from .base import Evaluation, GenerativeModel, Picture, no_progress
from .options import Option

EXACT_MAX_HIDDEN = 20  # 2^20 hidden states x 64 pixels: a few seconds of enumeration


# ---- NumPy arithmetic of the Gibbs sampler and the estimators (no gradients needed) -------

def sigmoid(x):
    """1 / (1 + e^-x) (scipy's expit: one pass, no overflow)."""
    return expit(x)


def bernoulli(p, rng):
    """Binary samples with success probabilities p (same shape and dtype)."""
    return (rng.random(p.shape, dtype=p.dtype) < p).astype(p.dtype)


def sample_hidden(v, W, c, rng, beta=1.0):
    """h ~ p(h | v) = sigmoid(beta (c + v W)):  (N, V) -> (N, H).  beta = 1 is the RBM."""
    return bernoulli(sigmoid(beta * (v @ W + c)), rng)


def sample_visible(h, W, b, rng, beta=1.0, base_bias=0.0):
    """v ~ p(v | h) = sigmoid((1 - beta) b_A + beta (b + W h)):  (N, H) -> (N, V)."""
    return bernoulli(sigmoid((1.0 - beta) * base_bias + beta * (b + h @ W.T)), rng)


def gibbs_chain(v, W, b, c, sweeps, rng):
    """`sweeps` block-Gibbs sweeps v -> h -> v, each h and each v drawn all at once."""
    for _ in range(sweeps):
        v = sample_visible(sample_hidden(v, W, c, rng), W, b, rng)
    return v


def log_unnormalised(v, W, b, c, beta=1.0, base_bias=0.0):
    """log p*_beta(v) = (1 - beta) b_A.v + beta b.v + sum_j softplus(beta (c_j + W_j.v)).

    At beta = 1 this is -F(v), the RBM's unnormalised log-probability.  (N, V) -> (N,)."""
    visible_term = v @ ((1.0 - beta) * base_bias + beta * b)   # (N,)
    hidden_term = np.logaddexp(0.0, beta * (v @ W + c)).sum(axis=1)  # (N, H) -> (N,)
    return visible_term + hidden_term


def free_energy(v, W, b, c):
    """F(v) = -b.v - sum_j softplus(c_j + W_j.v) in NumPy:  (N, V) -> (N,)."""
    return -log_unnormalised(v, W, b, c)


def all_binary_states(start, stop, n_bits):
    """Rows start .. stop-1 of the table of all n_bits-bit binary vectors (row i holds the
    bits of i, least significant first):  (stop - start, n_bits)."""
    index = np.arange(start, stop, dtype=np.int64)
    return ((index[:, None] >> np.arange(n_bits)) & 1).astype(np.float64)


def log_partition_exact(W, b, c, chunk_size=1 << 12):
    """log Z by enumerating the 2^H hidden states (v summed out analytically):

        log Z = logsumexp_h [ c.h + sum_i softplus(b_i + (W h)_i) ]

    W (V, H), b (V,), c (H,) as float64; the states are taken chunk_size at a time."""
    W, b, c = (np.asarray(a, dtype=np.float64) for a in (W, b, c))
    n_hidden = W.shape[1]
    log_z = -np.inf
    for start in range(0, 2 ** n_hidden, chunk_size):
        h = all_binary_states(start, min(start + chunk_size, 2 ** n_hidden), n_hidden)  # (S, H)
        terms = h @ c + np.logaddexp(0.0, h @ W.T + b).sum(axis=1)  # (S, V) -> (S,)
        log_z = np.logaddexp(log_z, logsumexp(terms))
    return float(log_z)


def base_rate_bias(data, pseudo_count=1.0):
    """Visible biases b_A = log(p / (1 - p)) of the pixel marginals p, smoothed by a pseudo
    count so that a pixel never on (or always on) in the data gets a finite bias."""
    p = (data.sum(axis=0) + pseudo_count) / (len(data) + 2 * pseudo_count)  # (V,)
    return np.log(p) - np.log1p(-p)


def annealing_schedule(n_betas):
    """n_betas inverse temperatures from 0 to 1, spaced like the MNIST schedule of S&M 2008
    (14,500 in all: steps of 1e-3 up to 0.5, 1e-4 up to 0.9, 1e-5 up to 1), scaled to
    n_betas points: 500/14500 of them on [0, 0.5), 4000/14500 on [0.5, 0.9) and the rest,
    the finest steps, on [0.9, 1], where the RBM's energy dominates."""
    if n_betas < 2:
        raise ValueError(f"AIS needs at least 2 inverse temperatures (0 and 1), got {n_betas}")
    if n_betas < 30:
        return np.linspace(0.0, 1.0, n_betas)
    n1 = max(1, round(n_betas * 500 / 14500))
    n2 = max(1, round(n_betas * 4000 / 14500))
    return np.concatenate([np.linspace(0.0, 0.5, n1, endpoint=False),
                           np.linspace(0.5, 0.9, n2, endpoint=False),
                           np.linspace(0.9, 1.0, n_betas - n1 - n2)])


def ais_log_partition(W, b, c, base_bias, betas, n_chains, rng, progress=no_progress):
    """Annealed importance sampling estimate of log Z (Neal 2001; S&M 2008).

    Returns (log Z estimate, its standard error in nats, the log weights (n_chains,)).
    The standard error is the delta-method one, std(w) / (sqrt(M) mean(w)): the spread of
    log Z over repeated runs of M chains when the weights are well behaved."""
    W, b, c, base_bias = (np.asarray(a, dtype=np.float64) for a in (W, b, c, base_bias))
    betas = np.asarray(betas, dtype=np.float64)
    if betas[0] != 0.0 or betas[-1] != 1.0 or np.any(np.diff(betas) <= 0):
        raise ValueError("AIS inverse temperatures must increase strictly from 0 to 1")
    # v_1 ~ p_A, the base-rate model: independent pixels with log-odds b_A
    v = bernoulli(np.broadcast_to(sigmoid(base_bias), (n_chains, len(base_bias))), rng)
    log_w = np.zeros(n_chains)
    for k, (beta_prev, beta) in enumerate(zip(betas[:-1], betas[1:])):
        if k % 100 == 0:
            progress("AIS", k, len(betas) - 1)
        hidden_input = v @ W + c  # (M, H): c_j + W_j.v, used by both terms and the move
        # log w += log p*_k(v_k) - log p*_(k-1)(v_k); the linear terms differ by
        # (beta_k - beta_(k-1)) (b - b_A).v
        log_w += ((beta - beta_prev) * (v @ (b - base_bias))
                  + np.logaddexp(0.0, beta * hidden_input).sum(axis=1)
                  - np.logaddexp(0.0, beta_prev * hidden_input).sum(axis=1))
        if beta < 1.0:
            # v_(k+1) ~ T_k(v_k): one Gibbs sweep that leaves p_beta_k invariant
            h = bernoulli(sigmoid(beta * hidden_input), rng)  # (M, H)
            v = sample_visible(h, W, b, rng, beta, base_bias)  # (M, V)
    # Z_0 = Z_A 2^H: at beta = 0 the pixels follow p_A and the H hidden units are free coins
    progress("AIS", len(betas) - 1, len(betas) - 1)
    log_z_base = np.logaddexp(0.0, base_bias).sum() + W.shape[1] * math.log(2.0)
    log_mean_w = logsumexp(log_w) - math.log(n_chains)
    w = np.exp(log_w - log_mean_w)  # weights relative to their mean
    standard_error = float(w.std() / math.sqrt(n_chains))
    return float(log_z_base + log_mean_w), standard_error, log_w


def binarize(images, threshold):
    """(N, ...) images -> (N, V) binary float32 rows: 1 where a pixel exceeds `threshold`."""
    return (images.reshape(len(images), -1) > threshold).astype(np.float32)


def binarizing_threshold(train_images):
    """0.5 for {0, 1} data (digits-binary: kept as it is); 0, the mid-grey, for data in
    [-1, 1] (digits, mnist), which on digits gives exactly digits-binary (level > 8 of 16)."""
    return 0.5 if train_images.min() >= 0 else 0.0


# ---- the network: parameters and the one differentiable function ----------------------------

class RBMNetwork(nn.Module):
    """theta = (W, b, c) and the free energy F(v), the only function training differentiates."""

    def __init__(self, n_visible, n_hidden, visible_bias, n_persistent_chains=0):
        super().__init__()
        rng = sg_random.generator()
        # Small random weights and data-fitted visible biases (Hinton 2010, "A practical guide
        # to training RBMs", section 8): W ~ N(0, 0.01^2), b_i = log(p_i / (1 - p_i)), c = 0.
        self.weight = nn.Parameter(
            (0.01 * rng.standard_normal((n_visible, n_hidden))).astype(np.float32))  # (V, H)
        self.visible_bias = nn.Parameter(np.asarray(visible_bias, dtype=np.float32))  # (V,)
        self.hidden_bias = nn.Parameter(np.zeros(n_hidden, dtype=np.float32))  # (H,)
        if n_persistent_chains:
            # PCD's fantasy particles: state, not parameters, so saved but never trained.
            # They start from the base-rate model p(v_i = 1) = sigmoid(b_i).
            start = bernoulli(np.broadcast_to(sigmoid(self.visible_bias.data),
                                              (n_persistent_chains, n_visible)), rng)
            self.register_buffer("persistent_chains", Tensor(start))  # (M, V)

    def free_energy(self, v):
        """F(v) = -b.v - sum_j softplus(c_j + W_j.v):  (N, V) Tensor -> (N,) Tensor."""
        hidden_input = v @ self.weight + self.hidden_bias  # (N, V) @ (V, H) -> (N, H)
        return -(v @ self.visible_bias) - F.softplus(hidden_input).sum(axis=1)

    def contrastive_gradients(self, v_data, v_model):
        """Set .grad to minus the CD/PCD log-likelihood gradient (Hinton 2002) and return the
        free-energy gap mean F(v_data) - mean F(v_model), i.e. the loss it is the gradient of.

        v_data (B, V), v_model (M, V): NumPy arrays."""
        W, b, c = self.arrays()
        n_data, n_model = len(v_data), len(v_model)
        input_data, input_model = v_data @ W + c, v_model @ W + c  # (B, H), (M, H)
        h_data, h_model = sigmoid(input_data), sigmoid(input_model)  # p(h = 1 | v)
        # <v h^T>_data - <v h^T>_model:  (V, B) @ (B, H) - (V, M) @ (M, H) -> (V, H)
        dW = v_data.T @ h_data / n_data - v_model.T @ h_model / n_model
        db = v_data.sum(axis=0) / n_data - v_model.sum(axis=0) / n_model  # (V,)
        dc = h_data.sum(axis=0) / n_data - h_model.sum(axis=0) / n_model  # (H,)
        for param, ascent in ((self.weight, dW), (self.visible_bias, db), (self.hidden_bias, dc)):
            param.grad = Tensor(np.negative(ascent, dtype=param.dtype))
        # F(v) = -b.v - sum_j softplus(c_j + W_j.v), from the hidden inputs already computed
        f_data = -(v_data @ b).sum() - np.logaddexp(0.0, input_data).sum()
        f_model = -(v_model @ b).sum() - np.logaddexp(0.0, input_model).sum()
        return float(f_data / n_data - f_model / n_model)

    def arrays(self, dtype=None):
        """(W, b, c) as NumPy arrays (the live arrays unless a dtype asks for a copy)."""
        params = (self.weight.data, self.visible_bias.data, self.hidden_bias.data)
        return params if dtype is None else tuple(p.astype(dtype) for p in params)


class RBM(GenerativeModel):
    name = "rbm"
    description = "Bernoulli RBM (CD-k or PCD), exact and AIS log-likelihood, on binary images"
    dataset_kinds = ("image",)
    default_dataset = "digits-binary"
    options = (
        Option("steps", 30000, "total optimisation steps"),
        Option("batch_size", 20, "minibatch size (and persistent chains)"),
        Option("lr", 0.05, "learning rate", minimum=0.0),
        Option("hidden", 16, "number of hidden units H (exact log Z when H <= 20)"),
        Option("k", 1, "Gibbs sweeps per update: CD-k, or PCD-k (k sweeps of the persistent "
                       "chains)"),
        Option("pcd", True, "persistent CD (Tieleman 2008); --no-pcd gives CD-k from the data"),
        Option("momentum", 0.5, "SGD momentum", minimum=0.0),
        Option("weight_decay", 0.0, "L2 weight decay on W (not on the biases)", minimum=0.0),
        Option("lr_decay", True, "decay the learning rate linearly to 0 over --steps "
                                 "(Tieleman 2008)"),
        Option("gibbs_steps", 1000, "Gibbs sweeps per chain for samples and pictures"),
        Option("ais_chains", 500, "AIS: number of independent annealing runs"),
        Option("ais_betas", 10000, "AIS: number of inverse temperatures", minimum=2),
    )
    sample_options = ("gibbs_steps",)

    def build(self):
        config = self.config
        self.threshold = binarizing_threshold(self.dataset.train)
        self.train_data = binarize(self.dataset.train, self.threshold)  # (N, V) in {0, 1}
        self.test_data = binarize(self.dataset.test, self.threshold)
        self.base_bias = base_rate_bias(self.train_data)  # (V,), float64
        n_chains = config["batch_size"] if config["pcd"] else 0
        self.rbm = RBMNetwork(self.train_data.shape[1], config["hidden"], self.base_bias,
                              n_chains)
        self.networks = {"rbm": self.rbm}
        # weight decay on W only, not on the biases (Hinton's guide, section 10)
        groups = [{"params": [self.rbm.weight], "weight_decay": config["weight_decay"]},
                  {"params": [self.rbm.visible_bias, self.rbm.hidden_bias], "weight_decay": 0.0}]
        self.optimizers = {"rbm": optim.SGD(groups, lr=config["lr"],
                                            momentum=config["momentum"])}
        if config["lr_decay"]:  # lr(t) = lr (1 - t / steps): lr at the first update, ~0 at the last
            steps = config["steps"]
            self.schedulers = {"rbm": optim.lr_scheduler.LambdaLR(
                self.optimizers["rbm"], lambda t: 1.0 - t / steps)}

    # ---- training -------------------------------------------------------------------
    def train_step(self, batch):
        k, rng = self.config["k"], sg_random.generator()
        W, b, c = self.rbm.arrays()
        v_data = binarize(batch, self.threshold)  # (B, V)
        if self.config["pcd"]:
            chains = self.rbm.persistent_chains
            v_model = gibbs_chain(chains.data, W, b, c, k, rng)  # continue the chains
            chains.data[...] = v_model
        else:
            v_model = gibbs_chain(v_data, W, b, c, k, rng)  # CD-k: start at the data
        loss = self.rbm.contrastive_gradients(v_data, v_model)
        self.optimizers["rbm"].step()
        self.step_schedulers()
        return {"loss": loss}

    # ---- sampling -------------------------------------------------------------------
    def run_chains(self, n, sweeps, snapshots=()):
        """n independent Gibbs chains started from the base-rate model, `sweeps` sweeps each.
        Returns the final states (n, V) and the states after each sweep count in snapshots."""
        rng = sg_random.generator()
        W, b, c = self.rbm.arrays(np.float64)
        v = bernoulli(np.broadcast_to(sigmoid(self.base_bias), (n, len(b))), rng)
        kept, done = {}, 0
        for target in sorted(set(snapshots) | {sweeps}):
            v = gibbs_chain(v, W, b, c, target - done, rng)  # from `done` sweeps to `target`
            kept[target], done = v, target
        return v, kept

    def as_images(self, rows):
        return rows.reshape((len(rows),) + tuple(self.dataset.shape)).astype(np.float32)

    def sample(self, n, gibbs_steps=None, progress=no_progress, **options):
        """n binary images (n, 1, H, W), each the end of its own long Gibbs chain."""
        v, _ = self.run_chains(n, gibbs_steps or self.config["gibbs_steps"])
        return self.as_images(v)

    # ---- evaluation -----------------------------------------------------------------
    def evaluate(self, rng, progress=no_progress):
        config = self.config
        W, b, c = self.rbm.arrays(np.float64)
        test_neg_f = -free_energy(self.test_data.astype(np.float64), W, b, c).mean()
        train_neg_f = -free_energy(self.train_data.astype(np.float64), W, b, c).mean()
        metrics = {}
        if config["hidden"] <= EXACT_MAX_HIDDEN:
            log_z = log_partition_exact(W, b, c)
            metrics.update(log_z_exact=log_z, test_loglik_exact=float(test_neg_f - log_z),
                           train_loglik_exact=float(train_neg_f - log_z))
        log_z_ais, standard_error, _ = ais_log_partition(
            W, b, c, self.base_bias, annealing_schedule(config["ais_betas"]),
            config["ais_chains"], sg_random.generator(), progress=progress)
        metrics.update(log_z_ais=log_z_ais, log_z_ais_stderr=standard_error,
                       test_loglik_ais=float(test_neg_f - log_z_ais),
                       train_loglik_ais=float(train_neg_f - log_z_ais))
        return Evaluation(metrics)

    # ---- pictures -------------------------------------------------------------------
    def samples_picture(self, samples, name="samples.png"):
        """Test images beside samples, each sample the end of its own long Gibbs chain."""
        config = self.config
        test = self.as_images(self.test_data[:len(samples)])
        return Picture(name, "panels", [
            (f"{len(test)} test images", test),
            (f"{len(samples)} samples, {config['gibbs_steps']} Gibbs sweeps per chain", samples)],
            title=f"RBM with {config['hidden']} hidden units, trained by "
                  f"{'PCD' if config['pcd'] else 'CD'}-{config['k']}, on {self.dataset.name}")

    def filters(self):
        """One image per hidden unit j: its weights W[:, j] over the image, each scaled by
        its own largest |weight| (red positive, blue negative, white zero)."""
        W = self.rbm.arrays(np.float64)[0]  # (V, H)
        filters = self.as_images(W.T)  # (H, 1, h, w)
        filters = filters / (np.abs(filters).max(axis=(1, 2, 3), keepdims=True) + 1e-12)
        return Picture("filters.png", "images", filters, value_range=(-1.0, 1.0),
                       cmap="RdBu_r", title=f"weights of the {W.shape[1]} hidden units")

    def chains(self, n=8):
        """n Gibbs chains (rows) from the base-rate start, after 0, 1, 3, 10, ... sweeps."""
        sweeps = self.config["gibbs_steps"]
        marks = sorted({0, sweeps} | {s for s in (1, 3, 10, 30, 100, 300, 1000, 3000, 10000)
                                      if s < sweeps})
        _, kept = self.run_chains(n, sweeps, snapshots=marks)
        grid = np.stack([kept[m] for m in marks], axis=1).reshape(n * len(marks), -1)
        return Picture("chains.png", "images", self.as_images(grid), nrow=len(marks),
                       value_range=(0.0, 1.0), title="Gibbs chains after "
                       + ", ".join(str(m) for m in marks) + " sweeps")

    def pictures(self, rng, evaluation):
        return [self.samples_picture(self.sample(64)), self.filters(), self.chains()]
