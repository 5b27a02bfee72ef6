"""One module per analysis: the code that the ``fer-keras explain`` subcommands, the report's
questions and the examples all call.

Each module has a frozen ``Settings`` dataclass with defaults and
``run(model, data, settings, out, ...) -> Result``: it computes with :mod:`fer_keras.explain` /
:mod:`fer_keras.train.evaluate`, draws with :mod:`fer_keras.plotting` and writes, into ``out``, under
one naming scheme:

* ``<analysis>.json`` - :attr:`Result.numbers`;
* ``<analysis>[_<part>...].png`` - its figures (:func:`figure_path`).

=============  ===============================================================================
confusion      confusion matrix with and without its diagonal, per-class metrics, errors
saliency       saliency maps per class and method: region and part concentration, panels
filters        gradient ascent on a layer's filters (from noise and from an image) and the
               layer's feature maps for that image
lime           LIME superpixel explanations of chosen images
tsne           t-SNE of layer outputs with silhouette scores
checks         sanity check, deletion / insertion AUC, mask concentration per method
=============  ===============================================================================

``model`` is any Keras classifier of ``(N, 48, 48, 1)`` images; ``data`` a
:class:`fer_keras.data.Dataset` (images, labels, optional part masks).
"""
from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path

from fer_keras.errors import FerInputError

#: Every analysis, by the name of its module (and of its JSON file).
ANALYSES = ("confusion", "saliency", "filters", "lime", "tsne", "checks")


@dataclasses.dataclass
class Result:
    """What an analysis measured: ``numbers`` (JSON-ready, also in ``<name>.json``), the
    ``files`` it wrote (figures first, the JSON last) and ``arrays`` (numpy results that callers
    may reuse, not written)."""

    name: str
    numbers: dict = dataclasses.field(default_factory=dict)
    files: list = dataclasses.field(default_factory=list)
    arrays: dict = dataclasses.field(default_factory=dict)


def get(name):
    """The analysis module ``name`` (one of :data:`ANALYSES`)."""
    if name not in ANALYSES:
        raise FerInputError(f"unknown analysis {name!r}; valid: {', '.join(ANALYSES)}")
    return importlib.import_module(f"{__name__}.{name}")


def slug(name):
    """A layer or method name as a file-name part (``gradcam++`` -> ``gradcampp``)."""
    return "".join(ch if ch.isalnum() or ch in "-_" else "p" for ch in str(name))


def figure_path(out, analysis, *parts):
    """``out/<analysis>_<part>_....png`` with each part passed through :func:`slug`."""
    return Path(out) / ("_".join([analysis, *(slug(p) for p in parts)]) + ".png")


def finish(result, out):
    """Write ``out/<name>.json`` with the result's numbers; returns the result."""
    from fer_keras.fileio import write_json

    path = Path(out) / f"{result.name}.json"
    write_json(path, result.numbers)
    result.files.append(path)
    return result


def require_labels(data, what):
    """``data.labels``; :class:`FerInputError` naming the file when the split has none."""
    if data.labels is None:
        raise FerInputError(f"{what} needs labeled data; this split has no labels",
                            file=data.source)
    return data.labels
