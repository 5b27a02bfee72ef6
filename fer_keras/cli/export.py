"""``fer-keras export``: a model as ONNX or TFLite, checked against Keras."""
from __future__ import annotations

from pathlib import Path

from fer_keras.errors import FerInputError


def add_export(sub):
    """``fer-keras export MODEL --format onnx|tflite [--int8] --out FILE [--data DIR]
    [--input-range LOW,HIGH] [--classes NAME,...]``."""
    from fer_keras.cli.common import MODEL_HELP, add_contract_flags, add_force
    from fer_keras.models.export import FORMATS

    e = sub.add_parser("export", help="export a model to ONNX or TFLite (float or int8)")
    e.add_argument("model", help=MODEL_HELP)
    add_contract_flags(e)
    e.add_argument("--format", required=True, choices=FORMATS, help="the file format")
    e.add_argument("--int8", action="store_true", help="tflite: post-training int8 quantisation")
    e.add_argument("--out", required=True, help="the file to write (.onnx / .tflite)")
    e.add_argument("--data", help="FER2013 data: train images calibrate --int8; the export is "
                   "then checked against Keras on the validation split (PublicTest), or on "
                   "every image of data with no such split (default: no check; --int8 needs it)")
    e.add_argument("--resize", action="store_true",
                   help="--data: resize images that are not 48x48 instead of rejecting them")
    add_force(e)
    e.set_defaults(func=cmd_export)


def cmd_export(args):
    from fer_keras import models
    from fer_keras.cli.common import load_model_arg
    from fer_keras.data.loading import load
    from fer_keras.fileio import check_free, check_not_input
    from fer_keras.models import shipped
    from fer_keras.models.export import SUFFIXES, check, export

    pretrained = args.model in (None, models.PRETRAINED)
    check_not_input(args.out, None if pretrained else args.model, args.data)
    check_free(args.out)
    if Path(args.out).suffix.lower() != SUFFIXES[args.format]:  # before the model loads
        raise FerInputError(f"--format {args.format} writes a {SUFFIXES[args.format]} file: "
                            f"name --out {Path(args.out).with_suffix(SUFFIXES[args.format]).name}",
                            file=args.out)
    model, c = load_model_arg(args)
    ds = load(args.data, resize=args.resize) if args.data else None
    if ds is not None and ds.labels is None:
        raise FerInputError("these images have no labels, so the export cannot be checked "
                            "against them", file=args.data)
    usage = ds.usage if ds is not None else None
    split = ds is not None and (usage == "Training").any() and (usage == "PublicTest").any()
    calib = ds.subset(usage == "Training") if split else ds
    held = ds.subset(usage == "PublicTest") if split else ds
    # the exported model takes what the Keras model takes: the contract's images
    rep = c.prepare(calib.images) if calib is not None and args.int8 else None
    source = shipped.model_path() if pretrained else Path(args.model)
    path = export(model, args.out, args.format, int8=args.int8, representative=rep,
                  source=source if source.is_file() else None)
    print(f"written: {path} ({path.stat().st_size / 2 ** 20:.2f} MiB); input (N, {c.height}, "
          f"{c.width}, {c.channels}) float32 in [{c.input_range[0]:g}, {c.input_range[1]:g}]"
          f"{' (mean/std)' if c.mean is not None else ''}, outputs {', '.join(c.classes)}")
    if held is not None and len(held):
        r = check(model, path, held.images, held.labels, contract=c)
        what = "validation (PublicTest)" if split else "labelled"
        print(f"check on {r['n']} {what} images: top-1 agreement with Keras "
              f"{100 * r['agreement']:.2f}%, accuracy {100 * r['export_accuracy']:.2f}% "
              f"(Keras {100 * r['keras_accuracy']:.2f}%)")
    return 0
