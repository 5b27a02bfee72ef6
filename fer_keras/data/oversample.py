"""Report 001's input pipeline: class-balanced oversampling with ``ImageDataGenerator`` copies.

Report 001 filled every minority class up to the size of the largest one with augmented copies
made by Keras's ``ImageDataGenerator`` (rotation, shift, zoom, horizontal flip) and gained about
3 points of validation accuracy. This module reproduces that pipeline with the same generator:

* :func:`oversample_with_idg` - the offline step: ``(images, labels) -> (images', labels')`` in
  which every class reaches the largest class's count; the originals are all kept and the extra
  rows are augmented copies of random originals of the same class.
* :func:`idg_training_sequence` - the training input (``fer-keras train --input-pipeline idg``):
  a ``keras.utils.PyDataset`` whose epoch order is the same seeded (balanced when
  ``cfg.oversample``) order as the default path (:func:`fer_keras.data.pipeline.epoch_order`),
  each image augmented by the generator on the CPU, one image at a time.

Which ``ImageDataGenerator``: Keras 3 has no public one. With TensorFlow 2.21 and Keras 3.15,
``tf.keras.preprocessing.image.ImageDataGenerator`` is Keras 3's legacy copy,
``keras.src.legacy.preprocessing.image.ImageDataGenerator`` (the Keras 2 code: numpy random
draws, ``scipy.ndimage`` affine warps). :func:`image_data_generator_class` returns it through
``tf.keras`` (so the pipeline needs TensorFlow, as the report's did) and falls back to
``tf_keras`` (the Keras 2 package) on a TensorFlow whose ``tf.keras`` lacks it.

Reproducibility: the generator draws from numpy's *global* random state. Each batch (and each
chunk of the offline step) seeds it from ``(seed, epoch, batch)`` under a lock, draws the
transform parameters (``get_random_transform``), restores the caller's global state, and warps
the images (``apply_transform``) outside the lock; so a batch depends only on
``(seed, epoch, batch)``, whatever the order or thread in which batches are requested, and a
resumed run sees the same augmentations as an uninterrupted one.

The generator is slow (a scipy warp per image, ~5k images/s on one core here, see
BENCHMARKS.md); :mod:`fer_keras.train.tfdata` and the default path (in-graph
:class:`fer_keras.train.augment.RandomAffine`) do the same augmentation vectorised. ``cfg.erasing``
has no ``ImageDataGenerator`` equivalent and is ignored here.
"""
from __future__ import annotations

import threading

import numpy as np

from fer_keras import NUM_CLASSES
from fer_keras.config import AugmentConfig
from fer_keras.data.pipeline import EpochBatches, epoch_order

_NP_RANDOM_LOCK = threading.Lock()
_KNOBS = ("rotation", "shift", "zoom", "flip")
_DEFAULTS = {k: getattr(AugmentConfig, k) for k in _KNOBS}


def image_data_generator_class():
    """The ``ImageDataGenerator`` class reachable from TensorFlow (see the module docstring)."""
    from fer_keras.errors import require_tensorflow

    tf = require_tensorflow("the ImageDataGenerator pipeline")
    try:
        return tf.keras.preprocessing.image.ImageDataGenerator
    except AttributeError:  # a TensorFlow whose tf.keras has no legacy preprocessing
        try:
            import tf_keras

            return tf_keras.preprocessing.image.ImageDataGenerator
        except ImportError:
            from keras.src.legacy.preprocessing.image import ImageDataGenerator

            return ImageDataGenerator


def _knobs(cfg=None, **overrides):
    """rotation (deg), shift (fraction), zoom (fraction), flip from a config and/or kwargs."""
    knobs = dict(_DEFAULTS)
    if cfg is not None:
        for k in _KNOBS:
            if hasattr(cfg, k):
                knobs[k] = getattr(cfg, k)
    knobs.update({k: v for k, v in overrides.items() if v is not None})
    unknown = set(knobs) - set(_KNOBS)
    if unknown:
        raise TypeError(f"unknown augmentation knobs: {sorted(unknown)}")
    return knobs


def make_generator(cfg=None, **overrides):
    """An ``ImageDataGenerator`` with report 001's knobs: rotation_range=rotation,
    width/height_shift_range=shift, zoom_range=zoom, horizontal_flip=flip, fill_mode nearest."""
    k = _knobs(cfg, **overrides)
    cls = image_data_generator_class()
    return cls(rotation_range=float(k["rotation"]), width_shift_range=float(k["shift"]),
               height_shift_range=float(k["shift"]), zoom_range=float(k["zoom"]),
               horizontal_flip=bool(k["flip"]), fill_mode="nearest",
               data_format="channels_last")


def _seed32(*key):
    """A 32-bit numpy legacy seed from a tuple of non-negative ints."""
    return int(np.random.SeedSequence([int(v) for v in key]).generate_state(1)[0])


def augment_batch(gen, x, seed):
    """Apply ``gen``'s random transform to every image of float ``x`` ``(B, H, W, 1)``, in place.

    The parameters are drawn from numpy's global state seeded with ``seed`` (under a lock, the
    caller's state restored after), so the result depends only on ``seed``.
    """
    shape = x.shape[1:]
    with _NP_RANDOM_LOCK:
        saved = np.random.get_state()
        try:
            np.random.seed(seed)
            params = [gen.get_random_transform(shape) for _ in range(len(x))]
        finally:
            np.random.set_state(saved)
    for i, p in enumerate(params):
        x[i] = gen.apply_transform(x[i], p)
    return x


def oversample_with_idg(images, labels, cfg=None, seed=None, chunk=256, **knobs):
    """Fill every class up to the largest class's count with ``ImageDataGenerator`` copies.

    images: uint8 ``(N, 48, 48)``; labels: int ``(N,)`` in 0..6. ``cfg`` is any object with
    ``rotation``/``shift``/``zoom``/``flip`` attributes (a :class:`~fer_keras.config.TrainConfig`
    or :class:`~fer_keras.train.augment.AugmentConfig`); keyword knobs override it. ``seed`` defaults
    to ``cfg.seed`` (else 0).

    Returns ``(images uint8 (M, 48, 48), labels (M,))`` with ``M = 7 * max count`` (over the
    classes present): the ``N`` originals first, in their order, then the augmented copies. Each
    class's copies cycle through its originals (every original is copied ``k`` or ``k + 1``
    times), so the result is a function of ``(images, labels, knobs, seed)`` only.
    """
    images = np.asarray(images)
    labels = np.asarray(labels)
    if images.ndim != 3 or len(images) != len(labels):
        raise ValueError(f"expected images (N, H, W) and labels (N,), got {images.shape} and "
                         f"{labels.shape}")
    if seed is None:
        seed = getattr(cfg, "seed", 0) or 0
    gen = make_generator(cfg, **knobs)
    counts = np.bincount(labels, minlength=NUM_CLASSES)
    target = int(counts.max()) if len(labels) else 0
    rng = np.random.default_rng([int(seed), 1])
    src = []
    for c in range(len(counts)):
        n = int(counts[c])
        if 0 < n < target:
            idx = np.flatnonzero(labels == c)
            need = target - n
            reps = need // n
            src.append(np.concatenate([np.tile(idx, reps),
                                       np.sort(rng.choice(idx, need - reps * n, replace=False))]))
    src = np.concatenate(src) if src else np.zeros(0, np.int64)
    copies = np.empty((len(src),) + images.shape[1:], np.uint8)
    for b, start in enumerate(range(0, len(src), chunk)):
        sl = slice(start, start + chunk)
        x = images[src[sl]].astype(np.float32)[..., None]
        augment_batch(gen, x, _seed32(seed, 0x1D6, b))
        copies[sl] = np.clip(np.rint(x[..., 0]), 0, 255).astype(np.uint8)
    return (np.concatenate([images.astype(np.uint8, copy=False), copies]),
            np.concatenate([labels, labels[src]]).astype(labels.dtype, copy=False))


class IDGBatches(EpochBatches):
    """``keras.utils.PyDataset`` of ``ImageDataGenerator``-augmented batches.

    The order of epoch ``e`` is :func:`~fer_keras.data.pipeline.epoch_order` of
    ``(cfg.seed, e)`` (balanced when ``cfg.oversample``), exactly as the default path; each
    batch is then augmented image by image by the generator with a seed from
    ``(cfg.seed, e, batch)``. Yields float32 ``(B, 48, 48, 1)`` in [0, 1] and int32 ``(B,)``.
    """

    def __init__(self, images, labels, cfg, initial_epoch=0):
        super().__init__(images, labels, cfg.batch_size, cfg.seed, cfg.oversample,
                         initial_epoch=initial_epoch)
        self.generator = make_generator(cfg) if cfg.augment else None
        self._order_epoch = int(initial_epoch)

    def on_epoch_begin(self):
        super().on_epoch_begin()
        self._order_epoch = self.epoch

    def __getitem__(self, i):
        idx = np.sort(self._order[i * self.batch_size:(i + 1) * self.batch_size])
        x = self.images[idx].astype(np.float32)[..., None] * np.float32(1 / 255)
        if self.generator is not None:
            augment_batch(self.generator, x, _seed32(self.seed, self._order_epoch, i))
            np.clip(x, 0.0, 1.0, out=x)
        return x, self.labels[idx]


def idg_training_sequence(images, labels, cfg, initial_epoch=0):
    """The ``--input-pipeline idg`` training input: an :class:`IDGBatches` for ``cfg``.

    Balanced per epoch when ``cfg.oversample``; augmented with ``cfg.rotation``/``shift``/
    ``zoom``/``flip`` when ``cfg.augment``. Raises :class:`~fer_keras.errors.FerInputError`
    when TensorFlow is not installed.
    """
    image_data_generator_class()  # fail early, with the one-line error, without TensorFlow
    return IDGBatches(images, labels, cfg, initial_epoch=initial_epoch)


__all__ = ["oversample_with_idg", "idg_training_sequence", "IDGBatches", "make_generator",
           "image_data_generator_class", "augment_batch", "epoch_order"]
