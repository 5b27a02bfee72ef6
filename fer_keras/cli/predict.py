"""``fer-keras predict``: faces in a photo, folder or video (:mod:`fer_keras.faces.media`), or
a Kaggle submission ``id,label`` for ``--data`` (:func:`fer_keras.train.evaluate.write_submission`)."""
from __future__ import annotations

from fer_keras.cli.common import (
    MODEL_HELP,
    add_contract_flags,
    add_data_args,
    load_model_arg,
    positive_int,
    quiet_backend_import,
)
from fer_keras.errors import FerInputError


def add_predict(sub):
    from fer_keras.train.evaluate import (
        TTA_MODES,  # light: fer_keras.train.evaluate imports Keras lazily
    )

    e = sub.add_parser("predict", help="faces in a photo, folder or video; or a Kaggle "
                       "submission id,label (--data)")
    e.add_argument("--model", required=False, help=MODEL_HELP + "; default the shipped model")
    add_contract_flags(e)
    e.add_argument("input", nargs="?", help="a photo, a folder of photos/videos, a video, or "
                   "(--engine ray) a .txt list of them, one a line (without it: --data, the "
                   "Kaggle id,label submission)")
    e.add_argument("--every", type=int, default=1, metavar="N",
                   help="videos: analyse every N-th frame")
    e.add_argument("--window", type=int, default=10, metavar="N",
                   help="videos: average each face's probabilities over its last N analysed frames")
    e.add_argument("--no-progress", dest="progress", action="store_false",
                   help="videos and folders: no progress bar")
    e.add_argument("--out", help="required (no default): a folder for photos and videos "
                   "(annotated copies, faces.csv), or the submission CSV for --data")
    e.add_argument("--tta", choices=TTA_MODES, default="none", help="test-time augmentation: none, flip (the mirror image averaged in) or crops (the image and four 2-pixel shifts, each also mirrored)")
    e.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="photos and videos: local (this process) or ray (a Ray Data pipeline, "
                   "the extra fer_keras[ray]: Parquet shards, a manifest that a rerun resumes "
                   "from, an errors table; no annotated copies)")
    e.add_argument("--address", help="--engine ray: the Ray cluster (auto, or ray://HOST:10001);"
                   " default a local one on this machine")
    e.add_argument("--workers", type=positive_int, metavar="N",
                   help="--engine ray: recognizer actors (each loads the model once); default "
                   "one per CPU of the cluster")
    add_data_args(e, run_defaults=True)
    e.set_defaults(func=cmd_predict, backend=False)  # cmd_predict imports it when needed


#: Flags of one use of ``predict`` that the other does not take: (dest, flag, value that means
#: "not given").
_MEDIA_ONLY = (("every", "--every", 1), ("window", "--window", 10), ("progress", "--no-progress",
                                                                     True),
               ("engine", "--engine", "local"), ("address", "--address", None),
               ("workers", "--workers", None))
_DATA_ONLY = (("data", "--data", None), ("seed", "--seed", None),
              ("n_synthetic", "--n-synthetic", None), ("resize", "--resize", False))


def _refuse(args, flags, why):
    for dest, flag, unset in flags:
        if getattr(args, dest) != unset:
            raise FerInputError(f"fer-keras predict: {flag} {why}")


def cmd_predict(args):
    from fer_keras.fileio import check_not_input

    if not args.out:
        raise FerInputError("fer-keras predict: --out is required (a folder for photos and "
                            "videos; the submission CSV for --data)")
    if args.input:  # a photo, folder or video
        from fer_keras.faces.media import collect, predict_media
        from fer_keras.models import shipped

        _refuse(args, _DATA_ONLY, "applies to --data (a Kaggle submission), not to photos and "
                "videos")
        if args.engine == "ray":
            return _predict_ray(args)
        _refuse(args, _MEDIA_ONLY[4:], "applies to --engine ray")
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
    from fer_keras import data
    from fer_keras.train import evaluate
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


def _predict_ray(args):
    """``predict FOLDER|LIST.txt --engine ray``: :func:`fer_keras.faces.ray_engine.run`, the model
    loaded once per actor (no Keras import here for the shipped model)."""
    import importlib.util

    from fer_keras.faces import ray_engine as distributed

    if importlib.util.find_spec("ray") is None:
        raise FerInputError(distributed.INSTALL_HINT)
    if args.tta not in ("none", "flip"):
        raise FerInputError(f"fer-keras predict: --tta for photos and videos must be none or "
                            f"flip, got {args.tta!r}")
    distributed.list_inputs(args.input)  # a missing input fails before Ray starts
    import os

    model = os.path.abspath(args.model) if args.model and os.path.exists(args.model) \
        else args.model  # the actors may run in another folder
    spec = distributed.RecognizerSpec(model=model, input_range=args.input_range,
                                      classes=args.classes, tta=args.tta)
    settings = distributed.Settings(every=args.every, window=args.window)
    return distributed.run(args.input, args.out, spec=spec, settings=settings,
                           address=args.address, workers=args.workers, progress=args.progress)
