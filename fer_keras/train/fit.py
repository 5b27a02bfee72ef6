"""The run: :func:`train` fits a registry model and writes its run folder after every epoch
(:class:`RunRecorder`, the callbacks), starting afresh or resuming from the checkpoint
(:mod:`fer_keras.train.checkpoint`), within a time budget if one is set
(:mod:`fer_keras.train.budget`), from the pieces of :mod:`fer_keras.train.steps`."""
from __future__ import annotations

import math
import time
from pathlib import Path

import keras
import numpy as np

from fer_keras.config import TrainConfig
from fer_keras.errors import FerInputError
from fer_keras.fileio import check_out_dir, save_model
from fer_keras.models import contract
from fer_keras.train import steps
from fer_keras.train.budget import AUTO_MODELS, BudgetPlan, choose_model, estimate_epochs
from fer_keras.train.checkpoint import (
    check_no_run,
    check_resumed_model,
    interrupted_note,
    load_training_model,
    read_resume_state,
    resolve_config,
    restore_rng_states,
    rng_states,
    save_checkpoint,
)
from fer_keras.train.distribute import ONE, replicas_for, save_aside
from fer_keras.train.rundir import RunDir, RunState


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
                 ema=None, chief=True, joins_saves=False):
        self.chief = chief  # data parallelism on several hosts: the others write nothing
        self.joins_saves = joins_saves
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

        class _Record(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                recorder._t = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                recorder.epoch_end(self.model, epoch, logs or {})

        class _Commit(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                recorder.commit(self.model, epoch)

        #: first of the epoch's callbacks: the row with the epoch's own learning rate
        self.callback = _Record()
        #: last of them: the checkpoint, after ReduceLROnPlateau and EarlyStopping have taken
        #: this epoch into their counters, so a resumed run cuts the rate when this one would
        self.commit_callback = _Commit()
        self._secs = 0.0

    def epoch_end(self, model, epoch, logs):
        """Steps 1-2: the epoch's row (its learning rate before any cut at its end) and
        ``best.keras``."""
        secs = time.perf_counter() - self._t
        self._secs = secs
        self.elapsed += secs
        lr = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
        row = {"epoch": epoch + 1, **{k: float(v) for k, v in logs.items() if k != "learning_rate"},
               "lr": lr, "seconds": round(secs, 3)}
        check_finite(row, self.out)
        self.history.append(row)
        if self.chief:
            write_history(self.out, self.history)
        net = steps.classifier_of(model)
        val = row.get("val_accuracy", row.get("accuracy", 0.0))
        if self.best is None or val > self.best:
            self.best = val
            if self.chief:
                save_model(net, self.out / RunDir.BEST)
        if self.ema is not None:
            self.ema.restore_raw()

    def commit(self, model, epoch):
        """Steps 3-4: the re-plan of a budget, ``last.keras`` with the run state and
        ``state.json``."""
        if self.budget is not None:
            # re-planned before the checkpoint, so last.keras holds the schedule that goes on
            model.stop_training = self.budget.after_epoch(model, epoch + 1, self.elapsed,
                                                          self.history) or model.stop_training
        state = RunState(
            epoch=epoch + 1, best=self.best, elapsed_seconds=self.elapsed,
            iterations=int(keras.ops.convert_to_numpy(model.optimizer.iterations)),
            callbacks={type(c).__name__: c.get_state() for c in self.stateful},
            rng=[keras.ops.convert_to_numpy(v).tolist() for v in rng_states(model)],
            config=self.cfg.to_dict(), history=self.history,
            planned_epochs=None if self.budget is None else self.budget.planned,
            budget_replans=[] if self.budget is None else self.budget.replans)
        if self.chief:
            save_checkpoint(model, self.out / RunDir.LAST, state)
            RunDir(self.out).write_state(state)
        elif self.joins_saves:  # the save is collective there: join it, away from the run
            save_aside(save_checkpoint, model, RunDir.LAST, state)
        # what the epoch cost beyond its own seconds (checkpoints) counts against a budget too
        self.elapsed += time.perf_counter() - self._t - self._secs


def check_finite(row, out):
    """Stop the run (one-line :class:`FerInputError`) when an epoch's loss or metrics are NaN or
    infinite: the epoch is not recorded, so ``best.keras`` and ``last.keras`` keep the last good
    epoch."""
    bad = [k for k, v in row.items() if isinstance(v, float) and not math.isfinite(v)]
    if bad:
        raise FerInputError(f"training diverged at epoch {row['epoch']} ({', '.join(bad)} "
                            f"{row[bad[0]]}); the last good epoch is kept; lower --lr", file=out)


def write_history(out, history):
    """``history.json`` and ``history.csv`` (one row per epoch) into ``out``, atomically
    (:meth:`RunDir.write_history`)."""
    RunDir(out).write_history(history)


# --------------------------------------------------------------------------- the run
def check_model_name(name):
    """Raise :class:`FerInputError` for a name that is neither in the registry nor ``"auto"``
    (which the budget resolves to a registry model, :func:`choose_model`)."""
    if name != "auto":
        from fer_keras import models

        models.get(name)


def train(cfg: TrainConfig, resume=False, splits=None, force=False):
    """Train ``cfg.model`` on ``cfg.data`` and write the run folder ``cfg.out``.

    Returns ``(classifier, history)``: the classifier after the last epoch and a list of per-epoch
    dicts (``epoch`` 1-based, ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``, ``lr``,
    ``seconds``). ``resume=True`` continues from ``last.keras`` at the next epoch (from the
    start when the run was stopped before its first checkpoint). Without it, a folder that
    already holds a run is refused unless ``force=True``. A Ctrl-C raises
    :class:`KeyboardInterrupt` whose message says what it left (:func:`interrupted_note`).
    """
    cfg = resolve_config(cfg)
    out = check_out_dir(cfg.out)
    try:
        return _train(cfg, out, resume, splits, force)
    except KeyboardInterrupt:
        raise KeyboardInterrupt(interrupted_note(out)) from None


def _train(cfg, out, resume, splits, force):
    from fer_keras.data.loading import load_splits

    if resume:
        # the session's fields (SESSION_FIELDS) come from this call, the rest from config.json
        cfg = RunDir(out).require_resumable().replace(out=str(out), verbose=cfg.verbose,
                                                      distribute=cfg.distribute)
        if (out / RunDir.LAST).is_file():
            read_resume_state(out, cfg)  # a bad checkpoint fails before any data is read
    check_model_name(cfg.model)  # a wrong name fails before any data is read
    # first: several hosts must meet before any computation, and a bad batch fails early
    replicas = replicas_for(cfg)
    if not resume and not force and replicas.chief:
        # only the chief writes; on a shared --out the others would find its first files
        check_no_run(out)
    if cfg.verbose:
        print(f"training on {steps.training_device()}", flush=True)
        if replicas is not ONE:
            print(f"data-parallel on {replicas.describe()}: global batch {cfg.batch_size}, "
                  f"{cfg.batch_size // replicas.count} images a device", flush=True)
    steps.set_determinism(cfg.seed, cfg.deterministic)
    if splits is None:
        splits = load_splits(cfg.data, val_fraction=cfg.val_fraction, seed=cfg.seed,
                             n_synthetic=cfg.n_synthetic, resize=cfg.resize)
        if cfg.select_on == "train":
            from fer_keras.data.holdout import select_on_train

            splits = select_on_train(splits, cfg.val_fraction, cfg.seed)
    if cfg.precision == "auto":
        from fer_keras.train.throughput import choose_precision

        # --model auto is chosen after the precision: time the widest model it may choose
        timed = cfg.replace(model=AUTO_MODELS[0][0]) if cfg.model == "auto" else cfg
        precision, why = choose_precision(timed, splits, replicas)
        cfg = cfg.replace(precision=precision)
        if cfg.verbose:
            print(f"--precision auto: {precision} ({why})", flush=True)
        steps.set_determinism(cfg.seed, cfg.deterministic)
    previous_policy = keras.config.dtype_policy()
    if cfg.precision == "mixed":
        keras.config.set_dtype_policy(steps.mixed_policy_name())
    try:
        if cfg.budget_minutes and not resume:
            # timed under the run's own precision policy (bf16 steps are ~1.5-2x faster)
            if cfg.model == "auto":
                model, epochs, per_epoch = choose_model(cfg, splits, cfg.budget_minutes,
                                                        replicas)
                if cfg.verbose:
                    print(f"--model auto: {model}")
                cfg = cfg.replace(model=model)
            else:
                epochs, per_epoch = estimate_epochs(cfg, splits, cfg.budget_minutes, replicas)
            if cfg.verbose:
                print(f"budget {cfg.budget_minutes:g} min at ~{per_epoch:.1f} s/epoch "
                      f"-> {epochs} epochs")
            cfg = cfg.replace(epochs=epochs)
            steps.set_determinism(cfg.seed, cfg.deterministic)
            if cfg.verbose:
                print(f"budget: the plan is re-fitted to the time left after every epoch "
                      f"(Keras counts up to a cap of {BudgetPlan(cfg, 1, epochs).cap})")
        elif cfg.verbose and not resume and cfg.data != "synthetic" and replicas is ONE:
            estimate_line(cfg, splits)
            steps.set_determinism(cfg.seed, cfg.deterministic)
        with replicas.scope():  # JAX: the distribution is set for the run, and unset after
            return _fit(cfg, out, resume, splits, replicas)
    finally:
        keras.config.set_dtype_policy(previous_policy)


def estimate_line(cfg, splits):
    """Print how long ``cfg``'s epochs should take here: an epoch's time measured on this
    machine (:func:`fer_keras.train.throughput.epoch_seconds`, a burst of the run's own train
    steps, or the time stored from an earlier burst of the same run on this CPU)."""
    from fer_keras.train.throughput import cpu_kind, epoch_seconds

    per_epoch, measured = epoch_seconds(cfg, splits)
    how = "timed just now" if measured else "timed earlier on this machine"
    print(f"estimated time: about {max(1, round(per_epoch * cfg.epochs / 60))} min for "
          f"{cfg.epochs} epochs at ~{per_epoch:.0f} s an epoch ({how}; early stopping may end "
          f"it sooner); this CPU: {cpu_kind()}", flush=True)


def _fit(cfg, out, resume, splits, replicas=ONE):
    run = RunDir(out)
    state, history, initial_epoch = RunState(epoch=0), [], 0
    ckpt = run.last
    resume = resume and ckpt.is_file()  # a run killed in its first epoch starts again
    if resume:
        state = read_resume_state(out, cfg)
        initial_epoch = state.epoch
        history = [r for r in state.history if r["epoch"] <= initial_epoch]
    elif replicas.chief:
        cfg.save(run.config)

    train_data, n_steps = steps.training_inputs(cfg, splits, initial_epoch, replicas)
    if resume:
        model = load_training_model(ckpt)
        check_resumed_model(model, state, ckpt, n_steps)
        restore_rng_states(model, state)
    else:
        net = steps.build_net(cfg)
        model = steps.build_training_model(cfg, net)
        steps.compile_model(model, cfg, n_steps)
        if replicas.chief:
            # how the run's model wants its images: read back by models.load_classifier
            contract.record(out, net)

    cb_state = state.callbacks
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
        planned = cfg.epochs if state.planned_epochs is None else state.planned_epochs
        budget = BudgetPlan(cfg, n_steps, planned, cfg.verbose)
        budget.replans = list(state.budget_replans)
        spent = state.elapsed_seconds >= budget.budget_s
        fit_epochs = budget.cap if initial_epoch < budget.planned and not spent else initial_epoch
    from fer_keras.train.ema import EMAWeights

    validation = steps.validation_inputs(splits, replicas)
    if cfg.verbose and replicas.count > 1 and len(splits["val"]) % replicas.count:
        print(f"note: validation leaves out the last {len(splits['val']) % replicas.count} of "
              f"{len(splits['val'])} images: every batch must split over {replicas.count} "
              "devices", flush=True)
    ema = EMAWeights(validation) if cfg.ema_momentum else None
    recorder = RunRecorder(out, cfg, history, state.best, stateful,
                           state.elapsed_seconds, budget=budget, ema=ema,
                           chief=replicas.chief, joins_saves=replicas.joins_saves)
    callbacks.insert(0, recorder.callback)
    callbacks.append(recorder.commit_callback)
    if ema is not None:
        callbacks.insert(0, ema)  # its on_epoch_end must run before the recorder's
    if hasattr(train_data, "epoch_callback"):
        callbacks.insert(0, train_data.epoch_callback())
    if initial_epoch < fit_epochs:
        # A PyDataset gets no steps_per_epoch: Keras then opens a fresh iterator after each
        # on_epoch_begin, so no batch is prefetched with the previous epoch's order.
        model.fit(train_data, epochs=fit_epochs, initial_epoch=initial_epoch,
                  steps_per_epoch=None if hasattr(train_data, "on_epoch_begin") else n_steps,
                  shuffle=False, validation_data=validation, callbacks=callbacks,
                  verbose=cfg.verbose)  # Keras ends it with the average in the model
    elif ema is not None:  # a finished run resumed: model.keras is still the average
        model.optimizer.finalize_variable_values(model.trainable_variables)
    net = steps.classifier_of(model)
    if not replicas.chief:
        return net, recorder.history
    save_model(net, run.model)
    try:
        from fer_keras import plotting

        plotting.training_curves(recorder.history, run.curves, title=cfg.model)
    except ImportError as e:  # matplotlib is optional
        print(f"note: no curves.png ({e})")
    return net, recorder.history
