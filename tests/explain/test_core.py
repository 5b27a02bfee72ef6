"""Backend-neutral explanation tests (``-m core``): they also run under ``KERAS_BACKEND=jax``
without TensorFlow, lime or scikit-image. A tiny untrained CNN is enough for what they check:
shapes, ranges, gradients against finite differences, layer errors, and lazy imports."""
from __future__ import annotations

import os
import subprocess
import sys

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
def net():
    keras.utils.set_random_seed(3)
    return keras.Sequential([
        keras.Input((48, 48, 1), name="image"),
        layers.Conv2D(8, 3, padding="same", name="conv1"),
        layers.BatchNormalization(name="bn1"),
        layers.Activation("relu", name="relu1"),
        layers.MaxPooling2D(2, name="pool1"),
        layers.Conv2D(8, 3, padding="same", name="conv2"),
        layers.Activation("relu", name="relu2"),
        layers.MaxPooling2D(2, name="pool2"),
        layers.Flatten(name="flatten"),
        layers.Dense(7, name="logits"),
        layers.Activation("softmax", name="predictions")], name="core_net")


@pytest.fixture(scope="module")
def faces():
    return make_faces(6, seed=7)


def test_layer_helpers(net):
    assert ex.conv_layer_names(net) == ["conv1", "conv2"]
    assert ex.first_conv_layer(net) == "conv1"
    assert ex.first_activation_layer(net) == "relu1"  # conv1 -> bn1 -> relu1
    assert ex.gradcam_layer(net) == "relu2"
    assert ex.last_hidden_layer(net) == "flatten"


def test_vanilla_is_the_logit_gradient(net, faces):
    """The vanilla map is |d logit / d pixel|: compare with a central finite difference."""
    x, y, _ = faces
    img = x[:1].astype(np.float32)[..., None] / 255
    from fer_keras.explain import _core
    from fer_keras.explain.methods import Request, _gradients

    logits = _core.graph(net).submodel([], score=True)  # the model up to its pre-softmax score
    from fer_keras.models.contract import of

    c = of(net)
    raw = np.abs(_gradients.gradients(Request(net, c, batch_size=8), img,
                                      y[:1].astype(np.int32))).max(axis=-1)[0]
    p = np.unravel_index(np.argmax(raw), raw.shape)
    eps = 1e-3  # small enough that no ReLU or max-pool switches inside the step
    up, down = img.copy(), img.copy()
    up[0, p[0], p[1], 0] += eps
    down[0, p[0], p[1], 0] -= eps
    f = lambda v: float(keras.ops.convert_to_numpy(logits(v))[0, y[0]])  # noqa: E731
    fd = (f(up) - f(down)) / (2 * eps)
    assert abs(abs(fd) - raw[p]) < 0.05 * raw[p] + 1e-4, (fd, raw[p])


@pytest.mark.parametrize("method", ["vanilla", "gradcam"])  # every method: test_explain_methods
def test_maps_shape_range_and_inputs(net, faces, method):
    x, y, _ = faces
    a = ex.saliency_maps(net, x, y, method=method, samples=3)
    b = ex.saliency_maps(net, x.astype(np.float32)[..., None] / 255, y, method=method, samples=3)
    assert a.shape == (6, 48, 48) and a.dtype == np.float32
    assert 0 <= a.min() and a.max() <= 1
    np.testing.assert_allclose(a, b, atol=1e-5)  # uint8 and float inputs are the same images
    pred = ex.saliency_maps(net, x, None, method=method, samples=3)  # None = predicted class
    assert pred.shape == a.shape


def test_user_errors_are_one_line(net, faces):
    x, y, _ = faces
    with pytest.raises(FerInputError) as e:
        ex.saliency_maps(net, x, y, method="gradcam", layer="conv9")
    assert "\n" not in str(e.value) and "valid layer names: conv1" in str(e.value)
    with pytest.raises(FerInputError, match="spatial"):
        ex.saliency_maps(net, x, y, method="gradcam", layer="logits")
    with pytest.raises(FerInputError, match=r"\[0, 1\]"):
        ex.saliency_maps(net, x.astype(np.float32), y)  # 0..255 floats
    with pytest.raises(FerInputError, match="valid layer names"):
        ex.filter_ascent(net, "nope", filters=2, steps=1, progress=False)
    with pytest.raises(FerInputError, match="filter indices"):
        ex.filter_ascent(net, "conv1", filters=[0, 99], steps=1, progress=False)


def test_ascent_and_feature_maps(net, faces):
    x, _, _ = faces
    r = ex.filter_ascent(net, "conv2", filters=8, steps=30, progress=False)
    assert r["images"].shape == (8, 48, 48) and r["images"].dtype == np.float32
    assert r["images"].min() >= 0 and r["images"].max() <= 1
    gain = r["final_activation"] - r["start_activation"]
    assert (gain > 0).all()
    s = ex.filter_ascent(net, "relu1", filters=[1, 3], steps=10, start=x[0], progress=False)
    assert s["images"].shape == (2, 48, 48) and list(s["filters"]) == [1, 3]
    fm = ex.feature_maps(net, "relu1", x[0])
    assert fm.shape == (8, 48, 48) and fm.dtype == np.float32 and fm.min() >= 0


def test_checks_units(net, faces):
    x, y, masks = faces
    maps = ex.saliency_maps(net, x, y, method="vanilla")
    assert ex.mask_concentration(np.ones_like(maps), masks) == pytest.approx(1.0)
    assert ex.mask_concentration(masks.astype(np.float32), masks) > 5  # parts cover < 20%
    rnd = ex.randomized_copy(net, seed=1)
    assert [v.path for v in rnd.weights] != [] and ex.layer_names(rnd) == ex.layer_names(net)
    again = ex.randomized_copy(net, seed=1)
    for a, b in zip(rnd.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)  # reproducible
    assert not np.allclose(rnd.get_weights()[0], net.get_weights()[0])
    di = ex.deletion_insertion(net, x, y, maps, steps=4)
    assert set(di) >= {"deletion_auc", "insertion_auc"} and di["deletion_curve"].shape == (5,)
    assert 0 <= di["deletion_auc"] <= 1 and 0 <= di["insertion_auc"] <= 1


def test_import_stays_lazy():
    code = ("import sys, fer_keras.explain as e; e.__all__; "
            "heavy = [m for m in ('lime', 'sklearn', 'skimage', 'tf_keras_vis', 'matplotlib') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_compiled_functions_follow_weight_changes(faces):
    """Compiled gradients are cached per model; they must read the current weights (JAX's jit
    would otherwise freeze them at the first call)."""
    x, y, _ = faces
    keras.utils.set_random_seed(4)
    m = keras.Sequential([keras.Input((48, 48, 1)), layers.Conv2D(4, 3, name="conv1"),
                          layers.Activation("relu", name="relu1"), layers.Flatten(name="flatten"),
                          layers.Dense(7, name="logits"),
                          layers.Activation("softmax", name="predictions")])
    before = ex.saliency_maps(m, x, y)
    p_before = ex.predict_proba(m, x)
    m.set_weights(ex.randomized_copy(m, seed=9).get_weights())
    after = ex.saliency_maps(m, x, y)
    assert ex.spearman_rows(before, after).mean() < 0.9
    assert not np.allclose(p_before, ex.predict_proba(m, x))
