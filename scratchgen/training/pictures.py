"""Pictures shared by all models (matplotlib with the Agg backend: no screen needed)."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def new_figure(*args, **kwargs):
    return plt.subplots(*args, **kwargs)


def close(figure):
    plt.close(figure)


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
    run.save_figure("loss.png", fig)
    plt.close(fig)


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
    run.save_figure(name, fig)
    plt.close(fig)


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


def plot_image_grid(run, images, name="samples.png", title="", nrow=8, value_range=None):
    """A grid of grey images (N, 1, H, W), white ink on black as MNIST is usually shown, nrow
    images per row. value_range (low, high) is what black and white stand for; by default
    [-1, 1] when any value is negative, else [0, 1]."""
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 4 or images.shape[1] != 1:
        raise ValueError(f"plot_image_grid expects (N, 1, H, W) grey images, got {images.shape}")
    if value_range is None:
        value_range = (-1.0, 1.0) if images.min() < 0 else (0.0, 1.0)
    low, high = value_range
    images = (images - low) / (high - low)  # -> [0, 1]
    mosaic = tile_images(np.clip(images, 0, 1), nrow)
    height, width = mosaic.shape
    scale = 6.0 / max(height, width)
    fig, ax = plt.subplots(figsize=(max(2.5, width * scale), max(2.5, height * scale) + 0.4))
    ax.imshow(mosaic, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=9)
    run.save_figure(name, fig)
    plt.close(fig)
