"""Evaluation: FLOP counts, test-time augmentation views and the run summary table."""
import json

import keras
import numpy as np
import pytest

from fer_keras import data, models
from fer_keras.config import TrainConfig
from fer_keras.errors import FerInputError
from fer_keras.train import evaluate, train

pytestmark = pytest.mark.core


def test_flops_count_conv_and_dense():
    m = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, padding="same"),
                          keras.layers.MaxPooling2D(2), keras.layers.Conv2D(6, 3),
                          keras.layers.Flatten(), keras.layers.Dense(5)])
    expected = 2 * 8 * 8 * 9 * 1 * 4 + 2 * 2 * 2 * 9 * 4 * 6 + 2 * 24 * 5
    assert models.flops(m) == expected
    # fer_net: 3x3 convs 1-32-32 at 48x48, 32-64-64 at 24, 64-128-128 at 12, 128-256-256 at 6
    conv = sum(2 * s * s * 9 * a * b for s, a, b in (
        (48, 1, 32), (48, 32, 32), (24, 32, 64), (24, 64, 64), (12, 64, 128), (12, 128, 128),
        (6, 128, 256), (6, 256, 256)))
    assert models.flops(models.build("fer_net")) == conv + 2 * 256 * 7 == 234_900_992


def test_tta_views_are_flips_and_shifts():
    x = np.random.default_rng(0).random((2, 48, 48, 1)).astype("float32")
    views = evaluate._tta_views(x, "crops")
    assert len(views) == 10
    np.testing.assert_array_equal(views[1], x[:, :, ::-1])
    # the (0, 0) corner of the edge-padded image: the image moved 2 pixels down and right
    np.testing.assert_array_equal(views[2][:, 2:, 2:], x[:, :-2, :-2])
    np.testing.assert_array_equal(views[3], views[2][:, :, ::-1])
    # the (4, 4) corner: moved 2 pixels up and left
    np.testing.assert_array_equal(views[8][:, :-2, :-2], x[:, 2:, 2:])
    assert all(v.shape == x.shape for v in views)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    cfg = TrainConfig(model="small_cnn", n_synthetic=300, batch_size=64, epochs=2, verbose=0,
                      out=str(out))
    train(cfg)
    return out


def test_summarize_run_scores_best_checkpoint(tiny_run):
    splits = data.load_splits("synthetic", n_synthetic=300)
    row = evaluate.summarize_run(tiny_run, splits, tta_modes=("flip",))
    history = json.loads((tiny_run / "history.json").read_text())
    best = max(history, key=lambda r: r["val_accuracy"])
    assert row["model"] == "small_cnn" and row["epochs"] == 2 and row["best_epoch"] == best["epoch"]
    assert row["params"] == models.build("small_cnn").count_params()
    assert row["gflop_per_image"] == pytest.approx(models.flops(models.build("small_cnn")) / 1e9)
    # the plain accuracy of best.keras is the validation accuracy Keras logged for that epoch
    assert row["accuracy"]["none"] == pytest.approx(best["val_accuracy"], abs=1e-6)
    assert 0.0 <= row["accuracy"]["flip"] <= 1.0 and row["n"] == len(splits["val"])
    assert json.loads((tiny_run / "summary.json").read_text())["accuracy"] == row["accuracy"]
    table = evaluate.summary_markdown([row])
    assert "`small_cnn`" in table and f"{100 * row['accuracy']['none']:.2f}%" in table
    assert "+flip TTA" in table.splitlines()[0]


def test_summarize_run_rejects_a_folder_that_is_no_run(tmp_path):
    with pytest.raises(FerInputError, match="not a finished run folder"):
        evaluate.summarize_run(tmp_path, {"val": None})


def test_summary_command_prints_the_table(tiny_run, capsys):
    from fer_keras.cli import main

    assert main(["summary", str(tiny_run), "--data", "synthetic", "--n-synthetic", "300",
                 "--tta", "flip"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("| run | model |") and "+flip TTA" in lines[0]
    assert "+crops TTA" not in lines[0]
    assert len(lines) == 3 and "`small_cnn`" in lines[2]


def test_summary_command_rejects_a_folder_that_is_no_run(tmp_path, capsys):
    from fer_keras.cli import main

    assert main(["summary", str(tmp_path), "--data", "synthetic", "--n-synthetic", "300"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(tmp_path) in err[0] and "not a finished run folder" in err[0]


def test_tta_is_decided_by_one_check_for_every_caller():
    """check_tta decides which modes a caller may ask for; the evaluation, the Recognizer and
    the photo pipeline refuse the same way, with the same line."""
    from fer_keras.faces.recognizer import Recognizer

    assert [evaluate.check_tta(m) for m in evaluate.TTA_MODES] == ["none", "flip", "crops"]
    assert evaluate.check_tta("flip", photos=True) == "flip"
    with pytest.raises(FerInputError) as photo:
        evaluate.check_tta("crops", photos=True)
    assert str(photo.value) == ("--tta for photos and videos must be one of none, flip, "
                                "got 'crops'")
    with pytest.raises(FerInputError, match=r"^--tta must be one of none, flip, crops, got 'x'$"):
        evaluate.predict_proba(None, np.zeros((1, 48, 48), np.uint8), tta="x")
    net = keras.Sequential([keras.Input((48, 48, 1)), keras.layers.Flatten(),
                            keras.layers.Dense(7, activation="softmax")])
    with pytest.raises(FerInputError) as rec:
        Recognizer(net, detector=lambda grey: np.zeros((0, 4)), tta="crops")
    assert str(rec.value) == str(photo.value)
