"""``fer-keras train`` and ``fer-keras models``."""
from __future__ import annotations

import dataclasses

from fer_keras.cli.common import positive_int, synthetic_notice


def add_train(sub):
    from fer_keras.config import CHOICES, PRESETS, TrainConfig
    from fer_keras.models.zoo import MATCHED_PREFIX

    d = TrainConfig()

    def dflt(field, shown=None):
        """The flag's default: TrainConfig's, unless --preset sets it (flags given win)."""
        value = getattr(d, field) if shown is None else shown
        return f"(default {value}, or the --preset's)"

    p = sub.add_parser("train", help="train a registry model")
    p.add_argument("--model", help=f"registry name {dflt('model')}; `fer-keras models` lists "
                   "them; 'auto' with --budget-minutes: the recipe model the budget suits; "
                   f"{MATCHED_PREFIX}<cnn>: the DNN with about the parameters of <cnn>")
    p.add_argument("--data", help="'synthetic' (default) or a FER2013 CSV / image-folder path")
    p.add_argument("--out", help="run folder (default runs/MODEL)")
    p.add_argument("--epochs", type=positive_int, help=f"epochs to train {dflt('epochs')}")
    p.add_argument("--batch-size", type=positive_int,
                   help=f"images a step, over all devices {dflt('batch_size')}")
    p.add_argument("--optimizer", choices=CHOICES["optimizer"],
                   help=f"sgd: Nesterov momentum 0.9 {dflt('optimizer')}")
    p.add_argument("--lr", type=float, help=f"(peak) learning rate {dflt('lr')}")
    p.add_argument("--weight-decay", type=float,
                   help=f"decoupled weight decay, applied as lr x wd x w {dflt('weight_decay')}")
    p.add_argument("--schedule", choices=CHOICES["schedule"],
                   help=f"learning-rate schedule {dflt('schedule')}")
    p.add_argument("--label-smoothing", type=float,
                   help=f"label smoothing of the cross-entropy {dflt('label_smoothing')}")
    p.add_argument("--ema-momentum", type=float,
                   help="validate and keep an exponential moving average of the weights with "
                        "this per-step momentum, e.g. 0.999 (about the last 1,000 steps); "
                        f"0 = off {dflt('ema_momentum')}")
    p.add_argument("--oversample", action="store_true", default=None,
                   help="class-balanced oversampling with augmented copies (report 001; "
                        "default off, or the --preset's)")
    p.add_argument("--no-oversample", dest="oversample", action="store_false",
                   help="no oversampling, also against a --preset that oversamples")
    p.add_argument("--no-augment", dest="augment", action="store_false", default=None,
                   help="no augmentation of the training images (default on, or the --preset's)")
    p.add_argument("--rotation", type=float,
                   help=f"largest random rotation in degrees {dflt('rotation')}")
    p.add_argument("--shift", type=float,
                   help=f"largest random shift, a fraction of the image {dflt('shift')}")
    p.add_argument("--zoom", type=float,
                   help=f"largest random zoom, a fraction of the image {dflt('zoom')}")
    p.add_argument("--no-flip", dest="flip", action="store_false", default=None,
                   help="no random horizontal flips (default on, or the --preset's)")
    p.add_argument("--erasing", type=float,
                   help=f"probability of erasing a random rectangle of each image "
                        f"{dflt('erasing')}")
    p.add_argument("--input-pipeline", choices=CHOICES["input_pipeline"],
                   help="numpy: any backend, augments in the train step; tfdata: tf.data; idg: "
                        f"Keras 2's ImageDataGenerator {dflt('input_pipeline')}")
    p.add_argument("--val-fraction", type=float,
                   help="share of the training images held out for validation when the data "
                        f"has no validation split {dflt('val_fraction')}")
    p.add_argument("--select-on", choices=CHOICES["select_on"],
                   help="which images choose the kept checkpoint: val, the data's validation "
                        "split (FER2013's PublicTest); train, a stratified --val-fraction of the "
                        "training images, so that the validation split is scored and chooses "
                        f"nothing {dflt('select_on')}")
    p.add_argument("--n-synthetic", type=positive_int,
                   help=f"--data synthetic: faces to draw {dflt('n_synthetic')}")
    p.add_argument("--seed", type=int, help=f"seed of splits, weights and augmentation "
                   f"{dflt('seed')}")
    p.add_argument("--precision", choices=CHOICES["precision"],
                   help="mixed: bfloat16 on CPUs, float16 on GPUs before compute capability 8.0; "
                        "auto: mixed where it trains faster here (a GPU, or a CPU with bf16 "
                        "instructions whose timed burst says so), else float32 "
                        f"{dflt('precision')}")
    p.add_argument("--distribute", choices=CHOICES["distribute"],
                   help="data-parallel: train on every device Keras sees (JAX DataParallel; "
                        "TensorFlow MirroredStrategy, MultiWorkerMirroredStrategy when TF_CONFIG "
                        "names several workers); --batch-size stays the global batch and must "
                        "be a multiple of the device count; give it again with --resume "
                        f"(default {d.distribute})")
    p.add_argument("--early-stopping", type=int,
                   help=f"patience in epochs, 0 = off {dflt('early_stopping')}")
    p.add_argument("--tensorboard", action="store_true", default=None,
                   help="write TensorBoard logs into the run folder (default off)")
    p.add_argument("--budget-minutes", type=float,
                   help="fit the number of epochs (and the schedule) into this much training "
                        "time (default: no budget)")
    p.add_argument("--resize", action="store_true", default=None,
                   help="resize images that are not 48x48 instead of rejecting them")
    p.add_argument("--preset", metavar="|".join(PRESETS),
                   help="a set of the flags above: report (the reports' settings), best (our "
                        "recipe), quick (a smoke run); flags given explicitly win (default none)")
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
    from fer_keras.models.zoo import MATCHED_PREFIX, register_matched_dnn

    if name and name.startswith(MATCHED_PREFIX):
        register_matched_dnn(name[len(MATCHED_PREFIX):])


def cmd_train(args):
    from fer_keras.errors import FerInputError
    from fer_keras.fileio import check_out_dir
    from fer_keras.train.checkpoint import (
        check_no_run,
        check_resume_flags,
        resolve_config,
    )
    from fer_keras.train.distribute import replicas_for
    from fer_keras.train.fit import check_model_name, train

    register_matched(args.model)
    cfg = train_config(args)
    if args.resume and args.force:
        raise FerInputError("fer-keras train: --resume and --force exclude each other")
    if args.resume:
        check_resume_flags(cfg, train_values(args))
    chief = True
    if cfg.data == "synthetic" and not args.resume:
        check_model_name(cfg.model)  # a user error must be the only line on stderr: check first
        # a batch that does not split over the devices fails here too
        chief = replicas_for(cfg).chief
        out = check_out_dir(resolve_config(cfg).out)
        if not args.force and chief:  # only the chief writes: the others may see its files
            check_no_run(out)
        synthetic_notice()
    net, history = train(cfg, resume=args.resume, force=args.force)
    out = resolve_config(cfg).out
    if history:
        last = history[-1]
        where = f"outputs in {out}" if chief else "outputs written by the chief"
        print(f"done: {len(history)} epochs, val_accuracy {last.get('val_accuracy', float('nan')):.4f}"
              f"; {where}")
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
