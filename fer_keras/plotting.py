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


def model_comparison(names, params, train_acc, val_acc, path, title="CNN vs DNN"):
    """HW3 Q2: parameter counts (left) and train vs validation accuracy with the gap (right)
    of a few models. ``names``, ``params``, ``train_acc``, ``val_acc``: one entry per model."""
    plt = _plt()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6), gridspec_kw={"width_ratios": [1, 2]})
    x = np.arange(len(names))
    bars = ax1.bar(x, np.asarray(params) / 1e6, color="#8da0cb")
    ax1.bar_label(bars, [f"{p:,}" for p in params], fontsize=8)
    ax1.set_xticks(x, names, fontsize=8)
    ax1.set_ylabel("parameters (millions)")
    ax1.margins(y=0.2)
    w = 0.38
    b1 = ax2.bar(x - w / 2, train_acc, w, label="train", color="#66c2a5")
    b2 = ax2.bar(x + w / 2, val_acc, w, label="validation", color="#fc8d62")
    ax2.bar_label(b1, [f"{a:.1%}" for a in train_acc], fontsize=8)
    ax2.bar_label(b2, [f"{a:.1%}" for a in val_acc], fontsize=8)
    for xi, t, v in zip(x, train_acc, val_acc):
        ax2.annotate(f"gap {100 * (t - v):+.1f} pt", (xi, max(t, v) + 0.08), ha="center",
                     fontsize=8, color="#444")
    ax2.set_xticks(x, names, fontsize=8)
    ax2.set_ylim(0, 1.15)
    ax2.set_ylabel("accuracy")
    ax2.legend(loc="lower right", fontsize=8)
    fig.suptitle(title)
    return _save(fig, path)


def semi_comparison(fractions, supervised_acc, self_training_acc, path, title=""):
    """HW3 bonus: accuracy of labeled-only vs self-training per labeled fraction."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    x = np.arange(len(fractions))
    w = 0.38
    b1 = ax.bar(x - w / 2, supervised_acc, w, label="labeled only", color="#8da0cb")
    b2 = ax.bar(x + w / 2, self_training_acc, w, label="self-training", color="#66c2a5")
    ax.bar_label(b1, [f"{a:.1%}" for a in supervised_acc], fontsize=8)
    ax.bar_label(b2, [f"{a:.1%}" for a in self_training_acc], fontsize=8)
    ax.set_xticks(x, [f"{f:.0%} labeled" for f in fractions])
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("accuracy")
    ax.legend(loc="lower right")
    ax.set_title(title or "Semi-supervised learning")
    return _save(fig, path)
