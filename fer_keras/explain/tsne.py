"""t-SNE of a layer's outputs (HW4 Q4): do the classes separate at the first conv layer, and at
the last hidden layer?

t-SNE (van der Maaten & Hinton 2008) embeds the images' activation vectors in 2-D, keeping
near neighbours near. How well the classes separate is measured by the silhouette score
(Rousseeuw 1987) with the true classes as clusters: -1..1, near 0 for mixed classes, higher when
each class forms its own group. It is reported both in the 2-D embedding (what the scatter
shows) and in the layer's own feature space (which t-SNE's distortions cannot inflate).
"""
from __future__ import annotations

import numpy as np

from fer_keras.errors import FerInputError
from fer_keras.explain import _core

#: Above this many features per image, the outputs are first reduced by a sparse random
#: projection (Johnson-Lindenstrauss: pairwise distances kept within a few percent), so that the
#: first conv layer of a CNN (48 x 48 x 64 = 147,456 values per image) fits in memory.
MAX_DIM = 4096
PROJECTED_DIM = 1024
PCA_DIM = 50


def layer_outputs(model, layer, images, batch_size=256, seed=0, max_dim=MAX_DIM, contract=None):
    """float32 ``(N, D)``: the flattened outputs of ``layer`` for ``images``.

    Wider outputs than ``max_dim`` are projected to :data:`PROJECTED_DIM` dimensions batch by
    batch with one seeded sparse random projection (Li et al. 2006), so the full
    ``(N, h*w*c)`` matrix is never held in memory.
    """
    _core.layer_index(model, layer, what="t-SNE", contract=contract)
    x = _core.as_batch(images, model, contract)
    dim = int(np.prod(_core.output_shapes(model, contract)[layer]))
    proj = None
    if dim > max_dim:
        from sklearn.random_projection import SparseRandomProjection

        proj = SparseRandomProjection(PROJECTED_DIM, random_state=seed)
        proj.fit(np.zeros((1, dim), np.float32))
    out = []
    for lo in range(0, len(x), batch_size):
        a = _core.predict_layer(model, layer, x[lo:lo + batch_size], batch_size, contract)
        a = a.reshape(len(a), -1)
        out.append(proj.transform(a).astype(np.float32) if proj is not None else a)
    width = PROJECTED_DIM if proj is not None else dim
    return np.concatenate(out) if out else np.zeros((0, width), np.float32)


def silhouette(points, labels):
    """Silhouette score of ``points`` grouped by ``labels``; NaN with fewer than two classes or
    fewer than three points."""
    from sklearn.metrics import silhouette_score

    labels = np.asarray(labels)
    k = len(np.unique(labels))
    if k < 2 or len(labels) < 3 or k >= len(labels):
        return float("nan")
    return float(silhouette_score(points, labels))


def tsne_embedding(model, layer, images, labels, perplexity=30, seed=0, batch_size=256,
                   pca_dim=PCA_DIM, contract=None, input_range=None, classes=None):
    """2-D t-SNE of ``layer``'s outputs for ``images`` (HW4 Q4: first conv vs last hidden layer).

    The outputs are flattened, randomly projected when very wide (:func:`layer_outputs`),
    reduced to ``pca_dim`` principal components (the usual t-SNE preprocessing: it denoises and
    makes the neighbour search cheap), then embedded with scikit-learn's Barnes-Hut t-SNE (PCA
    initialisation, automatic learning rate). ``perplexity`` is lowered to ``(N - 1) / 3`` for
    small ``N``, as t-SNE requires. ``model``: any Keras image classifier or a model path;
    ``contract``, ``input_range``, ``classes``: its input contract or overrides.

    Returns:
        dict with ``embedding`` float32 ``(N, 2)``, ``silhouette`` (of the 2-D embedding, by
        true class), ``silhouette_features`` (in the PCA feature space), ``layer`` and
        ``perplexity`` (the one used).
    """
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    model, c = _core.resolve(model, contract, input_range, classes)
    labels = np.asarray(labels).reshape(-1)
    x = _core.as_batch(images, model, c)
    if len(labels) != len(x):
        raise FerInputError(f"got {len(labels)} labels for {len(x)} images")
    if len(x) < 5:
        raise FerInputError(f"t-SNE needs at least 5 images, got {len(x)}")
    feats = layer_outputs(model, layer, x, batch_size, seed, contract=c)
    perplexity = float(min(perplexity, (len(x) - 1) / 3))
    # One BLAS/OpenMP thread: next to TensorFlow's thread pool on a busy machine, OpenMP's
    # spin-waiting workers made a 200-point t-SNE take 90 s instead of 3 s (measured, 2 cores).
    with threadpool_limits(limits=1):
        dim = min(pca_dim, len(feats))  # PCA cannot give more components than samples
        if feats.shape[1] > dim:
            feats = PCA(dim, random_state=seed).fit_transform(feats).astype(np.float32)
        emb = TSNE(2, perplexity=perplexity, init="pca", learning_rate="auto",
                   random_state=seed).fit_transform(feats).astype(np.float32)
        sil, sil_feats = silhouette(emb, labels), silhouette(feats, labels)
    return {"embedding": emb, "silhouette": sil, "silhouette_features": sil_feats,
            "layer": layer, "perplexity": perplexity}
