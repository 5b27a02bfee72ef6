"""``fer-keras explain ...``: the reports' explanation figures from a trained model.

Each subcommand reads ``--model`` and a split of ``--data``, writes PNGs and one JSON of the
numbers into ``--out`` (default: ``explain/`` next to the model) and prints a short summary::

    fer-keras explain confusion --model runs/X/best.keras            # HW3 Q3
    fer-keras explain saliency  --model ... --method gradcam          # HW3 Q4, HW4 Q1
    fer-keras explain ascent    --model ... --layer conv1 --steps 200 # HW3 Q5, HW4 Q2
    fer-keras explain features  --model ... --layer relu1 --index 0   # HW3 Q5, HW4 Q2
    fer-keras explain lime      --model ...                           # HW4 Q3
    fer-keras explain tsne      --model ... --n 1000                  # HW4 Q4
    fer-keras explain checks    --model ...                           # sanity, faithfulness
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from fer_keras import CLASS_NAMES, contract
from fer_keras.cli import _Parser, _positive_int, register_command
from fer_keras.errors import FerInputError

WHATS = ("confusion", "saliency", "ascent", "features", "lime", "tsne", "checks")
METHODS = ("vanilla", "smoothgrad", "gradcam", "gradcam++")


@register_command
def add_explain(sub):
    p = sub.add_parser("explain", help="explain a trained model: confusion, saliency, ascent, "
                                       "features, lime, tsne, checks")
    what = p.add_subparsers(dest="what", parser_class=_Parser)
    helps = {"confusion": "row-normalised confusion matrix, with and without the diagonal",
             "saliency": "saliency panels (original, map, masked image) per method",
             "ascent": "gradient ascent: inputs that maximise each filter of a layer",
             "features": "every filter's output of a layer for one image",
             "lime": "LIME superpixel explanations, one panel per class",
             "tsne": "t-SNE of layer outputs (first conv vs last hidden) with silhouette",
             "checks": "sanity (full, cascading), deletion/insertion, ROAD and mask concentration "
                       "per method, against model-free controls, with verdicts"}
    for name in WHATS:
        q = what.add_parser(name, help=helps[name])
        q.add_argument("--model", required=True, help="a .keras file (e.g. runs/NAME/best.keras), "
                       "a Keras 2 .h5/.hdf5 file or a TensorFlow SavedModel folder")
        contract.add_flags(q)
        q.add_argument("--data", default="synthetic",
                       help="'synthetic' (default) or a FER2013 CSV / image-folder path")
        q.add_argument("--split", default="val", choices=["train", "val", "test"],
                       help="which split to explain (default val)")
        q.add_argument("--out", help="output folder (default: explain/ next to the model)")
        q.add_argument("--seed", type=int, default=0)
        q.add_argument("--n-synthetic", type=_positive_int, default=3000)
        q.add_argument("--resize", action="store_true")
        q.add_argument("--layer", action="append",
                       help="layer name (tsne: repeat for several layers; checks: also check "
                            "Grad-CAM and Grad-CAM++ at this layer)")
        q.add_argument("--n", type=_positive_int,
                       help="images: per class (saliency, lime) or in all (tsne, checks)")
        q.add_argument("--index", type=int, action="append",
                       help="row of the split to explain (repeatable)")
        if name in ("saliency", "checks"):
            q.add_argument("--method", action="append", choices=METHODS,
                           help="saliency method (repeatable; default all four)")
            q.add_argument("--samples", type=_positive_int, default=20,
                           help="SmoothGrad samples")
        if name == "ascent":
            q.add_argument("--steps", type=_positive_int, default=200)
            q.add_argument("--filters", type=_positive_int,
                           help="how many filters (default 64; --n means the same)")
            q.add_argument("--lr", type=float)
            q.add_argument("--no-progress", dest="progress", action="store_false",
                           help="no progress bar")
        if name == "lime":
            q.add_argument("--num-samples", type=_positive_int, default=1000)
            q.add_argument("--segments", type=_positive_int, default=50)
        if name == "tsne":
            q.add_argument("--perplexity", type=float, default=30.0)
        q.set_defaults(func=cmd_explain)
    p.set_defaults(func=lambda args: _usage(p))


def _usage(parser):
    parser.print_help()
    return 2


# --------------------------------------------------------------------------- shared
def _setup(args):
    from fer_keras import data, models

    model = models.load_classifier(args.model, args=args)[0]
    splits = data.load_splits(args.data, seed=args.seed, resize=args.resize,
                              n_synthetic=args.n_synthetic)
    ds = splits.get(args.split)
    if ds is None or len(ds) == 0:
        have = ", ".join(k for k, v in splits.items() if len(v))
        raise FerInputError(f"split {args.split!r} is empty in this data; non-empty: {have}",
                            entry="--split")
    out = Path(args.out or Path(os.path.dirname(os.path.abspath(args.model))) / "explain")
    from fer_keras.train import check_out_dir

    check_out_dir(out)
    return model, ds, out


def _need_labels(ds, what):
    if ds.labels is None:
        raise FerInputError(f"explain {what} needs labeled data; this split has no labels",
                            file=ds.source)
    return ds.labels


def _pick(ds, args, per_class_default):
    """Row indices to explain: ``--index`` rows, else the first ``--n`` images of each class
    (one of each class by default, as the reports show)."""
    if args.index:
        bad = [i for i in args.index if not 0 <= i < len(ds)]
        if bad:
            raise FerInputError(f"--index {bad[0]} is out of range 0..{len(ds) - 1}",
                                entry="--index")
        return np.asarray(args.index, np.int64)
    k = args.n or per_class_default
    if ds.labels is None:
        return np.arange(min(k * 7, len(ds)))
    rows = [np.flatnonzero(ds.labels == c)[:k] for c in range(len(CLASS_NAMES))]
    return np.concatenate(rows).astype(np.int64)


def _title(ds, i, pred=None, names=CLASS_NAMES):
    parts = []
    if ds.labels is not None:
        parts.append(CLASS_NAMES[int(ds.labels[i])])
    if pred is not None:
        parts.append(f"pred {names[int(pred)]}")
    return f"#{i} " + ", ".join(parts)


def _layer(args, default):
    return args.layer[0] if args.layer else default


def _write(out, name, payload):
    from fer_keras.io import write_json

    path = Path(out) / name
    write_json(path, payload)
    return path


def _methods(args):
    return list(dict.fromkeys(args.method)) if args.method else list(METHODS)


# --------------------------------------------------------------------------- commands
def cmd_explain(args):
    model, ds, out = _setup(args)
    written = _COMMANDS[args.what](args, model, ds, out)
    for path in written:
        print(f"written: {path}")
    return 0


def _confusion(args, model, ds, out):
    from fer_keras import evaluate, plotting

    labels = _need_labels(ds, "confusion")
    probs = evaluate.predict_proba(model, ds.images)
    m = evaluate.metrics(labels, probs)
    cm = np.asarray(m["confusion"])
    p1 = plotting.confusion_matrix(cm, out / "confusion.png", normalize=True)
    p2 = plotting.confusion_matrix(cm, out / "confusion_offdiag.png", normalize=True,
                                   hide_diagonal=True)
    print(f"accuracy {m['accuracy']:.4f} on {m['n']} images ({args.split})")
    print("most confused (true -> predicted, share of the true class):")
    for t, p, share in m["top_confusions"]:
        print(f"  {t:9s} -> {p:9s} {share:.3f}")
    j = _write(out, "confusion.json", {"split": args.split, "accuracy": m["accuracy"],
                                       "n": m["n"], "confusion": m["confusion"],
                                       "confusion_normalized": m["confusion_normalized"],
                                       "top_confusions": m["top_confusions"]})
    return [p1, p2, j]


def _saliency(args, model, ds, out):
    from fer_keras import explain, plotting

    c = contract.of(model)  # labels and predictions in the model's own class order
    rows = _pick(ds, args, 1)
    images = ds.images[rows]
    preds = explain.predict_proba(model, images).argmax(axis=1)
    labels = c.from_fer(ds.labels[rows]) if ds.labels is not None else preds
    titles = [_title(ds, i, p, c.classes) for i, p in zip(rows, preds)]
    written, result = [], {"rows": rows.tolist(), "labels": labels.tolist(),
                           "predicted": preds.tolist(), "classes": list(c.classes),
                           "score": explain.score_source(model), "methods": {}}
    eval_rows = np.arange(min(len(ds), 256))
    for method in _methods(args):
        t = time.perf_counter()
        maps = explain.saliency_maps(model, images, labels, method=method, samples=args.samples,
                                     layer=args.layer[0] if args.layer else None, seed=args.seed)
        secs = time.perf_counter() - t
        written.append(plotting.saliency_panels(
            images, maps, out / f"saliency_{_slug(method)}.png", titles=titles,
            suptitle=f"{method} saliency of the true class"))
        entry = {"seconds": round(secs, 3)}
        if ds.masks is not None:
            # ground truth of the synthetic faces: saliency mass inside the class-defining parts
            big = explain.saliency_maps(model, ds.images[eval_rows],
                                        c.from_fer(ds.labels[eval_rows]),
                                        method=method, samples=args.samples, seed=args.seed,
                                        layer=args.layer[0] if args.layer else None)
            entry["mask_concentration"] = explain.mask_concentration(
                big, explain.masks_at(model, ds.masks[eval_rows]))
            entry["mask_concentration_n"] = int(len(eval_rows))
            print(f"{method:10s} mask concentration {entry['mask_concentration']:.2f} "
                  f"(1 = uniform; {len(eval_rows)} images)")
        result["methods"][method] = entry
    written.append(_write(out, "saliency.json", result))
    return written


def _ascent(args, model, ds, out):
    from fer_keras import explain, plotting

    layer = _layer(args, explain.first_activation_layer(model))
    row = int(args.index[0]) if args.index else 0
    if not 0 <= row < len(ds):
        raise FerInputError(f"--index {row} is out of range 0..{len(ds) - 1}", entry="--index")
    filters = args.filters or args.n or 64
    written, result = [], {"layer": layer, "steps": args.steps, "row": row}
    for start_name, start in (("noise", "noise"), ("image", ds.images[row])):
        t = time.perf_counter()
        r = explain.filter_ascent(model, layer, filters=filters, steps=args.steps,
                                  start=start, lr=args.lr, seed=args.seed,
                                  progress=args.progress)
        secs = time.perf_counter() - t
        where = "white noise" if start_name == "noise" else f"image #{row}"
        written.append(plotting.filter_grid(
            r["images"], out / f"ascent_{_slug(layer)}_{start_name}.png",
            f"{layer}: {len(r['filters'])} filters, {args.steps} ascent steps from {where}",
            filters=r["filters"]))
        gain = r["final_activation"] - r["start_activation"]
        result[start_name] = {"filters": r["filters"].tolist(),
                              "start_activation": r["start_activation"].tolist(),
                              "final_activation": r["final_activation"].tolist(),
                              "seconds": round(secs, 3)}
        print(f"from {where}: mean activation {r['start_activation'].mean():.3f} -> "
              f"{r['final_activation'].mean():.3f}; raised for {np.mean(gain > 0):.0%} of "
              f"{len(gain)} filters ({secs:.1f} s)")
    written.append(_write(out, "ascent.json", result))
    return written


def _features(args, model, ds, out):
    from fer_keras import explain, plotting

    layer = _layer(args, explain.first_activation_layer(model))
    row = int(args.index[0]) if args.index else 0
    if not 0 <= row < len(ds):
        raise FerInputError(f"--index {row} is out of range 0..{len(ds) - 1}", entry="--index")
    maps = explain.feature_maps(model, layer, ds.images[row])
    p1 = plotting.image_grid(ds.images[row][None], out / f"features_input_{row}.png",
                             titles=[_title(ds, row)], ncols=1, cell=2.5)
    p2 = plotting.feature_map_grid(maps, out / f"features_{_slug(layer)}_{row}.png",
                                   f"{layer}: output of each of its {len(maps)} filters for "
                                   f"image #{row}")
    j = _write(out, "features.json",
               {"layer": layer, "row": row, "shape": list(maps.shape),
                "mean_per_filter": maps.mean(axis=(1, 2)).round(5).tolist()})
    return [p1, p2, j]


def _lime(args, model, ds, out):
    from fer_keras import explain, plotting

    rows = _pick(ds, args, 1)
    written, result = [], {}
    for i in rows:
        t = time.perf_counter()
        r = explain.lime_explanation(model, ds.images[i], num_samples=args.num_samples,
                                     n_segments=args.segments, seed=args.seed)
        secs = time.perf_counter() - t
        written.append(plotting.lime_panels(ds.images[i], r, out / f"lime_{int(i)}.png",
                                            suptitle=f"LIME, {_title(ds, i)}"))
        result[str(int(i))] = {"label": None if ds.labels is None else int(ds.labels[i]),
                               "n_segments": r["n_segments"], "probs": r["probs"].tolist(),
                               "fit_r2": r["score"].tolist(),
                               "weights": r["weights"].round(5).tolist(),
                               "seconds": round(secs, 3)}
        print(f"#{int(i)}: {r['n_segments']} superpixels, {args.num_samples} samples in "
              f"{secs:.2f} s")
    written.append(_write(out, "lime.json", result))
    return written


def _tsne(args, model, ds, out):
    from fer_keras import explain, plotting

    labels = _need_labels(ds, "tsne")
    n = min(args.n or 1000, len(ds))
    rng = np.random.default_rng(args.seed)
    rows = np.sort(rng.choice(len(ds), n, replace=False))
    layers = args.layer or [explain.first_conv_layer(model), explain.last_hidden_layer(model)]
    written, result = [], {"n": int(n)}
    for layer in layers:
        t = time.perf_counter()
        r = explain.tsne_embedding(model, layer, ds.images[rows], labels[rows],
                                   perplexity=args.perplexity, seed=args.seed)
        secs = time.perf_counter() - t
        written.append(plotting.tsne_scatter(
            r["embedding"], labels[rows], out / f"tsne_{_slug(layer)}.png",
            f"t-SNE of {layer} ({n} images)", score=r["silhouette"]))
        result[layer] = {"silhouette": r["silhouette"],
                         "silhouette_features": r["silhouette_features"],
                         "perplexity": r["perplexity"], "seconds": round(secs, 3)}
        print(f"{layer:14s} silhouette {r['silhouette']:+.3f} (embedding), "
              f"{r['silhouette_features']:+.3f} (features); {secs:.1f} s")
    written.append(_write(out, "tsne.json", result))
    return written


def _checks(args, model, ds, out):
    from fer_keras import explain, plotting

    labels = _need_labels(ds, "checks")
    n = min(args.n or 100, len(ds))
    # a seeded sample: the first rows of an image folder are all of one class
    rows = np.sort(np.random.default_rng(args.seed).choice(len(ds), n, replace=False))
    masks = None if ds.masks is None else explain.masks_at(model, ds.masks[rows])
    result = explain.run_checks(model, ds.images[rows], contract.of(model).from_fer(labels[rows]), methods=_methods(args),
                                masks=masks, samples=args.samples, seed=args.seed,
                                cam_layers=args.layer or (),
                                log=lambda line: print(line, flush=True))
    print(explain.checks_table(result))
    curves = {k: {**e, **e["curves"]} for k, e in {**result["methods"],
                                                   **result["controls"]}.items()}
    return [plotting.deletion_insertion_curves(curves, out / "deletion_insertion.png"),
            plotting.road_curves(curves, out / "road.png"),
            plotting.cascading_randomization(
                {m: e["cascade"] for m, e in result["methods"].items()},
                out / "cascading_randomization.png", result["rules"]["sanity_max_spearman"]),
            _write(out, "checks.json", result)]


def _slug(name):
    return "".join(ch if ch.isalnum() or ch in "-_" else "p" for ch in name)


_COMMANDS = {"confusion": _confusion, "saliency": _saliency, "ascent": _ascent,
             "features": _features, "lime": _lime, "tsne": _tsne, "checks": _checks}
