"""Why report 004's 51-layer DNN sat at ln 7, and which batch-norm momentum and dropout fix it
(RESULTS.md, "the DNNs learn").

For each ``(bn_momentum, dropout)`` of :func:`fer_keras.models.dnn_deep51`: train it with the
report preset (``--preset report``: batch 80, Adam 1e-3, class-balanced oversampling, flips) on
the 1,050 real faces of the Kaggle-CSV sample for ``--epochs`` epochs, then print the clean
training images' cross-entropy in inference mode, averaged per class as the oversampling weighs
them (ln 7 = 1.946 is the uniform prediction's), and how many classes it predicts on the
validation split. This is what ``tests/train/test_dnn_learns.py`` asserts for the builder's defaults.

    python -m experiments.deep51_dropout --data ../shared/data/fer2013-sample.csv \
        --settings 0.99,0.2 0.9,0.2 0.9,0.05 0.9,0 --epochs 4 --out /tmp/deep51
"""
from __future__ import annotations

import argparse
import functools
import math
from pathlib import Path

import numpy as np


def balanced_loss_and_classes(builder, splits, out, epochs):
    """Train ``builder`` with the report preset; return (class-balanced clean training loss in
    inference mode, number of distinct classes predicted on ``splits["val"]``)."""
    from fer_keras import train
    from fer_keras.config import TrainConfig, preset
    from fer_keras.models import zoo
    from fer_keras.train.evaluate import balanced_nll

    zoo._REGISTRY["_experiment"] = builder
    try:
        cfg = TrainConfig(**{**preset("report"), "model": "_experiment", "epochs": epochs,
                             "out": str(out), "verbose": 0, "early_stopping": 0})
        net, _ = train.train(cfg, splits=splits)
    finally:
        del zoo._REGISTRY["_experiment"]
    tr = splits["train"]
    balanced = balanced_nll(net.predict(tr.x(), verbose=0), tr.labels)
    pred = net.predict(splits["val"].x(), verbose=0).argmax(1)
    return balanced, len(np.unique(pred))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="../shared/data/fer2013-sample.csv",
                   help="FER2013 CSV or image folder (default: %(default)s)")
    p.add_argument("--settings", nargs="+", default=["0.99,0.2", "0.9,0.2", "0.9,0.05", "0.9,0"],
                   help="MOMENTUM,DROPOUT pairs (default: %(default)s)")
    p.add_argument("--epochs", type=int, default=4, help="epochs each (default: %(default)s)")
    p.add_argument("--out", default="/tmp/deep51", help="run folders (default: %(default)s)")
    args = p.parse_args(argv)

    from fer_keras import data, models

    splits = data.load_splits(args.data, val_fraction=0.1, seed=0)
    print(f"ln 7 = {math.log(7):.3f}")
    for i, s in enumerate(args.settings):
        momentum, dropout = (float(v) for v in s.split(","))
        builder = functools.partial(models.dnn_deep51, bn_momentum=momentum, dropout=dropout)
        loss, n_classes = balanced_loss_and_classes(builder, splits, Path(args.out) / f"run{i}",
                                                    args.epochs)
        print(f"bn_momentum {momentum:g}, dropout {dropout:g}: clean balanced training loss "
              f"{loss:.3f}, {n_classes} classes predicted", flush=True)


if __name__ == "__main__":
    main()
