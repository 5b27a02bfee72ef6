"""The run folder that ``fer-keras train`` writes: one owner for its file names and its rules.

A run folder holds

* ``config.json`` - the resolved :class:`~fer_keras.config.TrainConfig`;
* ``best.keras`` - the classifier at its best validation accuracy;
* ``last.keras`` - the training model after the last finished epoch with its
  :class:`RunState` (epoch, callback and random-generator state, history) inside: what
  ``--resume`` continues from; ``state.json`` - a readable copy of that state, less history;
* ``model.keras`` - the classifier after the last epoch (written only when the run ends);
* ``history.csv`` / ``history.json`` - one row per epoch; ``curves.png`` - the curves;
* ``summary.json`` - written by ``fer-keras summary``.

:meth:`RunDir.status` decides what a caller that wants a finished run with a given config does
with the folder: ``"fresh"`` (nothing there: train), ``"resumable"`` (same settings, interrupted:
resume), ``"finished"`` (same settings, done: reuse) or ``"stale"`` (other settings or broken:
retrain). Every write goes through :mod:`fer_keras.fileio` (temporary file + rename).
"""
from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from fer_keras.errors import FerInputError

#: The settings that must match for a run folder to count as the same run.
RUN_KEYS = ("model", "data", "epochs", "batch_size", "optimizer", "lr", "schedule", "oversample",
            "augment", "n_synthetic", "seed", "val_fraction", "select_on")

STATUSES = ("fresh", "resumable", "finished", "stale")


class RunDir:
    """A training run folder ``path`` (need not exist yet); file paths are attributes."""

    CONFIG = "config.json"
    BEST = "best.keras"
    LAST = "last.keras"
    STATE = "state.json"
    MODEL = "model.keras"
    HISTORY_CSV = "history.csv"
    HISTORY_JSON = "history.json"
    CURVES = "curves.png"
    SUMMARY = "summary.json"
    TENSORBOARD = "tensorboard"
    #: the files a retrain must remove so that a stale run cannot be mistaken for a new one
    CHECKPOINTS = (LAST, STATE, BEST, MODEL)

    def __init__(self, path):
        self.path = Path(path)

    def __repr__(self):
        return f"RunDir({str(self.path)!r})"

    def __truediv__(self, name):
        return self.path / name

    # ---- file paths
    @property
    def config(self):
        return self.path / self.CONFIG

    @property
    def best(self):
        return self.path / self.BEST

    @property
    def last(self):
        return self.path / self.LAST

    @property
    def state_file(self):
        return self.path / self.STATE

    @property
    def model(self):
        return self.path / self.MODEL

    @property
    def history_csv(self):
        return self.path / self.HISTORY_CSV

    @property
    def history_json(self):
        return self.path / self.HISTORY_JSON

    @property
    def curves(self):
        return self.path / self.CURVES

    @property
    def summary(self):
        return self.path / self.SUMMARY

    @property
    def tensorboard(self):
        return self.path / self.TENSORBOARD

    # ---- reading
    def state(self):
        """``state.json`` as a :class:`RunState` (its ``history`` empty: that is in
        ``history.json``); a missing, truncated or hand-edited file is a one-line
        :class:`FerInputError` naming it."""
        from fer_keras.fileio import read_json

        return RunState.from_dict(read_json(self.state_file, dict, "run state"), self.state_file)

    def write_state(self, state):
        """``state.json``: the readable copy of ``state`` (a :class:`RunState`) without its
        history, atomically."""
        from fer_keras.fileio import write_json

        write_json(self.state_file, state.to_dict(history=False))

    def history(self, upto=None):
        """``history.json`` rows (``[]`` when there is none), those of epochs ``<= upto`` if
        given (a resumed run drops the rows of an epoch whose checkpoint was not written)."""
        from fer_keras.fileio import read_json

        if not self.history_json.is_file():
            return []
        rows = RunState.from_dict({"epoch": 0, "history": read_json(self.history_json, list,
                                                                    "history")},
                                  self.history_json).history
        return rows if upto is None else [r for r in rows if r["epoch"] <= upto]

    def saved_config(self):
        """``config.json`` as a plain dict (one-line :class:`FerInputError` when it is missing or
        not a JSON object)."""
        from fer_keras.fileio import read_json

        return read_json(self.config, dict, "run config")

    def load_config(self):
        """``config.json`` as a :class:`~fer_keras.config.TrainConfig`."""
        from fer_keras.config import TrainConfig

        return TrainConfig.load(self.config)

    def require_finished(self):
        """``(config, state, history)`` of a finished run (a dict, a :class:`RunState` and a
        list of rows); :class:`FerInputError` naming the folder when a file is missing, or the
        file when it is unreadable."""
        for p in (self.config, self.state_file, self.history_json, self.best):
            if not p.is_file():
                raise FerInputError(f"not a finished run folder (no {p.name})", file=self.path)
        return self.saved_config(), self.state(), self.history()

    def require_resumable(self):
        """The run's :class:`~fer_keras.config.TrainConfig`, what ``--resume`` continues with;
        :class:`FerInputError` naming the folder when it has no ``config.json``. A run killed
        in its first epoch has no ``last.keras`` yet and starts that epoch again."""
        if not self.config.is_file():
            raise FerInputError("nothing to resume: no config.json here", file=self.path)
        return self.load_config()

    # ---- the rules
    def status(self, cfg):
        """``"fresh"``, ``"resumable"``, ``"finished"`` or ``"stale"`` for a caller that wants
        this folder to hold a finished run of ``cfg`` (a TrainConfig); see the module doc.

        Same run: :data:`RUN_KEYS` equal (``data`` compared as an absolute path). Finished:
        ``best.keras``, ``history.json`` and ``model.keras`` are there (``model.keras`` is
        written when a run ends, also by early stopping)."""
        if not self.config.is_file():
            return "fresh"
        try:
            saved = self.saved_config()
        except FerInputError:
            return "stale"
        want = cfg.to_dict()
        for k in RUN_KEYS:
            if k == "data":
                if not _same_data(saved.get(k), want[k]):
                    return "stale"
            elif saved.get(k) != want[k]:
                return "stale"
        complete = self.best.is_file() and self.history_json.is_file()
        if complete and self.model.is_file():
            return "finished"
        return "resumable" if self.last.is_file() else "stale"

    # ---- writing
    def write_history(self, history):
        """``history.json`` and ``history.csv`` (one row per epoch, the union of the rows' keys
        as columns), atomically."""
        from fer_keras.fileio import write_json, write_text

        write_json(self.history_json, history)
        keys = []
        for row in history:
            keys += [k for k in row if k not in keys]
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=keys, lineterminator="\n")
        w.writeheader()
        w.writerows(history)
        write_text(self.history_csv, buf.getvalue())

    def clear_checkpoints(self):
        """Remove the checkpoints of a stale run before it is trained again."""
        for name in self.CHECKPOINTS:
            (self.path / name).unlink(missing_ok=True)


def _same_data(a, b):
    if "synthetic" in (str(a), str(b)):
        return str(a) == str(b)
    return os.path.abspath(str(a)) == os.path.abspath(str(b))


@dataclass(frozen=True)
class RunState:
    """The run state: where a run stands after its last finished epoch, the one schema of what
    ``last.keras`` holds inside it and ``state.json`` shows (all of it but ``history``).

    ``epoch``: finished epochs (1-based count, no default: a state without it is no state);
    ``best``: the best validation accuracy so far (None before the first epoch);
    ``elapsed_seconds``: wall time of the epochs and their checkpoints, seconds;
    ``iterations``: optimizer steps taken (None: ``epoch`` times the steps of an epoch);
    ``callbacks``: ``{callback class name: its counters}``; ``rng``: the random-generator
    states in layer order (:func:`fer_keras.train.checkpoint.rng_states`); ``config``: the
    run's TrainConfig as a dict; ``history``: one row per epoch; ``planned_epochs`` and
    ``budget_replans``: the time budget's plan (None and ``[]`` without a budget)."""

    epoch: int
    best: float | None = None
    elapsed_seconds: float = 0.0
    iterations: int | None = None
    callbacks: dict = field(default_factory=dict)
    rng: list = field(default_factory=list)
    config: dict = field(default_factory=dict)
    history: list = field(default_factory=list)
    planned_epochs: int | None = None
    budget_replans: list = field(default_factory=list)

    def to_dict(self, history=True):
        """Every field as a JSON-able dict (``history=False``: all but ``history``, the
        ``state.json`` copy)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        if not history:
            del out["history"]
        return out

    @classmethod
    def from_dict(cls, state, path):
        """The state of the dict ``state`` read from the file ``path``; a one-line
        :class:`FerInputError` naming ``path`` when it is not an object, lacks ``epoch`` or
        has a field of the wrong type (truncated or edited by hand). Keys that are no field
        are ignored."""
        if not isinstance(state, dict):
            raise FerInputError(f"the run state must be an object, found "
                                f"{type(state).__name__}", file=path)
        if "epoch" not in state:
            raise FerInputError("run state field 'epoch' is missing; truncated or edited by "
                                "hand?", file=path)
        for key, kind in _KINDS.items():
            value = state.get(key)
            if key in state and (not isinstance(value, kind) or isinstance(value, bool)):
                raise FerInputError(f"run state field {key!r} has the wrong type "
                                    f"({type(value).__name__}); truncated or edited by hand?",
                                    file=path)
        if state["epoch"] < 0:
            raise FerInputError(f"run state field 'epoch' is negative ({state['epoch']})",
                                file=path)
        for row in state.get("history", []):
            if not isinstance(row, dict) or not isinstance(row.get("epoch"), int):
                raise FerInputError("run state history rows must be objects with an integer "
                                    "'epoch'", file=path)
        return cls(**{k: state[k] for k in _KINDS if k in state})


#: The JSON types each field of :class:`RunState` accepts (a bool is never a number).
_KINDS = {"epoch": int, "best": (int, float, type(None)), "elapsed_seconds": (int, float),
          "iterations": (int, type(None)), "callbacks": dict, "rng": list, "config": dict,
          "history": list, "planned_epochs": (int, type(None)), "budget_replans": list}
