"""Score-CAM (Wang et al. 2020): its channel weights are the probabilities of the masked images
(checked against a plain loop); the whole map against tf-keras-vis' ``Scorecam`` is in
tests/explain/test_methods.py (and on a trained model in tests/explain/test_checks.py)."""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from keras import layers  # noqa: E402

from fer_keras import explain as ex  # noqa: E402
from fer_keras.data.synthetic import make_faces  # noqa: E402
from fer_keras.explain.methods import Request  # noqa: E402
from fer_keras.explain.methods.scorecam import channel_weights  # noqa: E402
from fer_keras.models.contract import of  # noqa: E402

pytestmark = pytest.mark.core


def test_weights_are_masked_probabilities_and_the_map_their_sum():
    keras.utils.set_random_seed(9)
    net = keras.Sequential([keras.Input((48, 48, 1)), layers.Conv2D(3, 3, strides=4, name="c"),
                            layers.Activation("relu", name="r"), layers.Flatten(),
                            layers.Dense(7, name="logits"), layers.Activation("softmax")])
    x, _, _ = make_faces(2, seed=3)
    xf = x[..., None].astype(np.float32) / 255
    y = np.array([0, 6], np.int32)
    req = Request(model=net, contract=of(net), layer="r")
    a = ex.feature_maps(net, "r", x[0])  # (C, h, w)
    acts = np.stack([np.moveaxis(ex.feature_maps(net, "r", x[i]), 0, -1) for i in range(2)])
    w = channel_weights(req, xf, y, acts)
    assert w.shape == (2, 3) and a.shape == (3, 12, 12)
    for i in range(2):
        for k in range(3):
            up = keras.ops.convert_to_numpy(keras.ops.image.resize(
                acts[i, :, :, k:k + 1], (48, 48), interpolation="bilinear"))[..., 0]
            mask = (up - up.min()) / (up.max() - up.min() + 1e-7)
            p = keras.ops.convert_to_numpy(net(xf[i:i + 1] * mask[None, :, :, None]))[0, y[i]]
            assert w[i, k] == pytest.approx(p, abs=1e-5)
    cam = np.maximum((acts * w[:, None, None, :]).sum(axis=-1), 0)
    up = keras.ops.convert_to_numpy(keras.ops.image.resize(cam[..., None], (48, 48)))[..., 0]
    up = np.maximum(up, 0)
    want = (up - up.min(axis=(1, 2), keepdims=True)) / np.ptp(up, axis=(1, 2), keepdims=True)
    got = ex.saliency_maps(net, x, y, method="scorecam")
    np.testing.assert_allclose(got, want, atol=1e-4)
