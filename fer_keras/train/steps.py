"""What a training step is made of: the device and the precision policy, the optimizer and its
learning-rate schedule, the loss, the training model (augmentation inside the compiled step), its
compilation and the input batches. :mod:`fer_keras.train.fit` and :mod:`fer_keras.semi` build on
these."""
from __future__ import annotations

import keras

from fer_keras.config import TrainConfig
from fer_keras.train.augment import RandomAffine
from fer_keras.train.losses import make_loss
from fer_keras.train.schedules import make_schedule


# --------------------------------------------------------------------------- device, precision
def set_determinism(seed, deterministic=True):
    """Seed Python, numpy and the backend; with TensorFlow, make its ops deterministic."""
    keras.utils.set_random_seed(int(seed))
    if deterministic and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


def clear_session():
    """``keras.backend.clear_session()`` that keeps the global dtype policy and distribution.

    Keras's clear_session resets the policy to float32 as well, which silently turned a
    mixed-precision run into a float32 one (1.7x slower) after the budget estimate.
    """
    policy = keras.config.dtype_policy()
    distribution = keras.distribution.distribution()
    keras.backend.clear_session()
    keras.config.set_dtype_policy(policy)
    if distribution is not None:  # clear_session forgets it too (a user's, or a JAX run's)
        keras.distribution.set_distribution(distribution)


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


# --------------------------------------------------------------------------- the model
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


def compile_model(model, cfg, steps_per_epoch, steps_per_execution=1):
    """Compile with :func:`make_optimizer`, :func:`make_loss` and accuracy; ``steps_per_execution``
    optimizer steps run in one compiled call (the same steps, less per-step Python)."""
    model.compile(optimizer=make_optimizer(cfg, steps_per_epoch), loss=make_loss(cfg),
                  metrics=["accuracy"], steps_per_execution=int(steps_per_execution))


def classifier_of(model):
    """The classifier inside a training model (``Sequential([augment, net])``), or the model."""
    if model.name == "trainer":
        return model.layers[-1]
    return model


def build_net(cfg):
    """The registry model ``cfg.model``, uncompiled (:func:`fer_keras.models.build`)."""
    from fer_keras import models

    return models.build(cfg.model)


# --------------------------------------------------------------------------- input, devices
def training_inputs(cfg, splits, initial_epoch, replicas=None):
    """The training input for ``cfg.input_pipeline``: (train_data, steps_per_epoch).

    ``replicas`` (:class:`fer_keras.train.distribute.Replicas`, data parallelism): the numpy
    pipeline then leaves out an epoch's last short batch when it does not split evenly over
    the devices, and gives this process its block of each global batch. The TensorFlow-only
    pipelines (tfdata, idg) are split by the strategy as they come (an uneven last batch is
    split unevenly)."""
    tr = splits["train"]
    if cfg.input_pipeline == "tfdata":
        from fer_keras.train.tfdata import training_dataset

        ds, steps = training_dataset(tr.images, tr.labels, cfg, initial_epoch=initial_epoch)
        return ds, steps
    if cfg.input_pipeline == "idg":
        from fer_keras.data.oversample import idg_training_sequence

        seq = idg_training_sequence(tr.images, tr.labels, cfg, initial_epoch=initial_epoch)
        return seq, len(seq)
    from fer_keras.data.pipeline import EpochBatches

    count, shard = (replicas.count, replicas.shard) if replicas is not None else (1, (0, 1))
    seq = EpochBatches(tr.images, tr.labels, cfg.batch_size, cfg.seed, cfg.oversample,
                       initial_epoch=initial_epoch, replicas=count, shard=shard)
    return seq, len(seq)


#: Images a validation batch holds (rounded down to a multiple of the device count).
VAL_BATCH = 256


def validation_inputs(splits, replicas=None):
    """The validation batches of ``splits["val"]`` (an :class:`ArrayBatches`), or None when it
    is empty. With ``replicas`` devices every batch must split evenly: the batch is a multiple
    of the device count and the last ``len(val) % count`` images are left out (at most
    ``count - 1``)."""
    from fer_keras.data.pipeline import ArrayBatches

    val = splits["val"]
    count, shard = (replicas.count, replicas.shard) if replicas is not None else (1, (0, 1))
    n = len(val) - len(val) % count
    if n == 0:
        return None
    batch = max(count, VAL_BATCH - VAL_BATCH % count)
    return ArrayBatches(val.images[:n], val.labels[:n], batch_size=batch, shard=shard)
