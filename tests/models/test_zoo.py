"""The model registry: every builder, the parameter counts the reports print, save/load."""
import keras
import numpy as np
import pytest

from fer_keras import models
from fer_keras.errors import FerInputError

pytestmark = pytest.mark.core

CNNS = [n for n in models.list_models() if not n.startswith("dnn")]


@pytest.fixture(scope="module")
def batch():
    return np.random.default_rng(0).random((3, 48, 48, 1)).astype("float32")


@pytest.mark.parametrize("name", models.list_models())
def test_registry_model_contract(name, batch, tmp_path):
    model = models.build(name)
    assert isinstance(model, keras.Model)
    assert model.layers[-1].name == "predictions" and model.layers[-2].name == "logits"
    names = [layer.name for layer in model.layers]
    assert len(set(names)) == len(names)
    assert all(not n.startswith(("conv2d", "dense", "dropout", "activation")) for n in names)
    probs = model.predict(batch, verbose=0)
    assert probs.shape == (3, 7)
    assert np.isfinite(probs).all()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    again = models.load(path)
    np.testing.assert_allclose(again.predict(batch, verbose=0), probs, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name,reported,tol", [
    ("dnn_001", 156_263, 0.0),
    ("dnn_deep51", 42_809_407, 0.0),
    ("hw3_cnn", 2_130_311, 0.01),
    ("vgg_leaky", 44_305_991, 0.01),
    ("dnn_000", 2_281_931, 0.02),
    ("dnn_000_narrow_first", 2_281_931, 0.02),
    ("hw3_cnn_narrow_head", 2_130_311, 0.01),
])
def test_reported_parameter_counts(name, reported, tol):
    count = models.build(name).count_params()
    assert abs(count - reported) <= tol * reported, (name, count, reported)


@pytest.mark.parametrize("name", CNNS)
def test_matched_dnn_within_2_percent_of_every_cnn(name):
    cnn = models.build(name)
    dnn = models.matched_dnn(cnn)
    assert abs(dnn.count_params() - cnn.count_params()) <= 0.02 * cnn.count_params()
    assert not any(isinstance(layer, keras.layers.Conv2D) for layer in dnn.layers)
    widths = [layer.units for layer in dnn.layers if isinstance(layer, keras.layers.Dense)]
    assert widths[0] == max(widths)  # first hidden layer as wide as possible (report 000)


def test_matched_dnn_accepts_a_number():
    assert abs(models.matched_dnn(500_000).count_params() - 500_000) <= 10_000


def test_unknown_model_lists_valid_names():
    with pytest.raises(FerInputError, match="valid names: .*small_cnn"):
        models.get("resnet9000")


def test_attribute_access_and_list():
    assert "vgg_leaky" in models.list_models()
    assert models.vgg_leaky is models.get("vgg_leaky")
    assert models.small_cnn().name == "small_cnn"


def test_builders_accept_shape_and_classes():
    m = models.small_cnn(input_shape=(48, 48, 1), num_classes=3)
    assert m.output_shape == (None, 3)


def test_the_narrow_first_controls_spend_report_000s_count_the_other_way():
    """000's "first hidden layer as wide as possible" needs a control of the same size whose
    first layer is the narrower one: the DNN and the CNN's dense head."""
    def dense_widths(name):
        return [layer.units for layer in models.build(name).layers
                if isinstance(layer, keras.layers.Dense)][:-1]

    for name, control in (("dnn_000", "dnn_000_narrow_first"),
                          ("hw3_cnn", "hw3_cnn_narrow_head")):
        a, b = models.build(name).count_params(), models.build(control).count_params()
        assert abs(a - b) <= 0.001 * a, (name, a, b)
        assert dense_widths(name)[0] == max(dense_widths(name))
        assert dense_widths(control)[0] < dense_widths(control)[1]
