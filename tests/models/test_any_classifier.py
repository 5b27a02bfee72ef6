"""Any Keras classifier (issue 15): models built here, not by the registry, go through the input
contract, loading, every explanation and the CLI.

* ``residual``: functional, 64x64x1 input scaled to [-1, 1], residual add, separable and depthwise
  convolutions, a concatenation, the softmax fused into its last Dense; saved as Keras 2-style
  ``.h5`` and as ``.keras``;
* ``rgb``: a 3-channel model taking 0..255;
* ``ferplus``: 8 classes in FER+'s order, giving logits (no softmax);
* a nested model (a Sequential backbone inside a functional model).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from keras import layers  # noqa: E402

from fer_keras import CLASS_NAMES, models  # noqa: E402
from fer_keras import explain as ex
from fer_keras.data.synthetic import make_faces  # noqa: E402
from fer_keras.errors import FerInputError  # noqa: E402
from fer_keras.explain import _core, methods  # noqa: E402
from fer_keras.models import contract

FERPLUS = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt")


def residual_net(size=64, channels=1, classes=7, seed=0, name="residual_fer", width=8):
    keras.utils.set_random_seed(seed)
    w = width
    inp = keras.Input((size, size, channels), name="face")
    x = layers.Conv2D(w, 3, padding="same", use_bias=False, name="stem")(inp)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.Activation("relu", name="stem_relu")(x)
    r = layers.SeparableConv2D(w, 3, padding="same", name="sep1")(x)
    r = layers.BatchNormalization(name="sep1_bn")(r)
    x = layers.Add(name="add1")([x, r])
    x = layers.Activation("relu", name="add1_relu")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    a = layers.Conv2D(w, 3, padding="same", activation="relu", name="branch_a")(x)
    b = layers.DepthwiseConv2D(3, padding="same", activation="relu", name="branch_b")(x)
    x = layers.Concatenate(name="cat")([a, b])
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Conv2D(2 * w, 3, padding="same", activation="relu", name="last_conv")(x)
    x = layers.MaxPooling2D(2, name="pool3")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    out = layers.Dense(classes, activation="softmax", name="predictions")(x)
    return keras.Model(inp, out, name=name)


def ferplus_net(seed=1):
    """8 FER+ classes, logits out (no softmax), 48x48x1 in [0, 1]."""
    keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.Input((48, 48, 1)), layers.Conv2D(8, 3, activation="relu", name="c1"),
        layers.MaxPooling2D(2, name="p1"), layers.Conv2D(8, 3, activation="relu", name="c2"),
        layers.Flatten(name="flat"), layers.Dense(8, name="scores")], name="ferplus")


@pytest.fixture(scope="module")
def faces():
    return make_faces(12, seed=5)


@pytest.fixture(scope="module")
def residual():
    return residual_net()


@pytest.fixture(scope="module")
def files(tmp_path_factory, residual):
    """The models saved as a user would have them."""
    d = tmp_path_factory.mktemp("models")
    residual.save(d / "residual.h5")  # Keras 3 writes the legacy (Keras 2) h5 format
    residual.save(d / "residual.keras")
    residual_net(size=56, channels=3, seed=2, name="rgb").save(d / "rgb.keras")
    ferplus_net().save(d / "ferplus.keras")
    (d / "notes.h5").write_text("this is not a model\n")
    x, y, _ = make_faces(30, seed=8)  # a small Kaggle-format CSV for predict
    rows = [f"{int(c)},{' '.join(map(str, img.ravel()))},PublicTest" for img, c in zip(x, y)]
    (d / "kaggle.csv").write_text("emotion,pixels,Usage\n" + "\n".join(rows) + "\n")
    (d / "broken.keras").write_bytes(b"PK\x03\x04 not really a zip")
    inp = keras.Input((16, 16, 1))
    keras.Model(inp, layers.Conv2D(3, 3, padding="same")(inp)).save(d / "segmenter.keras")
    return d


# --------------------------------------------------------------------------- the contract
@pytest.mark.core
def test_contract_inferred_and_overridden(residual):
    c = contract.infer(residual)
    assert (c.height, c.width, c.channels, c.outputs) == (64, 64, 1, "probabilities")
    assert c.classes == CLASS_NAMES and c.input_range == (0.0, 1.0)
    c = contract.infer(residual, input_range="-1,1")
    assert c.input_range == (-1.0, 1.0)
    images = np.zeros((2, 48, 48), np.uint8)
    images[:, :, 24:] = 255  # left half black, right half white
    x = c.prepare(images)
    assert x.shape == (2, 64, 64, 1) and x.dtype == np.float32
    assert x[0, 10, 5, 0] == pytest.approx(-1.0) and x[0, 10, 60, 0] == pytest.approx(1.0)
    # antialiased resize: the edge between the halves is a ramp, not a step
    assert -1 < x[0, 10, 32, 0] < 1 or -1 < x[0, 10, 31, 0] < 1
    rgb = contract.InputContract(height=48, width=48, channels=3, mean=(0.5, 0.4, 0.3),
                                 std=(0.25, 0.25, 0.5))
    y = rgb.prepare(np.full((1, 48, 48, 1), 0.5, np.float32))
    np.testing.assert_allclose(y[0, 0, 0], [0.0, 0.4, 0.4], atol=1e-6)


@pytest.mark.core
@pytest.mark.parametrize("kw, match", [
    ({"classes": "a,b,c,d,e,f,g,h"}, "names 8 classes but the model has 7 outputs"),
    ({"channels": 3}, "takes 1 channels, not 3"),
    ({"input_range": "1,0"}, "LOW < HIGH"),
    ({"input_range": "minus one"}, "LOW,HIGH"),
    ({"classes": "happy,happy,sad,a,b,c,d"}, "distinct"),
])
def test_contract_contradictions(residual, kw, match):
    with pytest.raises(FerInputError, match=match) as e:
        contract.infer(residual, **kw)
    assert "\n" not in str(e.value)


@pytest.mark.core
def test_other_class_order_maps_to_fer2013():
    c = contract.infer(ferplus_net(), classes=",".join(FERPLUS))
    assert c.outputs == "logits" and c.num_classes == 8
    # FER2013 order: Angry Disgust Fear Happy Sad Surprise Neutral
    assert c.fer_columns().tolist() == [4, 5, 6, 1, 3, 2, 0]
    assert c.from_fer([0, 3, 6]).tolist() == [4, 1, 0]
    p = np.array([[0.1, 0.2, 0.0, 0.0, 0.3, 0.0, 0.0, 0.4]], np.float32)  # contempt 0.4 dropped
    np.testing.assert_allclose(c.to_fer(p), [[0.5, 0, 0, 1 / 3, 0, 0, 1 / 6]], atol=1e-6)
    with pytest.raises(FerInputError, match="8 outputs, not FER2013's 7"):
        contract.infer(ferplus_net())


# --------------------------------------------------------------------------- loading
def test_load_h5_keras_and_bad_files(files, residual, faces):
    x = contract.infer(residual).prepare(faces[0])
    want = residual.predict(x, verbose=0)
    for name in ("residual.h5", "residual.keras"):
        m, c = models.load_classifier(files / name, input_range="-1,1")
        np.testing.assert_allclose(m.predict(x, verbose=0), want, atol=1e-5)
        assert c.input_range == (-1.0, 1.0) and c.size == (64, 64)
    for name, match in (("notes.h5", "not a Keras model file"), ("broken.keras", "corrupt"),
                        ("segmenter.keras", "expected a class vector"),
                        ("missing.keras", "no such model file")):
        with pytest.raises(FerInputError, match=match) as e:
            models.load_classifier(files / name)
        assert str(e.value).startswith(str(files / name)) and "\n" not in str(e.value)
    with pytest.raises(FerInputError, match="--classes"):
        models.load_classifier(files / "ferplus.keras")


def test_recorded_contract_needs_no_flags(tmp_path, residual):
    run = tmp_path / "run"
    run.mkdir()
    residual.save(run / "best.keras")
    contract.record(run, residual, input_range="-1,1")
    m, c = models.load_classifier(run / "best.keras")
    assert c.input_range == (-1.0, 1.0) and c.size == (64, 64)
    assert contract.of(m) is c  # attached: every function given the model uses it
    m, c = models.load_classifier(run / "best.keras", input_range="0,255")  # flags still win
    assert c.input_range == (0.0, 255.0)
    (run / "contract.json").write_text('{"height": 64, "classes": ["a", "b"]}')
    with pytest.raises(FerInputError, match="names 2 classes but the model has 7 outputs"):
        models.load_classifier(run / "best.keras")
    (run / "contract.json").write_text('{"height": 64, "width": 48}')
    with pytest.raises(FerInputError, match=r"takes \(64, 48, 1\) images"):
        models.load_classifier(run / "best.keras")


@pytest.mark.core
def test_training_records_the_contract(tmp_path):
    from fer_keras.config import TrainConfig
    from fer_keras.train import train

    train(TrainConfig(epochs=1, out=str(tmp_path), model="small_cnn", n_synthetic=300,
                      batch_size=64, verbose=0))
    c = contract.load_for(tmp_path / "best.keras")
    assert (c.height, c.width, c.channels, c.input_range) == (48, 48, 1, (0.0, 1.0))
    assert c.classes == CLASS_NAMES and c.outputs == "probabilities"


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="SavedModel: TensorFlow")
def test_saved_model_folder(tmp_path, residual, faces):
    residual.export(tmp_path / "sm", verbose=False)
    m, c = models.load_classifier(tmp_path / "sm")
    x = c.prepare(faces[0])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(m(x)), residual.predict(x, verbose=0),
                               atol=1e-5)
    maps = ex.saliency_maps(m, faces[0][:2], method="vanilla")  # a gradient through the graph
    assert maps.shape == (2, 64, 64) and maps.max() == 1
    with pytest.raises(FerInputError, match="spatial"):
        ex.saliency_maps(m, faces[0][:2], method="gradcam")


# --------------------------------------------------------------------------- any graph
@pytest.mark.core
def test_pre_softmax_score_of_a_fused_softmax(residual, faces):
    """The fused softmax's Dense is rebuilt linear with the same weights: its softmax is the
    model's output, so it is the pre-softmax score."""
    g = _core.graph(residual)
    assert "rebuilt with a linear activation" in g.score_source
    x = contract.infer(residual).prepare(faces[0])
    score = keras.ops.convert_to_numpy(g.submodel([], score=True)(x))
    soft = np.exp(score - score.max(axis=1, keepdims=True))
    np.testing.assert_allclose(soft / soft.sum(1, keepdims=True), residual.predict(x, verbose=0),
                               atol=1e-5)
    assert np.ptp(score, axis=1).max() > 1e-3  # a real score, not a constant
    seq = ferplus_net()
    assert "no final softmax" in _core.graph(seq).score_source


@pytest.mark.core
def test_layer_helpers_on_a_residual_graph(residual):
    c = contract.infer(residual, input_range="-1,1")
    assert ex.conv_layer_names(residual, c) == ["stem", "sep1", "branch_a", "branch_b",
                                                "last_conv"]
    assert ex.first_activation_layer(residual, c) == "stem_relu"  # stem -> stem_bn -> stem_relu
    assert ex.gradcam_layer(residual, c) == "last_conv"
    assert ex.last_hidden_layer(residual, c) == "gap"
    assert "add1" in ex.spatial_layer_names(residual, c)


@pytest.mark.core
def test_vanilla_is_the_score_gradient_through_the_contract(residual, faces):
    """The vanilla map is |d score / d pixel| of the image in [0, 1] at 64x64, through the
    [-1, 1] rescale: compare with a central finite difference of the linear score."""
    from fer_keras.explain.methods import Request, _gradients

    c = contract.infer(residual, input_range="-1,1")
    img = c.images01(faces[0][:1])
    y = np.array([3], np.int32)
    raw = np.abs(_gradients.gradients(Request(residual, c, batch_size=8), img, y)).max(-1)[0]
    score = _core.graph(residual, c).submodel([], score=True)
    f = lambda v: float(keras.ops.convert_to_numpy(score(c.to_model(v)))[0, 3])  # noqa: E731
    p = np.unravel_index(np.argmax(raw), raw.shape)
    eps = 1e-3
    up, down = img.copy(), img.copy()
    up[0, p[0], p[1], 0] += eps
    down[0, p[0], p[1], 0] -= eps
    fd = (f(up) - f(down)) / (2 * eps)
    assert abs(abs(fd) - raw[p]) < 0.05 * raw[p] + 1e-4, (fd, raw[p])


@pytest.mark.core
@pytest.mark.parametrize("method", methods.names())
def test_nested_model_explains_like_its_flat_twin(method, faces):
    """A Sequential backbone inside a functional model gives the same maps as the same layers in
    one chain: the trace opens nested models."""
    keras.utils.set_random_seed(4)
    convs = [layers.Conv2D(6, 3, padding="same", name="n_conv1"),
             layers.Activation("relu", name="n_relu1"), layers.MaxPooling2D(2, name="n_pool"),
             layers.Conv2D(6, 3, padding="same", name="n_conv2"),
             layers.Activation("relu", name="n_relu2")]
    head = [layers.GlobalAveragePooling2D(name="n_gap"), layers.Dense(7, name="n_logits"),
            layers.Activation("softmax", name="n_soft")]
    backbone = keras.Sequential([keras.Input((48, 48, 1))] + convs, name="backbone")
    inp = keras.Input((48, 48, 1))
    x = backbone(inp)
    for layer in head:
        x = layer(x)
    nested = keras.Model(inp, x, name="nested")
    flat = keras.Sequential([keras.Input((48, 48, 1))] + convs + head, name="flat")
    assert ex.gradcam_layer(nested) == "n_relu2"
    assert ex.layer_names(nested) == ex.layer_names(flat)
    x, y, _ = faces
    a = ex.saliency_maps(nested, x, y, method=method, samples=3)
    b = ex.saliency_maps(flat, x, y, method=method, samples=3)
    np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.core
def test_every_explanation_runs_at_the_models_resolution(residual, faces):
    x, y, masks = faces
    kw = {"input_range": (-1, 1)}
    for method in methods.names():  # (3 images: RISE is 1,000 model calls per image)
        m = ex.saliency_maps(residual, x[:3], y[:3], method=method, samples=2, **kw)
        assert m.shape == (3, 64, 64) and m.min() >= 0 and m.max() == pytest.approx(1)
    r = ex.filter_ascent(residual, "add1_relu", filters=3, steps=8, progress=False, **kw)
    assert r["images"].shape == (3, 64, 64)
    assert (r["final_activation"] > r["start_activation"]).all()
    assert ex.feature_maps(residual, "cat", x[0], **kw).shape == (16, 32, 32)
    di = ex.deletion_insertion(residual, x, y, ex.saliency_maps(residual, x, y, **kw))
    assert 0 <= di["deletion_auc"] <= 1
    assert ex.masks_at(residual, masks).shape == (12, 64, 64)


@pytest.mark.core
def test_rgb_and_other_class_order(faces):
    x, y, _ = faces
    rgb = residual_net(size=56, channels=3, seed=2, name="rgb")
    m = ex.saliency_maps(rgb, x, y, method="gradcam", input_range="0,255")
    assert m.shape == (12, 56, 56)
    ferplus = ferplus_net()
    names = ",".join(FERPLUS)
    p = ex.predict_proba(ferplus, x, contract=contract.infer(ferplus, classes=names))
    assert p.shape == (12, 8)
    np.testing.assert_allclose(p.sum(axis=1), 1, atol=1e-5)  # logits turned into probabilities
    with pytest.raises(FerInputError, match="class indices 0..7"):
        ex.saliency_maps(ferplus, x, np.full(12, 8), classes=names)


@pytest.mark.core
def test_layer_errors(residual, faces):
    x, y, _ = faces
    with pytest.raises(FerInputError, match="unknown layer 'nope'"):
        ex.saliency_maps(residual, x, y, method="gradcam", layer="nope")
    with pytest.raises(FerInputError, match="Grad-CAM needs a layer with a spatial"):
        ex.saliency_maps(residual, x, y, method="gradcam", layer="predictions")
    dense = keras.Sequential([keras.Input((48, 48, 1)), layers.Flatten(),
                              layers.Dense(7, activation="softmax")])
    with pytest.raises(FerInputError, match="Grad-CAM needs a layer with a spatial"):
        ex.saliency_maps(dense, x, y, method="gradcam")


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="tf-keras-vis: TensorFlow")
@pytest.mark.parametrize("method", [m for m in methods.names() if methods.get(m).tfkv])
def test_tf_keras_vis_agrees_on_a_residual_graph(residual, faces, method):
    x, y, _ = faces
    kw = {"samples": 2, "noise": 1e-6} if methods.get(method).tfkv.smooth else {}
    native = ex.saliency_maps(residual, x, y, method=method, input_range="-1,1", **kw)
    tfkv = ex.saliency_maps(residual, x, y, method=method, input_range="-1,1",
                            engine="tf-keras-vis", **kw)
    rho = ex.spearman_rows(native, tfkv)
    print(method, "native vs tf-keras-vis on the residual graph:", np.round(rho, 3))
    assert rho.mean() > (0.95 if method == "vanilla" else 0.8)


# --------------------------------------------------------------------------- the CLI
def _run(argv, capsys):
    from fer_keras import cli

    rc = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


EXPLAIN = [("confusion", []), ("saliency", ["--samples", "2", "--n", "1", "--method", "vanilla",
                                            "--method", "gradcam"]),
           ("ascent", ["--steps", "3", "--filters", "3", "--no-progress"]), ("features", []),
           ("lime", ["--num-samples", "40", "--index", "0"]), ("tsne", ["--n", "30"]),
           ("checks", ["--n", "8", "--samples", "2", "--method", "vanilla",
                       "--method", "gradcam"])]
CASES = {"residual.h5": ["--input-range=-1,1"], "residual.keras": ["--input-range", "-1,1"],
         "rgb.keras": ["--input-range", "0,255"], "ferplus.keras": ["--classes", ",".join(FERPLUS)]}


@pytest.mark.parametrize("name", [n if n == "residual.h5" else pytest.param(n, marks=pytest.mark.slow)
                                  for n in CASES])  # ~40 s each: one in the default suite
def test_cli_evaluate_predict_and_every_explain(name, files, tmp_path, capsys):
    flags = CASES[name]
    model = files / name
    data = ["--n-synthetic", "120"]
    rc, out, err = _run(["evaluate", "--model", model, *flags, *data, "--out",
                         tmp_path / "ev.json"], capsys)
    assert rc == 0, err
    assert "accuracy" in out and (tmp_path / "ev.json").is_file()
    rc, out, err = _run(["predict", "--model", model, *flags, "--out", tmp_path / "p.csv",
                         "--data", files / "kaggle.csv"], capsys)
    assert rc == 0, err
    rows = (tmp_path / "p.csv").read_text().splitlines()
    assert rows[0] == "id,label" and len(rows) == 31
    # the CSV's labels are FER2013 indices of the model's own prediction through its contract
    m, c = models.load_classifier(model, input_range=None if "ferplus" in name else
                                  flags[-1].split("=")[-1], classes=None if "ferplus" not in name
                                  else flags[-1])
    assert c.input_range == {"rgb.keras": (0, 255), "ferplus.keras": (0, 1)}.get(name, (-1, 1))
    from fer_keras import data as fdata

    ds = fdata.load(files / "kaggle.csv")
    want = c.to_fer(c.probabilities(m.predict(c.prepare(ds.images), verbose=0))).argmax(1)
    assert [int(r.split(",")[1]) for r in rows[1:]] == want.tolist()
    rc, out, err = _run(["summary", model, *flags, *data, "--tta", "none"], capsys)
    assert rc == 0, err
    assert f"`{name}`" in out and "%" in out
    (files / f"{name}.summary.json").unlink()
    for what, extra in EXPLAIN:
        out_dir = tmp_path / what
        rc, out, err = _run(["explain", what, "--model", model, *flags, *data, "--out", out_dir,
                             *extra], capsys)
        assert rc == 0, (what, err)
        assert any(p.suffix == ".png" for p in out_dir.iterdir()), what


@pytest.mark.parametrize("argv, match", [
    (["explain", "saliency", "--model", "{d}/notes.h5"], "notes.h5: not a Keras model file"),
    (["explain", "saliency", "--model", "{d}/segmenter.keras"], "class vector"),
    (["evaluate", "--model", "{d}/residual.h5", "--classes", "a,b,c"], "names 3 classes"),
    (["explain", "saliency", "--model", "{d}/rgb.keras", "--input-range=1,0"], "LOW < HIGH"),
    (["explain", "saliency", "--model", "{d}/residual.h5", "--method", "gradcam", "--layer",
      "nope"], "unknown layer 'nope'"),
    (["explain", "saliency", "--model", "{d}/residual.h5", "--method", "gradcam", "--layer",
      "predictions"], "Grad-CAM needs a layer with a spatial"),
    (["explain", "features", "--model", "{d}/residual.h5", "--layer", "gap"], "spatial"),
])
def test_cli_bad_input_one_line_exit_2(argv, match, files, tmp_path, capsys):
    out_dir = tmp_path / "out"
    argv = [a.format(d=files) for a in argv] + ["--n-synthetic", "60", "--out", str(out_dir)]
    rc, out, err = _run(argv, capsys)
    assert rc == 2
    assert match in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out_dir.exists() or not any(out_dir.iterdir())


# --------------------------------------------------------------------------- trained
@pytest.mark.slow
def test_sanity_and_ground_truth_on_a_trained_residual_model():
    """After a short training on the synthetic faces (about 80 s on 2 CPU cores), the residual
    model's maps depend on its weights (Adebayo's randomisation test) and point at the
    class-defining parts. Measured: validation accuracy 0.58 after 10 epochs (chance 0.25),
    Spearman 0.06 (vanilla) / 0.06 (Grad-CAM), mask concentration 3.6 / 3.0."""
    keras.utils.set_random_seed(0)
    x, y, _ = make_faces(2000, seed=0)
    xt, yt, mt = make_faces(200, seed=1)
    net = residual_net(seed=5, width=16)
    c = contract.infer(net, input_range="-1,1")
    net.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                metrics=["accuracy"])
    net.fit(c.prepare(x), y, epochs=10, batch_size=32, verbose=0)
    acc = (net.predict(c.prepare(xt), verbose=0).argmax(1) == yt).mean()
    assert acc > 0.4, acc
    xs, ys, ms = xt[:64], yt[:64], mt[:64]
    for method in ("vanilla", "gradcam"):
        rho = ex.sanity_check(net, xs, ys, method, contract=c)
        conc = ex.mask_concentration(ex.saliency_maps(net, xs, ys, method=method, contract=c),
                                     ex.masks_at(net, ms, c))
        print(method, "spearman", round(rho, 3), "concentration", round(conc, 2), "acc", acc)
        assert rho < 0.4, (method, rho)
        assert conc > 1.5, (method, conc)


JAX_PY = Path(__file__).resolve().parents[2] / ".venv-jax" / "bin" / "python"


@pytest.mark.slow
@pytest.mark.skipif(not JAX_PY.is_file() or keras.backend.backend() != "tensorflow",
                    reason="needs the JAX virtual environment and TensorFlow here")
def test_keras_file_made_on_jax_explains_the_same_on_tensorflow(tmp_path):
    repo = Path(__file__).resolve().parents[2]
    script = f"""
import sys; sys.path.insert(0, {str(repo / 'tests' / 'models')!r}); sys.path.insert(0, {str(repo / 'tests')!r})
import numpy as np
from test_any_classifier import residual_net
from fer_keras import explain as ex
from fer_keras.data.synthetic import make_faces
net = residual_net(seed=9)
net.save({str(tmp_path / 'jax.keras')!r})
x, y, _ = make_faces(6, seed=1)
np.save({str(tmp_path / 'maps.npy')!r}, np.stack([ex.saliency_maps(net, x, y, method=m,
        input_range='-1,1') for m in ('vanilla', 'gradcam')]))
"""
    env = dict(os.environ, KERAS_BACKEND="jax", PYTHONPATH=str(repo))
    subprocess.run([str(JAX_PY), "-c", script], check=True, env=env, timeout=600)
    m, c = models.load_classifier(tmp_path / "jax.keras", input_range="-1,1")
    x, y, _ = make_faces(6, seed=1)
    jax_maps = np.load(tmp_path / "maps.npy")
    for k, method in enumerate(("vanilla", "gradcam")):
        tf_maps = ex.saliency_maps(m, x, y, method=method)
        np.testing.assert_allclose(tf_maps, jax_maps[k], atol=2e-3)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
