"""HW3 Q3: normalised confusion matrix (and without its diagonal), most confused pairs."""
from __future__ import annotations

import numpy as np

from fer_keras import CLASS_NAMES
from fer_keras.report.catalogue import REPORTED
from fer_keras.report.document import Section, join_names, pct


def answer(ctx):
    """HW3 Q3: normalised confusion matrix (and without its diagonal), most confused pairs."""
    from fer_keras import evaluate
    from fer_keras.analyses import confusion

    sec = Section("q3-confusion")
    d = ctx.qdir(sec.id)
    name = ctx.cnn_name()
    res = confusion.run(ctx.model(name), ctx.val, confusion.Settings(), d,
                        probs=ctx.probs(name, "val"))
    m = res.numbers
    cm = res.arrays["confusion"]
    norm = evaluate.normalize_rows(cm)  # unrounded: the shares below
    recall = {c: m["per_class"][c]["recall"] for c in CLASS_NAMES}
    present = [c for i, c in enumerate(CLASS_NAMES) if cm[i].sum() > 0]
    top = m["top_confusions"]
    measured_pairs = {(a, b): s for a, b, s in top}
    reported = [{"true": a, "predicted": b, "share": float(norm[CLASS_NAMES.index(a),
                                                               CLASS_NAMES.index(b)]),
                 "in_top5": (a, b) in measured_pairs} for a, b in REPORTED["confusions"]]
    errors = m["errors"]
    col_err = np.array([m["errors_predicted_as"][c] for c in CLASS_NAMES])
    share = col_err / max(errors, 1)
    dis = CLASS_NAMES.index("Disgust")
    num = {"model": name, "n": m["n"], "accuracy": m["accuracy"], "recall": recall,
           "confusion": m["confusion"], "confusion_normalized": m["confusion_normalized"],
           "top_confusions": [{"true": a, "predicted": b, "share": s} for a, b, s in top],
           "reported_confusions": reported, "errors": errors,
           "errors_predicted_as": m["errors_predicted_as"],
           "least_predicted_in_errors": m["least_predicted_in_errors"],
           "disgust_share_of_errors": float(share[dis])}
    sec.numbers = num
    f1, f2 = res.files[:2]
    sec.text(f"Confusion matrix of `{name}` on the {m['n']:,} validation images "
             f"(accuracy {pct(m['accuracy'])}); each row is a true class, normalised to 1, so the "
             "diagonal is the recall of each class.")
    sec.figure(f1, "Row-normalised confusion matrix (rows: true class, columns: predicted)",
               ctx.out)
    sec.figure(f2, "The same matrix with the diagonal removed, so that the confusions stand out "
                   "(as report 000 shows it)", ctx.out)
    by_recall = sorted(present, key=lambda c: -recall[c])
    low = [c for c in by_recall if recall[c] < 0.6]
    def with_recall(cs):
        return join_names(["{} ({})".format(c, pct(recall[c])) for c in cs])

    sec.text(f"**Per class.** Recognised best: {with_recall(by_recall[:2])}; "
             f"worst: {with_recall(by_recall[-2:])}. "
             + (f"{len(low)} of {len(present)} classes {'is' if len(low) == 1 else 'are'} below "
                f"60% recall ({join_names(low)})." if low else "Every class is above 60% recall."))
    if top:
        sec.text("**Most confused pairs** (share of the true class's images given the wrong "
                 "label):")
        sec.bullets([f"{a} -> {b}: {pct(s)}" for a, b, s in top])
    hits = [r for r in reported if r["in_top5"]]
    misses = [r for r in reported if not r["in_top5"]]
    txt = "**Against the reports** (Disgust -> Angry, Angry -> Sad, Sad -> Fear, Surprise -> Fear): "
    def pairs(rs):
        return join_names(["{} -> {} ({})".format(r["true"], r["predicted"], pct(r["share"]))
                       for r in rs])

    if hits:
        txt += (f"{pairs(hits)} {'is' if len(hits) == 1 else 'are'} among the five most "
                "confused pairs here" + ("; " if misses else "."))
    if misses:
        txt += f"{pairs(misses)} {'is' if len(misses) == 1 else 'are'} not."
    sec.text(txt)
    sec.text(f"Of the {int(errors)} errors, {pct(share[dis])} put the label Disgust on another "
             f"class (report 000: few images are wrongly called Disgust); the label most often "
             f"wrongly given is {m['most_predicted_in_errors']} "
             f"({pct(share.max())} of the errors).")
    return sec
