"""``fer-keras predict``: faces in a photo, folder or video (:mod:`fer_keras.faces.media`), or
a Kaggle submission ``id,label`` for ``--data`` (:func:`fer_keras.train.evaluate.write_submission`)."""
from __future__ import annotations

from fer_keras.cli.common import (
    MODEL_HELP,
    add_contract_flags,
    add_data_args,
    add_force,
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
    e.add_argument("input", nargs="?", help="a photo, a folder of photos/videos, a video, a "
                   "camera index (0: the first webcam, read until Ctrl-C), or (--engine ray) a "
                   ".txt list of them, one a line (without it: --data, the Kaggle id,label "
                   "submission)")
    e.add_argument("--faces-are-crops", dest="detect", action="store_false",
                   help="the images are face crops already (FER2013's, a dataset's): no face "
                   "detection, each whole image is one face and gets one row")
    e.add_argument("--every", type=int, default=1, metavar="N",
                   help="videos: analyse every N-th frame")
    e.add_argument("--window", type=int, default=10, metavar="N",
                   help="videos: average each face's probabilities over its last N analysed frames")
    e.add_argument("--no-progress", dest="progress", action="store_false",
                   help="videos and folders: no progress bar (default: a video's bar, and a "
                   "folder's when stderr is a terminal)")
    e.add_argument("--verbose", action="store_true",
                   help="folders: the progress bar on stderr even when it is not a terminal")
    e.add_argument("--out", help="required (no default): a folder for photos and videos "
                   "(annotated copies, faces.csv), or the submission CSV for --data")
    e.add_argument("--tta", choices=TTA_MODES, default="none", help="test-time augmentation: none, flip (the mirror image averaged in) or crops (the image and four 2-pixel shifts, each also mirrored)")
    e.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="photos and videos: local (this process) or ray (a pool of Ray actors on "
                   "a cluster, the extra fer_keras[ray], docs/cluster.md: Parquet shards, a "
                   "manifest that a rerun resumes from, an errors table; no annotated copies)")
    e.add_argument("--address", help="--engine ray: the Ray cluster (auto, or ray://HOST:10001);"
                   " default a local one on this machine")
    e.add_argument("--workers", type=positive_int, metavar="N",
                   help="--engine ray: recognizer actors (each loads the model once); default "
                   "one per CPU of the cluster")
    add_data_args(e, run_defaults=True)
    add_force(e)
    e.set_defaults(func=cmd_predict, backend=False)  # cmd_predict imports it when needed


#: Flags of one use of ``predict`` that the other does not take: (dest, flag, value that means
#: "not given").
_MEDIA_ONLY = (("every", "--every", 1), ("window", "--window", 10), ("progress", "--no-progress",
                                                                     True),
               ("verbose", "--verbose", False), ("detect", "--faces-are-crops", True),
               ("engine", "--engine", "local"), ("address", "--address", None),
               ("workers", "--workers", None))
_DATA_ONLY = (("data", "--data", None), ("seed", "--seed", None),
              ("n_synthetic", "--n-synthetic", None), ("resize", "--resize", False))


def _refuse(args, flags, why):
    for dest, flag, unset in flags:
        if getattr(args, dest) != unset:
            raise FerInputError(f"fer-keras predict: {flag} {why}")


def cmd_predict(args):
    from fer_keras.fileio import check_free, check_not_input

    if not args.out:
        raise FerInputError("fer-keras predict: --out is required (a folder for photos and "
                            "videos; the submission CSV for --data)")
    if args.input:  # a photo, folder or video
        from fer_keras.faces.media import camera_index, collect, predict_media

        _refuse(args, _DATA_ONLY, "applies to --data (a Kaggle submission), not to photos and "
                "videos")
        if args.engine == "ray":
            return _predict_ray(args)
        _refuse(args, _MEDIA_ONLY[6:], "applies to --engine ray")
        if args.verbose and not args.progress:
            raise FerInputError("fer-keras predict: --verbose shows the progress bar that "
                                "--no-progress hides; give one of them")
        if camera_index(args.input) is None:
            collect(args.input)  # a missing input fails before the model loads
        model = load_model_arg(args, exported=True)[0]
        return predict_media(args.input, args.out, model=model, every=args.every,
                             window=args.window, tta=args.tta,
                             progress=True if args.verbose else None if args.progress else False,
                             detect=args.detect)
    _refuse(args, _MEDIA_ONLY, "applies to photos and videos (predict PHOTO|FOLDER|VIDEO), not "
            "to --data")
    quiet_backend_import()
    from fer_keras.data.loading import load
    from fer_keras.train import evaluate
    args.data = args.data or "synthetic"
    if args.data != "synthetic":
        _refuse(args, _DATA_ONLY[1:3], "applies to --data synthetic only")
    check_not_input(args.out, args.data, args.model)
    check_free(args.out)
    # bad rows and ids fail before the model loads
    ds = load(args.data, resize=args.resize, seed=args.seed or 0,
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

    if not args.detect:
        raise FerInputError("fer-keras predict: --faces-are-crops applies to --engine local")
    if importlib.util.find_spec("ray") is None:
        raise FerInputError(distributed.INSTALL_HINT)
    from fer_keras.train.evaluate import check_tta

    check_tta(args.tta, photos=True)  # before Ray starts: the actors' recognizers take it
    distributed.list_inputs(args.input)  # a missing input fails before Ray starts
    import os

    model = os.path.abspath(args.model) if args.model and os.path.exists(args.model) \
        else args.model  # the actors may run in another folder
    spec = distributed.RecognizerSpec(model=model, input_range=args.input_range,
                                      classes=args.classes, tta=args.tta)
    settings = distributed.Settings(every=args.every, window=args.window)
    return distributed.run(args.input, args.out, spec=spec, settings=settings,
                           address=args.address, workers=args.workers,
                           progress=True if args.verbose else None if args.progress else False)
