"""Where in an aligned 48x48 face a map puts its mass, and which region it favours beyond what
model-free maps would give.

The answers are five distinct words: ``"eyes"``, ``"mouth"``, ``"eyes and mouth"``, ``"whole
face"`` and ``"none"``. A region counts only when a map puts clearly more mass there than both
references do on the same 48x48 frame: the centre prior of :mod:`fer_keras.explain.controls` (a
Gaussian at the centre: "the middle of the face" is a free answer on centred faces) and a map
uniform over the face box (mass spread evenly over the face, which the eyes and the mouth
regions, covering most of the face, would otherwise "win"). See :func:`region_answer` for the
rule; the centre prior itself and uniform random maps answer ``"none"`` under it.
"""
from __future__ import annotations

import functools

import numpy as np

#: Approximate face regions of an aligned 48x48 face (rows, columns): eyes and brows, mouth,
#: and the face box (forehead to chin, cheek to cheek). They match the synthetic faces' part
#: masks and FER2013's rough alignment.
REGIONS = {"eyes": (slice(8, 27), slice(6, 42)), "mouth": (slice(28, 45), slice(10, 38))}
FACE = (slice(3, 46), slice(5, 43))

#: The five answers of :func:`region_answer`, distinct: a claim matches only its own.
ANSWERS = ("eyes", "mouth", "eyes and mouth", "whole face", "none")

#: A region is favoured when its concentration is at least ``MIN_RATIO`` times the
#: reference's (geometric mean over the images) and the log-ratio's mean is ``Z`` standard
#: errors above 0; "disfavoured" below ``1 / LOW_RATIO`` of the face-uniform map.
MIN_RATIO = 1.1
LOW_RATIO = 1.25
Z = 2.0

#: The rule in words, for the tables.
RULE = ("a region counts when the maps put at least 1.1x the mass there that both a centre "
        "prior and a map uniform over the face put there (geometric mean over the images, "
        "log-ratio 2 standard errors above 0); \"whole face\" when neither region counts, "
        "both get at least 0.8x the face-uniform share and the face box holds significantly "
        "more of the mass than under the centre prior; else \"none\"")


def _resize(maps):
    maps = np.asarray(maps, np.float64)
    if maps.ndim == 2:
        maps = maps[None]
    if maps.shape[1:3] != (48, 48) and len(maps):
        from fer_keras.analyses.filters import resize_to

        maps = np.stack([resize_to(m, (48, 48)) for m in maps]).astype(np.float64)
    return maps


def region_profile(maps):
    """Per image, the concentration of each map's mass in each region: ``{"eyes", "mouth",
    "face": float (N,)}``, the share of the map's (non-negative) mass inside the region divided
    by the region's share of the image (1 = uniform, 2 = twice the mass a uniform map puts
    there). Maps ``(N, H, W)`` of another size are resized to 48x48 first; an all-zero map
    gives NaN."""
    maps = np.clip(_resize(maps), 0, None)
    total = maps.sum(axis=(1, 2))
    hw = maps.shape[1] * maps.shape[2]
    out = {}
    for name, (rs, cs) in {**REGIONS, "face": FACE}.items():
        area = ((rs.stop - rs.start) * (cs.stop - cs.start)) / hw
        inside = maps[:, rs, cs].sum(axis=(1, 2))
        with np.errstate(invalid="ignore", divide="ignore"):
            out[name] = np.where(total > 0, inside / np.where(total > 0, total, 1) / area,
                                 np.nan)
    return out


def region_concentration(maps):
    """``{region: concentration}``: the mean over images of :func:`region_profile` (eyes and
    mouth)."""
    p = region_profile(maps)
    return {k: float(np.nanmean(p[k])) if np.isfinite(p[k]).any() else float("nan")
            for k in REGIONS}


@functools.lru_cache(maxsize=1)
def references():
    """The profiles of the two references on a 48x48 frame: ``{"centre": {...}, "face
    uniform": {...}}``, each ``{"eyes", "mouth", "face"}`` floats."""
    from fer_keras.explain.controls import centre_prior

    face = np.zeros((1, 48, 48))
    face[0, FACE[0], FACE[1]] = 1
    return {k: {r: float(v[0]) for r, v in region_profile(m).items()}
            for k, m in (("centre", centre_prior(1)), ("face uniform", face))}


def _ratio_test(values, ref):
    """(geometric-mean ratio of ``values`` to ``ref``, its log's mean over its standard error;
    inf when the images agree exactly, NaN when there is only one)."""
    lr = np.log(np.clip(np.asarray(values, np.float64), 1e-9, None) / ref)
    lr = lr[np.isfinite(lr)]
    if not len(lr):
        return float("nan"), float("nan")
    mean = float(lr.mean())
    if len(lr) < 2:
        return float(np.exp(mean)), float("nan")
    se = float(lr.std(ddof=1) / np.sqrt(len(lr)))
    z = mean / se if se > 0 else (np.inf if mean > 0 else -np.inf if mean < 0 else 0.0)
    return float(np.exp(mean)), float(z)


def _significant(ratio, z, threshold):
    # one image: no standard error, so the ratio alone decides
    return bool(ratio >= threshold and (np.isnan(z) or z >= Z))


def region_answer(profile):
    """Which region a batch of maps favours, from their :func:`region_profile`: one of
    :data:`ANSWERS` and the evidence. Returns ``{"answer", "eyes", "mouth", "face", "z"}``:
    ``eyes`` / ``mouth`` the geometric-mean concentration relative to the larger of the two
    references (centre prior, face-uniform map), ``face`` the face box's concentration relative
    to the centre prior's, ``z`` the log-ratios' means in standard errors. The rule
    (:data:`RULE`): a region counts at >= 1.1x with z >= 2 (with one image, the ratio alone);
    "eyes and mouth" when both count; "whole face" when neither does, both are at least 0.8x the
    face-uniform map's and the face box is significantly above the centre prior's; else
    "none". The centre prior and uniform random maps give "none"."""
    ref = references()
    ev, z = {}, {}
    for r in REGIONS:
        top = max(ref["centre"][r], ref["face uniform"][r])
        ev[r], z[r] = _ratio_test(profile[r], top)
    ev["face"], z["face"] = _ratio_test(profile["face"], ref["centre"]["face"])
    flat = {r: _ratio_test(profile[r], ref["face uniform"][r])[0] for r in REGIONS}
    fav = [r for r in REGIONS if _significant(ev[r], z[r], MIN_RATIO)]
    if len(fav) == 2:
        answer = "eyes and mouth"
    elif fav:
        answer = fav[0]
    elif (all(flat[r] >= 1 / LOW_RATIO for r in REGIONS)
          and _significant(ev["face"], z["face"], 1.02)):
        answer = "whole face"
    else:
        answer = "none"
    return {"answer": answer, **{k: float(v) for k, v in ev.items()},
            "z": {k: float(v) for k, v in z.items()}}


def answer_of_maps(maps):
    """:func:`region_answer` of a batch of maps ``(N, H, W)``."""
    return region_answer(region_profile(maps))


def matches(measured, claimed):
    """Whether a measured answer reproduces a claimed region: only the same answer does
    ("eyes and mouth" is not "eyes", "mouth" or "whole face")."""
    if measured not in ANSWERS or claimed not in ANSWERS:
        raise ValueError(f"not a region answer: {measured!r} / {claimed!r}")
    return measured == claimed
