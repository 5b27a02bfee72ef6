"""Occlusion (Zeiler & Fergus 2014, "Visualizing and Understanding Convolutional Networks",
ECCV): slide a grey square over the image and record how much the class probability drops with
each position hidden; a pixel's value is the mean drop over the squares that cover it.

It follows the model's output by construction (no gradient, no layer), at the price of one
forward pass per square position: with the defaults (side a sixth of the image, stride half a
side), 121 passes per 48x48 image, batched over images and positions.
"""
from __future__ import annotations

import numpy as np

from fer_keras.errors import FerInputError
from fer_keras.explain import _core
from fer_keras.explain.methods import Method, register

#: Occluded images built at a time (images x positions), to bound memory.
CHUNK = 4096
#: Occluded images per model call.
FORWARD_BATCH = 256


def windows(size, patch, stride):
    """bool ``(K, H, W)``: the squares of side ``patch`` every ``stride`` pixels over an image
    of ``size = (H, W)``, the last row and column flush with the border so every pixel is
    covered."""
    h, w = size
    if not (1 <= patch <= min(h, w)) or stride < 1:
        raise FerInputError(f"occlusion needs 1 <= patch <= {min(h, w)} and stride >= 1, got "
                            f"patch {patch}, stride {stride}")

    def starts(n):
        s = list(range(0, n - patch + 1, stride))
        return s if s[-1] == n - patch else s + [n - patch]

    out = []
    for top in starts(h):
        for left in starts(w):
            m = np.zeros((h, w), bool)
            m[top:top + patch, left:left + patch] = True
            out.append(m)
    return np.stack(out)


def compute(request, x, y, patch=None, stride=None):
    """Mean drop of the class probability when a square covering the pixel is filled with the
    image's mean grey (Zeiler & Fergus's grey square; the probability, as in their paper),
    float32 ``(N, H, W)`` in [0, 1] (signed drops scaled by their min and max, so a square that
    raises the probability ranks last).

    ``patch``: side in pixels (default a sixth of the shorter side: 8 px at 48x48, about an
    eye); ``stride`` (default half the side)."""
    h, w = x.shape[1:3]
    patch = int(patch or max(1, round(min(h, w) / 6)))
    stride = int(stride or max(1, patch // 2))
    win = windows((h, w), patch, stride)
    k = len(win)
    flat = win.reshape(k, -1).astype(np.float32)
    cover = flat.sum(axis=0)
    model, c = request.model, request.contract
    base = _core.predict_proba(model, x, FORWARD_BATCH, c)[np.arange(len(x)), y]
    out = np.empty((len(x), h * w), np.float32)
    per = max(1, CHUNK // k)
    for lo in range(0, len(x), per):
        xb = x[lo:lo + per]
        fill = xb.mean(axis=(1, 2), keepdims=True)[:, None]  # (B, 1, 1, 1, c)
        occluded = np.where(win[None, :, :, :, None], fill, xb[:, None])  # (B, K, H, W, c)
        p = _core.predict_proba(model, occluded.reshape((-1,) + x.shape[1:]), FORWARD_BATCH, c)
        yb = np.repeat(y[lo:lo + per], k)
        drop = base[lo:lo + len(xb), None] - p[np.arange(len(p)), yb].reshape(len(xb), k)
        out[lo:lo + len(xb)] = drop @ flat / cover
    # probabilities differ by float noise (~1e-7) between batch compositions: a model that
    # ignores the image must give a flat map, not amplified rounding
    return _core.normalize_maps(out.reshape(len(x), h, w), atol=1e-6)


METHOD = register(Method(
    name="occlusion", title="occlusion", year=2014, compute=compute,
    caption="Occlusion: probability drop under a sliding grey square (Zeiler & Fergus 2014)"))
