"""RISE (Petsiuk et al. 2018): the masks, and the batched map against the plain formula."""
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

pytestmark = pytest.mark.core


def test_masks():
    m = ex.rise_masks(500, (48, 48), cells=8, keep=0.5, seed=1)
    assert m.shape == (500, 48, 48) and m.dtype == np.float32
    assert m.min() >= 0 and m.max() <= 1
    assert abs(m.mean() - 0.5) < 0.03  # each pixel kept half of the time
    # smooth: neighbours differ by little, cells of 6 px are visible
    assert np.abs(np.diff(m, axis=2)).mean() < 0.1
    np.testing.assert_array_equal(m, ex.rise_masks(500, (48, 48), cells=8, keep=0.5, seed=1))
    assert not np.allclose(m, ex.rise_masks(500, (48, 48), cells=8, keep=0.5, seed=2))
    shifted = ex.rise_masks(200, (48, 48), seed=3)
    assert len({tuple(np.argwhere(s > 0.99)[0]) for s in shifted[:50]}) > 10  # random shifts
    with pytest.raises(FerInputError, match="RISE"):
        ex.rise_masks(10, (48, 48), keep=1.0)


def test_matches_the_formula():
    """sum_j P(y | x * M_j) M_j / sum_j M_j, with the model called one masked image at a time."""
    keras.utils.set_random_seed(8)
    net = keras.Sequential([keras.Input((48, 48, 1)), layers.Conv2D(4, 5, strides=2, name="c"),
                            layers.Activation("relu"), layers.Flatten(),
                            layers.Dense(7, name="logits"), layers.Activation("softmax")])
    x, _, _ = make_faces(2, seed=2)
    xf = x[..., None].astype(np.float32) / 255
    y = np.array([1, 4])
    got = ex.saliency_maps(net, x, y, method="rise", seed=5,
                           options={"masks": 60, "cells": 4, "keep": 0.4})
    m = ex.rise_masks(60, (48, 48), cells=4, keep=0.4, seed=5)
    for i in range(2):
        p = np.array([keras.ops.convert_to_numpy(net(xf[i:i + 1] * mj[None, :, :, None]))[
            0, y[i]] for mj in m])
        s = (p[:, None, None] * m).sum(axis=0) / m.sum(axis=0)
        want = (s - s.min()) / (s.max() - s.min())
        np.testing.assert_allclose(got[i], want, atol=1e-4)
