"""Self-training with confidence-thresholded pseudo-labels (Xie et al. 2020, "noisy student"):
which unlabeled images get a pseudo-label (:func:`select_pseudo_labels`, :func:`class_caps`) and
the rounds that retrain on them (:func:`self_train`)."""
from __future__ import annotations

import numpy as np

from fer_keras import NUM_CLASSES
from fer_keras.semi.trainer import Trainer


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


def self_train(builder, labeled, unlabeled, val, cfg, seed=0):
    """Self-training with confidence-thresholded pseudo-labels, iterated ``cfg.rounds`` times.

    ``labeled``/``unlabeled``/``val``: :class:`fer_keras.data.Dataset`; the unlabeled set's
    labels, if present, are used only to report how accurate the pseudo-labels were. Returns
    ``(classifier with its best validation weights, info dict)``.
    """
    tr = Trainer(builder, cfg, val, seed)
    tr.fit(labeled.images, labeled.labels, cfg.warm_steps)
    return pseudo_rounds(tr, labeled, unlabeled, cfg)


def pseudo_rounds(tr, labeled, unlabeled, cfg):
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
