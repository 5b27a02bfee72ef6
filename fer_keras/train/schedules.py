"""Learning-rate schedules that ``.keras`` checkpoints reference by name.

Kept out of :mod:`fer_keras.train` so that loading a model (:func:`fer_keras.models.load`) needs
only this module, not the trainer. The registered name ``fer_keras>WarmupCosine`` is what saved
optimizers refer to: never rename the class or its package.
"""
from __future__ import annotations

import math

import keras

from fer_keras.config import TrainConfig


@keras.saving.register_keras_serializable(package="fer_keras")
class WarmupCosine(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up from ``initial_lr`` to ``peak_lr`` over ``warmup_steps``, then cosine decay
    to ``alpha * peak_lr`` at ``total_steps`` (and flat after it); a function of the optimizer's
    step alone, so a resumed run continues on the same curve.

    With ``initial_lr = peak_lr / 25`` and 15% warm-up this is the one-cycle policy (Smith &
    Topin 2019) in its cosine form; with no warm-up it is SGDR's single cycle (Loshchilov &
    Hutter 2017). Same numbers as ``keras.optimizers.schedules.CosineDecay`` with a warm-up.
    """

    def __init__(self, peak_lr, total_steps, warmup_steps=0, initial_lr=None, alpha=0.0,
                 name="warmup_cosine"):
        self.peak_lr = float(peak_lr)
        self.total_steps = int(total_steps)
        self.warmup_steps = int(warmup_steps)
        self.initial_lr = float(peak_lr if initial_lr is None else initial_lr)
        self.alpha = float(alpha)
        self.name = name

    def __call__(self, step):
        ops = keras.ops
        step = ops.cast(step, "float32")
        warm = float(self.warmup_steps)
        ramp = self.initial_lr + (self.peak_lr - self.initial_lr) * step / max(warm, 1.0)
        span = float(max(1, self.total_steps - self.warmup_steps))
        progress = ops.clip((step - warm) / span, 0.0, 1.0)
        cosine = 0.5 * (1.0 + ops.cos(math.pi * progress))
        decayed = self.peak_lr * ((1.0 - self.alpha) * cosine + self.alpha)
        return ops.where(step < warm, ramp, decayed)

    def get_config(self):
        return {"peak_lr": self.peak_lr, "total_steps": self.total_steps,
                "warmup_steps": self.warmup_steps, "initial_lr": self.initial_lr,
                "alpha": self.alpha, "name": self.name}


def make_schedule(cfg: TrainConfig, steps_per_epoch: int, epochs=None, warmup_steps=None):
    """The learning rate for ``cfg.schedule`` over ``epochs`` (default ``cfg.epochs``): a
    :class:`WarmupCosine` for ``cosine`` and ``onecycle``, else the constant ``cfg.lr``.
    ``warmup_steps`` overrides the warm-up length (a budget re-plan keeps the one it started)."""
    total = max(1, (epochs or cfg.epochs) * steps_per_epoch)
    warm = int(round(cfg.warmup_epochs * steps_per_epoch))
    if cfg.schedule == "cosine":
        warm = warm if warmup_steps is None else warmup_steps
        return WarmupCosine(cfg.lr, total, warm, cfg.lr / 10 if warm else cfg.lr, alpha=0.0)
    if cfg.schedule == "onecycle":
        warm = (warm or max(1, int(0.15 * total))) if warmup_steps is None else warmup_steps
        return WarmupCosine(cfg.lr, total, warm, cfg.lr / 25, alpha=1e-3)
    return cfg.lr
