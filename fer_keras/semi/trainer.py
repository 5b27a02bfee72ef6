"""The trainer every semi-supervised run shares: one model (augmentation + classifier, built
and compiled by :mod:`fer_keras.train.steps`), trained in stages of optimizer steps on seeded
streams of batches (:func:`step_batches`), keeping its best validation weights
(:class:`Trainer`)."""
from __future__ import annotations

import numpy as np

from fer_keras.train import steps as train_steps


def step_batches(images, labels, batch_size, seed, steps_per_epoch, extra=None, extra_share=0.0):
    """A ``PyDataset`` of batches drawn from a seeded stream of permutations of the rows (every
    row once per pass); an "epoch" is ``steps_per_epoch`` batches (one evaluation interval).

    With ``extra=(images, labels)`` (the pseudo-labeled images), ``round(extra_share *
    batch_size)`` rows of every batch come from ``extra`` (its own stream of permutations) and
    the rest from ``images``/``labels``, so the labeled images keep their weight however many
    pseudo-labels there are.
    """
    import keras

    k_extra = int(round(extra_share * batch_size)) if extra is not None and len(extra[1]) else 0
    sources = [(np.asarray(images), np.asarray(labels), batch_size - k_extra)]
    if k_extra:
        sources.append((np.asarray(extra[0]), np.asarray(extra[1]), k_extra))

    class StepBatches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__(workers=1, use_multiprocessing=False)
            self.epoch = -1  # Keras calls on_epoch_begin before each epoch (after a peek)
            self._perms = {}

        def on_epoch_begin(self):
            self.epoch += 1

        def __len__(self):
            return steps_per_epoch

        def _perm(self, src, p, n):
            key = (src, p)
            if key not in self._perms:
                keep = {k: v for k, v in self._perms.items() if k[0] != src or k[1] >= p - 1}
                self._perms = {**keep,
                               key: np.random.default_rng([int(seed), src, p]).permutation(n)}
            return self._perms[key]

        def __getitem__(self, i):
            step = max(self.epoch, 0) * steps_per_epoch + i
            xs, ys = [], []
            for src, (imgs, labs, k) in enumerate(sources):
                n = len(labs)
                idx = np.sort(np.array([self._perm(src, j // n, n)[j % n]
                                        for j in range(step * k, (step + 1) * k)]))
                xs.append(imgs[idx])
                ys.append(labs[idx])
            x = np.concatenate(xs).astype(np.float32)[..., None] * np.float32(1 / 255)
            return x, np.concatenate(ys).astype(np.int32)

    return StepBatches()


class Trainer:
    """One model (augmentation + classifier), trained in stages of steps, keeping its best
    validation weights (checked every ``cfg.eval_every`` steps)."""

    #: Optimizer steps per compiled call: the same steps in the same order (the weights are
    #: identical to one step a call); ``tiny_cnn``'s steps are short enough for Keras's per-call
    #: work to show (labeled-only steps 30% faster on FER2013, RESULTS.md).
    steps_per_execution = 10

    def __init__(self, builder, cfg, val, seed, total_steps=None):
        from fer_keras.config import TrainConfig

        train_steps.set_determinism(int(seed))  # seeds, and deterministic ops under TensorFlow
        self.net = builder()
        total = total_steps or cfg.warm_steps + cfg.rounds * cfg.round_steps
        tcfg = TrainConfig(augment=cfg.augment, seed=int(seed), lr=cfg.lr, schedule=cfg.schedule,
                           batch_size=cfg.batch_size, epochs=1)
        self.cfg = cfg
        self.model = self._training_model(tcfg, total)
        self.val_x = val.x()
        self.val_y = val.labels
        self.best_acc = -1.0
        self.best_weights = None
        self.best_step = 0
        self.steps = 0
        self.curve = []  # (step, val_accuracy)
        self._stage = 0

    def _training_model(self, tcfg, total):
        model = train_steps.build_training_model(tcfg, self.net)
        # a cosine schedule decays over the whole budget
        train_steps.compile_model(model, tcfg, total, self.steps_per_execution)
        return model

    def predict(self, images):
        from fer_keras.train.evaluate import predict_proba

        return predict_proba(self.net, images)

    def _check(self, k):
        self.steps += k
        acc = float((self.predict(self.val_x).argmax(1) == self.val_y).mean())
        self.curve.append((self.steps, acc))
        if acc >= self.best_acc:  # ties: the later (more trained) checkpoint
            self.best_acc, self.best_step = acc, self.steps
            self.best_weights = [w.copy() for w in self.net.get_weights()]

    def fit(self, images, labels, steps, extra=None, extra_share=0.0):
        """Train ``steps`` batches on (images, labels) (and ``extra``, see :func:`step_batches`),
        checking validation every ``eval_every``."""
        self.fit_stream(lambda seed, k: step_batches(images, labels, self.cfg.batch_size, seed,
                                                     k, extra, extra_share), steps)

    def fit_stream(self, make_batches, steps, callbacks=()):
        """Train ``steps`` batches of ``make_batches(seed, steps_per_epoch)`` (a PyDataset),
        checking validation every ``eval_every`` (after ``callbacks``' epoch ends)."""
        import keras

        every = min(self.cfg.eval_every, steps)
        chunks, rest = divmod(steps, every)
        trainer = self

        class Check(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                trainer._check(every)

        seed = 1000 * self.cfg.seed + self._stage
        self._stage += 1
        self.model.fit(make_batches(seed, every), epochs=chunks,
                       verbose=self.cfg.verbose, shuffle=False, callbacks=[*callbacks, Check()])
        if rest:
            self.model.fit(make_batches(seed + 500, rest), epochs=1, verbose=self.cfg.verbose,
                           shuffle=False, callbacks=list(callbacks))
            self._check(rest)

    def start_from(self, warm):
        """Continue from :meth:`warm_point` of another trainer: its best weights, steps and
        validation curve (this trainer's own optimizer and schedule start afresh)."""
        self.net.set_weights(warm["weights"])
        self.best_acc, self.best_step, self.steps = warm["acc"], warm["step"], warm["steps"]
        self.best_weights = [w.copy() for w in warm["weights"]]
        self.curve = list(warm["curve"])
        self._stage = 1

    def warm_point(self):
        """The best weights so far and their bookkeeping, for :meth:`start_from`."""
        return {"weights": [w.copy() for w in (self.best_weights or self.net.get_weights())],
                "acc": self.best_acc, "step": self.best_step, "steps": self.steps,
                "curve": list(self.curve)}

    def restore_best(self):
        if self.best_weights is not None:
            self.net.set_weights(self.best_weights)
        return self.net

    def snapshot(self):
        """Weights, optimizer state and bookkeeping, to branch two runs from one point."""
        return {"weights": [w.copy() for w in self.model.get_weights()],
                "optimizer": [np.array(v) for v in self.model.optimizer.variables],
                "best": (self.best_acc, self.best_weights, self.best_step),
                "steps": self.steps, "curve": list(self.curve), "stage": self._stage}

    def restore(self, snap):
        self.model.set_weights(snap["weights"])
        for var, value in zip(self.model.optimizer.variables, snap["optimizer"]):
            var.assign(value)
        self.best_acc, self.best_weights, self.best_step = snap["best"]
        self.steps, self.curve, self._stage = snap["steps"], list(snap["curve"]), snap["stage"]
