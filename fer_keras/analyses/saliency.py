"""Saliency maps per class (HW3 Q4, HW4 Q1): where in the face the class score is sensitive.

For each method and class the maps of the class's chosen images give the concentration of the
saliency mass in the eyes and the mouth regions and the region the class favours
(:mod:`fer_keras.analyses.regions`) and, on the synthetic faces, the concentration inside the
parts that were drawn (:func:`fer_keras.explain.mask_concentration`); a panel shows one image
per class.
"""
from __future__ import annotations

import dataclasses
import time

import numpy as np

from fer_keras import CLASS_NAMES
from fer_keras.analyses import Command, Flag, Result, figure_path, finish, register
from fer_keras.analyses.regions import REGIONS, RULE, region_answer, region_profile
from fer_keras.explain import methods as _methods

NAME = "saliency"


def caption(method):
    """The figure caption of ``method`` (its registry entry's, naming the paper)."""
    return _methods.get(method).caption


#: Finer settings of the methods whose default maps are coarse, for one more panel figure of the
#: same images (``Settings.detail``); the numbers stay on the defaults, which the explanation
#: checks judge. Occlusion's default 8-px squares every 4 px blur a 48x48 face's teeth and
#: eyebrows (a few pixels tall); 4-px squares every pixel resolve them, at 2,025 forward passes
#: an image instead of 121.
DETAIL = {"occlusion": {"patch": 4, "stride": 1}}


@dataclasses.dataclass(frozen=True)
class Settings:
    methods: tuple = dataclasses.field(default_factory=_methods.names)  # default: all
    samples: int = 20  # SmoothGrad noisy copies
    layer: str | None = None  # the layer of the methods that read one (default: their own)
    seed: int = 0
    detail: bool = False  # also draw the panel at the method's DETAIL settings, if it has some


def _control_answers(model, data, picks, seed):
    """The region answer of each model-free control on the picked images of each class: a
    control that answers anything but "none" would make a region verdict meaningless."""
    from fer_keras import explain
    from fer_keras.explain.controls import control_maps

    out = {}
    for c, idx in picks.items():
        maps = control_maps(explain.as_batch(data.images[idx], model), seed=seed + c,
                            names=("centre", "random", "smooth random"))
        for k, m in maps.items():
            out.setdefault(k, {})[CLASS_NAMES[c]] = region_answer(region_profile(m))["answer"]
    return out


def run(model, data, settings=Settings(), out=None, picks=None, probs=None):
    """Saliency of ``model`` for ``picks`` ``{class index: row indices of data}`` (default: the
    first image of each class). ``probs``: float ``(len(data), 7)`` if already computed.

    Numbers: ``{"methods": {method: {"classes": {class name: {"images", "eyes", "mouth",
    "face", "z", "focus", "correct"[, "part_mask_concentration"]}}, "seconds"[,
    "ground_truth"]}}, "picks", "regions", "rule", "controls"}``: ``eyes`` / ``mouth`` / ``face``
    and ``focus`` are :func:`fer_keras.analyses.regions.region_answer`'s (concentrations
    relative to the model-free references, and the answer), ``controls`` ``{control: answer}``
    of the centre prior and random maps on the same images under the same rule; ``ground_truth`` (synthetic faces only): the parts' share of all the maps
    against the edge map and the centre prior (:func:`fer_keras.explain.ground_truth_check`).
    Figures: ``saliency_<method>.png``, one image per class (its first pick): original, map and
    the image masked by the map; with ``settings.detail``, ``saliency_<method>_fine.png``, the
    same panel at the method's :data:`DETAIL` settings (``numbers["methods"][method]
    ["detail"]`` names them). The maps of each class are computed in one call per class, so a
    class's numbers do not depend on which other classes are asked for."""
    from fer_keras import explain, plotting
    from fer_keras.models import contract
    from fer_keras.train import evaluate

    own = contract.of(model).from_fer  # labels in the model's output order
    if picks is None:
        picks = {c: np.flatnonzero(data.labels == c)[:1] for c in range(len(CLASS_NAMES))}
    picks = {int(c): np.asarray(r, np.int64) for c, r in picks.items() if len(r)}
    if probs is None:
        probs = evaluate.predict_proba(model, data.images)
    kw = dict(samples=settings.samples, seed=settings.seed, layer=settings.layer)
    panel = [int(r[0]) for r in picks.values()]
    # a pick the model gets wrong (a class with no correct image) says so in its title
    titles = [f"{CLASS_NAMES[c]} (p={probs[r[0], c]:.2f}"
              + (")" if int(probs[r[0]].argmax()) == c else ", wrong)") for c, r in picks.items()]
    res = Result(NAME, {"methods": {}, "picks": {CLASS_NAMES[c]: r.tolist()
                                                 for c, r in picks.items()},
                        "regions": {k: [v[0].start, v[0].stop, v[1].start, v[1].stop]
                                    for k, v in REGIONS.items()},
                        "rule": RULE, "controls": _control_answers(model, data, picks,
                                                                   settings.seed)})
    for method in settings.methods:
        t = time.perf_counter()
        stats, every = {}, []
        for c, idx in picks.items():
            maps = explain.saliency_maps(model, data.images[idx],
                                         labels=own(np.full(len(idx), c)), method=method, **kw)
            every.append(maps)
            ans = region_answer(region_profile(maps))
            entry = {"images": int(len(idx)), "eyes": ans["eyes"], "mouth": ans["mouth"],
                     "face": ans["face"], "z": ans["z"], "focus": ans["answer"],
                     "correct": int((probs[idx].argmax(1) == c).sum())}
            if data.masks is not None:
                entry["part_mask_concentration"] = float(
                    explain.mask_concentration(maps, explain.masks_at(model, data.masks[idx])))
            stats[CLASS_NAMES[c]] = entry
        res.numbers["methods"][method] = {"classes": stats,
                                          "seconds": round(time.perf_counter() - t, 3)}
        if data.masks is not None and every:
            # the parts' share only means something against model-free maps that also favour
            # them (edges, the centre): the verdict of the ground-truth check
            rows = np.concatenate(list(picks.values()))
            res.numbers["methods"][method]["ground_truth"] = explain.ground_truth_check(
                np.concatenate(every), explain.as_batch(data.images[rows], model),
                explain.masks_at(model, data.masks[rows]))
        if out is not None:
            maps = explain.saliency_maps(model, data.images[panel], labels=own(list(picks)),
                                         method=method, **kw)
            res.files.append(plotting.saliency_panels(
                data.images[panel], maps, figure_path(out, NAME, method), titles=titles,
                suptitle=f"{method} saliency of the true class"))
            if settings.detail and method in DETAIL:
                fine = explain.saliency_maps(model, data.images[panel], labels=own(list(picks)),
                                             method=method, options=DETAIL[method], **kw)
                res.numbers["methods"][method]["detail"] = dict(DETAIL[method])
                res.files.append(plotting.saliency_panels(
                    data.images[panel], fine, figure_path(out, NAME, method, "fine"),
                    titles=titles, suptitle=f"{method} saliency of the true class, "
                    + ", ".join(f"{k} {v}" for k, v in DETAIL[method].items())))
    return res if out is None else finish(res, out)


def method_flags(samples=Settings.samples):
    """The ``--method`` and ``--samples`` options of the commands that run saliency methods."""
    names = _methods.names()
    return (Flag("method", f"saliency method (repeatable; default all: {', '.join(names)})",
                 kind="text", choices=names, repeat=True),
            Flag("samples", "SmoothGrad samples", default=samples))


def _call(request):
    from fer_keras.train import evaluate

    data = request.data
    rows = request.rows(1)
    probs = evaluate.predict_proba(request.model, data.images)
    classes = data.labels[rows] if data.labels is not None else probs[rows].argmax(axis=1)
    picks = {int(c): rows[classes == c] for c in dict.fromkeys(classes.tolist())}
    settings = Settings(methods=tuple(dict.fromkeys(request.options["method"] or _methods.names())),
                        samples=request.options["samples"], layer=request.layer,
                        seed=request.seed)
    return run(request.model, data, settings, request.out, picks=picks, probs=probs)


def _summary(res, request):
    from fer_keras.errors import plural

    lines = []
    for method, entry in res.numbers["methods"].items():
        for cname, e in entry["classes"].items():
            part = (f", true parts {e['part_mask_concentration']:.2f}"
                    if "part_mask_concentration" in e else "")
            lines.append(f"{method:10s} {cname:9s} focus: {e['focus']}; eyes {e['eyes']:.2f}, "
                         f"mouth {e['mouth']:.2f}{part} (1 = uniform; "
                         f"{plural(e['images'], 'image')})")
    return lines


register(Command(
    NAME, "saliency panels (original, map, masked image) per method", call=_call,
    summary=_summary, order=20,
    flags=(*method_flags(),
           Flag("image", "explain each face found in this photo instead of images of --data: "
                "the annotated photo and one row of maps per face (default: none)",
                kind="text", metavar="PHOTO")),
    picks={"layer": "the layer of the methods that read one ("
                    f"{', '.join(_methods.layer_names())}; default: each method's own, e.g. "
                    "the last convolution's output)",
           "n": "images per class (default 1)",
           "index": "row of the split to explain (repeatable; default: the first image of "
                    "each class)"},
    model_help="; required, except with --image (default there: the shipped model)",
    model_optional=True))
