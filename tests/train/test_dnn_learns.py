"""The DNNs learn: trained with the reports' preset, a DNN's loss on its (clean) training images,
averaged per class as the class-balanced oversampling weighs them, must leave ln 7 (the loss of
the uniform prediction, the best constant one under that weighting) and it must predict more
than one class. Before batch norm in ``matched_dnn`` its ReLUs died within the first
Adam steps and the loss sat at ln 7 = 1.946 for all 10 epochs on FER2013."""
import math

import numpy as np
import pytest

from fer_keras import models
from fer_keras.config import TrainConfig, preset
from fer_keras.models import zoo
from fer_keras.train.evaluate import balanced_nll

LN7 = math.log(7)


def _train(builder, splits, tmp_path, epochs):
    """Train with the report preset; return (class-balanced training loss of the clean training
    images, per-epoch training losses, predicted classes of the validation images)."""
    from fer_keras import train as train_mod

    zoo._REGISTRY["_dnn_under_test"] = builder
    try:
        # float32: the thresholds below were measured so; "auto" may pick bf16 on some CPUs
        cfg = TrainConfig(**{**preset("report"), "precision": "float32",
                             "model": "_dnn_under_test", "epochs": epochs,
                             "out": str(tmp_path / "run"), "verbose": 0, "early_stopping": 0})
        net, history = train_mod.train(cfg, splits=splits)
    finally:
        del zoo._REGISTRY["_dnn_under_test"]
    tr = splits["train"]
    balanced = balanced_nll(net.predict(tr.x(), verbose=0), tr.labels)
    pred = net.predict(splits["val"].x(), verbose=0).argmax(1)
    return balanced, [h["loss"] for h in history], pred


DNNS = {
    "dnn_001": models.dnn_001,
    "dnn_000": models.dnn_000,
    "matched_small_cnn": lambda **kw: models.matched_dnn(models.small_cnn(), **kw),
}


def _assert_learns(balanced, losses, pred, margin):
    assert balanced < LN7 - margin, (f"training loss {balanced:.3f} stays near ln 7 = "
                                     f"{LN7:.3f} (per epoch, augmented: {losses})")
    assert len(np.unique(pred)) >= 3, f"predicts only classes {np.unique(pred)}"


@pytest.mark.parametrize("name", sorted(DNNS))
def test_dnn_training_loss_leaves_ln7_on_real_faces(name, fer_sample_csv, tmp_path):
    """1,050 real FER2013 faces (the Kaggle-CSV sample), the report preset, 4 epochs."""
    from fer_keras import data

    splits = data.load_splits(fer_sample_csv, val_fraction=0.1, seed=0)
    balanced, losses, pred = _train(DNNS[name], splits, tmp_path, epochs=4)
    _assert_learns(balanced, losses, pred, margin=0.1)


@pytest.mark.slow
def test_deep51_training_loss_leaves_ln7_on_real_faces(fer_sample_csv, tmp_path):
    from fer_keras import data

    splits = data.load_splits(fer_sample_csv, val_fraction=0.1, seed=0)
    balanced, losses, pred = _train(models.dnn_deep51, splits, tmp_path, epochs=4)
    _assert_learns(balanced, losses, pred, margin=0.1)


@pytest.mark.core
@pytest.mark.parametrize("name", ["dnn_001", "matched_small_cnn"])
def test_dnn_learns_the_synthetic_faces(name, tmp_path):
    """Fast variant without ../shared: 1,500 synthetic faces, 4 epochs."""
    from fer_keras import data

    splits = data.load_splits("synthetic", n_synthetic=1500, val_fraction=0.2, seed=0)
    balanced, losses, pred = _train(DNNS[name], splits, tmp_path, epochs=4)
    _assert_learns(balanced, losses, pred, margin=0.1)


CNNS = ("deep_cnn", "fer_net", "fer_net_large", "hw3_cnn", "simple_cnn3", "vgg_leaky")


@pytest.mark.slow
@pytest.mark.parametrize("cnn", CNNS)
def test_matched_dnn_of_every_cnn_leaves_ln7_on_real_faces(cnn, fer_sample_csv, tmp_path):
    """``matched_dnn`` of each registry CNN (small_cnn's is in the default suite): 1,050 real
    faces, the report preset, 10 epochs; from 0.8 M (simple_cnn3) to 44 M (vgg_leaky)
    parameters, so the first hidden layer ranges from 338 to 11,704 units. Not 4 epochs: after
    those 52 steps the batch norms' moving statistics (momentum 0.99) still hold 59% of their
    initial values, and the wide DNNs of deep_cnn, hw3_cnn and vgg_leaky, whose training-mode
    loss had fallen to 1.2-1.6, scored 1.8-3.3 in inference mode (measured)."""
    from fer_keras import data

    splits = data.load_splits(fer_sample_csv, val_fraction=0.1, seed=0)

    def builder(**kw):
        return models.matched_dnn(models.build(cnn), **kw)

    balanced, losses, pred = _train(builder, splits, tmp_path, epochs=10)
    _assert_learns(balanced, losses, pred, margin=0.1)
