"""Checks that an explanation explains the model (not the image, not the eye of the beholder).

* :func:`sanity_check` - model-randomisation test (Adebayo et al. 2018, "Sanity Checks for
  Saliency Maps"): re-initialise every weight and compare the maps with the trained model's by
  Spearman rank correlation. A method that explains the model gives unrelated maps (low
  correlation); an edge detector in disguise gives the same map either way.
  :func:`cascading_randomization` does it from the top layer down, one layer at a time (a
  curve). Constant ("blank") maps have no ranks; :func:`randomization_summary` says how they
  count: a blank map of the *trained* model is no answer, a blank map of the *randomised*
  model where the trained one was informative is a change (Spearman 0).
* :func:`deletion_insertion` - causal faithfulness (Petsiuk, Das & Saenko 2018, "RISE"):
  delete the most salient pixels first (replacing them with a blurred copy's) and watch the
  class probability fall (low deletion AUC is good), or insert them first into the blurred copy
  and watch it rise (high insertion AUC is good).
  Compare with the control maps' AUCs (:mod:`fer_keras.explain.controls`), and see ROAD
  (:mod:`fer_keras.explain.road`) for a removal that does not create its own evidence.
* :func:`mask_concentration` - ground truth: on the synthetic faces the class lives only in
  the mouth, eyebrows and eyes (:func:`fer_keras.data.synthetic.make_faces` returns their masks);
  the share of saliency mass inside the mask divided by the mask's share of the image is > 1 when
  the map points at the evidence (1 = no better than uniform).
"""
from __future__ import annotations

import keras
import numpy as np

from fer_keras.errors import FerInputError
from fer_keras.explain import _core
from fer_keras.explain._graph import layer_stack

#: Variables re-initialised by :func:`randomized_copy`, by the attribute that holds their
#: initializer (``<name>_initializer``): kernels, biases, BN's scale/offset and moving stats.
_REINIT = ("kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance",
           "depthwise_kernel", "pointwise_kernel", "embeddings")


#: The sanity check's verdict: a map counts as unrelated to the trained model's when the mean
#: Spearman correlation over the images is below this (Adebayo et al. 2018 show maps that pass
#: at about 0 to 0.2 and edge-detector-like ones that fail at 0.6 and more).
SANITY_MAX_SPEARMAN = 0.3
#: When more than this share of the *trained* model's maps are constant (blank), the method
#: has no answer on these images and the randomisation checks have none either (NaN).
SANITY_MAX_CONSTANT = 0.1


def _reinit_layer(layer, seed, k):
    """Re-draw ``layer``'s variables from their own initializers, the ``j``-th one with seed
    ``seed * 1000 + k + j``; returns the next ``k``."""
    for name in _REINIT:
        var = getattr(layer, name, None)
        init = getattr(layer, f"{name}_initializer", None)
        if var is None or init is None or not hasattr(var, "assign"):
            continue
        config = init.get_config()
        if "seed" in config:
            config["seed"] = int(seed) * 1000 + k
        fresh = type(init).from_config(config)
        var.assign(fresh(tuple(var.shape), dtype=var.dtype))
        k += 1
    return k


def _clone(model):
    """A copy of ``model`` with its weights (what the randomisation checks re-initialise), or a
    one-line :class:`FerInputError` for a model whose layers cannot be copied."""
    opaque = [layer.name for layer in layer_stack(model)
              if type(layer).__name__ == "TFSMLayer"]
    if opaque:
        raise FerInputError(f"the randomisation checks re-initialise the model's layers, and "
                            f"model {model.name!r} is an opaque TensorFlow SavedModel "
                            f"({opaque[0]}) with none to re-initialise; give a .keras or .h5 "
                            "file of it")
    try:
        clone = keras.models.clone_model(model)
    except Exception as e:  # noqa: BLE001  (subclassed and custom models fail in many ways)
        raise FerInputError(f"the randomisation checks need a copy of model {model.name!r}, "
                            f"and Keras cannot clone it ({type(e).__name__}: "
                            f"{' '.join(str(e).split())[:120]})") from None
    clone.build(model.input_shape)
    clone.set_weights(model.get_weights())
    return _core.share_contract(model, clone)


def randomized_copy(model, seed=0):
    """A copy of ``model`` with every weight re-drawn from its layer's own initializer (same
    architecture and layer names): Adebayo et al. 2018's full model randomisation.

    Seeded per variable, so the copy is reproducible, without touching Keras' global random
    state; the original model is untouched.
    """
    clone = _clone(model)
    k = 0
    for layer in layer_stack(clone):
        k = _reinit_layer(layer, seed, k)
    return clone


def spearman_rows(a, b):
    """float64 ``(N,)``: Spearman rank correlation of each pair of flattened maps; NaN where
    either map is constant (a constant map ranks nothing, so it is neither correlated nor
    uncorrelated with anything)."""
    from scipy.stats import rankdata

    a = np.asarray(a, np.float64).reshape(len(a), -1)
    b = np.asarray(b, np.float64).reshape(len(b), -1)
    if a.shape != b.shape:
        raise FerInputError(f"maps of different shapes: {a.shape} vs {b.shape}")
    ra, rb = rankdata(a, axis=1), rankdata(b, axis=1)
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    den = np.sqrt((ra * ra).sum(axis=1) * (rb * rb).sum(axis=1))
    return np.where(den > 0, (ra * rb).sum(axis=1) / np.where(den > 0, den, 1), np.nan)


def blank_maps(maps):
    """bool ``(N,)``: which maps are constant (no pixel ranked above another)."""
    flat = np.asarray(maps, np.float64).reshape(len(maps), -1)
    if flat.shape[1] == 0:
        return np.ones(len(flat), bool)
    return flat.max(axis=1) == flat.min(axis=1)


def randomization_summary(trained, randomized):
    """How much of the trained maps survives in the randomised model's maps.

    Per pair, the Spearman rank correlation (:func:`spearman_rows`), with the constant
    ("blank") maps counted by what they mean:

    * trained map blank: the method says nothing about this image, so there is nothing to
      compare; the pair is left out, and when more than :data:`SANITY_MAX_CONSTANT` of the
      trained maps are blank the check has no answer (NaN);
    * trained map informative, randomised map blank: the ranking the trained model gave is
      gone, the map changed; the pair counts as 0 (no rank association).

    Returns ``(mean Spearman over the pairs with an informative trained map, share of the
    randomised maps that are blank, share of the trained maps that are blank)``.
    """
    rho = spearman_rows(trained, randomized)
    blank_t, blank_r = blank_maps(trained), blank_maps(randomized)
    n = len(rho)
    if n == 0:
        return float("nan"), float("nan"), float("nan")
    blank_share, constant = float(blank_t.mean()), float(blank_r.mean())
    if blank_share > SANITY_MAX_CONSTANT:
        return float("nan"), constant, blank_share
    rho = np.where(blank_r, 0.0, rho)[~blank_t]
    return (float(rho.mean()) if rho.size else float("nan")), constant, blank_share


def model_randomization(model, images, labels, method, seed=0, trained_maps=None,
                        **saliency_kw):
    """Adebayo et al. 2018's full model randomisation, in detail.

    Returns dict: ``spearman`` (mean rank correlation between the maps of ``model`` and of
    :func:`randomized_copy`, blank maps counted as :func:`randomization_summary` says; NaN
    when more than :data:`SANITY_MAX_CONSTANT` of the trained maps are blank),
    ``constant_share`` (share of the randomised model's maps that are blank) and
    ``blank_share`` (share of the trained model's).
    ``trained_maps``: the trained model's maps, if already computed (same images, labels and
    ``saliency_kw``).
    """
    from fer_keras.explain.saliency import saliency_maps

    labels = np.asarray(labels).astype(np.int32)
    if trained_maps is None:
        trained_maps = saliency_maps(model, images, labels, method=method, seed=seed,
                                     **saliency_kw)
    rand = randomized_copy(model, seed=seed + 1)
    random_maps_ = saliency_maps(rand, images, labels, method=method, seed=seed, **saliency_kw)
    rho, constant, blank = randomization_summary(trained_maps, random_maps_)
    return {"spearman": rho, "constant_share": constant, "blank_share": blank}


def sanity_check(model, images, labels, method, seed=0, **saliency_kw):
    """Mean Spearman rank correlation between the maps of ``model`` and of a randomly
    re-initialised copy (:func:`randomized_copy`), same images and target classes. Below
    :data:`SANITY_MAX_SPEARMAN` for a method that depends on the learned weights; NaN when the
    trained model's maps are blank too often to tell (see :func:`randomization_summary`)."""
    return model_randomization(model, images, labels, method, seed=seed, **saliency_kw)["spearman"]


def weight_groups(model):
    """Names of the layers that :func:`cascading_randomization` randomises one step at a time,
    bottom up, up to the logits: each layer with weights (convolution, dense), together with the
    elementwise layers with weights that follow it (batch normalisation), as
    ``[[conv1, bn1], [conv2, bn2], ..., [logits]]``."""
    g = _core.graph(model)
    scored = g.depends | {g.score_layer}  # the layers the pre-softmax score depends on
    groups = []
    for layer in layer_stack(model):
        if layer.name not in scored:
            continue
        if not any(getattr(layer, n, None) is not None for n in _REINIT):
            continue
        if groups and type(layer).__name__ in _core._ELEMENTWISE:
            groups[-1].append(layer.name)
        else:
            groups.append([layer.name])
    return groups


def cascading_randomization(model, images, labels, method, seed=0, trained_maps=None,
                            **saliency_kw):
    """Adebayo et al. 2018's cascading randomisation: re-initialise the weights from the top
    layer (the logits) down, one :func:`weight_groups` group more at each step, and compare
    the maps with the trained model's after each step.

    A method that explains the model decorrelates as soon as the top layers are random (the
    class evidence lives there); a method whose curve stays high until the bottom layers are
    reached, or to the end, is mostly reading the image.

    Returns dict: ``layers`` (the first layer of each group, top down: step ``i`` has every
    group up to and including ``layers[i]`` randomised), ``spearman`` float64 ``(L,)`` (blank
    maps counted as :func:`randomization_summary` says; NaN throughout when the trained maps
    are blank too often), ``constant_share`` float64 ``(L,)`` (the randomised maps' blank
    share per step) and ``blank_share`` (the trained maps'). The model is untouched (a copy is
    randomised).
    """
    from fer_keras.explain.saliency import saliency_maps

    labels = np.asarray(labels).astype(np.int32)
    if trained_maps is None:
        trained_maps = saliency_maps(model, images, labels, method=method, seed=seed,
                                     **saliency_kw)
    clone = _clone(model)
    by_name = {layer.name: layer for layer in layer_stack(clone)}
    names, rhos, constants = [], [], []
    blank = float(blank_maps(trained_maps).mean()) if len(trained_maps) else float("nan")
    k = 0
    for group in reversed(weight_groups(clone)):
        for name in group:
            k = _reinit_layer(by_name[name], seed + 1, k)
        maps = saliency_maps(clone, images, labels, method=method, seed=seed, **saliency_kw)
        rho, constant, _ = randomization_summary(trained_maps, maps)
        names.append(group[0])
        rhos.append(rho)
        constants.append(constant)
    return {"layers": names, "spearman": np.asarray(rhos, np.float64),
            "constant_share": np.asarray(constants, np.float64), "blank_share": blank}


def _order(maps, rng):
    """Pixel order per map, most salient first; ties broken at random."""
    flat = np.asarray(maps, np.float64).reshape(len(maps), -1)
    jitter = rng.random(flat.shape) * 1e-9
    return np.argsort(-(flat + jitter), axis=1, kind="stable")


def _validate_removal(images, labels, maps, model=None):
    """``(x, labels, maps)`` of a removal metric: float32 ``(N, H, W, c)`` images (at
    ``model``'s input size when given), int64 ``(N,)`` labels and float32 maps with one value
    per pixel, or a one-line error."""
    x = _core.as_batch(images, model)
    labels = np.asarray(labels).astype(np.int64).reshape(-1)
    maps = np.asarray(maps, np.float32)
    if maps.shape[0] != len(x) or maps.reshape(len(x), -1).shape[1] != x[0].size:
        raise FerInputError(f"maps of shape {maps.shape} do not match images {x.shape}")
    if len(labels) != len(x):
        raise FerInputError(f"got {len(labels)} labels for {len(x)} images")
    return x, labels, maps


def deletion_insertion(model, images, labels, maps, steps=16, blur_sigma=5.0, seed=0,
                       batch_size=512, fill="blur"):
    """Deletion and insertion AUC of saliency ``maps`` (Petsiuk et al. 2018).

    Deletion: the pixels are replaced, in order of decreasing saliency, ``steps`` equal chunks
    at a time, by those of a Gaussian-blurred copy (``blur_sigma`` px; ``fill="blur"``), by the
    image's mean grey (``"mean"``) or by black (``"black"``, Petsiuk et al.'s choice). Insertion:
    starting from the blurred copy, the original pixels are put back in the same order. The curve
    is the model's probability of ``labels[i]`` after each step (``steps + 1`` points, from 0% to
    100% of the pixels); the AUC is its trapezoid mean over [0, 1], averaged over the images.

    Why blur by default: at 48x48 a scatter of black pixels is itself strong (out-of-distribution)
    evidence, and deleting pixels at random destroys the prediction faster than deleting the
    true evidence: with black fill, the synthetic faces' ground-truth part masks score a worse
    deletion AUC (0.201) than random maps (0.185) on a model trained on them, which makes the
    test meaningless. With blur fill they score 0.184 against random's 0.409.

    Returns dict with ``deletion_auc``, ``insertion_auc`` (floats) and the mean ``deletion_curve``
    and ``insertion_curve`` (float64 ``(steps + 1,)``).
    """
    from fer_keras.explain.ascent import _gaussian_blur

    x, labels, maps = _validate_removal(images, labels, maps, model)
    if steps < 1:
        raise FerInputError("steps must be positive")
    if fill not in ("blur", "mean", "black"):
        raise FerInputError(f"fill must be blur, mean or black, got {fill!r}")
    n, npix = len(x), x[0].size
    order = _order(maps, np.random.default_rng(seed))
    rank = np.empty_like(order)
    rank[np.arange(n)[:, None], order] = np.arange(npix)[None]
    counts = np.round(np.linspace(0, npix, steps + 1)).astype(np.int64)
    flat = x.reshape(n, npix)
    blurred = _gaussian_blur(x, blur_sigma).reshape(n, npix)
    substrate = {"black": 0.0, "blur": blurred, "mean": flat.mean(axis=1, keepdims=True)}[fill]
    curves = {}
    for kind in ("deletion", "insertion"):
        probs = np.empty((n, steps + 1))
        for j, k in enumerate(counts):
            top = rank < k  # (n, npix): the k most salient pixels of each image
            if kind == "deletion":
                v = np.where(top, substrate, flat)
            else:
                v = np.where(top, flat, blurred)
            p = _core.predict_proba(model, v.reshape(x.shape).astype(np.float32), batch_size)
            probs[:, j] = p[np.arange(n), labels]
        curves[kind] = probs
    # trapezoid rule by hand: np.trapezoid is numpy >= 2 only, np.trapz is gone in numpy 2
    auc = {k: float(((c[:, 1:] + c[:, :-1]) / 2).sum(axis=1).mean() / steps)
           for k, c in curves.items()}
    return {"deletion_auc": auc["deletion"], "insertion_auc": auc["insertion"],
            "deletion_curve": curves["deletion"].mean(axis=0),
            "insertion_curve": curves["insertion"].mean(axis=0)}


def random_maps(n, shape=(48, 48), seed=0):
    """Uniform random maps float32 ``(n, *shape)``: the baseline of :func:`deletion_insertion`."""
    return np.random.default_rng(seed).random((n,) + tuple(shape)).astype(np.float32)


def mask_concentration(maps, masks):
    """Mean over images of (share of the map's mass inside ``masks``) / (share of the image the
    mask covers). 1 = no better than a uniform map; images with an empty mask or an all-zero
    map are left out (NaN if none is left)."""
    maps = np.asarray(maps, np.float64)
    masks = np.asarray(masks, bool)
    if maps.shape != masks.shape:
        raise FerInputError(f"maps {maps.shape} and masks {masks.shape} differ in shape")
    n = len(maps)
    m = maps.reshape(n, -1)
    k = masks.reshape(n, -1)
    total = m.sum(axis=1)
    area = k.mean(axis=1)
    ok = (total > 0) & (area > 0)
    if not ok.any():
        return float("nan")
    inside = (m * k).sum(axis=1)[ok] / total[ok]
    return float((inside / area[ok]).mean())
