"""``fer-keras export``: a model as ONNX or TFLite, checked against Keras."""
from __future__ import annotations


def add_export(sub):
    """``fer-keras export MODEL --format onnx|tflite [--int8] --out FILE [--data DIR]``."""
    from fer_keras.export import FORMATS

    e = sub.add_parser("export", help="export a model to ONNX or TFLite (float or int8)")
    e.add_argument("model", help="a .keras file, or 'pretrained' for the shipped model")
    e.add_argument("--format", required=True, choices=FORMATS, help="the file format")
    e.add_argument("--int8", action="store_true", help="tflite: post-training int8 quantisation")
    e.add_argument("--out", required=True, help="the file to write (.onnx / .tflite)")
    e.add_argument("--data", help="FER2013 data: train images calibrate --int8; the export is "
                   "then checked against Keras on the validation split (PublicTest) "
                   "(default: no check; --int8 needs it)")
    e.set_defaults(func=cmd_export)


def cmd_export(args):
    from fer_keras import data, models
    from fer_keras.export import check, export

    model = models.pretrained() if args.model == "pretrained" else \
        models.load_classifier(args.model)[0]
    splits = data.load_splits(args.data) if args.data else None
    rep = splits["train"].x() if splits else None
    path = export(model, args.out, args.format, int8=args.int8, representative=rep)
    print(f"written: {path} ({path.stat().st_size / 2 ** 20:.2f} MiB)")
    if splits and len(splits["val"]):
        r = check(model, path, splits["val"].x(), splits["val"].labels)
        print(f"check on {r['n']} validation images: top-1 agreement with Keras "
              f"{100 * r['agreement']:.2f}%, accuracy {100 * r['export_accuracy']:.2f}% "
              f"(Keras {100 * r['keras_accuracy']:.2f}%)")
    return 0
