"""Grad-CAM++ (Chattopadhay, Sarkar, Howlader & Balasubramanian 2018, "Grad-CAM++: Generalized
Gradient-Based Visual Explanations for Deep Convolutional Networks"): Grad-CAM with pixel-wise
weights from higher-order derivatives, computed in closed form through the exponential of the
score."""
from __future__ import annotations

import numpy as np

from fer_keras.explain.methods import Counterpart, Method, register
from fer_keras.explain.methods._cam import activations_and_gradients, finish


def plus_plus(a, g):
    """Chattopadhay et al. 2018, eq. 19: with ``S = exp(score)`` and a piecewise-linear network,
    dS/dA = S g, d2S/dA2 = S g^2, d3S/dA3 = S g^3, so the pixel weights alpha need only ``g``.

    ``a``, ``g``: ``(N, h, w, C)`` activations and score gradients; returns ``(N, h, w)``.
    The common factor ``S`` cancels in alpha and only rescales the map, so it is dropped
    (``exp`` of a large logit would overflow float32).
    """
    g2, g3 = g * g, g * g * g
    total = a.sum(axis=(1, 2), keepdims=True)
    denom = 2 * g2 + total * g3
    alpha = np.where(g2 != 0, g2 / np.where(denom != 0, denom, 1), 0)
    # Normalise alpha over space per channel (as the reference implementation does), so
    # channels are weighted by a weighted mean rather than a sum of their positive gradients.
    norm = alpha.sum(axis=(1, 2), keepdims=True)
    alpha = alpha / np.where(norm != 0, norm, 1)
    weights = (alpha * np.maximum(g, 0)).sum(axis=(1, 2), keepdims=True)
    return np.maximum((a * weights).sum(axis=-1), 0)


def compute(request, x, y):
    """Grad-CAM++ at ``request.layer``, float32 ``(N, H, W)`` in [0, 1]."""
    a, g = activations_and_gradients(request, x, y)
    return finish(plus_plus(a, g), x)


METHOD = register(Method(
    name="gradcam++", title="Grad-CAM++", year=2018, compute=compute, layer=True,
    caption="Grad-CAM++ (Chattopadhay et al. 2018)",
    tfkv=Counterpart("tf_keras_vis.gradcam_plus_plus.GradcamPlusPlus"),
    causes=(("correlated", "Grad-CAM++ weighs channels by rectified gradients, never "
                           "negatively, so its map is a positive mix of the layer's activations, "
                           "which follow the face in a random network too"),)))
