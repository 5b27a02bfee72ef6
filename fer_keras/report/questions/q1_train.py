"""HW3 Q1: the CNN's layer table (or diagram), training curves and accuracy."""
from __future__ import annotations

from fer_keras.report.claims import of_kind
from fer_keras.report.common import copy_figure, first_doc_line, split_words, train_summary
from fer_keras.report.document import Section, pct
from fer_keras.report.rules import model_counts

ID = "q1-train"
TITLE = "HW3 Q1. The CNN: architecture, training, accuracy"
QUESTION = ("Describe the CNN: its architecture (layers, dimensions, connections), the "
            "training process and its accuracy (reports 000, 001, 003, 004).")
ORDER = 10
SECONDS = {"full": 4.0, "quick": 2.0}  # on the reference machine (fer_keras.report.catalogue)
TRAINS = True  # trains its own models: not with --model PATH


def answer(ctx):
    """HW3 Q1: the CNN's layer table (or diagram), training curves and accuracy."""
    from fer_keras import models
    from fer_keras.train import evaluate

    sec = Section("q1-train")
    name = ctx.cnn_name()
    d = ctx.qdir(sec.id)
    net = ctx.model(name)
    hist = ctx.history(name)
    rc = ctx.run_config(name)
    table = evaluate.layer_table(net)
    n_conv = sum(1 for r in table if r[1] == "Conv2D")
    params, trainable, _ = model_counts(net)
    best = max(hist, key=lambda r: r.get("val_accuracy", -1))
    last = hist[-1]
    val_acc = ctx.accuracy(name, "val")
    test_acc = ctx.accuracy(name, "test")
    sp = ctx.splits
    num = {"model": name, "params": params, "trainable_params": trainable, "layers": len(table),
           "conv_layers": n_conv, "epochs_run": len(hist), "best_epoch": int(best["epoch"]),
           "best_val_accuracy_history": float(best["val_accuracy"]),
           "final_train_accuracy_history": float(last["accuracy"]),
           "final_val_accuracy_history": float(last.get("val_accuracy", float("nan"))),
           "val_accuracy": val_acc, "test_accuracy": test_acc,
           "train_seconds": float(sum(r.get("seconds", 0) for r in hist)),
           "n_train": len(sp["train"]), "n_val": len(sp["val"]),
           "n_test": 0 if ctx.test is None else len(ctx.test), "train_config": rc}
    sec.numbers = num
    sec.text(f"The CNN is `{name}`: {first_doc_line(models.get(name))} It has "
             f"{len(table)} layers, {n_conv} of them convolutions, and **{params:,} parameters** "
             f"({trainable:,} trainable).")
    diagram, note = evaluate.plot_model_diagram(net, d / "model.png")
    if diagram is not None:
        sec.figure(diagram, f"`{name}`, drawn by {note}", ctx.out)
    sec.table(["layer", "type", "output shape", "params"],
              [(n, t, s, f"{p:,}") for n, t, s, p in table],
              caption=f"Layers of `{name}` (the reports' summary table)"
              + ("" if diagram is not None else f"; {note}"))
    sec.text(f"**Training.** {len(hist)} epochs on {num['n_train']:,} training images, "
             f"validated on {num['n_val']:,} ({train_summary(rc)}); "
             f"{num['train_seconds']:.0f} s of training on this machine. The best validation "
             f"accuracy, **{pct(num['best_val_accuracy_history'])}**, came at epoch "
             f"{num['best_epoch']}, whose weights are kept (`best.keras`); at the last epoch the "
             f"training accuracy (on augmented images, with dropout) was "
             f"{pct(num['final_train_accuracy_history'])} and the validation accuracy "
             f"{pct(num['final_val_accuracy_history'])}.")
    curves = copy_figure(ctx.run_dir(name).curves, d / "curves.png")
    sec.figure(curves, f"Training curves of `{name}`: accuracy and loss, train vs validation",
               ctx.out)
    acc = (f"**Accuracy.** The kept model scores **{pct(val_acc)}** on the validation split "
           f"({num['n_val']:,} images, which chose the kept epoch, so this figure is biased "
           "upwards)")
    acc += (f" and **{pct(test_acc)}** on {split_words(ctx.test, 'test')}, which was never "
            "used for any choice." if test_acc is not None else ".")
    ref = [c for c in of_kind("accuracy") if c.model == name and c.section == "q1-train"]
    if ref:
        acc += (f" For reference, report {ref[0].reports[0]} reported {pct(ref[0].value)} for "
                f"its model ({ref[0].quote}), of which ours is a reconstruction (`{name}`: "
                f"{first_doc_line(models.get(name))}), on the real "
                "FER2013" + (", so the two are not comparable: these are synthetic faces."
                             if ctx.cfg.synthetic else "."))
    sec.text(acc)
    return sec
