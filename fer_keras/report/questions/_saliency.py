"""The saliency section that HW3 Q4 and HW4 Q1 share."""
from __future__ import annotations

from fer_keras import CLASS_NAMES
from fer_keras.analyses.regions import RULE
from fer_keras.report.common import pick_examples
from fer_keras.report.document import fnum, join_names


def saliency_section(ctx, sec, classes, method, subject):
    """Saliency of ``method`` for one image per class of ``classes``, for ``subject`` (a model
    and its images: :meth:`~fer_keras.report.context.Context.cnn_subject` or
    :meth:`~fer_keras.report.context.Context.explained`); returns (per-class stats, region
    numbers, ground-truth numbers or None)."""
    from fer_keras.analyses import saliency

    name, ds = subject.name, subject.data
    probs = ctx.probs(name, subject.split)
    picks = pick_examples(ds, probs, ctx.profile["saliency_images"],
                          [CLASS_NAMES.index(c) for c in classes])
    settings = saliency.Settings(methods=(method,), samples=ctx.profile["smoothgrad_samples"],
                                 seed=ctx.cfg.seed, detail=True)
    res = saliency.run(ctx.model(name), ds, settings, ctx.qdir(sec.id), picks=picks, probs=probs)
    stats = res.numbers["methods"][method]["classes"]
    sec.figure(res.files[0], f"{saliency.caption(method)} for one {subject.words} image per class "
                             "(the most confident correct one where the class has one, else its most probable "
                             "image, titled with p): original, map, and the image's pixels "
                             "under the map's top 25%", ctx.out)
    detail = res.numbers["methods"][method].get("detail")
    if detail:
        sec.figure(res.files[1], f"The same images at finer {method} settings ("
                   + ", ".join(f"{k} {v} px" for k, v in detail.items()) + "), fine enough "
                   "for the teeth and the eyebrows that reports name; the table below is "
                   "measured at the method's default settings, which the checks judged",
                   ctx.out)
    rows = []
    for cname, e in stats.items():
        row = [cname, str(e["images"]), fnum(e["eyes"]), fnum(e["mouth"]), fnum(e["face"]),
               e["focus"]]
        if "part_mask_concentration" in e:
            row.append(fnum(e["part_mask_concentration"]))
        rows.append(row)
    header = ["class", "images", "eyes region", "mouth region", "face box", "answer"]
    if ds.masks is not None:
        header.append("true parts")
    controls = res.numbers.get("controls", {})
    sec.table(header, rows, caption="Saliency mass in each region relative to what model-free "
              "maps put there (eyes, mouth: over the larger of a centre prior's and a "
              "face-uniform map's; face box: over the centre prior's; geometric means over the "
              "images, 1 = no more than the references) and the answer: "
              + RULE + ("; true parts = the concentration on the mouth, brows and eyes drawn in "
                        "the synthetic faces" if ds.masks is not None else ""))
    if controls:
        said = sorted({a for v in controls.values() for a in v.values()})
        sec.text("**Controls.** The same rule on model-free maps of the same images: "
                 + "; ".join(f"the {k} maps answer {join_names(sorted(set(v.values())))}"
                             for k, v in controls.items())
                 + (" - so no region answer above is free." if said == ["none"] else
                    " - **a control gets a region answer, so the rule does not separate the "
                    "model from it here**."))
    return stats, res.numbers["regions"], res.numbers["methods"][method].get("ground_truth")


CHECK_NAMES = {"sanity": "randomised weights", "cascade": "cascading randomisation",
               "deletion": "deletion", "insertion": "insertion", "road": "ROAD",
               "ground_truth": "true parts"}


def method_checks(ctx, subject):
    """Every saliency method of ``subject``'s model through every check (:mod:`fer_keras.analyses.checks`:
    model randomisation full and cascading, deletion / insertion, ROAD, each against model-free
    controls) on a seeded sample of ``checks_images`` of its images; computed once per model
    and report and written to ``OUT/q4-saliency/checks.json`` (the report's CNN) or
    ``OUT/hw4-saliency/checks.json`` (another model) and their figures."""
    key = ("checks", subject.name)
    if key not in ctx._cache:
        from fer_keras.analyses import checks

        # a profile may check fewer methods (a test's tiny report); default: every registered one
        chosen = ctx.profile.get("checks_methods")
        extra = dict(methods=tuple(chosen)) if chosen else {}
        settings = checks.Settings(n=ctx.profile["checks_images"], **extra,
                                   cascade_n=ctx.profile["checks_cascade"],
                                   samples=ctx.profile["smoothgrad_samples"], seed=ctx.cfg.seed)
        where = "q4-saliency" if subject.name == ctx.cnn_name() else "hw4-saliency"
        ctx._cache[key] = checks.run(ctx.model(subject.name), subject.data, settings,
                                     ctx.qdir(where),
                                     log=lambda line: ctx.log(f"  checks: {line}"))
    return ctx._cache[key]


def check_verdicts(ctx, subject):
    """(numbers of :func:`method_checks`, the methods' verdicts in their usual order, the
    methods that passed every check) for ``subject``'s model."""
    from fer_keras.explain.verdicts import checks_rows, recommended

    numbers = method_checks(ctx, subject).numbers
    verdicts = checks_rows(numbers)[2]
    return numbers, verdicts, recommended({"verdicts": verdicts})


def region_method(ctx, default, subject):
    """``(method, recommended)``: the method whose maps a saliency question reads its regions
    off, and the methods that passed every check on ``subject``'s model
    (:func:`check_verdicts`, default rows only). The first of those, in the registry's order, when any passed; else
    ``default``, the homework's own method, which the question then says is not trusted."""
    good = [m for m in check_verdicts(ctx, subject)[2] if " @ " not in m]
    return (good[0] if good else default), good


def method_note(sec, method, default, good, checks_here=True):
    """One sentence on which method the regions come from, when it is not the default one;
    ``checks_here``: the checks' table is in this section (else in HW3 Q4)."""
    from fer_keras.explain import methods

    if method != default:
        where = "below" if checks_here else "in HW3 Q4"
        sec.text(f"The regions below are read off {methods.get(method).title} maps, not "
                 f"{methods.get(default).title} ones: {methods.get(method).title} is the first "
                 f"of the methods that passed every check on this model ({join_names(good)}; "
                 f"the checks are {where}).")


def split_checks(verdict):
    """(names of the checks passed, ``[(check, its verdict), ...]`` of those failed) of one
    method's verdict."""
    checks = [(c, e) for c, e in verdict.items() if c != "passed"]
    return ([CHECK_NAMES.get(c, c) for c, e in checks if e["passed"]],
            [(c, e) for c, e in checks if not e["passed"]])


def checks_part(ctx, sec, shown, subject):
    """The checks' table and verdicts in ``sec`` for ``subject``'s model: per method, which
    checks it passed on this model and why the others failed, the methods to trust (those that passed every check), and
    whether ``shown`` (the method of this question's figure) is one of them. Returns
    ``{"verdicts", "recommended", "shown_passed", "n"}`` for the section's numbers."""
    from fer_keras.explain.verdicts import checks_rows

    res = method_checks(ctx, subject)
    numbers, verdicts, good = check_verdicts(ctx, subject)
    header, rows, _ = checks_rows(numbers)
    sec.text(f"**Can these maps be trusted on this model?** Each saliency method went through "
             f"the checks of `fer-keras explain checks` on {numbers['n']} {subject.words} images "
             f"(cascading randomisation on {numbers['cascade_n']}): its maps must change when the "
             "weights are re-drawn (Adebayo et al. 2018, full and layer by layer), and removing "
             "the pixels it ranks first must hurt the class score more, and inserting them "
             "first help it more, than the same done by model-free maps: a random map, a smooth "
             "random map, the image's edge map and a centre prior (deletion / insertion, "
             "Petsiuk et al. 2018; ROAD, Rong et al. 2022, whose noisy-linear fill does not "
             "create evidence of its own).")
    sec.table(header, rows, caption="Checks of each saliency method on this model (rho: "
              "Spearman correlation with the randomised model's maps, lower is better; AUCs of "
              "the class probability; ROAD gap = LeRF - MoRF, higher is better)")
    for f in res.files:
        if str(f).endswith(".png") and "road" in str(f):
            sec.figure(f, "ROAD curves: class probability as the most (MoRF) or least (LeRF) "
                          "relevant pixels are imputed, methods and controls", ctx.out)
    lines = []
    for method, v in verdicts.items():
        passed, failed = split_checks(v)
        line = f"**{method}**: " + ("passes every check" if not failed else
                                     "passes " + (join_names(passed) if passed else "none"))
        if failed:
            line += "; fails " + "; ".join(f"{CHECK_NAMES.get(c, c)} ({e['reason']})"
                                           for c, e in failed)
        lines.append(line + ".")
    sec.bullets(lines)
    shown_ok = bool(verdicts.get(shown, {}).get("passed"))
    if good:
        rec = (f"On this model the maps to use are those of {join_names(good)}, which passed "
               "every check")
        rec += ("; the figure above is one of them." if shown_ok else
                f"; the figure above ({shown}) is not, so read it with that in mind.")
    else:
        score = {m: len(split_checks(v)[0]) for m, v in verdicts.items()}
        top = max(score.values()) if score else 0
        best = [m for m, s in score.items() if s == top]
        rec = (f"No method passes every check on this model, so none of these maps shows on its "
               f"own where the model looks; {join_names(best)} passed the most checks ({top} of "
               f"{len(next(iter(verdicts.values()))) - 1}).")
    sec.text(rec)
    return {"verdicts": {m: {c: (e if c == "passed" else e["passed"]) for c, e in v.items()}
                         for m, v in verdicts.items()},
            "recommended": good, "shown_passed": shown_ok, "n": numbers["n"]}
