"""``fer-keras predict``: faces in a photo, folder or video (:mod:`fer_keras.predict_media`), or
a Kaggle submission ``id,label`` for ``--data`` (:func:`fer_keras.evaluate.write_submission`)."""
from __future__ import annotations

from fer_keras.cli.common import (MODEL_HELP, add_contract_flags, add_data_args, load_model_arg,
                                  quiet_backend_import)
from fer_keras.errors import FerInputError


def add_predict(sub):
    from fer_keras.evaluate import TTA_MODES  # light: fer_keras.evaluate imports Keras lazily

    e = sub.add_parser("predict", help="faces in a photo, folder or video; or a Kaggle "
                       "submission id,label (--data)")
    e.add_argument("--model", required=False, help=MODEL_HELP + "; default the shipped model")
    add_contract_flags(e)
    e.add_argument("input", nargs="?", help="a photo, a folder of photos/videos, or a video "
                   "(without it: --data, the Kaggle id,label submission)")
    e.add_argument("--every", type=int, default=1, metavar="N",
                   help="videos: analyse every N-th frame")
    e.add_argument("--window", type=int, default=10, metavar="N",
                   help="videos: average each face's probabilities over its last N analysed frames")
    e.add_argument("--no-progress", dest="progress", action="store_false",
                   help="videos and folders: no progress bar")
    e.add_argument("--out", help="required (no default): a folder for photos and videos "
                   "(annotated copies, faces.csv), or the submission CSV for --data")
    e.add_argument("--tta", choices=TTA_MODES, default="none", help="test-time augmentation: none, flip (the mirror image averaged in) or crops (the image and four 2-pixel shifts, each also mirrored)")
    add_data_args(e, run_defaults=True)
    e.set_defaults(func=cmd_predict, backend=False)  # cmd_predict imports it when needed


#: Flags of one use of ``predict`` that the other does not take: (dest, flag, value that means
#: "not given").
_MEDIA_ONLY = (("every", "--every", 1), ("window", "--window", 10), ("progress", "--no-progress",
                                                                     True))
_DATA_ONLY = (("data", "--data", None), ("seed", "--seed", None),
              ("n_synthetic", "--n-synthetic", None), ("resize", "--resize", False))


def _refuse(args, flags, why):
    for dest, flag, unset in flags:
        if getattr(args, dest) != unset:
            raise FerInputError(f"fer-keras predict: {flag} {why}")


def cmd_predict(args):
    from fer_keras.io import check_not_input

    if not args.out:
        raise FerInputError("fer-keras predict: --out is required (a folder for photos and "
                            "videos; the submission CSV for --data)")
    if args.input:  # a photo, folder or video
        from fer_keras import shipped
        from fer_keras.predict_media import collect, predict_media

        _refuse(args, _DATA_ONLY, "applies to --data (a Kaggle submission), not to photos and "
                "videos")
        collect(args.input)  # a missing input fails before the model loads
        model = None  # the shipped model's ONNX export, run without TensorFlow
        if args.model or args.input_range or args.classes \
                or shipped.onnx_classifier(quiet=True) is None:
            quiet_backend_import()  # Keras will load the model: silence TensorFlow's start-up
            model = load_model_arg(args)[0]
        return predict_media(args.input, args.out, model=model, every=args.every,
                             window=args.window, progress=args.progress, tta=args.tta)
    _refuse(args, _MEDIA_ONLY, "applies to photos and videos (predict PHOTO|FOLDER|VIDEO), not "
            "to --data")
    quiet_backend_import()
    from fer_keras import data, evaluate
    args.data = args.data or "synthetic"
    if args.data != "synthetic":
        _refuse(args, _DATA_ONLY[1:3], "applies to --data synthetic only")
    check_not_input(args.out, args.data, args.model)
    # bad rows and ids fail before the model loads
    ds = data.load(args.data, resize=args.resize, seed=args.seed or 0,
                   n_synthetic=args.n_synthetic or 3000)
    model = load_model_arg(args)[0]
    evaluate.write_submission(model, ds, args.out, tta=args.tta)
    print(f"written: {args.out} ({len(ds)} rows)")
    return 0
