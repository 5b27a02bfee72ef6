"""Score-CAM (Wang, Wang, Du, Yang, Zhang, Ding, Mardziel & Hu 2020, "Score-CAM:
Score-Weighted Visual Explanations for Convolutional Neural Networks", CVPR workshops): each
channel of a layer, upsampled and scaled to [0, 1], masks the image; the class probability of
the masked image is that channel's weight. No gradient is used."""
from __future__ import annotations

import numpy as np

from fer_keras.explain import _core
from fer_keras.explain.methods import Counterpart, Method, register
from fer_keras.explain.methods._cam import activations, finish, upsample

#: Masked images per model call.
FORWARD_BATCH = 256
#: Masked images built at a time (images x channels), to bound memory.
CHUNK = 4096


def channel_weights(request, x, y, a):
    """The probability of class ``y[i]`` for ``x[i]`` masked by each channel of ``a``
    (``(N, h, w, C)`` activations), float32 ``(N, C)``.

    Masks are the channels upsampled bilinearly to ``x``'s resolution and scaled by their own
    min and max (``+ 1e-7``, as tf-keras-vis does); masking multiplies the image-space image,
    so the hidden part is black."""
    n, channels = len(x), a.shape[-1]
    per = max(1, CHUNK // channels)
    out = np.empty((n, channels), np.float32)
    for lo in range(0, n, per):
        xb, ab = x[lo:lo + per], a[lo:lo + per]
        up = upsample(ab, x.shape[1:3])  # (B, H, W, C)
        low = up.min(axis=(1, 2), keepdims=True)
        high = up.max(axis=(1, 2), keepdims=True)
        masks = (up - low) / (high - low + np.float32(1e-7))
        masked = xb[:, None] * np.moveaxis(masks, -1, 1)[..., None]  # (B, C, H, W, c)
        p = _core.predict_proba(request.model, masked.reshape((-1,) + x.shape[1:]),
                                FORWARD_BATCH, request.contract)
        yb = np.repeat(y[lo:lo + per], channels)
        out[lo:lo + len(xb)] = p[np.arange(len(p)), yb].reshape(len(xb), channels)
    return out


def compute(request, x, y):
    """``ReLU(sum_k p_k A_k)`` at ``request.layer``, ``p_k`` the class probability of the image
    masked by channel ``k`` (:func:`channel_weights`), upsampled and scaled to [0, 1]: float32
    ``(N, H, W)``.

    As in the authors' code and tf-keras-vis, the weight is the masked image's softmax
    probability itself (the paper's "increase of confidence" also subtracts the probability of
    a black image, a constant per image that the published implementations leave out). One
    forward pass per image and channel: ``C`` times the cost of a prediction."""
    a = activations(request, x)
    w = channel_weights(request, x, y, a)
    return finish(np.maximum(np.einsum("nhwc,nc->nhw", a, w), 0), x)


METHOD = register(Method(
    name="scorecam", title="Score-CAM", year=2020, compute=compute, layer=True,
    caption="Score-CAM (Wang et al. 2020)",
    tfkv=Counterpart("tf_keras_vis.scorecam.Scorecam", batched=True)))
