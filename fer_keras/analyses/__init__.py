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

**The registry.** Each analysis module (its name not starting with ``_``; ``regions`` is a
helper and registers nothing) calls :func:`register` once per ``fer-keras explain``
subcommand with a frozen :class:`Command`: its name and help, its own options as data
(:class:`Flag`: name, help, kind, default, usually a ``Settings`` field's), which of the shared
image choices it reads (``--layer``, ``--n``, ``--index``, each with its help; the others are
refused), and two functions::

    call(request) -> Result          # request: a Request (model, split, out, choices, options)
    summary(result, request) -> [str]  # the lines the command prints

The CLI (:mod:`fer_keras.cli.explain`) builds every subcommand, its help and its dispatch from
:func:`commands`; nothing here parses flags. **Adding an analysis** is one module (``Settings``,
``run``, ``register(Command(...))``) and its test: ``tests/analyses/test_registry.py`` checks
every registered command and that it appears in ``fer-keras explain``.
"""
from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path
from typing import Callable

import numpy as np

from fer_keras._lazy import import_submodules
from fer_keras.errors import FerInputError, plural

#: The shared image choices of every ``explain`` subcommand (``--layer``, ``--n``, ``--index``).
PICKS = ("layer", "n", "index")
#: The kinds of :class:`Flag`: a positive integer, a float, a string, a switch that turns a
#: setting off (``--no-<name>``).
KINDS = ("count", "number", "text", "off")


@dataclasses.dataclass
class Result:
    """What an analysis measured: ``numbers`` (JSON-ready, also in ``<name>.json``), the
    ``files`` it wrote (figures first, the JSON last) and ``arrays`` (numpy results that callers
    may reuse, not written)."""

    name: str
    numbers: dict = dataclasses.field(default_factory=dict)
    files: list = dataclasses.field(default_factory=list)
    arrays: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Flag:
    """One option of an analysis's subcommand, as data; the CLI makes ``--<name with dashes>``
    (kind ``"off"``: ``--no-<name>``) with the value in ``request.options[name]``.

    kind: one of :data:`KINDS`. default: the value when not given (usually the analysis's
    ``Settings`` field). choices: the allowed values (``None``: any). repeat: the flag may be
    given several times (a tuple of values, ``None`` when not given). metavar: the value's name
    in the help.
    """

    name: str
    help: str
    kind: str = "count"
    default: object = None
    choices: tuple | None = None
    repeat: bool = False
    metavar: str | None = None


@dataclasses.dataclass(frozen=True)
class Command:
    """One ``fer-keras explain`` subcommand (see the package docstring).

    name: the subcommand. help: its one-line help. call: ``call(request) -> Result``.
    summary: ``summary(result, request) -> list of lines`` printed after it ran. order: the
    subcommands' order in the help. flags: its own options (:class:`Flag`). picks: ``{choice:
    help}`` of the shared image choices (:data:`PICKS`) it reads; the others are refused.
    model_help: appended to ``--model``'s help; ``model_optional``: ``--model`` may be left out
    (the CLI's own mode, e.g. ``saliency --image``).
    """

    name: str
    help: str
    call: Callable
    summary: Callable
    order: int
    flags: tuple = ()
    picks: dict = dataclasses.field(default_factory=dict)
    model_help: str = ""
    model_optional: bool = False


@dataclasses.dataclass(frozen=True)
class Request:
    """What a command's ``call`` receives: the model, the split (a Dataset) and its name, the
    output folder, the shared image choices (``layers``: every ``--layer`` in order; ``n``;
    ``index``: the rows given), the seed, its own options ``{flag name: value}`` and a ``log``
    for progress lines."""

    model: object
    data: object
    out: object = None
    split: str = "val"
    layers: tuple = ()
    n: int | None = None
    index: tuple = ()
    seed: int = 0
    options: dict = dataclasses.field(default_factory=dict)
    log: Callable | None = None

    @property
    def layer(self):
        """The first ``--layer``, or ``None``."""
        return self.layers[0] if self.layers else None

    def check_index(self):
        """A one-line :class:`FerInputError` unless every ``index`` row lies in the split."""
        bad = [i for i in self.index if not 0 <= i < len(self.data)]
        if bad:
            raise FerInputError(f"--index must be in [0, {len(self.data) - 1}] (the "
                                f"{self.split} split has {plural(len(self.data), 'image')}), "
                                f"got {bad[0]}")

    def rows(self, per_class=1):
        """Row indices to explain, int64: the ``index`` rows, else the first ``n`` (default
        ``per_class``) images of each class (one of each class by default, as the reports
        show); without labels the first ``7 n`` rows."""
        from fer_keras import CLASS_NAMES

        if self.index:
            self.check_index()
            return np.asarray(self.index, np.int64)
        k = self.n or per_class
        if self.data.labels is None:
            return np.arange(min(k * 7, len(self.data)))
        rows = [np.flatnonzero(self.data.labels == c)[:k] for c in range(len(CLASS_NAMES))]
        return np.concatenate(rows).astype(np.int64)

    def row(self):
        """The first ``index`` row (default 0), checked against the split."""
        self.check_index()
        return int(self.index[0]) if self.index else 0


_REGISTRY: dict = {}


def register(command):
    """Add ``command`` (a :class:`Command`) to the registry; returns it."""
    if not isinstance(command, Command):
        raise TypeError(f"register() takes a Command, not {type(command).__name__}")
    old = _REGISTRY.get(command.name)
    if old is not None and old.call.__module__ != command.call.__module__:
        raise ValueError(f"explain subcommand {command.name!r} registered twice "
                         f"({old.call.__module__} and {command.call.__module__})")
    unknown = set(command.picks) - set(PICKS) or {f.kind for f in command.flags} - set(KINDS)
    if unknown:
        raise ValueError(f"explain subcommand {command.name!r}: unknown {sorted(unknown)}")
    _REGISTRY[command.name] = command
    return command


def _load():
    """Import every analysis module of this package once (a new file registers itself)."""
    import_submodules(__name__, __path__)


def commands():
    """``{name: Command}`` of every ``explain`` subcommand, by ``order``."""
    _load()
    return dict(sorted(_REGISTRY.items(), key=lambda kv: (kv[1].order, kv[0])))


def get(name):
    """The analysis module ``name`` (one whose commands are registered)."""
    modules = {c.call.__module__.rpartition(".")[2]: c.call.__module__
               for c in commands().values()}
    if name not in modules:
        raise FerInputError(f"unknown analysis {name!r}; valid: {', '.join(modules)}")
    return importlib.import_module(modules[name])


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
