"""The run folder's checkpoint and the whole resume story.

``last.keras`` holds the training model (augmentation + classifier + optimizer state) and, in the
same zip, the run state (epoch, best accuracy, callback states, random state, history, config:
:func:`save_checkpoint`), so that one rename publishes them together. A resume reads that state
(:func:`read_resume_state`), refuses a checkpoint of another configuration or another epoch
(:func:`check_resumed_model`), restores the random-generator states that ``.keras`` files leave
out (:func:`rng_states`), and keeps the run's own ``config.json`` against differing flags
(:func:`check_resume_flags`). A folder that holds a run is refused to a new one
(:func:`check_no_run`).
"""
from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np

from fer_keras.config import SESSION_FIELDS, TrainConfig, resume_conflicts
from fer_keras.errors import FerInputError, quote_name
from fer_keras.fileio import atomic_path
from fer_keras.train.rundir import RunDir, RunState


def resolve_config(cfg: TrainConfig) -> TrainConfig:
    """``cfg`` with its run folder: ``runs/<model>`` when ``out`` is not set."""
    if not cfg.out:
        cfg = cfg.replace(out=str(Path("runs") / cfg.model))
    return cfg


#: Files whose presence makes a folder a run folder (``train`` without --resume refuses it).
RUN_FILES = (RunDir.CONFIG, RunDir.LAST, RunDir.BEST, RunDir.MODEL, RunDir.STATE,
             RunDir.HISTORY_JSON)


def check_no_run(out):
    """Refuse (one line) to start a new run in a folder that holds another run's files."""
    found = [f for f in RUN_FILES if (Path(out) / f).exists()]
    if found:
        raise FerInputError(f"a run is already here ({', '.join(found)}); continue it with "
                            "--resume, overwrite it with --force, or choose a new --out",
                            file=out)


def interrupted_note(out):
    """What an interrupted run leaves in its folder ``out``, in one line: the epoch that
    ``--resume`` continues after when a checkpoint it would pick up is there, else that
    nothing was saved."""
    run = RunDir(out)
    if run.config.is_file() and run.last.is_file():
        try:
            epoch = checkpoint_state(run.last).epoch
        except FerInputError:
            epoch = None  # a checkpoint --resume refuses is nothing to continue from
        if epoch:
            return f"epoch {epoch} is saved in {quote_name(out)}; continue with --resume"
    again = " with --force" if any((Path(out) / f).exists() for f in RUN_FILES) else ""
    return f"no epoch had finished: nothing was saved in {quote_name(out)}; start again{again}"


def check_resume_flags(cfg, given):
    """``--resume`` keeps the run's own config.json: refuse (one line) flags in ``given``
    (``{field: value}`` set by the user) that differ from it, naming each with both values."""
    out = Path(resolve_config(cfg).out)
    saved = RunDir(out).require_resumable()
    diff = resume_conflicts(saved, given)
    if diff:
        raise FerInputError(f"--resume continues the run with its own config.json; these flags "
                            f"differ from it: {'; '.join(diff)}; drop them, or start a new "
                            "--out", file=out)


#: The member of ``last.keras`` (a zip) that holds the run state.
CHECKPOINT_STATE = "fer_keras_state.json"


def save_checkpoint(model, path, state):
    """Save the training model with the run ``state`` (a :class:`RunState`) inside the same
    ``.keras`` zip, atomically: one rename publishes weights, optimizer and state together."""
    import zipfile

    with atomic_path(path, suffix=".keras") as tmp:
        model.save(tmp)
        with zipfile.ZipFile(tmp, "a") as z:
            z.writestr(CHECKPOINT_STATE, json.dumps(state.to_dict(), sort_keys=True))


def checkpoint_state(path):
    """The :class:`RunState` stored in the checkpoint ``path`` by :func:`save_checkpoint`.
    Raises a one-line :class:`FerInputError` naming the file when it is not a readable
    checkpoint, and naming its run folder when the checkpoint holds no run state (an older
    fer_keras kept it in ``state.json`` beside it)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            if CHECKPOINT_STATE not in z.namelist():
                raise FerInputError(
                    f"run folder {quote_name(Path(path).parent)} was written by an older "
                    "fer_keras (its last.keras holds no run state); train again with --force, "
                    "or resume it with the fer_keras that wrote it")
            state = json.loads(z.read(CHECKPOINT_STATE).decode("utf-8"))
    except (OSError, zipfile.BadZipFile, UnicodeDecodeError, json.JSONDecodeError, EOFError) as e:
        raise FerInputError(f"corrupt checkpoint ({type(e).__name__}); start again without "
                            "--resume", file=path) from None
    return RunState.from_dict(state, path)


def load_training_model(path):
    """Load a ``last.keras`` training checkpoint (augmentation + classifier + optimizer)."""
    from fer_keras.models.loading import load

    return load(path, classifier=False)


def read_resume_state(out, cfg):
    """The :class:`RunState` to resume the run in ``out`` from: the one inside ``last.keras``.
    Refuses, with one line, a checkpoint that another configuration (another model) wrote."""
    ckpt = RunDir(out).last
    state = checkpoint_state(ckpt)
    saved = state.config
    if saved:
        diff = [k for k, v in saved.items()
                if k not in SESSION_FIELDS and hasattr(cfg, k) and getattr(cfg, k) != v]
        if diff:
            k = diff[0]
            raise FerInputError(
                f"the checkpoint was trained with {k}={saved[k]!r} but config.json says "
                f"{getattr(cfg, k)!r}: they belong to different runs; start a new folder",
                file=ckpt)
    return state


def check_resumed_model(model, state, ckpt, steps):
    """The loaded checkpoint must be this run's training model at the state's epoch."""
    if model.name != "trainer" or not getattr(model, "optimizer", None):
        raise FerInputError("not a training checkpoint of fer_keras (no augmentation + optimizer)",
                            file=ckpt)
    it = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
    want = state.epoch * steps if state.iterations is None else state.iterations
    if it != want:
        raise FerInputError(f"the checkpoint holds {it} optimizer steps but its state says epoch "
                            f"{state.epoch} ({want} steps): they do not belong together; "
                            "start again without --resume", file=ckpt)


def rng_states(model):
    """The model's random-generator state variables (dropout, augmentation), in layer order.

    Keras does not save them in ``.keras`` files; restoring them on resume is what makes the
    resumed run draw the same dropout masks and augmentations as an uninterrupted one.
    """
    return [v for v in model.variables if v.path.endswith("seed_generator_state")]


def restore_rng_states(model, state):
    """Set ``model``'s random-generator states (:func:`rng_states`) to those saved in ``state``
    (a :class:`RunState`), so that the resumed run draws what an uninterrupted one would."""
    for var, value in zip(rng_states(model), state.rng):
        var.assign(np.asarray(value, dtype=var.dtype))
