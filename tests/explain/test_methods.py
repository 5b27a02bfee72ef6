"""The method registry (issue 25): every registered saliency method, without naming it, through
the same tests on both backends (``core``): shapes, ranges and batching; a hand-built model whose
evidence is known (the map must peak there, not on a distractor the model ignores); a model
that ignores its input (flat maps); one-line errors; and the CLI, the checks and the captions
reading the registry. The tf-keras-vis cross-checks of the methods that have a counterpart are
at the end (TensorFlow only)."""
from __future__ import annotations

import os
import re

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from keras import layers  # noqa: E402

from fer_keras import explain as ex  # noqa: E402
from fer_keras.data.synthetic import make_faces  # noqa: E402
from fer_keras.errors import FerInputError  # noqa: E402
from fer_keras.explain import methods  # noqa: E402

pytestmark = pytest.mark.core

ALL = methods.names()
LAYERED = methods.layer_names()


def test_registry_shape():
    reg = methods.registry()
    assert len(reg) >= 10 and list(reg) == list(ALL)
    assert [m.year for m in reg.values()] == sorted(m.year for m in reg.values())
    for name, m in reg.items():
        assert m.name == name and m.caption and m.title and 2000 < m.year < 2100
        assert any(str(y) in m.caption for y in (m.year, m.year + 1, m.year - 1)), m.caption
        assert callable(m.compute) and m.compute.__doc__, name
        assert m.tfkv is None or m.tfkv.cls.startswith("tf_keras_vis.")
        with pytest.raises(AttributeError):
            m.name = "x"  # frozen
    assert set(LAYERED) == {n for n, m in reg.items() if m.layer}
    with pytest.raises(FerInputError, match="valid methods: " + ALL[0]):
        methods.get("nope")
    assert methods.base_name("gradcam @ s3c2_act") == "gradcam"


def _core_net(seed=3):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.Input((48, 48, 1), name="image"),
        layers.Conv2D(8, 3, padding="same", name="conv1"),
        layers.BatchNormalization(name="bn1"), layers.Activation("relu", name="relu1"),
        layers.MaxPooling2D(2, name="pool1"),
        layers.Conv2D(8, 3, padding="same", name="conv2"),
        layers.Activation("relu", name="relu2"), layers.MaxPooling2D(2, name="pool2"),
        layers.Flatten(name="flatten"), layers.Dense(7, name="logits"),
        layers.Activation("softmax", name="predictions")], name="methods_net")


@pytest.fixture(scope="module")
def net():
    return _core_net()


@pytest.mark.parametrize("method", ALL)
def test_shape_range_inputs_and_batching(net, method):
    x, y, _ = make_faces(5, seed=7)
    a = methods.get(method)
    maps = ex.saliency_maps(net, x, y, method=method, samples=3, batch_size=2)
    assert maps.shape == (5, 48, 48) and maps.dtype == np.float32
    assert maps.min() >= 0 and maps.max() <= 1 and maps.max() == 1  # scaled per map
    again = ex.saliency_maps(net, x.astype(np.float32)[..., None] / 255, y, method=method,
                             samples=3, batch_size=128)
    # uint8 and float images are the same images; the batch size changes nothing (random
    # methods draw per image from the seed)
    np.testing.assert_allclose(maps, again, atol=1e-3)
    assert ex.saliency_maps(net, x[:0], y[:0], method=method).shape == (0, 48, 48)
    if a.layer:  # an explicit layer is read, and a bad one is a one-line error
        other = ex.saliency_maps(net, x, y, method=method, layer="relu1")
        assert other.shape == maps.shape and not np.allclose(other, maps)
        with pytest.raises(FerInputError, match="valid layer names: conv1"):
            ex.saliency_maps(net, x, y, method=method, layer="nope")
    with pytest.raises(FerInputError, match=re.escape(f"{method}' has no option 'nope'")):
        ex.saliency_maps(net, x, y, method=method, options={"nope": 1})


# --------------------------------------------------------------------------- known evidence
def _evidence_model():
    """A hand-built CNN whose class-0 score counts a 2-pixel checkerboard and nothing else.

    Layer ``detect`` has two channels: 0 answers a checkerboard (3x3 kernel of alternating
    signs, bias -1.5: 3.5 on a checkerboard, below 0 on flat grey or a flat bright patch), 1 a
    flat bright patch (mean filter, bias -0.7). Global average pooling; class 0's logit reads
    channel 0 only, class 1's channel 1 only, the others are 0."""
    inp = keras.Input((48, 48, 1), name="image")
    a = layers.Conv2D(2, 3, padding="same", name="detect")(inp)
    a = layers.Activation("relu", name="detect_relu")(a)
    z = layers.GlobalAveragePooling2D(name="gap")(a)
    z = layers.Dense(7, name="logits")(z)
    model = keras.Model(inp, layers.Activation("softmax", name="predictions")(z))
    k = np.zeros((3, 3, 1, 2), np.float32)
    k[..., 0, 0] = np.indices((3, 3)).sum(axis=0) % 2 * -2 + 1  # +1 -1 +1 / -1 +1 -1 / ...
    k[..., 0, 1] = 1 / 9
    model.get_layer("detect").set_weights([k, np.array([-1.5, -0.7], np.float32)])
    w = np.zeros((2, 7), np.float32)
    w[0, 0] = w[1, 1] = 100
    model.get_layer("logits").set_weights([w, np.zeros(7, np.float32)])
    return model


def _evidence_images(n=4, seed=0):
    """Grey faces-sized images with a 10x10 checkerboard (the evidence) and a 10x10 flat bright
    patch (a distractor the class-0 score ignores) at random places; their boxes."""
    rng = np.random.default_rng(seed)
    x = np.clip(0.5 + 0.02 * rng.standard_normal((n, 48, 48)), 0, 1).astype(np.float32)
    boxes = []
    board = (np.indices((10, 10)).sum(axis=0) % 2 == 0).astype(np.float32)
    for i in range(n):
        while True:
            (ay, ax), (by, bx) = rng.integers(4, 34, (2, 2))
            if abs(ay - by) > 18 or abs(ax - bx) > 18:  # boxes padded by 4 px stay apart
                break
        x[i, ay:ay + 10, ax:ax + 10] = board
        x[i, by:by + 10, bx:bx + 10] = 1.0
        boxes.append(((ay, ax), (by, bx)))
    return x[..., None], boxes


def _box(m, corner, pad):
    y0, x0 = corner
    return m[max(0, y0 - pad):y0 + 10 + pad, max(0, x0 - pad):x0 + 10 + pad]


@pytest.fixture(scope="module")
def evidence():
    model = _evidence_model()
    x, boxes = _evidence_images()
    p = ex.predict_proba(model, x)
    assert (p.argmax(axis=1) == 0).all()  # the checkerboard decides
    return model, x, boxes


@pytest.mark.parametrize("method", ALL)
def test_map_peaks_where_the_score_depends(evidence, method):
    """Each map's highest value lies on the checkerboard (its box padded by 4 px: half an
    occluding patch or a RISE cell), and the checkerboard's box holds at least 3x the mean
    saliency of the bright patch's box, which the class-0 score does not read."""
    model, x, boxes = evidence
    maps = ex.saliency_maps(model, x, np.zeros(len(x), np.int32), method=method, samples=8)
    pad = 4
    for m, (board, patch) in zip(maps, boxes):
        peak = np.unravel_index(np.argmax(m), m.shape)
        inside = _box(np.ones_like(m), board, pad)
        mask = np.zeros(m.shape, bool)
        mask[max(0, board[0] - pad):board[0] + 10 + pad,
             max(0, board[1] - pad):board[1] + 10 + pad] = True
        assert inside.size and mask[peak], (method, peak, board)
        on, off = _box(m, board, pad).mean(), _box(m, patch, pad).mean()
        assert on > 3 * off + 1e-6, (method, on, off)


@pytest.mark.parametrize("method", ALL)
def test_a_model_that_ignores_the_image_gives_flat_maps(method):
    """Zero kernels: every activation is a constant, the score does not depend on the pixels,
    and every method must say so with a flat (all-zero) map, not amplified rounding."""
    model = _evidence_model()
    det = model.get_layer("detect")
    det.set_weights([np.zeros_like(det.get_weights()[0]), np.array([0.3, 0.2], np.float32)])
    x, _ = _evidence_images(3, seed=1)
    maps = ex.saliency_maps(model, x, np.zeros(3, np.int32), method=method, samples=4)
    assert maps.shape == (3, 48, 48) and not maps.any(), (method, maps.max())


# --------------------------------------------------------------------------- the registry's readers
def test_cli_checks_and_captions_read_the_registry():
    from fer_keras import cli
    from fer_keras.analyses import checks, saliency

    sub = next(a for a in cli.build_parser()._actions if a.dest == "command").choices
    what = next(a for a in sub["explain"]._actions if a.dest == "what").choices
    for name in ("saliency", "checks"):
        action = {a.dest: a for a in what[name]._actions}
        assert tuple(action["method"].choices) == ALL
        assert all(m in action["layer"].help for m in LAYERED)
    assert saliency.Settings().methods == ALL and checks.Settings().methods == ALL
    for name in ALL:
        assert saliency.caption(name) == methods.get(name).caption


# --------------------------------------------------------------------------- tf-keras-vis
COUNTERPARTS = [n for n in ALL if methods.get(n).tfkv is not None]


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="tf-keras-vis needs TensorFlow")
@pytest.mark.parametrize("method", COUNTERPARTS)
def test_tf_keras_vis_counterparts_agree(net, method):
    """Native and tf-keras-vis maps rank the pixels alike: Spearman above 0.9 on every image
    (both blank counts as agreeing). Measured on these 6 faces: vanilla 1.000, Grad-CAM
    0.94-1.00 (2 blank in both), Grad-CAM++ 0.95-1.00, Score-CAM 0.98-0.99, LayerCAM 0.94-0.95;
    the CAMs differ in the upsampling (tf-keras-vis: scipy zoom, order 1, corners aligned;
    ours: bilinear, half-pixel centres). SmoothGrad's counterpart averages another quantity
    (see :class:`fer_keras.explain.methods.Counterpart`), so it is compared at a vanishing
    noise, where both are the gradient's magnitude."""
    x, y, _ = make_faces(6, seed=4)
    kw = {"samples": 8}
    if methods.get(method).tfkv.smooth:
        kw = {"samples": 2, "noise": 1e-6}
    native = ex.saliency_maps(net, x, y, method=method, **kw)
    tfkv = ex.saliency_maps(net, x, y, method=method, engine="tf-keras-vis", **kw)
    blank = ex.blank_maps(native) & ex.blank_maps(tfkv)
    rho = np.where(blank, 1.0, ex.spearman_rows(native, tfkv))
    print(method, "native vs tf-keras-vis Spearman per image:", np.round(rho, 3))
    assert np.nanmin(rho) > 0.9 and not np.isnan(rho).any(), rho


@pytest.mark.parametrize("method", [n for n in ALL if methods.get(n).tfkv is None])
def test_tf_keras_vis_engine_refuses_a_method_without_counterpart(net, method):
    x, y, _ = make_faces(2, seed=4)
    if keras.backend.backend() != "tensorflow":
        pytest.skip("the engine needs TensorFlow")
    with pytest.raises(FerInputError,
                       match=re.escape(f"{method}' has no tf-keras-vis counterpart")) as e:
        ex.saliency_maps(net, x, y, method=method, engine="tf-keras-vis")
    assert "\n" not in str(e.value)
