"""``fer-keras evaluate`` and ``fer-keras summary``."""
from __future__ import annotations

import os
from pathlib import Path

from fer_keras.cli.common import (
    MODEL_HELP,
    add_contract_flags,
    add_data_args,
    add_force,
    load_model_arg,
)
from fer_keras.errors import FerInputError


def add_evaluate(sub):
    from fer_keras.train.evaluate import TTA_MODES

    e = sub.add_parser("evaluate", help="accuracy, per-class metrics, confusion")
    e.add_argument("--model", required=True, help=MODEL_HELP)
    add_contract_flags(e)
    e.add_argument("--out", help="the JSON to write (default: evaluation.json next to the "
                   "model)")
    e.add_argument("--tta", choices=TTA_MODES, default="none", help="test-time augmentation: none, flip (the mirror image averaged in) or crops (the image and four 2-pixel shifts, each also mirrored)")
    add_data_args(e, run_defaults=True)
    e.add_argument("--all-splits", action="store_true", help="also evaluate the train split")
    add_force(e)
    e.set_defaults(func=cmd_evaluate)


def add_summary(sub):
    from fer_keras.train.evaluate import TTA_MODES

    s = sub.add_parser("summary", help="accuracy table of run folders (best.keras, with TTA)")
    s.add_argument("runs", nargs="+", help="run folders written by fer-keras train, or model "
                   "files")
    add_contract_flags(s)
    s.add_argument("--tta", choices=TTA_MODES, default=TTA_MODES[-1],
                   help=f"score with test-time augmentation up to this mode (default "
                        f"{TTA_MODES[-1]}: {', '.join(TTA_MODES)})")
    add_data_args(s, run_defaults=True)
    add_force(s)  # it writes summary.json into each run folder
    s.set_defaults(func=cmd_summary)


def cmd_evaluate(args):
    from fer_keras import models
    from fer_keras.fileio import check_free, check_not_input
    from fer_keras.train import evaluate

    path = models.model_path(args.model)
    run_dir = os.path.dirname(os.path.abspath(path))
    # the shipped model's folder is the package's: its evaluation goes to the working folder
    out = args.out or ("evaluation.json" if str(args.model) == models.PRETRAINED
                       else os.path.join(run_dir, "evaluation.json"))
    check_not_input(out, args.data, str(path))
    check_free(out)
    model = load_model_arg(args)[0]
    splits, note = evaluate.eval_splits(run_dir, args.data, args.seed, args.resize or None,
                                        args.n_synthetic)
    splits = {k: v for k, v in splits.items() if k != "train" or args.all_splits}
    print(f"scoring {note}")
    res = evaluate.evaluate_model(model, splits, tta=args.tta, out=out)
    for split, entry in res.items():
        for kind, m in entry.items():
            print(f"{split:6s} {kind:10s} accuracy {m['accuracy']:.4f}  (n={m['n']})")
    print(f"written: {out}")
    return 0


def cmd_summary(args):
    from fer_keras.train import evaluate

    modes = evaluate.TTA_MODES
    tta = list(modes[1:modes.index(args.tta) + 1])  # every mode up to --tta, after "none"
    rows, cache = [], {}
    for run in args.runs:  # each run scored on its own validation split (its config.json)
        path = Path(run)
        if path.is_dir() and not (path / "saved_model.pb").is_file():
            splits = evaluate.run_splits(run, args.data, args.seed, args.resize or None,
                                         args.n_synthetic, cache)
            split = "val"
        else:  # a model file: PublicTest, or every image of data without that split
            splits = evaluate.eval_splits(path.parent, args.data, args.seed,
                                          args.resize or None, args.n_synthetic)[0]
            split = "val" if "val" in splits else "all"
        if len(splits[split]) == 0:
            raise FerInputError("no validation split to score the run on", file=run)
        rows.append(evaluate.summarize_run(run, splits, tta_modes=tta, split=split,
                                           input_range=args.input_range, classes=args.classes))
    print(evaluate.summary_markdown(rows), end="")
    return 0
