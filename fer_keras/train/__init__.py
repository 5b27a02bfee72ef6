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

The package:

==========  ===========================================================================
fit         :func:`train`, the fit loop, :class:`RunRecorder` and the callbacks
checkpoint  ``last.keras`` and its state, and the whole resume story (:func:`read_resume_state`,
            :func:`check_resumed_model`, :func:`rng_states`, :func:`check_resume_flags`)
budget      :class:`BudgetPlan`, :func:`estimate_epochs`, :func:`choose_model`
            (``--budget-minutes``)
throughput  how fast this machine trains a run (:func:`epoch_seconds`, a timed burst kept per
            CPU) and the CPU in words (:func:`cpu_kind`): what every time estimate reads
steps       what a training step is made of: device, precision policy, optimizer, loss,
            training model, compilation, input batches (also used by :mod:`fer_keras.semi`)
distribute  ``distribute="data-parallel"``: :func:`replicas_for` and :class:`Replicas`, the
            devices a run trains on (JAX ``DataParallel``, TensorFlow mirrored strategies)
rundir      :class:`RunDir`: a run folder's files, history and status; :class:`RunState`: the
            run state's schema
evaluate    metrics, confusion matrices, test-time augmentation, run summaries
augment     the vectorised augmentation layer (``RandomAffine``)
losses      the label-smoothing loss; schedules: the learning-rate schedule (both registered
            for ``keras.saving``: ``.keras`` files reference them)
==========  ===========================================================================

Modules load on first use: importing one (``fer_keras.train.augment`` while Keras registers the
package's classes) does not import the training loop.
"""
from fer_keras._lazy import lazy_face

#: name -> the module of this package that defines it
_EXPORTS = {
    **dict.fromkeys(("AUTO_MODELS", "BudgetPlan", "choose_model", "estimate_epochs"), "budget"),
    **dict.fromkeys(("CHECKPOINT_STATE", "RUN_FILES", "check_no_run", "check_resume_flags",
                     "check_resumed_model", "checkpoint_state", "interrupted_note",
                     "load_training_model", "read_resume_state", "resolve_config",
                     "restore_rng_states", "rng_states", "save_checkpoint"), "checkpoint"),
    **dict.fromkeys(("ONE", "Replicas", "replicas_for"), "distribute"),
    **dict.fromkeys(("RunRecorder", "check_finite", "check_model_name", "train",
                     "write_history"), "fit"),
    **dict.fromkeys(("RunState",), "rundir"),
    **dict.fromkeys(("cpu_kind", "epoch_seconds"), "throughput"),
    **dict.fromkeys(("build_net", "build_training_model", "classifier_of", "clear_session",
                     "compile_model", "gpu_compute_capability", "make_optimizer",
                     "mixed_policy_name", "set_determinism", "training_device", "training_inputs",
                     "validation_inputs"), "steps"),
}
__all__ = sorted(_EXPORTS)


_SUBMODULES = ("fit", "checkpoint", "budget", "steps", "distribute", "rundir", "evaluate", "tfdata",
               "augment", "losses", "schedules", "ema")


__getattr__, __dir__ = lazy_face(__name__, _EXPORTS, _SUBMODULES)
