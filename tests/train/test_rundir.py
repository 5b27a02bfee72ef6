"""RunDir: the run folder's status rules and history files, on folders written by hand."""
import json

import pytest

from fer_keras.config import TrainConfig
from fer_keras.errors import FerInputError
from fer_keras.train.rundir import RunDir

pytestmark = pytest.mark.core


def _run(tmp_path, files=(), **saved):
    cfg = TrainConfig(model="tiny_cnn", epochs=3, out=str(tmp_path))
    run = RunDir(tmp_path)
    cfg.replace(**saved).save(run.config)
    for name in files:
        (tmp_path / name).write_bytes(b"x")
    return run, cfg


def test_fresh_without_config(tmp_path):
    assert RunDir(tmp_path / "none").status(TrainConfig()) == "fresh"


def test_finished_needs_best_history_and_model(tmp_path):
    run, cfg = _run(tmp_path, (RunDir.BEST, RunDir.HISTORY_JSON, RunDir.MODEL, RunDir.LAST))
    assert run.status(cfg) == "finished"
    # verbose and out are not part of a run's identity
    assert run.status(cfg.replace(verbose=0, out="elsewhere")) == "finished"


def test_interrupted_is_resumable_and_without_checkpoint_stale(tmp_path):
    run, cfg = _run(tmp_path, (RunDir.BEST, RunDir.HISTORY_JSON, RunDir.LAST))
    assert run.status(cfg) == "resumable"
    run.last.unlink()
    assert run.status(cfg) == "stale"


def test_other_settings_or_broken_config_are_stale(tmp_path):
    run, cfg = _run(tmp_path, (RunDir.BEST, RunDir.HISTORY_JSON, RunDir.MODEL), epochs=4)
    assert run.status(cfg) == "stale"
    assert run.status(cfg.replace(epochs=4)) == "finished"
    run.config.write_text("{broken")
    assert run.status(cfg) == "stale"


def test_clear_checkpoints_keeps_config_and_history(tmp_path):
    run, cfg = _run(tmp_path, (RunDir.BEST, RunDir.HISTORY_JSON, RunDir.MODEL, RunDir.LAST,
                               RunDir.STATE))
    run.clear_checkpoints()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "history.json"]
    assert run.status(cfg) == "stale"


def test_history_files_and_upto(tmp_path):
    run = RunDir(tmp_path)
    rows = [{"epoch": 1, "loss": 2.0}, {"epoch": 2, "loss": 1.5, "val_accuracy": 0.25}]
    run.write_history(rows)
    assert run.history_csv.read_text() == "epoch,loss,val_accuracy\n1,2.0,\n2,1.5,0.25\n"
    assert json.loads(run.history_json.read_text()) == rows
    assert run.history(upto=1) == rows[:1]
    assert RunDir(tmp_path / "empty").history() == []


def test_require_resumable_and_finished_name_the_folder(tmp_path):
    with pytest.raises(FerInputError, match="nothing to resume") as e:
        RunDir(tmp_path).require_resumable()
    assert str(tmp_path) in str(e.value)
    with pytest.raises(FerInputError, match="not a finished run folder"):
        RunDir(tmp_path).require_finished()
