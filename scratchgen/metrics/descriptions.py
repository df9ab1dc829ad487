"""One-line descriptions of the fields of metrics.json (docs/metrics.md has the long form).

    DESCRIPTIONS      field name -> what it measures, its unit, and which way is better
    describe(name)    the description of a field, patterned names included:

        ddim_<metric>          a 2D sample metric of the diffusion model's DDIM sampler
        test_iwae_<k>          the VAE's importance-weighted bound with k samples
        test_iwae_<k>_stderr   its standard error over test images
        <metric>_stderr        the standard error of any other estimate

The names are those the models' `evaluate` methods write (scratchgen/models/*.py, through
scratchgen/metrics: mixtures.py, mmd.py, images.py), plus "step" and "finished", which the
training loop adds to every metrics.json.
"""
from __future__ import annotations

import re

DESCRIPTIONS = {
    # ---- 2D mixtures: gan and diffusion (scratchgen.metrics.mixtures, .mmd) -------------------
    "modes_covered": "Number of mixture modes that are the nearest centre of at least one "
                     "high-quality sample (within 3 std of it); a count, higher is better, "
                     "n_modes is perfect.",
    "n_modes": "Number of modes of the 2D Gaussian mixture (8 on ring8, 25 on grid25); a "
               "constant of the dataset, the most modes_covered can be.",
    "hq_fraction": "Fraction of samples within 3 standard deviations of their nearest mode "
                   "centre; in [0, 1], higher is better, a perfect sampler scores "
                   "1 - exp(-9/2) = 0.989.",
    "mmd2": "Unbiased squared maximum mean discrepancy (Gaussian kernel, median-heuristic "
            "bandwidth) between the samples and fresh data; unitless, lower is better, about 0 "
            "for a perfect sampler and may be negative: read it against mmd2_null_rms.",
    "mmd2_floor": "The same unbiased MMD^2 between two independent fresh sets of true data: "
                  "what a perfect sampler scores, the reference for mmd2; its expectation is 0, "
                  "so sampling noise makes it negative about half the time (mmd2_null_rms "
                  "gives its typical size).",
    "mmd2_null_rms": "Root-mean-square of MMD^2 over 8 pairs of fresh data sets: the typical "
                     "size of mmd2 for a perfect sampler; unitless, a yardstick (mmd2 <= 3 x "
                     "this passes).",
    # ---- images: gan, diffusion, vae (scratchgen.metrics.images) -------------------------------
    "fd": "Frechet distance between Gaussians fitted to a digits classifier's features of the "
          "generated images and of the test split (FID-style); squared feature units, lower is "
          "better: read it against fd_floor.",
    "fd_floor": "The same Frechet distance between the training split and the test split, what "
                "a perfect sampler scores (above 0 from finite-sample bias); a reference for fd.",
    "classifier_entropy": "Entropy of the histogram of the classifier's predicted digits over "
                          "the samples, in nats; higher is better, log 10 = 2.303 is every "
                          "digit equally often, 0 is one digit only (mode collapse).",
    "classifier_test_accuracy": "Test accuracy in [0, 1] of the digits classifier behind fd "
                                "and classifier_entropy; a check of the metric's feature "
                                "extractor, not of the model (higher means a sounder metric).",
    # ---- vae -----------------------------------------------------------------------------------
    "test_elbo": "Evidence lower bound on log p(x), averaged over the test images, in nats per "
                 "image; higher is better, and it is at most the true log-likelihood.",
    "test_elbo_stderr": "Standard error of test_elbo over the test images, in nats per image; "
                        "smaller is a more precise estimate.",
    "baseline_loglik": "Test log-likelihood of an independent-pixel model fitted on the "
                       "training split, in nats per image; the baseline the VAE's bounds "
                       "should beat (higher is better).",
    "pixel_variance": "Gaussian-likelihood VAE only: the learned decoder noise variance "
                      "sigma_x^2 shared by all pixels (pixels in [-1, 1]); a fitted noise "
                      "level, not a score (small is sharp, too small overfits).",
    # ---- rbm -----------------------------------------------------------------------------------
    "log_z_exact": "Log partition function log Z of the RBM, summed exactly over the 2^H hidden "
                   "states (only with H <= 20 hidden units), in nats; a normaliser, not a score.",
    "test_loglik_exact": "Exact mean test log-likelihood mean(-F(v)) - log Z, in nats per "
                         "image; higher is better.",
    "train_loglik_exact": "Exact mean training log-likelihood, in nats per image; higher is "
                          "better, and a gap above test_loglik_exact is overfitting.",
    "log_z_ais": "Annealed importance sampling estimate of log Z, in nats; should agree with "
                 "log_z_exact where both exist (AIS tends to land low).",
    "log_z_ais_stderr": "Delta-method standard error of log_z_ais over the AIS chains, in nats; "
                        "smaller is more precise (it understates the error when a few chains "
                        "dominate).",
    "test_loglik_ais": "Mean test log-likelihood with log_z_ais in place of log Z, in nats per "
                       "image; higher is better (an underestimated log Z inflates it).",
    "train_loglik_ais": "Mean training log-likelihood with log_z_ais in place of log Z, in nats "
                        "per image; higher is better.",
    # ---- gpt -----------------------------------------------------------------------------------
    "val_loss": "Mean negative log-likelihood of each next character of the held-out text, in "
                "nats per character; lower is better (exp(val_loss) is the perplexity).",
    "bigram_val_loss": "The same loss for an add-one smoothed bigram model fitted on the "
                       "training text, in nats per character; the baseline val_loss should "
                       "beat (lower is better).",
    "parameters": "Number of trainable parameters of the model; a size, not a score.",
    # ---- every run (scratchgen.training.loop) ---------------------------------------------------
    "step": "Training steps the evaluated model had taken (the checkpoint's step count).",
    "finished": "Whether the run had reached its configured number of steps (true) or was "
                "evaluated before that (false).",
}

# the metrics of 2D samples, which the diffusion model also writes for DDIM as ddim_<metric>
SAMPLE_METRICS_2D = ("modes_covered", "n_modes", "hq_fraction", "mmd2", "mmd2_floor",
                     "mmd2_null_rms")
# fields that are not estimates, so have no standard error
NOT_ESTIMATES = ("step", "finished", "parameters", "n_modes")

PATTERNS = ("ddim_<metric>", "test_iwae_<k>", "test_iwae_<k>_stderr", "<metric>_stderr")
_IWAE = re.compile(r"test_iwae_([1-9][0-9]*)(_stderr)?")


def describe(name: str) -> str:
    """The one-line description of the metrics.json field `name`; KeyError if unknown."""
    if not isinstance(name, str):
        raise KeyError(f"metric names are strings, got {name!r} ({type(name).__name__})")
    if name in DESCRIPTIONS:
        return DESCRIPTIONS[name]
    iwae = _IWAE.fullmatch(name)
    if iwae:
        k = int(iwae.group(1))
        if iwae.group(2):
            return (f"Standard error of test_iwae_{k} over the test images, in nats per "
                    f"image; smaller is a more precise estimate.")
        return (f"Importance-weighted bound L_{k} on log p(x) with k = {k} samples per "
                f"estimate, averaged over the test images, in nats per image; higher is better "
                f"(L_1 is an ELBO, and L_k rises towards log p(x) as k grows).")
    if name.startswith("ddim_") and name[len("ddim_"):] in SAMPLE_METRICS_2D:
        return f"DDIM sampler: {DESCRIPTIONS[name[len('ddim_'):]]}"
    if name.endswith("_stderr"):
        base = name[:-len("_stderr")]
        if base not in NOT_ESTIMATES and not base.endswith("_stderr"):
            try:
                what = describe(base)
            except KeyError:
                pass
            else:
                return (f"Standard error of {base}, in {base}'s unit; smaller is a more "
                        f"precise estimate. {base}: {what}")
    raise KeyError(f"no description for the metric {name!r}: it is none of the "
                   f"{len(DESCRIPTIONS)} names in scratchgen.metrics.descriptions.DESCRIPTIONS "
                   f"and fits none of the patterns {', '.join(PATTERNS)}")
