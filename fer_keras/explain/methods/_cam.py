"""The class-activation-map family's plumbing (Grad-CAM, Grad-CAM++, LayerCAM, ScoreCAM):
a layer's activations and the class score's gradient with respect to them, and the
upsampling of a layer-resolution map to the input's."""
from __future__ import annotations

import keras
import numpy as np

from fer_keras.explain import _core


def activations_and_gradients(request, x, y):
    """``(A, G)``: layer ``request.layer``'s output ``A`` and ``G = d score / d A``, both
    float32 ``(N, h, w, C)``, for image-space ``x``.

    One forward and backward pass per batch through ``[input, delta] -> [A, score]`` (layer
    output ``A`` plus a zero ``delta``): the gradient with respect to ``delta`` is
    ``d score / d A``, and ``A`` comes out of the same pass, on any backend."""
    model, c, layer = request.model, request.contract, request.layer
    net = _core._delta_graph(model, c, layer)

    def score(delta, xx, yy):
        a, s = net([c.to_model(xx), delta], training=False)
        return _core.class_score(s, yy), keras.ops.cast(a, "float32")

    grad = _core.cached(model, ("grad", "cam", layer, c),
                        lambda: _core.compile_grad(score, model, aux=True))
    shape = _core.graph(model, c).output_shape(layer)
    acts, grads = [], []
    for lo in range(0, len(x), request.batch_size):
        xb = x[lo:lo + request.batch_size]
        _, g, a = grad(np.zeros((len(xb),) + shape, np.float32), xb, y[lo:lo + request.batch_size])
        acts.append(a.astype(np.float32))
        grads.append(g.astype(np.float32))
    return np.concatenate(acts), np.concatenate(grads)


def activations(request, x):
    """Layer ``request.layer``'s output float32 ``(N, h, w, C)`` for image-space ``x``."""
    return _core.predict_layer(request.model, request.layer, x, request.batch_size,
                               request.contract)


def upsample(maps, size):
    """``(N, h, w)`` or ``(N, h, w, C)`` maps resized bilinearly to ``size = (H, W)``, float32."""
    a = np.asarray(maps, np.float32)
    squeeze = a.ndim == 3
    if squeeze:
        a = a[..., None]
    if a.shape[1:3] != tuple(size):
        a = keras.ops.convert_to_numpy(
            keras.ops.image.resize(a, tuple(size), interpolation="bilinear")).astype(np.float32)
    return a[..., 0] if squeeze else a


def finish(cam, x):
    """A rectified layer-resolution map ``(N, h, w)`` as the method's output: upsampled to
    ``x``'s resolution, rectified again (bilinear overshoot) and scaled to [0, 1]."""
    if len(cam) == 0:
        return np.zeros((0,) + x.shape[1:3], np.float32)
    return _core.normalize_maps(np.maximum(upsample(cam, x.shape[1:3]), 0))
