"""Training killed (SIGKILL) or interrupted (Ctrl-C) resumes and ends where an uninterrupted run
with the same seed ends; the same seed twice gives the same history to the last digit."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import requires_tf

REPO = Path(__file__).resolve().parents[1]
RUN = ["--model", "small_cnn", "--n-synthetic", "600", "--epochs", "4", "--batch-size", "64",
       "--seed", "1", "--verbose", "0"]
METRICS = ("loss", "accuracy", "val_loss", "val_accuracy", "lr")


def _cli(*argv):
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen([sys.executable, "-m", "fer_keras", *map(str, argv)], cwd=REPO,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc, timeout=300):
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def _state_epoch(out):
    try:
        return json.loads((Path(out) / "state.json").read_text())["epoch"]
    except (OSError, ValueError, KeyError):
        return 0  # not written yet (every write is atomic, so never half a file)


def _wait_epoch(proc, out, epoch, timeout=240):
    t = time.monotonic()
    while _state_epoch(out) < epoch:
        assert proc.poll() is None, ("run ended early", proc.communicate())
        assert time.monotonic() - t < timeout, "no progress"
        time.sleep(0.02)
    return _state_epoch(out)


def _history(out):
    return json.loads((Path(out) / "history.json").read_text())


def _weights(path):
    import keras

    return keras.saving.load_model(path, compile=False).get_weights()


def _assert_same_run(a, b, exact=False):
    ha, hb = _history(a), _history(b)
    assert [r["epoch"] for r in hb] == [1, 2, 3, 4]
    for ra, rb in zip(ha, hb):
        for k in METRICS:
            if exact:
                assert ra[k] == rb[k], (ra["epoch"], k, ra[k], rb[k])
            else:
                assert abs(ra[k] - rb[k]) <= 1e-5, (ra["epoch"], k, ra[k], rb[k])
    wa, wb = _weights(Path(a) / "model.keras"), _weights(Path(b) / "model.keras")
    assert len(wa) == len(wb)
    for x, y in zip(wa, wb):
        np.testing.assert_allclose(x, y, atol=1e-5, rtol=0)


@requires_tf
def test_sigkill_then_resume_ends_like_an_uninterrupted_run(tmp_path):
    a, b = tmp_path / "A", tmp_path / "B"
    pa = _cli("train", *RUN, "--out", a)  # both at once: the wall time of one run
    pb = _cli("train", *RUN, "--out", b)
    try:
        killed_at = _wait_epoch(pb, b, 2)
    finally:
        pb.send_signal(signal.SIGKILL)
        pb.wait(timeout=30)
    assert pb.returncode == -signal.SIGKILL
    assert killed_at < 4, "the run ended before the kill: nothing was tested"
    assert not (b / "model.keras").exists()  # written only at the end of a run
    rc, out, err = _finish(pa)
    assert rc == 0, err
    rc, out, err = _finish(_cli("train", "--resume", "--out", b))
    assert rc == 0, err
    assert "Traceback" not in err
    _assert_same_run(a, b)
    state = json.loads((b / "state.json").read_text())
    assert state["epoch"] == 4
    assert sorted(p.name for p in b.iterdir() if p.name.startswith(".")) == [] or all(
        p.suffix in (".keras", ".json", ".csv", ".tmp", ".png") for p in b.iterdir()
        if p.name.startswith("."))


@requires_tf
def test_ctrl_c_exits_130_and_resumes(tmp_path):
    c = tmp_path / "C"
    run = ["--model", "small_cnn", "--n-synthetic", "300", "--epochs", "3", "--batch-size", "64",
           "--seed", "2", "--verbose", "0", "--no-augment"]
    p = _cli("train", *run, "--out", c)
    try:
        _wait_epoch(p, c, 1)
        p.send_signal(signal.SIGINT)
        rc, out, err = _finish(p, timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
    if rc == 0:
        pytest.skip("the run finished before Ctrl-C arrived")
    assert rc == 130, err
    assert "Traceback" not in err
    # the start-of-run note about the synthetic faces aside, Ctrl-C adds exactly one line
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("note: ")]
    assert len(lines) == 1, err
    assert "interrupted" in lines[0] and "--resume" in lines[0]
    done = _state_epoch(c)
    assert 1 <= done < 3
    assert [r["epoch"] for r in _history(c)][:done] == list(range(1, done + 1))
    rc, out, err = _finish(_cli("train", "--resume", "--out", c))
    assert rc == 0, err
    assert [r["epoch"] for r in _history(c)] == [1, 2, 3]
    assert _state_epoch(c) == 3 and (c / "model.keras").is_file()


@requires_tf
def test_same_seed_twice_same_history(tmp_path):
    from fer_keras.config import TrainConfig
    from fer_keras.train import train

    cfg = dict(model="small_cnn", n_synthetic=200, epochs=2, batch_size=64, seed=3, verbose=0)
    _, h1 = train(TrainConfig(out=str(tmp_path / "one"), **cfg))
    _, h2 = train(TrainConfig(out=str(tmp_path / "two"), **cfg))
    strip = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h]  # noqa: E731
    assert strip(h1) == strip(h2)  # to the last digit
    _, h3 = train(TrainConfig(out=str(tmp_path / "three"), **{**cfg, "seed": 4, "epochs": 1}))
    assert strip(h3)[0] != strip(h1)[0]


@requires_tf
def test_resume_of_a_finished_run_changes_nothing(tmp_path):
    from fer_keras.config import TrainConfig
    from fer_keras.train import train

    out = tmp_path / "done"
    train(TrainConfig(model="small_cnn", n_synthetic=140, epochs=1, batch_size=64, out=str(out),
                      verbose=0))
    before = _history(out)
    _, history = train(TrainConfig(out=str(out), verbose=0), resume=True)
    assert [r["epoch"] for r in history] == [1]
    assert _history(out) == before
