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

#: Thresholds of :func:`region_answer` (geometric means over the images, each also ``Z``
#: standard errors away from no difference): the eyes-to-mouth balance must shift by
#: ``BALANCE`` against the centre prior's for one region to win; both regions together must
#: hold ``UNION`` times the centre prior's share for "eyes and mouth"; the face box
#: ``FACE_RATIO`` times its share for "whole face", with neither region below ``1 / LOW_RATIO``
#: of a face-uniform map's share.
BALANCE = 1.25
UNION = 1.1
FACE_RATIO = 1.02
LOW_RATIO = 1.25
Z = 2.0

#: The rule in words, for the tables.
RULE = ("judged against a centre prior (a Gaussian at the centre, no model): \"eyes\" or "
        "\"mouth\" when the eyes-to-mouth balance of the mass leans at least 1.25x further "
        "that way than the centre prior's and that region holds at least the centre prior's "
        "share; \"eyes and mouth\" when neither leans but both together hold at least 1.1x "
        "the centre prior's share; \"whole face\" when neither holds more, both hold at least "
        "0.8x what a map uniform over the face puts there, and the face box holds more than "
        "under the centre prior; else \"none\" (geometric means over the images, each 2 "
        "standard errors from no difference)")


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


def _test(logs):
    """(geometric mean, z of the log's mean against 0; NaN with one image) of per-image
    log-ratios."""
    lr = np.asarray(logs, np.float64)
    lr = lr[np.isfinite(lr)]
    if not len(lr):
        return float("nan"), float("nan")
    mean = float(lr.mean())
    if len(lr) < 2:
        return float(np.exp(mean)), float("nan")
    se = float(lr.std(ddof=1) / np.sqrt(len(lr)))
    z = mean / se if se > 0 else (np.inf if mean > 0 else -np.inf if mean < 0 else 0.0)
    return float(np.exp(mean)), float(z)


def _beyond(ratio, z, threshold):
    """``ratio`` at least ``threshold`` (>= 1) and significantly above 1 (one image: the
    ratio alone)."""
    return bool(ratio >= threshold and (np.isnan(z) or z >= Z))


def region_answer(profile):
    """Which region a batch of maps favours, from their :func:`region_profile`: one of
    :data:`ANSWERS` and the evidence, by :data:`RULE`. Returns ``{"answer", "eyes", "mouth",
    "face", "balance", "union", "z"}``: ``eyes`` / ``mouth`` / ``face`` the geometric-mean share
    of the mass in the region relative to the centre prior's share, ``balance`` the eyes-to-mouth
    ratio relative to the centre prior's (> 1: towards the eyes), ``union`` the two regions'
    joint share relative to the centre prior's, ``z`` each log's mean in standard errors. The
    centre prior itself, uniform random maps and a face's edge map answer "none"."""
    ref = references()
    c, u = ref["centre"], ref["face uniform"]
    le = np.log(np.clip(profile["eyes"], 1e-12, None) / c["eyes"])
    lm = np.log(np.clip(profile["mouth"], 1e-12, None) / c["mouth"])
    lf = np.log(np.clip(profile["face"], 1e-12, None) / c["face"])
    # the regions' joint share: concentrations times areas, over the centre prior's
    ae, am = _areas()
    joint = profile["eyes"] * ae + profile["mouth"] * am
    lu = np.log(np.clip(joint, 1e-12, None) / (c["eyes"] * ae + c["mouth"] * am))
    ev, z = {}, {}
    for k, v in (("eyes", le), ("mouth", lm), ("face", lf), ("balance", le - lm),
                 ("union", lu)):
        ev[k], z[k] = _test(v)
    flat = {r: float(np.exp(np.nanmean(np.log(np.clip(profile[r], 1e-12, None) / u[r]))))
            for r in REGIONS}
    if _beyond(ev["balance"], z["balance"], BALANCE) and ev["eyes"] >= 1:
        answer = "eyes"
    elif _beyond(1 / ev["balance"], -z["balance"], BALANCE) and ev["mouth"] >= 1:
        answer = "mouth"
    elif (ev["balance"] < BALANCE and 1 / ev["balance"] < BALANCE
          and _beyond(ev["union"], z["union"], UNION)):
        answer = "eyes and mouth"
    elif (ev["eyes"] <= 1 and ev["mouth"] <= 1 or not _beyond(ev["union"], z["union"], 1.0)) \
            and all(flat[r] >= 1 / LOW_RATIO for r in REGIONS) \
            and _beyond(ev["face"], z["face"], FACE_RATIO):
        answer = "whole face"
    else:
        answer = "none"
    return {"answer": answer, **{k: float(v) for k, v in ev.items()},
            "z": {k: float(v) for k, v in z.items()}}


def _areas():
    return tuple((rs.stop - rs.start) * (cs.stop - cs.start) / (48 * 48)
                 for rs, cs in REGIONS.values())


def answer_of_maps(maps):
    """:func:`region_answer` of a batch of maps ``(N, H, W)``."""
    return region_answer(region_profile(maps))


def matches(measured, claimed):
    """Whether a measured answer reproduces a claimed region: only the same answer does
    ("eyes and mouth" is not "eyes", "mouth" or "whole face")."""
    if measured not in ANSWERS or claimed not in ANSWERS:
        raise ValueError(f"not a region answer: {measured!r} / {claimed!r}")
    return measured == claimed
