"""LIME (Ribeiro et al. 2016) on SLIC superpixels for chosen images (HW4 Q3): per image the
weight of every superpixel for every class, the surrogate's fit and a panel per image."""
from __future__ import annotations

import dataclasses
import time

import numpy as np

from fer_keras import CLASS_NAMES
from fer_keras.analyses import Command, Flag, Result, figure_path, finish, register

NAME = "lime"


@dataclasses.dataclass(frozen=True)
class Settings:
    num_samples: int = 1000  # perturbed images per explanation
    segments: int = 50  # SLIC superpixels (about)
    seed: int = 0


def run(model, data, settings=Settings(), out=None, rows=None):
    """LIME explanations of ``data.images[rows]`` (default: the first image of each class).

    Numbers: ``{str(row): {"label", "n_segments", "probs" (7,), "fit_r2" (7,), "weights"
    (7, n_segments), "seconds"}}``. Figures: ``lime_<row>.png``. Arrays: ``explanations``
    ``{row: lime_explanation result}`` (``segments``, ``weights``, ``probs``, ``score``)."""
    from fer_keras import explain, plotting

    if rows is None:
        rows = [int(np.flatnonzero(data.labels == c)[0]) for c in range(len(CLASS_NAMES))
                if (data.labels == c).any()]
    res = Result(NAME, arrays={"explanations": {}})
    for i in (int(r) for r in rows):
        t = time.perf_counter()
        r = explain.lime_explanation(model, data.images[i], num_samples=settings.num_samples,
                                     n_segments=settings.segments, seed=settings.seed)
        label = None if data.labels is None else int(data.labels[i])
        res.arrays["explanations"][i] = r
        res.numbers[str(i)] = {"label": label, "n_segments": r["n_segments"],
                               "probs": r["probs"].tolist(), "fit_r2": r["score"].tolist(),
                               "weights": r["weights"].round(5).tolist(),
                               "seconds": round(time.perf_counter() - t, 3)}
        if out is not None:
            what = f"a {CLASS_NAMES[label]} face" if label is not None else "unlabeled"
            res.files.append(plotting.lime_panels(data.images[i], r, figure_path(out, NAME, i),
                                                  suptitle=f"LIME, image #{i} ({what})"))
    return res if out is None else finish(res, out)


def _call(request):
    settings = Settings(num_samples=request.options["num_samples"],
                        segments=request.options["segments"], seed=request.seed)
    return run(request.model, request.data, settings, request.out, rows=request.rows(1))


def _summary(res, request):
    return [f"#{row}: {e['n_segments']} superpixels, {request.options['num_samples']} samples "
            f"in {e['seconds']:.2f} s" for row, e in res.numbers.items()]


register(Command(
    NAME, "LIME superpixel explanations, one panel per class", call=_call, summary=_summary,
    order=50,
    flags=(Flag("num_samples", "perturbed images LIME scores per explanation",
                default=Settings.num_samples),
           Flag("segments", "about how many SLIC superpixels", default=Settings.segments)),
    picks={"index": "row of the split to explain (repeatable; default: the first image of "
                    "each class)"}))
