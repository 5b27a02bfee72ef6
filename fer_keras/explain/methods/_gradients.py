"""Input gradients of the pre-softmax class score, batched (vanilla, SmoothGrad, Integrated
Gradients): one compiled forward and backward pass per batch, on the TensorFlow and JAX
backends (:func:`fer_keras.explain._core.compile_grad`)."""
from __future__ import annotations

import numpy as np

from fer_keras.explain import _core


def score_grad_fn(model, contract):
    """``g(x, y) -> (scores (N,), d score / d x (N, H, W, c))`` for image-space ``x``, compiled
    and cached per model; the score is the pre-softmax score of class ``y[i]``
    (:func:`fer_keras.explain.score_source`)."""
    c = contract
    score = _core.cached(model, ("score", c.size + (c.channels,)),
                         lambda: _core.graph(model, c).submodel([], score=True))
    return _core.cached_grad(model, ("input", c), _core.image_fn(
        model, c, lambda x, y: _core.class_score(score(x, training=False), y)))


def gradients(request, x, y):
    """Signed ``d score / d x``, float32 ``(N, H, W, c)``, in batches of
    ``request.batch_size``."""
    grad = score_grad_fn(request.model, request.contract)
    out = np.empty(x.shape, np.float32)
    for lo in range(0, len(x), request.batch_size):
        sl = slice(lo, lo + request.batch_size)
        out[sl] = grad(x[sl], y[sl])[1]
    return out


def scores(request, x, y):
    """The pre-softmax class scores ``(N,)`` of ``x`` (one forward and backward pass; the
    gradient is dropped)."""
    grad = score_grad_fn(request.model, request.contract)
    out = np.empty(len(x), np.float32)
    for lo in range(0, len(x), request.batch_size):
        sl = slice(lo, lo + request.batch_size)
        out[sl] = grad(x[sl], y[sl])[0]
    return out
