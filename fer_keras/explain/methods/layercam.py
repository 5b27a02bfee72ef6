"""LayerCAM (Jiang, Zhang, Hou, Cheng & Wei 2021, "LayerCAM: Exploring Hierarchical Class
Activation Maps for Localization", IEEE TIP): each activation weighted by its own positive
score gradient, pixel by pixel, summed over the channels and rectified."""
from __future__ import annotations

import numpy as np

from fer_keras.explain.methods import Counterpart, Method, register
from fer_keras.explain.methods._cam import activations_and_gradients, finish


def compute(request, x, y):
    """``ReLU(sum_k ReLU(dS/dA_k) * A_k)`` at ``request.layer`` (Jiang et al. 2021, eq. 4-5;
    one layer, the paper fuses several), float32 ``(N, H, W)`` in [0, 1].

    Unlike Grad-CAM's one weight per channel, the weight is per position, so a channel that is
    active both where the class evidence is and elsewhere counts only where the score depends
    on it."""
    a, g = activations_and_gradients(request, x, y)
    return finish(np.maximum((a * np.maximum(g, 0)).sum(axis=-1), 0), x)


METHOD = register(Method(
    name="layercam", title="LayerCAM", year=2021, compute=compute, layer=True,
    caption="LayerCAM (Jiang et al. 2021)",
    tfkv=Counterpart("tf_keras_vis.layercam.Layercam")))
