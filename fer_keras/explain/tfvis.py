"""The saliency methods through tf-keras-vis (TensorFlow only): a second, independent
implementation of :func:`fer_keras.explain.saliency_maps`, chosen with ``engine="tf-keras-vis"``
for the methods whose registry entry names a counterpart (:class:`fer_keras.explain.methods.
Counterpart`); the others are refused with one line.

tf-keras-vis 0.8.7 on Keras 3 cannot modify a ``keras.Sequential`` (``ReplaceToLinear`` reads
``model.output_names``, which only functional models have), so the model is first wrapped as the
functional ``keras.Model(seq.inputs, seq.outputs)``. ``ReplaceToLinear`` then turns the final
softmax into the identity, so the score is the pre-softmax logit as in the native engine
(Score-CAM applies the softmax to it again itself).
"""
from __future__ import annotations

import importlib

import numpy as np

from fer_keras.errors import FerInputError, require_tensorflow
from fer_keras.explain import _core


def functional(model):
    """``model`` as a functional ``keras.Model`` over the same layers (weights shared)."""
    import keras

    if isinstance(model, keras.Sequential):
        return keras.Model(model.inputs, model.outputs, name=f"{model.name}_functional")
    return model


def counterpart(method):
    """The tf-keras-vis class of ``method`` (a :class:`~fer_keras.explain.methods.Method`) and
    its :class:`~fer_keras.explain.methods.Counterpart`, or a one-line error when it has none."""
    from fer_keras.explain import methods

    spec = method.tfkv
    if spec is None:
        have = [n for n, m in methods.registry().items() if m.tfkv is not None]
        raise FerInputError(f"saliency method {method.name!r} has no tf-keras-vis counterpart; "
                            f"use engine 'native' (tf-keras-vis has: {', '.join(have)})",
                            entry="--engine")
    module, _, cls = spec.cls.rpartition(".")
    return getattr(importlib.import_module(module), cls), spec


def saliency_maps_tfkv(model, x, labels, method, batch_size=128, samples=20, noise=0.15,
                       layer=None, seed=0):
    """Same contract as :func:`fer_keras.explain.saliency_maps` (``x`` float ``(N, H, W, c)``
    in the model's input range, ``labels`` int ``(N,)``, ``method`` a registered
    :class:`~fer_keras.explain.methods.Method`); returns float32 ``(N, H, W)`` in [0, 1]."""
    import keras

    if keras.backend.backend() != "tensorflow":
        raise FerInputError("engine='tf-keras-vis' needs KERAS_BACKEND=tensorflow")
    if method.tfkv is None:
        counterpart(method)  # the one-line refusal, before importing anything
    require_tensorflow("engine='tf-keras-vis'")
    from tf_keras_vis.utils.model_modifiers import ReplaceToLinear
    from tf_keras_vis.utils.scores import CategoricalScore

    cls, spec = counterpart(method)
    vis = cls(functional(model), model_modifier=ReplaceToLinear(), clone=True)
    kw = {}
    if method.layer:
        kw.update(penultimate_layer=layer, seek_penultimate_conv_layer=False)
    if spec.smooth:
        kw.update(smooth_samples=samples, smooth_noise=noise)
    if spec.batched:
        kw.update(batch_size=batch_size)
    out = []
    for lo in range(0, len(x), batch_size):
        xb, yb = x[lo:lo + batch_size], labels[lo:lo + batch_size]
        if spec.smooth:
            np.random.seed(seed)  # tf-keras-vis draws its noise from numpy's global generator
        m = vis(CategoricalScore(list(map(int, yb))), xb, **kw)
        out.append(np.asarray(m, np.float32).reshape(len(xb), *x.shape[1:3]))
    if not out:
        return np.zeros((0,) + x.shape[1:3], np.float32)
    return _core.normalize_maps(np.concatenate(out))
