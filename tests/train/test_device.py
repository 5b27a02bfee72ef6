"""The device line every training run starts with."""
import keras
import pytest

from fer_keras import train as train_mod


@pytest.mark.core
def test_training_device_names_the_backend_and_agrees_with_the_gpu_probe():
    line = train_mod.training_device()
    assert f"({keras.backend.backend()} backend)" in line
    on_gpu = train_mod.gpu_compute_capability() is not None
    assert line.startswith("GPU ") == on_gpu
    assert line.startswith("CPU, ") != on_gpu


def test_a_training_run_prints_its_device_first(tmp_path, capsys):
    from fer_keras.config import TrainConfig

    cfg = TrainConfig(model="dnn_001", data="synthetic", n_synthetic=70, epochs=1, batch_size=32,
                      out=str(tmp_path / "run"), verbose=1, early_stopping=0)
    train_mod.train(cfg)
    first = capsys.readouterr().out.splitlines()[0]
    assert first == f"training on {train_mod.training_device()}"
