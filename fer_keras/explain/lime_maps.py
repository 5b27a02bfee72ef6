"""LIME on 48x48 grey faces (HW4 Q3): which superpixels speak for each class.

LIME (Ribeiro, Singh & Guestrin 2016, "Why Should I Trust You?": Explaining the Predictions of
Any Classifier) switches superpixels on and off at random, asks the model for the class
probabilities of each perturbed image, and fits a weighted linear model per class whose
coefficients are the superpixels' importance.

Two things in lime's defaults do not fit FER2013's images:

* its default segmentation, quickshift(kernel_size=4, max_dist=200), is tuned for large colour
  photographs: on a 48x48 grey face it returns about 3 segments, and an explanation over three
  blobs says nothing. :func:`slic_segments` uses SLIC (Achanta et al. 2012) with ~50 requested
  segments and a compactness tuned for grey levels in [0, 1]: 35-51 superpixels on both the
  synthetic faces and real FER2013 faces (measured on 100-200 images of each);
* lime builds its perturbed images one at a time in a Python loop, converts grey images to RGB
  copies and calls the classifier in batches of 10 (about 8 s for 1,000 samples here). The
  perturbed images are built here in one vectorised step, kept as the one grey channel the model
  takes, and classified through a compiled forward pass in batches of ``batch_size``; lime's own
  sampler, kernel and ridge fit (``LimeBase``) do the rest, so the explanation is LIME's.
"""
from __future__ import annotations

import numpy as np

from fer_keras.errors import FerInputError
from fer_keras.explain import _core

#: SLIC compactness for grey levels in [0, 1] (skimage's default of 10 assumes Lab colour, whose
#: range is ~100 times larger, and would give a plain grid).
SLIC_COMPACTNESS = 0.2


def slic_segments(image, n_segments=50, compactness=SLIC_COMPACTNESS):
    """SLIC superpixels of one grey image: int64 ``(48, 48)`` labels 0..S-1 (S about 35-51 for
    ``n_segments=50``). ``image``: uint8 ``(48, 48)`` or float in [0, 1] (grey or RGB copies)."""
    from skimage.segmentation import slic

    a = np.asarray(image)
    if a.ndim == 3:
        a = a[..., 0]
    a = _core.as_image(a)[..., 0].astype(np.float64)
    seg = slic(a, n_segments=int(n_segments), compactness=float(compactness), channel_axis=None,
               start_label=0, enforce_connectivity=True)
    # relabel to 0..S-1 so that segment ids index the weight vectors directly
    _, seg = np.unique(seg, return_inverse=True)
    return seg.reshape(a.shape).astype(np.int64)


def lime_explanation(model, image, num_samples=1000, n_segments=50, seed=0, batch_size=1000,
                     num_features=5, compactness=SLIC_COMPACTNESS, hide_color=None,
                     contract=None, input_range=None, classes=None):
    """LIME explanation of one image for every class (HW4 Q3).

    The image is explained at the model's input resolution (resized with antialiasing), grey in
    [0, 1]; the perturbed images go through the model's input contract.

    Args:
        model: any Keras image classifier, or a model path.
        image: uint8 ``(h, w)`` or float in [0, 1], any size.
        num_samples: perturbed images LIME draws.
        n_segments: SLIC segments requested (the number found, S, is usually a little lower).
        seed: seed of LIME's sampling.
        batch_size: images per model call.
        num_features: superpixels in each class's mask (the top positive ones).
        compactness: SLIC compactness (see :data:`SLIC_COMPACTNESS`).
        hide_color: grey level (in [0, 1], or 0..255) of a switched-off superpixel; ``None``
            (LIME's default) fills it with its own mean, which removes its texture but not its
            brightness.
        contract, input_range, classes: the model's input contract or overrides
            (:func:`fer_keras.models.contract.of`).

    Returns:
        dict with ``segments`` int64 ``(H, W)`` in 0..S-1, ``weights`` float64 ``(K, S)`` (the
        linear model's coefficient of each superpixel, per class in the model's output order,
        K classes), ``masks`` bool ``(K, H, W)`` (the top ``num_features`` positively weighted
        superpixels per class; fewer if fewer are positive), ``probs`` float32 ``(K,)`` (the
        model on the image), ``intercept`` and ``score`` float64 ``(K,)`` (the local linear
        model's intercept and weighted R^2, i.e. how faithful the explanation is locally),
        ``n_segments`` (S), ``classes`` (the K class names).
    """
    from lime import lime_image

    model, c = _core.resolve(model, contract, input_range, classes)
    if num_samples < 2:
        raise FerInputError(f"num_samples must be at least 2, got {num_samples}")
    x = _core.as_image(image, model, c).mean(axis=-1).astype(np.float64)
    segments = slic_segments(x, n_segments, compactness)
    n_seg = int(segments.max()) + 1

    # lime_image.LimeImageExplainer.explain_instance, vectorised: lime builds the perturbed
    # images one by one in a Python loop (with an unconditional progress bar) and keeps only
    # the last class's fit score; the sampling, kernel, distance and ridge fit below are
    # lime's own (its random state, LimeBase), so the result is LIME's.
    explainer = lime_image.LimeImageExplainer(random_state=seed)
    fudged = _hidden(x, segments, hide_color)
    data = explainer.random_state.randint(0, 2, int(num_samples) * n_seg)
    data = data.reshape(int(num_samples), n_seg)
    data[0, :] = 1  # the first sample is the image itself
    off = data[:, segments] == 0  # (num_samples, 48, 48): pixels of switched-off superpixels
    perturbed = np.where(off, fudged[None], x[None]).astype(np.float32)[..., None]
    labels = _core.predict_proba(model, perturbed, batch_size=batch_size, contract=c)
    k = c.num_classes
    import sklearn.metrics

    distances = sklearn.metrics.pairwise_distances(data, data[:1], metric="cosine").ravel()
    weights = np.zeros((k, n_seg))
    masks = np.zeros((k,) + segments.shape, bool)
    intercept = np.zeros(k)
    score = np.zeros(k)
    for j in range(k):
        intercept[j], local_exp, score[j], _ = explainer.base.explain_instance_with_data(
            data, labels, distances, j, n_seg, feature_selection=explainer.feature_selection)
        for seg, w in local_exp:
            weights[j, seg] = w
        top = [s for s in np.argsort(-weights[j])[:num_features] if weights[j, s] > 0]
        masks[j] = np.isin(segments, top)
    probs = labels[0]
    return {"segments": segments, "weights": weights, "masks": masks, "probs": probs,
            "intercept": intercept, "score": score, "n_segments": n_seg,
            "classes": tuple(c.classes)}


def _hidden(x, segments, hide_color):
    """The image with every superpixel switched off: its own mean (``hide_color=None``, as
    lime does) or a constant grey level (uint8-style 0..255 values are rescaled)."""
    if hide_color is None:
        means = np.bincount(segments.ravel(), weights=x.ravel()) / np.bincount(segments.ravel())
        return means[segments]
    level = float(hide_color)
    return np.full_like(x, level / 255.0 if level > 1 else level)
