"""Every picture of every model, drawn here (matplotlib with the Agg backend: no screen needed).

A model says what a picture shows (models/base.py `Picture`: points, images, panels of
images, text); `draw` turns it into a file of the run directory. Nothing else in the package
imports matplotlib but the benchmark harness's charts.
"""
import matplotlib

matplotlib.use("Agg")
import math  # noqa: E402
import textwrap  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..serialization import atomic_write  # noqa: E402


def draw(run, picture, dataset):
    """Write one models.base.Picture into the run directory as picture.name."""
    if picture.kind == "file":
        atomic_write(run.file(picture.name), picture.data)
    elif picture.kind == "points":
        plot_points_2d(run, picture.data, dataset, name=picture.name, title=picture.title)
    elif picture.kind == "images":
        plot_image_grid(run, picture.data, name=picture.name, title=picture.title,
                        nrow=picture.nrow, value_range=picture.value_range, cmap=picture.cmap)
    elif picture.kind == "panels":
        plot_panels(run, picture.data, name=picture.name, title=picture.title)
    elif picture.kind == "text":
        plot_text(run, picture.data, name=picture.name, title=picture.title)
    else:
        raise ValueError(f"unknown picture kind {picture.kind!r}")


def plot_losses(run, log):
    """loss.png: every logged loss against the step (a running mean over ~1% of the run)."""
    names = [k for k in log if k != "step"]
    if not names:
        return
    steps = np.asarray(log["step"])
    fig, axes = plt.subplots(len(names), 1, figsize=(7, 2.2 * len(names)), sharex=True,
                             squeeze=False)
    window = max(1, len(steps) // 100)
    for ax, name in zip(axes[:, 0], names):
        values = np.asarray(log[name], dtype=float)
        ax.plot(steps, values, alpha=0.3, lw=0.8)
        if window > 1:
            smooth = np.convolve(values, np.ones(window) / window, mode="valid")
            ax.plot(steps[window - 1:], smooth, lw=1.5)
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("step")
    save(run, "loss.png", fig)


def plot_points_2d(run, samples, dataset, name="samples.png", title=""):
    """Generated points over the real data, with the mode centres marked."""
    fig, ax = plt.subplots(figsize=(5.5, 6.0))
    real = dataset.train[:5000]
    ax.scatter(real[:, 0], real[:, 1], s=3, c="0.75", label="data")
    ax.scatter(samples[:, 0], samples[:, 1], s=3, c="tab:blue", alpha=0.6, label="samples")
    if getattr(dataset, "centres", None) is not None:
        c = dataset.centres
        ax.scatter(c[:, 0], c[:, 1], marker="x", s=60, c="tab:red", label="mode centres")
    ax.set_aspect("equal")
    # below the axes, so it never covers a mode; scatter sizes in the legend are set by hand
    legend = ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=3, fontsize=8)
    for handle, size in zip(legend.legend_handles, (20, 20, 40)):
        handle.set_sizes([size])
    ax.set_title(title or f"{dataset.name}: {len(samples)} samples")
    save(run, name, fig)


def tile_images(images, nrow, pad=1):
    """(N, 1, H, W) grey images in [0, 1] -> one (rows (H + pad), nrow (W + pad)) mosaic, row
    by row; the padding and any empty cells are mid-grey, so neighbouring images stay apart."""
    n, _, h, w = images.shape
    rows = -(-n // nrow)  # ceil
    mosaic = np.full((rows * (h + pad) + pad, nrow * (w + pad) + pad), 0.5)
    for i, image in enumerate(images[:, 0]):
        r, c = divmod(i, nrow)
        top, left = pad + r * (h + pad), pad + c * (w + pad)
        mosaic[top:top + h, left:left + w] = image
    return mosaic


def unit_range(images, value_range=None):
    """(N, 1, H, W) grey images mapped from value_range (low, high) to [0, 1]; by default the
    range is [-1, 1] when any value is negative, else [0, 1]."""
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 4 or images.shape[1] != 1:
        raise ValueError(f"expected (N, 1, H, W) grey images, got shape {images.shape}")
    if value_range is None:
        value_range = (-1.0, 1.0) if images.min() < 0 else (0.0, 1.0)
    low, high = value_range
    return np.clip((images - low) / (high - low), 0, 1)


def square_columns(n):
    """Images per row of a grid of n: the ceiling of sqrt(n) (16 -> 4, 100 -> 10, 64 -> 8)."""
    return max(1, math.ceil(math.sqrt(n)))


def show_mosaic(ax, mosaic, title, cmap="gray"):
    """Draw a tile_images mosaic (values in [0, 1]) on a matplotlib axis."""
    ax.imshow(mosaic, cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=9)


def plot_image_grid(run, images, name="samples.png", title="", nrow=None, value_range=None,
                    cmap="gray"):
    """A grid of grey images (N, 1, H, W), white ink on black as MNIST is usually shown, nrow
    images per row (default: a square grid). value_range (low, high) is what black and white
    stand for (unit_range)."""
    images = unit_range(images, value_range)
    mosaic = tile_images(images, nrow or square_columns(len(images)))
    height, width = mosaic.shape
    scale = 6.0 / max(height, width)
    fig, ax = plt.subplots(figsize=(max(2.5, width * scale), max(2.5, height * scale) + 0.4))
    show_mosaic(ax, mosaic, title, cmap)
    save(run, name, fig)


def plot_panels(run, panels, name, title=""):
    """Image grids side by side: panels [(title, (N, 1, H, W) images in [0, 1]), ...]."""
    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 4.9), squeeze=False)
    for ax, (panel_title, images) in zip(axes[0], panels):
        images = unit_range(images, (0.0, 1.0))
        show_mosaic(ax, tile_images(images, square_columns(len(images))), panel_title)
    if title:
        fig.suptitle(title)
    save(run, name, fig)


def plot_text(run, parts, name, title="", width=100):
    """Text set in a monospace font: parts [(heading, text), ...]."""
    lines = []
    for heading, text in parts:
        lines += [f"--- {heading} ---"]
        for line in text.expandtabs(4).split("\n"):
            lines += textwrap.wrap(line, width, drop_whitespace=False) or [""]
        lines += [""]
    fig, ax = plt.subplots(figsize=(8.5, 0.17 * len(lines) + 0.6))
    ax.axis("off")
    ax.text(0, 1, "\n".join(lines), family="monospace", fontsize=8, va="top",
            transform=ax.transAxes, parse_math=False)
    ax.set_title(title, loc="left", fontsize=10)
    save(run, name, fig)


def save(run, name, figure):
    run.save_figure(name, figure)
    plt.close(figure)
