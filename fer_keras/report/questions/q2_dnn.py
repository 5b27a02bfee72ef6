"""HW3 Q2: the parameter-matched DNN against the CNN: parameters, accuracies, overfitting."""
from __future__ import annotations

import numpy as np

from fer_keras import CLASS_NAMES, NUM_CLASSES
from fer_keras.report.common import copy_figure
from fer_keras.report.document import Section, join_names, pct, points

ID = "q2-dnn"
TITLE = "HW3 Q2. A DNN with about as many parameters as the CNN"
QUESTION = ("Build a DNN with about the same number of parameters as the CNN; describe its "
            "architecture, training and accuracy, and compare it with the CNN.")
ORDER = 20
SECONDS = {"full": 16.0, "quick": 1.0}  # on the reference machine (fer_keras.report.catalogue)
MODELS = ("cnn", "dnn")
TRAINS = True  # trains its own models: not with --model PATH


def answer(ctx):
    """HW3 Q2: the parameter-matched DNN against the CNN: parameters, accuracies, overfitting."""
    from fer_keras import plotting

    sec = Section("q2-dnn")
    d = ctx.qdir(sec.id)
    cnn_name, dnn_name = ctx.cnn_name(), ctx.dnn_name()
    rows = []
    for name in (cnn_name, dnn_name):
        net = ctx.model(name)
        train_acc = ctx.accuracy(name, "train")
        val_acc = ctx.accuracy(name, "val")
        rows.append({"model": name, "params": int(net.count_params()),
                     "train_accuracy": train_acc, "val_accuracy": val_acc,
                     "test_accuracy": ctx.accuracy(name, "test"),
                     "gap": train_acc - val_acc,
                     "widths": [int(layer.units) for layer in net.layers
                                if type(layer).__name__ == "Dense"][:-1]})
    cnn, dnn = rows
    counts = np.bincount(ctx.val.labels, minlength=NUM_CLASSES)
    majority = float(counts.max() / max(1, counts.sum()))
    for r in rows:
        r["learned"] = bool(r["val_accuracy"] > majority + 0.02)
    num = {"cnn": cnn, "dnn": dnn, "param_ratio": dnn["params"] / cnn["params"],
           "accuracy_difference": cnn["val_accuracy"] - dnn["val_accuracy"],
           "gap_difference": dnn["gap"] - cnn["gap"], "majority_share": majority,
           "majority_class": CLASS_NAMES[int(counts.argmax())]}
    sec.numbers = num
    widths = " - ".join(f"Dense({w}) - BatchNorm - ReLU - Dropout(0.5)" for w in dnn["widths"])
    sec.text(f"The DNN `{dnn_name}` is `matched_dnn({cnn_name})`: Flatten(2304) - per-image "
             f"standardisation - {widths} - "
             f"Dense(7, softmax). Following report 000 (\"make the first hidden layer as wide as "
             f"possible\"), the first layer takes nearly all the budget: **{dnn['params']:,} "
             f"parameters** against the CNN's {cnn['params']:,} "
             f"({100 * (num['param_ratio'] - 1):+.2f}%). Both were trained the same way "
             "(same data, epochs, optimizer and augmentation); the best-validation weights of "
             "each are compared.")
    sec.table(["model", "params", "train accuracy", "validation accuracy", "test accuracy",
               "train - validation gap"],
              [(f"`{r['model']}`", f"{r['params']:,}", pct(r["train_accuracy"]),
                pct(r["val_accuracy"]), pct(r["test_accuracy"]), points(r["gap"]))
               for r in rows],
              caption="CNN vs DNN (train accuracy measured on the clean training images)")
    fig = plotting.model_comparison([cnn_name, dnn_name], [r["params"] for r in rows],
                                    [r["train_accuracy"] for r in rows],
                                    [r["val_accuracy"] for r in rows], d / "cnn_vs_dnn.png",
                                    title="CNN vs parameter-matched DNN")
    sec.figure(fig, "Parameters, train and validation accuracy of the CNN and the DNN", ctx.out)
    curves = copy_figure(ctx.run_dir(dnn_name).curves, d / "dnn_curves.png")
    sec.figure(curves, f"Training curves of the DNN `{dnn_name}`", ctx.out)
    diff = num["accuracy_difference"]
    if diff > 0.01:
        verdict = (f"With about the same number of parameters, the CNN is "
                   f"{100 * diff:.1f} points more accurate on validation ({pct(cnn['val_accuracy'])} "
                   f"vs {pct(dnn['val_accuracy'])}): weight sharing over positions buys more than "
                   "the DNN's freedom to weigh every pixel separately.")
    elif diff < -0.01:
        verdict = (f"Unlike in the reports, the DNN is {100 * -diff:.1f} points more accurate on "
                   f"validation here ({pct(dnn['val_accuracy'])} vs {pct(cnn['val_accuracy'])}).")
    else:
        verdict = (f"The two are about equally accurate on validation ({pct(cnn['val_accuracy'])} "
                   f"vs {pct(dnn['val_accuracy'])}).")
    g = num["gap_difference"]
    stuck = [r for r in rows if not r["learned"]]
    if stuck:
        names = join_names(["`{}`".format(r["model"]) for r in stuck])
        over = (f"{names} did not learn beyond always answering the most frequent class "
                f"({num['majority_class']}, {pct(majority)} of the validation images) within "
                f"the {ctx.cfg.epochs} epochs, so its train - validation gap "
                f"({join_names([points(r['gap']) for r in stuck])}) says nothing about overfitting: "
                "it underfits.")
    elif g > 0.01:
        over = (f"The DNN overfits more: its train - validation gap is {points(dnn['gap'])} "
                f"against the CNN's {points(cnn['gap'])}, as all the reports observed.")
    elif g < -0.01:
        over = (f"Unlike in the reports, the DNN does not overfit more here: its train - "
                f"validation gap is {points(dnn['gap'])} against the CNN's {points(cnn['gap'])}.")
    else:
        over = (f"Their train - validation gaps are about equal ({points(dnn['gap'])} vs "
                f"{points(cnn['gap'])}).")
    sec.text(f"**Comparison.** {verdict} {over}")
    return sec
