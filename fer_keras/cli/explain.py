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
from pathlib import Path

import numpy as np

from fer_keras import CLASS_NAMES
from fer_keras.cli.common import (
    EXIT_USAGE,
    Parser,
    add_contract_flags,
    add_data_args,
    load_model_arg,
    positive_int,
)
from fer_keras.errors import FerInputError

WHATS = ("confusion", "saliency", "ascent", "features", "lime", "tsne", "checks")


def add_explain(sub):
    from fer_keras.analyses import checks, filters, lime, saliency, tsne
    from fer_keras.explain import methods

    p = sub.add_parser("explain", help="explain a trained model: confusion, saliency, ascent, "
                                       "features, lime, tsne, checks")
    what = p.add_subparsers(dest="what", parser_class=Parser)
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
        q.add_argument("--model", required=name != "saliency",
                       help="a .keras file (e.g. runs/NAME/best.keras), a Keras 2 .h5/.hdf5 file "
                            "or a TensorFlow SavedModel folder" + (
                                "; required, except with --image (default there: the shipped "
                                "model)" if name == "saliency" else ""))
        add_contract_flags(q)
        q.add_argument("--split", default="val", choices=["train", "val", "test"],
                       help="which split to explain (default val)")
        q.add_argument("--out", help="output folder (default: explain/ next to the model)")
        add_data_args(q)
        q.set_defaults(data=None)  # not given: the run's config.json, else synthetic with a note
        q.add_argument("--layer", action="append",
                       help="layer name (tsne: repeat for several layers; checks: also check "
                            f"the methods that read a layer ({', '.join(methods.layer_names())}) "
                            "at this layer; default: each analysis picks its layer, e.g. the "
                            "last convolution)")
        q.add_argument("--n", type=positive_int,
                       help="images: per class (saliency, lime; default 1) or in all (tsne, "
                            f"default {tsne.Settings.n}; checks, default "
                            f"{checks.Settings.n})")
        q.add_argument("--index", type=int, action="append",
                       help="row of the split to explain (repeatable; default: the first "
                            "image of each class, or row 0)")
        if name in ("saliency", "checks"):
            q.add_argument("--method", action="append", choices=methods.names(),
                           help="saliency method (repeatable; default all: "
                                f"{', '.join(methods.names())})")
            q.add_argument("--samples", type=positive_int, default=saliency.Settings.samples,
                           help="SmoothGrad samples")
        if name == "saliency":
            q.add_argument("--image", metavar="PHOTO",
                           help="explain each face found in this photo instead of images of "
                                "--data: the annotated photo and one row of maps per face "
                                "(default: none)")
        if name == "ascent":
            q.add_argument("--steps", type=positive_int, default=filters.Settings.steps,
                           help="gradient-ascent steps")
            q.add_argument("--filters", type=positive_int,
                           help=f"how many filters (default {filters.Settings.filters}; --n "
                                "means the same)")
            q.add_argument("--lr", type=float,
                           help="gradient-ascent step size (default 0.05 from noise, 0.01 "
                                "from an image)")
            q.add_argument("--no-progress", dest="progress", action="store_false",
                           help="no progress bar")
        if name == "lime":
            q.add_argument("--num-samples", type=positive_int, default=lime.Settings.num_samples,
                           help="perturbed images LIME scores per explanation")
            q.add_argument("--segments", type=positive_int, default=lime.Settings.segments,
                           help="about how many SLIC superpixels")
        if name == "tsne":
            q.add_argument("--perplexity", type=float, default=tsne.Settings.perplexity,
                           help="t-SNE perplexity")
        q.set_defaults(func=cmd_explain)
    p.set_defaults(func=lambda args: _usage(p))


def _usage(parser):
    parser.print_help()
    return EXIT_USAGE


# --------------------------------------------------------------------------- shared
def _data_of(args):
    """``--data``; not given: the data in the run's ``config.json`` beside ``--model``, else the
    synthetic faces, with a one-line note (a user's model explained on cartoon faces is rarely
    what was meant), kept in ``args.data_note`` and printed once the command has succeeded, so
    that a mistake found later is still the only line on stderr."""
    if args.data is not None:
        return args.data
    config = Path(os.path.abspath(args.model)).parent / "config.json"
    if config.is_file():
        from fer_keras.config import TrainConfig

        return TrainConfig.load(config).data
    args.data_note = (f"note: no --data and no run config.json beside {args.model}: explained "
                      "it on the built-in synthetic faces; pass --data PATH (fer2013.csv, "
                      "train.csv or an image folder) for real faces")
    return "synthetic"


def _setup(args):
    from fer_keras import data

    model = load_model_arg(args)[0]
    splits = data.load_splits(_data_of(args), seed=args.seed, resize=args.resize,
                              n_synthetic=args.n_synthetic)
    ds = splits.get(args.split)
    if ds is None or len(ds) == 0:
        have = ", ".join(k for k, v in splits.items() if len(v))
        raise FerInputError(f"split {args.split!r} is empty in this data; non-empty: {have}",
                            entry="--split")
    out = Path(args.out or Path(os.path.dirname(os.path.abspath(args.model))) / "explain")
    from fer_keras.fileio import check_out_dir

    check_out_dir(out)
    return model, ds, out


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


def _row(args, ds):
    row = int(args.index[0]) if args.index else 0
    if not 0 <= row < len(ds):
        raise FerInputError(f"--index {row} is out of range 0..{len(ds) - 1}", entry="--index")
    return row


def _methods(args):
    from fer_keras.explain import methods

    return tuple(dict.fromkeys(args.method)) if args.method else methods.names()


#: The shared flags each subcommand has no use for: given, they are refused (not ignored).
_UNUSED = {"confusion": ("layer", "n", "index"), "lime": ("layer", "n"), "tsne": ("index",),
           "checks": ("index",)}


def _refuse_unused(args):
    for dest in _UNUSED.get(args.what, ()):
        if getattr(args, dest):
            flag = "--" + dest.replace("_", "-")
            raise FerInputError(f"fer-keras explain {args.what}: {flag} does not apply to it")
    if args.index and args.n and args.what not in _UNUSED:
        raise FerInputError(f"fer-keras explain {args.what}: --n and --index choose the images "
                            "two ways; give one")


# --------------------------------------------------------------------------- commands
def cmd_explain(args):
    if args.what == "saliency" and getattr(args, "image", None):
        return _photo(args)
    if not args.model:
        raise FerInputError(f"fer-keras explain {args.what}: --model is required (saliency: or "
                            "--image PHOTO to explain the faces of a photo)", entry="--model")
    _refuse_unused(args)
    model, ds, out = _setup(args)
    res = _COMMANDS[args.what](args, model, ds, out)
    for path in res.files:
        print(f"written: {path}")
    if getattr(args, "data_note", None):
        import sys

        print(args.data_note, file=sys.stderr)
    return 0


def _photo(args):
    """``explain saliency --image PHOTO``: :func:`fer_keras.faces.photo_explain.explain_photo`."""
    from fer_keras import faces
    from fer_keras.faces import detectors, photo_explain
    from fer_keras.fileio import check_out_dir

    if args.data is not None or args.index or args.n:
        raise FerInputError("fer-keras explain saliency: --image explains the faces of a photo; "
                            "it takes no --data, --index or --n")
    from fer_keras import models

    # the gradients need a Keras model: the shipped .keras, not the ONNX export Recognizer() runs
    model = load_model_arg(args)[0] if args.model else models.pretrained()
    rec = faces.Recognizer(model, detector=detectors.HaarDetector(quiet=True))
    out = Path(args.out or Path(os.path.dirname(os.path.abspath(args.image))) / "explain")
    check_out_dir(out)
    settings = photo_explain.Settings(methods=_methods(args), samples=args.samples,
                                      layer=args.layer[0] if args.layer else None,
                                      seed=args.seed)
    res = photo_explain.explain_photo(args.image, settings=settings, out=out, recognizer=rec)
    for i, r in enumerate(res["faces"]):
        x, y, w, h = r["box"]
        print(f"face {i} at x={x} y={y} ({w}x{h}): {r['label']} {r['scores'][r['label']]:.2f}")
    for path in res["files"]:
        print(f"written: {path}")
    return 0


def _confusion(args, model, ds, out):
    from fer_keras.analyses import confusion

    res = confusion.run(model, ds, confusion.Settings(), out)
    m = res.numbers
    print(f"accuracy {m['accuracy']:.4f} on {m['n']} images ({args.split})")
    print("most confused (true -> predicted, share of the true class):")
    for t, p, share in m["top_confusions"]:
        print(f"  {t:9s} -> {p:9s} {share:.3f}")
    return res


def _saliency(args, model, ds, out):
    from fer_keras.analyses import saliency
    from fer_keras.train import evaluate

    rows = _pick(ds, args, 1)
    probs = evaluate.predict_proba(model, ds.images)
    classes = ds.labels[rows] if ds.labels is not None else probs[rows].argmax(axis=1)
    picks = {int(c): rows[classes == c] for c in dict.fromkeys(classes.tolist())}
    settings = saliency.Settings(methods=_methods(args), samples=args.samples,
                                 layer=args.layer[0] if args.layer else None, seed=args.seed)
    res = saliency.run(model, ds, settings, out, picks=picks, probs=probs)
    for method, entry in res.numbers["methods"].items():
        for cname, e in entry["classes"].items():
            part = (f", true parts {e['part_mask_concentration']:.2f}"
                    if "part_mask_concentration" in e else "")
            print(f"{method:10s} {cname:9s} focus: {e['focus']}; eyes {e['eyes']:.2f}, mouth "
                  f"{e['mouth']:.2f}{part} (1 = uniform; {e['images']} images)")
    return res


def _filters(args, model, ds, out, part):
    from fer_keras.analyses import filters

    ascent = dict(filters=args.filters or args.n or filters.Settings.filters, steps=args.steps,
                  lr=args.lr, progress=args.progress) if part == "ascent" else {}
    settings = filters.Settings(parts=(part,), seed=args.seed, **ascent)
    res = filters.run(model, ds, settings, out, layer=args.layer[0] if args.layer else None,
                      row=_row(args, ds))
    m = res.numbers
    if part == "ascent":
        for start in ("noise", "image"):
            e = m[start]
            print(f"from {start}: mean activation {e['start_activation']:.3f} -> "
                  f"{e['final_activation']:.3f}; raised for {e['share_increased']:.0%} of "
                  f"{m['filters']} filters ({e['seconds']:.1f} s)")
    else:
        k = m["feature_maps"]
        print(f"{m['layer']}: {k['channels']} maps of {k['shape'][0]}x{k['shape'][1]} for image "
              f"#{m['row']}: {k['keep_face']} keep the face, {k['invert_face']} invert it, "
              f"{k['other']} other, {k['dead']} silent")
    return res


def _lime(args, model, ds, out):
    from fer_keras.analyses import lime

    settings = lime.Settings(num_samples=args.num_samples, segments=args.segments, seed=args.seed)
    res = lime.run(model, ds, settings, out, rows=_pick(ds, args, 1))
    for row, e in res.numbers.items():
        print(f"#{row}: {e['n_segments']} superpixels, {args.num_samples} samples in "
              f"{e['seconds']:.2f} s")
    return res


def _tsne(args, model, ds, out):
    from fer_keras.analyses import tsne

    settings = tsne.Settings(n=args.n or tsne.Settings.n, perplexity=args.perplexity,
                             seed=args.seed)
    res = tsne.run(model, ds, settings, out, layers=args.layer)
    for layer, e in res.numbers["layers"].items():
        print(f"{layer:14s} silhouette {e['silhouette']:+.3f} (embedding), "
              f"{e['silhouette_features']:+.3f} (features); {e['seconds']:.1f} s")
    return res


def _checks(args, model, ds, out):
    from fer_keras import explain
    from fer_keras.analyses import checks

    settings = checks.Settings(methods=_methods(args), n=args.n or checks.Settings.n,
                               samples=args.samples, seed=args.seed,
                               cam_layers=tuple(args.layer or ()))
    res = checks.run(model, ds, settings, out, log=lambda line: print(line, flush=True))
    print(explain.checks_table(res.numbers))
    return res


_COMMANDS = {"confusion": _confusion, "saliency": _saliency,
             "ascent": lambda *a: _filters(*a, part="ascent"),
             "features": lambda *a: _filters(*a, part="features"),
             "lime": _lime, "tsne": _tsne, "checks": _checks}
