"""ROAD: RemOve And Debias (Rong, Leemann, Borisov, Kasneci & Kasneci 2022, "A Consistent and
Efficient Evaluation Strategy for Attribution Methods", ICML).

Removal metrics (deletion, insertion, ROAR) replace pixels by something, and the shape of what
was replaced is itself evidence: a scatter of blurred or black pixels is out of distribution and
destroys the prediction whatever the pixels were, while a contiguous hole leaves a
natural-looking image. The class can even be read from the mask alone ("class information
leakage"). ROAD fills each removed pixel by *noisy linear imputation*: the removed pixels solve
the sparse linear system in which each one equals the weighted mean of its 8 neighbours
(weight 1/6 for the 4 direct ones, 1/12 for the 4 diagonal ones, the paper's kernel), known
neighbours entering as constants, and a little Gaussian noise is added to the solution. The
result is smooth where the image is smooth, carries no mask pattern, and needs no retraining.

Two orders (both are needed: one order alone can be gamed):

* MoRF - most relevant first: remove the map's top pixels; a faithful map makes the class
  probability fall fast (low mean probability is good).
* LeRF - least relevant first: remove the map's bottom pixels; a faithful map keeps the
  probability up (high mean probability is good).

:func:`road` reports both curves at several removal shares and the gap ``LeRF - MoRF``
(higher is better; ~0 for a map that ranks pixels at random).
"""
from __future__ import annotations

import numpy as np

from fer_keras.errors import FerInputError
from fer_keras.explain import _core

#: Removal shares of :func:`road` by default: 10%, 20%, ..., 90% of the pixels.
SHARES = tuple(round(0.1 * k, 1) for k in range(1, 10))

# (dy, dx, weight): the paper's imputation kernel
_NEIGHBOURS = tuple((dy, dx, 1 / 12 if dy and dx else 1 / 6)
                    for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx)


def noisy_linear_impute(images, removed, noise=0.01, seed=0):
    """Fill the ``removed`` pixels of ``images`` by noisy linear imputation (Rong et al. 2022).

    Args:
        images: float ``(N, H, W)`` (or ``(N, H, W, 1)``) pixel values.
        removed: bool, same shape: the pixels to replace.
        noise: standard deviation of the Gaussian noise added to each imputed pixel, in the
            images' units (0.01 of [0, 1] grey levels; the ROAD reference implementation's 0.01).
        seed: seed of the noise.

    Returns:
        float32 of ``images``' shape: known pixels unchanged; removed ones the solution of
        ``x_p = sum_q w_q x_q / sum_q w_q`` over the in-image neighbours ``q`` of each removed
        ``p``, plus the noise. One sparse solve for the whole batch (the system is block
        diagonal, one block per image). A removed region with no known pixel at all (an image
        removed entirely) has no solution and raises :class:`FerInputError`.
    """
    from scipy import sparse
    from scipy.sparse.linalg import spsolve

    x = np.asarray(images, np.float64)
    shape = x.shape
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    mask = np.asarray(removed, bool).reshape(x.shape)
    if x.ndim != 3:
        raise FerInputError(f"expected images (N, H, W), got {shape}")
    n, h, w = x.shape
    out = x.copy()
    m = int(mask.sum())
    if m == 0:
        return out.reshape(shape).astype(np.float32)
    if mask.reshape(n, -1).all(axis=1).any():
        raise FerInputError("cannot impute an image whose every pixel is removed")
    idx = np.full(x.shape, -1, np.int64)
    idx[mask] = np.arange(m)
    ni, yi, xi = np.nonzero(mask)  # C order, the same as idx's numbering
    diag, b = np.zeros(m), np.zeros(m)
    rows, cols, vals = [np.arange(m)], [np.arange(m)], []
    for dy, dx, wt in _NEIGHBOURS:
        yy, xx = yi + dy, xi + dx
        p = np.nonzero((yy >= 0) & (yy < h) & (xx >= 0) & (xx < w))[0]
        qn, qy, qx = ni[p], yy[p], xx[p]
        diag[p] += wt
        q = idx[qn, qy, qx]
        unknown = q >= 0
        rows.append(p[unknown])
        cols.append(q[unknown])
        vals.append(np.full(int(unknown.sum()), -wt))
        known = ~unknown
        b[p[known]] += wt * x[qn[known], qy[known], qx[known]]  # p is unique per offset
    a = sparse.csc_matrix((np.concatenate([diag] + vals),
                           (np.concatenate(rows), np.concatenate(cols))), shape=(m, m))
    solution = spsolve(a, b)
    rng = np.random.default_rng(seed)
    out[mask] = solution + noise * rng.standard_normal(m)
    return out.reshape(shape).astype(np.float32)


def road(model, images, labels, maps, shares=SHARES, noise=0.01, seed=0, batch_size=64):
    """ROAD curves of saliency ``maps`` (Rong et al. 2022), most and least relevant first.

    Args:
        model: any Keras classifier whose output is class probabilities.
        images: uint8 ``(N, 48, 48)`` or float ``(N, 48, 48, 1)`` in [0, 1].
        labels: int ``(N,)``, the class whose probability is tracked.
        maps: float ``(N, 48, 48)`` saliency (higher = more relevant); ties broken at random.
        shares: removal shares in (0, 1), e.g. 0.1 .. 0.9.
        noise: imputation noise (see :func:`noisy_linear_impute`); imputed values are clipped
            to [0, 1].
        seed: seed of the tie-breaking and of the noise.
        batch_size: images per sparse solve and model call.

    Returns:
        dict: ``shares`` float64 ``(S,)``; ``morf_curve`` and ``lerf_curve`` float64 ``(S,)``,
        the mean probability of ``labels[i]`` after removing that share; ``morf_accuracy`` and
        ``lerf_accuracy`` ``(S,)`` (the paper's y axis); ``morf`` and ``lerf``: the curves'
        means over the shares (low ``morf`` and high ``lerf`` are good); ``gap`` =
        ``lerf - morf`` (higher is better, about 0 for a random order); ``base_probability``:
        the mean probability before any removal.
    """
    from fer_keras.explain.checks import _order, _validate_removal

    x, labels, maps = _validate_removal(images, labels, maps, model)
    shares = np.asarray(shares, np.float64).reshape(-1)
    if shares.size == 0 or (shares <= 0).any() or (shares >= 1).any():
        raise FerInputError(f"ROAD shares must lie strictly between 0 and 1, got {shares.tolist()}")
    n, npix = len(x), x[0].size
    rank = np.empty((n, npix), np.int64)
    order = _order(maps, np.random.default_rng(seed))
    rank[np.arange(n)[:, None], order] = np.arange(npix)[None]
    grey = x[..., 0]
    base = _core.predict_proba(model, x, batch_size)[np.arange(n), labels]
    curves = {k: np.empty((n, len(shares))) for k in ("morf", "lerf")}
    hits = {k: np.empty((n, len(shares)), bool) for k in ("morf", "lerf")}
    for j, share in enumerate(shares):
        k = int(round(share * npix))
        for kind in ("morf", "lerf"):
            gone = rank < k if kind == "morf" else rank >= npix - k
            for lo in range(0, n, batch_size):
                sl = slice(lo, lo + batch_size)
                filled = noisy_linear_impute(grey[sl], gone[sl].reshape(grey[sl].shape), noise,
                                             seed=seed * 7919 + j * 2 + (kind == "lerf"))
                p = _core.predict_proba(model, np.clip(filled, 0, 1)[..., None], batch_size)
                curves[kind][sl, j] = p[np.arange(len(p)), labels[sl]]
                hits[kind][sl, j] = p.argmax(axis=1) == labels[sl]
    morf, lerf = curves["morf"].mean(axis=0), curves["lerf"].mean(axis=0)
    return {"shares": shares, "morf_curve": morf, "lerf_curve": lerf,
            "morf_accuracy": hits["morf"].mean(axis=0), "lerf_accuracy": hits["lerf"].mean(axis=0),
            "morf": float(morf.mean()), "lerf": float(lerf.mean()),
            "gap": float(lerf.mean() - morf.mean()), "base_probability": float(base.mean())}
