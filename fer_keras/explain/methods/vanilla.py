"""Vanilla gradient (Simonyan, Vedaldi & Zisserman 2013, "Deep Inside Convolutional Networks:
Visualising Image Classification Models and Saliency Maps"): the absolute gradient of the
pre-softmax class score with respect to each pixel (the largest over the channels)."""
from __future__ import annotations

import numpy as np

from fer_keras.explain import _core
from fer_keras.explain.methods import Counterpart, Method, register
from fer_keras.explain.methods._gradients import gradients


def compute(request, x, y):
    """``|d score / d pixel|``, float32 ``(N, H, W)`` in [0, 1]."""
    return _core.normalize_maps(np.abs(gradients(request, x, y)).max(axis=-1))


METHOD = register(Method(
    name="vanilla", title="vanilla gradient", year=2013, compute=compute,
    caption="Vanilla-gradient saliency (|d class score / d pixel|, Simonyan et al. 2013)",
    tfkv=Counterpart("tf_keras_vis.saliency.Saliency")))
