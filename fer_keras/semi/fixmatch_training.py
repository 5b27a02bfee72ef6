"""FixMatch (Sohn et al. 2020) and FreeMatch's self-adaptive thresholds (Wang et al. 2023): the
loss, the training model with its weak and strong views, the paired batches and :func:`fixmatch`."""
from __future__ import annotations

import numpy as np

from fer_keras import NUM_CLASSES
from fer_keras.semi.trainer import Trainer, step_batches
from fer_keras.train import steps as train_steps


def fixmatch_cost(mu):
    """Compute of one FixMatch step in labeled-only steps of the same batch size.

    A forward pass counts 1 and a backward pass 2 (gradients for inputs and weights): a
    labeled-only step costs ``3 B``; a FixMatch step ``3 B`` (labeled) + ``3 mu B`` (strong view)
    + ``mu B`` (weak view, forward only), i.e. ``(3 + 4 mu) / 3`` labeled-only steps.
    """
    return (3.0 + 4.0 * mu) / 3.0


def fixmatch_loss(labels, probs, n_labeled, threshold=0.95, lambda_u=1.0):
    """FixMatch's loss (Sohn et al. 2020, eq. 2-4) on one concatenated batch of probabilities.

    ``probs``: ``(n_labeled + 2 M, 7)`` softmax outputs, in this order: the labeled images, the
    weakly augmented unlabeled images, the same images strongly augmented (``M`` of each);
    ``labels``: ``(n_labeled,)`` ints. The weak view's argmax is the pseudo-label (no gradient
    flows through it); it counts only where the weak view's top probability is at least
    ``threshold`` (a number, or a ``(7,)`` tensor of per-class thresholds indexed by the
    pseudo-label, see :func:`adaptive_thresholds`). Returns ``(loss, mask_rate)``: the labeled
    cross-entropy plus ``lambda_u`` times the masked cross-entropy of the strong view averaged
    over all ``M`` unlabeled images (scalars), and the share of unlabeled images above the
    threshold, in [0, 1].
    """
    import keras
    from keras import ops

    eps = 1e-7
    probs = ops.cast(probs, "float32")
    p_lab = probs[:n_labeled]
    m = (ops.shape(probs)[0] - n_labeled) // 2
    p_weak = ops.stop_gradient(probs[n_labeled:n_labeled + m])
    p_strong = probs[n_labeled + m:]
    sup = ops.mean(keras.losses.sparse_categorical_crossentropy(
        ops.cast(ops.reshape(labels, (-1,)), "int32"), p_lab))
    pseudo = ops.argmax(p_weak, axis=-1)
    if not isinstance(threshold, (int, float)):
        threshold = ops.take(ops.cast(threshold, "float32"), pseudo)
    mask = ops.cast(ops.max(p_weak, axis=-1) >= threshold, "float32")
    onehot = ops.one_hot(pseudo, ops.shape(probs)[-1])
    ce = -ops.sum(onehot * ops.log(ops.clip(p_strong, eps, 1.0)), axis=-1)
    unsup = ops.mean(ce * mask)
    return sup + lambda_u * unsup, ops.mean(mask)


def adaptive_thresholds(global_conf, class_probs):
    """FreeMatch's self-adaptive per-class thresholds (Wang et al. 2023, eq. 6-9), ``(7,)``.

    ``global_conf``: exponential moving average (EMA) of the mean top probability of the weak
    views (scalar in [0, 1]); ``class_probs``: ``(7,)`` EMA of their mean probability per class.
    Threshold of class ``c`` = ``global_conf * class_probs[c] / max(class_probs)``: low while
    the model is unsure (so unlabeled images count from the start, where a fixed 0.95 keeps
    almost none on FER2013's seven classes), rising as it grows confident, and lower for the
    classes it predicts less often.
    """
    from keras import ops

    return global_conf * class_probs / ops.max(class_probs)


def _threshold_state_class():
    import keras
    from keras import ops

    class SelfAdaptiveThreshold(keras.layers.Layer):
        """The EMAs behind :func:`adaptive_thresholds`, updated from each training batch's weak
        views (non-trainable weights, updated in ``call`` like batch-norm statistics, so every
        backend tracks them). Both start at ``1 / num_classes`` (FreeMatch's initialisation)."""

        def __init__(self, num_classes=NUM_CLASSES, momentum=0.999, **kw):
            super().__init__(**kw)
            self.momentum = float(momentum)
            init = keras.initializers.Constant(1.0 / num_classes)
            self.global_conf = self.add_weight(shape=(), initializer=init, trainable=False,
                                               name="global_conf")
            self.class_probs = self.add_weight(shape=(num_classes,), initializer=init,
                                               trainable=False, name="class_probs")

        def call(self, p_weak, training=False):
            if training:
                m, p = self.momentum, ops.cast(ops.stop_gradient(p_weak), "float32")
                self.global_conf.assign(m * self.global_conf
                                        + (1 - m) * ops.mean(ops.max(p, axis=-1)))
                self.class_probs.assign(m * self.class_probs + (1 - m) * ops.mean(p, axis=0))
            return self.thresholds()

        def thresholds(self):
            return adaptive_thresholds(self.global_conf, self.class_probs)

    return SelfAdaptiveThreshold


def _intensity_jitter(images, seed_generator, strength=0.4):
    """Per-image contrast (x [1 - s, 1 + s] about the image mean) and brightness (+- s / 2)
    jitter, clipped to [0, 1]: the photometric part of FixMatch's strong augmentation for
    grey images. ``images``: float ``(N, H, W, 1)`` in [0, 1]."""
    import keras
    from keras import ops

    n = ops.shape(images)[0]
    c = keras.random.uniform((n, 1, 1, 1), 1 - strength, 1 + strength, seed=seed_generator)
    b = keras.random.uniform((n, 1, 1, 1), -strength / 2, strength / 2, seed=seed_generator)
    mean = ops.mean(images, axis=(1, 2, 3), keepdims=True)
    return ops.clip((images - mean) * c + mean + b, 0.0, 1.0)


def _fixmatch_model_class():
    import keras

    from fer_keras.train.augment import RandomAffine

    class FixMatchModel(keras.Model):
        """Training wrapper: ``((x_labeled, x_unlabeled), y)`` -> one forward pass of the
        classifier on [labeled (default augmentation), weak view, strong view], trained with
        :func:`fixmatch_loss`. The classifier is ``self.net``; inference uses it alone."""

        def __init__(self, net, label_aug, threshold=0.95, lambda_u=1.0, seed=0,
                     adaptive_momentum=None, **kw):
            super().__init__(name="fixmatch", **kw)
            self.net = net
            self.label_aug = label_aug
            # weak: flip and a shift of up to 12.5% (the paper's); strong: the project's
            # affine augmentation at twice its default strength, cut-out erasing on every
            # image, and contrast/brightness jitter (RandAugment's photometric operations)
            self.weak = RandomAffine(0.0, 0.125, 0.0, True, 0.0, seed=seed + 1, name="weak")
            self.strong = RandomAffine(20.0, 0.2, 0.2, True, 1.0, seed=seed + 2, name="strong")
            self.jitter_seed = keras.random.SeedGenerator(seed + 3)
            self.threshold = float(threshold)
            self.lambda_u = float(lambda_u)
            self.mask_rate = keras.metrics.Mean(name="mask_rate")
            # None: the fixed ``threshold``; a momentum: FreeMatch's self-adaptive thresholds
            self.sat = (None if adaptive_momentum is None else
                        _threshold_state_class()(momentum=adaptive_momentum, name="threshold"))

        def call(self, inputs, training=False):
            from keras import ops

            if not isinstance(inputs, (tuple, list)):
                return self.net(inputs, training=training)
            x_lab, x_unl = inputs
            views = [self.label_aug(x_lab, training=training),
                     self.weak(x_unl, training=training),
                     _intensity_jitter(self.strong(x_unl, training=training), self.jitter_seed)]
            probs = self.net(ops.concatenate(views, axis=0), training=training)
            if self.sat is not None:
                n, m = ops.shape(x_lab)[0], ops.shape(x_unl)[0]
                self.sat(probs[n:n + m], training=training)
            return probs

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            from keras import ops

            threshold = self.threshold if self.sat is None else self.sat.thresholds()
            loss, rate = fixmatch_loss(y, y_pred, ops.shape(y)[0], threshold, self.lambda_u)
            self.mask_rate.update_state(rate)
            if self.losses:
                loss = loss + ops.sum(self.losses)
            return loss

        @property
        def metrics(self):
            return [*super().metrics, self.mask_rate]

    return FixMatchModel


def _pair_batches(labeled, unlabeled, batch_size, mu, seed, steps_per_epoch):
    """A ``PyDataset`` of ``((x_labeled, x_unlabeled), y_labeled)`` for FixMatch: ``batch_size``
    labeled and ``mu * batch_size`` unlabeled images per step, each from its own seeded stream
    of permutations (:func:`~fer_keras.semi.trainer.step_batches`). ``labeled``/``unlabeled``:
    :class:`fer_keras.data.Dataset`."""
    import keras

    lab = step_batches(labeled.images, labeled.labels, batch_size, seed, steps_per_epoch)
    unl = step_batches(unlabeled.images, np.zeros(len(unlabeled), np.int64), mu * batch_size,
                   seed + 7919, steps_per_epoch)

    class PairBatches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__(workers=1, use_multiprocessing=False)

        def on_epoch_begin(self):
            lab.on_epoch_begin()
            unl.on_epoch_begin()

        def __len__(self):
            return steps_per_epoch

        def __getitem__(self, i):
            x_lab, y = lab[i]
            return (x_lab, unl[i][0]), y

    return PairBatches()


class _FixMatchTrainer(Trainer):
    """A :class:`~fer_keras.semi.trainer.Trainer` whose training model is FixMatch's (see
    :func:`fixmatch`)."""

    def _training_model(self, tcfg, total):
        label_aug = train_steps.build_training_model(tcfg, self.net).get_layer("augment")
        momentum = self.cfg.threshold_momentum if self.cfg.adaptive_threshold else None
        model = _fixmatch_model_class()(self.net, label_aug, self.cfg.fixmatch_threshold,
                                        self.cfg.lambda_u, seed=tcfg.seed,
                                        adaptive_momentum=momentum)
        model.compile(optimizer=train_steps.make_optimizer(tcfg, total),
                      steps_per_execution=self.steps_per_execution)
        return model


def fixmatch(builder, labeled, unlabeled, val, cfg, steps=None, seed=0, warm=None):
    """FixMatch (Sohn et al. 2020, "FixMatch: simplifying semi-supervised learning with
    consistency and confidence"): each step takes ``cfg.batch_size`` labeled images (the
    default augmentation, cross-entropy) and ``cfg.mu`` times as many unlabeled ones; an
    unlabeled image's pseudo-label is the model's argmax on a weakly augmented view (flip,
    shift), kept only when its probability is at least ``cfg.fixmatch_threshold``, and the
    model is trained to predict it on a strongly augmented view (:func:`fixmatch_loss`).
    With ``adaptive_threshold``, the threshold is FreeMatch's self-adaptive one per class
    (Wang et al. 2023, :func:`adaptive_thresholds`) instead of the fixed one.
    ``steps`` defaults to ``rounds * round_steps``; ``warm``: a supervised start
    (:meth:`Trainer.warm_point`) to continue from. Returns ``(classifier with its
    best validation weights, info dict)``; ``info["curve"]`` holds ``(step, val_accuracy)`` and
    ``info["mask_rate"]`` and ``info["loss"]`` the share of unlabeled images above the threshold
    and the mean training loss over each interval between checks.
    """
    import keras

    steps = steps or cfg.rounds * cfg.round_steps
    tr = _FixMatchTrainer(builder, cfg, val, seed, total_steps=steps)
    if warm is not None:
        tr.start_from(warm)
    rates, losses, thresholds = [], [], []

    class Rate(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            rates.append(float((logs or {}).get("mask_rate", float("nan"))))
            losses.append(float((logs or {}).get("loss", float("nan"))))
            if tr.model.sat is not None:
                thresholds.append(np.round(keras.ops.convert_to_numpy(
                    tr.model.sat.thresholds()), 4).tolist())

    tr.fit_stream(lambda s, k: _pair_batches(labeled, unlabeled, cfg.batch_size, cfg.mu, s, k),
                  steps, callbacks=[Rate()])
    net = tr.restore_best()
    return net, {"steps": tr.steps, "best_step": tr.best_step, "best_val_accuracy": tr.best_acc,
                 "curve": tr.curve, "mask_rate": rates, "loss": losses, "mu": cfg.mu,
                 "threshold": "adaptive" if cfg.adaptive_threshold else cfg.fixmatch_threshold,
                 "class_thresholds": thresholds,
                 "compute_in_labeled_steps": round(steps * fixmatch_cost(cfg.mu))}
