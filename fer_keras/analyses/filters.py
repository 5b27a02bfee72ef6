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

from fer_keras.analyses import Command, Flag, Result, figure_path, finish, register

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


#: A feature map is a contour map when it correlates with the image's edge map at least this
#: much, and more than with the image itself (:func:`contour_maps`).
CONTOUR_R = 0.3


def edge_map(image):
    """The gradient magnitude of a float ``(H, W)`` image (Sobel, 3x3), float64 ``(H, W)``:
    high on the face's contours, zero on flat areas."""
    g = np.pad(np.asarray(image, np.float64), 1, mode="edge")
    smooth_x = g[:, :-2] + 2 * g[:, 1:-1] + g[:, 2:]
    smooth_y = g[:-2] + 2 * g[1:-1] + g[2:]
    dy = smooth_x[2:] - smooth_x[:-2]
    dx = smooth_y[:, 2:] - smooth_y[:, :-2]
    return np.hypot(dx, dy)


def contour_maps(fmaps, image, threshold=CONTOUR_R, silent=1e-6):
    """Which feature maps ``(C, h, w)`` of ``image`` (float ``(H, W)``) trace its contours: a
    live map (max > ``silent``) whose correlation with :func:`edge_map` of the image (resized to
    the map) is at least ``threshold`` and above the absolute correlation with the image
    itself. A rectified derivative along one axis counts (it correlates 0.4-0.6 with the
    magnitude on FER2013 faces); a copy of the face, its negative or noise does not. Returns
    ``{"live", "contour" (counts), "share" (contour / live, NaN with no live map), "edge_r",
    "image_r" (C,) lists, None for a constant map}``."""
    fm = np.asarray(fmaps, np.float64)
    img = np.asarray(image, np.float32)
    small = resize_to(img, fm.shape[1:])
    edges = resize_to(edge_map(img).astype(np.float32), fm.shape[1:])
    live = fm.reshape(len(fm), -1).max(axis=1) > silent
    edge_r = np.array([correlation(f, edges) for f in fm])
    image_r = np.array([correlation(f, small) for f in fm])
    # a constant map's NaN correlations compare False: it traces nothing
    contour = live & (edge_r >= threshold) & (edge_r > np.abs(np.nan_to_num(image_r)))
    n = int(live.sum())

    def listed(r):  # None where a map is constant (no correlation): JSON has no NaN
        return [round(float(x), 4) if np.isfinite(x) else None for x in r]

    return {"live": n, "contour": int(contour.sum()),
            "share": float(contour.sum() / n) if n else float("nan"),
            "edge_r": listed(edge_r), "image_r": listed(image_r)}


#: A tile "stayed noise" when its power spectrum is as flat as white noise's: the spectral
#: flatness (geometric over arithmetic mean of the power, DC excluded) of white noise is about
#: exp(-0.577) = 0.56; stripes or blobs concentrate the power and give much less.
NOISE_FLATNESS = 0.35
#: Two tiles are alike when their spectral descriptors correlate at least this much.
ALIKE = 0.5
#: The grids are "similar" when at least this share of the filters (those where neither tile
#: stayed noise) are alike.
SIMILAR_SHARE = 0.5
ORIENTATION_BINS = 12
FREQUENCY_BINS = 8


def _power(tile):
    t = np.asarray(tile, np.float64)
    t = t - t.mean()
    win = np.outer(np.hanning(t.shape[0]), np.hanning(t.shape[1]))
    return np.abs(np.fft.fftshift(np.fft.fft2(t * win))) ** 2


def spectral_flatness(tile):
    """Geometric over arithmetic mean of the tile's power spectrum (DC and the outermost
    frequencies excluded), in (0, 1]: about 0.56 for white noise, near 0 for stripes."""
    p = _power(tile)
    h, w = p.shape
    yy, xx = np.mgrid[:h, :w]
    r = np.hypot((yy - h // 2) / (h / 2), (xx - w // 2) / (w / 2))
    v = p[(r > 0) & (r <= 1)] + 1e-20
    return float(np.exp(np.mean(np.log(v))) / np.mean(v))


def spectral_descriptor(tile):
    """Orientation and spatial-frequency profile of a tile, float ``(ORIENTATION_BINS +
    FREQUENCY_BINS,)``: the power of its (Hann-windowed, mean-removed) Fourier magnitude summed
    per orientation (0-180 degrees) and per radial frequency band, each part normalised to sum
    1. The Fourier magnitude does not change when the pattern shifts, so two grids of the same
    stripes at other phases get the same descriptors."""
    p = _power(tile)
    h, w = p.shape
    yy, xx = np.mgrid[:h, :w]
    dy, dx = (yy - h // 2) / (h / 2), (xx - w // 2) / (w / 2)
    r = np.hypot(dy, dx)
    keep = (r > 1.5 / min(h, w) * 2) & (r <= 1)
    ang = np.mod(np.arctan2(dy, dx), np.pi)
    o = np.bincount(np.minimum((ang[keep] / np.pi * ORIENTATION_BINS).astype(int),
                               ORIENTATION_BINS - 1), p[keep], ORIENTATION_BINS)
    f = np.bincount(np.minimum((r[keep] * FREQUENCY_BINS).astype(int), FREQUENCY_BINS - 1),
                    p[keep], FREQUENCY_BINS)
    return np.concatenate([o / max(o.sum(), 1e-20), f / max(f.sum(), 1e-20)])


#: A tile is one-orientation stripes when three neighbouring orientation bins (45 degrees) of
#: its spectrum hold at least this share of its power: 0.25 for white noise, about 0.45 for a
#: FER2013 face, 1 for a grating.
ORIENTED = 0.6


def orientation_concentration(tile):
    """The largest share of the tile's power in three neighbouring orientation bins of
    :func:`spectral_descriptor` (a 45-degree sector, wrapping at 180), in [0.25, 1]."""
    o = spectral_descriptor(tile)[:ORIENTATION_BINS]
    return float(max(o[i] + o[(i + 1) % ORIENTATION_BINS] + o[(i + 2) % ORIENTATION_BINS]
                     for i in range(ORIENTATION_BINS)))


def featureless_tiles(tiles):
    """How many tiles ``(F, H, W)`` of an ascent grid show no pattern beyond noise or an edge:
    a tile is featureless when it stayed noise (:data:`NOISE_FLATNESS`) or is stripes of one
    orientation (:data:`ORIENTED`); a face, a blob or a corner is neither. Returns
    ``{"tiles", "noise", "oriented", "featureless" (counts), "share" (featureless / tiles)}``."""
    t = np.asarray(tiles, np.float64)
    noise = np.array([spectral_flatness(x) >= NOISE_FLATNESS for x in t], bool)
    oriented = np.array([orientation_concentration(x) >= ORIENTED for x in t], bool) & ~noise
    n = len(t)
    return {"tiles": n, "noise": int(noise.sum()), "oriented": int(oriented.sum()),
            "featureless": int((noise | oriented).sum()),
            "share": float((noise | oriented).sum() / n) if n else float("nan")}


def grid_similarity(a, b):
    """How alike two grids of tiles ``(F, H, W)`` are, filter by filter, by a measure that does
    not change when the patterns shift: the correlation of the tiles' spectral descriptors
    (:func:`spectral_descriptor`). Returns ``{"per_filter" (F,) correlations, "noise_a",
    "noise_b" (F,) bool (the tile stayed noise: :data:`NOISE_FLATNESS`), "compared" (filters
    where neither stayed noise), "alike" (of those, correlation >= ALIKE), "share_alike",
    "chance_share_alike" (the same share over mismatched pairs, tile f of a with tile f+k of b:
    what any two of these tiles give), "similar" (share_alike >= SIMILAR_SHARE),
    "within_a_share_alike" (the share of pairs of different filters of ``a``, noise aside, that
    are alike: low when each filter has its own texture), "mean_r"}``."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    da = np.stack([spectral_descriptor(t) for t in a])
    db = np.stack([spectral_descriptor(t) for t in b])
    r = np.array([correlation(x, y) for x, y in zip(da, db)])
    na = np.array([spectral_flatness(t) >= NOISE_FLATNESS for t in a])
    nb = np.array([spectral_flatness(t) >= NOISE_FLATNESS for t in b])
    ok = ~na & ~nb & np.isfinite(r)
    alike = ok & (r >= ALIKE)
    n = len(a)
    mism = [correlation(da[i], db[(i + k) % n]) for k in range(1, min(n, 8)) for i in range(n)
            if ok[i] and ok[(i + k) % n]]
    share = float(alike.sum() / ok.sum()) if ok.any() else float("nan")
    keep_a = np.flatnonzero(~na)
    within = [correlation(da[i], da[j]) >= ALIKE for x, i in enumerate(keep_a)
              for j in keep_a[x + 1:]]
    return {"per_filter": r.tolist(), "noise_a": na.tolist(), "noise_b": nb.tolist(),
            "compared": int(ok.sum()), "alike": int(alike.sum()), "share_alike": share,
            "chance_share_alike": float(np.mean(np.asarray(mism) >= ALIKE)) if mism
            else float("nan"),
            "similar": bool(ok.any() and share >= SIMILAR_SHARE),
            "within_a_share_alike": float(np.mean(within)) if within else float("nan"),
            "mean_r": float(np.nanmean(r[ok])) if ok.any() else float("nan")}


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
    of the pixel correlation of the pattern found from noise with the one added to the image:
    near 0 whenever the same stripes are merely shifted), ``noise_vs_image``
    (:func:`grid_similarity` of the same two grids: shift-invariant, with the tiles that stayed
    noise), ``noise_tiles`` (:func:`featureless_tiles` of the grid from noise); with
    "features": ``feature_maps`` (:func:`feature_map_kinds`, ``contours``
    (:func:`contour_maps`) and ``mean_per_filter``).
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
                           noise_vs_image_pattern_correlation=float(np.nanmean(corr)),
                           noise_vs_image=grid_similarity(runs["noise"]["images"], added),
                           noise_tiles=featureless_tiles(runs["noise"]["images"]))
        res.arrays["ascent"] = runs
    if "features" in settings.parts:
        fmaps = explain.feature_maps(model, layer, image)
        face = explain.as_batch(image, model)[0, ..., 0]
        res.numbers["feature_maps"] = {
            **feature_map_kinds(fmaps, face), "contours": contour_maps(fmaps, face),
            "mean_per_filter": fmaps.mean(axis=(1, 2)).round(5).tolist()}
        res.arrays["feature_maps"] = fmaps
        if out is not None:
            n = min(len(fmaps), settings.feature_map_filters)
            res.files.append(plotting.feature_map_grid(
                fmaps[:n], figure_path(out, "features", layer),
                f"Outputs of the filters of {layer} for {image_label}"))
    return res if out is None else finish(res, out)


def _call_part(part):
    def call(request):
        o = request.options
        ascent = dict(filters=o["filters"] or request.n or Settings.filters, steps=o["steps"],
                      lr=o["lr"], progress=o["progress"]) if part == "ascent" else {}
        settings = Settings(parts=(part,), seed=request.seed, **ascent)
        return run(request.model, request.data, settings, request.out, layer=request.layer,
                   row=request.row())
    return call


def _lines(res, request):
    m = res.numbers
    if "feature_maps" not in m:
        return [f"from {start}: mean activation {m[start]['start_activation']:.3f} -> "
                f"{m[start]['final_activation']:.3f}; raised for "
                f"{m[start]['share_increased']:.0%} of {m['filters']} filters "
                f"({m[start]['seconds']:.1f} s)" for start in ("noise", "image")]
    k = m["feature_maps"]
    return [f"{m['layer']}: {k['channels']} maps of {k['shape'][0]}x{k['shape'][1]} for image "
            f"#{m['row']}: {k['keep_face']} keep the face, {k['invert_face']} invert it, "
            f"{k['other']} other, {k['dead']} silent"]


_LAYER = "the layer (default: the first activation layer)"
_ROW = "row of the split whose image is used (default 0)"
register(Command(
    "ascent", "gradient ascent: inputs that maximise each filter of a layer",
    call=_call_part("ascent"), summary=_lines, order=30,
    flags=(Flag("steps", "gradient-ascent steps", default=Settings.steps),
           Flag("filters", f"how many filters (default {Settings.filters}; --n means the same)"),
           Flag("lr", "gradient-ascent step size (default 0.05 from noise, 0.01 from an image)",
                kind="number"),
           Flag("progress", "no progress bar", kind="off", default=True)),
    picks={"layer": _LAYER, "n": "how many filters (the same as --filters, whose default holds)",
           "index": "row of the split whose image the ascent also starts from (default 0)"}))
register(Command(
    "features", "every filter's output of a layer for one image", call=_call_part("features"),
    summary=_lines, order=40, picks={"layer": _LAYER, "index": _ROW}))
