"""All figures of fer_keras; the only module that imports matplotlib (lazily, Agg backend).

Every function takes numpy arrays (as the computing modules return them), draws one figure,
saves it atomically to ``path`` (PNG) and returns the path.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from fer_keras import CLASS_NAMES


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path, dpi=110):
    from fer_keras.io import atomic_path

    plt = _plt()
    path = Path(path)
    with atomic_path(path, suffix=path.suffix or ".png") as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format=(path.suffix[1:] or "png"))
    plt.close(fig)
    return path


def training_curves(history, path, title=""):
    """Accuracy and loss per epoch, train vs validation (report 003 Q2). ``history``: list of
    per-epoch dicts with ``epoch``, ``accuracy``, ``loss`` and optionally ``val_*``."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    epochs = [r["epoch"] for r in history]
    for ax, key in zip(axes, ("accuracy", "loss")):
        for prefix, style in (("", "-o"), ("val_", "-s")):
            ys = [r.get(prefix + key) for r in history]
            if any(y is not None for y in ys):
                ax.plot(epochs, ys, style, ms=3, label=("validation " if prefix else "train ") + key)
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(f"Training curves {title}".strip())
    return _save(fig, path)


def confusion_matrix(cm, path, normalize=True, hide_diagonal=False, title=None,
                     class_names=CLASS_NAMES):
    """Heatmap of a confusion matrix ``(7, 7)`` (rows: true class, columns: predicted).

    ``normalize`` divides each row by its total; ``hide_diagonal`` blanks the correct
    predictions so that the confusions stand out (report 000).
    """
    import seaborn as sns

    plt = _plt()
    cm = np.asarray(cm, dtype=np.float64)
    if normalize:
        cm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    mask = np.eye(len(cm), dtype=bool) if hide_diagonal else None
    fig, ax = plt.subplots(figsize=(6.4, 5.4))
    sns.heatmap(cm, mask=mask, annot=True, fmt=".2f" if normalize else ".0f", cmap="Blues",
                xticklabels=class_names, yticklabels=class_names, ax=ax, cbar=True, square=True)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    default = "Confusion matrix" + (" (row-normalised)" if normalize else "")
    ax.set_title(title or default + (", diagonal removed" if hide_diagonal else ""))
    return _save(fig, path)


def image_grid(images, path, titles=None, ncols=8, cmap="gray", suptitle=None, vrange=None,
               cell=1.3):
    """A grid of 2-D arrays (e.g. filters, feature maps). ``images``: ``(N, H, W)``."""
    plt = _plt()
    images = np.asarray(images)
    n = len(images)
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(cell * ncols, cell * nrows + 0.4),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            kw = {} if vrange is None else dict(vmin=vrange[0], vmax=vrange[1])
            ax.imshow(images[i], cmap=cmap, **kw)
            if titles is not None:
                ax.set_title(str(titles[i]), fontsize=7)
    if suptitle:
        fig.suptitle(suptitle)
    return _save(fig, path)
