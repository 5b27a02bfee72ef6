"""Saliency maps (HW3 Q4, HW4 Q1): which pixels the class score depends on.

:func:`saliency_maps` computes the maps of any registered method (:mod:`fer_keras.explain.methods`,
one module per method: gradients, class activation maps, Integrated Gradients, occlusion, RISE),
batched over many images. The native implementation runs on the TensorFlow and JAX backends;
``engine="tf-keras-vis"`` computes the same maps with tf-keras-vis (TensorFlow only) for the
methods that have a counterpart there, which the tests use as an independent cross-check.
"""
from __future__ import annotations

import inspect

import numpy as np

from fer_keras.errors import FerInputError
from fer_keras.explain import _core
from fer_keras.explain import methods as _methods

ENGINES = ("native", "tf-keras-vis")


def target_labels(model, x, labels, batch_size=256, contract=None):
    """``labels`` as int32 ``(N,)`` (indices in the model's output order); ``None`` means the
    model's predicted class per image."""
    c = contract or _core._contract.of(model)
    if labels is None:
        return _core.predict_proba(model, x, batch_size, c).argmax(axis=1).astype(np.int32)
    labels = np.asarray(labels).astype(np.int32).reshape(-1)
    if len(labels) != len(x):
        raise FerInputError(f"got {len(labels)} labels for {len(x)} images")
    if labels.size and (labels.min() < 0 or labels.max() >= c.num_classes):
        raise FerInputError(f"labels must be class indices 0..{c.num_classes - 1}")
    return labels


def _check_options(method, options):
    """The method's own keyword options, or a one-line error naming the valid ones."""
    options = dict(options or {})
    params = inspect.signature(method.compute).parameters
    valid = [k for k, p in list(params.items())[3:] if p.kind == p.POSITIONAL_OR_KEYWORD
             or p.kind == p.KEYWORD_ONLY]
    unknown = [k for k in options if k not in valid]
    if unknown:
        have = ", ".join(valid) if valid else "none"
        raise FerInputError(f"saliency method {method.name!r} has no option {unknown[0]!r}; its "
                            f"options: {have}")
    return options


def saliency_maps(model, images, labels=None, method="vanilla", batch_size=128, samples=20,
                  noise=0.15, layer=None, seed=0, engine="native", contract=None,
                  input_range=None, classes=None, options=None):
    """Saliency maps of ``images`` for the class ``labels`` (default: the predicted class).

    Args:
        model: any Keras image classifier (Sequential, functional with branches, nested), or a
            model path (:func:`fer_keras.models.load_classifier`).
        images: uint8 ``(N, h, w)`` or float ``(N, h, w, 1)`` in [0, 1], any size (resized to
            the model's input with antialiasing).
        labels: int ``(N,)`` classes to explain (indices in the model's output order), or
            ``None`` for the predicted ones.
        method: a registered method's name (:func:`fer_keras.explain.methods.names`:
            ``"vanilla"``, ``"smoothgrad"``, ``"gradcam"``, ``"scorecam"``, ``"rise"`` ...).
        batch_size: images per gradient call.
        samples, noise: SmoothGrad's number of noisy copies and noise level (share of the
            image's value range).
        layer: the layer of a method that reads one (the CAM family; default the method's
            own, :func:`~fer_keras.explain.gradcam_layer`: the last convolution's rectified
            output); ignored by the others.
        seed: the seed of a method's randomness (SmoothGrad's noise, RISE's masks).
        engine: ``"native"`` (any supported backend) or ``"tf-keras-vis"`` (TensorFlow).
        contract, input_range, classes: the model's input contract, or overrides of the
            attached/inferred one (:func:`fer_keras.models.contract.of`).
        options: the method's own settings, e.g. ``{"masks": 2000}`` for RISE (see each
            method's ``compute``); an unknown one is a one-line error.

    The gradient and CAM methods differentiate the pre-softmax class score
    (:func:`fer_keras.explain.score_source` says which: a softmax layer's input, or a
    fused-softmax layer rebuilt linear); occlusion, RISE and Score-CAM read the class
    probability, as their papers do. Maps are of the image at the model's resolution in [0, 1].

    Returns:
        float32 ``(N, H, W)`` at the model's input resolution, each map scaled to [0, 1] by its
        own min and max (all zeros where the map is constant, e.g. a Grad-CAM whose rectified
        sum is empty). The tf-keras-vis engine refuses a method without a counterpart there.
    """
    model, c = _core.resolve(model, contract, input_range, classes)
    m = _methods.get(method)
    opts = _check_options(m, options)
    if engine not in ENGINES:
        raise FerInputError(f"unknown saliency engine {engine!r}; valid: {', '.join(ENGINES)}")
    if samples < 1 or batch_size < 1:
        raise FerInputError("samples and batch_size must be positive")
    x = _core.as_batch(images, model, c)
    y = target_labels(model, x, labels, contract=c)
    if m.layer:
        layer = layer or m.layer_for(model, c)
        _core.layer_index(model, layer, need_spatial=True, what=m.title, contract=c)
    else:
        layer = None
    if engine == "tf-keras-vis":
        from fer_keras.explain.tfvis import saliency_maps_tfkv

        return saliency_maps_tfkv(model, c.to_model(x), y, m, batch_size=batch_size,
                                  samples=samples, noise=noise, layer=layer, seed=seed)
    if len(x) == 0:
        return np.zeros((0,) + x.shape[1:3], np.float32)
    request = _methods.Request(model=model, contract=c, layer=layer, batch_size=batch_size,
                               seed=seed, samples=samples, noise=noise)
    return np.asarray(m.compute(request, x, y, **opts), np.float32)
