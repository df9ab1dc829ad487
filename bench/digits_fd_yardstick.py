"""What the image metrics say about image sets of known quality (docs/results-images.md):
the training split itself (that is fd_floor), the training split with Gaussian pixel noise,
a Gaussian fitted to the 64 pixels, half the classes, and uniform noise. Same classifier and
test split as `scratchgen eval`; seed 0.

    python bench/digits_fd_yardstick.py
"""
import numpy as np

from scratchgen.data import load_dataset
from scratchgen.metrics.images import image_metrics


def image_sets(dataset, rng):
    x = dataset.train                                   # (1437, 1, 8, 8) in [-1, 1]
    pixels = x.reshape(len(x), -1)                      # (1437, 64)
    gaussian = rng.multivariate_normal(pixels.mean(axis=0), np.cov(pixels.T), len(x))
    return {
        "training split (= fd_floor)": x,
        "training split + Gaussian noise, std 0.2": x + 0.2 * rng.standard_normal(x.shape),
        "training split + Gaussian noise, std 0.5": x + 0.5 * rng.standard_normal(x.shape),
        "a Gaussian fitted to the 64 pixels, clipped to [-1, 1]": gaussian.clip(-1, 1).reshape(x.shape),
        "training images of digits 0-4 only": x[dataset.train_labels < 5],
        "uniform noise in [-1, 1]": rng.uniform(-1, 1, x.shape),
    }


def main():
    dataset = load_dataset("digits", seed=0)
    print("| images | n | fd | classifier_entropy |\n|---|---|---|---|")
    for name, images in image_sets(dataset, np.random.default_rng(0)).items():
        metrics = image_metrics(images.astype(np.float32), dataset)
        print(f"| {name} | {len(images)} | {metrics['fd']:.1f} | {metrics['classifier_entropy']:.3f} |")


if __name__ == "__main__":
    main()
