"""The ``fer-keras`` command line: a thin caller of the public API.

A user's mistake (bad file, bad row, bad argument) prints one line on stderr and exits with
status 2; Ctrl-C exits with 130 after the last finished epoch has been saved.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys

from fer_keras import contract
from fer_keras.errors import FerInputError

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise FerInputError(f"{self.prog}: {message}")


def _positive_int(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


def _add_train_args(p):
    from fer_keras.config import TrainConfig

    d = TrainConfig()
    p.add_argument("--model", help=f"registry name (default {d.model}); `fer-keras models` lists "
                   "them; 'auto' with --budget-minutes: the recipe model the budget suits")
    p.add_argument("--data", help="'synthetic' (default) or a FER2013 CSV / image-folder path")
    p.add_argument("--out", help="run folder (default runs/MODEL)")
    p.add_argument("--epochs", type=_positive_int)
    p.add_argument("--batch-size", type=_positive_int)
    p.add_argument("--optimizer", choices=["adam", "adamw", "sgd"])
    p.add_argument("--lr", type=float)
    p.add_argument("--weight-decay", type=float)
    p.add_argument("--schedule", choices=["plateau", "cosine", "onecycle", "constant"])
    p.add_argument("--label-smoothing", type=float)
    p.add_argument("--oversample", action="store_true", default=None,
                   help="class-balanced oversampling with augmented copies (report 001)")
    p.add_argument("--no-augment", dest="augment", action="store_false", default=None)
    p.add_argument("--rotation", type=float)
    p.add_argument("--shift", type=float)
    p.add_argument("--zoom", type=float)
    p.add_argument("--no-flip", dest="flip", action="store_false", default=None)
    p.add_argument("--erasing", type=float)
    p.add_argument("--input-pipeline", choices=["numpy", "tfdata", "idg"])
    p.add_argument("--val-fraction", type=float)
    p.add_argument("--n-synthetic", type=_positive_int)
    p.add_argument("--seed", type=int)
    p.add_argument("--precision", choices=["float32", "mixed"])
    p.add_argument("--strategy", choices=["default", "mirrored"])
    p.add_argument("--early-stopping", type=int, help="patience in epochs, 0 = off")
    p.add_argument("--tensorboard", action="store_true", default=None)
    p.add_argument("--budget-minutes", type=float,
                   help="fit the number of epochs (and the schedule) into this much training time")
    p.add_argument("--resize", action="store_true", default=None,
                   help="resize images that are not 48x48 instead of rejecting them")
    p.add_argument("--preset", help="report | best | quick")
    p.add_argument("--verbose", type=int, choices=[0, 1, 2],
                   help="0 silent, 1 progress bar (default), 2 one line per epoch")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--force", action="store_true",
                   help="start a new run in --out even if a run is already there (overwrites it)")


def _train_values(args):
    """The config fields the user set: the preset's, then the flags given explicitly."""
    from fer_keras.config import TrainConfig, preset

    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    values = preset(args.preset) if args.preset else {}
    values.update({k: v for k, v in vars(args).items() if k in fields and v is not None})
    if args.preset:
        values["preset"] = args.preset
    return values


def _train_config(args):
    from fer_keras.config import TrainConfig

    return TrainConfig(**_train_values(args))


def cmd_train(args):
    from fer_keras.train import train

    cfg = _train_config(args)
    if args.resume and args.force:
        raise FerInputError("fer-keras train: --resume and --force exclude each other")
    if args.resume:
        from fer_keras.train import check_resume_flags

        check_resume_flags(cfg, _train_values(args))
    if cfg.data == "synthetic" and not args.resume:
        from fer_keras.train import check_model_name, check_no_run, check_out_dir, resolve_config

        check_model_name(cfg.model)  # a user error must be the only line on stderr: check first
        out = check_out_dir(resolve_config(cfg).out)
        if not args.force:
            check_no_run(out)
        _synthetic_notice()
    net, history = train(cfg, resume=args.resume, force=args.force)
    from fer_keras.train import resolve_config

    out = resolve_config(cfg).out
    if history:
        last = history[-1]
        print(f"done: {len(history)} epochs, val_accuracy {last.get('val_accuracy', float('nan')):.4f}"
              f"; outputs in {out}")
    return 0


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

    tta = [] if args.tta == "none" else ["flip", "crops"][: 1 + (args.tta == "crops")]
    rows, cache = [], {}
    for run in args.runs:  # each run scored on its own validation split (its config.json)
        splits = evaluate.run_splits(run, args.data, args.seed, args.resize or None,
                                     args.n_synthetic, cache)
        if len(splits["val"]) == 0:
            raise FerInputError("no validation split to score the run on", file=run)
        rows.append(evaluate.summarize_run(run, splits, tta_modes=tta, contract_args=args))
    print(evaluate.summary_markdown(rows), end="")
    return 0


def cmd_models(args):
    from fer_keras import models

    for name in models.list_models():
        m = models.build(name)
        print(f"{name:14s} {m.count_params():>12,d} params")
    return 0


def _synthetic_notice():
    print("note: training on the built-in synthetic faces; pass --data PATH (fer2013.csv, "
          "train.csv or an image folder) for the real FER2013", file=sys.stderr)


def build_parser():
    p = _Parser(prog="fer-keras", description="Facial-expression recognition on FER2013 with Keras 3")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    t = sub.add_parser("train", help="train a registry model")
    _add_train_args(t)
    t.set_defaults(func=cmd_train)
    for name, func, helptext in (("evaluate", cmd_evaluate, "accuracy, per-class metrics, confusion"),
                                 ("predict", cmd_predict, "faces in a photo, folder or video; or a Kaggle "
                                  "submission id,label (--data)")):
        e = sub.add_parser(name, help=helptext)
        e.add_argument("--model", required=name != "predict", help="a .keras file (e.g. "
                       "runs/NAME/best.keras), a Keras 2 .h5/.hdf5 file or a TensorFlow "
                       "SavedModel folder" + ("; default the shipped model" if name == "predict"
                                              else ""))
        contract.add_flags(e)
        if name == "predict":
            from fer_keras.predict_media import add_arguments

            add_arguments(e)
        e.add_argument("--data", help="evaluate: default the data of the model's run folder "
                       "(its config.json); predict: default synthetic")
        e.add_argument("--out")
        e.add_argument("--tta", choices=["none", "flip", "crops"], default="none")
        e.add_argument("--seed", type=int, help="split seed (default: the run's)")
        e.add_argument("--n-synthetic", type=_positive_int)
        e.add_argument("--resize", action="store_true")
        e.add_argument("--all-splits", action="store_true", help="also evaluate the train split")
        e.set_defaults(func=func)
    s = sub.add_parser("summary", help="accuracy table of run folders (best.keras, with TTA)")
    s.add_argument("runs", nargs="+", help="run folders written by fer-keras train, or model "
                   "files")
    contract.add_flags(s)
    s.add_argument("--data", help="the data the runs were trained on (default: each run's "
                   "config.json)")
    s.add_argument("--tta", choices=["none", "flip", "crops"], default="crops",
                   help="score with test-time augmentation up to this mode (default crops: "
                        "none, flip and crops)")
    s.add_argument("--seed", type=int, help="split seed (default: each run's)")
    s.add_argument("--n-synthetic", type=_positive_int)
    s.add_argument("--resize", action="store_true")
    s.set_defaults(func=cmd_summary)
    m = sub.add_parser("models", help="list the registry with parameter counts")
    m.set_defaults(func=cmd_models)
    for extra in _EXTRA_COMMANDS:
        extra(sub)
    return p


#: Other modules add subcommands here (explain, report, bench...) via ``register_command``.
_EXTRA_COMMANDS = []


def register_command(adder):
    """Register ``adder(subparsers)``, which adds a subcommand and sets ``func``."""
    _EXTRA_COMMANDS.append(adder)
    return adder


def _load_extra_commands():
    import importlib

    for mod in ("fer_keras.cli_explain", "fer_keras.cli_report", "fer_keras.export"):
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name != mod:
                raise


def _quiet_backend_import(load=None):
    """Import TensorFlow (and run ``load``, which may import it) with file descriptor 2 silenced:
    its C++ start-up prints INFO lines (the oneDNN notice) that TF_CPP_MIN_LOG_LEVEL does not
    stop, and a user error must be the only line on stderr. Python-level errors still propagate."""
    if "tensorflow" in sys.modules or os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
        return load() if load else None
    sys.stderr.flush()
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        if load:
            return load()
        try:
            import tensorflow  # noqa: F401
        except ImportError:
            pass
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def main(argv=None):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    _quiet_backend_import(_load_extra_commands)  # they may import TensorFlow
    parser = build_parser()
    try:
        args = parser.parse_args(contract.join_negative_values(
            sys.argv[1:] if argv is None else argv))
        if not getattr(args, "func", None):
            parser.print_help()
            return EXIT_USAGE
        if args.command == "predict" and not args.out:
            raise FerInputError("fer-keras predict: --out is required (a folder for photos and videos; "
                                "the submission CSV for --data)")
        from fer_keras.config import check_flags

        check_flags(args.command, vars(args))  # every numeric flag: finite and in range
        _quiet_backend_import()
        return args.func(args)
    except FerInputError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted: the last finished epoch is saved; continue with --resume",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
