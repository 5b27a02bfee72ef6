"""Labeled-only against self-training or FixMatch (:func:`compare`): the labeled/unlabeled split
(:func:`split_labeled`), where weights are chosen and scored (:func:`selection_and_score_splits`),
the shared supervised warm start (:func:`warm_start`), the labeled-only run (:func:`supervised`)
and the models (:func:`tiny_cnn`, a registry name or a callable)."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from fer_keras import NUM_CLASSES
from fer_keras.errors import FerInputError
from fer_keras.semi.config import SemiConfig
from fer_keras.semi.fixmatch_training import fixmatch, fixmatch_cost
from fer_keras.semi.self_training import pseudo_rounds
from fer_keras.semi.trainer import Trainer
from fer_keras.train.steps import clear_session


def split_labeled(labels, fraction, seed=0):
    """Stratified ``(labeled_idx, unlabeled_idx)``: ``fraction`` of each class keeps its label
    (rounded, so at least one image of each class present), the rest lose theirs. Sorted int64
    arrays. A fraction that gives some class fewer than one labeled image is refused
    (:func:`check_fractions`)."""
    labels = np.asarray(labels)
    if not 0 < fraction < 1:
        raise FerInputError(f"labeled fraction must be between 0 and 1, got {fraction}")
    check_fractions(labels, (fraction,))
    rng = np.random.default_rng([int(seed), int(round(fraction * 1e6))])
    keep = []
    for c in range(NUM_CLASSES):
        idx = np.flatnonzero(labels == c)
        if len(idx) == 0:
            continue
        rng.shuffle(idx)
        keep.append(idx[:int(round(len(idx) * fraction))])  # >= 1: check_fractions
    lab = np.sort(np.concatenate(keep)).astype(np.int64)
    unl = np.setdiff1d(np.arange(len(labels)), lab).astype(np.int64)
    return lab, unl


def check_fractions(labels, fractions):
    """Refuse (one line naming ``--fractions`` and the smallest fraction this data allows) a
    labeled fraction that gives some class of ``labels`` (int, ``(N,)``) no labeled image once
    rounded (:func:`split_labeled`), instead of quietly labeling one image of it anyway."""
    import math

    from fer_keras import CLASS_NAMES

    counts = np.bincount(np.asarray(labels, np.int64), minlength=NUM_CLASSES)
    present = np.flatnonzero(counts)
    if not len(present):
        return
    c = int(present[counts[present].argmin()])
    n = int(counts[c])
    for f in fractions:
        if round(n * f) < 1:
            step = 10.0 ** (math.floor(math.log10(0.5 / n)) - 2)  # 3 digits, rounded up
            least = math.ceil(round(0.5 / n / step, 6)) * step
            if round(n * least) < 1:  # exactly half an image rounds to none
                least += step
            raise FerInputError(f"--fractions {f:g} labels {n * f:.3g} of the {n:,} training "
                                f"images of class {CLASS_NAMES[c]!r}, which rounds to none; the "
                                f"smallest fraction for this data is {least:.3g}")


def _score(net, ds):
    from fer_keras.train.evaluate import predict_proba

    if ds is None or len(ds) == 0 or ds.labels is None:
        return None
    return float((predict_proba(net, ds.images).argmax(1) == ds.labels).mean())


def supervised(builder, labeled, val, cfg, steps, seed=0, warm=None):
    """Supervised training on ``labeled`` only for ``steps`` batches; best validation weights.
    ``warm``: a start to continue from (:meth:`Trainer.warm_point`)."""
    tr = Trainer(builder, cfg, val, seed, total_steps=steps)
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

    from fer_keras.models.layers import BatchNorm

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
    from fer_keras.data.holdout import scored_split_name, select_on_train

    if len(splits["val"]) == 0:
        raise FerInputError("semi-supervised comparison needs a validation split")
    out = select_on_train(splits, val_fraction, seed)
    return out["train"], out["val"], out["test"], scored_split_name(splits)


def _compare_fixmatch(builder, labeled, unlabeled, val, test, cfg):
    """Labeled-only vs FixMatch at equal compute. Both share a supervised warm start of
    ``warm_steps`` on the labeled images (as self-training does), then branch, each with a fresh optimizer: FixMatch for ``rounds * round_steps`` steps,
    labeled-only for :func:`fixmatch_cost` times as many. Both keep their best ``val`` weights
    (the warm start's included) and are scored on ``test``."""
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
    the best validation weights and their bookkeeping (:meth:`Trainer.warm_point`)."""
    tr = Trainer(builder, cfg, val, cfg.seed, total_steps=cfg.warm_steps)
    tr.fit(labeled.images, labeled.labels, cfg.warm_steps)
    warm = tr.warm_point()
    del tr
    clear_session()
    return warm


def compare(cfg: SemiConfig, splits=None, model=None, progress=print, reuse=False,
            on_start=None):
    """For each labeled fraction: labeled-only vs self-training, same model, same step budget.

    ``reuse=True``: when ``cfg.out`` already holds the ``semi.json`` of a comparison with this
    very config, return it instead of training again (the report's second run).

    ``model``: a registry name (default ``cfg.model``) or a zero-argument callable returning an
    uncompiled Keras classifier. ``splits``: ``{"train", "val", "test"}`` datasets (default:
    ``fer_keras.data.load_splits(cfg.data)``). Writes ``semi.json`` and ``config.json`` into
    ``cfg.out`` when set. Returns ``{"config", "results": [per fraction], "seconds"}``; each
    result has ``fraction``, ``n_labeled``, ``n_unlabeled``, ``supervised`` and
    ``self_training`` (``test_accuracy``, ``val_accuracy``, ``steps``, ...) and ``gain`` (test
    accuracy of self-training minus labeled-only). ``on_start``: called with no argument once
    the data and the fractions are checked, before any training (the command line's note on
    the synthetic faces, so that an error comes alone).
    """
    from fer_keras.data.loading import load_splits

    builder, name = _builder(model if model is not None else cfg.model)
    cfg = cfg.replace(model=name)
    if splits is None:
        splits = load_splits(cfg.data, val_fraction=cfg.val_fraction, seed=cfg.seed,
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
    check_fractions(train_ds.labels, cfg.fractions)  # before any work
    if on_start is not None:
        on_start()
    if out is not None:
        from fer_keras.fileio import write_json

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
        tr = Trainer(builder, cfg, val, cfg.seed)
        tr.fit(labeled.images, labeled.labels, cfg.warm_steps)
        snap = tr.snapshot()
        t_warm = time.perf_counter() - t
        t = time.perf_counter()
        st_net, st = pseudo_rounds(tr, labeled, unlabeled, cfg)
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
