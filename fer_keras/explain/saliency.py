"""Saliency maps (HW3 Q4, HW4 Q1): which pixels the class score depends on.

Four methods, all batched over many images and all on the pre-softmax class score:

* ``"vanilla"`` - absolute input gradient (Simonyan, Vedaldi & Zisserman 2013, "Deep Inside
  Convolutional Networks: Visualising Image Classification Models and Saliency Maps").
* ``"smoothgrad"`` - the absolute mean gradient over ``samples`` noisy copies of the image, noise
  standard deviation ``noise`` times the image's value range (Smilkov et al. 2017, "SmoothGrad:
  removing noise by adding noise"; 10-20% noise and ~20 samples as they recommend).
* ``"gradcam"`` - class activation map of a convolutional layer, channels weighted by their
  spatially averaged gradient, rectified and upsampled (Selvaraju et al. 2017, "Grad-CAM: Visual
  Explanations from Deep Networks via Gradient-based Localization").
* ``"gradcam++"`` - Grad-CAM with pixel-wise weights from higher-order derivatives, computed in
  closed form through the exponential of the score (Chattopadhay et al. 2018, "Grad-CAM++:
  Generalized Gradient-Based Visual Explanations for Deep Convolutional Networks").

The native implementation runs on the TensorFlow and JAX backends (gradients from
:func:`fer_keras.explain._core.compile_grad`); ``engine="tf-keras-vis"`` computes the same maps
with tf-keras-vis (TensorFlow only), which the tests use as an independent cross-check.
"""
from __future__ import annotations

import keras
import numpy as np

from fer_keras.errors import FerInputError
from fer_keras.explain import _core

METHODS = ("vanilla", "smoothgrad", "gradcam", "gradcam++")
ENGINES = ("native", "tf-keras-vis")


def check_method(method):
    if method not in METHODS:
        raise FerInputError(f"unknown saliency method {method!r}; valid methods: "
                            f"{', '.join(METHODS)}", entry="--method")
    return method


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


def saliency_maps(model, images, labels=None, method="vanilla", batch_size=128, samples=20,
                  noise=0.15, layer=None, seed=0, engine="native", contract=None,
                  input_range=None, classes=None):
    """Saliency maps of ``images`` for the class ``labels`` (default: the predicted class).

    Args:
        model: any Keras image classifier (Sequential, functional with branches, nested), or a
            model path (:func:`fer_keras.models.load_classifier`).
        images: uint8 ``(N, h, w)`` or float ``(N, h, w, 1)`` in [0, 1], any size (resized to
            the model's input with antialiasing).
        labels: int ``(N,)`` classes to explain (indices in the model's output order), or
            ``None`` for the predicted ones.
        method: ``"vanilla"``, ``"smoothgrad"``, ``"gradcam"`` or ``"gradcam++"``.
        batch_size: images per gradient call.
        samples, noise: SmoothGrad's number of noisy copies and noise level (share of the
            image's value range).
        layer: Grad-CAM layer name (default :func:`~fer_keras.explain.gradcam_layer`: the last
            convolution's rectified output).
        seed: SmoothGrad's noise seed.
        engine: ``"native"`` (any supported backend) or ``"tf-keras-vis"`` (TensorFlow).
        contract, input_range, classes: the model's input contract, or overrides of the
            attached/inferred one (:func:`fer_keras.contract.of`).

    The score is the pre-softmax class score (:func:`fer_keras.explain.score_source` says which:
    a softmax layer's input, or a fused-softmax layer rebuilt linear). Gradients are taken with
    respect to the image at the model's resolution in [0, 1]; with several channels the map is
    the largest absolute gradient over them.

    Returns:
        float32 ``(N, H, W)`` at the model's input resolution, each map scaled to [0, 1] by its
        own min and max (all zeros where the map is constant, e.g. a Grad-CAM whose rectified
        sum is empty).
    """
    model, c = _core.resolve(model, contract, input_range, classes)
    check_method(method)
    if engine not in ENGINES:
        raise FerInputError(f"unknown saliency engine {engine!r}; valid: {', '.join(ENGINES)}")
    if samples < 1 or batch_size < 1:
        raise FerInputError("samples and batch_size must be positive")
    x = _core.as_batch(images, model, c)
    y = target_labels(model, x, labels, contract=c)
    if method.startswith("gradcam"):
        layer = layer or _core.gradcam_layer(model, c)
        _core.layer_index(model, layer, need_spatial=True, what="Grad-CAM", contract=c)
    if engine == "tf-keras-vis":
        from fer_keras.explain.tfvis import saliency_maps_tfkv

        return saliency_maps_tfkv(model, c.to_model(x), y, method, batch_size=batch_size,
                                  samples=samples, noise=noise, layer=layer, seed=seed)
    if len(x) == 0:
        return np.zeros((0,) + x.shape[1:3], np.float32)
    if method in ("vanilla", "smoothgrad"):
        raw = _input_gradients(model, c, x, y, batch_size,
                               samples if method == "smoothgrad" else 0, noise, seed)
    else:
        raw = _cam(model, c, x, y, layer, batch_size, plus=method == "gradcam++")
    return _core.normalize_maps(raw)


def _input_grad_fn(model, c):
    score = _core.cached(model, ("score", c.size + (c.channels,)),
                         lambda: _core.graph(model, c).submodel([], score=True))
    return _core.cached_grad(model, ("input", c), _core.image_fn(
        model, c, lambda x, y: _core.class_score(score(x, training=False), y)))


def _input_gradients(model, c, x, y, batch_size, samples, noise, seed):
    """Absolute input gradient ``(N, H, W)`` (largest over channels); with ``samples`` > 0 its
    SmoothGrad mean."""
    grad = _input_grad_fn(model, c)
    rng = np.random.default_rng(seed)
    out = np.empty(x.shape[:3], np.float32)
    for lo in range(0, len(x), batch_size):
        xb, yb = x[lo:lo + batch_size], y[lo:lo + batch_size]
        if not samples:
            out[lo:lo + len(xb)] = np.abs(grad(xb, yb)[1]).max(axis=-1)
            continue
        span = (xb.max(axis=(1, 2, 3), keepdims=True) - xb.min(axis=(1, 2, 3), keepdims=True))
        sigma = np.float32(noise) * span
        acc = np.zeros(xb.shape, np.float32)
        for _ in range(samples):
            noisy = xb + rng.standard_normal(xb.shape, dtype=np.float32) * sigma
            # the signed gradients are averaged and the magnitude taken last (Smilkov et al.
            # 2017, eq. 2). The mean of |gradient| (tf-keras-vis' choice) is the expected
            # gradient magnitude under noise, which follows the image's edges whatever the
            # weights: on a fer_net trained on FER2013 it kept a Spearman of 0.43 with the maps
            # of a randomised copy (fails Adebayo et al.'s check), the signed mean 0.10.
            acc += grad(noisy, yb)[1]
        out[lo:lo + len(xb)] = np.abs(acc).max(axis=-1) / samples
    return out


def _cam(model, c, x, y, layer, batch_size, plus):
    """Grad-CAM (or Grad-CAM++) of ``layer``, upsampled to ``(N, H, W)``, not normalised.

    One forward and backward pass per batch through ``[input, delta] -> [A, score]`` (layer
    ``layer``'s output ``A`` plus a zero ``delta``): the gradient with respect to ``delta`` is
    d score / d A, and ``A`` comes out of the same pass."""
    net = _core._delta_graph(model, c, layer)

    def score(delta, xx, yy):
        a, s = net([c.to_model(xx), delta], training=False)
        return _core.class_score(s, yy), keras.ops.cast(a, "float32")

    grad = _core.cached(model, ("grad", "cam", layer, c),
                        lambda: _core.compile_grad(score, model, aux=True))
    shape = _core.graph(model, c).output_shape(layer)
    cams = []
    for lo in range(0, len(x), batch_size):
        xb = x[lo:lo + batch_size]
        _, g, a = grad(np.zeros((len(xb),) + shape, np.float32), xb, y[lo:lo + batch_size])
        a, g = a.astype(np.float32), g.astype(np.float32)
        if plus:
            cams.append(_gradcam_plus_plus(a, g))
        else:
            weights = g.mean(axis=(1, 2), keepdims=True)
            cams.append(np.maximum((a * weights).sum(axis=-1), 0))
    cam = np.concatenate(cams)[..., None]
    up = keras.ops.image.resize(cam, x.shape[1:3], interpolation="bilinear")
    return np.maximum(keras.ops.convert_to_numpy(up)[..., 0], 0).astype(np.float32)


def _gradcam_plus_plus(a, g):
    """Chattopadhay et al. 2018, eq. 19: with ``S = exp(score)`` and a piecewise-linear network,
    dS/dA = S g, d2S/dA2 = S g^2, d3S/dA3 = S g^3, so the pixel weights alpha need only ``g``.

    ``a``, ``g``: ``(N, h, w, C)`` activations and score gradients; returns ``(N, h, w)``.
    The common factor ``S`` cancels in alpha and only rescales the map, so it is dropped
    (``exp`` of a large logit would overflow float32).
    """
    g2, g3 = g * g, g * g * g
    total = a.sum(axis=(1, 2), keepdims=True)
    denom = 2 * g2 + total * g3
    alpha = np.where(g2 != 0, g2 / np.where(denom != 0, denom, 1), 0)
    # Normalise alpha over space per channel (as the reference implementation does), so
    # channels are weighted by a weighted mean rather than a sum of their positive gradients.
    norm = alpha.sum(axis=(1, 2), keepdims=True)
    alpha = alpha / np.where(norm != 0, norm, 1)
    weights = (alpha * np.maximum(g, 0)).sum(axis=(1, 2), keepdims=True)
    return np.maximum((a * weights).sum(axis=-1), 0)
