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


# --------------------------------------------------------------------------- RunState
def _full_state():
    from fer_keras.train.rundir import RunState

    return RunState(epoch=2, best=0.5, elapsed_seconds=3.25, iterations=14,
                    callbacks={"StatefulEarlyStopping": {"wait": 1}}, rng=[[1, 2]],
                    config={"model": "tiny_cnn"}, history=[{"epoch": 1}, {"epoch": 2}],
                    planned_epochs=5, budget_replans=[{"after_epoch": 1}])


def test_run_state_round_trips_every_field(tmp_path):
    import dataclasses

    from fer_keras.train.rundir import RunState

    state = _full_state()
    names = [f.name for f in dataclasses.fields(RunState)]
    assert list(state.to_dict()) == names
    assert RunState.from_dict(json.loads(json.dumps(state.to_dict())), "x") == state
    copy = state.to_dict(history=False)
    assert set(copy) == set(names) - {"history"}
    assert RunState.from_dict(copy, "x") == dataclasses.replace(state, history=[])
    # only the epoch is required; every other field has its default
    assert RunState.from_dict({"epoch": 0}, "x") == RunState(epoch=0)
    assert RunState(epoch=0).to_dict() == {
        "epoch": 0, "best": None, "elapsed_seconds": 0.0, "iterations": None, "callbacks": {},
        "rng": [], "config": {}, "history": [], "planned_epochs": None, "budget_replans": []}
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.epoch = 3


@pytest.mark.parametrize("text,why", [
    (b'{"best": 0.5}', "'epoch' is missing"),
    (b'{"epoch": "3"}', "'epoch' has the wrong type (str)"),
    (b'{"epoch": true}', "'epoch' has the wrong type (bool)"),
    (b'{"epoch": -1}', "'epoch' is negative"),
    (b'{"epoch": 2, "rng": 3}', "'rng' has the wrong type (int)"),
    (b'{"epoch": 2, "iterations": 1.5}', "'iterations' has the wrong type (float)"),
    (b'{"epoch": 2, "planned_epochs": "9"}', "'planned_epochs' has the wrong type (str)"),
    (b'{"epoch": 2, "history": [[1]]}', "history rows must be objects"),
    (b'[]', "must be an object"),
    (b'{"epoch": 2', "not valid JSON"),
])
def test_a_damaged_state_file_is_one_line_naming_it(tmp_path, text, why):
    run = RunDir(tmp_path)
    run.state_file.write_bytes(text)
    with pytest.raises(FerInputError) as e:
        run.state()
    msg = str(e.value)
    assert msg.startswith(f"{run.state_file}: ") and why in msg and "\n" not in msg, msg


def test_write_state_is_the_state_without_its_history(tmp_path):
    run = RunDir(tmp_path)
    state = _full_state()
    run.write_state(state)
    saved = json.loads(run.state_file.read_text())
    assert saved == {k: v for k, v in state.to_dict().items() if k != "history"}
    assert run.state().epoch == 2 and run.state().history == []


@pytest.mark.parametrize("budget", [0, 0.05])
def test_fit_writes_exactly_the_run_state_fields(tmp_path, budget):
    """The state inside last.keras has every RunState field and no other; state.json the same
    less ``history``; with and without a time budget (whose fields are then set)."""
    import dataclasses
    import zipfile

    from fer_keras.train import train
    from fer_keras.train.checkpoint import CHECKPOINT_STATE, checkpoint_state
    from fer_keras.train.rundir import RunState

    out = tmp_path / "run"
    train(TrainConfig(model="small_cnn", n_synthetic=140, epochs=1, batch_size=64, verbose=0,
                      budget_minutes=budget, early_stopping=0, out=str(out)))
    names = {f.name for f in dataclasses.fields(RunState)}
    with zipfile.ZipFile(out / RunDir.LAST) as z:
        inside = json.loads(z.read(CHECKPOINT_STATE))
    assert set(inside) == names
    assert set(json.loads((out / RunDir.STATE).read_text())) == names - {"history"}
    state = checkpoint_state(out / RunDir.LAST)
    assert state.epoch == len(state.history) >= 1 and state.iterations > 0
    assert state.config["model"] == "small_cnn" and state.config["budget_minutes"] == budget
    assert (state.planned_epochs is None) == (not budget)
    assert RunDir(out).state() == dataclasses.replace(state, history=[])
