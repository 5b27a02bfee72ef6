"""What a layer's filters respond to (HW3 Q5, HW4 Q2): gradient ascent on each filter from white
noise and from a real image (Olah et al. 2017), and every filter's output for that image.

Besides the figures it measures how much the ascent raised the filters, how alike the patterns
from noise and those added to the image are, and what each feature map does with the face
(:func:`feature_map_kinds`).
"""
from __future__ import annotations

import dataclasses
import time

import numpy as np

from fer_keras.analyses import Result, figure_path, finish

NAME = "filters"
PARTS = ("ascent", "features")


@dataclasses.dataclass(frozen=True)
class Settings:
    parts: tuple = PARTS  # what to run: "ascent" and/or "features"
    filters: int = 64  # filters to ascend
    steps: int = 200  # ascent steps per filter
    lr: float | None = None  # ascent step size (default: filter_ascent's)
    feature_map_filters: int = 64  # feature maps drawn (all are measured)
    seed: int = 0
    progress: bool = False


def correlation(a, b):
    """Pearson correlation of two arrays (flattened); NaN when either is constant."""
    a = np.asarray(a, np.float64).ravel()
    b = np.asarray(b, np.float64).ravel()
    if a.std() < 1e-12 or b.std() < 1e-12:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def resize_to(img, hw):
    """A float ``(H, W)`` image resized bilinearly to ``hw`` (unchanged when it has that size)."""
    from PIL import Image

    if tuple(img.shape) == tuple(hw):
        return img
    return np.asarray(Image.fromarray(img.astype(np.float32), mode="F").resize(
        (int(hw[1]), int(hw[0])), Image.BILINEAR))


def feature_map_kinds(fmaps, image, threshold=0.5, silent=1e-6):
    """Sort each feature map ``(C, h, w)`` of ``image`` (float ``(H, W)``) into one kind:
    ``dead`` (max <= ``silent``: nothing on this image), ``keep_face`` (correlation with the image,
    resized to the map, > ``threshold``), ``invert_face`` (< -``threshold``) or ``other`` (the
    rest: some parts, edges, or a constant map). The four counts add up to ``channels``."""
    fm = np.asarray(fmaps, np.float64)
    small = resize_to(image, fm.shape[1:])
    corr = np.array([correlation(f, small) for f in fm])
    dead = fm.reshape(len(fm), -1).max(axis=1) <= silent
    keep = ~dead & (corr > threshold)
    invert = ~dead & (corr < -threshold)
    return {"channels": int(len(fm)), "shape": list(fm.shape[1:]), "dead": int(dead.sum()),
            "keep_face": int(keep.sum()), "invert_face": int(invert.sum()),
            "other": int((~dead & ~keep & ~invert).sum())}


def _summary(r):
    return {"start_activation": float(np.mean(r["start_activation"])),
            "final_activation": float(np.mean(r["final_activation"])),
            "share_increased": float(np.mean(np.asarray(r["final_activation"])
                                             > np.asarray(r["start_activation"])))}


def run(model, data, settings=Settings(), out=None, layer=None, row=0, image_label=None):
    """Gradient ascent on the filters of ``layer`` (default: the first activation layer) from
    noise and from ``data.images[row]``, and ``layer``'s feature maps for that image.

    Numbers: ``layer``, ``row``; with "ascent": ``filters`` (count), ``steps``, ``noise`` and
    ``image`` (``start_activation``, ``final_activation`` means and ``share_increased``, plus
    per-filter lists in ``per_filter``), ``noise_vs_image_pattern_correlation`` (mean over filters
    of the correlation of the pattern found from noise with the one added to the image); with
    "features": ``feature_maps`` (:func:`feature_map_kinds` and ``mean_per_filter``).
    Figures: ``ascent_<layer>_noise.png``, ``ascent_<layer>_image.png``,
    ``features_<layer>.png``; the numbers go to ``ascent.json`` or ``features.json`` when only
    one part runs, ``filters.json`` when both do. Arrays: the ascent results and the feature
    maps."""
    from fer_keras import explain, plotting

    layer = layer or explain.first_activation_layer(model)
    image = data.images[row]
    image_label = image_label or f"image #{row}"
    name = NAME if set(PARTS) <= set(settings.parts) else settings.parts[0]
    res = Result(name, {"layer": layer, "row": int(row)})
    if "ascent" in settings.parts:
        runs = {}
        for start_name, start in (("noise", "noise"), ("image", image)):
            t = time.perf_counter()
            r = explain.filter_ascent(model, layer, filters=settings.filters, steps=settings.steps,
                                      start=start, lr=settings.lr, seed=settings.seed,
                                      progress=settings.progress)
            runs[start_name] = r
            res.numbers[start_name] = {**_summary(r), "seconds": round(time.perf_counter() - t, 3),
                                       "per_filter": {k: np.asarray(r[k]).tolist() for k in
                                                      ("filters", "start_activation",
                                                       "final_activation")}}
            if out is not None:
                where = "white noise" if start_name == "noise" else image_label
                res.files.append(plotting.filter_grid(
                    r["images"], figure_path(out, "ascent", layer, start_name),
                    f"{layer}: {len(r['filters'])} filters, {settings.steps} ascent steps from "
                    f"{where}", filters=r["filters"]))
        start = explain.as_batch(image, model)[0, ..., 0]  # the face in [0, 1], model size
        added = runs["image"]["images"] - start[None]
        corr = [correlation(a, b) for a, b in zip(runs["noise"]["images"], added)]
        res.numbers.update(filters=int(len(runs["noise"]["filters"])), steps=settings.steps,
                           noise_vs_image_pattern_correlation=float(np.nanmean(corr)))
        res.arrays["ascent"] = runs
    if "features" in settings.parts:
        fmaps = explain.feature_maps(model, layer, image)
        res.numbers["feature_maps"] = {
            **feature_map_kinds(fmaps, explain.as_batch(image, model)[0, ..., 0]),
            "mean_per_filter": fmaps.mean(axis=(1, 2)).round(5).tolist()}
        res.arrays["feature_maps"] = fmaps
        if out is not None:
            n = min(len(fmaps), settings.feature_map_filters)
            res.files.append(plotting.feature_map_grid(
                fmaps[:n], figure_path(out, "features", layer),
                f"Outputs of the filters of {layer} for {image_label}"))
    return res if out is None else finish(res, out)
