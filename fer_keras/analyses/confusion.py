"""The confusion matrix (HW3 Q3): row-normalised with and without its diagonal, per-class
precision / recall / F1, the most confused pairs, and which labels the errors put on images."""
from __future__ import annotations

import dataclasses

import numpy as np

from fer_keras import CLASS_NAMES
from fer_keras.analyses import Command, Result, figure_path, finish, register, require_labels

NAME = "confusion"


@dataclasses.dataclass(frozen=True)
class Settings:
    top_k: int = 5  # most confused pairs reported


def run(model, data, settings=Settings(), out=None, probs=None):
    """Confusion of ``model`` on ``data`` (labeled). ``probs``: its float ``(N, 7)``
    probabilities if already computed. Numbers: :func:`fer_keras.train.evaluate.metrics` plus
    ``errors`` (count), ``errors_predicted_as`` ``{class: wrong predictions of it}`` and
    ``least_predicted_in_errors`` / ``most_predicted_in_errors`` (class names). Figures:
    ``confusion.png``, ``confusion_no_diagonal.png``."""
    from fer_keras import plotting
    from fer_keras.train import evaluate

    labels = require_labels(data, "confusion")
    if probs is None:
        probs = evaluate.predict_proba(model, data.images)
    m = evaluate.metrics(labels, probs)
    cm = np.asarray(m["confusion"])
    col_err = cm.sum(axis=0) - np.diag(cm)
    numbers = {**m, "top_confusions": evaluate.top_confusions(cm, k=settings.top_k),
               "errors": int(cm.sum() - np.trace(cm)),
               "errors_predicted_as": dict(zip(CLASS_NAMES, col_err.astype(int).tolist())),
               "least_predicted_in_errors": CLASS_NAMES[int(np.argmin(col_err))],
               "most_predicted_in_errors": CLASS_NAMES[int(np.argmax(col_err))]}
    res = Result(NAME, numbers, arrays={"confusion": cm, "probs": probs})
    if out is None:
        return res
    res.files += [plotting.confusion_matrix(cm, figure_path(out, NAME), normalize=True),
                  plotting.confusion_matrix(cm, figure_path(out, NAME, "no_diagonal"),
                                            normalize=True, hide_diagonal=True)]
    return finish(res, out)


def _call(request):
    return run(request.model, request.data, Settings(), request.out)


def _summary(res, request):
    m = res.numbers
    return [f"accuracy {m['accuracy']:.4f} on {m['n']} images ({request.split})",
            "most confused (true -> predicted, share of the true class):",
            *(f"  {t:9s} -> {p:9s} {share:.3f}" for t, p, share in m["top_confusions"])]


register(Command(NAME, "row-normalised confusion matrix, with and without the diagonal",
                 call=_call, summary=_summary, order=10))
