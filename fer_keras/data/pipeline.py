"""Backend-neutral training input: seeded per-epoch order and class-balanced oversampling.

The default input path of :mod:`fer_keras.train`. Batches are sliced from uint8 arrays in numpy
(cheap: a batch of 128 48x48 images is 295 kB) and augmentation runs inside the compiled train
step (:class:`fer_keras.train.augment.RandomAffine`), so every backend trains from the same code and the
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


def local_block(rows, shard):
    """Block ``shard[0]`` of ``shard[1]`` equal contiguous blocks of ``rows`` (a global batch's
    indices or slice positions): one process's part of a data-parallel global batch, whose
    blocks the processes' devices hold in process order."""
    index, count = shard
    if count == 1:
        return rows
    size = len(rows) // count
    return rows[index * size:(index + 1) * size]


def _py_dataset_base():
    import keras

    return keras.utils.PyDataset


class EpochBatches(_py_dataset_base()):
    """A ``keras.utils.PyDataset`` of ``(x, y)`` batches with a seeded order per epoch.

    images: uint8 ``(N, 48, 48)``; labels: int ``(N,)``. Yields float32 ``(B, 48, 48, 1)`` in
    [0, 1] and int32 ``(B,)``. ``initial_epoch`` sets which epoch's order comes first (resume).

    Data parallelism (:mod:`fer_keras.train.distribute`): with ``replicas`` devices an epoch's
    last short batch is left out when ``replicas`` does not divide its size, and with
    ``shard=(i, k)`` each batch yields only its ``i``-th of ``k`` equal blocks (this process's
    part of the global batch; ``B`` is then the global batch over ``k``).
    """

    def __init__(self, images, labels, batch_size=64, seed=0, oversample=False, initial_epoch=0,
                 replicas=1, shard=(0, 1)):
        super().__init__(workers=1, use_multiprocessing=False)
        self.replicas = int(replicas)
        self.shard = tuple(shard)
        self.images = np.asarray(images)
        self.labels = np.asarray(labels).astype(np.int32)
        self.batch_size = int(batch_size)
        self.seed = seed
        self.oversample = oversample
        # Keras calls on_epoch_begin before each epoch, which moves to initial_epoch first;
        # the order is ready before that for the adapter's peek at the first batch.
        self.epoch = int(initial_epoch) - 1
        self._next_epoch = None
        self._order = epoch_order(len(self.labels), self.labels, seed, initial_epoch, oversample)
        self._n = len(self._order)

    def on_epoch_begin(self):
        # the epoch Keras is about to train (set by epoch_callback), else the next one: Keras
        # calls this once more than there are epochs under a TensorFlow distribution strategy
        # (its symbolic build opens the epoch iterator once before the first epoch), which
        # trained every epoch on the next epoch's order
        self.epoch = self._next_epoch if self._next_epoch is not None else self.epoch + 1
        self._next_epoch = None
        self._order = epoch_order(len(self.labels), self.labels, self.seed, self.epoch,
                                  self.oversample)

    def epoch_callback(self):
        """A Keras callback that tells this sequence which epoch ``fit`` begins (pass it to
        ``fit`` with the sequence), so the order follows Keras's epoch number rather than the
        count of ``on_epoch_begin`` calls."""
        import keras

        seq = self

        class FollowEpoch(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                seq._next_epoch = int(epoch)

        return FollowEpoch()

    def __len__(self):
        full, rest = divmod(self._n, self.batch_size)
        return full + (rest > 0 and rest % self.replicas == 0)

    def __getitem__(self, i):
        idx = local_block(np.sort(self._order[i * self.batch_size:(i + 1) * self.batch_size]),
                          self.shard)
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

    def __init__(self, images, labels=None, batch_size=256, shard=(0, 1)):
        super().__init__(workers=1, use_multiprocessing=False)
        self.shard = tuple(shard)  # data parallelism on several hosts: see EpochBatches
        self.images = np.asarray(images)
        self.labels = None if labels is None else np.asarray(labels).astype(np.int32)
        self.batch_size = int(batch_size)

    def __len__(self):
        return -(-len(self.images) // self.batch_size)

    def __getitem__(self, i):
        sl = slice(i * self.batch_size, (i + 1) * self.batch_size)
        if self.shard[1] > 1:
            sl = local_block(np.arange(len(self.images))[sl], self.shard)
        x = self.images[sl]
        if x.dtype == np.uint8:
            x = x.astype(np.float32)[..., None] * np.float32(1 / 255)
        else:
            x = x.astype(np.float32)
        return x if self.labels is None else (x, self.labels[sl])
