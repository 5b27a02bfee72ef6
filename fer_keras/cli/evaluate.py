"""``fer-keras evaluate``, ``fer-keras predict`` and ``fer-keras summary``."""
from __future__ import annotations

import os

from fer_keras.cli.common import add_data_args
from fer_keras.errors import FerInputError


def add_evaluate_and_predict(sub):
    from fer_keras.evaluate import TTA_MODES

    for name, func, helptext in (("evaluate", cmd_evaluate, "accuracy, per-class metrics, confusion"),
                                 ("predict", cmd_predict, "write a Kaggle submission id,label")):
        e = sub.add_parser(name, help=helptext)
        e.add_argument("--model", required=True, help="a .keras file (e.g. runs/NAME/best.keras)")
        e.add_argument("--out")
        e.add_argument("--tta", choices=TTA_MODES, default="none")
        add_data_args(e)
        e.add_argument("--all-splits", action="store_true", help="also evaluate the train split")
        e.set_defaults(func=func)


def add_summary(sub):
    from fer_keras.evaluate import TTA_MODES

    s = sub.add_parser("summary", help="accuracy table of run folders (best.keras, with TTA)")
    s.add_argument("runs", nargs="+", help="run folders written by fer-keras train")
    s.add_argument("--tta", choices=TTA_MODES, default=TTA_MODES[-1],
                   help=f"score with test-time augmentation up to this mode (default "
                        f"{TTA_MODES[-1]}: {', '.join(TTA_MODES)})")
    add_data_args(s)
    s.set_defaults(func=cmd_summary)


def _load_eval_data(args, default_splits=("val", "test")):
    from fer_keras import data

    splits = data.load_splits(args.data, seed=args.seed, resize=args.resize,
                              n_synthetic=args.n_synthetic)
    return {k: v for k, v in splits.items() if k in default_splits or args.all_splits}


def cmd_evaluate(args):
    from fer_keras import evaluate, models

    model = models.load(args.model)
    splits = _load_eval_data(args)
    out = args.out or os.path.join(os.path.dirname(os.path.abspath(args.model)), "evaluation.json")
    res = evaluate.evaluate_model(model, splits, tta=args.tta, out=out)
    for split, entry in res.items():
        for kind, m in entry.items():
            print(f"{split:6s} {kind:10s} accuracy {m['accuracy']:.4f}  (n={m['n']})")
    print(f"written: {out}")
    return 0


def cmd_predict(args):
    from fer_keras import data, evaluate, models

    if not args.out:
        raise FerInputError("fer-keras predict: --out is required (the submission CSV)")
    model = models.load(args.model)
    ds = data.load(args.data, resize=args.resize)
    evaluate.write_submission(model, ds, args.out, tta=args.tta)
    print(f"written: {args.out} ({len(ds)} rows)")
    return 0


def cmd_summary(args):
    from fer_keras import data, evaluate

    splits = data.load_splits(args.data, seed=args.seed, resize=args.resize,
                              n_synthetic=args.n_synthetic)
    if len(splits["val"]) == 0:
        raise FerInputError("no validation split to score the runs on", file=args.data)
    modes = evaluate.TTA_MODES
    tta = list(modes[1:modes.index(args.tta) + 1])  # every mode up to --tta, after "none"
    rows = [evaluate.summarize_run(run, splits, tta_modes=tta) for run in args.runs]
    print(evaluate.summary_markdown(rows), end="")
    return 0
