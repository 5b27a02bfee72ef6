"""FixMatch (Sohn et al. 2020) beside self-training, on tiny synthetic data; and the scoring split
that no choice has seen."""
import numpy as np
import pytest

from fer_keras import semi
from fer_keras.errors import FerInputError


def _probs(rows):
    p = np.asarray(rows, np.float32)
    return p / p.sum(axis=1, keepdims=True)


@pytest.mark.core
def test_fixmatch_loss_masks_below_the_threshold_and_matches_the_formula():
    lab = _probs([[8, 1, 1, 0, 0, 0, 0], [1, 1, 8, 0, 0, 0, 0]])
    weak = _probs([[97, 1, 1, 1, 0, 0, 0],    # 0.97 on class 0: kept
                   [50, 50, 0, 0, 0, 0, 0],   # 0.5: masked
                   [0, 0, 0, 0, 0, 96, 4]])   # 0.96 on class 5: kept
    strong = _probs([[5, 5, 0, 0, 0, 0, 0], [1, 9, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 2, 8]])
    labels = np.array([0, 2])
    loss, rate = semi.fixmatch_loss(labels, np.concatenate([lab, weak, strong]), 2, 0.95, 2.0)
    sup = -np.log([0.8, 0.8]).mean()
    unsup = (-np.log(0.5) + 0 - np.log(0.2)) / 3  # mean over all three, masked one counts 0
    assert float(rate) == pytest.approx(2 / 3)
    assert float(loss) == pytest.approx(sup + 2.0 * unsup, rel=1e-5)
    # a threshold above every confidence masks everything: only the labeled loss is left
    loss, rate = semi.fixmatch_loss(labels, np.concatenate([lab, weak, strong]), 2, 0.99)
    assert float(rate) == 0.0 and float(loss) == pytest.approx(sup, rel=1e-5)


def test_fixmatch_cost_counts_forward_and_backward_passes():
    assert semi.fixmatch_cost(1) == pytest.approx(7 / 3)
    assert semi.fixmatch_cost(2) == pytest.approx(11 / 3)


@pytest.mark.core
def test_fixmatch_model_shapes_and_views():
    import keras

    from fer_keras.augment import RandomAffine

    net = semi.tiny_cnn()
    model = semi._fixmatch_model_class()(net, RandomAffine(seed=0), seed=0)
    x_lab = np.random.default_rng(0).random((4, 48, 48, 1)).astype("float32")
    x_unl = np.random.default_rng(1).random((6, 48, 48, 1)).astype("float32")
    out = keras.ops.convert_to_numpy(model((x_lab, x_unl), training=True))
    assert out.shape == (4 + 2 * 6, 7)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-5)
    # the strong view differs from the weak one (erasing on every image, jitter)
    assert np.abs(out[4:10] - out[10:]).max() > 1e-4
    # inference on plain images is the classifier alone
    plain = keras.ops.convert_to_numpy(model(x_lab))
    np.testing.assert_allclose(plain, keras.ops.convert_to_numpy(net(x_lab)), atol=1e-6)


def _splits(n=700, seed=3):
    from fer_keras.data.synthetic import synthetic_dataset

    ds = synthetic_dataset(n, seed=seed, class_probs=[0, 0, 0, 1, 0, 1, 1])
    return {"train": ds.subset(ds.usage == "Training"), "val": ds.subset(ds.usage != "Training")}


def test_fixmatch_trains_its_loss_down_at_equal_compute(tmp_path):
    cfg = semi.SemiConfig(method="fixmatch", fractions=(0.25,), warm_steps=60, round_steps=30,
                          rounds=1, eval_every=30, batch_size=16, mu=2, lr=3e-3,
                          fixmatch_threshold=0.8, out=str(tmp_path))
    r = semi.compare(cfg, splits=_splits(), model="tiny_cnn", progress=None)["results"][0]
    fm, sup = r["fixmatch"], r["supervised"]
    assert fm["steps"] == 90 and sup["steps"] == round(90 * 11 / 3)
    assert fm["loss"][-1] < 0.8 * fm["loss"][0], fm["loss"]
    assert all(0.0 <= m <= 1.0 for m in fm["mask_rate"]) and max(fm["mask_rate"]) > 0
    # scored on the validation split, which chose nothing (weights chosen on a part of train)
    assert r["scored_on"] == "val"
    assert r["n_labeled"] + r["n_unlabeled"] < len(_splits()["train"])
    assert 0.0 <= fm["test_accuracy"] <= 1.0
    assert r["gain"] == pytest.approx(fm["test_accuracy"] - sup["test_accuracy"])


def test_selection_split_is_carved_from_train_when_there_is_no_test_split():
    splits = _splits()
    tr, sel, score, where = semi.selection_and_score_splits(splits, 0.2, seed=1)
    assert where == "val" and score is splits["val"]
    assert len(tr) + len(sel) == len(splits["train"])
    assert abs(len(sel) - 0.2 * len(splits["train"])) <= 7  # stratified: rounding per class
    # no selection image is a training image
    rows = lambda d: {bytes(im) for im in d.images}  # noqa: E731
    assert not rows(tr) & rows(sel)
    with_test = {**splits, "test": splits["val"].subset(np.arange(10))}
    assert semi.selection_and_score_splits(with_test)[3] == "test"


def test_bad_fixmatch_settings_are_one_line_errors():
    with pytest.raises(FerInputError, match="--method"):
        semi.SemiConfig(method="mixmatch")
    with pytest.raises(FerInputError, match="--mu"):
        semi.SemiConfig(mu=0)
    with pytest.raises(FerInputError, match="--fixmatch-threshold"):
        semi.SemiConfig(fixmatch_threshold=1.0)
