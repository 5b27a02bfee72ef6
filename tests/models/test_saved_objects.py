"""Models saved with the label-smoothing loss and the warm-up cosine schedule load in a fresh
process that imports only fer_keras.models (not the trainer), also files written before the two
moved out of fer_keras.train (whose config names that module)."""
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.core

SAVE = """
import sys, keras, numpy as np
from fer_keras.train.losses import SmoothedSparseCE
from fer_keras.train.schedules import WarmupCosine
model = keras.Sequential([keras.Input((48, 48, 1)), keras.layers.Flatten(),
                          keras.layers.Dense(7, activation="softmax")], name="trainer_like")
model.compile(optimizer=keras.optimizers.Adam(WarmupCosine(0.01, 40, 6, 0.0004, alpha=1e-3)),
              loss=SmoothedSparseCE(0.2))
model.train_on_batch(np.zeros((4, 48, 48, 1), "float32"), np.arange(4))
model.save(sys.argv[1])
"""

LOAD = """
import json, sys
from fer_keras import models
m = models.load(sys.argv[1], classifier=False)
lr = m.optimizer._learning_rate
print(json.dumps({"loss": type(m.loss).__name__, "smoothing": m.loss.smoothing,
                  "schedule": type(lr).__name__, "config": lr.get_config(),
                  "train_imported": "fer_keras.train" in sys.modules}))
"""


def _py(code, *args):
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    res = subprocess.run([sys.executable, "-c", code, *map(str, args)], env=env, cwd=REPO,
                         capture_output=True, text=True, timeout=240)
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout.strip()


def _as_old_file(src, dst):
    """The file as the code before the move wrote it: modules named fer_keras.train."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "config.json":
                text = data.decode()
                assert '"module": "fer_keras.train.schedules"' in text
                assert '"module": "fer_keras.train.losses"' in text
                data = (text.replace('"module": "fer_keras.train.schedules"', '"module": "fer_keras.train"')
                        .replace('"module": "fer_keras.train.losses"', '"module": "fer_keras.train"')
                        .encode())
            zout.writestr(item, data)


def test_registered_names_are_unchanged():
    import keras

    from fer_keras.train.losses import SmoothedSparseCE
    from fer_keras.train.schedules import WarmupCosine

    assert keras.saving.get_registered_name(WarmupCosine) == "fer_keras>WarmupCosine"
    assert keras.saving.get_registered_name(SmoothedSparseCE) == "fer_keras>SmoothedSparseCE"


@pytest.mark.slow  # a fresh interpreter; the registered names are checked in-process above
def test_saved_loss_and_schedule_load_without_the_trainer(tmp_path):
    new = tmp_path / "new.keras"
    _py(SAVE, new)
    old = tmp_path / "old.keras"
    _as_old_file(new, old)
    for path in (new, old):
        got = json.loads(_py(LOAD, path))
        assert got["loss"] == "SmoothedSparseCE" and got["smoothing"] == pytest.approx(0.2)
        assert got["schedule"] == "WarmupCosine"
        assert got["config"] == {"peak_lr": 0.01, "total_steps": 40, "warmup_steps": 6,
                                 "initial_lr": 0.0004, "alpha": 1e-3, "name": "warmup_cosine"}
        assert got["train_imported"] is False
