"""t-SNE (van der Maaten & Hinton 2008) of layer outputs for a random sample of labeled images
(HW4 Q4), with the silhouette score of the classes in the embedding and in the features."""
from __future__ import annotations

import dataclasses
import time

import numpy as np

from fer_keras.analyses import Result, figure_path, finish, require_labels

NAME = "tsne"


@dataclasses.dataclass(frozen=True)
class Settings:
    n: int = 1000  # images (at most the split's size)
    perplexity: float = 30.0
    seed: int = 0


def run(model, data, settings=Settings(), out=None, layers=None):
    """t-SNE of each of ``layers`` (default: the first conv and the last hidden layer) for
    ``min(settings.n, len(data))`` images drawn without replacement with ``settings.seed``.

    Numbers: ``{"n", "layers": {layer: {"dims", "silhouette", "silhouette_features",
    "perplexity", "seconds"}}}``. Figures: ``tsne_<layer>.png``."""
    from fer_keras import explain, plotting

    labels = require_labels(data, "t-SNE")
    n = min(settings.n, len(data))
    rng = np.random.default_rng(settings.seed)
    rows = np.sort(rng.choice(len(data), n, replace=False))
    layers = layers or [explain.first_conv_layer(model), explain.last_hidden_layer(model)]
    res = Result(NAME, {"n": int(n), "layers": {}})
    for layer in layers:
        t = time.perf_counter()
        r = explain.tsne_embedding(model, layer, data.images[rows], labels[rows],
                                   perplexity=settings.perplexity, seed=settings.seed)
        res.numbers["layers"][layer] = {
            "dims": int(np.prod(model.get_layer(layer).output.shape[1:])),
            "silhouette": float(r["silhouette"]),
            "silhouette_features": float(r.get("silhouette_features", float("nan"))),
            "perplexity": r["perplexity"], "seconds": round(time.perf_counter() - t, 3)}
        if out is not None:
            res.files.append(plotting.tsne_scatter(
                r["embedding"], labels[rows], figure_path(out, NAME, layer),
                f"t-SNE of {layer} ({n} images)", score=r["silhouette"]))
    return res if out is None else finish(res, out)
