"""Backend-neutral training input: seeded per-epoch order and class-balanced oversampling.

The default input path of :mod:`fer_keras.train`. Batches are sliced from uint8 arrays in numpy
(cheap: a batch of 128 48x48 images is 295 kB) and augmentation runs inside the compiled train
step (:class:`fer_keras.augment.RandomAffine`), so every backend trains from the same code and the
input never stalls training. The order of epoch ``e`` depends only on ``(seed, e)``, which is
what makes an interrupted run resume exactly where an uninterrupted one would be.
"""
from __future__ import annotations

import numpy as np

from fer_keras import NUM_CLASSES


def balanced_indices(labels, rng, target=None):
    """Row indices in which every class appears ``target`` times (default: the largest class).

    Each class keeps all its rows and is filled up with random repeats (which the augmentation
    then turns into different images): the report-001 oversampling. int64 ``(7 * target,)``,
    shuffled.
    """
    labels = np.asarray(labels)
    counts = np.bincount(labels, minlength=NUM_CLASSES)
    target = int(target or counts.max())
    parts = []
    for c in range(NUM_CLASSES):
        idx = np.flatnonzero(labels == c)
        if len(idx) == 0:
            continue
        reps = target // len(idx)
        extra = rng.choice(idx, target - reps * len(idx), replace=False)
        parts.append(np.concatenate([np.tile(idx, reps), extra]))
    out = np.concatenate(parts)
    rng.shuffle(out)
    return out


def epoch_order(n, labels, seed, epoch, oversample=False):
    """Indices for one epoch: a permutation of ``range(n)`` or a balanced draw, from (seed, epoch)."""
    rng = np.random.default_rng([int(seed), int(epoch)])
    if oversample:
        return balanced_indices(labels, rng)
    return rng.permutation(n)


def _py_dataset_base():
    import keras

    return keras.utils.PyDataset


class EpochBatches(_py_dataset_base()):
    """A ``keras.utils.PyDataset`` of ``(x, y)`` batches with a seeded order per epoch.

    images: uint8 ``(N, 48, 48)``; labels: int ``(N,)``. Yields float32 ``(B, 48, 48, 1)`` in
    [0, 1] and int32 ``(B,)``. ``initial_epoch`` sets which epoch's order comes first (resume).
    """

    def __init__(self, images, labels, batch_size=64, seed=0, oversample=False, initial_epoch=0):
        super().__init__(workers=1, use_multiprocessing=False)
        self.images = np.asarray(images)
        self.labels = np.asarray(labels).astype(np.int32)
        self.batch_size = int(batch_size)
        self.seed = seed
        self.oversample = oversample
        # Keras calls on_epoch_begin before each epoch, which moves to initial_epoch first;
        # the order is ready before that for the adapter's peek at the first batch.
        self.epoch = int(initial_epoch) - 1
        self._order = epoch_order(len(self.labels), self.labels, seed, initial_epoch, oversample)
        self._n = len(self._order)

    def on_epoch_begin(self):
        self.epoch += 1
        self._order = epoch_order(len(self.labels), self.labels, self.seed, self.epoch,
                                  self.oversample)

    def __len__(self):
        return -(-self._n // self.batch_size)

    def __getitem__(self, i):
        idx = np.sort(self._order[i * self.batch_size:(i + 1) * self.batch_size])
        x = self.images[idx].astype(np.float32)[..., None] * np.float32(1 / 255)
        return x, self.labels[idx]


class ArrayBatches(_py_dataset_base()):
    """A ``keras.utils.PyDataset`` of batches in the arrays' own order (validation, prediction).

    images: uint8 ``(N, 48, 48)`` (scaled to float32 ``(B, 48, 48, 1)`` in [0, 1]) or float
    ``(N, ...)`` (passed as float32); labels: int ``(N,)`` or None. Yields ``(x, y)`` batches
    with labels, ``x`` alone without. Why not numpy arrays: Keras feeds arrays through a
    parallel ``tf.data`` map, which TensorFlow's op-determinism rewrite
    (``enable_op_determinism``, :func:`fer_keras.train.set_determinism`) turns into a
    sequential map that keeps the parallel op's ``use_unbounded_threadpool`` attribute; TF 2.21
    then prints ``E0000 ... use_unbounded_threadpool`` on stderr for every fit and predict.
    """

    def __init__(self, images, labels=None, batch_size=256):
        super().__init__(workers=1, use_multiprocessing=False)
        self.images = np.asarray(images)
        self.labels = None if labels is None else np.asarray(labels).astype(np.int32)
        self.batch_size = int(batch_size)

    def __len__(self):
        return -(-len(self.images) // self.batch_size)

    def __getitem__(self, i):
        sl = slice(i * self.batch_size, (i + 1) * self.batch_size)
        x = self.images[sl]
        if x.dtype == np.uint8:
            x = x.astype(np.float32)[..., None] * np.float32(1 / 255)
        else:
            x = x.astype(np.float32)
        return x if self.labels is None else (x, self.labels[sl])
