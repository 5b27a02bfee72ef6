"""Bonus (report 000): self-training with confidence-thresholded pseudo-labels against training
on the labeled images alone, on the synthetic faces, with a tiny model and equal step budgets."""
import json

import numpy as np
import pytest

from fer_keras.errors import FerInputError
from fer_keras.semi import (
    SemiConfig,
    class_caps,
    compare,
    select_pseudo_labels,
    split_labeled,
)


def test_split_labeled_is_stratified_and_disjoint():
    labels = np.repeat(np.arange(7), 20)
    lab, unl = split_labeled(labels, 0.25, seed=1)
    assert len(np.intersect1d(lab, unl)) == 0 and len(lab) + len(unl) == len(labels)
    assert np.all(np.bincount(labels[lab], minlength=7) == 5)
    with pytest.raises(FerInputError):
        split_labeled(labels, 1.0)


def test_pseudo_label_selection_threshold_and_caps():
    probs = np.array([[0.95, 0.05] + [0] * 5, [0.5, 0.5] + [0] * 5, [0.99, 0.01] + [0] * 5,
                      [0, 0.97] + [0] * 5])
    idx, lab, conf = select_pseudo_labels(probs, 0.9)
    assert idx.tolist() == [0, 2, 3] and lab.tolist() == [0, 0, 1]
    idx, lab, _ = select_pseudo_labels(probs, 0.9, class_cap=np.array([1, 5, 0, 0, 0, 0, 0]))
    assert idx.tolist() == [2, 3]  # the most confident class-0 image is kept
    assert class_caps(np.array([0, 0, 1, 1]), 10, slack=1.0)[:3].tolist() == [5, 5, 0]


def test_step_batches_cover_every_row_once_per_pass():
    """The training stream: a new permutation per pass, carried across Keras "epochs"."""
    from fer_keras.semi import step_batches

    images = np.arange(10, dtype=np.uint8).reshape(10, 1, 1).repeat(48, 1).repeat(48, 2)
    labels = np.arange(10) % 7
    ds = step_batches(images, labels, batch_size=4, seed=3, steps_per_epoch=5)
    seen = []
    for _ in range(2):  # two Keras epochs of 5 batches = 40 rows = 4 passes over 10 rows
        ds.on_epoch_begin()
        for i in range(len(ds)):
            x, y = ds[i]
            assert x.shape == (4, 48, 48, 1) and x.dtype == np.float32
            seen += list(np.round(x[:, 0, 0, 0] * 255).astype(int))
    counts = np.bincount(seen, minlength=10)
    assert counts.tolist() == [4] * 10


def test_mixed_batches_take_a_fixed_share_of_pseudo_labels():
    from fer_keras.semi import step_batches

    lab = np.zeros((6, 48, 48), np.uint8)
    pseudo = np.full((50, 48, 48), 255, np.uint8)
    ds = step_batches(lab, np.zeros(6, int), batch_size=8, seed=0, steps_per_epoch=3,
                      extra=(pseudo, np.ones(50, int)), extra_share=0.25)
    ds.on_epoch_begin()
    for i in range(len(ds)):
        x, y = ds[i]
        assert x.shape == (8, 48, 48, 1) and int(y.sum()) == 2 and x[:, 0, 0, 0].sum() == 2


def _three_class_splits(n=900, seed=3):
    """Synthetic faces of three classes (Happy, Surprise, Neutral) with their own split."""
    from fer_keras.data.synthetic import synthetic_dataset

    ds = synthetic_dataset(n, seed=seed, class_probs=[0, 0, 0, 1, 0, 1, 1])
    return {k: ds.subset(ds.usage == u)
            for k, u in (("train", "Training"), ("val", "PublicTest"), ("test", "PrivateTest"))}


@pytest.mark.slow  # about 50 s on 2 cores; the report tests run the comparison at a tiny budget
def test_compare_runs_both_with_the_same_budget(tmp_path):
    cfg = SemiConfig(out=str(tmp_path), fractions=(0.25,), warm_steps=40, round_steps=20,
                     rounds=1, eval_every=20, threshold=0.5, lr=3e-3, seed=0)
    res = compare(cfg, splits=_three_class_splits(), model="tiny_cnn", progress=None)
    r = res["results"][0]
    assert r["supervised"]["steps"] == r["self_training"]["steps"] == 60
    assert [x["round"] for x in r["self_training"]["rounds"]] == [0, 1]
    assert r["n_labeled"] + r["n_unlabeled"] == 720 and r["scored_on"] == "test"
    assert abs(r["gain"] - (r["self_training"]["test_accuracy"]
                            - r["supervised"]["test_accuracy"])) < 1e-12
    # one run up to the warm start, then two branches: identical validation curves until there
    assert r["supervised"]["curve"][:2] == r["self_training"]["curve"][:2]
    saved = json.loads((tmp_path / "semi.json").read_text())
    assert saved["results"][0]["gain"] == r["gain"]
    assert json.loads((tmp_path / "config.json").read_text())["model"] == "tiny_cnn"
    # reuse: the same settings return the stored comparison without training; others retrain
    from fer_keras.semi import comparison as semi_mod

    def no_training(*a, **k):
        raise AssertionError("trained again")

    orig = semi_mod.Trainer
    semi_mod.Trainer = no_training
    try:
        again = compare(cfg, splits=_three_class_splits(), model="tiny_cnn", progress=None,
                        reuse=True)
        assert again["reused"] and again["results"][0]["gain"] == r["gain"]
        with pytest.raises(AssertionError, match="trained again"):
            compare(cfg.replace(warm_steps=41), splits=_three_class_splits(), model="tiny_cnn",
                    progress=None, reuse=True)
    finally:
        semi_mod.Trainer = orig


def _ten_percent_run(tmp_path, rounds=2, round_steps=250):
    from fer_keras.data.synthetic import synthetic_dataset

    ds = synthetic_dataset(3000, seed=3)
    splits = {"train": ds.subset(ds.usage == "Training"), "val": ds.subset(ds.usage != "Training"),
              "test": synthetic_dataset(3000, seed=11)}
    cfg = SemiConfig(out=str(tmp_path), fractions=(0.1,), warm_steps=500, round_steps=round_steps,
                     rounds=rounds, eval_every=50, threshold=0.9, batch_size=32, seed=0)
    return compare(cfg, splits=splits, model="tiny_cnn", progress=None)["results"][0]


@pytest.mark.slow  # about a minute on 2 cores; self-training is also covered by the report tests
def test_confident_pseudo_labels_beat_their_teacher(tmp_path):
    """10% of the labels of 2,400 synthetic faces (7 classes), the report's quick budget (500
    shared warm-up steps, then 2 x 250), scored on 3,000 fresh faces: the 0.9-confident
    pseudo-labels are far more accurate than the teacher that made them (the premise of
    self-training), and self-training is at least as accurate as labeled-only training, within
    the noise of the comparison (a 3,000-face test set; one seed)."""
    r = _ten_percent_run(tmp_path)
    st = r["self_training"]
    assert r["supervised"]["steps"] == st["steps"] == 1000
    for rnd in st["rounds"][1:]:
        assert rnd["n_pseudo"] > 300
        assert rnd["pseudo_accuracy"] > rnd["teacher_val_accuracy"] + 0.05, rnd
    assert r["gain"] > -0.02, (r["supervised"]["test_accuracy"], st["test_accuracy"])


@pytest.mark.slow
@pytest.mark.xfail(strict=False, reason=(
    "not achieved: at equal step budgets self-training does not beat labeled-only training on "
    "the synthetic faces by a real margin. Measured at 10% labels on 3,000 fresh faces: +0.4 "
    "points (500 + 2 x 250 steps), -2.9 and +1.7 points (500 + 3 x 500 steps, two runs, with "
    "and without deterministic ops): the confident pseudo-labels are the easy faces the model gets "
    "right already, and the budget, not the data, limits the labeled-only model"))
def test_self_training_beats_labeled_only_by_a_real_margin(tmp_path):
    r = _ten_percent_run(tmp_path, rounds=3, round_steps=500)
    assert r["gain"] >= 0.02, (r["supervised"]["test_accuracy"],
                               r["self_training"]["test_accuracy"])


def _trained_weights(monkeypatch, steps_per_execution, seed=0):
    """Weights after a self-training stage with pseudo-labels and a FixMatch run of tiny_cnn,
    with evaluation intervals that do not divide into ``steps_per_execution`` (partial calls)."""
    from fer_keras.data import Dataset
    from fer_keras.semi import fixmatch, tiny_cnn
    from fer_keras.semi.trainer import Trainer
    from fer_keras.train.steps import clear_session

    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 255, (300, 48, 48), np.uint8), rng.integers(0, 7, 300)
    ds = lambda i, y: Dataset(i, y, np.arange(len(i)), np.full(len(i), ""))  # noqa: E731
    val = ds(images[:60], labels[:60])
    monkeypatch.setattr(Trainer, "steps_per_execution", steps_per_execution)
    cfg = SemiConfig(out="unused", warm_steps=13, round_steps=9, rounds=1, eval_every=6,
                     batch_size=16, seed=seed)
    tr = Trainer(tiny_cnn, cfg, val, seed)
    tr.fit(images[60:200], labels[60:200], 13)
    tr.fit(images[60:200], labels[60:200], 9, extra=(images[200:], labels[200:]),
           extra_share=0.25)
    weights = tr.net.get_weights()
    clear_session()
    fcfg = cfg.replace(method="fixmatch", adaptive_threshold=True, round_steps=11, mu=2)
    net, _ = fixmatch(tiny_cnn, ds(images[60:200], labels[60:200]), ds(images[200:], None),
                      val, fcfg, seed=seed)
    clear_session()
    return weights + net.get_weights()


def test_steps_per_execution_leaves_the_weights_unchanged(monkeypatch):
    """Several steps a compiled call (``Trainer.steps_per_execution``, 10 by default) train the
    same steps in the same order: bit-identical weights to one step a call, for self-training
    and FixMatch; another seed (the control) gives other weights."""
    from fer_keras.semi.trainer import Trainer

    default = Trainer.steps_per_execution
    assert default > 1
    many = _trained_weights(monkeypatch, default)
    one = _trained_weights(monkeypatch, 1)
    assert len(many) == len(one) > 10
    assert all(np.array_equal(a, b) for a, b in zip(many, one))
    other = _trained_weights(monkeypatch, 1, seed=1)
    assert not all(np.array_equal(a, b) for a, b in zip(one, other))
