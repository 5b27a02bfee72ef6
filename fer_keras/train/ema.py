"""Validation on a moving average of the weights (``--ema-momentum``)."""
from __future__ import annotations

import keras


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
