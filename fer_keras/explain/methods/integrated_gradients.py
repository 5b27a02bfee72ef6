"""Integrated Gradients (Sundararajan, Taly & Yan 2017, "Axiomatic Attribution for Deep
Networks", ICML): the gradient of the pre-softmax class score averaged along the straight path
from a baseline image ``x'`` to the image ``x``, times ``x - x'``. Completeness: the
attributions sum to ``score(x) - score(x')``.

Two baselines, two registered methods:

* ``"ig-black"`` - a black image, the paper's choice for images. A black pixel then gets no
  attribution whatever the model does with it.
* ``"ig-blur"`` - a Gaussian-blurred copy of the image (Sturmfels, Lundberg & Lee 2020,
  "Visualizing the Impact of Feature Attribution Baselines", Distill; Fong & Vedaldi 2017):
  what the image adds beyond its coarse shading. Sigma 5 px, the substrate of the
  deletion/insertion check (:func:`fer_keras.explain.deletion_insertion`), so the attribution
  answers the question insertion asks.

The map is the positive part of the attribution (summed over channels): the pixels whose
difference from the baseline raises the class score, the evidence *for* the class, which is
what the removal checks remove first.
"""
from __future__ import annotations

import numpy as np

from fer_keras.explain import _core
from fer_keras.explain.methods import Method, register
from fer_keras.explain.methods._gradients import score_grad_fn

#: Default path steps (Sundararajan et al. suggest 20 to 300 and checking completeness; see
#: tests/explain/methods/test_integrated_gradients.py and RESULTS.md for the error at 32).
STEPS = 32
#: The blurred baseline's Gaussian sigma in pixels (the deletion/insertion substrate's).
BLUR_SIGMA = 5.0
BASELINES = ("black", "blur")


def baseline_images(x, baseline="black", blur_sigma=BLUR_SIGMA):
    """The baseline of each image of ``x`` (float32 ``(N, H, W, c)`` in [0, 1]): ``"black"``
    (zeros), ``"blur"`` (Gaussian, ``blur_sigma`` px, reflected edges) or an array of ``x``'s
    shape."""
    from fer_keras.errors import FerInputError

    if isinstance(baseline, str):
        if baseline == "black":
            return np.zeros_like(x)
        if baseline == "blur":
            from fer_keras.explain.ascent import _gaussian_blur

            return _gaussian_blur(np.asarray(x, np.float32), blur_sigma)
        raise FerInputError(f"unknown baseline {baseline!r}; valid: {', '.join(BASELINES)} or "
                            "an array of the images' shape")
    b = np.asarray(baseline, np.float32)
    if b.shape != x.shape:
        raise FerInputError(f"baseline of shape {b.shape} does not match the images {x.shape}")
    return b


def attributions(request, x, y, baseline="black", steps=STEPS, blur_sigma=BLUR_SIGMA):
    """Integrated Gradients of image-space ``x`` (float32 ``(N, H, W, c)`` in [0, 1]) for the
    classes ``y``.

    The path integral is the midpoint rule over ``steps`` equal steps (gradients at
    ``alpha = (k + 1/2) / steps``), plus one pass at each end for the two scores: ``steps + 2``
    gradient evaluations per image, one batch of images per evaluation. The midpoint rule never
    evaluates the gradient at the baseline itself, where a black image sits exactly on every
    ReLU's kink (a bias-free ReLU network is linear along the path from black, and the
    trapezoid rule's half weight on the kink's zero gradient cost 1/(2 steps) of the total).

    Returns dict: ``attributions`` float32 ``(N, H, W, c)`` (signed; ``(x - x')`` times the
    mean gradient), ``score`` and ``baseline_score`` float32 ``(N,)`` (pre-softmax scores of
    ``x`` and ``x'``): completeness says ``attributions.sum(axis=(1, 2, 3))`` is close to
    ``score - baseline_score``, up to the quadrature error.
    """
    from fer_keras.errors import FerInputError

    if int(steps) < 1:
        raise FerInputError(f"steps must be positive, got {steps}")
    grad = score_grad_fn(request.model, request.contract)
    base = baseline_images(x, baseline, blur_sigma)
    alphas = ((np.arange(steps) + 0.5) / steps).astype(np.float32)
    out = np.empty(x.shape, np.float32)
    s_x = np.empty(len(x), np.float32)
    s_b = np.empty(len(x), np.float32)
    bs = request.batch_size
    for lo in range(0, len(x), bs):
        xb, bb, yb = x[lo:lo + bs], base[lo:lo + bs], y[lo:lo + bs]
        acc = np.zeros(xb.shape, np.float64)
        for alpha in alphas:
            acc += grad(bb + alpha * (xb - bb), yb)[1]
        s_b[lo:lo + len(xb)] = grad(bb, yb)[0]
        s_x[lo:lo + len(xb)] = grad(xb, yb)[0]
        out[lo:lo + len(xb)] = (xb - bb) * (acc / steps)
    return {"attributions": out, "score": s_x, "baseline_score": s_b}


def integrated_gradients(model, images, labels=None, baseline="black", steps=STEPS,
                         blur_sigma=BLUR_SIGMA, batch_size=128, contract=None, input_range=None,
                         classes=None):
    """Integrated Gradients (Sundararajan et al. 2017) of ``images`` (any form
    :func:`fer_keras.explain.as_batch` takes, resized to the model's input) for the classes
    ``labels`` (default: the predicted ones), signed, before any map is made of them.

    ``baseline``: ``"black"``, ``"blur"`` or an image-space array of the images' shape. Returns
    :func:`attributions`' dict; the saliency maps ``"ig-black"`` / ``"ig-blur"`` are the positive
    part of ``attributions`` summed over channels, scaled to [0, 1]."""
    from fer_keras.explain.methods import Request
    from fer_keras.explain.saliency import target_labels

    model, c = _core.resolve(model, contract, input_range, classes)
    x = _core.as_batch(images, model, c)
    y = target_labels(model, x, labels, contract=c)
    return attributions(Request(model, c, batch_size=batch_size), x, y, baseline, steps,
                        blur_sigma)


def _map(baseline):
    def compute(request, x, y, steps=STEPS, blur_sigma=BLUR_SIGMA):
        a = attributions(request, x, y, baseline, steps, blur_sigma)["attributions"]
        return _core.normalize_maps(np.maximum(a.sum(axis=-1), 0))

    compute.__qualname__ = compute.__name__ = f"compute_{baseline}"
    compute.__doc__ = (f"The positive part of the Integrated Gradients attribution (summed over "
                       f"channels) from a {baseline} baseline, float32 ``(N, H, W)`` in [0, 1].")
    return compute


compute_black = _map("black")
compute_blur = _map("blur")

BLACK = register(Method(
    name="ig-black", title="Integrated Gradients (black baseline)", year=2017,
    compute=compute_black,
    caption="Integrated Gradients from a black image, positive part (Sundararajan et al. 2017)"))
BLUR = register(Method(
    name="ig-blur", title="Integrated Gradients (blurred baseline)", year=2017,
    compute=compute_blur,
    caption="Integrated Gradients from a blurred copy (sigma 5 px), positive part (Sundararajan "
            "et al. 2017; blurred baseline: Sturmfels et al. 2020)"))
