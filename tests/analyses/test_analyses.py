"""fer_keras.analyses: each analysis on an untrained functional CNN (not from the registry) and
a small labeled set; real numbers checked against the library functions they call, and the
feature-map kinds that add up to the channels."""
from __future__ import annotations

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from keras import layers  # noqa: E402

from fer_keras import analyses  # noqa: E402
from fer_keras.analyses import confusion, filters, lime, saliency, tsne  # noqa: E402
from fer_keras.data import Dataset  # noqa: E402
from fer_keras.data.synthetic import make_faces  # noqa: E402
from fer_keras.errors import FerInputError  # noqa: E402
from fer_keras.train import evaluate

pytestmark = pytest.mark.core


@pytest.fixture(scope="module")
def net():
    keras.utils.set_random_seed(3)
    inp = keras.Input((48, 48, 1))
    x = layers.Conv2D(8, 3, padding="same", name="c1")(inp)
    x = layers.ReLU(name="r1")(x)
    x = layers.MaxPooling2D(4)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(16, activation="relu", name="hidden")(x)
    out = layers.Dense(7, activation="softmax", name="out")(x)
    return keras.Model(inp, out, name="functional_cnn")


@pytest.fixture(scope="module")
def data():
    x, y, m = make_faces(70, seed=4)
    return _dataset(x, y, m)


def _dataset(x, y, masks=None):
    return Dataset(x, y, np.arange(len(x)), np.full(len(x), ""), "synthetic", masks)


def test_feature_map_kinds_count_each_map_once():
    """Silent maps have a NaN correlation: they must not also be taken out of "other" (the old
    report subtracted them twice, so with 3 silent maps and 1 "other" map it said -2)."""
    rng = np.random.default_rng(0)
    face = rng.random((12, 12))
    maps = np.stack([face, 1 - face, np.zeros_like(face), np.zeros_like(face),
                     np.zeros_like(face), rng.random((12, 12))])
    kinds = filters.feature_map_kinds(maps, face)
    assert kinds == {"channels": 6, "shape": [12, 12], "dead": 3, "keep_face": 1,
                     "invert_face": 1, "other": 1}
    # a constant, non-silent map has no correlation either: it is "other", never negative
    kinds = filters.feature_map_kinds(np.full((2, 12, 12), 0.5), face)
    assert kinds["other"] == 2 and kinds["dead"] == 0


def test_confusion_matches_evaluate_and_writes_one_scheme(net, data, tmp_path):
    res = confusion.run(net, data, confusion.Settings(), tmp_path)
    m = evaluate.metrics(data.labels, evaluate.predict_proba(net, data.images))
    assert res.numbers["confusion"] == m["confusion"]
    cm = np.asarray(m["confusion"])
    col_err = cm.sum(0) - np.diag(cm)
    assert res.numbers["errors"] == int(cm.sum() - np.trace(cm)) == int(col_err.sum())
    assert list(res.numbers["errors_predicted_as"].values()) == col_err.tolist()
    assert sorted(p.name for p in res.files) == ["confusion.json", "confusion.png",
                                                 "confusion_no_diagonal.png"]
    assert json.loads((tmp_path / "confusion.json").read_text())["n"] == 70


def test_saliency_detail_draws_a_finer_panel_and_leaves_the_numbers_alone(net, data, tmp_path):
    """``detail`` adds the occlusion panel at 4-px squares every pixel; the per-class numbers
    are the defaults' either way, and a method without finer settings draws nothing more."""
    picks = {c: np.flatnonzero(data.labels == c)[:2] for c in (3, 4)}
    plain = saliency.run(net, data, saliency.Settings(methods=("occlusion", "vanilla")),
                         tmp_path / "plain", picks=picks)
    fine = saliency.run(net, data, saliency.Settings(methods=("occlusion", "vanilla"),
                                                     detail=True), tmp_path / "fine", picks=picks)
    occ = fine.numbers["methods"]["occlusion"]
    assert occ["detail"] == {"patch": 4, "stride": 1}
    assert occ["classes"] == plain.numbers["methods"]["occlusion"]["classes"]
    assert "detail" not in fine.numbers["methods"]["vanilla"]
    assert (tmp_path / "fine" / "saliency_occlusion_fine.png").stat().st_size > 1000
    assert not (tmp_path / "plain" / "saliency_occlusion_fine.png").exists()
    assert not (tmp_path / "fine" / "saliency_vanilla_fine.png").exists()
    # the finer squares resolve more: more distinct values per map than the 8-px defaults
    from fer_keras import explain

    x = data.images[picks[3][:1]]
    coarse = explain.saliency_maps(net, x, labels=[3], method="occlusion")
    finer = explain.saliency_maps(net, x, labels=[3], method="occlusion",
                                  options=saliency.DETAIL["occlusion"])
    assert len(np.unique(finer.round(4))) > 4 * len(np.unique(coarse.round(4)))


def test_saliency_per_class_is_independent_of_the_other_classes(net, data, tmp_path):
    picks = {c: np.flatnonzero(data.labels == c)[:3] for c in (3, 5)}
    s = saliency.Settings(methods=("vanilla",))
    both = saliency.run(net, data, s, tmp_path, picks=picks).numbers["methods"]["vanilla"]
    one = saliency.run(net, data, s, None, picks={3: picks[3]}).numbers["methods"]["vanilla"]
    assert both["classes"]["Happy"] == one["classes"]["Happy"]
    e = both["classes"]["Surprise"]
    from fer_keras.analyses.regions import ANSWERS

    assert e["images"] == 3 and e["focus"] in ANSWERS  # one of the five distinct answers
    assert 0 < e["part_mask_concentration"] < 10
    assert (tmp_path / "saliency_vanilla.png").stat().st_size > 1000
    # the parts' share is judged against model-free maps: the edge map alone favours the
    # drawn parts (about 2x on the synthetic faces), so "looks at the expression" needs more
    truth = both["ground_truth"]
    assert truth["controls"]["edge"] > 1.3 and truth["controls"]["centre"] > 0.5
    assert truth["passed"] == (truth["value"] >= 1.2 * max(truth["controls"].values()))


def test_filters_parts_and_counts(net, data, tmp_path):
    res = filters.run(net, data, filters.Settings(filters=4, steps=3), tmp_path, layer="r1",
                      row=2)
    fm = res.numbers["feature_maps"]
    assert res.name == "filters" and res.numbers["filters"] == 4
    assert fm["channels"] == 8 and fm["keep_face"] + fm["invert_face"] + fm["other"] \
        + fm["dead"] == 8
    assert sorted(p.name for p in res.files) == ["ascent_r1_image.png", "ascent_r1_noise.png",
                                                 "features_r1.png", "filters.json"]
    only = filters.run(net, data, filters.Settings(parts=("features",)), tmp_path, layer="r1",
                       row=2)
    assert only.name == "features" and only.numbers["feature_maps"] == fm
    assert (tmp_path / "features.json").is_file()
    c, t = fm["contours"], res.numbers["noise_tiles"]
    assert c["live"] == 8 - fm["dead"] and 0 <= c["contour"] <= c["live"]
    assert t["tiles"] == 4 and t["featureless"] == t["noise"] + t["oriented"] <= 4


def test_edge_map_is_sobels_gradient_magnitude():
    ndimage = pytest.importorskip("scipy.ndimage")
    g = np.random.default_rng(0).random((20, 30))
    ref = np.hypot(ndimage.sobel(g, 0, mode="nearest"), ndimage.sobel(g, 1, mode="nearest"))
    assert np.allclose(filters.edge_map(g), ref)
    assert np.allclose(filters.edge_map(np.full((9, 9), 0.4)), 0)  # flat: no contour


def _faces(folder, n):
    """``n`` real PublicTest faces, float ``(n, 48, 48)`` in [0, 1]."""
    from PIL import Image

    files = sorted((folder / "test").glob("*/*"))[::150][:n]
    return np.stack([np.asarray(Image.open(f).convert("L"), np.float32) / 255 for f in files])


def test_contour_maps_find_edges_and_not_the_face_or_noise(fer_folder):
    """On a real face: its edge map, a rescaled copy of it and its rectified derivatives along
    each axis trace the contours; the face itself, its negative, noise, and a silent map do
    not. The counts and the share follow."""
    face = _faces(fer_folder, 1)[0]
    e = filters.edge_map(face)
    g = np.pad(face.astype(np.float64), 1, mode="edge")
    dx = np.maximum(g[1:-1, 2:] - g[1:-1, :-2], 0)
    dy = np.maximum(g[2:, 1:-1] - g[:-2, 1:-1], 0)
    rng = np.random.default_rng(0)
    maps = np.stack([e, 3 * e + 1, dx, dy, face, 1 - face, rng.random(face.shape),
                     np.zeros_like(face)])
    c = filters.contour_maps(maps, face)
    traced = [r >= filters.CONTOUR_R and r > abs(i) for r, i in zip(c["edge_r"][:7],
                                                                   c["image_r"][:7])]
    assert traced[:4] == [True] * 4 and traced[4:7] == [False] * 3
    assert c["edge_r"][7] is None and c["image_r"][7] is None  # the silent map: no correlation
    assert c["live"] == 7 and c["contour"] == 4 and c["share"] == pytest.approx(4 / 7)
    # a map at a coarser resolution than the face (a pooled layer) is compared at its size
    small = filters.contour_maps(maps[:, ::2, ::2], face)
    assert small["contour"] == 4
    assert np.isnan(filters.contour_maps(np.zeros((2, 6, 6)), face)["share"])


def test_featureless_tiles_are_noise_or_stripes_and_faces_are_not(fer_folder):
    """White noise and gratings of any orientation are featureless; real FER2013 faces and
    Gaussian blobs are not; a grid of half each gets half."""
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[:48, :48]
    noise = rng.random((8, 48, 48))
    gratings = np.stack([0.5 + 0.5 * np.sin(2 * np.pi * (np.cos(a) * xx + np.sin(a) * yy) / p)
                         for a, p in zip(rng.uniform(0, np.pi, 8), rng.uniform(3, 10, 8))])
    blobs = np.stack([np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / 40.0)
                      for cx, cy in rng.uniform(12, 36, (8, 2))])
    faces = _faces(fer_folder, 8)
    assert filters.featureless_tiles(noise) == {"tiles": 8, "noise": 8, "oriented": 0,
                                                "featureless": 8, "share": 1.0}
    g = filters.featureless_tiles(gratings)
    assert g["oriented"] == 8 and g["share"] == 1.0
    assert filters.featureless_tiles(blobs)["share"] == 0.0
    assert filters.featureless_tiles(faces)["share"] <= 0.25
    assert filters.featureless_tiles(np.concatenate([gratings[:4], blobs[:4]]))["share"] == 0.5
    assert 0.25 <= filters.orientation_concentration(noise[0]) < 0.35


def test_lime(net, data, tmp_path):
    pytest.importorskip("lime")
    res = lime.run(net, data, lime.Settings(num_samples=60, segments=10), tmp_path, rows=[5])
    assert len(res.numbers["5"]["probs"]) == 7 and (tmp_path / "lime_5.png").is_file()
    assert np.asarray(res.numbers["5"]["weights"]).shape == (7, res.numbers["5"]["n_segments"])


def test_tsne(net, data, tmp_path):
    pytest.importorskip("sklearn")
    t = tsne.run(net, data, tsne.Settings(n=40, perplexity=5), tmp_path, layers=["hidden"])
    assert t.numbers["n"] == 40 and t.numbers["layers"]["hidden"]["dims"] == 16
    assert -1 <= t.numbers["layers"]["hidden"]["silhouette"] <= 1


def test_tsne_of_layers_inside_a_nested_model(net, data):
    """The default layers of a model whose convolution sits in a nested backbone (a Keras 2 file
    of that shape failed with "No such layer: c1": the outer model's get_layer sees only the
    backbone)."""
    pytest.importorskip("sklearn")
    backbone = keras.Model(net.input, net.get_layer("r1").output, name="backbone")
    inp = keras.Input((48, 48, 1))
    x = layers.GlobalAveragePooling2D(name="gap")(backbone(inp))
    outer = keras.Model(inp, layers.Dense(7, activation="softmax", name="probs")(x))
    t = tsne.run(outer, data, tsne.Settings(n=30, perplexity=5))
    assert t.numbers["layers"]["c1"]["dims"] == 48 * 48 * 8
    assert t.numbers["layers"]["gap"]["dims"] == 8


def test_unknown_analysis_and_unlabeled_data(net):
    with pytest.raises(FerInputError, match="unknown analysis"):
        analyses.get("nope")
    x, _, _ = make_faces(10, seed=1)
    with pytest.raises(FerInputError, match="needs labeled data"):
        confusion.run(net, _dataset(x, None))
