"""``fer-keras export``: a model as ONNX or TFLite, checked against Keras."""
from __future__ import annotations

from pathlib import Path

from fer_keras.errors import FerInputError


def add_export(sub):
    """``fer-keras export MODEL --format onnx|tflite [--int8] --out FILE [--data DIR]``."""
    from fer_keras.export import FORMATS

    e = sub.add_parser("export", help="export a model to ONNX or TFLite (float or int8)")
    e.add_argument("model", help="a .keras file, or 'pretrained' for the shipped model")
    e.add_argument("--format", required=True, choices=FORMATS)
    e.add_argument("--int8", action="store_true", help="tflite: post-training int8 quantisation")
    e.add_argument("--out", required=True, help="the file to write (.onnx / .tflite)")
    e.add_argument("--data", help="FER2013 data: train images calibrate --int8; the export is "
                   "then checked against Keras on the validation split (PublicTest)")
    e.set_defaults(func=cmd_export)


def cmd_export(args):
    from fer_keras import data, models
    from fer_keras.export import SUFFIXES, check, export
    from fer_keras.io import check_not_input

    check_not_input(args.out, None if args.model == "pretrained" else args.model, args.data)
    if Path(args.out).suffix.lower() != SUFFIXES[args.format]:  # before the model loads
        raise FerInputError(f"--format {args.format} writes a {SUFFIXES[args.format]} file: "
                            f"name --out {Path(args.out).with_suffix(SUFFIXES[args.format]).name}",
                            file=args.out)
    model = models.pretrained() if args.model == "pretrained" else \
        models.load_classifier(args.model)[0]
    splits = data.load_splits(args.data) if args.data else None
    rep = splits["train"].x() if splits else None
    from fer_keras import shipped

    source = shipped.model_path() if args.model == "pretrained" else Path(args.model)
    path = export(model, args.out, args.format, int8=args.int8, representative=rep,
                  source=source if source.is_file() else None)
    print(f"written: {path} ({path.stat().st_size / 2 ** 20:.2f} MiB)")
    if splits and len(splits["val"]):
        r = check(model, path, splits["val"].x(), splits["val"].labels)
        print(f"check on {r['n']} validation images: top-1 agreement with Keras "
              f"{100 * r['agreement']:.2f}%, accuracy {100 * r['export_accuracy']:.2f}% "
              f"(Keras {100 * r['keras_accuracy']:.2f}%)")
    return 0
