"""HW4 Q3: LIME over ``lime_images`` images per class of the model HW4 explains; the region of each class's
evidence, the per-class shares of the images' regions, against recall and report 002."""
from __future__ import annotations

import numpy as np

from fer_keras import CLASS_NAMES
from fer_keras.analyses.regions import ANSWERS, RULE, region_answer, region_profile
from fer_keras.report.common import pick_examples
from fer_keras.report.document import Section, fnum, join_names, pct

ID = "hw4-lime"
TITLE = "HW4 Q3. LIME: superpixels that explain each class"
QUESTION = ("Explain each class with LIME (superpixels) and relate the explanations to the "
            "confusion matrix: why does the model do well on some labels?")
ORDER = 100
SECONDS = {"full": 52.0, "quick": 12.0}  # on the reference machine (fer_keras.report.catalogue)
MODELS = ("explained",)  # Context.explained: the shipped model on FER2013

#: The answers that count as "explained by the eyes or the mouth" (report 002).
EYES_OR_MOUTH = ("eyes", "mouth", "eyes and mouth")


def lime_maps(explanations, rows, labels, shuffle_seed=None):
    """The positive LIME weight of each image's own class painted on its superpixels, float
    ``(len(rows), H, W)``; with ``shuffle_seed``, each image's weights permuted among its
    superpixels first (the control: the same superpixels and weights, no relation to the
    face)."""
    rng = None if shuffle_seed is None else np.random.default_rng(shuffle_seed)
    out = []
    for i, c in zip(rows, labels):
        r = explanations[i]
        w = np.clip(np.asarray(r["weights"][c], np.float64), 0, None)
        if rng is not None:
            w = rng.permutation(w)
        out.append(w[r["segments"]])
    return np.stack(out)


def image_answers(maps):
    """The region answer of each map on its own (one image: the ratios alone decide)."""
    p = region_profile(maps)
    return [region_answer({k: v[i:i + 1] for k, v in p.items()})["answer"]
            for i in range(len(maps))]


def shares(answers):
    """``{answer: share of the list}`` over :data:`ANSWERS`."""
    n = max(len(answers), 1)
    return {a: sum(x == a for x in answers) / n for a in ANSWERS}


def class_sentence(stats, order):
    """One sentence per group: the best and the worst recognised classes, each with its own
    recall and answer (never a merged set of answers)."""
    def one(c):
        e = stats[c]
        return f"{c} ({pct(e['recall'])}: {e['focus']})"

    best, worst = order[:3], order[-2:]
    return (f"By recall on these images, the best recognised classes are {join_names([one(c) for c in best])}; "
            f"the worst {join_names([one(c) for c in worst])} (class: recall: the region of its "
            "LIME evidence over its images).")


def mouth_sentence(stats, order):
    """(sentence, numbers) comparing the recall of the classes whose evidence is the mouth with
    the others'; None when no class's is."""
    mouth = [c for c in order if stats[c]["focus"] == "mouth"]
    if not mouth:
        return None, {}
    other = [c for c in order if c not in mouth]
    mm = float(np.mean([stats[c]["recall"] for c in mouth]))
    mo = float(np.mean([stats[c]["recall"] for c in other])) if other else float("nan")
    txt = (f"The {len(mouth)} {'class' if len(mouth) == 1 else 'classes'} whose evidence is the "
           f"mouth ({join_names(mouth)}) {'has' if len(mouth) == 1 else 'have'} a mean recall "
           f"of {pct(mm)}, the other {len(other)} {pct(mo)}"
           + (": here a mouth-based explanation goes with a higher recall, as report 002 "
              "concluded for Happy and Surprise." if other and mm > mo else
              ": here a mouth-based explanation does not go with a higher recall."))
    return txt, {"mean_recall_mouth_focus": mm, "mean_recall_other_focus": mo}


def answer(ctx):
    """HW4 Q3: LIME over up to ``lime_images`` images per class (the most confident
    correct ones first); per class the region answer of its evidence and the shares of its
    images' answers, against recall and against report 002, with a shuffled-weights control."""
    from fer_keras.analyses import lime
    from fer_keras.train import evaluate

    sec = Section("hw4-lime")
    ex = ctx.explained()
    name, ds = ex.name, ex.data
    probs = ctx.probs(name, ex.split)
    scores = evaluate.metrics(ds.labels, probs)
    recall = scores["per_class"]
    per = int(ctx.profile.get("lime_images", 1))
    picks = pick_examples(ds, probs, per)
    settings = lime.Settings(num_samples=ctx.profile["lime_samples"],
                             segments=ctx.profile["lime_segments"], seed=ctx.cfg.seed)
    first = [int(idx[0]) for idx in picks.values()]
    rest = [int(i) for idx in picks.values() for i in idx[1:]]
    shown = lime.run(ctx.model(name), ds, settings, ctx.qdir(sec.id), rows=first)
    expl = dict(shown.arrays["explanations"])
    if rest:
        expl.update(lime.run(ctx.model(name), ds, settings, None, rows=rest)
                    .arrays["explanations"])
    stats, all_answers, all_control = {}, [], []
    for c, idx in picks.items():
        cname = CLASS_NAMES[c]
        rows = [int(i) for i in idx]
        maps = lime_maps(expl, rows, [c] * len(rows))
        ans = region_answer(region_profile(maps))
        per_image = image_answers(maps)
        control = image_answers(lime_maps(expl, rows, [c] * len(rows), shuffle_seed=c))
        all_answers += per_image
        all_control += control
        correct = int((probs[rows].argmax(1) == c).sum())
        stats[cname] = {"images": len(rows), "correct": correct, "eyes": ans["eyes"],
                        "mouth": ans["mouth"], "face": ans["face"], "focus": ans["answer"],
                        "image_shares": shares(per_image), "recall": recall[cname]["recall"],
                        "fit_r2": float(np.nanmean([expl[i]["score"][c] for i in rows]))}
    for (c, idx), fig in zip(picks.items(), shown.files):
        cname, i = CLASS_NAMES[c], int(idx[0])
        p = float(expl[i]["probs"][c])
        ok = int(np.argmax(expl[i]["probs"])) == c
        article = "an" if cname[0] in "AEIOU" else "a"
        sec.figure(fig, f"LIME for {ex.words} image #{i}, {article} {cname} face (model: {cname} "
                        f"with p = {p:.2f}" + ("" if ok else ", not its prediction: the class "
                                               "has no correctly predicted image") + ")", ctx.out)
    n_img = len(all_answers)
    em = sum(a in EYES_OR_MOUTH for a in all_answers) / max(n_img, 1)
    em_ctl = sum(a in EYES_OR_MOUTH for a in all_control) / max(n_img, 1)
    order = sorted(stats, key=lambda c: -stats[c]["recall"])
    sec.numbers = {"model": name, "split": ex.split, "n": len(ds),
                   "where": f"{len(ds):,} {ex.words} images",
                   "confusion": np.asarray(scores["confusion"]).tolist(),
                   "num_samples": ctx.profile["lime_samples"],
                   "n_segments": ctx.profile["lime_segments"], "images_per_class": per,
                   "images": n_img, "classes": stats, "eyes_or_mouth_share": em,
                   "eyes_or_mouth_share_shuffled": em_ctl, "rule": RULE}
    sec.text(f"HW4 explains {ex.why}. LIME ({ctx.profile['lime_samples']} perturbed images, "
             f"about {ctx.profile['lime_segments']} superpixels) explained up to {per} {ex.words} "
             f"images of each class, {n_img} in all (the most confident correct ones first); the "
             "figures show the first of each class. Each image's evidence is the positive weight "
             "of its own class on the superpixels.")
    sec.table(["class", "recall", "images (correct)", "eyes region", "mouth region",
               "face box", "answer", *[f"images: {a}" for a in ANSWERS]],
              [(c, pct(e["recall"]), f"{e['images']} ({e['correct']})", fnum(e["eyes"]),
                fnum(e["mouth"]), fnum(e["face"]), e["focus"],
                *[pct(e["image_shares"][a], 0) for a in ANSWERS]) for c in order
               for e in [stats[c]]],
              caption="Where each class's LIME evidence lies, classes by recall: the class's "
                      "answer over its images (" + RULE + ") and the share of its images "
                      "whose own evidence gives each answer (one image: the ratio alone)")
    sec.text(f"**Eyes or mouth.** {pct(em, 0)} of the {n_img} images have their evidence on the "
             f"eyes, the mouth or both; with each image's weights shuffled among its own "
             f"superpixels (the control), {pct(em_ctl, 0)}. "
             + ("Report 002 found almost every image explained by the eyes or the mouth; "
                + ("so do we, well above the control." if em >= 0.8 and em - em_ctl >= 0.2 else
                   "we do not (fewer than 80% of the images, or not 20 points above the "
                   "control).")))
    sec.text(class_sentence(stats, order))
    txt, extra = mouth_sentence(stats, order)
    sec.numbers.update(extra)
    if txt:
        sec.text(txt)
    return sec
