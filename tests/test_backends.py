"""Any Keras 3 backend: a light import, TF-only features failing cleanly, and .keras files
that move between TensorFlow and JAX with the same predictions."""
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO, has_tensorflow

JAX_PY = REPO / ".venv-jax" / "bin" / "python"
TF_PY = REPO / ".venv" / "bin" / "python"


def _run(py, code, *args, backend):
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([str(py), "-c", code, *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=300)


@pytest.mark.core
def test_import_is_light_and_sets_no_global_state():
    code = ("import sys, fer_keras; print(sorted(m for m in ('keras', 'tensorflow', 'jax', "
            "'matplotlib', 'lime', 'sklearn') if m in sys.modules))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"


@pytest.mark.core
@pytest.mark.skipif(has_tensorflow(), reason="checks the behaviour without TensorFlow")
def test_tensorflow_only_features_fail_with_one_line(tmp_path):
    res = subprocess.run([sys.executable, "-m", "fer_keras", "train", "--input-pipeline", "idg",
                          "--epochs", "1", "--n-synthetic", "100", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 2
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and "TensorFlow" in lines[0] and "jax" in lines[0]
    assert "Traceback" not in res.stderr


SAVE = r"""
import sys, numpy as np
from fer_keras.config import TrainConfig
from fer_keras.train import train
from fer_keras.data.synthetic import make_faces
net, _ = train(TrainConfig(model="small_cnn", n_synthetic=300, epochs=1, batch_size=64,
                           verbose=0, out=sys.argv[1]))
x = make_faces(16, seed=5)[0][..., None].astype("float32") / 255
np.save(sys.argv[2], net.predict(x, verbose=0))
"""

LOAD = r"""
import sys, numpy as np
from fer_keras import models
from fer_keras.data.synthetic import make_faces
net = models.load(sys.argv[1])
x = make_faces(16, seed=5)[0][..., None].astype("float32") / 255
np.save(sys.argv[2], net.predict(x, verbose=0))
"""


@pytest.mark.skipif(not (JAX_PY.exists() and TF_PY.exists()),
                    reason="needs both .venv (TensorFlow) and .venv-jax (JAX): `make install install-jax`")
@pytest.mark.parametrize("src,dst", [("tensorflow", "jax"), ("jax", "tensorflow")])
def test_keras_file_moves_between_backends(tmp_path, src, dst):
    py = {"tensorflow": TF_PY, "jax": JAX_PY}
    run = tmp_path / "run"
    a, b = tmp_path / "a.npy", tmp_path / "b.npy"
    res = _run(py[src], SAVE, run, a, backend=src)
    assert res.returncode == 0, res.stderr[-2000:]
    res = _run(py[dst], LOAD, run / "model.keras", b, backend=dst)
    assert res.returncode == 0, res.stderr[-2000:]
    np.testing.assert_allclose(np.load(a), np.load(b), rtol=1e-4, atol=1e-5)
