"""Control maps, ROAD and the verdicts (issue 20, issue 17 item 8): cases with known answers."""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from fer_keras.errors import FerInputError  # noqa: E402
from fer_keras.explain import checks, controls, verdicts  # noqa: E402
from fer_keras.explain.road import noisy_linear_impute, road  # noqa: E402

pytestmark = pytest.mark.core


# --------------------------------------------------------------------------- controls
def test_edge_map_peaks_on_the_edge():
    img = np.zeros((1, 48, 48), np.uint8)
    img[:, :, 24:] = 200  # a vertical step between columns 23 and 24
    e = controls.edge_maps(img)[0]
    assert e.shape == (48, 48) and e.dtype == np.float32
    assert e[:, 23:25].min() == pytest.approx(1.0)  # the two columns at the step
    assert e[:, :22].max() == 0 and e[:, 26:].max() == 0  # flat elsewhere (reflected border)


def test_centre_prior_and_smooth_noise():
    c = controls.centre_prior(3, sigma=0.25)
    assert c.shape == (3, 48, 48)
    np.testing.assert_allclose(c[0], c[0][::-1, ::-1], atol=1e-6)  # symmetric about the centre
    assert c[0, 23, 23] > 0.99 and c[0, 0, 0] == pytest.approx(np.exp(-(23.5 / 12) ** 2), rel=1e-4)
    smooth = controls.smooth_random_maps(20, seed=1)
    rough = checks.random_maps(20, seed=1)
    assert smooth.min() == 0 and smooth.max() == 1
    step = lambda m: np.abs(np.diff(m, axis=2)).mean()  # noqa: E731
    # neighbouring pixels differ by ~0.33 in uniform noise, a few hundredths in smooth noise
    assert step(rough) > 0.3 and step(smooth) < 0.05
    assert set(controls.control_maps(np.zeros((2, 48, 48), np.uint8))) == set(controls.CONTROLS)
    with pytest.raises(FerInputError, match="unknown control"):
        controls.control_maps(np.zeros((2, 48, 48), np.uint8), names=["sobel"])


# --------------------------------------------------------------------------- imputation
def test_imputation_keeps_known_pixels_and_fills_smoothly():
    rng = np.random.default_rng(0)
    flat = np.full((2, 48, 48), 0.4)
    removed = rng.random(flat.shape) < 0.7
    # a constant image is its own neighbours' mean: recovered exactly without noise
    np.testing.assert_allclose(noisy_linear_impute(flat, removed, noise=0), flat, atol=1e-6)
    x = rng.random((3, 48, 48))
    removed = rng.random(x.shape) < 0.5
    out = noisy_linear_impute(x, removed, noise=0)
    np.testing.assert_array_equal(out[~removed], x[~removed].astype(np.float32))
    # a weighted mean never leaves the range of the known values (maximum principle) ...
    assert out.min() >= x[~removed].min() - 1e-6 and out.max() <= x[~removed].max() + 1e-6
    # ... and each filled pixel is the 1/6-1/12 weighted mean of its neighbours
    k = np.array([[1, 2, 1], [2, 0, 2], [1, 2, 1]]) / 12
    inner = removed[0, 1:-1, 1:-1].nonzero()
    i, j = inner[0][0] + 1, inner[1][0] + 1
    assert out[0, i, j] == pytest.approx((out[0, i - 1:i + 2, j - 1:j + 2] * k).sum(), abs=1e-5)
    noisy = noisy_linear_impute(x, removed, noise=0.05, seed=1)
    assert np.std(noisy[removed] - out[removed]) == pytest.approx(0.05, rel=0.05)
    with pytest.raises(FerInputError, match="every pixel"):
        noisy_linear_impute(x[:1], np.ones((1, 48, 48), bool))


# --------------------------------------------------------------------------- ROAD
def _one_region_model(region):
    """A fixed linear classifier that looks only at ``region`` (a 24x24 quadrant): the logit of
    class 0 is a checkerboard filter over the region, every other logit is 0."""
    w = np.zeros((48 * 48, 7), np.float32)
    board = np.zeros((48, 48), np.float32)
    ys, xs = region
    board[ys, xs] = np.indices((24, 24)).sum(axis=0) % 2 * 2 - 1
    w[:, 0] = board.reshape(-1) * (10.0 / (24 * 24 * 0.3))
    model = keras.Sequential([keras.Input((48, 48, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(7, name="logits"),
                              keras.layers.Activation("softmax", name="predictions")])
    model.get_layer("logits").set_weights([w, np.zeros(7, np.float32)])
    return model, board


def test_road_finds_the_region_the_model_reads():
    """The model reads the top-left quadrant only. Its map must win on both orders by a wide
    margin; the map of another quadrant must lose (do no better than a random order)."""
    a = (slice(0, 24), slice(0, 24))
    b = (slice(24, 48), slice(24, 48))
    model, board = _one_region_model(a)
    rng = np.random.default_rng(0)
    n = 24
    x = np.clip(0.5 + 0.3 * board[None] + 0.05 * rng.standard_normal((n, 48, 48)), 0, 1)
    x[:, 24:] = rng.random((n, 24, 48))  # texture elsewhere: the model must ignore it
    y = np.zeros(n, np.int32)
    map_a = np.zeros((n, 48, 48), np.float32)
    map_a[:, a[0], a[1]] = 1
    map_b = np.zeros((n, 48, 48), np.float32)
    map_b[:, b[0], b[1]] = 1
    r = {k: road(model, x[..., None], y, m, shares=(0.1, 0.2, 0.5, 0.8))
         for k, m in (("a", map_a), ("b", map_b), ("random", checks.random_maps(n)))}
    # measured (MoRF, LeRF): a (0.407, 0.999), b (0.870, 0.695), random (0.817, 0.816)
    print({k: (round(v["morf"], 3), round(v["lerf"], 3)) for k, v in r.items()})
    assert r["a"]["base_probability"] > 0.9
    assert r["a"]["morf"] < 0.5 and r["a"]["lerf"] > 0.8  # region removed first: gone by 20%
    assert r["a"]["gap"] > r["random"]["gap"] + 0.4
    assert r["b"]["gap"] < r["random"]["gap"] + 0.05  # the other region's map loses
    assert r["b"]["morf"] > r["a"]["morf"] + 0.3 and r["b"]["lerf"] < r["a"]["lerf"] - 0.2
    assert r["a"]["morf_curve"].shape == (4,) and r["a"]["morf_curve"][-1] < 0.2  # ~1/7
    with pytest.raises(FerInputError, match="strictly between"):
        road(model, x[..., None], y, map_a, shares=(0.5, 1.0))


# --------------------------------------------------------------------------- verdicts
def test_blank_maps_in_the_randomisation_checks():
    """A blank (constant) map has no ranks. The trained model's blank maps are no answer (the
    check fails: a method that says nothing cannot pass by saying nothing); a randomised
    model's blank map where the trained one was informative is a change (Spearman 0). Controls
    that must fail do: the same map for both models (model-free) and maps that survive
    randomisation wherever the randomised map is not blank."""
    rng = np.random.default_rng(0)
    trained = rng.random((10, 48, 48))
    rho = checks.spearman_rows(trained, np.where(np.arange(10)[:, None, None] == 1, 0, trained))
    assert np.isnan(rho[1]) and np.allclose(np.delete(rho, 1), 1)

    def verdict(t, r):
        s, constant, blank = checks.randomization_summary(t, r)
        return s, constant, blank, verdicts._sanity(s, constant, 0.3, "full randomisation", blank)

    # informative trained maps, unrelated or blank randomised ones: changed, passes
    other = rng.random((10, 48, 48))
    other[:4] = 0  # 40% of the randomised model's maps are blank (Grad-CAM: 33% on fer_net)
    s, constant, blank, v = verdict(trained, other)
    assert constant == 0.4 and blank == 0 and abs(s) < 0.05 and v["passed"], v
    assert "40% of the randomised model's maps are blank, counted as changed" in v["reason"]
    # controls that must fail: a model-free method (the same map whatever the weights) ...
    assert not verdict(trained, trained)[3]["passed"]
    # ... and one whose maps survive wherever the randomised ones are not blank (0.6 x 1)
    survive = trained.copy()
    survive[:4] = 0
    s, _, _, v = verdict(trained, survive)
    assert s == pytest.approx(0.6) and not v["passed"]
    # a method whose trained maps are blank gives no answer, whatever the randomised ones
    silent = trained.copy()
    silent[:2] = 0.5  # 20% > SANITY_MAX_CONSTANT
    s, _, blank, v = verdict(silent, other)
    assert np.isnan(s) and blank == 0.2 and not v["passed"]
    assert "trained model's maps are blank for 20%" in v["reason"]
    silent[1] = trained[1]  # 10%: those pairs are left out, the rest decide
    s, _, blank, v = verdict(silent, other)
    assert blank == pytest.approx(0.1) and np.isfinite(s) and v["passed"]


def _result(**method):
    control = {"deletion_auc": 0.3, "insertion_auc": 0.5, "road_gap": 0.2,
               "mask_concentration": 2.0}
    e = {"sanity_spearman": 0.1, "sanity_constant_share": 0.0, "deletion_auc": 0.2,
         "insertion_auc": 0.6, "road_gap": 0.3, "road_morf": 0.2, "road_lerf": 0.5,
         "mask_concentration": 2.5,
         "cascade": {"layers": ["logits", "fc", "conv2", "conv1"],
                     "spearman": [0.5, 0.2, 0.1, 0.1], "constant_share": [0, 0, 0, 0]}}
    e.update(method)
    return {"controls": {"edge": control, "centre": {**control, "mask_concentration": 1.5}},
            "methods": {"m": e}}


def test_verdicts_against_the_controls():
    ok = verdicts.method_verdicts(_result())["m"]
    assert ok["passed"], ok
    assert "edge" in ok["ground_truth"]["reason"] and ok["ground_truth"]["reference"] == 2.0
    bad = verdicts.method_verdicts(_result(mask_concentration=2.3, deletion_auc=0.295,
                                           sanity_spearman=0.6))["m"]
    assert not bad["passed"]
    assert [c for c in ("sanity", "deletion", "ground_truth") if not bad[c]["passed"]] == \
        ["sanity", "deletion", "ground_truth"]  # 2.3 < 1.2 x 2.0; 0.295 > 0.3 - 0.01
    assert bad["insertion"]["passed"] and bad["road"]["passed"]
    late = verdicts.method_verdicts(_result(cascade={
        "layers": ["logits", "fc", "conv2", "conv1"], "spearman": [0.9, 0.8, 0.2, 0.1],
        "constant_share": [0, 0, 0, 0]}))["m"]
    assert not late["cascade"]["passed"] and "at conv2 (step 3 of 4)" in late["cascade"]["reason"]
    table = verdicts.checks_table({**_result(), "verdicts": {"m": bad}})
    assert "FAILED" in table and "recommended: none" in table and "edge (control)" in table


def test_run_checks_rows_and_stored_verdicts():
    """Each method checked (here the registry's first without and first with a layer, for
    time), an extra row per layer for the one that reads layers, and every control get their
    numbers; the verdicts are recomputed the same from the stored JSON (what a report reads)."""
    import json

    from fer_keras.data.synthetic import make_faces
    from fer_keras.explain import methods

    keras.utils.set_random_seed(2)
    net = keras.Sequential([keras.Input((48, 48, 1)), keras.layers.Conv2D(4, 3, name="conv1"),
                            keras.layers.Activation("relu", name="relu1"),
                            keras.layers.Conv2D(4, 3, name="conv2"),
                            keras.layers.Activation("relu", name="relu2"),
                            keras.layers.GlobalAveragePooling2D(name="gap"),
                            keras.layers.Dense(7, name="logits"),
                            keras.layers.Activation("softmax", name="predictions")])
    x, y, masks = make_faces(6, seed=3)
    plain = next(m for m in methods.names() if not methods.get(m).layer)
    layered = next(m for m in methods.names() if methods.get(m).layer)
    r = verdicts.run_checks(net, x, y, methods=[plain, layered], masks=masks, samples=2,
                            shares=(0.5,), cascade_n=3, cam_layers=["relu1"])
    assert list(r["methods"]) == [plain, layered, f"{layered} @ relu1"]
    assert list(r["controls"]) == list(controls.CONTROLS)
    assert r["methods"][plain]["cascade"]["layers"] == ["logits", "conv2", "conv1"]
    assert r["methods"][plain]["seconds"] > 0
    stored = json.loads(json.dumps(r, default=float))
    assert verdicts.method_verdicts(stored) == r["verdicts"]
    assert set(r["verdicts"][layered]) == {"sanity", "cascade", "deletion", "insertion", "road",
                                           "ground_truth", "passed"}
    table = verdicts.checks_table(stored, markdown=True)
    assert table.count("\n| ") == 7  # after the header and the rule: 3 methods, 4 controls
    with pytest.raises(FerInputError, match="unknown saliency method"):
        verdicts.run_checks(net, x, y, methods=["nope"])


@pytest.fixture
def model_free_method():
    """A registered "method" that returns the image's edge map whatever the model (Adebayo et
    al.'s edge detector in disguise), removed from the registry after the test."""
    from fer_keras.explain import methods

    def compute(request, x, y):
        """The Sobel edge map of ``x``: knows nothing of the model."""
        return controls.edge_maps(x)

    methods.register(methods.Method(name="test-edges", title="edges", year=2018,
                                    compute=compute, caption="Sobel edges (test control, 2018)"))
    yield "test-edges"
    methods._REGISTRY.pop("test-edges")


def test_a_model_free_method_fails_both_randomisation_checks(model_free_method):
    from fer_keras.data.synthetic import make_faces

    keras.utils.set_random_seed(4)
    net = keras.Sequential([keras.Input((48, 48, 1)), keras.layers.Conv2D(4, 3, name="conv1"),
                            keras.layers.Activation("relu", name="relu1"),
                            keras.layers.GlobalAveragePooling2D(name="gap"),
                            keras.layers.Dense(7, name="logits"),
                            keras.layers.Activation("softmax", name="predictions")])
    x, y, _ = make_faces(4, seed=5)
    full = checks.model_randomization(net, x, y, model_free_method)
    cascade = checks.cascading_randomization(net, x, y, model_free_method)
    assert full["spearman"] == pytest.approx(1.0) and full["blank_share"] == 0
    v = verdicts._sanity(full["spearman"], full["constant_share"], 0.3, "full", 0.0)
    assert not v["passed"] and "barely change" in v["reason"]
    assert np.allclose(cascade["spearman"], 1.0)
