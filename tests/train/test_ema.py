"""Training with an exponential moving average of the weights (``TrainConfig.ema_momentum``):
validation, best.keras and model.keras hold the average, last.keras the raw weights with the
average in its optimizer, and a resumed run ends exactly where an uninterrupted one ends."""
import json

import keras
import numpy as np
import pytest
from conftest import requires_tf

from fer_keras.config import TrainConfig

EMA_CFG = dict(model="small_cnn", n_synthetic=300, epochs=3, batch_size=64, seed=3, verbose=0,
               ema_momentum=0.9)


def _splits(cfg):
    from fer_keras import data

    return data.load_splits(cfg.data, val_fraction=cfg.val_fraction, seed=cfg.seed,
                            n_synthetic=cfg.n_synthetic)


def _scores(net, val):
    """(loss, accuracy) of ``net`` on the validation split, as Keras's validation computes them."""
    from fer_keras.data.pipeline import ArrayBatches

    probs = net.predict(ArrayBatches(val.images), verbose=0)
    acc = float(np.mean(np.argmax(probs, -1) == val.labels))
    loss = float(keras.ops.convert_to_numpy(keras.ops.mean(
        keras.losses.sparse_categorical_crossentropy(val.labels, probs))))
    return loss, acc


def _trainer(path):
    from fer_keras.train import load_training_model

    return load_training_model(path)


def _averages(trainer):
    opt = trainer.optimizer
    return [keras.ops.convert_to_numpy(v) for v in opt._model_variables_moving_average]


def _classifier_weights(path):
    from fer_keras import models

    return models.load(path, input_shape=None, num_classes=None).get_weights()


@pytest.fixture(scope="module")
def ema_run(tmp_path_factory):
    from fer_keras.train import train

    cfg = TrainConfig(out=str(tmp_path_factory.mktemp("ema") / "run"), **EMA_CFG)
    splits = _splits(cfg)
    _, history = train(cfg, splits=splits)
    return cfg, splits, history


@requires_tf
def test_validation_and_best_keras_are_the_average_last_keras_the_raw_weights(ema_run):
    from pathlib import Path

    from fer_keras.train import classifier_of

    cfg, splits, history = ema_run
    out, val = Path(cfg.out), splits["val"]
    # the control: the raw weights score otherwise, so the checks below can tell them apart
    assert any(r["raw_val_loss"] != pytest.approx(r["val_loss"], abs=1e-4) for r in history)
    best = max(history, key=lambda r: r["val_accuracy"])
    last = history[-1]
    from fer_keras import models

    loss, acc = _scores(models.load(out / "best.keras"), val)
    assert acc == pytest.approx(best["val_accuracy"], abs=1e-6)
    loss, acc = _scores(models.load(out / "model.keras"), val)  # the average after the last epoch
    assert loss == pytest.approx(last["val_loss"], abs=1e-4)
    assert loss != pytest.approx(last["raw_val_loss"], abs=1e-4)
    trainer = _trainer(out / "last.keras")
    loss, acc = _scores(classifier_of(trainer), val)  # the raw weights train on
    assert loss == pytest.approx(last["raw_val_loss"], abs=1e-4)
    assert acc == pytest.approx(last["raw_val_accuracy"], abs=1e-6)
    # the average in last.keras's optimizer is what model.keras holds, to the bit
    avg = _averages(trainer)
    net = models.load(out / "model.keras")
    for w, a in zip(net.trainable_weights, avg):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(w), a)
    assert trainer.optimizer.use_ema and trainer.optimizer.ema_momentum == 0.9


def _metrics(history):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in history]


class _Killed(BaseException):
    """Stands for SIGKILL between two epochs."""


def _kill_after_epoch_2(monkeypatch):
    import fer_keras.train as tr

    real = tr.RunRecorder.commit

    def commit(self, model, epoch):  # after the epoch's checkpoint
        real(self, model, epoch)
        if epoch == 1:
            raise _Killed()

    monkeypatch.setattr(tr.RunRecorder, "commit", commit)


@requires_tf
@pytest.mark.parametrize("lose_average", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_resume_with_ema_ends_like_the_uninterrupted_run(ema_run, tmp_path, monkeypatch,
                                                         lose_average):
    """Killed after epoch 2 and resumed: history, best.keras, last.keras (weights and the
    average) and model.keras equal the uninterrupted run's to the bit. The control
    (``lose_average``): a resume whose optimizer restarts the average from the raw weights
    must not pass."""
    import fer_keras.train as tr

    cfg, splits, ref_history = ema_run
    out = tmp_path / "run"
    _kill_after_epoch_2(monkeypatch)
    with pytest.raises(_Killed):
        tr.train(cfg.replace(out=str(out)), splits=splits)
    monkeypatch.undo()
    if lose_average:
        real_load = tr.load_training_model

        def load_without_average(path):
            model = real_load(path)
            opt = model.optimizer
            for var, avg in zip(opt._trainable_variables, opt._model_variables_moving_average):
                avg.assign(var)
            return model

        import fer_keras.train.fit as fit  # where train() looks the loader up

        monkeypatch.setattr(fit, "load_training_model", load_without_average)
    _, history = tr.train(TrainConfig(out=str(out), verbose=0), resume=True, splits=splits)
    ref = cfg.out
    same = (_metrics(history) == _metrics(ref_history)
            and all(np.array_equal(a, b) for f in ("best.keras", "model.keras")
                    for a, b in zip(_classifier_weights(f"{ref}/{f}"),
                                    _classifier_weights(out / f)))
            and all(np.array_equal(a, b) for a, b in zip(_averages(_trainer(f"{ref}/last.keras")),
                                                         _averages(_trainer(out / "last.keras")))))
    assert same != lose_average
    if not lose_average:
        assert [r["epoch"] for r in history] == [1, 2, 3]
        for a, b in zip(_trainer(f"{ref}/last.keras").get_weights(),
                        _trainer(out / "last.keras").get_weights()):
            np.testing.assert_array_equal(a, b)


@requires_tf
@pytest.mark.slow
def test_resume_of_a_finished_ema_run_keeps_the_average_in_model_keras(ema_run, tmp_path):
    import shutil

    from fer_keras.train import train

    cfg, splits, _ = ema_run
    out = tmp_path / "run"
    shutil.copytree(cfg.out, out)
    before = _classifier_weights(out / "model.keras")
    train(TrainConfig(out=str(out), verbose=0), resume=True, splits=splits)
    for a, b in zip(before, _classifier_weights(out / "model.keras")):
        np.testing.assert_array_equal(a, b)


@pytest.mark.core
def test_ema_is_off_by_default_and_old_configs_load_without_it(tmp_path):
    from fer_keras.train import make_optimizer

    raw = TrainConfig().to_dict()
    del raw["ema_momentum"]  # a config.json written before the field existed
    (tmp_path / "config.json").write_text(json.dumps(raw))
    cfg = TrainConfig.load(tmp_path / "config.json")
    assert cfg.ema_momentum == 0.0 and cfg == TrainConfig()
    assert not make_optimizer(cfg, 10).use_ema
    opt = make_optimizer(cfg.replace(optimizer="sgd", ema_momentum=0.999), 10)
    assert opt.use_ema and opt.ema_momentum == 0.999


@pytest.mark.core
@pytest.mark.parametrize("value,ok", [("0.999", True), ("0", True), ("1", False), ("-0.1", False),
                                      ("nan", False)])
def test_ema_momentum_flag(value, ok):
    from fer_keras.cli import build_parser
    from fer_keras.cli.train import train_config
    from fer_keras.config import check_flags
    from fer_keras.errors import FerInputError

    args = build_parser().parse_args(["train", "--ema-momentum", value])
    if ok:
        check_flags("train", {"ema_momentum": args.ema_momentum})
        assert train_config(args).ema_momentum == float(value)
    else:
        with pytest.raises(FerInputError, match="--ema-momentum"):
            check_flags("train", {"ema_momentum": args.ema_momentum})
            train_config(args)


@pytest.mark.parametrize("averaged", [True, False])
def test_curves_show_the_raw_weights_beside_the_average(averaged, monkeypatch, tmp_path):
    from fer_keras import plotting

    seen = {}
    monkeypatch.setattr(plotting, "_save", lambda fig, path: seen.setdefault("fig", fig))
    history = [{"epoch": e, "accuracy": 0.3 + e / 10, "loss": 1.5 - e / 10,
                "val_accuracy": 0.35 + e / 10, "val_loss": 1.4 - e / 10} for e in (1, 2, 3)]
    if averaged:
        for r in history:
            r.update(raw_val_accuracy=r["val_accuracy"] - 0.05, raw_val_loss=r["val_loss"] + 0.1)
    plotting.training_curves(history, tmp_path / "curves.png")
    acc, loss = seen["fig"].axes
    labels = acc.get_legend_handles_labels()[1]
    if averaged:
        assert labels == ["train accuracy", "validation, averaged weights accuracy",
                          "validation, raw weights accuracy"]
        raw = acc.get_lines()[2].get_ydata()
        np.testing.assert_allclose(raw, [0.4, 0.5, 0.6])
    else:
        assert labels == ["train accuracy", "validation accuracy"]
    assert len(loss.get_lines()) == len(labels)
