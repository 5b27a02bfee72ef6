"""Gradient ascent on filters (HW3 Q5, HW4 Q2) and feature maps of one image.

:func:`filter_ascent` finds, for each chosen filter of a layer, an input image that makes the
filter's mean activation large, starting from white noise or from a given face. All filters are
optimised together as one batch (image ``i`` maximises filter ``filters[i]``), so 64 filters cost
one forward/backward pass per step, not 64.

Plain gradient ascent on pixels produces high-frequency noise that excites the filter but is no
image (Olah, Mordvintsev & Schubert 2017, "Feature Visualization", Distill; Yosinski et al. 2015).
As they recommend, the objective is made robust to small transformations and the image kept
smooth:

* jitter: the image is shifted by up to ``jitter`` pixels before each step (and the gradient
  shifted back), so no single-pixel pattern can be exploited;
* scale and rotation: a random zoom in ``1 +- scale`` and rotation in ``+-rotation`` degrees is
  applied inside the differentiated function (transformation robustness);
* total variation penalty ``tv`` in the objective, and a Gaussian blur of ``blur`` pixels every
  ``blur_every`` steps (the frequency penalty of Yosinski et al. 2015);
* the gradient is divided by its standard deviation per image (as in the Keras example
  "Visualizing what convnets learn"), so ``lr`` is a step in pixel units, and the image is
  clipped to the valid range [0, 1] after every step.
"""
from __future__ import annotations

import keras
import numpy as np

from fer_keras.errors import FerInputError
from fer_keras.explain import _core


def _filter_indices(n_channels, filters):
    if isinstance(filters, (int, np.integer)):
        if filters < 1:
            raise FerInputError(f"filters must be a positive number, got {filters}")
        return np.arange(min(int(filters), n_channels))
    idx = np.asarray(filters, dtype=np.int64).reshape(-1)
    if idx.size == 0 or idx.min() < 0 or idx.max() >= n_channels:
        raise FerInputError(f"filter indices must be in 0..{n_channels - 1}, got {filters!r}")
    return idx


def _objective(acts, onehot):
    """Mean activation of each sample's own filter: ``(N,)`` from ``(N, [h, w,] C)``."""
    ops = keras.ops
    acts = ops.cast(acts, "float32")
    per_channel = ops.mean(acts, axis=tuple(range(1, len(acts.shape) - 1))) \
        if len(acts.shape) > 2 else acts
    return ops.sum(per_channel * onehot, axis=-1)


def filter_activations(model, layer, images, filters, batch_size=256, contract=None):
    """float32 ``(N,)``: the mean activation of filter ``filters[i]`` of ``layer`` on image
    ``i`` (the quantity :func:`filter_ascent` maximises)."""
    _core.layer_index(model, layer, what="gradient ascent", contract=contract)
    acts = _core.predict_layer(model, layer, images, batch_size, contract)
    idx = np.asarray(filters, np.int64)
    per_channel = acts.mean(axis=tuple(range(1, acts.ndim - 1))) if acts.ndim > 2 else acts
    if len(idx) != len(per_channel):
        raise FerInputError(f"got {len(idx)} filter indices for {len(per_channel)} images")
    return per_channel[np.arange(len(idx)), idx].astype(np.float32)


def _affines(n, rng, scale, rotation, size):
    """Random zoom/rotation about the image centre as Keras projective transforms ``(n, 8)``
    (each row maps an output pixel to the input pixel it samples)."""
    s = rng.uniform(1 - scale, 1 + scale, n)
    t = np.deg2rad(rng.uniform(-rotation, rotation, n))
    a00, a01 = np.cos(t) / s, -np.sin(t) / s
    a10, a11 = np.sin(t) / s, np.cos(t) / s
    cy, cx = (size[0] - 1) / 2, (size[1] - 1) / 2
    zeros = np.zeros(n)
    return np.stack([a00, a01, cx - a00 * cx - a01 * cy,
                     a10, a11, cy - a10 * cx - a11 * cy, zeros, zeros], axis=1).astype(np.float32)


def _gaussian_blur(x, sigma):
    """Separable Gaussian blur of ``(N, H, W, 1)`` with reflected edges (numpy)."""
    if sigma <= 0:
        return x
    r = max(1, int(np.ceil(3 * sigma)))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k = (k / k.sum()).astype(np.float32)
    pad = np.pad(x, ((0, 0), (r, r), (r, r), (0, 0)), mode="reflect")
    h, w = x.shape[1:3]
    rows = sum(k[j] * pad[:, j:j + h, :, :] for j in range(2 * r + 1))
    return sum(k[j] * rows[:, :, j:j + w, :] for j in range(2 * r + 1)).astype(np.float32)


def filter_ascent(model, layer, filters=64, steps=200, start="noise", lr=None, seed=0,
                  progress=True, jitter=2, scale=0.05, rotation=5.0, tv=0.05, blur=0.5,
                  blur_every=4, noise_level=0.1, contract=None, input_range=None, classes=None):
    """Inputs that maximally activate each filter of ``layer`` (HW3 Q5, HW4 Q2).

    The images are optimised in image space (grey, [0, 1], at the model's input resolution);
    the model's input contract maps them to its input inside the differentiated function.

    Args:
        model: any Keras image classifier, or a model path.
        layer: name of the layer whose filters (channels, or units of a Dense layer) to excite.
        filters: how many filters (the first ``filters``) or a list of filter indices.
        steps: ascent steps.
        start: ``"noise"`` (grey 0.5 plus uniform noise of +-``noise_level``: "white noise")
            or one image, uint8 ``(h, w)`` or float in [0, 1]; every filter starts from it.
        lr: step size in pixel units (the gradient is normalised per image); default 0.05
            from noise and 0.01 from an image, small enough that the face stays recognisable
            under the pattern the filter adds to it.
        seed: seed of the noise and of the random transformations.
        progress: show a tqdm progress bar over the steps.
        jitter, scale, rotation, tv, blur, blur_every: the regularisers (module docstring;
            0 turns each off).
        contract, input_range, classes: the model's input contract or overrides
            (:func:`fer_keras.models.contract.of`).

    Returns:
        dict with ``images`` float32 ``(F, H, W)`` in [0, 1] at the model's input resolution
        (``(F, H, W, 3)`` when started from an RGB image), ``filters`` int64 ``(F,)``,
        ``start_activation`` and ``final_activation`` float32 ``(F,)`` (the filter's mean
        activation on the start image and on the result, without transformations), ``layer``
        and ``steps``.
    """
    model, c = _core.resolve(model, contract, input_range, classes)
    _core.check_backend("gradient ascent")
    _core.layer_index(model, layer, what="gradient ascent", contract=c)
    feat = _core.cached(model, ("sub", c.size + (c.channels,), layer),
                        lambda: _core.graph(model, c).submodel([layer]))
    shape = _core.output_shapes(model, c)[layer]
    idx = _filter_indices(shape[-1], filters)
    n = len(idx)
    size = c.size
    rng = np.random.default_rng(seed)
    if isinstance(start, str):
        if start != "noise":
            raise FerInputError(f"start must be 'noise' or an image, got {start!r}")
        x = 0.5 + rng.uniform(-noise_level, noise_level, (n,) + size + (1,))
        x = x.astype(np.float32)
        # from noise the whole image is regularised; from a face only what the ascent adds to
        # it, or 200 blurs would wipe out the face itself
        anchor = np.zeros_like(x)
    else:
        x = np.repeat(_core.as_image(start, model, c)[None], n, axis=0)
        anchor = x.copy()
    if lr is None:
        lr = 0.05 if isinstance(start, str) else 0.01
    onehot = np.eye(shape[-1], dtype=np.float32)[idx]
    start_act = filter_activations(model, layer, x, idx, contract=c)

    def score(xx, oh, transform, base):
        ops = keras.ops
        xt = keras.ops.image.affine_transform(xx, transform, interpolation="bilinear",
                                              fill_mode="reflect")
        obj = _objective(feat(c.to_model(xt), training=False), oh)
        if tv:
            # scale-free TV: relative to the activation scale it would otherwise dominate
            d = xx - base
            dy = ops.mean(ops.abs(d[:, 1:] - d[:, :-1]), axis=(1, 2, 3))
            dx = ops.mean(ops.abs(d[:, :, 1:] - d[:, :, :-1]), axis=(1, 2, 3))
            obj = obj - tv * ops.stop_gradient(ops.abs(obj) + 1.0) * (dx + dy)
        return obj

    grad = _core.cached_grad(model, ("ascent", layer, float(tv), c), score)
    for step in _core.progress(range(steps), progress, f"ascent {layer}", steps):
        dy, dx = (rng.integers(-jitter, jitter + 1, 2) if jitter else (0, 0))
        xr = np.roll(x, (dy, dx), axis=(1, 2))
        base = np.roll(anchor, (dy, dx), axis=(1, 2))
        transform = _affines(n, rng, scale, rotation, size)
        _, g = grad(xr, onehot, transform, base)
        g = np.roll(g, (-dy, -dx), axis=(1, 2))
        g = g / (g.std(axis=(1, 2, 3), keepdims=True) + 1e-8)
        x = x + np.float32(lr) * g.astype(np.float32)
        if blur and blur_every and (step + 1) % blur_every == 0:
            x = anchor + _gaussian_blur(x - anchor, blur)
        x = np.clip(x, 0.0, 1.0).astype(np.float32)
    final_act = filter_activations(model, layer, x, idx, contract=c)
    return {"images": x[..., 0] if x.shape[-1] == 1 else x, "filters": idx, "start_activation": start_act,
            "final_activation": final_act, "layer": layer, "steps": int(steps)}


def feature_maps(model, layer, image, contract=None, input_range=None, classes=None):
    """The output of every filter of ``layer`` for one image (HW3 Q5, HW4 Q2).

    ``image``: uint8 ``(h, w)`` or float in [0, 1] (resized to the model's input). ``model``:
    any Keras image classifier or a model path; ``contract``, ``input_range``, ``classes``: its
    input contract or overrides. Returns float32 ``(C, h, w)``: channel ``c`` of the layer's
    ``(h, w, C)`` output.
    """
    model, c = _core.resolve(model, contract, input_range, classes)
    _core.layer_index(model, layer, need_spatial=True, what="feature maps", contract=c)
    out = _core.predict_layer(model, layer, _core.as_image(image, model, c)[None], contract=c)[0]
    return np.moveaxis(out, -1, 0).astype(np.float32)
