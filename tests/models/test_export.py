"""Export (issue 16): ONNX and TFLite (float, int8) files agree with the Keras model on real
FER2013 PublicTest images; on JAX, export says in one line that it needs TensorFlow."""
import numpy as np
import pytest
from conftest import backend

from fer_keras.errors import FerInputError

N_CHECK = 300


@pytest.fixture(scope="module")
def shipped_and_data():
    if backend() != "tensorflow":
        pytest.skip("export needs the TensorFlow backend")
    from conftest import FER_FOLDER

    if not (FER_FOLDER / "train").is_dir():
        pytest.skip(f"real FER2013 image folders not found at {FER_FOLDER} (../shared absent)")
    from fer_keras import data, models

    try:
        model = models.pretrained()
    except FerInputError as e:
        pytest.skip(f"no shipped model in this checkout ({e})")
    val = data.load(FER_FOLDER / "test")
    idx = np.random.default_rng(0).permutation(len(val))[:N_CHECK]
    from PIL import Image

    files = sorted((FER_FOLDER / "train").glob("*/*.jpg"))  # calibration: 300 train faces
    pick = np.random.default_rng(1).permutation(len(files))[:300]
    rep = np.stack([np.asarray(Image.open(files[i]).convert("L")) for i in pick])
    return model, val.x()[idx], val.labels[idx], rep


@pytest.mark.parametrize("fmt, int8, need, floor", [
    ("onnx", False, ("tf2onnx", "onnxruntime"), 0.99),
    ("tflite", False, (), 0.99),
    ("tflite", True, (), 0.97),
])
def test_export_agrees_with_keras(fmt, int8, need, floor, shipped_and_data, tmp_path):
    for mod in need:
        pytest.importorskip(mod, reason=f"export to {fmt} needs {mod} (fer_keras[export])")
    from fer_keras.models import export

    model, x, y, rep = shipped_and_data
    path = export.export(model, tmp_path / f"m.{fmt}", fmt, int8=int8, representative=rep)
    r = export.check(model, path, x, y)
    assert r["n"] == N_CHECK and r["agreement"] >= floor, r
    assert abs(r["export_accuracy"] - r["keras_accuracy"]) <= 1 - floor + 1e-9
    assert r["keras_accuracy"] > 0.4  # a trained model, so agreement is not agreement on noise
    if int8:  # int8 weights: about a quarter of the float file
        float_size = export.export(model, tmp_path / "f.tflite", "tflite").stat().st_size
        assert path.stat().st_size < 0.4 * float_size


def test_export_bad_arguments_are_one_line():
    from fer_keras.models import export

    with pytest.raises(FerInputError, match="--int8 applies to --format tflite only"):
        export.export(None, "m.onnx", "onnx", int8=True)
    with pytest.raises(FerInputError, match="--format must be one of"):
        export.export(None, "m.x", "coreml")
    with pytest.raises(FerInputError, match="needs representative images"):
        export.export(None, "m.tflite", "tflite", int8=True)


@pytest.mark.core
@pytest.mark.skipif(backend() == "tensorflow", reason="the JAX environment's one-line refusal")
def test_export_on_jax_says_it_needs_tensorflow(tmp_path):
    import keras

    from fer_keras.models import export

    m = keras.Sequential([keras.Input((48, 48, 1)), keras.layers.Flatten(), keras.layers.Dense(7)])
    with pytest.raises(FerInputError, match="needs the TensorFlow backend") as e:
        export.export(m, tmp_path / "m.onnx", "onnx")
    assert "\n" not in str(e.value) and not (tmp_path / "m.onnx").exists()


@pytest.fixture()
def saved_model(tmp_path):
    import keras

    m = keras.Sequential([keras.Input((48, 48, 1)), keras.layers.Flatten(),
                          keras.layers.Dense(7, activation="softmax")])
    path = tmp_path / "model.keras"
    m.save(path)
    return path


@pytest.mark.parametrize("argv, says", [
    (["--format", "onnx", "--out", "{model}"], "is the input file"),
    (["--format", "tflite", "--out", "{dir}/x.bin"], "name --out x.tflite"),
    (["--format", "onnx", "--out", "{dir}/model.tflite"], "name --out model.onnx"),
])
def test_export_cli_refuses_its_input_and_a_wrong_suffix(argv, says, saved_model, capfd):
    """``export model.keras --format onnx --out model.keras`` used to replace the model and
    ``--format tflite --out x.bin`` ended in a Keras traceback: now one line, exit 2, the model
    unchanged and nothing written."""
    from fer_keras.cli import main

    before = saved_model.read_bytes()
    argv = [a.format(model=saved_model, dir=saved_model.parent) for a in argv]
    rc = main(["export", str(saved_model), *argv])
    err = capfd.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1 and says in err, err
    assert "Traceback" not in err
    assert saved_model.read_bytes() == before
    assert sorted(p.name for p in saved_model.parent.iterdir()) == ["model.keras"]


def test_export_library_asks_for_the_suffix():
    from fer_keras.models import export

    with pytest.raises(FerInputError, match=r"writes a \.tflite file: name --out m\.tflite"):
        export.export(None, "m.keras", "tflite")
