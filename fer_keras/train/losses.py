"""Losses that ``.keras`` checkpoints reference by name.

Kept out of :mod:`fer_keras.train` so that loading a model (:func:`fer_keras.models.load`) needs
only this module, not the trainer. The registered name ``fer_keras>SmoothedSparseCE`` is what
saved training checkpoints refer to: never rename the class or its package.
"""
from __future__ import annotations

import keras

from fer_keras.config import TrainConfig


@keras.saving.register_keras_serializable(package="fer_keras")
class SmoothedSparseCE(keras.losses.Loss):
    """Sparse categorical cross-entropy with label smoothing (Szegedy et al. 2016)."""

    def __init__(self, smoothing=0.1, name="smoothed_sparse_ce", **kw):
        super().__init__(name=name, **kw)
        self.smoothing = float(smoothing)

    def call(self, y_true, y_pred):
        ops = keras.ops
        n = ops.shape(y_pred)[-1]
        onehot = ops.one_hot(ops.cast(ops.reshape(y_true, (-1,)), "int32"), n)
        target = onehot * (1.0 - self.smoothing) + self.smoothing / n
        return keras.losses.categorical_crossentropy(target, y_pred)

    def get_config(self):
        return {**super().get_config(), "smoothing": self.smoothing}


def make_loss(cfg: TrainConfig):
    """The training loss: :class:`SmoothedSparseCE` with ``cfg.label_smoothing``, else plain
    sparse categorical cross-entropy (labels int ``(N,)``, predictions probabilities ``(N, 7)``)."""
    if cfg.label_smoothing:
        return SmoothedSparseCE(cfg.label_smoothing)
    return keras.losses.SparseCategoricalCrossentropy()
