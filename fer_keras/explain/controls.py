"""Model-free control maps: what an explanation must beat before it can be said to explain a model.

A check of an explanation means something only if maps that know nothing of the model fail it.
Four controls, each float32 ``(N, H, W)`` in [0, 1] like :func:`~fer_keras.explain.saliency_maps`:

* ``"random"`` - independent uniform noise per pixel (:func:`~fer_keras.explain.random_maps`).
* ``"smooth random"`` - low-frequency noise: a coarse grid of uniform values upsampled with a
  cubic spline (:func:`smooth_random_maps`). Under a blur fill, removal metrics reward any
  smooth map for leaving contiguous, natural-looking regions; this control measures that reward.
* ``"edge"`` - the image's gradient magnitude (Sobel, :func:`edge_maps`). Adebayo et al. 2018
  ("Sanity Checks for Saliency Maps") show that many saliency maps resemble an edge detector;
  a map that does no better than the edges has not shown that it explains the model.
* ``"centre"`` - a Gaussian at the image centre (:func:`centre_prior`): faces are centred in
  FER2013 and in the synthetic faces, so "the middle matters" is a free answer.
"""
from __future__ import annotations

import numpy as np

from fer_keras.errors import FerInputError
from fer_keras.explain import _core

#: Names of the controls, in the order of the tables.
CONTROLS = ("random", "smooth random", "edge", "centre")


def edge_maps(images):
    """Sobel gradient magnitude of each image, float32 ``(N, H, W)`` scaled to [0, 1] per map.

    ``images``: anything :func:`fer_keras.explain._core.as_batch` accepts. Borders are handled
    by reflection (``scipy.ndimage.sobel``'s default), so the frame is not an edge.
    """
    from scipy import ndimage

    x = _core.as_batch(images)[..., 0].astype(np.float64)
    gy = ndimage.sobel(x, axis=1)
    gx = ndimage.sobel(x, axis=2)
    return _core.normalize_maps(np.hypot(gx, gy))


def centre_prior(n, shape=(48, 48), sigma=0.25):
    """``n`` copies of a Gaussian at the image centre, float32 ``(n, H, W)``, peak 1.

    ``sigma``: standard deviation as a share of the image side (0.25: about the face's inner
    region at FER2013's framing)."""
    if sigma <= 0:
        raise FerInputError(f"sigma must be positive, got {sigma}")
    h, w = shape
    yy = (np.arange(h) - (h - 1) / 2) / (sigma * h)
    xx = (np.arange(w) - (w - 1) / 2) / (sigma * w)
    g = np.exp(-0.5 * (yy[:, None] ** 2 + xx[None, :] ** 2)).astype(np.float32)
    return np.broadcast_to(g, (int(n), h, w)).copy()


def smooth_random_maps(n, shape=(48, 48), cells=6, seed=0):
    """Low-frequency random maps float32 ``(n, H, W)`` in [0, 1]: uniform noise on a
    ``cells`` x ``cells`` grid, upsampled by a cubic spline (``scipy.ndimage.zoom``) and
    rescaled per map. Blobs about ``H / cells`` pixels across, like a Grad-CAM of a 6x6 layer."""
    from scipy import ndimage

    if cells < 2:
        raise FerInputError(f"cells must be at least 2, got {cells}")
    h, w = shape
    coarse = np.random.default_rng(seed).random((int(n), cells, cells))
    up = ndimage.zoom(coarse, (1, h / cells, w / cells), order=3, mode="nearest", grid_mode=True)
    return _core.normalize_maps(up[:, :h, :w])


def control_maps(images, seed=0, names=CONTROLS):
    """``{name: float32 (N, H, W)}`` of the controls ``names`` for ``images`` (see the module
    docstring); the random ones are seeded with ``seed``."""
    from fer_keras.explain.checks import random_maps

    x = _core.as_batch(images)
    n, shape = len(x), x.shape[1:3]
    build = {"random": lambda: random_maps(n, shape, seed=seed),
             "smooth random": lambda: smooth_random_maps(n, shape, seed=seed),
             "edge": lambda: edge_maps(x),
             "centre": lambda: centre_prior(n, shape)}
    unknown = [k for k in names if k not in build]
    if unknown:
        raise FerInputError(f"unknown control {unknown[0]!r}; valid: {', '.join(CONTROLS)}")
    return {k: build[k]() for k in names}
