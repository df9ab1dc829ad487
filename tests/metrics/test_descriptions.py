"""describe(name) covers every field the models write into metrics.json, the patterned names
resolve, an unknown name is a KeyError that says so, and docs/metrics.md lists every field."""
import re
from pathlib import Path

import numpy as np
import pytest

from scratchgen.data import load_dataset
from scratchgen.metrics import images
from scratchgen.metrics.descriptions import DESCRIPTIONS, describe

DOCS = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"

# What each family's evaluate() writes (scratchgen/models/*.py), with the default
# --iwae-samples 1,5,50,500; the training loop adds "step" and "finished" to all.
SAMPLE_2D = ["modes_covered", "n_modes", "hq_fraction", "mmd2", "mmd2_floor", "mmd2_null_rms"]
IMAGE = ["fd", "fd_floor", "classifier_entropy", "classifier_test_accuracy"]
WRITTEN = {
    "gan": SAMPLE_2D + IMAGE,
    "diffusion": SAMPLE_2D + [f"ddim_{name}" for name in SAMPLE_2D] + IMAGE,
    "vae": ["test_elbo", "test_elbo_stderr", "baseline_loglik", "pixel_variance"]
           + [f"test_iwae_{k}{end}" for k in (1, 5, 50, 500) for end in ("", "_stderr")] + IMAGE,
    "rbm": ["log_z_exact", "test_loglik_exact", "train_loglik_exact", "log_z_ais",
            "log_z_ais_stderr", "test_loglik_ais", "train_loglik_ais"],
    "gpt": ["val_loss", "bigram_val_loss", "parameters"],
    "every run": ["step", "finished"],
}
ALL_WRITTEN = sorted({name for names in WRITTEN.values() for name in names})


def check_description(name):
    text = describe(name)
    assert isinstance(text, str) and text.strip(), f"empty description for {name!r}"
    assert "\n" not in text, f"the description of {name!r} is not one line"
    return text


@pytest.mark.parametrize("name", ALL_WRITTEN)
def test_every_field_the_models_write_has_a_description(name):
    check_description(name)


def test_the_2d_metrics_as_computed_are_described():
    """The keys evaluate_2d really returns (gan and diffusion on 2D data, small n)."""
    from scratchgen.models.common import evaluate_2d

    dataset = load_dataset("ring8", n_train=200)
    rng = np.random.default_rng(0)
    metrics = evaluate_2d(dataset.sample_fresh(100, rng), dataset, rng, n=100)
    assert sorted(metrics) == sorted(SAMPLE_2D)
    for name in metrics:
        check_description(name)
        check_description(f"ddim_{name}")      # the diffusion model's DDIM copies


def test_the_image_metrics_as_computed_are_described():
    """The keys image_metrics really returns (with an untrained classifier: only the keys
    matter here)."""
    digits = load_dataset("digits")
    net = images.make_classifier(digits, images.CLASSIFIER_RECIPE).eval()
    metrics = images.image_metrics(digits.test[:50], digits, classifier=(net, 0.1))
    assert sorted(metrics) == sorted(IMAGE)
    for name in metrics:
        check_description(name)


@pytest.mark.parametrize("name, words", [
    ("ddim_hq_fraction", ["DDIM", "3 standard deviations"]),
    ("ddim_mmd2_floor", ["DDIM", "negative"]),
    ("test_iwae_7", ["k = 7", "nats per image"]),
    ("test_iwae_5000", ["k = 5000"]),
    ("test_iwae_50_stderr", ["Standard error of test_iwae_50"]),
    ("test_elbo_stderr", ["Standard error of test_elbo"]),
    ("hq_fraction_stderr", ["Standard error of hq_fraction", "3 standard deviations"]),
    ("test_loglik_ais_stderr", ["Standard error of test_loglik_ais"]),
])
def test_patterned_names_resolve(name, words):
    text = check_description(name)
    for word in words:
        assert word in text, f"{word!r} missing from the description of {name!r}: {text}"


@pytest.mark.parametrize("name", ["nope", "", "ddim_val_loss", "ddim_", "test_iwae_0",
                                  "test_iwae_k", "test_iwae_5_stderr_stderr", "step_stderr",
                                  "finished_stderr", "mmd2_stderr_stderr", "MMD2"])
def test_an_unknown_name_is_a_key_error_that_says_what_is_known(name):
    with pytest.raises(KeyError, match=re.escape(repr(name))) as info:
        describe(name)
    message = str(info.value)
    assert "no description" in message and "ddim_<metric>" in message
    assert "test_iwae_<k>" in message and "<metric>_stderr" in message


def test_mmd2_floor_explains_why_it_can_be_negative():
    text = describe("mmd2_floor")
    for word in ("unbiased", "expectation is 0", "negative about half the time",
                 "mmd2_null_rms"):
        assert word in text


def test_docs_list_every_described_field():
    docs = DOCS.read_text(encoding="utf-8")
    missing = [name for name in DESCRIPTIONS if f"`{name}`" not in docs]
    assert not missing, f"docs/metrics.md does not mention {missing}"
    for pattern in ("test_iwae_<k>", "test_iwae_<k>_stderr", "ddim_", "*_stderr"):
        assert pattern in docs
    # the negative floor is explained in a section of its own, before the families
    heading = docs.index("## Read this first: `mmd2_floor`")
    assert heading < docs.index("## gan")
    assert "negative about half the time" in docs[heading:docs.index("## gan")]


def test_docs_have_a_section_per_model_family():
    docs = DOCS.read_text(encoding="utf-8")
    for family in WRITTEN:
        if family != "every run":
            assert f"\n## {family}\n" in docs, f"no section for {family}"
    assert "\n## Every run\n" in docs
