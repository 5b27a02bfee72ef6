"""Checks of saliency methods on one model, each against model-free controls (edge map, centre
prior, smooth and independent random maps): the model-randomisation sanity check, full and
cascading (Adebayo et al. 2018), deletion / insertion AUC (Petsiuk et al. 2018), ROAD (Rong et
al. 2022) and, on the synthetic faces, the saliency mass inside the drawn parts; with a verdict
per method and check (:func:`fer_keras.explain.run_checks`)."""
from __future__ import annotations

import dataclasses

import numpy as np

from fer_keras.analyses import Command, Result, figure_path, finish, register, require_labels
from fer_keras.analyses.saliency import method_flags
from fer_keras.explain import methods as _methods

NAME = "checks"


@dataclasses.dataclass(frozen=True)
class Settings:
    methods: tuple = dataclasses.field(default_factory=_methods.names)  # default: all
    n: int = 100  # a seeded sample of n images of the split
    samples: int = 20  # SmoothGrad noisy copies
    seed: int = 0
    cam_layers: tuple = ()  # extra rows of the methods that read a layer, at these layers
    cascade_n: int = 64  # images of the cascading randomisation (a set of maps per layer)


def run(model, data, settings=Settings(), out=None, log=None):
    """Numbers: :func:`fer_keras.explain.run_checks`'s dict (``methods``, ``controls``,
    ``rules``, ``verdicts`` ...), on a seeded sample of ``settings.n`` images (the first rows of
    an image folder are all of one class). Labels are taken in the model's class order (its
    input contract). Figures: ``checks_deletion_insertion.png``, ``checks_road.png``,
    ``checks_cascading_randomization.png``."""
    from fer_keras import explain, plotting
    from fer_keras.models import contract

    labels = require_labels(data, "checks")
    n = min(settings.n, len(data))
    rows = np.sort(np.random.default_rng(settings.seed).choice(len(data), n, replace=False))
    masks = None if data.masks is None else explain.masks_at(model, data.masks[rows])
    numbers = explain.run_checks(model, data.images[rows],
                                 contract.of(model).from_fer(labels[rows]),
                                 methods=settings.methods, masks=masks, samples=settings.samples,
                                 seed=settings.seed, cam_layers=settings.cam_layers,
                                 cascade_n=settings.cascade_n,
                                 log=log or (lambda line: None))
    res = Result(NAME, numbers)
    curves = {k: {**e, **e["curves"]} for k, e in {**numbers["methods"],
                                                   **numbers["controls"]}.items()}
    res.arrays["curves"] = curves
    if out is None:
        return res
    res.files += [
        plotting.deletion_insertion_curves(curves, figure_path(out, NAME, "deletion_insertion")),
        plotting.road_curves(curves, figure_path(out, NAME, "road")),
        plotting.cascading_randomization(
            {m: e["cascade"] for m, e in numbers["methods"].items()},
            figure_path(out, NAME, "cascading_randomization"),
            numbers["rules"]["sanity_max_spearman"])]
    return finish(res, out)


def _call(request):
    settings = Settings(methods=tuple(dict.fromkeys(request.options["method"] or _methods.names())),
                        n=request.n or Settings.n, samples=request.options["samples"],
                        seed=request.seed, cam_layers=tuple(request.layers))
    return run(request.model, request.data, settings, request.out, log=request.log)


def _summary(res, request):
    from fer_keras import explain

    return [explain.checks_table(res.numbers)]


register(Command(
    NAME, "sanity (full, cascading), deletion/insertion, ROAD and mask concentration per "
          "method, against model-free controls, with verdicts", call=_call, summary=_summary,
    order=70, flags=method_flags(Settings.samples),
    picks={"layer": "also check the methods that read a layer "
                    f"({', '.join(_methods.layer_names())}) at this layer (repeatable; "
                    "default: none)",
           "n": f"images in all, a seeded sample of the split (default {Settings.n})"}))
