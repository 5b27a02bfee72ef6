"""RISE: Randomized Input Sampling for Explanation (Petsiuk, Das & Saenko 2018, "RISE:
Randomized Input Sampling for Explanation of Black-box Models", BMVC): the image is multiplied
by many smooth random masks; a pixel's saliency is the mean class probability of the masked
images that keep it.

Masks: a ``cells`` x ``cells`` grid of cells kept with probability ``keep``, upsampled
bilinearly to ``cells + 1`` cells' size and cropped at a random shift of up to one cell (the
paper's construction); the same masks for every image (drawn from the seed). Black-box like
occlusion: one forward pass per image and mask, batched over both.
"""
from __future__ import annotations

import keras
import numpy as np

from fer_keras.errors import FerInputError
from fer_keras.explain import _core
from fer_keras.explain.methods import Method, register

#: Default number of masks (see :func:`compute`), grid cells per side and keep probability.
MASKS = 1000
CELLS = 8
KEEP = 0.5
#: Masked images built at a time (images x masks) and per model call.
CHUNK = 4096
FORWARD_BATCH = 256


def rise_masks(n, size, cells=CELLS, keep=KEEP, seed=0):
    """float32 ``(n, H, W)`` RISE masks in [0, 1] for images of ``size = (H, W)``."""
    if n < 1 or cells < 1 or not 0 < keep < 1:
        raise FerInputError(f"RISE needs masks >= 1, cells >= 1 and 0 < keep < 1, got {n}, "
                            f"{cells}, {keep}")
    h, w = size
    ch, cw = -(-h // cells), -(-w // cells)  # cell size, rounded up
    rng = np.random.default_rng(seed)
    grid = (rng.random((n, cells, cells, 1)) < keep).astype(np.float32)
    up = keras.ops.convert_to_numpy(keras.ops.image.resize(
        grid, ((cells + 1) * ch, (cells + 1) * cw), interpolation="bilinear"))[..., 0]
    dy = rng.integers(0, ch, n)
    dx = rng.integers(0, cw, n)
    return np.stack([up[i, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)]).astype(
        np.float32)


def compute(request, x, y, masks=MASKS, cells=CELLS, keep=KEEP):
    """``sum_j P(y | x * M_j) M_j / sum_j M_j`` per pixel: the mean class probability of the
    masked images, each weighted by how much of the pixel its mask keeps; float32
    ``(N, H, W)`` in [0, 1].

    Dividing by each pixel's own coverage ``sum_j M_j`` (the paper divides by the expected
    coverage ``n * keep``) makes the map of a model that ignores the image exactly flat, and
    keeps the masks' sampling pattern, the same for every model, out of the maps. The masks
    come from ``request.seed``; their Monte-Carlo noise falls as ``1 / sqrt(masks)``."""
    h, w = x.shape[1:3]
    m = rise_masks(int(masks), (h, w), int(cells), float(keep), request.seed)
    flat = m.reshape(len(m), -1).astype(np.float64)
    cover = flat.sum(axis=0)
    cover = np.where(cover > 0, cover, 1)
    model, c = request.model, request.contract
    out = np.empty((len(x), h * w), np.float32)
    per = max(1, CHUNK // len(m))
    for lo in range(0, len(x), per):
        xb = x[lo:lo + per]
        masked = xb[:, None] * m[None, :, :, :, None]  # (B, n, H, W, c)
        p = _core.predict_proba(model, masked.reshape((-1,) + x.shape[1:]), FORWARD_BATCH, c)
        yb = np.repeat(y[lo:lo + per], len(m))
        probs = p[np.arange(len(p)), yb].reshape(len(xb), len(m)).astype(np.float64)
        # centred first: the map only ranks pixels, and a constant probability must give
        # exactly 0, not the rounding of P * sum(M) / sum(M)
        probs -= probs.mean(axis=1, keepdims=True)
        out[lo:lo + len(xb)] = (probs @ flat) / cover
    return _core.normalize_maps(out.reshape(len(x), h, w), atol=1e-6)


METHOD = register(Method(
    name="rise", title="RISE", year=2018, compute=compute,
    caption="RISE: mean probability under random smooth masks (Petsiuk et al. 2018)"))
