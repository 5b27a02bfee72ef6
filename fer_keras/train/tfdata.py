"""The fast ``tf.data`` training input (``fer-keras train --input-pipeline tfdata``).

Same knobs and the same epoch order as the other two paths, built so that the input never stalls
training:

1. an infinite stream of epochs ``initial_epoch, initial_epoch + 1, ...``; each epoch's row order
   is :func:`fer_keras.data.pipeline.epoch_order` of ``(cfg.seed, epoch)`` (balanced when
   ``cfg.oversample``), cut into ``steps_per_epoch`` batches (the last one may be short, so an
   epoch is exactly ``steps_per_epoch`` steps and epochs never mix);
2. a ``map`` on whole batches: gather the uint8 rows from an in-memory tensor, scale to float32
   [0, 1], and augment the batch in one call of :class:`fer_keras.train.augment.RandomAffine` with
   ``training=True`` (one vectorised affine warp + erasing mask per batch, not one warp per
   image), in parallel (``num_parallel_calls=AUTOTUNE``, order kept);
3. ``prefetch(AUTOTUNE)``.

Augmentation is seeded per batch from ``(cfg.seed, epoch, step)`` through stateless random ops,
so a batch is the same whichever thread makes it and a run resumed at ``initial_epoch`` sees the
same batches as an uninterrupted one.

Needs TensorFlow and ``KERAS_BACKEND=tensorflow`` (the augmentation layer runs as TF ops inside
the ``tf.data`` graph).
"""
from __future__ import annotations

import numpy as np

from fer_keras.data.pipeline import epoch_order


def _stateless_seed_class():
    import keras
    import tensorflow as tf

    class BatchSeed(keras.random.SeedGenerator):
        """A stand-in for a layer's ``SeedGenerator`` while one batch is traced: the ``k``-th
        draw gets the stateless seed ``fold_in(base, k)`` (no variable, no state)."""

        def __init__(self, base):  # no super().__init__: no state variable is wanted
            self.base = base
            self.count = 0

        def next(self, ordered=True):
            self.count += 1
            return tf.random.experimental.stateless_fold_in(self.base, self.count)

    return BatchSeed


def _epoch_key(seed, epoch):
    return np.int64(np.random.SeedSequence([int(seed), int(epoch), 0x7FDA]).generate_state(1)[0]
                    & 0x7FFFFFFF)


def training_dataset(images, labels, cfg, initial_epoch=0):
    """``(tf.data.Dataset, steps_per_epoch)`` for training on ``images``/``labels`` with ``cfg``.

    images: uint8 ``(N, 48, 48)``; labels: int ``(N,)``. The dataset repeats forever, epoch after
    epoch from ``initial_epoch``, each epoch ``steps_per_epoch`` batches of float32
    ``(B, 48, 48, 1)`` in [0, 1] and int32 ``(B,)`` labels (``B = cfg.batch_size``; an epoch's
    last batch may be smaller). Pass ``steps_per_epoch`` to ``model.fit``.
    """
    import keras

    from fer_keras.errors import FerInputError, require_tensorflow
    from fer_keras.train.augment import RandomAffine

    tf = require_tensorflow("--input-pipeline tfdata")
    if keras.backend.backend() != "tensorflow":
        raise FerInputError("--input-pipeline tfdata needs KERAS_BACKEND=tensorflow "
                            f"(the backend is {keras.backend.backend()}); the default "
                            "--input-pipeline numpy runs on every backend")
    images = np.asarray(images)
    labels = np.asarray(labels).astype(np.int32)
    if images.ndim == 3:
        images = images[..., None]
    n = len(labels)
    seed = int(cfg.seed)
    oversample = bool(cfg.oversample)
    per_epoch = len(epoch_order(n, labels, seed, initial_epoch, oversample))
    batch = int(cfg.batch_size)
    steps = -(-per_epoch // batch)

    images_t = tf.constant(images)
    labels_t = tf.constant(labels)

    def order(epoch):
        e = int(epoch)
        idx = epoch_order(n, labels, seed, e, oversample).astype(np.int64)
        return idx, _epoch_key(seed, e)

    def epoch_batches(epoch):
        idx, key = tf.numpy_function(order, [epoch], (tf.int64, tf.int64), stateful=False)
        idx.set_shape([per_epoch])
        key.set_shape([])
        steps_ds = tf.data.Dataset.from_tensor_slices(idx).batch(batch).enumerate()
        return steps_ds.map(lambda step, b: (tf.stack([key, step]), b))

    augment = (cfg.augment and (cfg.rotation or cfg.shift or cfg.zoom or cfg.flip or cfg.erasing))
    layer = None
    if augment:
        layer = RandomAffine(cfg.rotation, cfg.shift, cfg.zoom, cfg.flip, cfg.erasing, seed=seed,
                             dtype="float32", name="tfdata_augment")
        BatchSeed = _stateless_seed_class()

    def load(batch_seed, idx):
        x = tf.cast(tf.gather(images_t, idx), tf.float32) * (1.0 / 255.0)
        y = tf.gather(labels_t, idx)
        if layer is not None:
            saved = layer.seed_generator
            # bypass Layer.__setattr__ tracking: a stateless stand-in for this trace only
            object.__setattr__(layer, "seed_generator", BatchSeed(batch_seed))
            try:
                x = layer(x, training=True)
            finally:
                object.__setattr__(layer, "seed_generator", saved)
            x = tf.clip_by_value(x, 0.0, 1.0)
        return x, y

    ds = tf.data.Dataset.range(int(initial_epoch), np.iinfo(np.int64).max)
    ds = ds.flat_map(epoch_batches)
    ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.prefetch(tf.data.AUTOTUNE)
    return ds, steps


__all__ = ["training_dataset"]
