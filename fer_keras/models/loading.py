"""Loading a model: any classifier file and its input contract, the shipped model, and FLOPs."""
from __future__ import annotations

from keras import layers

from fer_keras.errors import FerInputError
from fer_keras.models.files import _read
from fer_keras.models.shipped import PRETRAINED  # noqa: F401  (part of this module's face)


def _leaf_layers(model):
    for layer in model.layers:
        if getattr(layer, "layers", None):
            yield from _leaf_layers(layer)
        else:
            yield layer


def flops(model):
    """Forward FLOPs per image (multiply-adds x 2) of ``model``'s Conv2D and Dense layers.

    A convolution costs ``2 * H_out * W_out * K_h * K_w * C_in * C_out / groups``, a Dense layer
    ``2 * in * out`` per position; batch norm, activations, pooling and the optimizer are not
    counted (they are a few percent of the total for the conv nets). Training costs about 3x
    this (forward, and the gradients with respect to inputs and weights).
    """
    import numpy as np

    total = 0
    for layer in _leaf_layers(model):
        if isinstance(layer, layers.Conv2D):
            _, h, w, c_out = layer.output.shape
            c_in = layer.input.shape[-1]
            kh, kw = layer.kernel_size
            total += 2 * h * w * kh * kw * c_in * c_out // (layer.groups or 1)
        elif isinstance(layer, layers.Dense):
            n_in = layer.input.shape[-1]
            positions = int(np.prod(layer.input.shape[1:-1])) if len(layer.input.shape) > 2 else 1
            total += 2 * positions * n_in * layer.units
    return int(total)


def load(path, classifier=True, input_shape=(48, 48, 1), num_classes=7):
    """Load a model file (see :func:`load_classifier` for the formats and the input contract).

    With ``classifier=True`` the classifier is returned (the inner model of a training
    checkpoint) and checked to take ``input_shape`` images (``None``: any) and give
    ``num_classes`` outputs (``None``: any). Raises :class:`FerInputError` naming the file for a
    missing, corrupt or mismatched model.
    """
    model = _read(path, compile=not classifier)
    if not classifier:
        return model
    if model.name == "trainer":
        model = model.layers[-1]
    got_in = tuple(model.input_shape[1:]) if not isinstance(model.input_shape, list) else None
    if input_shape is not None and got_in != tuple(input_shape):
        raise FerInputError(f"model takes inputs of shape {got_in}, expected {tuple(input_shape)}",
                            file=path)
    got_out = model.output_shape[-1] if not isinstance(model.output_shape, list) else None
    if num_classes is not None and got_out != num_classes:
        raise FerInputError(f"model predicts {got_out} classes, expected {num_classes}", file=path)
    return model


def load_classifier(path, input_range=None, classes=None):
    """Any Keras image classifier and its input contract: ``(model, contract)``.

    ``path``: a ``.keras`` file, a Keras 2 ``.h5``/``.hdf5`` file, a TensorFlow SavedModel
    folder, or ``"pretrained"`` for the shipped model (:func:`model_path`). The contract (:class:`fer_keras.models.contract.InputContract`) is the one recorded in the
    run folder (``contract.json``, written by ``fer-keras train``) or inferred from the model
    (input size and channels, a final softmax, FER2013's classes for 7 outputs), with
    ``input_range`` (``"-1,1"`` or a pair) and ``classes`` (``"a,b,..."`` or names) overriding
    (:func:`fer_keras.models.contract.from_options`). The contract is attached to the model, so every
    fer_keras function given the model uses it. A model whose output is no class vector, or a
    contract that does not fit: one-line :class:`FerInputError` naming the file.
    """
    from fer_keras.models import contract as fc

    path = model_path(path)
    model = load(path, input_shape=None, num_classes=None)
    c = fc.from_options(model, input_range=input_range, classes=classes, file=path)
    got_out = model.output_shape[-1]
    if got_out != c.num_classes:
        raise FerInputError(f"the recorded contract names {c.num_classes} classes but the model "
                            f"has {got_out} outputs", file=path)
    want = (c.height, c.width, c.channels)
    if any(g is not None and g != w for g, w in zip(model.input_shape[1:], want)):
        raise FerInputError(f"the recorded contract takes {want} images but the model takes "
                            f"{tuple(model.input_shape[1:])}", file=path)
    return model, c


def model_path(path):
    """``path`` as a :class:`pathlib.Path`, with ``"pretrained"`` standing for the shipped model's
    file (``fer_keras/weights/``; a missing one is a one-line error)."""
    from pathlib import Path

    from fer_keras.models import shipped

    if str(path) != PRETRAINED:
        return Path(path)
    path = shipped.model_path()
    if not path.is_file():
        raise FerInputError("the shipped model is missing from this installation (reinstall "
                            "fer_keras, or pass --model / model= a .keras file)", file=path)
    return path


def pretrained():
    """The expression classifier that ships with fer_keras: float32 ``(N, 48, 48, 1)`` images in
    [0, 1] -> ``(N, 7)`` probabilities of :data:`fer_keras.CLASS_NAMES`. Loaded from the package
    (``fer_keras/weights/``); nothing is downloaded."""
    return load_classifier(PRETRAINED)[0]

