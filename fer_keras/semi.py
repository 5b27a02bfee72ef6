"""Semi-supervised learning by self-training and FixMatch (HW3 bonus, report 000).

Remove the labels of most of the training set, keep a stratified ``fraction`` of it labeled, and
compare two models of the same architecture trained with the same budget (optimizer steps of the
same batch size):

* **labeled only** - supervised training on the labeled subset;
* **self-training** - supervised training on the labeled subset (the warm start), then
  ``rounds`` times: predict every unlabeled image, keep those whose top probability is at least
  ``threshold`` as pseudo-labeled examples (at most as many per class as the labeled class
  proportions allow, which stops the majority class from swallowing the rest), and continue
  training on labeled + pseudo-labeled images. Pseudo-labels are recomputed each round by
  the best validation checkpoint so far (the teacher; training continues from it), so a
  wrong one can be corrected. Training sees augmented images while pseudo-labels come from
  clean ones (the consistency that makes self-training work; Xie et al. 2020, "noisy student").

Both runs share the supervised warm start (one run up to ``warm_steps``, then two branches),
keep the weights with the best validation accuracy, evaluated at the same step intervals, and
are scored on a split that no choice has seen (:func:`selection_and_score_splits`: the test split
when there is one, else the validation split, the weights then being chosen on a part of train).

``method="fixmatch"`` compares labeled-only training with FixMatch (Sohn et al. 2020,
:func:`fixmatch`) instead, at equal compute after the same warm start, with a fixed confidence
threshold or FreeMatch's self-adaptive ones (Wang et al. 2023, :func:`adaptive_thresholds`).
:func:`compare` runs both for each labeled fraction and writes ``semi.json`` and
``config.json``; it returns numpy-free plain dicts.
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np

from fer_keras import NUM_CLASSES
from fer_keras.errors import FerInputError


@dataclasses.dataclass(frozen=True)
class SemiConfig:
    """Settings of a labeled-only vs self-training comparison (``config.json`` holds them).

    Budgets are in optimizer steps (batches of ``batch_size``): ``warm_steps`` of supervised
    training before the first pseudo-labelling, ``round_steps`` after each of the ``rounds``
    pseudo-labellings; the labeled-only run gets ``warm_steps + rounds * round_steps`` steps.
    Adam at ``lr``, with ``schedule="cosine"`` decayed to 0 over that budget (both runs).
    ``mix``: share of each self-training batch taken from the pseudo-labeled images (the rest
    from the labeled ones); 0 pools them, so that many pseudo-labels drown the labeled images.
    ``eval_every`` is the number of steps between validation checks (both runs).
    ``method="fixmatch"`` replaces self-training by :func:`fixmatch` (Sohn et al. 2020) for
    ``rounds * round_steps`` steps after the same warm start, each with ``batch_size`` labeled
    and ``mu * batch_size`` unlabeled images, pseudo-labels kept at ``fixmatch_threshold`` (or,
    with ``adaptive_threshold``, at FreeMatch's self-adaptive per-class thresholds, whose moving
    averages have momentum ``threshold_momentum``), the unlabeled loss weighted by
    ``lambda_u``; labeled-only then continues from the warm start with the same compute
    (:func:`fixmatch_cost`) rather than the same steps.
    """

    model: str = "small_cnn"
    data: str = "synthetic"
    out: str = ""
    fractions: tuple = (0.1, 0.25)
    threshold: float = 0.9
    rounds: int = 3
    warm_steps: int = 300
    round_steps: int = 150
    batch_size: int = 64
    lr: float = 3e-3
    schedule: str = "cosine"
    mix: float = 0.5
    augment: bool = True
    eval_every: int = 20
    n_synthetic: int = 3000
    val_fraction: float = 0.1
    seed: int = 0
    verbose: int = 0
    method: str = "self_training"  # self_training | fixmatch
    fixmatch_threshold: float = 0.95
    adaptive_threshold: bool = False
    threshold_momentum: float = 0.999
    mu: int = 2
    lambda_u: float = 1.0

    def __post_init__(self):
        fr = tuple(float(f) for f in self.fractions)
        object.__setattr__(self, "fractions", fr)
        checks = [
            (len(fr) > 0 and all(0 < f < 1 for f in fr),
             f"labeled fractions must be between 0 and 1 (exclusive), got {self.fractions}"),
            (0 < self.threshold < 1, f"--threshold must be between 0 and 1, got {self.threshold}"),
            (self.rounds >= 1, f"--rounds must be a positive integer, got {self.rounds}"),
            (self.warm_steps >= 1, f"--warm-steps must be a positive integer, got {self.warm_steps}"),
            (self.round_steps >= 1,
             f"--round-steps must be a positive integer, got {self.round_steps}"),
            (self.batch_size >= 1, f"--batch-size must be a positive integer, got {self.batch_size}"),
            (self.eval_every >= 1, f"--eval-every must be a positive integer, got {self.eval_every}"),
            (0 < self.lr <= 10, f"--lr must be in (0, 10], got {self.lr}"),
            (0 <= self.mix < 1, f"--mix must be in [0, 1), got {self.mix}"),
            (self.method in ("self_training", "fixmatch"),
             f"--method must be self_training or fixmatch, got {self.method!r}"),
            (0 < self.fixmatch_threshold < 1,
             f"--fixmatch-threshold must be between 0 and 1, got {self.fixmatch_threshold}"),
            (0 < self.threshold_momentum < 1,
             f"--threshold-momentum must be between 0 and 1, got {self.threshold_momentum}"),
            (self.mu >= 1, f"--mu must be a positive integer, got {self.mu}"),
            (self.lambda_u >= 0, f"--lambda-u must not be negative, got {self.lambda_u}"),
            (self.schedule in ("cosine", "constant"),
             f"--schedule must be cosine or constant, got {self.schedule!r}"),
        ]
        for ok, msg in checks:
            if not ok:
                raise FerInputError(msg)

    def to_dict(self):
        d = dataclasses.asdict(self)
        d["fractions"] = list(self.fractions)
        return d

    def replace(self, **kw):
        return dataclasses.replace(self, **kw)


# --------------------------------------------------------------------------- pieces
def split_labeled(labels, fraction, seed=0):
    """Stratified ``(labeled_idx, unlabeled_idx)``: ``fraction`` of each class keeps its label
    (at least one image per class present), the rest lose theirs. Sorted int64 arrays."""
    labels = np.asarray(labels)
    if not 0 < fraction < 1:
        raise FerInputError(f"labeled fraction must be between 0 and 1, got {fraction}")
    rng = np.random.default_rng([int(seed), int(round(fraction * 1e6))])
    keep = []
    for c in range(NUM_CLASSES):
        idx = np.flatnonzero(labels == c)
        if len(idx) == 0:
            continue
        rng.shuffle(idx)
        keep.append(idx[:max(1, int(round(len(idx) * fraction)))])
    lab = np.sort(np.concatenate(keep)).astype(np.int64)
    unl = np.setdiff1d(np.arange(len(labels)), lab).astype(np.int64)
    return lab, unl


def select_pseudo_labels(probs, threshold, class_cap=None):
    """Which unlabeled images get a pseudo-label: ``(index, labels, confidence)``.

    ``probs``: ``(N, 7)`` predicted probabilities. An image qualifies when its top probability
    is at least ``threshold``; ``class_cap`` (``(7,)`` ints) keeps at most that many of the most
    confident images per predicted class.
    """
    probs = np.asarray(probs)
    conf = probs.max(axis=1)
    pred = probs.argmax(axis=1)
    chosen = []
    for c in range(probs.shape[1]):
        idx = np.flatnonzero((pred == c) & (conf >= threshold))
        idx = idx[np.argsort(-conf[idx], kind="stable")]
        if class_cap is not None:
            idx = idx[:int(class_cap[c])]
        chosen.append(idx)
    index = np.sort(np.concatenate(chosen)).astype(np.int64)
    return index, pred[index].astype(np.int64), conf[index].astype(np.float32)


def class_caps(labeled_labels, n_unlabeled, slack=1.5):
    """Per-class cap on pseudo-labels: ``slack`` x the labeled class share x ``n_unlabeled``."""
    share = np.bincount(labeled_labels, minlength=NUM_CLASSES) / max(1, len(labeled_labels))
    return np.ceil(share * n_unlabeled * slack).astype(np.int64)


def _batches(images, labels, batch_size, seed, steps_per_epoch, extra=None, extra_share=0.0):
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


class _Trainer:
    """One model (augmentation + classifier), trained in stages of steps, keeping its best
    validation weights (checked every ``cfg.eval_every`` steps)."""

    def __init__(self, builder, cfg, val, seed, total_steps=None):
        from fer_keras.config import TrainConfig
        from fer_keras.train import set_determinism

        set_determinism(int(seed))  # seeds, and deterministic ops under TensorFlow
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
        from fer_keras.train import build_training_model, compile_model

        model = build_training_model(tcfg, self.net)
        compile_model(model, tcfg, total)  # a cosine schedule decays over the whole budget
        return model

    def predict(self, images):
        from fer_keras.evaluate import predict_proba

        return predict_proba(self.net, images)

    def _check(self, k):
        self.steps += k
        acc = float((self.predict(self.val_x).argmax(1) == self.val_y).mean())
        self.curve.append((self.steps, acc))
        if acc >= self.best_acc:  # ties: the later (more trained) checkpoint
            self.best_acc, self.best_step = acc, self.steps
            self.best_weights = [w.copy() for w in self.net.get_weights()]

    def fit(self, images, labels, steps, extra=None, extra_share=0.0):
        """Train ``steps`` batches on (images, labels) (and ``extra``, see :func:`_batches`),
        checking validation every ``eval_every``."""
        self.fit_stream(lambda seed, k: _batches(images, labels, self.cfg.batch_size, seed, k,
                                                 extra, extra_share), steps)

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


# --------------------------------------------------------------------------- FixMatch
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

    from fer_keras.augment import RandomAffine

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
    of permutations (:func:`_batches`). ``labeled``/``unlabeled``: :class:`fer_keras.data.Dataset`."""
    import keras

    lab = _batches(labeled.images, labeled.labels, batch_size, seed, steps_per_epoch)
    unl = _batches(unlabeled.images, np.zeros(len(unlabeled), np.int64), mu * batch_size,
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


class _FixMatchTrainer(_Trainer):
    """A :class:`_Trainer` whose training model is FixMatch's (see :func:`fixmatch`)."""

    def _training_model(self, tcfg, total):
        from fer_keras.train import build_training_model, make_optimizer

        label_aug = build_training_model(tcfg, self.net).get_layer("augment")
        momentum = self.cfg.threshold_momentum if self.cfg.adaptive_threshold else None
        model = _fixmatch_model_class()(self.net, label_aug, self.cfg.fixmatch_threshold,
                                        self.cfg.lambda_u, seed=tcfg.seed,
                                        adaptive_momentum=momentum)
        model.compile(optimizer=make_optimizer(tcfg, total))
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
    (:meth:`_Trainer.warm_point`) to continue from. Returns ``(classifier with its
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


def _score(net, ds):
    from fer_keras.evaluate import predict_proba

    if ds is None or len(ds) == 0 or ds.labels is None:
        return None
    return float((predict_proba(net, ds.images).argmax(1) == ds.labels).mean())


def self_train(builder, labeled, unlabeled, val, cfg, seed=0):
    """Self-training with confidence-thresholded pseudo-labels, iterated ``cfg.rounds`` times.

    ``labeled``/``unlabeled``/``val``: :class:`fer_keras.data.Dataset`; the unlabeled set's
    labels, if present, are used only to report how accurate the pseudo-labels were. Returns
    ``(classifier with its best validation weights, info dict)``.
    """
    tr = _Trainer(builder, cfg, val, seed)
    tr.fit(labeled.images, labeled.labels, cfg.warm_steps)
    return _pseudo_rounds(tr, labeled, unlabeled, cfg)


def _pseudo_rounds(tr, labeled, unlabeled, cfg):
    """The pseudo-labelling rounds of :func:`self_train`, from a warm-started trainer."""
    rounds = [{"round": 0, "n_pseudo": 0, "pseudo_accuracy": None, "steps": tr.steps,
               "val_accuracy": tr.curve[-1][1]}]
    caps = class_caps(labeled.labels, len(unlabeled))
    for r in range(1, cfg.rounds + 1):
        # the teacher is the best checkpoint so far: pseudo-labels from a model caught in a bad
        # step would teach its mistakes (confirmation bias); training continues from it
        tr.restore_best()
        teacher = tr.best_acc
        probs = tr.predict(unlabeled.images)
        idx, plabels, conf = select_pseudo_labels(probs, cfg.threshold, caps)
        if cfg.mix:  # fixed share of each batch: labeled images keep their weight
            tr.fit(labeled.images, labeled.labels, cfg.round_steps,
                   extra=(unlabeled.images[idx], plabels), extra_share=cfg.mix)
        else:  # one pool: pseudo-labels weigh by their number
            tr.fit(np.concatenate([labeled.images, unlabeled.images[idx]]),
                   np.concatenate([labeled.labels, plabels]), cfg.round_steps)
        truth = unlabeled.labels[idx] if unlabeled.labels is not None else None
        rounds.append({
            "round": r, "teacher_val_accuracy": float(teacher), "n_pseudo": int(len(idx)),
            "pseudo_accuracy": None if truth is None or not len(idx)
            else float((truth == plabels).mean()),
            "pseudo_per_class": np.bincount(plabels, minlength=NUM_CLASSES).tolist(),
            "mean_confidence": float(conf.mean()) if len(conf) else None,
            "steps": tr.steps, "val_accuracy": tr.curve[-1][1]})
    net = tr.restore_best()
    return net, {"rounds": rounds, "steps": tr.steps, "best_step": tr.best_step,
                 "best_val_accuracy": tr.best_acc, "curve": tr.curve}


def supervised(builder, labeled, val, cfg, steps, seed=0, warm=None):
    """Supervised training on ``labeled`` only for ``steps`` batches; best validation weights.
    ``warm``: a start to continue from (:meth:`_Trainer.warm_point`)."""
    tr = _Trainer(builder, cfg, val, seed, total_steps=steps)
    if warm is not None:
        tr.start_from(warm)
    tr.fit(labeled.images, labeled.labels, steps)
    net = tr.restore_best()
    return net, {"steps": tr.steps, "best_step": tr.best_step, "best_val_accuracy": tr.best_acc,
                 "curve": tr.curve}


def tiny_cnn(input_shape=(48, 48, 1), num_classes=7, width=16):
    """A small CNN for quick semi-supervised runs on a CPU (about 1.5 M multiply-adds per image,
    a twentieth of ``small_cnn``): Conv(16, stride 2)-BN-ReLU-Pool - Conv(32)-BN-ReLU-Pool -
    Conv(64)-BN-ReLU - Flatten - Dropout(0.3) - Dense(7). Not in the model registry; ``compare``
    and ``fer-keras semi --model tiny_cnn`` accept its name."""
    import keras
    from keras import layers

    from fer_keras.layers import BatchNorm

    body = []
    for i, (f, s) in enumerate(((width, 2), (2 * width, 1), (4 * width, 1)), start=1):
        body += [layers.Conv2D(f, 3, strides=s, padding="same", use_bias=False, name=f"conv{i}"),
                 BatchNorm(name=f"bn{i}"), layers.Activation("relu", name=f"relu{i}")]
        if i < 3:
            body.append(layers.MaxPooling2D(2, name=f"pool{i}"))
    return keras.Sequential([keras.Input(shape=input_shape, name="image"), *body,
                             layers.Flatten(name="flatten"), layers.Dropout(0.3, name="drop"),
                             layers.Dense(num_classes, name="logits"),
                             layers.Activation("softmax", name="predictions", dtype="float32")],
                            name="tiny_cnn")


def _builder(model):
    from fer_keras import models

    if callable(model):
        return model, getattr(model, "__name__", "custom")
    if model == "tiny_cnn":
        return tiny_cnn, "tiny_cnn"
    models.get(model)
    return (lambda: models.build(model)), model


def selection_and_score_splits(splits, val_fraction=0.1, seed=0):
    """``(train, selection, score, scored_on)``: where the weights are chosen and where they are
    scored, never the same images.

    With a labeled ``test`` split, the weights are chosen on ``val`` and scored on ``test``.
    Without one (FER2013's image folders, whose PrivateTest is held back; a single CSV; the
    synthetic faces), a stratified ``val_fraction`` of ``train`` (seeded) chooses the weights
    and ``val`` (PublicTest), which no choice has seen, scores them.
    """
    from fer_keras.data import stratified_split

    train_ds, val, test = splits["train"], splits["val"], splits.get("test")
    if len(val) == 0:
        raise FerInputError("semi-supervised comparison needs a validation split")
    if test is not None and len(test) and test.labels is not None:
        return train_ds, val, test, "test"
    fit_idx, sel_idx = stratified_split(train_ds.labels, val_fraction, seed)
    return train_ds.subset(fit_idx), train_ds.subset(sel_idx), val, "val"


def _compare_fixmatch(builder, labeled, unlabeled, val, test, cfg):
    """Labeled-only vs FixMatch at equal compute. Both share a supervised warm start of
    ``warm_steps`` on the labeled images (as self-training does), then branch, each with a fresh optimizer: FixMatch for ``rounds * round_steps`` steps,
    labeled-only for :func:`fixmatch_cost` times as many. Both keep their best ``val`` weights
    (the warm start's included) and are scored on ``test``."""
    from fer_keras.train import clear_session

    t = time.perf_counter()
    warm = warm_start(builder, labeled, val, cfg)
    t_warm = time.perf_counter() - t
    steps = cfg.rounds * cfg.round_steps
    t = time.perf_counter()
    fm_net, fm = fixmatch(builder, labeled, unlabeled, val, cfg, steps=steps, seed=cfg.seed,
                          warm=warm)
    fm_acc = _score(fm_net, test)
    t_fm = time.perf_counter() - t + t_warm
    clear_session()
    t = time.perf_counter()
    sup_net, sup = supervised(builder, labeled, val, cfg, round(steps * fixmatch_cost(cfg.mu)),
                              seed=cfg.seed, warm=warm)
    sup_acc = _score(sup_net, test)
    t_sup = time.perf_counter() - t + t_warm
    clear_session()
    return {"n_labeled": int(len(labeled)), "n_unlabeled": int(len(unlabeled)),
            "warm_steps": cfg.warm_steps, "warm_val_accuracy": warm["acc"],
            "supervised": {**sup, "test_accuracy": sup_acc, "seconds": round(t_sup, 1)},
            "fixmatch": {**fm, "test_accuracy": fm_acc, "seconds": round(t_fm, 1)},
            "gain": fm_acc - sup_acc}


def warm_start(builder, labeled, val, cfg):
    """``cfg.warm_steps`` of supervised training on ``labeled`` (cosine over those steps):
    the best validation weights and their bookkeeping (:meth:`_Trainer.warm_point`)."""
    from fer_keras.train import clear_session

    tr = _Trainer(builder, cfg, val, cfg.seed, total_steps=cfg.warm_steps)
    tr.fit(labeled.images, labeled.labels, cfg.warm_steps)
    warm = tr.warm_point()
    del tr
    clear_session()
    return warm


def compare(cfg: SemiConfig, splits=None, model=None, progress=print, reuse=False):
    """For each labeled fraction: labeled-only vs self-training, same model, same step budget.

    ``reuse=True``: when ``cfg.out`` already holds the ``semi.json`` of a comparison with this
    very config, return it instead of training again (the report's second run).

    ``model``: a registry name (default ``cfg.model``) or a zero-argument callable returning an
    uncompiled Keras classifier. ``splits``: ``{"train", "val", "test"}`` datasets (default:
    ``fer_keras.data.load_splits(cfg.data)``). Writes ``semi.json`` and ``config.json`` into
    ``cfg.out`` when set. Returns ``{"config", "results": [per fraction], "seconds"}``; each
    result has ``fraction``, ``n_labeled``, ``n_unlabeled``, ``supervised`` and
    ``self_training`` (``test_accuracy``, ``val_accuracy``, ``steps``, ...) and ``gain`` (test
    accuracy of self-training minus labeled-only).
    """
    from fer_keras import data
    from fer_keras.train import clear_session

    builder, name = _builder(model if model is not None else cfg.model)
    cfg = cfg.replace(model=name)
    if splits is None:
        splits = data.load_splits(cfg.data, val_fraction=cfg.val_fraction, seed=cfg.seed,
                                  n_synthetic=cfg.n_synthetic)
    out = Path(cfg.out) if cfg.out else None
    if reuse and out is not None and (out / "semi.json").is_file():
        import json

        try:
            done = json.loads((out / "semi.json").read_text())
        except (OSError, ValueError):
            done = None  # unreadable: computed again and rewritten
        if done and done.get("config") == json.loads(json.dumps(cfg.to_dict())):
            if progress:
                progress(f"semi: reusing {out / 'semi.json'} (same settings; delete it to "
                         "compute again)")
            return {**done, "reused": True}
    train_ds, val, test, scored_on = selection_and_score_splits(splits, cfg.val_fraction, cfg.seed)
    if out is not None:
        from fer_keras.io import write_json

        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "config.json", cfg.to_dict())
    t0 = time.perf_counter()
    results = []
    for fraction in cfg.fractions:
        lab_idx, unl_idx = split_labeled(train_ds.labels, fraction, cfg.seed)
        labeled, unlabeled = train_ds.subset(lab_idx), train_ds.subset(unl_idx)
        if cfg.method == "fixmatch":
            res = _compare_fixmatch(builder, labeled, unlabeled, val, test, cfg)
            res = {"fraction": fraction, "scored_on": scored_on, **res}
            results.append(res)
            if progress:
                progress(f"semi: {fraction:.0%} labeled ({len(labeled)} images): labeled-only "
                         f"{res['supervised']['test_accuracy']:.3f}, FixMatch "
                         f"{res['fixmatch']['test_accuracy']:.3f} on {scored_on} (equal compute)")
            continue
        # Both runs share the supervised warm start (identical up to there), then branch:
        # self-training rounds, or as many more steps on the labeled images alone.
        t = time.perf_counter()
        tr = _Trainer(builder, cfg, val, cfg.seed)
        tr.fit(labeled.images, labeled.labels, cfg.warm_steps)
        snap = tr.snapshot()
        t_warm = time.perf_counter() - t
        t = time.perf_counter()
        st_net, st = _pseudo_rounds(tr, labeled, unlabeled, cfg)
        st_acc = _score(st_net, test)
        t_st = time.perf_counter() - t + t_warm
        t = time.perf_counter()
        tr.restore(snap)
        tr.fit(labeled.images, labeled.labels, st["steps"] - cfg.warm_steps)
        sup_net = tr.restore_best()
        sup = {"steps": tr.steps, "best_step": tr.best_step, "best_val_accuracy": tr.best_acc,
               "curve": tr.curve}
        sup_acc = _score(sup_net, test)
        t_sup = time.perf_counter() - t + t_warm
        del tr, snap
        clear_session()
        res = {
            "fraction": fraction, "n_labeled": int(len(labeled)), "n_unlabeled": int(len(unlabeled)),
            "scored_on": scored_on,
            "supervised": {**sup, "test_accuracy": sup_acc, "seconds": round(t_sup, 1)},
            "self_training": {**st, "test_accuracy": st_acc, "seconds": round(t_st, 1)},
            "gain": st_acc - sup_acc,
        }
        results.append(res)
        if progress:
            progress(f"semi: {fraction:.0%} labeled ({len(labeled)} images): labeled-only "
                     f"{sup_acc:.3f}, self-training {st_acc:.3f} on {scored_on} "
                     f"({st['rounds'][-1]['n_pseudo']} pseudo-labels in the last round)")
    summary = {"config": cfg.to_dict(), "results": results,
               "seconds": round(time.perf_counter() - t0, 1)}
    if out is not None:
        write_json(out / "semi.json", summary)
    return summary
