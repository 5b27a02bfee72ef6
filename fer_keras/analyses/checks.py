"""Checks of saliency methods on one model: the model-randomisation sanity check (Adebayo et al.
2018), deletion / insertion AUC against random maps (Petsiuk et al. 2018) and, on the synthetic
faces, the saliency mass inside the drawn parts."""
from __future__ import annotations

import dataclasses

from fer_keras.analyses import Result, figure_path, finish, require_labels
from fer_keras.explain.saliency import METHODS

NAME = "checks"


@dataclasses.dataclass(frozen=True)
class Settings:
    methods: tuple = METHODS
    n: int = 100  # the first n images of the split
    samples: int = 20  # SmoothGrad noisy copies
    seed: int = 0


def run(model, data, settings=Settings(), out=None):
    """Numbers: ``{"n", "random": {"deletion_auc", "insertion_auc"}, "methods": {method:
    {"sanity_spearman", "deletion_auc", "insertion_auc"[, "mask_concentration"]}}}``.
    Figure: ``checks_deletion_insertion.png`` (the curves of every method and of random maps)."""
    from fer_keras import explain, plotting

    labels = require_labels(data, "checks")
    n = min(settings.n, len(data))
    x, y = data.images[:n], labels[:n]
    base = explain.deletion_insertion(model, x, y, explain.random_maps(n, seed=settings.seed),
                                      seed=settings.seed)
    res = Result(NAME, {"n": int(n), "random": {k: base[k] for k in ("deletion_auc",
                                                                       "insertion_auc")},
                        "methods": {}})
    curves = {"random": base}
    for method in settings.methods:
        maps = explain.saliency_maps(model, x, y, method=method, samples=settings.samples,
                                     seed=settings.seed)
        di = explain.deletion_insertion(model, x, y, maps, seed=settings.seed)
        curves[method] = di
        entry = {"sanity_spearman": explain.sanity_check(model, x, y, method, seed=settings.seed,
                                                         samples=settings.samples),
                 "deletion_auc": di["deletion_auc"], "insertion_auc": di["insertion_auc"]}
        if data.masks is not None:
            entry["mask_concentration"] = explain.mask_concentration(maps, data.masks[:n])
        res.numbers["methods"][method] = entry
    res.arrays["curves"] = curves
    if out is None:
        return res
    res.files.append(plotting.deletion_insertion_curves(
        curves, figure_path(out, NAME, "deletion_insertion")))
    return finish(res, out)
