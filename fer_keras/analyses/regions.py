"""Where in an aligned 48x48 face a map puts its mass: the eyes and the mouth regions."""
from __future__ import annotations

import numpy as np

#: Approximate face regions of an aligned 48x48 face (rows, columns): eyes and brows, mouth.
#: They match the synthetic faces' part masks and FER2013's rough alignment.
REGIONS = {"eyes": (slice(8, 27), slice(6, 42)), "mouth": (slice(28, 45), slice(10, 38))}


def region_concentration(maps):
    """``{region: concentration}`` over a batch of maps ``(N, H, W)``: mean over images of the
    share of the map's mass inside the region divided by the region's share of the image
    (1 = no preference, 2 = twice the mass a uniform map would put there). Maps of another size
    (a model with another input size) are resized to 48x48 first, where the regions are."""
    maps = np.asarray(maps, np.float64)
    if maps.shape[1:3] != (48, 48) and len(maps):
        from fer_keras.analyses.filters import resize_to

        maps = np.stack([resize_to(m, (48, 48)) for m in maps]).astype(np.float64)
    total = maps.sum(axis=(1, 2))
    ok = total > 0
    res = {}
    for name, (rs, cs) in REGIONS.items():
        area = ((rs.stop - rs.start) * (cs.stop - cs.start)) / (maps.shape[1] * maps.shape[2])
        inside = maps[:, rs, cs].sum(axis=(1, 2))
        res[name] = float(np.mean(inside[ok] / total[ok]) / area) if ok.any() else float("nan")
    return res


def focus_of(conc, margin=1.25, floor=1.15, low=0.85):
    """Name the region a map favours: "mouth", "eyes", "eyes and mouth", "whole face" (no
    region clearly above uniform) or "outside the eyes and mouth" (both clearly below)."""
    e, m = conc["eyes"], conc["mouth"]
    if max(e, m) < low:
        return "outside the eyes and mouth"
    if max(e, m) < floor:
        return "whole face"
    if m >= margin * e:
        return "mouth"
    if e >= margin * m:
        return "eyes"
    return "eyes and mouth"
