"""``fer-keras train`` and ``fer-keras models``."""
from __future__ import annotations

import dataclasses

from fer_keras.cli.common import positive_int, synthetic_notice


def add_train(sub):
    from fer_keras.config import CHOICES, PRESETS, TrainConfig
    from fer_keras.models import MATCHED_PREFIX

    d = TrainConfig()
    p = sub.add_parser("train", help="train a registry model")
    p.add_argument("--model", help=f"registry name (default {d.model}); `fer-keras models` lists "
                   "them; 'auto' with --budget-minutes: the recipe model the budget suits; "
                   f"{MATCHED_PREFIX}<cnn>: the DNN with about the parameters of <cnn>")
    p.add_argument("--data", help="'synthetic' (default) or a FER2013 CSV / image-folder path")
    p.add_argument("--out", help="run folder (default runs/MODEL)")
    p.add_argument("--epochs", type=positive_int)
    p.add_argument("--batch-size", type=positive_int)
    p.add_argument("--optimizer", choices=CHOICES["optimizer"])
    p.add_argument("--lr", type=float)
    p.add_argument("--weight-decay", type=float)
    p.add_argument("--schedule", choices=CHOICES["schedule"])
    p.add_argument("--label-smoothing", type=float)
    p.add_argument("--ema-momentum", type=float,
                   help="validate and keep an exponential moving average of the weights with "
                        "this per-step momentum, e.g. 0.999 (about the last 1,000 steps); "
                        "0 = off (default)")
    p.add_argument("--oversample", action="store_true", default=None,
                   help="class-balanced oversampling with augmented copies (report 001)")
    p.add_argument("--no-augment", dest="augment", action="store_false", default=None)
    p.add_argument("--rotation", type=float)
    p.add_argument("--shift", type=float)
    p.add_argument("--zoom", type=float)
    p.add_argument("--no-flip", dest="flip", action="store_false", default=None)
    p.add_argument("--erasing", type=float)
    p.add_argument("--input-pipeline", choices=CHOICES["input_pipeline"])
    p.add_argument("--val-fraction", type=float)
    p.add_argument("--n-synthetic", type=positive_int)
    p.add_argument("--seed", type=int)
    p.add_argument("--precision", choices=CHOICES["precision"])
    p.add_argument("--strategy", choices=CHOICES["strategy"])
    p.add_argument("--early-stopping", type=int, help="patience in epochs, 0 = off")
    p.add_argument("--tensorboard", action="store_true", default=None)
    p.add_argument("--budget-minutes", type=float,
                   help="fit the number of epochs (and the schedule) into this much training time")
    p.add_argument("--resize", action="store_true", default=None,
                   help="resize images that are not 48x48 instead of rejecting them")
    p.add_argument("--preset", help=" | ".join(PRESETS))
    p.add_argument("--verbose", type=int, choices=[0, 1, 2],
                   help="0 silent, 1 progress bar (default), 2 one line per epoch")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--force", action="store_true",
                   help="start a new run in --out even if a run is already there (overwrites it)")
    p.set_defaults(func=cmd_train)


def train_values(args):
    """The config fields the user set: the preset's values, then the flags given explicitly."""
    from fer_keras.config import TrainConfig, preset

    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    values = preset(args.preset) if args.preset else {}
    values.update({k: v for k, v in vars(args).items() if k in fields and v is not None})
    if args.preset:
        values["preset"] = args.preset
    return values


def train_config(args):
    """The :class:`~fer_keras.config.TrainConfig` of the parsed flags (:func:`train_values`)."""
    from fer_keras.config import TrainConfig

    return TrainConfig(**train_values(args))


def register_matched(name):
    """Register ``dnn_matched_<cnn>`` in the model registry when ``name`` is one, so that it
    trains and resumes like any registry model."""
    from fer_keras.models import MATCHED_PREFIX, register_matched_dnn

    if name and name.startswith(MATCHED_PREFIX):
        register_matched_dnn(name[len(MATCHED_PREFIX):])


def cmd_train(args):
    from fer_keras.errors import FerInputError
    from fer_keras.io import check_out_dir
    from fer_keras.train import (check_model_name, check_no_run, check_resume_flags,
                                 resolve_config, train)

    register_matched(args.model)
    cfg = train_config(args)
    if args.resume and args.force:
        raise FerInputError("fer-keras train: --resume and --force exclude each other")
    if args.resume:
        check_resume_flags(cfg, train_values(args))
    if cfg.data == "synthetic" and not args.resume:
        check_model_name(cfg.model)  # a user error must be the only line on stderr: check first
        out = check_out_dir(resolve_config(cfg).out)
        if not args.force:
            check_no_run(out)
        synthetic_notice()
    net, history = train(cfg, resume=args.resume, force=args.force)
    out = resolve_config(cfg).out
    if history:
        last = history[-1]
        print(f"done: {len(history)} epochs, val_accuracy {last.get('val_accuracy', float('nan')):.4f}"
              f"; outputs in {out}")
    return 0


def add_models(sub):
    p = sub.add_parser("models", help="list the registry with parameter counts")
    p.set_defaults(func=cmd_models)


def cmd_models(args):
    from fer_keras import models

    for name in models.list_models():
        m = models.build(name)
        print(f"{name:14s} {m.count_params():>12,d} params")
    return 0
