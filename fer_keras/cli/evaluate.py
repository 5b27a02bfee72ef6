"""``fer-keras evaluate``, ``fer-keras predict`` and ``fer-keras summary``."""
from __future__ import annotations

import os

from fer_keras import contract
from fer_keras.cli.common import add_data_args
from fer_keras.errors import FerInputError

_MODEL_HELP = ("a .keras file (e.g. runs/NAME/best.keras), a Keras 2 .h5/.hdf5 file or a "
               "TensorFlow SavedModel folder")


def add_evaluate_and_predict(sub):
    from fer_keras.evaluate import TTA_MODES

    for name, func, helptext in (("evaluate", cmd_evaluate, "accuracy, per-class metrics, confusion"),
                                 ("predict", cmd_predict, "faces in a photo, folder or video; or a "
                                  "Kaggle submission id,label (--data)")):
        e = sub.add_parser(name, help=helptext)
        e.add_argument("--model", required=name != "predict",
                       help=_MODEL_HELP + ("; default the shipped model" if name == "predict"
                                           else ""))
        contract.add_flags(e)
        if name == "predict":
            from fer_keras.predict_media import add_arguments

            add_arguments(e)
        e.add_argument("--out")
        e.add_argument("--tta", choices=TTA_MODES, default="none")
        add_data_args(e, run_defaults=True)
        e.add_argument("--all-splits", action="store_true", help="also evaluate the train split")
        e.set_defaults(func=func)


def add_summary(sub):
    from fer_keras.evaluate import TTA_MODES

    s = sub.add_parser("summary", help="accuracy table of run folders (best.keras, with TTA)")
    s.add_argument("runs", nargs="+", help="run folders written by fer-keras train, or model "
                   "files")
    contract.add_flags(s)
    s.add_argument("--tta", choices=TTA_MODES, default=TTA_MODES[-1],
                   help=f"score with test-time augmentation up to this mode (default "
                        f"{TTA_MODES[-1]}: {', '.join(TTA_MODES)})")
    add_data_args(s, run_defaults=True)
    s.set_defaults(func=cmd_summary)


def _load_eval_data(args, default_splits=("val", "test")):
    from fer_keras.evaluate import run_splits

    # the split of the run that holds the model (its config.json), not the defaults
    splits = run_splits(os.path.dirname(os.path.abspath(args.model)), args.data, args.seed,
                        args.resize or None, args.n_synthetic)
    return {k: v for k, v in splits.items() if k in default_splits or args.all_splits}


def cmd_evaluate(args):
    from fer_keras import evaluate, models
    from fer_keras.io import check_not_input

    out = args.out or os.path.join(os.path.dirname(os.path.abspath(args.model)), "evaluation.json")
    check_not_input(out, args.data, args.model)
    model = models.load_classifier(args.model, args=args)[0]
    splits = _load_eval_data(args)
    res = evaluate.evaluate_model(model, splits, tta=args.tta, out=out)
    for split, entry in res.items():
        for kind, m in entry.items():
            print(f"{split:6s} {kind:10s} accuracy {m['accuracy']:.4f}  (n={m['n']})")
    print(f"written: {out}")
    return 0


def cmd_predict(args):
    from fer_keras import data, evaluate, models
    from fer_keras.io import check_not_input

    if not args.out:
        raise FerInputError("fer-keras predict: --out is required (a folder for photos and "
                            "videos; the submission CSV for --data)")
    if args.input:  # a photo, folder or video: fer_keras.predict_media
        from fer_keras.predict_media import cmd_predict_media

        return cmd_predict_media(args)
    args.data = args.data or "synthetic"
    check_not_input(args.out, args.data, args.model)
    ds = data.load(args.data, resize=args.resize)  # bad rows and ids fail before the model loads
    model = (models.load_classifier(args.model, args=args)[0] if args.model
             else models.pretrained())
    evaluate.write_submission(model, ds, args.out, tta=args.tta)
    print(f"written: {args.out} ({len(ds)} rows)")
    return 0


def cmd_summary(args):
    from fer_keras import evaluate

    modes = evaluate.TTA_MODES
    tta = list(modes[1:modes.index(args.tta) + 1])  # every mode up to --tta, after "none"
    rows, cache = [], {}
    for run in args.runs:  # each run scored on its own validation split (its config.json)
        splits = evaluate.run_splits(run, args.data, args.seed, args.resize or None,
                                     args.n_synthetic, cache)
        if len(splits["val"]) == 0:
            raise FerInputError("no validation split to score the run on", file=run)
        rows.append(evaluate.summarize_run(run, splits, tta_modes=tta, contract_args=args))
    print(evaluate.summary_markdown(rows), end="")
    return 0
