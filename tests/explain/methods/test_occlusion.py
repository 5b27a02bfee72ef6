"""Occlusion (Zeiler & Fergus 2014): the batched map against a plain per-window loop, and the
windows cover every pixel."""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from keras import layers  # noqa: E402

from fer_keras import explain as ex  # noqa: E402
from fer_keras.data.synthetic import make_faces  # noqa: E402
from fer_keras.errors import FerInputError  # noqa: E402
from fer_keras.explain.methods.occlusion import windows  # noqa: E402

pytestmark = pytest.mark.core


def test_windows_cover_the_image():
    w = windows((48, 48), 8, 4)
    assert w.shape == (121, 48, 48) and (w.sum(axis=(1, 2)) == 64).all()
    assert w.any(axis=0).all()
    odd = windows((50, 37), 8, 5)  # the last window sits flush with the border
    assert odd.any(axis=0).all() and odd[-1, -1, -1]
    with pytest.raises(FerInputError, match="patch"):
        windows((48, 48), 60, 4)


def test_matches_a_plain_loop():
    """For each window, put the image's mean grey into the square and read the class
    probability with model.predict; a pixel's value is the mean drop over its windows."""
    keras.utils.set_random_seed(7)
    net = keras.Sequential([keras.Input((48, 48, 1)), layers.Conv2D(4, 5, strides=2, name="c"),
                            layers.Activation("relu"), layers.Flatten(),
                            layers.Dense(7, name="logits"), layers.Activation("softmax")])
    x, _, _ = make_faces(2, seed=1)
    xf = x[..., None].astype(np.float32) / 255
    y = np.array([2, 5])
    got = ex.saliency_maps(net, x, y, method="occlusion", options={"patch": 12, "stride": 6})
    want = np.zeros((2, 48, 48))
    for i in range(2):
        def prob(img, i=i):
            return keras.ops.convert_to_numpy(net(img[None]))[0, y[i]]

        base = prob(xf[i])
        total, count = np.zeros((48, 48)), np.zeros((48, 48))
        for top in range(0, 37, 6):
            for left in range(0, 37, 6):
                img = xf[i].copy()
                img[top:top + 12, left:left + 12] = xf[i].mean()
                total[top:top + 12, left:left + 12] += base - prob(img)
                count[top:top + 12, left:left + 12] += 1
        m = total / count
        want[i] = (m - m.min()) / (m.max() - m.min())
    np.testing.assert_allclose(got, want, atol=1e-4)
