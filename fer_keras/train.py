"""Training with checkpoints you can resume from, on any Keras 3 backend.

:func:`train` compiles and fits a registry model and writes into its run folder:

* ``config.json`` - the resolved :class:`~fer_keras.config.TrainConfig`;
* ``best.keras`` - the classifier (no augmentation layer) at its best validation accuracy;
* ``last.keras`` - the training model (augmentation + classifier + optimizer state) after the
  last finished epoch with the run state (epoch, callback states, random state, history) inside
  the same file, for ``--resume``; ``state.json`` is a readable copy of that state;
* ``model.keras`` - the classifier after the last epoch;
* ``history.csv`` / ``history.json`` - per-epoch metrics, learning rate and seconds;
* ``curves.png`` - accuracy and loss, train vs validation (report 003 Q2).

Every file is written atomically (temporary file + rename), so a kill at any moment leaves the
previous good file, and the checkpoint and its state are one file, so a kill between two writes
can never pair one epoch's weights with another epoch's state (:class:`RunRecorder`). A folder
that already holds a run is refused unless it is resumed or ``force``-d; an epoch whose loss is
NaN stops the run with the last good epoch kept. The order of each epoch depends only on
``(seed, epoch)`` and the random state of augmentation and dropout lives in the checkpoint, so a
resumed run ends where an uninterrupted one would.
"""
from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import keras
import numpy as np

from fer_keras import contract
from fer_keras.augment import RandomAffine
from fer_keras.config import TrainConfig
from fer_keras.errors import FerInputError
from fer_keras.io import atomic_path, save_model, write_json
from fer_keras.losses import make_loss
from fer_keras.rundir import RunDir, check_state
from fer_keras.schedules import WarmupCosine, make_schedule



# --------------------------------------------------------------------------- setup helpers
def set_determinism(seed, deterministic=True):
    """Seed Python, numpy and the backend; with TensorFlow, make its ops deterministic."""
    keras.utils.set_random_seed(int(seed))
    if deterministic and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


def clear_session():
    """``keras.backend.clear_session()`` that keeps the global dtype policy.

    Keras's clear_session resets the policy to float32 as well, which silently turned a
    mixed-precision run into a float32 one (1.7x slower) after the budget estimate.
    """
    policy = keras.config.dtype_policy()
    keras.backend.clear_session()
    keras.config.set_dtype_policy(policy)


def gpu_compute_capability():
    """``(major, minor)`` of the first GPU the backend uses, or None on a CPU."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if not gpus:
            return None
        cc = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability")
        return tuple(cc) if cc else (0, 0)
    if backend == "jax":
        import jax

        if jax.default_backend() not in ("gpu", "cuda", "rocm"):
            return None
        cc = getattr(jax.devices()[0], "compute_capability", None)
        try:
            return tuple(int(v) for v in str(cc).split(".")[:2])
        except ValueError:  # ROCm and unknown devices: no bf16 assumption
            return (0, 0)
    return None


def training_device():
    """One line naming the device training runs on: the backend's first GPU (its name) or the CPU.

    E.g. ``"GPU NVIDIA H200 (tensorflow backend)"`` or ``"CPU, 2 cores (jax backend)"``; it asks
    the backend, so it is the device a model built now would use.
    """
    import os

    backend = keras.backend.backend()
    name = None
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            name = tf.config.experimental.get_device_details(gpus[0]).get("device_name") or gpus[0].name
    elif backend == "jax":
        import jax

        if jax.default_backend() not in ("cpu",):
            name = getattr(jax.devices()[0], "device_kind", None) or str(jax.devices()[0])
    elif backend == "torch":
        import torch

        if torch.cuda.is_available():
            name = torch.cuda.get_device_name(0)
    if name:
        return f"GPU {name} ({backend} backend)"
    return f"CPU, {os.cpu_count()} cores ({backend} backend)"


def mixed_policy_name(capability="auto"):
    """``mixed_bfloat16`` on a CPU and on GPUs of compute capability 8.0 or later (Ampere,
    Hopper: bf16 tensor cores at the fp16 rate, and no loss scaling, whose skipped steps and
    scale search fp16 needs); ``mixed_float16`` on older GPUs. ``capability``: ``(major, minor)``,
    None for a CPU, or "auto" to ask the backend."""
    cc = gpu_compute_capability() if capability == "auto" else capability
    return "mixed_float16" if cc is not None and cc < (8, 0) else "mixed_bfloat16"


def make_optimizer(cfg: TrainConfig, steps_per_epoch: int):
    """The optimizer with its learning-rate schedule (a serialisable schedule of the step
    counter, so the optimizer's step counter restores the schedule exactly on resume)."""
    lr = make_schedule(cfg, steps_per_epoch)
    # the average lives in the optimizer's variables, so last.keras saves and restores it
    ema = dict(use_ema=True, ema_momentum=cfg.ema_momentum) if cfg.ema_momentum else {}
    if cfg.optimizer == "sgd":
        return keras.optimizers.SGD(lr, momentum=0.9, nesterov=True,
                                    weight_decay=cfg.weight_decay or None, **ema)
    if cfg.optimizer == "adamw":
        return keras.optimizers.AdamW(lr, weight_decay=cfg.weight_decay or 1e-4, **ema)
    return keras.optimizers.Adam(lr, weight_decay=cfg.weight_decay or None, **ema)


def build_training_model(cfg: TrainConfig, net):
    """``Sequential([augment, net])``: augmentation runs inside the compiled train step."""
    aug = RandomAffine.from_config_obj(cfg.augmentation(), seed=cfg.seed, name="augment")
    return keras.Sequential([keras.Input(shape=net.input_shape[1:], name="image"), aug, net],
                            name="trainer")


def compile_model(model, cfg, steps_per_epoch):
    model.compile(optimizer=make_optimizer(cfg, steps_per_epoch), loss=make_loss(cfg),
                  metrics=["accuracy"])


def load_training_model(path):
    """Load a ``last.keras`` training checkpoint (augmentation + classifier + optimizer)."""
    from fer_keras.models import load

    return load(path, classifier=False)


def classifier_of(model):
    """The classifier inside a training model (``Sequential([augment, net])``), or the model."""
    if model.name == "trainer":
        return model.layers[-1]
    return model


# --------------------------------------------------------------------------- callbacks
def _stateful(base):
    """A Keras callback whose counters survive a resume (they are reset in on_train_begin)."""

    class Stateful(base):
        _fields = ("wait", "best", "cooldown_counter", "stopped_epoch")

        def __init__(self, *a, state=None, **kw):
            super().__init__(*a, **kw)
            self._restore = state or {}

        def on_train_begin(self, logs=None):
            super().on_train_begin(logs)
            for k, v in self._restore.items():
                setattr(self, k, v)

        def get_state(self):
            out = {}
            for k in self._fields:
                v = getattr(self, k, None)
                if v is not None and not (isinstance(v, float) and math.isinf(v)):
                    out[k] = float(v) if isinstance(v, (float, np.floating)) else v
            return out

    Stateful.__name__ = f"Stateful{base.__name__}"
    return Stateful


class EMAWeights(keras.callbacks.Callback):
    """Validation and ``best.keras`` on the optimizer's moving average of the weights
    (``use_ema``, :func:`make_optimizer`; Polyak & Juditsky 1992), training on the raw ones.

    The average is swapped into the model for validation (``val_*`` is the averaged model's)
    and stays there until :class:`RunRecorder` has saved ``best.keras``; :meth:`restore_raw`
    swaps the raw weights back before ``last.keras``, so a checkpoint always holds raw weights
    in the model and the average in the optimizer, and a resume continues both exactly. After
    each epoch it also validates the raw weights (``raw_val_loss``, ``raw_val_accuracy``): the
    control that shows what the average adds. Batch-norm moving statistics are not averaged:
    they follow the raw weights (about the last 100 steps at momentum 0.99), which matters
    while the learning rate is high and fades as the schedule decays it. Swaps copy values
    exactly (Keras's SwapEMAWeights swaps by additions on TensorFlow, which rounds).
    """

    def __init__(self, validation=None):
        super().__init__()
        self.validation = validation
        self.swapped = False  # True while the model holds the average

    def _pairs(self):
        opt = self.model.optimizer
        opt = getattr(opt, "inner_optimizer", opt)  # a LossScaleOptimizer (float16) wraps it
        return zip(opt._trainable_variables, opt._model_variables_moving_average)

    def swap(self):
        for var, avg in self._pairs():
            raw = keras.ops.convert_to_numpy(var)
            var.assign(avg)
            avg.assign(raw)
        self.swapped = not self.swapped

    def restore_raw(self):
        if self.swapped:
            self.swap()

    def on_test_begin(self, logs=None):
        if not self.swapped:
            self.swap()

    def on_epoch_end(self, epoch, logs=None):
        # runs before the recorder: it leaves the average in the model for best.keras
        if self.validation is not None and logs is not None:
            self.restore_raw()
            raw = self.model.evaluate(self.validation, verbose=0, return_dict=True)
            logs.update({f"raw_val_{k}": float(v) for k, v in raw.items()})
        if not self.swapped:
            self.swap()


class RunRecorder:
    """Writes history, checkpoints and state after every epoch, each file atomically, in this
    order (see :func:`save_checkpoint`):

    1. ``history.json`` / ``history.csv`` (outputs; a resume takes the rows from the checkpoint);
    2. ``best.keras`` when the epoch is the best so far;
    3. ``last.keras`` with the run state (epoch, best, callbacks, random state, history, config)
       inside it: the commit point, one rename;
    4. ``state.json``, a readable copy of that state.

    A kill before step 3 leaves the previous epoch's checkpoint with its own state, so the resumed
    run repeats the epoch (deterministically, which rewrites step 1-2 files with the same
    content); a kill after it loses nothing. No kill can pair one epoch's weights with another
    epoch's state.
    """

    def __init__(self, out, cfg, history, best, stateful_callbacks, t0_elapsed=0.0, budget=None,
                 ema=None):
        self.ema = ema  # an EMAWeights: the model holds the average until best.keras is saved
        self.out = Path(out)
        self.cfg = cfg
        self.history = history
        self.best = best
        self.stateful = stateful_callbacks
        self.elapsed = t0_elapsed
        self.budget = budget
        self._t = time.perf_counter()
        recorder = self

        class _CB(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                recorder._t = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                recorder.epoch_end(self.model, epoch, logs or {})

        self.callback = _CB()

    def epoch_end(self, model, epoch, logs):
        secs = time.perf_counter() - self._t
        self.elapsed += secs
        lr = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
        row = {"epoch": epoch + 1, **{k: float(v) for k, v in logs.items() if k != "learning_rate"},
               "lr": lr, "seconds": round(secs, 3)}
        check_finite(row, self.out)
        self.history.append(row)
        write_history(self.out, self.history)
        net = classifier_of(model)
        val = row.get("val_accuracy", row.get("accuracy", 0.0))
        if self.best is None or val > self.best:
            self.best = val
            save_model(net, self.out / RunDir.BEST)
        if self.ema is not None:
            self.ema.restore_raw()
        if self.budget is not None:
            # re-planned before the checkpoint, so last.keras holds the schedule that goes on
            model.stop_training = self.budget.after_epoch(model, epoch + 1, self.elapsed,
                                                          self.history) or model.stop_training
        state = {"epoch": epoch + 1, "best": self.best, "elapsed_seconds": self.elapsed,
                 "iterations": int(keras.ops.convert_to_numpy(model.optimizer.iterations)),
                 "callbacks": {type(c).__name__: c.get_state() for c in self.stateful},
                 "rng": [keras.ops.convert_to_numpy(v).tolist() for v in rng_states(model)],
                 "config": self.cfg.to_dict(), "history": self.history}
        if self.budget is not None:
            state["planned_epochs"] = self.budget.planned
            state["budget_replans"] = self.budget.replans
        save_checkpoint(model, self.out / RunDir.LAST, state)
        write_json(self.out / RunDir.STATE, {k: v for k, v in state.items() if k != "history"})
        # what the epoch cost beyond its own seconds (checkpoints) counts against a budget too
        self.elapsed += time.perf_counter() - self._t - secs


def check_finite(row, out):
    """Stop the run (one-line :class:`FerInputError`) when an epoch's loss or metrics are NaN or
    infinite: the epoch is not recorded, so ``best.keras`` and ``last.keras`` keep the last good
    epoch."""
    bad = [k for k, v in row.items() if isinstance(v, float) and not math.isfinite(v)]
    if bad:
        raise FerInputError(f"training diverged at epoch {row['epoch']} ({', '.join(bad)} "
                            f"{row[bad[0]]}); the last good epoch is kept; lower --lr", file=out)


#: The member of ``last.keras`` (a zip) that holds the run state.
CHECKPOINT_STATE = "fer_keras_state.json"


def save_checkpoint(model, path, state):
    """Save the training model with the run ``state`` (a JSON-able dict) inside the same
    ``.keras`` zip, atomically: one rename publishes weights, optimizer and state together."""
    import zipfile

    with atomic_path(path, suffix=".keras") as tmp:
        model.save(tmp)
        with zipfile.ZipFile(tmp, "a") as z:
            z.writestr(CHECKPOINT_STATE, json.dumps(state, sort_keys=True))


def checkpoint_state(path):
    """The run state stored in the checkpoint ``path`` by :func:`save_checkpoint`, or None for a
    checkpoint written before the state moved inside it. Raises a one-line
    :class:`FerInputError` naming the file when it is not a readable checkpoint."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            if CHECKPOINT_STATE not in z.namelist():
                return None
            state = json.loads(z.read(CHECKPOINT_STATE).decode("utf-8"))
    except (OSError, zipfile.BadZipFile, UnicodeDecodeError, json.JSONDecodeError, EOFError) as e:
        raise FerInputError(f"corrupt checkpoint ({type(e).__name__}); start again without "
                            "--resume", file=path) from None
    return check_state(state, path)


class BudgetPlan:
    """Keeps a run inside ``cfg.budget_minutes`` of training time on a machine whose speed
    changes (other jobs, thermal limits).

    The run starts with the epochs that :func:`estimate_epochs` fitted. After every epoch the
    plan compares the time left with the median time of the last five epochs (validation and
    checkpoints included): if the planned epochs no longer fit, or if at least two more would, it
    re-plans to what fits, gives the learning-rate schedule that many epochs (same warm-up, same
    peak; the decay is stretched or shortened from where it is, so it still ends near zero), and
    retraces the train step. The run stops when the plan is done or the next epoch would not fit.
    """

    def __init__(self, cfg: TrainConfig, steps_per_epoch, planned, verbose=0):
        self.cfg = cfg
        self.steps = int(steps_per_epoch)
        self.planned = int(planned)
        self.budget_s = cfg.budget_minutes * 60.0
        self.verbose = verbose
        self.cap = self.planned + max(3, self.planned // 4)  # the epochs model.fit is given
        self.replans = []
        self.session_start = None  # epochs done when this process began

    def after_epoch(self, model, done, elapsed, history):
        """Re-plan after epoch ``done`` (1-based); True when the run should stop now."""
        if self.session_start is None:
            self.session_start = done - 1
        if elapsed >= self.budget_s:
            if done < self.planned:
                self._replan(model, done, done, self._per_epoch(history, done, elapsed),
                            elapsed)
            return True
        # a session's first epoch also traces the train step: re-plan from the second one on
        if done - self.session_start >= 2:
            per_epoch = self._per_epoch(history, done, elapsed)
            left = self.planned - done
            fit = min(int((self.budget_s - elapsed) // per_epoch), self.cap - done)
            if fit < left or fit > left + 1:
                self._replan(model, done, done + (fit if fit < left else fit - 1), per_epoch,
                             elapsed)
        return done >= self.planned

    def _per_epoch(self, history, done, elapsed):
        first = self.session_start + 1
        # a resumed run times its recent past across sessions, not its first timed epoch alone
        # (one noisy epoch once cut a 103-epoch plan to 83); run and session each traced the
        # train step in their first epoch
        rows = [r for r in history if r["epoch"] not in (1, first)] or history[-1:]
        # the rows' seconds leave out the checkpoint writes, which elapsed includes
        overhead = max(1.0, elapsed / max(sum(r["seconds"] for r in history), 1e-9))
        return float(np.median([r["seconds"] for r in rows[-5:]])) * overhead

    def _replan(self, model, done, new, per_epoch, elapsed):
        old, self.planned = self.planned, new
        if new == old:
            return
        self.replans.append({"after_epoch": done, "from": old, "to": new,
                             "epoch_seconds": round(per_epoch, 2)})
        if self.verbose:
            print(f"budget: {elapsed / 60:.1f} of {self.cfg.budget_minutes:g} min used at "
                  f"~{per_epoch:.0f} s/epoch -> {new} epochs instead of {old}", flush=True)
        if new <= done:
            return
        start = make_schedule(self.cfg, self.steps)  # cfg.epochs: the plan the run began with
        if isinstance(start, WarmupCosine):
            model.optimizer.learning_rate = make_schedule(
                self.cfg, self.steps, epochs=new, warmup_steps=start.warmup_steps)
            model.make_train_function(force=True)


def rng_states(model):
    """The model's random-generator state variables (dropout, augmentation), in layer order.

    Keras does not save them in ``.keras`` files; restoring them on resume is what makes the
    resumed run draw the same dropout masks and augmentations as an uninterrupted one.
    """
    return [v for v in model.variables if v.path.endswith("seed_generator_state")]


def write_history(out, history):
    """``history.json`` and ``history.csv`` (one row per epoch) into ``out``, atomically
    (:meth:`RunDir.write_history`)."""
    RunDir(out).write_history(history)


# --------------------------------------------------------------------------- the run
def resolve_config(cfg: TrainConfig) -> TrainConfig:
    if not cfg.out:
        cfg = cfg.replace(out=str(Path("runs") / cfg.model))
    return cfg


def check_out_dir(out):
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise FerInputError("the output folder is an existing file; choose another --out",
                            file=out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise FerInputError(f"cannot create the output folder ({e.strerror})", file=out) from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise FerInputError("output folder is not writable", file=out)
    return out


def _inputs(cfg, splits, initial_epoch):
    """The training input for ``cfg.input_pipeline``: (train_data, steps_per_epoch)."""
    tr = splits["train"]
    if cfg.input_pipeline == "tfdata":
        from fer_keras.data.tfdata import training_dataset

        ds, steps = training_dataset(tr.images, tr.labels, cfg, initial_epoch=initial_epoch)
        return ds, steps
    if cfg.input_pipeline == "idg":
        from fer_keras.data.oversample import idg_training_sequence

        seq = idg_training_sequence(tr.images, tr.labels, cfg, initial_epoch=initial_epoch)
        return seq, len(seq)
    from fer_keras.data.pipeline import EpochBatches

    seq = EpochBatches(tr.images, tr.labels, cfg.batch_size, cfg.seed, cfg.oversample,
                       initial_epoch=initial_epoch)
    return seq, len(seq)


def _strategy_scope(cfg):
    import contextlib

    if cfg.strategy != "mirrored":
        return contextlib.nullcontext()
    from fer_keras.errors import require_tensorflow

    tf = require_tensorflow("--strategy mirrored")
    if keras.backend.backend() != "tensorflow":
        raise FerInputError("--strategy mirrored needs KERAS_BACKEND=tensorflow")
    return tf.distribute.MirroredStrategy().scope()


def estimate_epochs(cfg, splits, budget_minutes):
    """Epochs that fit ``budget_minutes`` of training here, from a timed burst of train steps."""
    net = _build_net(cfg)
    model = build_training_model(cfg, net)
    compile_model(model, cfg, 100)
    seq, steps = _inputs(cfg, splits, 0)
    full = max(1, steps - 1)  # the last batch may be short (and would trigger a retrace)
    times = []
    for i in range(18):
        x, y = seq[i % full]
        t = time.perf_counter()
        model.train_on_batch(x, y)
        times.append(time.perf_counter() - t)
    # the first steps compile and warm up oneDNN; the median ignores spikes from other jobs
    per_step = float(np.median(times[3:]))
    val_n = len(splits["val"])
    per_epoch = per_step * steps * 1.05 + per_step / 3 * val_n / cfg.batch_size
    del model, net
    clear_session()
    return max(1, int(budget_minutes * 60 / per_epoch)), per_epoch


#: ``model="auto"``: the recipe's models, widest first, each with the fewest epochs the budget must
#: give it. Measured with preset best (RESULTS.md, GPU runs in the CPU's time ratio: fer_net
#: trains 2.05x faster than fer_net_large here): at the time of 53 epochs of fer_net_large,
#: fer_net (109 epochs) is as good or better; at 103 epochs fer_net_large wins by 1.1-1.4 points.
AUTO_MODELS = (("fer_net_large", 80), ("fer_net", 0))


def choose_model(cfg, splits, budget_minutes):
    """The model for ``model="auto"``: the first of :data:`AUTO_MODELS` whose timed burst plans at
    least its minimum epochs into ``budget_minutes``. Returns ``(name, epochs, seconds_per_epoch)``."""
    for name, min_epochs in AUTO_MODELS:
        epochs, per_epoch = estimate_epochs(cfg.replace(model=name), splits, budget_minutes)
        if epochs >= min_epochs:
            return name, epochs, per_epoch
    return name, epochs, per_epoch


def check_model_name(name):
    """Raise :class:`FerInputError` for a name that is neither in the registry nor ``"auto"``
    (which the budget resolves to a registry model, :func:`choose_model`)."""
    if name != "auto":
        from fer_keras import models

        models.get(name)


def _build_net(cfg):
    from fer_keras import models

    return models.build(cfg.model)


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


def check_resume_flags(cfg, given):
    """``--resume`` keeps the run's own config.json: refuse (one line) flags in ``given``
    (``{field: value}`` set by the user) that differ from it, naming each with both values."""
    from fer_keras.config import resume_conflicts

    out = Path(resolve_config(cfg).out)
    saved = RunDir(out).require_resumable()
    diff = resume_conflicts(saved, given)
    if diff:
        raise FerInputError(f"--resume continues the run with its own config.json; these flags "
                            f"differ from it: {'; '.join(diff)}; drop them, or start a new "
                            "--out", file=out)


def train(cfg: TrainConfig, resume=False, splits=None, force=False):
    """Train ``cfg.model`` on ``cfg.data`` and write the run folder ``cfg.out``.

    Returns ``(classifier, history)``: the classifier after the last epoch and a list of per-epoch
    dicts (``epoch`` 1-based, ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``, ``lr``,
    ``seconds``). ``resume=True`` continues from ``last.keras`` at the next epoch (from the
    start when the run was stopped before its first checkpoint). Without it, a folder that
    already holds a run is refused unless ``force=True``.
    """
    from fer_keras import data

    cfg = resolve_config(cfg)
    out = check_out_dir(cfg.out)
    if resume:
        cfg = RunDir(out).require_resumable().replace(out=str(out), verbose=cfg.verbose)
        if (out / RunDir.LAST).is_file():
            read_resume_state(out, cfg)  # a bad checkpoint fails before any data is read
    elif not force:
        check_no_run(out)
    check_model_name(cfg.model)  # a wrong name fails before any data is read
    if cfg.verbose:
        print(f"training on {training_device()}", flush=True)
    set_determinism(cfg.seed, cfg.deterministic)
    if splits is None:
        splits = data.load_splits(cfg.data, val_fraction=cfg.val_fraction, seed=cfg.seed,
                                  n_synthetic=cfg.n_synthetic, resize=cfg.resize)
    previous_policy = keras.config.dtype_policy()
    if cfg.precision == "mixed":
        keras.config.set_dtype_policy(mixed_policy_name())
    try:
        if cfg.budget_minutes and not resume:
            # timed under the run's own precision policy (bf16 steps are ~1.5-2x faster)
            if cfg.model == "auto":
                model, epochs, per_epoch = choose_model(cfg, splits, cfg.budget_minutes)
                if cfg.verbose:
                    print(f"--model auto: {model}")
                cfg = cfg.replace(model=model)
            else:
                epochs, per_epoch = estimate_epochs(cfg, splits, cfg.budget_minutes)
            if cfg.verbose:
                print(f"budget {cfg.budget_minutes:g} min at ~{per_epoch:.1f} s/epoch "
                      f"-> {epochs} epochs")
            cfg = cfg.replace(epochs=epochs)
            set_determinism(cfg.seed, cfg.deterministic)
            if cfg.verbose:
                print(f"budget: the plan is re-fitted to the time left after every epoch "
                      f"(Keras counts up to a cap of {BudgetPlan(cfg, 1, epochs).cap})")
        return _fit(cfg, out, resume, splits)
    finally:
        keras.config.set_dtype_policy(previous_policy)


def read_resume_state(out, cfg):
    """The state to resume the run in ``out`` from: the one inside ``last.keras`` (a legacy
    checkpoint: ``state.json`` and ``history.json`` beside it). Refuses, with one line, a
    checkpoint that another configuration (another model) wrote."""
    run = RunDir(out)
    ckpt = run.last
    state = checkpoint_state(ckpt)
    if state is None:  # written by a version without the state inside the checkpoint
        state = {**run.state(), "history": run.history()}
    saved = state.get("config")
    if saved is not None:
        keep = ("out", "verbose")
        diff = [k for k, v in saved.items()
                if k not in keep and hasattr(cfg, k) and getattr(cfg, k) != v]
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
    want = state.get("iterations", state["epoch"] * steps)
    if it != want:
        raise FerInputError(f"the checkpoint holds {it} optimizer steps but its state says epoch "
                            f"{state['epoch']} ({want} steps): they do not belong together; "
                            "start again without --resume", file=ckpt)


def _fit(cfg, out, resume, splits):
    run = RunDir(out)
    state, history, initial_epoch = {}, [], 0
    ckpt = run.last
    resume = resume and ckpt.is_file()  # a run killed in its first epoch starts again
    if resume:
        state = read_resume_state(out, cfg)
        initial_epoch = state["epoch"]
        history = [r for r in state["history"] if r["epoch"] <= initial_epoch]
    else:
        cfg.save(run.config)

    train_data, steps = _inputs(cfg, splits, initial_epoch)
    with _strategy_scope(cfg):
        if resume:
            model = load_training_model(ckpt)
            check_resumed_model(model, state, ckpt, steps)
            for var, value in zip(rng_states(model), state.get("rng", [])):
                var.assign(np.asarray(value, dtype=var.dtype))
        else:
            net = _build_net(cfg)
            model = build_training_model(cfg, net)
            compile_model(model, cfg, steps)
            # how the run's model wants its images: read back by models.load_classifier
            contract.record(out, net)

    cb_state = state.get("callbacks", {})
    stateful = []
    callbacks = []
    if cfg.schedule == "plateau":
        cls = _stateful(keras.callbacks.ReduceLROnPlateau)
        rl = cls(monitor="val_loss", factor=0.5, patience=cfg.reduce_lr_patience, min_lr=1e-6,
                 verbose=cfg.verbose, state=cb_state.get(cls.__name__))
        stateful.append(rl)
        callbacks.append(rl)
    if cfg.early_stopping:
        cls = _stateful(keras.callbacks.EarlyStopping)
        es = cls(monitor="val_accuracy", patience=cfg.early_stopping, verbose=cfg.verbose,
                 state=cb_state.get(cls.__name__))
        stateful.append(es)
        callbacks.append(es)
    if cfg.tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(run.tensorboard)))
    budget, fit_epochs = None, cfg.epochs
    if cfg.budget_minutes:
        budget = BudgetPlan(cfg, steps, state.get("planned_epochs", cfg.epochs), cfg.verbose)
        budget.replans = list(state.get("budget_replans", []))
        spent = state.get("elapsed_seconds", 0.0) >= budget.budget_s
        fit_epochs = budget.cap if initial_epoch < budget.planned and not spent else initial_epoch
    from fer_keras.data.pipeline import ArrayBatches

    val = splits["val"]
    validation = ArrayBatches(val.images, val.labels) if len(val) else None
    ema = EMAWeights(validation) if cfg.ema_momentum else None
    recorder = RunRecorder(out, cfg, history, state.get("best"), stateful,
                           state.get("elapsed_seconds", 0.0), budget=budget, ema=ema)
    callbacks.insert(0, recorder.callback)
    if ema is not None:
        callbacks.insert(0, ema)  # its on_epoch_end must run before the recorder's
    if initial_epoch < fit_epochs:
        # A PyDataset gets no steps_per_epoch: Keras then opens a fresh iterator after each
        # on_epoch_begin, so no batch is prefetched with the previous epoch's order.
        model.fit(train_data, epochs=fit_epochs, initial_epoch=initial_epoch,
                  steps_per_epoch=None if hasattr(train_data, "on_epoch_begin") else steps,
                  shuffle=False, validation_data=validation, callbacks=callbacks,
                  verbose=cfg.verbose)  # Keras ends it with the average in the model
    elif ema is not None:  # a finished run resumed: model.keras is still the average
        model.optimizer.finalize_variable_values(model.trainable_variables)
    net = classifier_of(model)
    save_model(net, run.model)
    try:
        from fer_keras import plotting

        plotting.training_curves(recorder.history, run.curves, title=cfg.model)
    except ImportError as e:  # matplotlib is optional
        print(f"note: no curves.png ({e})")
    return net, recorder.history
