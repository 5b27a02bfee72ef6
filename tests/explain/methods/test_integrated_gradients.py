"""Integrated Gradients (Sundararajan et al. 2017), both baselines: completeness on a CNN,
exactness on a linear model, the baselines themselves, and the map's sign convention."""
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


@pytest.fixture(scope="module")
def cnn():
    """A small untrained CNN whose logits are scaled up (x30), so that the score differences
    between an image and its baselines are far from zero."""
    keras.utils.set_random_seed(11)
    net = keras.Sequential([
        keras.Input((48, 48, 1)), layers.Conv2D(8, 3, padding="same", name="conv1"),
        layers.Activation("relu", name="relu1"), layers.MaxPooling2D(2, name="pool1"),
        layers.Conv2D(8, 3, padding="same", name="conv2"), layers.Activation("relu", name="relu2"),
        layers.GlobalAveragePooling2D(name="gap"), layers.Dense(7, name="logits"),
        layers.Activation("softmax", name="predictions")])
    head = net.get_layer("logits")
    head.set_weights([head.get_weights()[0] * 30, head.get_weights()[1]])
    return net


@pytest.mark.parametrize("baseline", ["black", "blur"])
def test_completeness(cnn, baseline):
    """The attributions sum to score(x) - score(baseline), up to the quadrature error: within
    3% of the difference (plus 0.002 for differences near 0) at the default 32 steps, and
    closer with more steps."""
    x, y, _ = make_faces(6, seed=2)
    r = ex.integrated_gradients(cnn, x, y, baseline=baseline)
    total = r["attributions"].sum(axis=(1, 2, 3))
    delta = r["score"] - r["baseline_score"]
    err = np.abs(total - delta) / np.abs(delta)
    print(baseline, "relative completeness error at 32 steps:", np.round(err, 4))
    assert r["attributions"].shape == (6, 48, 48, 1) and np.abs(delta).min() > 1e-3
    assert (np.abs(total - delta) <= 0.03 * np.abs(delta) + 2e-3).all(), (total, delta)
    fine = ex.integrated_gradients(cnn, x, y, baseline=baseline, steps=128)
    err_fine = np.abs(fine["attributions"].sum(axis=(1, 2, 3)) - delta) / np.abs(delta)
    assert err_fine.mean() <= err.mean() + 1e-4


def test_exact_on_a_linear_model():
    """score = w . x: the gradient is w everywhere on the path, so IG is (x - x') * w exactly,
    whatever the number of steps (an independent closed form)."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((48, 48, 1)), layers.Flatten(),
                              layers.Dense(7, name="logits"), layers.Activation("softmax")])
    w = model.get_layer("logits").get_weights()[0][:, 3].reshape(48, 48, 1)
    x, _, _ = make_faces(2, seed=4)
    xf = x[..., None].astype(np.float32) / 255
    for baseline in ("black", "blur"):
        r = ex.integrated_gradients(model, x, [3, 3], baseline=baseline, steps=1)
        base = {"black": np.zeros_like(xf),
                "blur": ex.methods.integrated_gradients.baseline_images(xf, "blur")}[baseline]
        np.testing.assert_allclose(r["attributions"], (xf - base) * w[None], atol=1e-5)


def test_baselines_and_the_map(cnn):
    x, y, _ = make_faces(3, seed=6)
    xf = x[..., None].astype(np.float32) / 255
    from fer_keras.explain.methods.integrated_gradients import baseline_images

    blur = baseline_images(xf, "blur")
    assert blur.shape == xf.shape and blur.std() < xf.std()  # smoother than the image
    assert np.abs(blur.mean() - xf.mean()) < 0.01  # same shading
    with pytest.raises(FerInputError, match="unknown baseline"):
        baseline_images(xf, "white")
    with pytest.raises(FerInputError, match="does not match"):
        baseline_images(xf, np.zeros((1, 48, 48, 1)))
    with pytest.raises(FerInputError, match="steps must be positive"):
        ex.integrated_gradients(cnn, x, y, steps=0)
    # the map is the positive part: zero wherever the attribution is not positive
    a = ex.integrated_gradients(cnn, x, y, baseline="black")["attributions"][..., 0]
    m = ex.saliency_maps(cnn, x, y, method="ig-black")
    assert (m[a <= 0] == 0).all() and (m[a > 0] > 0).mean() > 0.9
    # a black pixel has no attribution from a black baseline (the known blind spot)
    dark = xf.copy()
    dark[:, 10:20, 10:20] = 0
    a = ex.integrated_gradients(cnn, dark, y, baseline="black")["attributions"]
    assert not a[:, 10:20, 10:20].any()
