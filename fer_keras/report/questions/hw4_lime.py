"""HW4 Q3: LIME for one image per class; evidence regions against per-class recall."""
from __future__ import annotations

import numpy as np

from fer_keras import CLASS_NAMES
from fer_keras.analyses.regions import focus_of, region_concentration
from fer_keras.report.common import pick_examples
from fer_keras.report.document import Section, fnum, join_names, pct


def answer(ctx):
    """HW4 Q3: LIME for one image per class; evidence regions against per-class recall."""
    from fer_keras import evaluate
    from fer_keras.analyses import lime

    sec = Section("hw4-lime")
    name = ctx.cnn_name()
    ds = ctx.val
    probs = ctx.probs(name, "val")
    recall = evaluate.metrics(ds.labels, probs)["per_class"]
    picks = pick_examples(ds, probs, 1)
    rows = [int(idx[0]) for idx in picks.values()]
    settings = lime.Settings(num_samples=ctx.profile["lime_samples"],
                             segments=ctx.profile["lime_segments"], seed=ctx.cfg.seed)
    res = lime.run(ctx.model(name), ds, settings, ctx.qdir(sec.id), rows=rows)
    stats = {}
    for c, i, fig in zip(picks, rows, res.files):
        cname = CLASS_NAMES[c]
        r = res.arrays["explanations"][i]
        pos = np.clip(np.asarray(r["weights"][c], np.float64), 0, None)[r["segments"]]
        conc = region_concentration(pos[None])
        article = "an" if cname[0] in "AEIOU" else "a"
        sec.figure(fig, f"LIME for validation image #{i}, {article} {cname} face "
                        f"(model: {cname} with p = {r['probs'][c]:.2f})", ctx.out)
        stats[cname] = {"image_index": i, "prob": float(r["probs"][c]),
                        "eyes": conc["eyes"], "mouth": conc["mouth"], "focus": focus_of(conc),
                        "recall": recall[cname]["recall"],
                        "fit_r2": float(np.asarray(r.get("score", [np.nan] * 7))[c])}
    sec.numbers = {"model": name, "num_samples": ctx.profile["lime_samples"],
                   "n_segments": ctx.profile["lime_segments"], "classes": stats}
    sec.table(["class", "recall (Q3)", "p(class)", "eyes region", "mouth region", "LIME evidence"],
              [(c, pct(e["recall"]), fnum(e["prob"]), fnum(e["eyes"]), fnum(e["mouth"]), e["focus"])
               for c, e in sorted(stats.items(), key=lambda kv: -kv[1]["recall"])],
              caption="Where the positive LIME weight of each class's own explanation lies "
                      "(concentration, 1 = uniform), classes by recall")
    order = sorted(stats, key=lambda c: -stats[c]["recall"])
    best, worst = order[:3], order[-2:]
    def with_recall(cs):
        return join_names(["{} ({})".format(c, pct(stats[c]["recall"])) for c in cs])

    def foci(cs):
        return join_names(sorted({stats[c]["focus"] for c in cs}))

    sec.text(f"The best recognised classes ({with_recall(best)}) are explained by the "
             f"{foci(best)}; the worst ({with_recall(worst)}) by the {foci(worst)}.")
    mouth = [c for c in order if stats[c]["focus"] == "mouth"]
    if mouth:
        mean_mouth = float(np.mean([stats[c]["recall"] for c in mouth]))
        other = [c for c in order if c not in mouth]
        mean_other = float(np.mean([stats[c]["recall"] for c in other])) if other else float("nan")
        sec.numbers["mean_recall_mouth_focus"] = mean_mouth
        sec.numbers["mean_recall_other_focus"] = mean_other
        sec.text(f"The {len(mouth)} {'class' if len(mouth) == 1 else 'classes'} whose evidence "
                 f"is the mouth ({join_names(mouth)}) {'has' if len(mouth) == 1 else 'have'} a mean "
                 f"recall of {pct(mean_mouth)}, the other {len(other)} {pct(mean_other)}"
                 + (": a clear mouth shape is the easiest cue, as report 002 concluded for Happy "
                    "and Surprise." if mean_mouth > mean_other else
                    ": here a mouth-based explanation does not go with a higher recall."))
    return sec
