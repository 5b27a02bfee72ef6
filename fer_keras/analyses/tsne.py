"""t-SNE (van der Maaten & Hinton 2008) of layer outputs for a random sample of labeled images
(HW4 Q4), with the silhouette score of the classes in the embedding and in the features."""
from __future__ import annotations

import dataclasses
import time

import numpy as np

from fer_keras.analyses import Command, Flag, Result, figure_path, finish, register, require_labels

NAME = "tsne"


@dataclasses.dataclass(frozen=True)
class Settings:
    n: int = 1000  # images (at most the split's size)
    perplexity: float = 30.0
    seed: int = 0


def shuffled_silhouettes(points, labels, seed=0, times=20):
    """Silhouettes of ``points`` ``(N, d)`` under ``times`` random permutations of ``labels``:
    the control of a separation verdict (float ``(times,)``)."""
    from fer_keras.explain.tsne import silhouette

    rng = np.random.default_rng(seed + 7919)
    labels = np.asarray(labels)
    return np.array([silhouette(points, rng.permutation(labels)) for _ in range(times)])


def run(model, data, settings=Settings(), out=None, layers=None):
    """t-SNE of each of ``layers`` (default: the first conv and the last hidden layer) for
    ``min(settings.n, len(data))`` images drawn without replacement with ``settings.seed``.

    Numbers: ``{"n", "layers": {layer: {"dims", "silhouette", "silhouette_shuffled_mean",
    "silhouette_shuffled_95", "silhouette_features", "perplexity", "seconds"}}}``; the shuffled
    ones are the silhouettes of the same embedding with the labels permuted
    (:func:`shuffled_silhouettes`), what no class structure gives. Figures: ``tsne_<layer>.png``."""
    from fer_keras import explain, plotting

    labels = require_labels(data, "t-SNE")
    n = min(settings.n, len(data))
    rng = np.random.default_rng(settings.seed)
    rows = np.sort(rng.choice(len(data), n, replace=False))
    layers = layers or [explain.first_conv_layer(model), explain.last_hidden_layer(model)]
    res = Result(NAME, {"n": int(n), "layers": {}})
    # the traced graph's shapes: a layer inside a nested model is not model.get_layer's
    shapes = explain.output_shapes(model)
    for layer in layers:
        t = time.perf_counter()
        r = explain.tsne_embedding(model, layer, data.images[rows], labels[rows],
                                   perplexity=settings.perplexity, seed=settings.seed)
        shuffled = shuffled_silhouettes(r["embedding"], labels[rows], settings.seed)
        res.numbers["layers"][layer] = {
            "dims": int(np.prod(shapes[layer])),
            "silhouette": float(r["silhouette"]),
            "silhouette_shuffled_mean": float(np.mean(shuffled)),
            "silhouette_shuffled_95": float(np.quantile(shuffled, 0.95)),
            "silhouette_features": float(r.get("silhouette_features", float("nan"))),
            "perplexity": r["perplexity"], "seconds": round(time.perf_counter() - t, 3)}
        if out is not None:
            res.files.append(plotting.tsne_scatter(
                r["embedding"], labels[rows], figure_path(out, NAME, layer),
                f"t-SNE of {layer} ({n} images)", score=r["silhouette"]))
    return res if out is None else finish(res, out)


def _call(request):
    settings = Settings(n=request.n or Settings.n, perplexity=request.options["perplexity"],
                        seed=request.seed)
    return run(request.model, request.data, settings, request.out,
               layers=list(request.layers) or None)


def _summary(res, request):
    return [f"{layer:14s} silhouette {e['silhouette']:+.3f} (embedding), "
            f"{e['silhouette_features']:+.3f} (features); {e['seconds']:.1f} s"
            for layer, e in res.numbers["layers"].items()]


register(Command(
    NAME, "t-SNE of layer outputs (first conv vs last hidden) with silhouette", call=_call,
    summary=_summary, order=60,
    flags=(Flag("perplexity", "t-SNE perplexity", kind="number", default=Settings.perplexity),),
    picks={"layer": "a layer to embed (repeat for several layers; default: the first "
                    "convolution and the last hidden layer)",
           "n": f"images in all (default {Settings.n})"}))
