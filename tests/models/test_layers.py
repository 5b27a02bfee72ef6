"""fer_keras.models.layers.BatchNorm: the same numbers as keras.layers.BatchNormalization, on every
backend (the fused TensorFlow kernel on TensorFlow, Keras's own code elsewhere)."""
import keras
import numpy as np
import pytest

from fer_keras.models.layers import BatchNorm

pytestmark = pytest.mark.core


def _pair(x, **kw):
    ours, ref = BatchNorm(**kw), keras.layers.BatchNormalization(**kw)
    for layer in (ours, ref):
        layer.build(x.shape)
    rng = np.random.default_rng(1)
    for name in ("gamma", "beta", "moving_mean", "moving_variance"):
        value = rng.uniform(0.5, 1.5, x.shape[-1]).astype("float32")
        getattr(ours, name).assign(value)
        getattr(ref, name).assign(value)
    return ours, ref


@pytest.fixture
def x():
    rng = np.random.default_rng(0)
    return (rng.normal(size=(8, 6, 5, 4)) * 3 + np.arange(4)).astype("float32")


def test_training_mode_matches_keras(x):
    ours, ref = _pair(x, momentum=0.9)
    y_ours = keras.ops.convert_to_numpy(ours(x, training=True))
    y_ref = keras.ops.convert_to_numpy(ref(x, training=True))
    np.testing.assert_allclose(y_ours, y_ref, atol=1e-5)
    # normalised with the batch statistics: per-channel mean beta, std gamma
    np.testing.assert_allclose(y_ours.mean(axis=(0, 1, 2)), keras.ops.convert_to_numpy(ours.beta),
                               atol=1e-5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(ours.moving_mean),
                               keras.ops.convert_to_numpy(ref.moving_mean), atol=1e-6)
    # the moving variance follows the unbiased batch variance on the fused path (n / (n - 1),
    # n = 8 * 6 * 5 = 240 values per channel) and the biased one in Keras
    var0 = np.random.default_rng(1).uniform(0.5, 1.5, (4, 4)).astype("float32")[3]
    ddof = 1 if keras.backend.backend() == "tensorflow" else 0
    expected = 0.9 * var0 + 0.1 * x.reshape(-1, 4).var(axis=0, ddof=ddof)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(ours.moving_variance), expected,
                               rtol=1e-5)


def test_inference_mode_matches_keras(x):
    ours, ref = _pair(x)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(ours(x, training=False)),
                               keras.ops.convert_to_numpy(ref(x, training=False)), atol=1e-5)
    before = keras.ops.convert_to_numpy(ours.moving_mean).copy()
    ours(x, training=False)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(ours.moving_mean), before)


def test_frozen_layer_uses_moving_statistics(x):
    ours, ref = _pair(x)
    ours.trainable = ref.trainable = False
    np.testing.assert_allclose(keras.ops.convert_to_numpy(ours(x, training=True)),
                               keras.ops.convert_to_numpy(ref(x, training=True)), atol=1e-5)


def test_gradients_match_keras(x):
    def grads(layer_cls):
        model = keras.Sequential([keras.Input(x.shape[1:]), keras.layers.Conv2D(3, 3, name="c"),
                                  layer_cls(name="bn"), keras.layers.GlobalAveragePooling2D(),
                                  keras.layers.Dense(2, name="d")])
        model.set_weights([np.full(w.shape, 0.1, "float32") * np.sign(np.arange(w.size) % 3 - 1
                                                                        ).reshape(w.shape)
                           for w in model.get_weights()])
        model.compile(optimizer=keras.optimizers.SGD(1.0),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.train_on_batch(x, np.array([0, 1] * 4))
        return [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]

    for ours, ref in zip(grads(BatchNorm), grads(keras.layers.BatchNormalization)):
        np.testing.assert_allclose(ours, ref, atol=2e-5)


def test_mixed_bfloat16(x):
    ours, ref = _pair(x, dtype="mixed_bfloat16")
    y = ours(x, training=True)
    assert keras.backend.standardize_dtype(y.dtype) == "bfloat16"
    y_ref = ref(x, training=True)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(keras.ops.cast(y, "float32")),
                               keras.ops.convert_to_numpy(keras.ops.cast(y_ref, "float32")),
                               atol=0.05)


def test_dense_inputs_and_saving(tmp_path):
    rng = np.random.default_rng(2)
    x2 = rng.normal(size=(16, 5)).astype("float32")
    model = keras.Sequential([keras.Input((5,)), BatchNorm(name="bn")])
    model.layers[0](x2, training=True)
    path = tmp_path / "bn.keras"
    model.save(path)
    again = keras.saving.load_model(path)
    assert type(again.layers[0]).__name__ == "BatchNorm"
    np.testing.assert_allclose(again.predict(x2, verbose=0), model.predict(x2, verbose=0),
                               atol=1e-6)
