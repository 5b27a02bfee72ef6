"""HW3 Q3: normalised confusion matrix (and without its diagonal), most confused pairs."""
from __future__ import annotations

import numpy as np

from fer_keras import CLASS_NAMES
from fer_keras.report import rules
from fer_keras.report.claims import CLAIMS
from fer_keras.report.common import split_words
from fer_keras.report.document import Section, join_names, pct

ID = "q3-confusion"
TITLE = "HW3 Q3. Which classes get confused: the confusion matrix"
QUESTION = ("Draw the confusion matrix on a validation set and analyse which classes are "
            "easily confused.")
ORDER = 30
SECONDS = {"full": 0.5}  # on the reference machine (fer_keras.report.catalogue)


def answer(ctx):
    """HW3 Q3: normalised confusion matrix (and without its diagonal), most confused pairs."""
    from fer_keras.analyses import confusion
    from fer_keras.train import evaluate

    sec = Section("q3-confusion")
    d = ctx.qdir(sec.id)
    name = ctx.cnn_name()
    split, scored = ctx.scored  # images that chose no checkpoint (PublicTest on FER2013)
    res = confusion.run(ctx.model(name), scored, confusion.Settings(), d,
                        probs=ctx.probs(name, split))
    m = res.numbers
    cm = res.arrays["confusion"]
    norm = evaluate.normalize_rows(cm)  # unrounded: the shares below
    recall = {c: m["per_class"][c]["recall"] for c in CLASS_NAMES}
    present = [c for i, c in enumerate(CLASS_NAMES) if cm[i].sum() > 0]
    top = m["top_confusions"]
    reported = []
    for c in CLAIMS:
        if c.kind == "confusion_pair" and c.section == "q3-confusion":
            a, b = c.value[:2]
            v = rules.confusion_pair(cm, a, b, reported=(c.value[2:] or (None,))[0])
            reported.append({"claim": c.id, "report": c.reports[0], "true": a, "predicted": b,
                             "share": float(norm[CLASS_NAMES.index(a), CLASS_NAMES.index(b)]),
                             "reproduced": v.ok, "why": v.why})
    errors = m["errors"]
    col_err = np.array([m["errors_predicted_as"][c] for c in CLASS_NAMES])
    share = col_err / max(errors, 1)
    dis = CLASS_NAMES.index("Disgust")
    where = split_words(scored, split)
    num = {"model": name, "n": m["n"], "split": split, "where": where,
           "accuracy": m["accuracy"], "recall": recall,
           "confusion": m["confusion"], "confusion_normalized": m["confusion_normalized"],
           "top_confusions": [{"true": a, "predicted": b, "share": s} for a, b, s in top],
           "reported_confusions": reported, "errors": errors,
           "errors_predicted_as": m["errors_predicted_as"],
           "least_predicted_in_errors": m["least_predicted_in_errors"],
           "disgust_share_of_errors": float(share[dis])}
    sec.numbers = num
    f1, f2 = res.files[:2]
    sec.text(f"Confusion matrix of `{name}` on {where}, which chose no checkpoint "
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
    sec.text(pairs_sentence(reported))
    sec.text(CAVEAT_004)
    sec.text(labels_sentence(int(errors), share, m["most_predicted_in_errors"],
                             rules.rarely_predicted(cm, "Disgust").ok,
                             rules.most_predicted(cm, "Fear").ok))
    return sec


#: Report 004's own warning about its figure (its section 3), which its per-row table comes from.
CAVEAT_004 = ("Report 004's table of each emotion's most confused partner is judged row by row "
              "in the reproduction table. Its matrix, that report says, came from a validation "
              "split drawn again after training, so most of its images had been trained on: "
              "its recalls are higher than held-out images give, and its rows' partners, not "
              "its recalls, are what is compared here.")


def labels_sentence(errors, share, most, disgust_rare, fear_most):
    """Which wrong labels the model gives, against report 000 (few wrong Disgust) and 001
    (other classes often confused with Fear); ``share``: float (7,) of the errors per label."""
    dis = CLASS_NAMES.index("Disgust")
    txt = (f"Of the {errors:,} errors, {pct(share[dis])} put the label Disgust on another class: "
           + ("the fewest of any label, as report 000 found (few images wrongly called "
              "Disgust)" if disgust_rare else "not the fewest of the labels, unlike report 000 "
              "(few images wrongly called Disgust)"))
    txt += (f". The label most often wrongly given is {most} ({pct(float(np.max(share)))} of the "
            "errors)" + ("; as report 001 found, other classes are often confused with Fear."
                         if fear_most else
                         "; report 001's \"other emotions are often confused with Fear\" is not "
                         "what we measure (Fear must get the most wrong labels, well above "
                         "1/6)."))
    return txt


def pairs_sentence(reported):
    """The reports' confusion pairs, each with its report and share, split by the verdict of
    :func:`fer_keras.report.rules.confusion_pair` (among the 5 largest and above chance)."""
    def grouped(rs):  # a pair two reports make is named once, with both reports
        by_pair = {}
        for r in rs:
            by_pair.setdefault((r["true"], r["predicted"]), (r, []))[1].append(r["report"])
        return by_pair

    def pairs(by_pair):
        words = join_names(["{} -> {} ({}, {} {})".format(
            a, b, pct(r["share"]), "report" if len(reps) == 1 else "reports", join_names(reps))
            for (a, b), (r, reps) in by_pair.items()])
        return f"{words} {'is' if len(by_pair) == 1 else 'are'}"

    hits = grouped(r for r in reported if r["reproduced"])
    misses = grouped(r for r in reported if not r["reproduced"])
    txt = ("**Against the reports** (a pair counts when it is among the 5 largest confusions "
           "and above the share that the predicted class gets from the other classes): ")
    if hits:
        txt += f"{pairs(hits)} reproduced here" + ("; " if misses else ".")
    if misses:
        txt += f"{pairs(misses)} not."
    return txt
