"""Explanations (issue 4): shapes and ranges, and checks with real numbers on a model trained on the
synthetic faces: model randomisation (Adebayo 2018), deletion/insertion (Petsiuk 2018), saliency
mass inside the ground-truth facial parts, gradient ascent, LIME, t-SNE, plots and the CLI."""
from __future__ import annotations

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from keras import layers  # noqa: E402

from fer_keras import explain as ex  # noqa: E402
from fer_keras.data.synthetic import make_faces  # noqa: E402
from fer_keras.errors import FerInputError  # noqa: E402
from fer_keras.explain import methods  # noqa: E402


def _tiny(name="tiny"):
    """A small CNN in the fer_keras convention (named layers, ``logits`` + ``predictions``)."""
    def block(i, f):
        return [layers.Conv2D(f, 3, padding="same", name=f"conv{i}"),
                layers.Activation("relu", name=f"relu{i}"), layers.MaxPooling2D(2, name=f"pool{i}")]
    return keras.Sequential([keras.Input((48, 48, 1), name="image"), *block(1, 16), *block(2, 32),
                             *block(3, 32), layers.Flatten(name="flatten"),
                             layers.Dense(64, name="fc1"), layers.Activation("relu", name="fc1_relu"),
                             layers.Dense(7, name="logits"),
                             layers.Activation("softmax", name="predictions")], name=name)


@pytest.fixture(scope="module")
def trained():
    """The tiny CNN trained 8 epochs on 2,000 synthetic faces (about 0.8 validation accuracy),
    and 64 held-out faces with their labels and ground-truth part masks."""
    keras.utils.set_random_seed(0)
    x, y, _ = make_faces(2000, seed=0)
    xt, yt, mt = make_faces(200, seed=1)
    net = _tiny()
    net.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    net.fit(x[..., None] / np.float32(255), y, epochs=8, batch_size=32, verbose=0)
    acc = net.evaluate(xt[..., None] / np.float32(255), yt, verbose=0)[1]
    assert acc > 0.6, f"the test model did not learn the synthetic faces (accuracy {acc:.2f})"
    return net, xt[:64], yt[:64], mt[:64], (xt, yt)


@pytest.fixture(scope="module")
def untrained():
    keras.utils.set_random_seed(1)
    return _tiny("untrained")


# --------------------------------------------------------------------------- layers, shapes
def test_layer_helpers(untrained):
    assert ex.conv_layer_names(untrained) == ["conv1", "conv2", "conv3"]
    assert ex.first_conv_layer(untrained) == "conv1"
    assert ex.last_hidden_layer(untrained) == "fc1_relu"
    assert ex.gradcam_layer(untrained) == "relu3"


@pytest.mark.parametrize("method", ["vanilla", "smoothgrad", "gradcam", "gradcam++"])
def test_saliency_shape_range_batching(untrained, method):
    x, y, _ = make_faces(10, seed=3)
    a = ex.saliency_maps(untrained, x, y, method=method, batch_size=4, samples=4)
    b = ex.saliency_maps(untrained, x, y, method=method, batch_size=128, samples=4)
    assert a.shape == (10, 48, 48) and a.dtype == np.float32
    assert a.min() >= 0 and a.max() <= 1
    if method != "smoothgrad":  # (SmoothGrad's noise is drawn per batch)
        np.testing.assert_allclose(a, b, atol=1e-4)  # batch size does not change the maps


def test_saliency_bad_inputs(untrained):
    x, y, _ = make_faces(2, seed=3)
    with pytest.raises(FerInputError, match="valid methods"):
        ex.saliency_maps(untrained, x, y, method="nope")
    with pytest.raises(FerInputError, match="valid layer names"):
        ex.saliency_maps(untrained, x, y, method="gradcam", layer="nope")
    with pytest.raises(FerInputError):
        ex.saliency_maps(untrained, x, [1, 2, 3])


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="tf-keras-vis: TensorFlow")
@pytest.mark.parametrize("method", [m for m in methods.names() if methods.get(m).tfkv])
def test_tf_keras_vis_engine_agrees_on_a_trained_model(trained, method):
    """tf-keras-vis (on the functional wrapper) and the native maps rank pixels alike on the
    CNN trained on the synthetic faces (the CAMs not exactly: tf-keras-vis upsamples with
    another interpolation). SmoothGrad at a vanishing noise (see
    :class:`fer_keras.explain.methods.Counterpart`)."""
    net, x, y, _, _ = trained
    kw = {"samples": 2, "noise": 1e-6} if methods.get(method).tfkv.smooth else {}
    native = ex.saliency_maps(net, x[:8], y[:8], method=method, **kw)
    tfkv = ex.saliency_maps(net, x[:8], y[:8], method=method, engine="tf-keras-vis", **kw)
    rho = ex.spearman_rows(native, tfkv)
    print(method, "native vs tf-keras-vis on the trained CNN:", np.round(rho, 3))
    assert np.nanmean(rho) > 0.9 and np.nanmin(rho) > 0.8


# --------------------------------------------------------------------------- the checks
#: The methods of the original checks (the new ones are checked on real data, RESULTS.md).
METHODS = ["vanilla", "smoothgrad", "gradcam", "gradcam++"]


def test_sanity_check_randomised_weights(trained):
    """Adebayo et al. 2018: maps of a re-initialised copy are unrelated to the trained ones, while
    a copy trained one epoch more (a different model that learned the same thing) keeps them."""
    net, x, y, _, _ = trained
    full = {m: ex.model_randomization(net, x[:32], y[:32], m, samples=8) for m in METHODS}
    print("spearman vs randomised weights:",
          {m: (round(r["spearman"], 3), r["constant_share"]) for m, r in full.items()})
    for m in ("vanilla", "smoothgrad", "gradcam++"):
        assert full[m]["spearman"] < 0.4 and full[m]["constant_share"] == 0, (m, full[m])
    # Grad-CAM of the randomised net is all zeros (rectified) on some faces: the trained maps
    # were informative, so those pairs changed (0), and the check has an answer
    g = full["gradcam"]
    assert g["constant_share"] > 0 and g["blank_share"] == 0
    assert np.isfinite(g["spearman"]) and g["spearman"] < 0.4
    tuned = keras.models.clone_model(net)
    tuned.set_weights(net.get_weights())
    tuned.compile(keras.optimizers.Adam(3e-4), "sparse_categorical_crossentropy")
    xf, yf, _ = make_faces(500, seed=7)
    tuned.fit(xf[..., None] / np.float32(255), yf, epochs=1, batch_size=32, verbose=0)
    a = ex.saliency_maps(net, x[:32], y[:32], method="vanilla")
    b = ex.saliency_maps(tuned, x[:32], y[:32], method="vanilla")
    kept = ex.spearman_rows(a, b).mean()
    print("spearman vs one more epoch:", round(kept, 3))
    assert kept > 0.5 and kept > full["vanilla"]["spearman"] + 0.3


def test_cascading_randomisation(trained):
    """Top layer first, one weight group at a time; vanilla gradients lose the trained map
    by the time everything is random, and the model itself is untouched."""
    net, x, y, _, _ = trained
    before = [w.copy() for w in net.get_weights()]
    c = ex.cascading_randomization(net, x[:24], y[:24], "vanilla")
    print("cascade:", dict(zip(c["layers"], c["spearman"].round(3))))
    assert ex.weight_groups(net) == [["conv1"], ["conv2"], ["conv3"], ["fc1"], ["logits"]]
    assert c["layers"] == ["logits", "fc1", "conv3", "conv2", "conv1"]
    assert c["spearman"].shape == (5,) and (c["constant_share"] == 0).all()
    assert c["spearman"][-1] < 0.3 and c["spearman"][-1] < c["spearman"][0]
    for w0, w1 in zip(before, net.get_weights()):
        np.testing.assert_array_equal(w0, w1)


def test_deletion_insertion_beats_the_controls(trained):
    """Blur fill rewards any smooth map: the smooth random and edge controls beat independent
    noise by far (measured deletion 0.329 / 0.293 against 0.408), so a method must beat those."""
    net, x, y, _, _ = trained
    ctrl = {k: ex.deletion_insertion(net, x, y, v) for k, v in ex.control_maps(x).items()}
    out = {}
    for m in ("vanilla", "gradcam"):
        out[m] = ex.deletion_insertion(net, x, y, ex.saliency_maps(net, x, y, method=m))
    print("deletion/insertion:", {k: (round(v["deletion_auc"], 3), round(v["insertion_auc"], 3))
                                  for k, v in {**out, **ctrl}.items()})
    assert ctrl["smooth random"]["deletion_auc"] < ctrl["random"]["deletion_auc"] - 0.05
    for m, r in out.items():
        for name, c in ctrl.items():
            assert r["deletion_auc"] < c["deletion_auc"] - 0.02, (m, name, r, c)
            assert r["insertion_auc"] > c["insertion_auc"] + 0.02, (m, name, r, c)


def test_saliency_mass_in_ground_truth_parts(trained):
    """The part masks' ratio means something only against model-free controls: the image's edge
    map alone scores about 2.1x (above the old 1.5 threshold), the centre prior about 1.9x. A
    method passes when it reaches 1.2x the better of the two (CheckRules.mask_ratio)."""
    net, x, y, masks, _ = trained
    ratio = {m: ex.mask_concentration(ex.saliency_maps(net, x, y, method=m, samples=10), masks)
             for m in METHODS}
    ctrl = {k: ex.mask_concentration(v, masks) for k, v in ex.control_maps(x).items()}
    print("mass-in-mask / area ratio:", {m: round(r, 2) for m, r in {**ratio, **ctrl}.items()})
    assert ctrl["edge"] > 1.5 and ctrl["edge"] == pytest.approx(2.09, abs=0.15)  # measured 2.09
    assert ctrl["centre"] > 1.5 and ctrl["random"] == pytest.approx(1.0, abs=0.05)
    need = ex.CheckRules().mask_ratio * max(ctrl["edge"], ctrl["centre"])
    assert ratio["vanilla"] > need, (ratio, need)  # measured 2.95 against 2.51
    assert ratio["smoothgrad"] > need, (ratio, need)  # 2.96 (2.51 with the mean of |gradient|)
    assert ratio["gradcam++"] < need, (ratio, need)  # measured 2.00: no better than the edges
    # the one-call form the report uses says the same
    v = ex.ground_truth_check(ex.saliency_maps(net, x, y, method="gradcam++"), x, masks)
    assert not v["passed"] and v["controls"]["edge"] == pytest.approx(ctrl["edge"])
    assert "edge map's 2.0" in v["reason"] or "edge map's 2.1" in v["reason"]
    # a uniform map scores exactly 1, a map equal to the mask 1 / area
    assert ex.mask_concentration(np.ones(masks.shape, np.float32), masks) == pytest.approx(1.0)


def test_mask_concentration_and_spearman_units():
    masks = np.zeros((2, 48, 48), bool)
    masks[:, :12] = True  # a quarter of the image
    assert ex.mask_concentration(masks.astype(np.float32), masks) == pytest.approx(4.0)
    a = np.random.default_rng(0).random((3, 48, 48))
    np.testing.assert_allclose(ex.spearman_rows(a, 2 * a + 1), 1.0)
    np.testing.assert_allclose(ex.spearman_rows(a, -a), -1.0)


# --------------------------------------------------------------------------- ascent, features
def test_filter_ascent_raises_activation(trained):
    net, x, _, _, _ = trained
    r = ex.filter_ascent(net, "relu2", filters=16, steps=40, progress=False)
    assert r["images"].shape == (16, 48, 48)
    assert r["images"].min() >= 0 and r["images"].max() <= 1
    # a dead ReLU filter (0 on every input) cannot rise; every other one must
    alive = r["final_activation"] > 0
    assert alive.mean() >= 0.75
    assert (r["final_activation"][alive] > r["start_activation"][alive]).all()
    assert r["final_activation"].mean() > 3 * r["start_activation"].mean() + 1e-3
    s = ex.filter_ascent(net, "relu2", filters=[0, 5], steps=20, start=x[0], progress=False)
    assert s["images"].shape == (2, 48, 48)
    assert (s["final_activation"] >= s["start_activation"]).all()
    assert s["final_activation"].sum() > s["start_activation"].sum()


def test_feature_maps(untrained):
    x, _, _ = make_faces(1, seed=5)
    fm = ex.feature_maps(untrained, "relu2", x[0])
    assert fm.shape == (32, 24, 24) and fm.dtype == np.float32 and fm.min() >= 0
    with pytest.raises(FerInputError, match="valid layer names"):
        ex.feature_maps(untrained, "fc1", x[0])


# --------------------------------------------------------------------------- LIME, t-SNE
def test_lime(trained):
    import time

    net, x, _, _, _ = trained
    ex.lime_explanation(net, x[1], num_samples=50)  # warm-up: compile the forward pass
    t = time.perf_counter()
    r = ex.lime_explanation(net, x[0], num_samples=1000)
    took = time.perf_counter() - t
    s = int(r["segments"].max()) + 1
    assert 30 <= s <= 60
    assert r["weights"].shape == (7, s) and r["masks"].shape == (7, 48, 48)
    assert r["probs"].shape == (7,) and abs(r["probs"].sum() - 1) < 1e-4
    assert took < 15, took  # ~1-3 s on an idle 2-core CPU


def test_tsne(trained):
    net, _, _, _, (xt, yt) = trained
    first = ex.tsne_embedding(net, ex.first_conv_layer(net), xt[:150], yt[:150])
    last = ex.tsne_embedding(net, ex.last_hidden_layer(net), xt[:150], yt[:150])
    assert first["embedding"].shape == (150, 2)
    print("silhouette first/last:", first["silhouette"], last["silhouette"])
    assert last["silhouette_features"] > first["silhouette_features"]


# --------------------------------------------------------------------------- plots and CLI
def test_plots(tmp_path, untrained):
    from fer_keras import plotting

    x, y, _ = make_faces(4, seed=6)
    maps = ex.saliency_maps(untrained, x, y, method="gradcam")
    paths = [plotting.saliency_panels(x, maps, tmp_path / "s.png", titles=list(y)),
             plotting.filter_grid(np.random.default_rng(0).random((8, 48, 48)), tmp_path / "f.png",
                                  "conv1, 10 steps"),
             plotting.feature_map_grid(ex.feature_maps(untrained, "conv1", x[0]),
                                       tmp_path / "m.png", "conv1"),
             plotting.tsne_scatter(np.random.default_rng(0).random((20, 2)), np.arange(20) % 7,
                                   tmp_path / "t.png", "t-SNE", score=0.1),
             plotting.road_curves({"vanilla": {"road_shares": [0.1, 0.5], "road_morf_curve": [0.5, 0.2],
                                               "road_lerf_curve": [0.9, 0.8], "road_morf": 0.35,
                                               "road_lerf": 0.85}}, tmp_path / "r.png"),
             plotting.cascading_randomization({"vanilla": {"layers": ["logits", "conv1"],
                                                           "spearman": [0.4, None]}},
                                              tmp_path / "c.png", threshold=0.3)]
    for p in paths:
        assert os.path.getsize(p) > 1000


@pytest.mark.slow
def test_cli_explain(tmp_path, trained):
    from fer_keras.cli import main

    net = trained[0]
    model = tmp_path / "tiny.keras"
    net.save(model)
    base = ["--model", str(model), "--data", "synthetic", "--n-synthetic", "300"]
    for what, extra in (("confusion", []), ("saliency", ["--n", "4", "--method", "gradcam"]),
                        ("ascent", ["--n", "8", "--steps", "5", "--no-progress"]),
                        ("features", []), ("checks", ["--n", "16", "--method", "vanilla"])):
        out = tmp_path / what
        assert main(["explain", what, *base, "--out", str(out), *extra]) == 0
        assert json.loads((out / f"{what}.json").read_text())
        assert list(out.glob("*.png"))
    checks = json.loads((tmp_path / "checks" / "checks.json").read_text())
    assert set(checks["verdicts"]["vanilla"]) >= {"sanity", "cascade", "road", "ground_truth"}
    assert (tmp_path / "checks" / "road.png").exists()
    assert main(["explain", "saliency", *base, "--out", str(tmp_path / "x"),
                 "--method", "nope"]) == 2
