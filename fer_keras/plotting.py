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
    from fer_keras.fileio import atomic_path

    plt = _plt()
    path = Path(path)
    with atomic_path(path, suffix=path.suffix or ".png") as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format=(path.suffix[1:] or "png"))
    plt.close(fig)
    return path


def training_curves(history, path, title=""):
    """Accuracy and loss per epoch, train vs validation (report 003 Q2). ``history``: list of
    per-epoch dicts with ``epoch``, ``accuracy``, ``loss`` and optionally ``val_*`` and, for a
    run with a moving average of the weights (``val_*`` then scores the average),
    ``raw_val_*``. Returns the path written."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    epochs = [r["epoch"] for r in history]
    averaged = any("raw_val_loss" in r for r in history)
    lines = (("", "-o", "train "),
             ("val_", "-s", "validation, averaged weights " if averaged else "validation "),
             ("raw_val_", ":", "validation, raw weights "))
    for ax, key in zip(axes, ("accuracy", "loss")):
        for prefix, style, label in lines:
            ys = [r.get(prefix + key) for r in history]
            if any(y is not None for y in ys):
                ax.plot(epochs, ys, style, ms=3, label=label + key)
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
    predictions so that the confusions stand out (report 000). A normalised matrix shows each
    cell's count under its share and each true class's image count in its row label, so that a
    share of a rare class (FER2013's Disgust: 56 test images) reads as what it is.
    """
    import seaborn as sns

    plt = _plt()
    counts = np.asarray(cm, dtype=np.float64)
    cm = counts
    annot, fmt = True, ".0f"
    labels = list(class_names)
    if normalize:
        rows = counts.sum(axis=1, keepdims=True)
        cm = counts / np.maximum(rows, 1)
        annot = np.array([[f"{cm[i, j]:.2f}\n{int(counts[i, j])}" for j in range(cm.shape[1])]
                          for i in range(cm.shape[0])])
        fmt = ""
        labels = [f"{c} ({int(n)})" for c, n in zip(class_names, rows[:, 0])]
    mask = np.eye(len(cm), dtype=bool) if hide_diagonal else None
    fig, ax = plt.subplots(figsize=(7.2, 6.0))
    sns.heatmap(cm, mask=mask, annot=annot, fmt=fmt, cmap="Blues", annot_kws={"fontsize": 7},
                xticklabels=class_names, yticklabels=labels, ax=ax, cbar=True, square=True)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    default = "Confusion matrix" + (" (row-normalised; count below)" if normalize else "")
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


def semi_comparison(fractions, accuracies, path, title="", n=None):
    """HW3 bonus: accuracy per labeled fraction of each method (``accuracies``: ``{label:
    [accuracy in [0, 1] per fraction]}``, drawn as grouped bars in that order). ``n``: the
    number of scored images; then each bar carries +-1 standard error, sqrt(p (1 - p) / n)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    x = np.arange(len(fractions))
    w = 0.8 / max(1, len(accuracies))
    colors = ["#8da0cb", "#66c2a5", "#fc8d62", "#e78ac3"]
    for i, (label, acc) in enumerate(accuracies.items()):
        a = np.asarray(acc, np.float64)
        err = None if not n else np.sqrt(np.clip(a * (1 - a), 0, None) / n)
        bars = ax.bar(x + (i - (len(accuracies) - 1) / 2) * w, acc, w, label=label,
                      color=colors[i % len(colors)], yerr=err, capsize=3 if n else 0)
        ax.bar_label(bars, [f"{a:.1%}" for a in acc], fontsize=8)
    ax.set_xticks(x, [f"{f:.0%} labeled" for f in fractions])
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("accuracy" + (f" (+-1 SE on {n:,} images)" if n else ""))
    ax.legend(loc="lower right")
    ax.set_title(title or "Semi-supervised learning")
    return _save(fig, path)


# --------------------------------------------------------------------------- explanations
def saliency_panels(images, maps, path, titles=None, keep=0.25, cmap="jet", suptitle=None):
    """The reports' saliency figure (HW3 Q4, HW4 Q1): one column per image, rows: the original,
    the map (``cmap`` heat map over [0, 1]) and the masked image (only the ``keep`` most salient
    share of the pixels shown, the rest black).

    ``images``: uint8 ``(N, h, w)`` or float ``(N, h, w[, 1])`` in [0, 1]; ``maps``: float
    ``(N, H, W)`` in [0, 1] as :func:`fer_keras.explain.saliency_maps` returns them (at the
    model's input resolution: resized to the images' for drawing).
    """
    plt = _plt()
    imgs = _grey(images)
    maps = _resized(np.asarray(maps, np.float32), imgs.shape[1:3])
    n = len(imgs)
    fig, axes = plt.subplots(3, n, figsize=(1.6 * n + 1.4, 5.2), squeeze=False)
    heat = None
    for i in range(n):
        thr = np.quantile(maps[i], 1 - keep)
        masked = np.where(maps[i] >= thr, imgs[i], 0.0)
        for r, (img, cm, vr) in enumerate(((imgs[i], "gray", (0, 1)), (maps[i], cmap, (0, 1)),
                                           (masked, "gray", (0, 1)))):
            ax = axes[r, i]
            shown = ax.imshow(img, cmap=cm, vmin=vr[0], vmax=vr[1])
            heat = shown if r == 1 else heat
            ax.set_xticks([])
            ax.set_yticks([])
        if titles is not None:
            axes[0, i].set_title(str(titles[i]), fontsize=8)
    if heat is not None:  # what the colours mean: each map scaled to [0, 1] per image
        bar = fig.colorbar(heat, ax=list(axes[1]), fraction=0.03, pad=0.02)
        bar.set_label("saliency (per image, 0-1)", fontsize=7)
        bar.ax.tick_params(labelsize=6)
    for r, name in enumerate(("original", "saliency", f"top {keep:.0%} pixels")):
        axes[r, 0].set_ylabel(name, fontsize=8)
    if suptitle:
        fig.suptitle(suptitle)
    return _save(fig, path)


def filter_grid(images, path, title, filters=None, ncols=8):
    """Gradient-ascent results (HW3 Q5, HW4 Q2): one cell per filter, each shown over its own
    range so that faint patterns stay visible; ``title`` should name the layer and the number
    of ascent steps. ``images``: float ``(F, 48, 48)`` in [0, 1]; ``filters``: their indices."""
    titles = None if filters is None else [f"filter {int(f)}" for f in filters]
    return image_grid(images, path, titles=titles, ncols=ncols, cmap="gray", suptitle=title)


def feature_map_grid(maps, path, title, ncols=8):
    """Every filter's output of one layer for one image (HW3 Q5, HW4 Q2): ``maps`` float
    ``(C, h, w)`` as :func:`fer_keras.explain.feature_maps` returns them."""
    maps = np.asarray(maps)
    return image_grid(maps, path, titles=[f"filter {c}" for c in range(len(maps))], ncols=ncols,
                      cmap="viridis", suptitle=title)


def lime_panels(image, lime_result, path, class_names=CLASS_NAMES, suptitle=None):
    """LIME per class (HW4 Q3): the image with its superpixel boundaries, then one panel per
    class with the superpixels coloured by their weight for that class (green for, red against,
    each class on its own scale; the top positive ones outlined), titled with the class probability and the local fit R^2.

    ``lime_result``: the dict of :func:`fer_keras.explain.lime_explanation`.
    """
    plt = _plt()
    img = _grey(np.asarray(image)[None])[0]
    # segments and masks are at the model's input resolution: drawn over the image as given
    seg = _resized(np.asarray(lime_result["segments"])[None], img.shape, order=0)[0]
    weights = np.asarray(lime_result["weights"])
    masks = _resized(np.asarray(lime_result["masks"]), img.shape, order=0)
    class_names = lime_result.get("classes", class_names)
    probs = np.asarray(lime_result["probs"])
    score = lime_result.get("score")
    k = len(weights)
    # rows of four panels: one strip of eight is too flat to read once a report downscales it
    ncols = min(k + 1, 4)
    nrows = -(-(k + 1) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.5 * ncols, 2.9 * nrows + 0.3),
                             squeeze=False)
    axes = axes.ravel()
    edge = _boundaries(seg)
    base = np.stack([img] * 3, axis=-1)
    axes[0].imshow(np.where(edge[..., None], [1.0, 1.0, 0.0], base))
    axes[0].set_title(f"{len(np.unique(seg))} superpixels", fontsize=11)
    for c in range(k):
        # each class on its own scale: the unlikely classes' weights are tiny but still show
        # which parts argue for or against them
        w = weights[c][seg] / (np.abs(weights[c]).max() or 1.0)  # (48, 48) in [-1, 1]
        rgb = base * 0.55
        rgb[..., 1] += 0.45 * np.clip(w, 0, 1)
        rgb[..., 0] += 0.45 * np.clip(-w, 0, 1)
        outline = _boundaries(masks[c].astype(np.int64)) & masks[c]
        rgb = np.where(outline[..., None], [1.0, 1.0, 0.0], np.clip(rgb, 0, 1))
        axes[c + 1].imshow(rgb)
        fit = "" if score is None else f", R²={float(score[c]):.2f}"
        axes[c + 1].set_title(f"{class_names[c]}\np={float(probs[c]):.2f}{fit}", fontsize=11)
    for ax in axes:
        ax.axis("off")
    if suptitle:
        fig.suptitle(suptitle)
    return _save(fig, path)


def tsne_scatter(embedding, labels, path, title, score=None, class_names=CLASS_NAMES):
    """t-SNE scatter coloured by class (HW4 Q4), with the silhouette ``score`` written beside
    it. ``embedding``: float ``(N, 2)``; ``labels``: int ``(N,)``."""
    plt = _plt()
    emb = np.asarray(embedding)
    labels = np.asarray(labels)
    fig, ax = plt.subplots(figsize=(6.2, 5.0))
    colors = plt.get_cmap("tab10")
    for c, name in enumerate(class_names):
        pick = labels == c
        if pick.any():
            ax.scatter(emb[pick, 0], emb[pick, 1], s=8, color=colors(c), label=name, alpha=0.8)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(fontsize=7, markerscale=2, loc="center left", bbox_to_anchor=(1.0, 0.5))
    if score is not None:
        ax.text(1.02, 0.02, f"silhouette\n{float(score):.3f}", transform=ax.transAxes, fontsize=9)
    ax.set_title(title)
    return _save(fig, path)


def deletion_insertion_curves(curves, path, title="Deletion / insertion (Petsiuk 2018)"):
    """Mean deletion and insertion curves per method. ``curves``: ``{method: {"deletion_curve":
    (S+1,), "insertion_curve": (S+1,), "deletion_auc": float, "insertion_auc": float}}``."""
    panels = []
    for kind in ("deletion", "insertion"):
        lines = {name: (np.linspace(0, 1, len(r[f"{kind}_curve"])), r[f"{kind}_curve"],
                        f"AUC {r[f'{kind}_auc']:.3f}") for name, r in curves.items()}
        verb = "deleted" if kind == "deletion" else "inserted"
        panels.append((kind, f"share of pixels {verb}", lines))
    return _curve_panels(panels, path, title)


def road_curves(curves, path, title="ROAD, noisy linear imputation (Rong et al. 2022)"):
    """ROAD's mean probability of the class against the share of pixels removed, most relevant
    first (left, lower is better) and least relevant first (right, higher is better).
    ``curves``: ``{name: {"road_shares": (S,), "road_morf_curve": (S,), "road_lerf_curve": (S,),
    "road_morf": float, "road_lerf": float}}`` (the ``curves`` and numbers of
    :func:`fer_keras.explain.run_checks`, merged)."""
    panels = []
    for kind, label in (("morf", "most relevant first"), ("lerf", "least relevant first")):
        lines = {name: (r["road_shares"], r[f"road_{kind}_curve"], f"mean {r[f'road_{kind}']:.3f}")
                 for name, r in curves.items()}
        panels.append((label, "share of pixels removed", lines))
    return _curve_panels(panels, path, title)


def _curve_panels(panels, path, title):
    """One panel per ``(title, x label, {name: (xs, ys, legend note)})``; controls (names in
    :data:`fer_keras.explain.controls.CONTROLS`) dashed."""
    from fer_keras.explain.controls import CONTROLS

    plt = _plt()
    n = max(len(lines) for _, _, lines in panels)
    # each panel's legend below it, outside the axes: inside, it covered the curves
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 3.8 + 0.19 * n),
                             squeeze=False)
    for ax, (name, xlabel, lines) in zip(axes[0], panels):
        for label, (xs, ys, note) in lines.items():
            ax.plot(np.asarray(xs), np.asarray(ys), "--" if label in CONTROLS else "-",
                    label=f"{label} ({note})")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("probability of the class")
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2,
                  frameon=False)
    fig.suptitle(title)
    return _save(fig, path)


def cascading_randomization(cascades, path, threshold=None,
                            title="Cascading randomisation (Adebayo et al. 2018)"):
    """Spearman rank correlation between the trained model's maps and the maps after
    randomising the weights from the top layer down. ``cascades``: ``{method: {"layers": [top
    layer first], "spearman": (L,)}}`` (:func:`fer_keras.explain.cascading_randomization`);
    NaN points (randomised maps constant too often) are left out. ``threshold``: the
    verdict's bound, drawn as a dotted line."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 4))
    layers = []
    for method, c in cascades.items():
        layers = c["layers"] if len(c["layers"]) > len(layers) else layers
        ys = np.asarray([np.nan if v is None else v for v in c["spearman"]], np.float64)
        ax.plot(np.arange(len(ys)), ys, "o-", label=method)
    if threshold is not None:
        ax.axhline(threshold, color="k", ls=":", lw=1, label=f"verdict bound {threshold}")
    ax.set_xticks(np.arange(len(layers)))
    ax.set_xticklabels([f"+{name}" for name in layers], rotation=45, ha="right", fontsize=7)
    ax.set_xlabel("randomised down to (cumulative, top layer first)")
    ax.set_ylabel("Spearman vs trained maps")
    ax.set_ylim(-0.2, 1.0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title(title)
    return _save(fig, path)


def _grey(images):
    """Images as float ``(N, H, W)`` in [0, 1] for display."""
    a = np.asarray(images)
    if a.ndim == 4:
        a = a[..., 0]
    return a.astype(np.float32) / 255.0 if a.dtype == np.uint8 else a.astype(np.float32)


def _resized(maps, shape, order=1):
    """``(N, H, W)`` maps resized to ``(N, *shape)`` (``order`` 1 bilinear, 0 nearest, which
    keeps labels and masks), unchanged when already that size."""
    maps = np.asarray(maps)
    if maps.shape[1:3] == tuple(shape):
        return maps
    from scipy.ndimage import zoom

    factors = (1, shape[0] / maps.shape[1], shape[1] / maps.shape[2])
    out = zoom(maps.astype(np.float32), factors, order=order, grid_mode=True, mode="nearest")
    return out.astype(maps.dtype) if order == 0 else out


def _boundaries(seg):
    """bool ``(H, W)``: pixels whose right or lower neighbour lies in another segment."""
    seg = np.asarray(seg)
    edge = np.zeros(seg.shape, bool)
    edge[:, :-1] |= seg[:, :-1] != seg[:, 1:]
    edge[:-1, :] |= seg[:-1, :] != seg[1:, :]
    return edge


def saliency_overlay(face, saliency_map, size=192, alpha=0.5):
    """RGB uint8 ``(size, size, 3)``: a saliency map laid over its face, for a page or an API.

    ``face``: grey uint8 ``(h, w)`` (any size: the crop the model saw or a larger one of the
    same square); ``saliency_map``: float ``(H, W)`` in [0, 1] over the same square (at the
    model's resolution). Both are resized to ``size`` (bilinear); each pixel is ``1 - alpha``
    of the face plus ``alpha`` of the jet colour of its map value (blue 0 to red 1), the usual
    Grad-CAM display. Unlike the figures above this returns the array (no file): the server
    encodes it. OpenCV draws it (no matplotlib needed)."""
    import cv2

    face = np.asarray(face, np.uint8)
    m = np.clip(np.nan_to_num(np.asarray(saliency_map, np.float32)), 0.0, 1.0)
    if face.ndim != 2 or m.ndim != 2:
        raise ValueError(f"expected a grey face (h, w) and a map (H, W), got {face.shape} and "
                         f"{m.shape}")
    face = cv2.resize(face, (size, size), interpolation=cv2.INTER_AREA
                      if face.shape[0] > size else cv2.INTER_LINEAR)
    m = cv2.resize(m, (size, size), interpolation=cv2.INTER_LINEAR)
    heat = cv2.applyColorMap(np.rint(255 * m).astype(np.uint8), cv2.COLORMAP_JET)[..., ::-1]
    rgb = np.repeat(face[..., None], 3, axis=-1).astype(np.float32)
    return np.clip(np.rint((1 - alpha) * rgb + alpha * heat), 0, 255).astype(np.uint8)


def verdict_line(verdict):
    """The one-line verdict of a method's explanation checks on a model, as the figures show it:
    ``"checks passed"``, ``"FAILED checks: sanity, road"`` or ``"not checked"`` for ``verdict``
    ``{"passed": bool, "failed": [check, ...]}`` or None."""
    if not verdict:
        return "not checked"
    if verdict.get("passed"):
        return "checks passed"
    return "FAILED checks: " + (", ".join(verdict.get("failed") or ()) or "some")


def photo_explanations(annotated, overlays, face_titles, method_titles, path, suptitle=None,
                       verdicts=None):
    """The faces of one photo explained: the photo with its numbered boxes on the left, then
    one row per face with its overlay for each method (``fer-keras explain saliency --image``,
    the README's picture), each with the colour bar of its map (0 = least, 1 = most salient).

    ``annotated``: RGB uint8 ``(H, W, 3)``; ``overlays``: RGB uint8 ``(N faces, M methods, S, S,
    3)`` (:func:`saliency_overlay`, jet colours); ``face_titles``: N row labels;
    ``method_titles``: M column titles (the registry's method names); ``verdicts``: M
    ``{"passed", "failed"}`` or None, the stored explanation checks of each method on this
    model, written under its title (:func:`verdict_line`), red with a warning under the
    figure for a method that failed them. Fonts follow the row height, so that neither the
    labels nor the titles overlap when a photo has many faces. Returns the path."""
    plt = _plt()
    from matplotlib import cm, colors

    overlays = np.asarray(overlays)
    n, m = overlays.shape[:2]
    verdicts = list(verdicts) if verdicts is not None else [None] * m
    rows, row_in = max(n, 1), 1.6
    photo_w = row_in * rows * annotated.shape[1] / annotated.shape[0]
    fig = plt.figure(figsize=(photo_w + 1.9 * m, row_in * rows + 1.1))
    grid = fig.add_gridspec(rows, m + 1, width_ratios=[photo_w / 1.9] + [1] * m,
                            wspace=0.15, hspace=0.12)
    ax = fig.add_subplot(grid[:, 0])
    ax.imshow(annotated)
    ax.axis("off")
    font = 8  # points: a 1.6-inch row holds an 8-point label beside a 1.6-inch overlay
    jet = cm.ScalarMappable(norm=colors.Normalize(0, 1), cmap="jet")
    failed = [t for t, v in zip(method_titles, verdicts) if v and not v.get("passed")]
    for i in range(n):
        for j in range(m):
            ax = fig.add_subplot(grid[i, j + 1])
            ax.imshow(overlays[i, j])
            ax.set_xticks([])
            ax.set_yticks([])
            bar = fig.colorbar(jet, ax=ax, fraction=0.046, pad=0.03, ticks=[0, 1])
            bar.ax.tick_params(labelsize=font - 2, length=2)
            if i == 0:
                bad = verdicts[j] and not verdicts[j].get("passed")
                line = verdict_line(verdicts[j]).replace(": ", ":\n")  # as wide as a map
                ax.set_title(f"{method_titles[j]}\n{line}", fontsize=font,
                             color="#c00000" if bad else "black")
            if j == 0:
                ax.set_ylabel(face_titles[i], fontsize=font)
    note = (f"warning: {' and '.join(failed)} failed the explanation checks on this model; "
            f"{'its' if len(failed) == 1 else 'their'} maps may not show what the model uses"
            ) if failed else None
    if note:
        fig.text(0.5, 0.0, note, ha="center", va="top", fontsize=font + 1, color="#c00000")
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    return _save(fig, path)


# --------------------------------------------------------------------------- architecture
def _inbound(layer):
    """Names of the layers feeding ``layer`` in a built Keras 3 graph ([] when unknown)."""
    names = []
    for node in getattr(layer, "_inbound_nodes", [])[:1]:
        for t in getattr(node, "input_tensors", []) or []:
            hist = getattr(t, "_keras_history", None)
            op = getattr(hist, "operation", None) if hist is not None else None
            if op is not None and getattr(op, "name", None):
                names.append(op.name)
    return names


def model_diagram(model, path):
    """A layer diagram of ``model`` drawn with matplotlib (HW3 Q1, when Graphviz's ``dot`` is
    missing for ``keras.utils.plot_model``): one box per layer, top to bottom in the model's
    order, with its name, type and output shape, and an arrow from each layer that feeds it
    (the previous one when the graph does not say)."""
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    plt = _plt()
    layers = list(model.layers)
    n = len(layers)
    fig, ax = plt.subplots(figsize=(4.8, 0.55 * n + 0.6))
    ax.set_xlim(0, 1)
    ax.set_ylim(-n + 0.3, 0.9)
    ax.axis("off")
    ypos = {}
    for i, layer in enumerate(layers):
        y = -i
        ypos[layer.name] = y
        try:
            shape = tuple(layer.output.shape)
        except (AttributeError, ValueError):
            shape = "?"
        ax.add_patch(FancyBboxPatch((0.08, y - 0.2), 0.84, 0.4, boxstyle="round,pad=0.02",
                                    fc="#eef3fb", ec="#4a6fa5", lw=0.8))
        ax.text(0.5, y, f"{layer.name}  ({type(layer).__name__})  {shape}", ha="center",
                va="center", fontsize=7)
    for i, layer in enumerate(layers):
        src = [s for s in _inbound(layer) if s in ypos] or (
            [layers[i - 1].name] if i and type(layer).__name__ != "InputLayer" else [])
        for s in src:
            y0, y1 = ypos[s] - 0.22, ypos[layer.name] + 0.22
            if ypos[s] == ypos[layer.name] + 1:
                ax.add_patch(FancyArrowPatch((0.5, y0), (0.5, y1), arrowstyle="-|>",
                                             mutation_scale=7, lw=0.8, color="#4a6fa5"))
            else:  # a skip connection: around the side
                ax.add_patch(FancyArrowPatch((0.92, y0 + 0.2), (0.92, y1 - 0.2),
                                             connectionstyle="arc3,rad=-0.4", arrowstyle="-|>",
                                             mutation_scale=7, lw=0.8, color="#c0504d"))
    ax.set_title(f"{model.name}: {model.count_params():,} parameters", fontsize=9)
    return _save(fig, path)
