"""What every subcommand shares: the parser that turns usage errors into one line, argument
types, the input-contract and data flags, the synthetic-data notice and the quiet TensorFlow
import."""
from __future__ import annotations

import argparse
import os
import sys

from fer_keras import CLASS_NAMES
from fer_keras.errors import FerInputError

EXIT_USAGE = 2

#: ``--model``'s help where any model file is accepted.
MODEL_HELP = ("a .keras file (e.g. runs/NAME/best.keras), a Keras 2 .h5/.hdf5 file, a "
              "TensorFlow SavedModel folder, or 'pretrained' for the shipped model")


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors raise :class:`FerInputError` (one line, exit 2)."""

    def error(self, message):
        raise FerInputError(f"{self.prog}: {message}")


def positive_int(text):
    """argparse type: an integer >= 1."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


def add_contract_flags(parser):
    """The input contract's flags on a subcommand's ``parser``: ``--input-range`` and
    ``--classes``, passed on as ``input_range=`` and ``classes=``
    (:func:`fer_keras.models.load_classifier`, :func:`fer_keras.models.contract.from_options`)."""
    parser.add_argument("--input-range", metavar="LOW,HIGH",
                        help="the model's input values for black and white, e.g. "
                             "--input-range=-1,1 (default: the run folder's contract, else 0,1)")
    parser.add_argument("--classes", metavar="NAME,...",
                        help="class names in the model's output order (default FER2013's 7: "
                             + ",".join(CLASS_NAMES) + ")")
    return parser


def join_negative_values(argv):
    """``["--input-range", "-1,1"]`` as ``["--input-range=-1,1"]``: argparse would read a value
    that starts with ``-`` as another flag."""
    argv = list(argv)
    out, i = [], 0
    while i < len(argv):
        if argv[i] == "--input-range" and i + 1 < len(argv) and argv[i + 1].startswith("-"):
            out.append(f"--input-range={argv[i + 1]}")
            i += 2
        else:
            out.append(argv[i])
            i += 1
    return out


def load_model_arg(args, exported=False):
    """The classifier of ``--model`` (the shipped one when not given) with the contract flags
    applied, as :func:`fer_keras.models.choose.classifier` decides it: ``(model, contract)``.
    ``exported``: the shipped model may be answered by its ONNX export (no Keras) instead of
    its ``.keras``; TensorFlow's start-up lines are silenced when Keras loads it."""
    from fer_keras.models import choose

    return quiet_backend_import(lambda: choose.classifier(
        getattr(args, "model", None), input_range=args.input_range, classes=args.classes,
        quiet=True, exported=exported))


#: ``--force``'s help on every command that writes files.
FORCE_HELP = ("replace files at the outputs that fer-keras did not write (or that were changed "
              "since); without it such a file is never replaced")


def add_force(parser, help=FORCE_HELP):
    """``--force`` on a writing subcommand's ``parser``: see :func:`run_command`."""
    parser.add_argument("--force", action="store_true", help=help)
    return parser


def run_command(args):
    """``args.func(args)`` under the one rule of every writer: a file that fer-keras did not
    write itself is never replaced without ``--force`` (:func:`fer_keras.fileio.keep_users_files`;
    ``--resume`` continues a run, whose files are its own)."""
    from fer_keras.data.loading import cache_dir
    from fer_keras.fileio import keep_users_files

    force = bool(getattr(args, "force", False) or getattr(args, "resume", False))
    with keep_users_files(cache_dir() / "written.json", force=force):
        return args.func(args)


def synthetic_notice():
    print("note: training on the built-in synthetic faces; pass --data PATH (fer2013.csv, "
          "train.csv or an image folder) for the real FER2013", file=sys.stderr)


def quiet_backend_import(load=None):
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


def add_data_args(p, seed=True, run_defaults=False):
    """``--data``, ``--seed``, ``--n-synthetic`` and ``--resize`` as the evaluating commands
    take them. ``run_defaults``: left None when not given, so that a run folder's own
    ``config.json`` supplies them (:func:`fer_keras.train.evaluate.run_splits`)."""
    if run_defaults:
        p.add_argument("--data", help="the data the model was trained on (default: its run "
                       "folder's config.json, else synthetic)")
        if seed:
            p.add_argument("--seed", type=int, help="split seed (default: the run's)")
        p.add_argument("--n-synthetic", type=positive_int,
                       help="--data synthetic: faces to draw (default: the run's, else 3000)")
    else:
        p.add_argument("--data", default="synthetic",
                       help="'synthetic' (default) or a FER2013 CSV / image-folder path")
        if seed:
            p.add_argument("--seed", type=int, default=0,
                           help="seed of the split and of any sampling")
        p.add_argument("--n-synthetic", type=positive_int, default=3000,
                       help="--data synthetic: faces to draw")
    p.add_argument("--resize", action="store_true",
                   help="resize images that are not 48x48 instead of rejecting them")
