"""HW3 bonus: labeled-only vs self-training, and vs FixMatch, at 10% and 25% labels."""
from __future__ import annotations

from fer_keras.report.common import split_words, standard_error, times_word
from fer_keras.report.document import Section, join_names, pct, points

ID = "bonus-semi"
TITLE = "HW3 bonus. Semi-supervised learning: self-training and FixMatch"
QUESTION = ("Remove part of the training labels and learn from the rest plus the unlabeled "
            "images (semi-supervised learning); compare with supervised only.")
ORDER = 70
SECONDS = {"full": 1463.0, "quick": 150.0}  # on the reference machine (fer_keras.report.catalogue)
MODELS = ()  # trains its own models
TRAINS = True  # trains its own models: not with --model PATH


def _compare(ctx, part, out):
    """Run (or reuse) the comparison of profile entry ``part`` ("semi" or "fixmatch") into
    ``out``: ``(SemiConfig, semi.compare's result)``."""
    from fer_keras import semi

    p = dict(ctx.profile[part])
    model = p.pop("model") or ctx.cnn_name()
    scfg = semi.SemiConfig(model=model, data=str(ctx.cfg.data), out=str(out),
                           n_synthetic=ctx.cfg.n_synthetic, seed=ctx.cfg.seed, **p)
    res = semi.compare(scfg, splits=ctx.splits, progress=ctx.log, reuse=True)
    if res.pop("reused", False):
        ctx.reused.append(f"the {'FixMatch' if part == 'fixmatch' else 'self-training'} "
                          "comparison")
    return scfg, res


def answer(ctx):
    """HW3 bonus: labeled-only vs self-training, and vs FixMatch, at 10% and 25% labels."""
    sec = Section("bonus-semi")
    d = ctx.qdir(sec.id)
    scfg, res = _compare(ctx, "semi", d)
    fcfg, fres = _compare(ctx, "fixmatch", d / "fixmatch")
    results = res["results"]
    sec.numbers = {**res, "fixmatch": fres}
    where, chooser = _splits_words(ctx, results)
    budget = scfg.warm_steps + scfg.rounds * scfg.round_steps
    fracs = join_names(["{:.0%}".format(r["fraction"]) for r in results])
    sec.text(f"We keep the labels of a stratified {fracs} "
             f"of the {len(ctx.splits['train']):,} training images and hide the rest. "
             f"**Self-training**: train `{scfg.model}` on the labeled images for {scfg.warm_steps} "
             f"steps, then {times_word(scfg.rounds)}: let the best checkpoint so far label every "
             f"unlabeled image it is at least {scfg.threshold:.0%} sure of (capped per class by "
             f"the labeled class shares), and train {scfg.round_steps} more steps on "
             + (f"batches {scfg.mix:.0%} pseudo-labeled, {1 - scfg.mix:.0%} labeled"
                if scfg.mix else "labeled + pseudo-labeled images")
             + " (pseudo-labels from clean images, training on augmented ones). **Labeled "
             "only**: the same model trained on the labeled images alone for the "
             f"same {budget} steps of batch {scfg.batch_size}. The two share the first "
             f"{scfg.warm_steps} steps (one run, then two branches), keep their best-validation "
             f"weights (on {chooser}) and are scored on {where}.")
    rows = []
    for r in results:
        last = r["self_training"]["rounds"][-1]
        rows.append([f"{r['fraction']:.0%}", f"{r['n_labeled']:,}", f"{r['n_unlabeled']:,}",
                     pct(r["supervised"]["test_accuracy"]),
                     pct(r["self_training"]["test_accuracy"]), points(r["gain"]),
                     f"{last['n_pseudo']:,}", pct(last["pseudo_accuracy"])])
    sec.table(["labeled", "labeled images", "unlabeled images", "labeled only", "self-training",
               "gain", "pseudo-labels (last round)", "pseudo-label accuracy"], rows,
              caption=f"Accuracy on {where}")
    _bars(sec, ctx, results, "self_training", "self-training", d / "semi.png",
          f"Self-training vs labeled only ({scfg.model})")
    lines = []
    for r in results:
        g = r["gain"]
        verdict, se = _verdict(ctx, r)
        last = r["self_training"]["rounds"][-1]
        teacher = last.get("teacher_val_accuracy")
        why = (f"; the last round's teacher had {pct(teacher)} validation accuracy and its "
               f"{last['n_pseudo']:,} pseudo-labels were {pct(last['pseudo_accuracy'])} right"
               if last["n_pseudo"] else
               f"; the teacher ({pct(teacher)} validation accuracy) was never "
               f"{scfg.threshold:.0%} sure of any unlabeled image, so no pseudo-label was used")
        lines.append(f"{r['fraction']:.0%} labels: self-training {verdict} "
                     f"({pct(r['self_training']['test_accuracy'])} vs "
                     f"{pct(r['supervised']['test_accuracy'])}, {points(g)}, "
                     f"{g / se:+.1f} standard errors){why}.")
    sec.bullets(lines)
    _fixmatch_part(sec, ctx, fcfg, fres["results"], d)
    return sec


def _fixmatch_part(sec, ctx, cfg, results, d):
    from fer_keras import semi

    where, chooser = _splits_words(ctx, results)
    steps = cfg.rounds * cfg.round_steps
    sup_steps = round(steps * semi.fixmatch_cost(cfg.mu))
    thr = ("FreeMatch's self-adaptive per-class thresholds (Wang et al. 2023: a moving average "
           "of the model's confidence, scaled per class by how often it predicts the class)"
           if cfg.adaptive_threshold else f"a fixed threshold of {cfg.fixmatch_threshold:.0%}")
    sec.text(f"**FixMatch** (Sohn et al. 2020), a consistency method: after a supervised warm "
             f"start of {cfg.warm_steps} steps on the labeled images, each of {steps} steps "
             f"takes {cfg.batch_size} labeled and {cfg.mu * cfg.batch_size} unlabeled images; "
             "the model's prediction on a weakly augmented view (flip, shift) of an unlabeled "
             "image is its pseudo-label, kept when the prediction is at least as sure as "
             f"{thr}, and the model learns to predict it on a strongly augmented view (rotation, "
             "zoom, shift, cut-out, contrast and brightness; the project's `keras.ops` "
             f"augmentation). **Labeled only** continues from the same warm start for "
             f"{sup_steps} steps, the same compute (a FixMatch step costs "
             f"{semi.fixmatch_cost(cfg.mu):.2f} labeled steps in forward and backward passes). "
             f"Model `{cfg.model}`; both keep their best weights on {chooser} "
             f"and are scored on {where}, which chose nothing.")
    rows, lines = [], []
    for r in results:
        sup, fm = r["supervised"]["test_accuracy"], r["fixmatch"]["test_accuracy"]
        verdict, se = _verdict(ctx, r)
        used = r["fixmatch"]["mask_rate"][-1] if r["fixmatch"]["mask_rate"] else None
        rows.append([f"{r['fraction']:.0%}", f"{r['n_labeled']:,}", pct(sup), pct(fm),
                     points(r["gain"]), f"{r['gain'] / se:+.1f}", pct(used)])
        lines.append(f"{r['fraction']:.0%} labels: FixMatch {verdict} ({pct(fm)} vs {pct(sup)}, "
                     f"{points(r['gain'])}, {r['gain'] / se:+.1f} standard errors of "
                     f"{se * 100:.1f} points; clear means beyond 2).")
    sec.table(["labeled", "labeled images", "labeled only (equal compute)", "FixMatch", "gain",
               "gain / standard error", "unlabeled images used (last steps)"], rows,
              caption=f"Accuracy on {where}")
    _bars(sec, ctx, results, "fixmatch", "FixMatch", d / "fixmatch.png",
          f"FixMatch vs labeled only, equal compute ({cfg.model})")
    sec.bullets(lines)


def _verdict(ctx, r):
    """(words, standard error): a method "helps clearly" / "hurts" when its gain over
    labeled-only is beyond two standard errors of labeled-only's accuracy on the scoring split
    (about 0.8 points each on PublicTest's 3,589 images)."""
    se = standard_error(r["supervised"]["test_accuracy"], len(ctx.splits[r["scored_on"]]))
    words = ("helps clearly" if r["gain"] > 2 * se else "hurts" if r["gain"] < -2 * se
             else "makes no clear difference")
    return words, se


def _splits_words(ctx, results):
    """(the split that scores, the split that chooses the weights), in words
    (:func:`fer_keras.semi.selection_and_score_splits`)."""
    scored_on = results[0]["scored_on"]
    return (split_words(ctx.splits[scored_on], scored_on),
            "the validation split" if scored_on == "test" else "a part of the training set")


def _bars(sec, ctx, results, key, label, path, title):
    """The figure of one comparison: labeled-only vs ``results[i][key]`` per fraction."""
    from fer_keras import plotting

    fig = plotting.semi_comparison(
        [r["fraction"] for r in results],
        {"labeled only": [r["supervised"]["test_accuracy"] for r in results],
         label: [r[key]["test_accuracy"] for r in results]}, path, title=title,
        n=len(ctx.splits[results[0]["scored_on"]]))
    sec.figure(fig, f"Labeled-only vs {label} accuracy per labeled fraction (bars: +-1 "
                    "standard error)", ctx.out)
