"""What every subcommand shares: the parser that turns usage errors into one line, argument
types, the synthetic-data notice and the quiet TensorFlow import."""
from __future__ import annotations

import argparse
import os
import sys

from fer_keras.errors import FerInputError

EXIT_USAGE = 2


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
    ``config.json`` supplies them (:func:`fer_keras.evaluate.run_splits`)."""
    if run_defaults:
        p.add_argument("--data", help="the data the model was trained on (default: its run "
                       "folder's config.json, else synthetic)")
        if seed:
            p.add_argument("--seed", type=int, help="split seed (default: the run's)")
        p.add_argument("--n-synthetic", type=positive_int)
    else:
        p.add_argument("--data", default="synthetic",
                       help="'synthetic' (default) or a FER2013 CSV / image-folder path")
        if seed:
            p.add_argument("--seed", type=int, default=0)
        p.add_argument("--n-synthetic", type=positive_int, default=3000)
    p.add_argument("--resize", action="store_true",
                   help="resize images that are not 48x48 instead of rejecting them")
