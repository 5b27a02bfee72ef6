"""Training on every device Keras sees: ``TrainConfig(distribute="data-parallel")``,
``fer-keras train --distribute data-parallel``.

Data parallelism: the model is replicated on every device, each global batch of
``cfg.batch_size`` images is split evenly over the devices, and the gradients are averaged, so a
step computes what one device computes on the whole batch (up to float rounding), with one
exception on TensorFlow: batch normalisation takes its statistics per device (below).

* **JAX**: ``keras.distribution.DataParallel(devices=keras.distribution.list_devices())``, set
  with ``keras.distribution.set_distribution`` only while the run builds, fits and evaluates
  (:meth:`Replicas.scope`), and the previous distribution (normally none) is put back after, so
  a library call leaves no global state behind. Batch normalisation sees the whole global batch
  (the mean over a sharded axis is a global reduction) and random draws (dropout, our
  augmentation) are the same values as on one device (JAX's partitionable threefry), so a step
  on two devices equals a step on one.
* **TensorFlow**: ``tf.distribute.MirroredStrategy()`` over the local GPUs (or logical CPUs), and
  ``tf.distribute.MultiWorkerMirroredStrategy()`` when ``TF_CONFIG`` names more than one worker.
  Each replica draws its own dropout masks and augmentations and normalises with its own
  share's batch statistics (Keras's ``BatchNormalization`` with ``synchronized=False``; our
  fused kernel steps aside under a strategy), so a step equals one device's only for models
  without them.

Several hosts: each host runs the same command; on JAX the
``KERAS_DISTRIBUTION_JOB_ADDRESSES`` / ``KERAS_DISTRIBUTION_NUM_PROCESSES`` /
``KERAS_DISTRIBUTION_PROCESS_ID`` variables make :func:`replicas_for` call
``keras.distribution.initialize()`` first; on TensorFlow ``TF_CONFIG`` does. Each process feeds
its own block of every global batch (:class:`fer_keras.data.pipeline.EpochBatches` ``shard``),
and only the chief (process 0, TensorFlow's ``chief`` task or worker 0) writes the run folder.
``docs/gpu.md`` has the launch.

Every batch must split evenly: ``batch_size`` must be a multiple of the device count (else a
one-line :class:`FerInputError`), an epoch's last short batch is dropped when its size is not a
multiple of it (a different handful of images each epoch, since the order is reshuffled), and
validation leaves out the last ``len(val) % devices`` images.
"""
from __future__ import annotations

import contextlib
import functools
import json
import os

import keras

from fer_keras.errors import FerInputError

#: The environment variables ``keras.distribution.initialize()`` reads (JAX, several hosts).
JAX_ENV = ("KERAS_DISTRIBUTION_JOB_ADDRESSES", "KERAS_DISTRIBUTION_NUM_PROCESSES",
           "KERAS_DISTRIBUTION_PROCESS_ID")


class Replicas:
    """The devices a data-parallel run trains on.

    count: model replicas over all hosts (devices); process_index / process_count: this host's
    place among the processes; chief: whether this process writes the run folder; joins_saves:
    whether a process that does not write must still save when the chief saves the training
    checkpoint (:func:`save_aside`); kind: a readable name (``"jax DataParallel"``, ``"tf
    MirroredStrategy"``, ...). :meth:`scope` is the context in which models are built, fitted
    and evaluated; it may be entered many times.
    """

    def __init__(self, count, scope=None, process_index=0, process_count=1, chief=True,
                 kind="one device", backend=None, joins_saves=False):
        self.count = int(count)
        self.joins_saves = bool(joins_saves) and not chief
        self._scope = scope
        self.process_index = int(process_index)
        self.process_count = int(process_count)
        self.chief = bool(chief)
        self.kind = kind
        self.backend = backend or keras.backend.backend()

    def scope(self):
        return self._scope() if self._scope is not None else contextlib.nullcontext()

    @property
    def shard(self):
        """``(index, count)``: this process feeds block ``index`` of ``count`` equal blocks of
        every global batch. JAX assembles the global batch from the processes' blocks
        (``jax.make_array_from_process_local_data``); TensorFlow's multi-worker strategy reads
        the whole global batch on every worker and shards it by itself, so there it is
        ``(0, 1)``."""
        if self.backend == "tensorflow":
            return 0, 1
        return self.process_index, self.process_count

    def check_batch(self, batch_size, what="--batch-size"):
        """Raise a one-line :class:`FerInputError` unless ``batch_size`` splits evenly."""
        if batch_size % self.count:
            lo = batch_size - batch_size % self.count
            hint = f"{lo} or {lo + self.count}" if lo else f"{self.count}"
            raise FerInputError(f"{what} {batch_size} does not split evenly over the "
                                f"{self.count} devices of --distribute data-parallel; use a "
                                f"multiple of {self.count}, e.g. {hint}")

    def timing_batch(self, x, y):
        """The batch that times one distributed train step with ``train_on_batch``: the whole
        batch on JAX (which shards it), one replica's share on TensorFlow (whose
        ``train_on_batch`` gives every replica the whole batch it is handed)."""
        if self.backend == "tensorflow" and self.count > 1:
            n = len(x) // self.count
            return x[:n], y[:n]
        return x, y

    def describe(self):
        hosts = f" on {self.process_count} hosts" if self.process_count > 1 else ""
        return f"{self.count} devices{hosts} ({self.kind})"


#: One device, no distribution: what a run without ``distribute`` uses.
ONE = Replicas(1)


def replicas_for(cfg):
    """The :class:`Replicas` of ``cfg.distribute``: :data:`ONE` for ``"none"``, else the
    backend's data-parallel set-up (JAX's ``DataParallel``, TensorFlow's mirrored strategies).
    Raises a one-line :class:`FerInputError` on another backend and for a batch size that the
    device count does not divide."""
    if cfg.distribute == "none":
        return ONE
    backend = keras.backend.backend()
    if backend not in ("jax", "tensorflow"):
        raise FerInputError(f"--distribute data-parallel needs KERAS_BACKEND=jax or tensorflow "
                            f"(the backend is {backend})")
    replicas = _data_parallel(backend)
    replicas.check_batch(cfg.batch_size)
    if cfg.budget_minutes and replicas.process_count > 1:
        # each host would re-plan from its own clock, and hosts that stop at different epochs
        # wait for each other forever
        raise FerInputError("--budget-minutes plans from this host's clock and cannot run on "
                            f"{replicas.process_count} hosts; give --epochs instead")
    return replicas


@functools.lru_cache(maxsize=None)
def _data_parallel(backend):
    # once a process: several hosts meet once, and TensorFlow's multi-worker strategy must be
    # created once, before other TensorFlow work
    return _jax() if backend == "jax" else _tensorflow()


def _jax():
    import jax

    if any(os.environ.get(k) for k in JAX_ENV) and not jax.distributed.is_initialized():
        try:
            keras.distribution.initialize()  # reads JAX_ENV; must precede any computation
        except (ValueError, RuntimeError) as e:
            raise FerInputError(f"keras.distribution.initialize() failed with "
                                f"{', '.join(k for k in JAX_ENV if os.environ.get(k))} set: "
                                f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") \
                from None
    devices = keras.distribution.list_devices()
    # each process already feeds its own block of every global batch (Replicas.shard), which
    # Keras's auto-sharding would refuse (it shards tf.data datasets only)
    dist = keras.distribution.DataParallel(devices=devices, auto_shard_dataset=False)

    @contextlib.contextmanager
    def scope():
        previous = keras.distribution.distribution()
        keras.distribution.set_distribution(dist)
        try:
            yield
        finally:
            keras.distribution.set_distribution(previous)

    # saving a model with its optimizer creates variables (Keras builds a reference Optimizer),
    # and on several processes placing each one checks with the others that it is equal there
    return Replicas(len(devices), scope, jax.process_index(), jax.process_count(),
                    chief=jax.process_index() == 0, kind="jax DataParallel", backend="jax",
                    joins_saves=jax.process_count() > 1)


def tf_config_workers(environ=None):
    """``(workers, task_type, task_index)`` from ``TF_CONFIG``: the number of ``chief`` and
    ``worker`` tasks in its cluster (0 without ``TF_CONFIG``) and this process's task. A value
    that is not a JSON object is a one-line :class:`FerInputError`."""
    raw = (os.environ if environ is None else environ).get("TF_CONFIG", "")
    if not raw.strip():
        return 0, None, 0
    try:
        conf = json.loads(raw)
        cluster = conf.get("cluster", {})
        workers = len(cluster.get("worker", [])) + len(cluster.get("chief", []))
        task = conf.get("task", {})
        return workers, task.get("type"), int(task.get("index", 0))
    except (ValueError, AttributeError, TypeError) as e:
        raise FerInputError(f"TF_CONFIG is not a cluster description "
                            f"({type(e).__name__}); see docs/gpu.md") from None


def is_chief(workers, task_type, task_index, cluster_has_chief):
    """TensorFlow's convention: the ``chief`` task writes, or worker 0 when there is none."""
    if workers <= 1 or task_type in (None, "chief"):
        return True
    return task_type == "worker" and task_index == 0 and not cluster_has_chief


def _tensorflow():
    from fer_keras.errors import require_tensorflow

    tf = require_tensorflow("--distribute data-parallel")
    workers, task_type, task_index = tf_config_workers()
    if workers > 1:
        strategy = _multi_worker_strategy(tf)
        has_chief = bool(json.loads(os.environ["TF_CONFIG"]).get("cluster", {}).get("chief"))
        chief = is_chief(workers, task_type, task_index, has_chief)
        index = task_index + (1 if task_type == "worker" and has_chief else 0)
        kind = "tf MultiWorkerMirroredStrategy"
    else:
        strategy = tf.distribute.MirroredStrategy()
        chief, index, kind = True, 0, "tf MirroredStrategy"
    # saving a model with its optimizer creates variables (Keras builds a reference Optimizer to
    # learn which attributes to skip), and under the multi-worker strategy each one is a
    # broadcast from the chief that every worker must join
    return Replicas(strategy.num_replicas_in_sync, strategy.scope, index, max(workers, 1),
                    chief=chief, kind=kind, backend="tensorflow", joins_saves=workers > 1)


def save_aside(save, model, name, *args):
    """``save(model, path, *args)`` into a temporary folder that is deleted after: what a process
    that does not write runs when the chief saves, on a strategy where saving is collective
    (:attr:`Replicas.joins_saves`)."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="fer_keras-aside-") as tmp:
        save(model, Path(tmp) / name, *args)


def _multi_worker_strategy(tf):
    """``tf.distribute.MultiWorkerMirroredStrategy()`` whose ``reduce`` takes what Keras 3's
    ``fit`` hands it.

    Keras reduces the first ``(x, y)`` batch with one ``reduce`` to learn its shapes, and each
    step's scalar logs (loss, metrics) with ``axis=0``. The multi-worker strategy's ``reduce``
    takes one value, and no axis on a scalar: left as it is, a run stops at its first step
    ("Attempt to convert a value (PerReplica ...) to a Tensor", "Invalid reduction dimension 0
    for input with 0 dimensions"). Here each value of a nest is reduced on its own, in the same order on every
    worker (one collective each), and a scalar over the replicas (``axis=None``), which is what
    ``fit`` gives on one worker (the mean of the replicas' values)."""

    class Strategy(tf.distribute.MultiWorkerMirroredStrategy):
        def reduce(self, reduce_op, value, axis=None):
            def one(v):
                local = self.experimental_local_results(v)[0]
                scalar = getattr(getattr(local, "shape", None), "rank", None) == 0
                return super(Strategy, self).reduce(reduce_op, v, None if scalar else axis)

            return tf.nest.map_structure(one, value)

    return Strategy()
