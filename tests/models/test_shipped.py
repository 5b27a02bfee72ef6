"""The shipped files (:mod:`fer_keras.models.shipped`): the ONNX export beside the shipped ``.keras`` is
made from it and agrees with it, a stale export is never used, and the default Recognizer and
``fer-keras predict PHOTO`` answer without importing TensorFlow."""
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fer_keras.models import shipped

pytest.importorskip("onnxruntime")
REPO = Path(__file__).resolve().parents[2]


def test_onnx_export_is_made_from_the_shipped_keras():
    """Fails when the .keras is replaced and the export is not regenerated: run
    ``make shipped-onnx``."""
    from fer_keras.models.runtime import ExportedClassifier

    if not shipped.onnx_path().is_file():
        pytest.fail("fer_keras/weights/ has no ONNX export of the shipped model: make shipped-onnx")
    meta = ExportedClassifier(shipped.onnx_path()).metadata
    assert meta.get(shipped.SOURCE_SHA256) == shipped.sha256(shipped.model_path()), \
        "the ONNX export is stale: make shipped-onnx"
    assert meta.get("fer_keras.source") == shipped.MODEL_FILE


def test_onnx_export_agrees_with_the_keras_model(fer_folder):
    """On 300 PublicTest faces the export's probabilities match Keras's to 1e-4 and its labels
    agree on every face; the model is trained (accuracy well above chance), so this is not
    agreement on noise."""
    from fer_keras import data, models

    onnx_model = shipped.onnx_classifier()
    assert onnx_model is not None
    val = data.load(fer_folder / "test")
    idx = np.random.default_rng(0).permutation(len(val))[:300]
    x, y = val.x()[idx], val.labels[idx]
    ref = models.pretrained().predict(x, batch_size=100, verbose=0)
    got = onnx_model.predict(x, batch_size=100)
    assert got.shape == ref.shape == (300, 7)
    np.testing.assert_allclose(got, ref, atol=1e-4)
    assert (got.argmax(1) == ref.argmax(1)).all()
    assert (ref.argmax(1) == y).mean() > 0.5


def test_a_stale_export_is_not_used(tmp_path, monkeypatch, capsys):
    """A .keras that is not the one the export was made from: onnx_classifier says so and
    returns None (Recognizer then loads the .keras); the untouched copy (control) is used."""
    for name in (shipped.MODEL_FILE, shipped.ONNX_FILE):
        shutil.copy(shipped.WEIGHTS / name, tmp_path / name)
    monkeypatch.setattr(shipped, "WEIGHTS", tmp_path)
    monkeypatch.setattr(shipped, "_CACHE", {})
    assert shipped.onnx_classifier() is not None  # control: the same files work
    with open(tmp_path / shipped.MODEL_FILE, "ab") as f:
        f.write(b"\0")  # another model file
    assert shipped.onnx_classifier() is None
    assert "make shipped-onnx" in capsys.readouterr().err
    (tmp_path / shipped.ONNX_FILE).unlink()
    assert shipped.onnx_classifier(quiet=True) is None


def test_default_recognizer_and_cli_photo_import_no_tensorflow(tmp_path):
    """In a fresh interpreter: ``Recognizer()`` runs the shipped model with ONNX Runtime and
    ``fer-keras predict PHOTO`` writes its results, neither importing TensorFlow or Keras."""
    from PIL import Image
    from skimage import data

    Image.fromarray(data.astronaut()).save(tmp_path / "a.jpg")
    code = ("import sys; from fer_keras.cli import main; "
            f"rc = main(['predict', {str(tmp_path / 'a.jpg')!r}, '--out', "
            f"{str(tmp_path / 'o')!r}]); "
            "from fer_keras.faces import Recognizer; r = Recognizer(); "
            "print(rc, type(r.model).__name__, len(r.detect(sys.argv[1])), "
            "'tensorflow' in sys.modules, 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "a.jpg")], cwd=REPO,
                         capture_output=True, text=True, timeout=300,
                         env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert out.stdout.splitlines()[-1].split() == ["0", "ExportedClassifier", "1", "False",
                                                   "False"], out
    assert (tmp_path / "o" / "faces.csv").read_text().count("\n") == 2

