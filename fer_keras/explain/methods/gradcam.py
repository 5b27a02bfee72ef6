"""Grad-CAM (Selvaraju, Cogswell, Das, Vedantam, Parikh & Batra 2017, "Grad-CAM: Visual
Explanations from Deep Networks via Gradient-based Localization"): a layer's channels weighted
by their spatially averaged score gradient, summed, rectified and upsampled."""
from __future__ import annotations

import numpy as np

from fer_keras.explain.methods import Counterpart, Method, register
from fer_keras.explain.methods._cam import activations_and_gradients, finish


def compute(request, x, y):
    """``ReLU(sum_k mean(dS/dA_k) A_k)`` at ``request.layer``, float32 ``(N, H, W)`` in [0, 1]
    (all zeros where the rectified sum is empty)."""
    a, g = activations_and_gradients(request, x, y)
    weights = g.mean(axis=(1, 2), keepdims=True)
    return finish(np.maximum((a * weights).sum(axis=-1), 0), x)


METHOD = register(Method(
    name="gradcam", title="Grad-CAM", year=2017, compute=compute, layer=True,
    caption="Grad-CAM (Selvaraju et al. 2017)",
    tfkv=Counterpart("tf_keras_vis.gradcam.Gradcam"),
    causes=(("blank", "Grad-CAM's rectified channel sum is empty (an all-zero map) for many "
                      "images"),)))
