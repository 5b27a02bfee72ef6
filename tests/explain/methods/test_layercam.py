"""LayerCAM (Jiang et al. 2021): equal to Grad-CAM where the score's gradient is the same at
every position of a channel and positive (global average pooling into positive weights), and
different where it is not; against tf-keras-vis' ``Layercam`` in tests/explain/test_methods.py
(and on a trained model in tests/explain/test_checks.py)."""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from keras import layers  # noqa: E402

from fer_keras import explain as ex  # noqa: E402
from fer_keras.data.synthetic import make_faces  # noqa: E402

pytestmark = pytest.mark.core


def _net(pool):
    keras.utils.set_random_seed(10)
    net = keras.Sequential([keras.Input((48, 48, 1)), layers.Conv2D(6, 3, name="c"),
                            layers.Activation("relu", name="r"), pool,
                            layers.Dense(7, name="logits"), layers.Activation("softmax")])
    head = net.get_layer("logits")
    head.set_weights([np.abs(head.get_weights()[0]), head.get_weights()[1]])  # all positive
    return net


def test_equals_gradcam_when_gradients_are_uniform_and_positive():
    x, _, _ = make_faces(3, seed=4)
    y = np.array([0, 3, 6])
    gap = _net(layers.GlobalAveragePooling2D())
    np.testing.assert_allclose(ex.saliency_maps(gap, x, y, method="layercam"),
                               ex.saliency_maps(gap, x, y, method="gradcam"), atol=1e-5)
    flat = _net(layers.Flatten())  # a weight per position: LayerCAM keeps it, Grad-CAM averages
    flat.get_layer("logits").set_weights([np.random.default_rng(0).standard_normal(
        (46 * 46 * 6, 7)).astype(np.float32), np.zeros(7, np.float32)])
    a = ex.saliency_maps(flat, x, y, method="layercam")
    b = ex.saliency_maps(flat, x, y, method="gradcam")
    assert np.nanmax(ex.spearman_rows(a, b)) < 0.9  # (Grad-CAM is blank on one: NaN)
