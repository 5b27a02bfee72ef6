"""Evaluation: accuracy, per-class precision/recall, confusion matrices, test-time augmentation.

Everything returns numpy arrays or plain dicts; :func:`evaluate_model` also writes them as JSON.
Backend-neutral (``keras.ops`` only).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from fer_keras import CLASS_NAMES, NUM_CLASSES
from fer_keras.data.dataset import to_float

#: Test-time augmentation modes (:func:`check_tta`); ``PHOTO_TTA_MODES``: those a face found in a
#: photo or video takes (:class:`fer_keras.faces.Recognizer` averages a crop with its mirror).
TTA_MODES = ("none", "flip", "crops")
PHOTO_TTA_MODES = ("none", "flip")


def check_tta(tta, photos=False):
    """``tta`` when it is one of :data:`TTA_MODES` (``photos``: :data:`PHOTO_TTA_MODES`), else a
    one-line :class:`~fer_keras.errors.FerInputError` naming ``--tta``: the one place that
    decides which test-time augmentation a caller may ask for."""
    modes = PHOTO_TTA_MODES if photos else TTA_MODES
    if tta not in modes:
        from fer_keras.errors import FerInputError

        what = "--tta for photos and videos" if photos else "--tta"
        raise FerInputError(f"{what} must be one of {', '.join(modes)}, got {tta!r}")
    return tta


def _tta_views(x, mode):
    """Test-time views of float ``(N, 48, 48, 1)`` images: the image; + its mirror ("flip");
    + 2-pixel shifts in four directions of both ("crops": 10 views, the ten-crop idea at 48x48
    with edge padding)."""
    views = [x]
    if mode in ("flip", "crops"):
        views.append(x[:, :, ::-1])
    if mode == "crops":
        pad = np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)), mode="edge")
        h, w = x.shape[1:3]
        for dy, dx in ((0, 0), (0, 4), (4, 0), (4, 4)):
            v = pad[:, dy:dy + h, dx:dx + w]
            views += [v, v[:, :, ::-1]]
    return views


def predict_proba(model, images, batch_size=256, tta="none", contract=None):
    """FER2013 class probabilities float32 ``(N, 7)`` in ``CLASS_NAMES`` order; ``images`` uint8
    ``(N, 48, 48)`` or float ``(N, 48, 48, 1)`` in [0, 1]. With ``tta`` the probabilities of the
    views are averaged.

    ``model``: any Keras image classifier; its input contract (``contract``, else the one
    attached by :func:`fer_keras.models.load_classifier`, else inferred) maps the images to its
    input and its outputs to FER2013's classes (:meth:`~fer_keras.models.contract.InputContract.to_fer`).
    """
    from fer_keras.models import contract as fc

    check_tta(tta)
    c = contract or fc.of(model)
    x = to_float(images) if np.asarray(images).dtype == np.uint8 else np.asarray(images, np.float32)
    from fer_keras.data.pipeline import ArrayBatches

    # batches from a PyDataset, not arrays: no E0000 line under op determinism (ArrayBatches)
    probs = [c.probabilities(model.predict(ArrayBatches(c.prepare(v), batch_size=batch_size),
                                           verbose=0))
             for v in _tta_views(x, tta)]
    probs = np.mean(probs, axis=0).astype(np.float32)
    return probs if tuple(c.classes) == CLASS_NAMES else c.to_fer(probs)


def confusion_matrix(y_true, y_pred, num_classes=NUM_CLASSES):
    """int64 ``(7, 7)`` counts; rows are true classes, columns predicted classes."""
    cm = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(cm, (np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)), 1)
    return cm


def normalize_rows(cm):
    """Row-normalised float64 ``(7, 7)``: each row sums to 1 (0 for an empty row)."""
    cm = np.asarray(cm, np.float64)
    return cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)


def top_confusions(cm, k=5, class_names=CLASS_NAMES):
    """The ``k`` largest off-diagonal entries of the row-normalised matrix, as
    ``[(true_name, predicted_name, share), ...]`` sorted by share (descending)."""
    norm = normalize_rows(cm)
    np.fill_diagonal(norm, -1)
    order = np.argsort(norm, axis=None)[::-1][:k]
    out = []
    for flat in order:
        i, j = divmod(int(flat), norm.shape[1])
        if norm[i, j] > 0:
            out.append((class_names[i], class_names[j], float(norm[i, j])))
    return out


def balanced_nll(probs, labels):
    """Class-balanced negative log-likelihood (nats): the mean over the classes present in
    ``labels`` (int ``(N,)``) of each class's mean ``-log p(true class)``, ``probs`` float
    ``(N, K)`` clipped at 1e-7. ln 7 = 1.946 is what a model that learned nothing scores on
    seven balanced classes."""
    probs, labels = np.asarray(probs), np.asarray(labels)
    nll = -np.log(np.clip(probs[np.arange(len(labels)), labels], 1e-7, 1))
    return float(np.mean([nll[labels == c].mean() for c in np.unique(labels)]))


def metrics(y_true, probs):
    """Accuracy, per-class precision/recall/F1/support and the confusion matrix, as a dict."""
    y_true = np.asarray(y_true, np.int64)
    y_pred = np.asarray(probs).argmax(axis=1)
    cm = confusion_matrix(y_true, y_pred)
    tp = np.diag(cm).astype(np.float64)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros_like(tp),
                   where=(precision + recall) > 0)
    return {
        "n": int(len(y_true)),
        "accuracy": float((y_pred == y_true).mean()) if len(y_true) else float("nan"),
        "per_class": {name: {"precision": float(precision[c]), "recall": float(recall[c]),
                             "f1": float(f1[c]), "support": int(support[c])}
                      for c, name in enumerate(CLASS_NAMES)},
        "confusion": cm.tolist(),
        "confusion_normalized": normalize_rows(cm).round(4).tolist(),
        "top_confusions": top_confusions(cm),
    }


def evaluate_model(model, splits, tta="none", out=None, batch_size=256):
    """Metrics per split (every split with labels and rows) without and, if asked, with TTA.

    ``splits``: ``{"train": Dataset, "val": Dataset, ...}``. Returns
    ``{split: {"plain": metrics, "tta_<mode>": metrics}}`` and writes ``out`` (JSON) if given.
    """
    result = {}
    for name, ds in splits.items():
        if ds is None or len(ds) == 0 or ds.labels is None:
            continue
        entry = {"plain": metrics(ds.labels, predict_proba(model, ds.images, batch_size))}
        if tta != "none":
            entry[f"tta_{tta}"] = metrics(ds.labels, predict_proba(model, ds.images, batch_size, tta))
        result[name] = entry
    if out is not None:
        from fer_keras.fileio import write_json

        write_json(out, result)
    return result


def write_submission(model, ds, out, tta="none", batch_size=256):
    """Kaggle submission CSV ``id,label`` for every row of ``ds``; returns the labels ``(N,)``."""
    from fer_keras.fileio import write_text

    labels = predict_proba(model, ds.images, batch_size, tta).argmax(axis=1)
    lines = ["id,label"] + [f"{i},{int(lab)}" for i, lab in zip(ds.ids, labels)]
    write_text(Path(out), "\n".join(lines) + "\n")
    return labels


def layer_table(model):
    """The reports' layer table: ``[(name, class, output shape, params), ...]``."""
    rows = []
    for layer in model.layers:
        try:
            shape = tuple(layer.output.shape)
        except (AttributeError, ValueError):
            shape = ()
        rows.append((layer.name, type(layer).__name__, str(shape), int(layer.count_params())))
    return rows


def plot_model_diagram(model, path):
    """The model diagram (Q1): ``keras.utils.plot_model`` when Graphviz is installed, else
    :func:`fer_keras.plotting.model_diagram` (matplotlib, no Graphviz needed).

    Returns ``(path, note)``, the note saying which drew it.
    """
    import shutil

    from fer_keras import plotting

    if shutil.which("dot") is not None:
        import keras

        try:
            keras.utils.plot_model(model, to_file=str(path), show_shapes=True,
                                   show_layer_names=True)
            return Path(path), "keras.utils.plot_model"
        except (ImportError, OSError):
            pass  # pydot missing or dot failing: the matplotlib drawing below
    return plotting.model_diagram(model, path), ("matplotlib (Graphviz's `dot` is not "
                                                 "installed, so not keras.utils.plot_model)")


def run_splits(run_dir, data=None, seed=None, resize=None, n_synthetic=None, cache=None):
    """The splits a run in ``run_dir`` was trained with: rebuilt from its own ``config.json``
    (data, seed, validation fraction, synthetic count, resize), so that its validation rows are
    scored and none of its training rows. Arguments that are not None override the config (a
    folder without one uses the defaults). ``cache``: a dict shared between calls, so runs with
    the same split load it once."""
    from fer_keras.config import TrainConfig
    from fer_keras.data import loading

    cfg_path = Path(run_dir) / "config.json"
    cfg = TrainConfig.load(cfg_path) if cfg_path.is_file() else TrainConfig()
    key = (data if data is not None else cfg.data,
           cfg.seed if seed is None else seed,
           cfg.val_fraction,
           cfg.n_synthetic if n_synthetic is None else n_synthetic,
           cfg.resize if resize is None else resize, cfg.select_on)
    cache = {} if cache is None else cache
    if key not in cache:
        cache[key] = loading.load_splits(key[0], seed=key[1], val_fraction=key[2],
                                         n_synthetic=key[3], resize=key[4])
        if cfg.select_on == "train":
            from fer_keras.data.holdout import select_on_train

            cache[key] = select_on_train(cache[key], key[2], key[1])
    return cache[key]


def eval_splits(run_dir, data=None, seed=None, resize=None, n_synthetic=None):
    """What a model is scored on: ``({split: Dataset}, note)``, ``note`` saying it in words.

    * A run folder ``run_dir`` (with its ``config.json``) scored on the data it was trained on
      (``data`` None or the same path): its own splits (:func:`run_splits`), so that none of its
      training rows is scored.
    * Data with both Training and PublicTest rows (FER2013's CSV, or an image folder with
      ``train/`` and ``test/``): ``train`` = Training, ``val`` = PublicTest, ``test`` =
      PrivateTest (which may be empty).
    * Any other labelled data (a test-only folder ``DIR/<class>/*.jpg`` or ``DIR/test/<class>``,
      a CSV of test rows): every labelled image, as split ``all``. Nothing is sampled.

    ``"synthetic"`` (the default without ``data`` or a run folder) is split as training would
    split it. Unlabelled data is a one-line :class:`FerInputError`.
    """
    from fer_keras.config import TrainConfig
    from fer_keras.data import loading
    from fer_keras.errors import FerInputError

    cfg_path = Path(run_dir) / "config.json"
    cfg = TrainConfig.load(cfg_path) if cfg_path.is_file() else None
    if cfg is not None and (data is None or _same_source(data, cfg.data)):
        splits = run_splits(run_dir, data, seed, resize, n_synthetic)
        return splits, f"the splits of the run in {run_dir} (its config.json)"
    if data is None or str(data) == "synthetic":
        splits = run_splits(run_dir, "synthetic", seed, resize, n_synthetic)
        return splits, "the built-in synthetic faces (pass --data for FER2013)"
    ds = loading.load(data, resize=bool(resize))
    if ds.labels is None:
        raise FerInputError("these images have no labels, so there is nothing to score "
                            "against (fer-keras predict --data writes predictions)", file=data)
    usage = ds.usage
    if np.any(usage == "Training") and np.any(usage == "PublicTest"):
        return ({"train": ds.subset(usage == "Training"), "val": ds.subset(usage == "PublicTest"),
                 "test": ds.subset(usage == "PrivateTest")},
                f"{data}: Training / PublicTest (val) / PrivateTest (test) rows")
    return {"all": ds}, f"every one of the {len(ds)} labelled images of {data}"


def _same_source(a, b):
    if str(a) == str(b):
        return True
    try:
        return Path(a).resolve() == Path(b).resolve()
    except (OSError, RuntimeError):
        return False


def summarize_run(run_dir, splits, tta_modes=("flip", "crops"), split="val", batch_size=256,
                  input_range=None, classes=None):
    """One accuracy-table row for a training run folder: what was trained, for how long, and its
    ``best.keras`` accuracy on ``splits[split]`` (PublicTest for FER2013) without and with each
    test-time augmentation mode. ``run_dir`` may also be any model file (or SavedModel folder):
    its row then has no training record, and ``<file>.summary.json`` is written next to it.
    ``input_range``, ``classes``: overrides of the model's input contract
    (:func:`fer_keras.models.load_classifier`).

    Returns a dict (also written as ``summary.json`` in the run folder): ``model``, ``params``,
    ``gflop_per_image`` (forward, :func:`fer_keras.models.flops`), ``epochs``, ``best_epoch``,
    ``train_minutes`` (wall time of the epochs, validation included, from ``state.json``),
    ``precision``, ``preset``, ``n`` and ``accuracy`` ``{"none": .., "flip": .., ...}``.
    """
    from fer_keras import models
    from fer_keras.fileio import write_json
    from fer_keras.train.rundir import RunDir, RunState

    run = Path(run_dir)
    if run.is_file() or (run / "saved_model.pb").is_file():
        # a model file of any origin: scored, with no training record
        cfg, state, history = {"model": run.name}, RunState(epoch=0), []
        net = models.load_classifier(run, input_range, classes)[0]
        out_json = run.with_name(run.name + ".summary.json") if run.is_file() else \
            run / RunDir.SUMMARY
    else:
        rd = RunDir(run)
        cfg, state, history = rd.require_finished()
        history = [r for r in history if isinstance(r.get("val_accuracy", 0.0), (int, float))]
        net = models.load_classifier(rd.best, input_range, classes)[0]
        out_json = rd.summary
    ds = splits[split]
    accs = {}
    for mode in ("none", *tta_modes):
        accs[mode] = metrics(ds.labels, predict_proba(net, ds.images, batch_size, mode))["accuracy"]
    best = max(history, key=lambda r: r.get("val_accuracy", -1.0)) if history else {}
    out = {
        "run": str(run), "model": cfg.get("model"), "preset": cfg.get("preset", ""),
        "precision": cfg.get("precision", "float32"), "params": int(net.count_params()),
        "gflop_per_image": models.flops(net) / 1e9, "epochs": state.epoch,
        "planned_epochs": int(cfg.get("epochs", 0)), "best_epoch": best.get("epoch"),
        "train_minutes": float(state.elapsed_seconds) / 60.0,
        "split": split, "n": int(len(ds)), "accuracy": accs,
    }
    write_json(out_json, out)
    return out


def summary_markdown(rows):
    """:func:`summarize_run` dicts as a Markdown table (accuracies in percent)."""
    modes = []
    for r in rows:
        modes += [m for m in r["accuracy"] if m not in modes]
    head = ["run", "model", "params", "GFLOP/img", "epochs (best)", "train min"]
    head += ["acc" if m == "none" else f"+{m} TTA" for m in modes]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * 2 + "---:|" * (len(head) - 2)]
    for r in rows:
        cells = [r["run"], f"`{r['model']}`", f"{r['params']:,}", f"{r['gflop_per_image']:.3f}",
                 f"{r['epochs']} ({r['best_epoch']})", f"{r['train_minutes']:.1f}"]
        cells += [f"{100 * r['accuracy'][m]:.2f}%" if m in r["accuracy"] else "" for m in modes]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
