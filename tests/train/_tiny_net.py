"""The tiny classifier that the data-parallel and multi-process training tests train in their
child processes (``test_distribute``, ``test_multiprocess``): a strided convolution, pooling
and one dense layer, 48x48x1 to 7 softmax outputs. On JAX it has batch normalisation and
dropout, which give equal results on one or several devices there; on TensorFlow it has
neither, since each replica draws its own randomness and normalises with its own share.

A child script puts this folder on ``sys.path`` (:data:`PREAMBLE`) and calls
:func:`register`."""
from pathlib import Path

#: The first line of a child script: this folder on its import path.
PREAMBLE = f"import sys\nsys.path.insert(0, {str(Path(__file__).parent)!r})\n"


def random_layers():
    """True where the model and the step may draw randomness (JAX)."""
    import keras

    return keras.backend.backend() == "jax"


def register(name):
    """Register the tiny classifier as ``name`` in the model registry; returns ``name``."""
    import keras

    from fer_keras import models
    from fer_keras.models.layers import BatchNorm

    def build(input_shape=(48, 48, 1), num_classes=7):
        L = keras.layers
        body = [L.Conv2D(4, 3, strides=2, name="conv")]
        body += [BatchNorm(name="bn")] if random_layers() else []
        body += [L.Activation("relu"), L.MaxPooling2D(4), L.Flatten()]
        body += [L.Dropout(0.3)] if random_layers() else []
        return keras.Sequential([keras.Input(input_shape), *body,
                                 L.Dense(num_classes, name="logits"),
                                 L.Activation("softmax", dtype="float32")], name=name)

    build.__name__ = name
    models.register(build)
    return name
