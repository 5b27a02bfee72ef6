"""HW3 bonus: labeled-only vs self-training at 10% and 25% labels."""
from __future__ import annotations

from fer_keras.report.common import times_word
from fer_keras.report.document import Section, join_names, pct, points


def answer(ctx):
    """HW3 bonus: labeled-only vs self-training at 10% and 25% labels."""
    from fer_keras import plotting, semi

    sec = Section("bonus-semi")
    d = ctx.qdir(sec.id)
    p = dict(ctx.profile["semi"])
    model = p.pop("model") or ctx.cnn_name()
    scfg = semi.SemiConfig(model=model, data=str(ctx.cfg.data), out=str(d),
                           n_synthetic=ctx.cfg.n_synthetic, seed=ctx.cfg.seed, **p)
    res = semi.compare(scfg, splits=ctx.splits, progress=ctx.log, reuse=True)
    if res.pop("reused", False):
        ctx.reused.append("the semi-supervised comparison")
    results = res["results"]
    sec.numbers = res
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
             f"weights and are scored on the held-out {results[0]['scored_on']} split.")
    rows = []
    for r in results:
        last = r["self_training"]["rounds"][-1]
        rows.append([f"{r['fraction']:.0%}", f"{r['n_labeled']:,}", f"{r['n_unlabeled']:,}",
                     pct(r["supervised"]["test_accuracy"]),
                     pct(r["self_training"]["test_accuracy"]), points(r["gain"]),
                     f"{last['n_pseudo']:,}", pct(last["pseudo_accuracy"])])
    sec.table(["labeled", "labeled images", "unlabeled images", "labeled only", "self-training",
               "gain", "pseudo-labels (last round)", "pseudo-label accuracy"], rows,
              caption=f"Accuracy on the {results[0]['scored_on']} split")
    fig = plotting.semi_comparison([r["fraction"] for r in results],
                                   [r["supervised"]["test_accuracy"] for r in results],
                                   [r["self_training"]["test_accuracy"] for r in results],
                                   d / "semi.png", title=f"Self-training vs labeled only "
                                                         f"({scfg.model})")
    sec.figure(fig, "Labeled-only vs self-training accuracy per labeled fraction", ctx.out)
    lines = []
    for r in results:
        g = r["gain"]
        verdict = "helps" if g > 0.01 else "hurts" if g < -0.01 else "makes no clear difference"
        last = r["self_training"]["rounds"][-1]
        teacher = last.get("teacher_val_accuracy")
        why = (f"; the last round's teacher had {pct(teacher)} validation accuracy and its "
               f"{last['n_pseudo']:,} pseudo-labels were {pct(last['pseudo_accuracy'])} right"
               if last["n_pseudo"] else
               f"; the teacher ({pct(teacher)} validation accuracy) was never "
               f"{scfg.threshold:.0%} sure of any unlabeled image, so no pseudo-label was used")
        lines.append(f"{r['fraction']:.0%} labels: self-training {verdict} "
                     f"({pct(r['self_training']['test_accuracy'])} vs "
                     f"{pct(r['supervised']['test_accuracy'])}, {points(g)}){why}.")
    sec.bullets(lines)
    return sec
