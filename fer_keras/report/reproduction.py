"""The reproduction table: every claim of the reports (:mod:`fer_keras.report.claims`), beside ours.

:func:`reproduction_section` is built after the questions are answered, from their numbers, from
the model registry (parameter counts) and from the finished runs in ``OUT/runs/<run>`` that the
accuracy claims name (:func:`train_command` makes one); nothing is trained for it. Each row says
which model and settings gave our number, the verdict of the claim's kind
(:mod:`fer_keras.report.rules`) and why; a claim whose run or question is missing is "not
measured" with the command that measures it, an untestable one says why.
"""
from __future__ import annotations

import numpy as np

from fer_keras import CLASS_NAMES
from fer_keras.report import claim_runs, rules
from fer_keras.report.common import split_words
from fer_keras.report.document import Section, fnum, pct

TITLE = "Reproduction: the reports' numbers beside ours"
QUESTION = ("For every number and observation the reports give: what we measure on the same "
            "split, with which model and settings, and whether it was reproduced.")

def _scored_split(ctx):
    """``(dataset, words)`` that the reports' accuracies and confusions are compared on: the
    context's scoring split, which chose no checkpoint (:attr:`Context.scored`: PublicTest on
    FER2013's image folders, PrivateTest with a ``fer2013.csv``). On the synthetic faces no
    accuracy of the reports applies: dataset None."""
    if ctx.cfg.synthetic:
        return None, "the synthetic faces"
    split, ds = ctx.scored
    if ds is None or not len(ds) or ds.labels is None:
        return None, "no labelled split"
    return ds, split_words(ds, split) + ", which chose no checkpoint"


def _describe(run_cfg, history=()):
    """The run's settings in words; with its ``history`` rows, the epochs it trained (fewer
    than asked when early stopping ended it) and its training time."""
    from fer_keras.report.common import train_summary

    want, done = run_cfg.get("epochs"), len(history)
    epochs = (f"{want} epochs" if not done else
              f"{done} of {want} epochs (early stopping)" if want and done < want else
              f"{done} epochs")
    secs = sum(float(r.get("seconds") or 0) for r in history)
    took = f" in {secs / 60:.0f} min" if secs else ""
    return (f"{epochs}{took}, {train_summary(run_cfg)}"
            + (f", preset {run_cfg['preset']}" if run_cfg.get("preset") else "")
            + (f", precision {run_cfg['precision']}" if _mixed_precision(run_cfg) else ""))


def _mixed_precision(run_cfg):
    """Whether the run trained in 16-bit compute (``--precision mixed``), not float32."""
    return run_cfg.get("precision", "float32") != "float32"


def _spec_run(ctx, spec):
    """``(run, accuracy on the scoring split, description, problem)``: the finished run of
    ``spec`` scored, or ``(None, None, description, why not)`` with the command that makes it
    or the setting that differs."""
    run_name, model, _ = spec
    ds, _ = _scored_split(ctx)
    run = claim_runs.finished(ctx, spec)
    if run is None:
        return None, None, f"`{model}`, run `runs/{run_name}`", (
            f"run `{claim_runs.command(spec)}` (OUT the report's folder), then the report "
            "again")
    rc = run.saved_config()
    desc = f"`{model}` (`runs/{run_name}`), {_describe(rc, run.history())}"
    diff = claim_runs.mismatch(rc, spec)
    acc = claim_runs.accuracy(ctx, spec, run, ds)
    if diff:
        return run, acc, desc, "not the report's settings: this run has " + ", ".join(diff)
    return run, acc, desc, ""


def _accuracy_row(ctx, claim):
    ds, where = _scored_split(ctx)
    if ds is None:
        why = ("the synthetic faces are not FER2013" if ctx.cfg.synthetic
               else "no labelled test split in these data")
        return "", f"`{claim.model or ctx.cnn_name()}`", "not measured", why
    if not claim.run:  # the model the HW4 answers explain
        ex = ctx.explained()
        spec = (ex.name, ex.name, {})
        ours = claim_runs.accuracy(ctx, spec, None, ds)
        v = rules.accuracy(ours, claim.value, len(ds))
        return (f"{pct(ours)} ({where})", f"{ex.why}: the model every HW4 answer explains",
                v.status, v.why)
    spec = claim_runs.specs(claim)[0]
    run, ours, desc, problem = _spec_run(ctx, spec)
    if run is None:
        return "", desc, "not measured", problem
    if problem:
        return pct(ours), desc, "not measured", problem
    sd, sd_words = claim_runs.spread(ctx, spec, ours, ds)
    v = rules.accuracy(ours, claim.value, len(ds), sd)
    return (f"{pct(ours)} ({where})", desc, v.status,
            v.why + f"; {sd_words}" + _precision_note(run.saved_config()))


def _comparison_row(ctx, claim):
    ds, where = _scored_split(ctx)
    if ds is None:
        return "", "", "not measured", "the synthetic faces are not FER2013"
    got = [_spec_run(ctx, s) for s in claim.runs]
    descs = " vs ".join(g[2] for g in got)
    problems = [g[3] for g in got if g[3]]
    if problems:
        return "", descs, "not measured", "; ".join(problems)
    (_, a, _, _), (_, b, _, _) = got
    sd, sd_words = claim_runs.spread(ctx, claim.runs[0], a, ds)
    expect = claim.value if isinstance(claim.value, str) else "gain"
    gain = None if isinstance(claim.value, str) else claim.value
    v = rules.comparison(a, b, len(ds), expect, gain=gain, spread=sd)
    return f"{v.measured} ({where})", descs, v.status, v.why + f"; {sd_words}" + \
        _guesser_note(claim, (a, b), ds)


def _guesser_note(claim, accs, ds):
    """The caveat of a comparison whose run is no better than always answering the scoring
    split's most frequent class (:func:`rules.beats_majority`): the row compares a model with a
    guess, not two models."""
    majority, cls = _majority(ds.labels)
    idle = [f"`{run}`" for (run, _, _), acc in zip(claim.runs, accs)
            if not rules.beats_majority(acc, majority, len(ds))]
    if not idle:
        return ""
    return (f"; {' and '.join(idle)} {'is' if len(idle) == 1 else 'are'} no better than always "
            f"answering {cls} ({pct(majority)})")


def _majority(labels):
    """``(share, class name)`` of the most frequent class in ``labels``: the accuracy of always
    answering it."""
    counts = np.bincount(np.asarray(labels, np.int64), minlength=len(CLASS_NAMES))
    return counts.max() / max(counts.sum(), 1), CLASS_NAMES[int(counts.argmax())]


def _history_of(ctx, spec):
    """``(history rows, description)`` of the finished run of ``spec``, or ``(None, why
    not)``."""
    run, _, desc, problem = _spec_run(ctx, spec)
    if run is None or problem:
        return None, problem
    return run.history(), desc


def _precision_note(rc):
    """The caveat of a run trained in mixed precision: the reports' Keras trained in float32,
    and a 16-bit run (bfloat16 on a CPU) is the same recipe with other rounding."""
    if not _mixed_precision(rc):
        return ""
    return ("; trained in mixed precision (16-bit compute, float32 weights) where the reports "
            "trained in float32")


def _region_evidence(num, claim):
    cls, want = claim.value
    sec = num.get(claim.section)
    if not sec or cls not in sec.get("classes", {}):
        return None
    e = sec["classes"][cls]
    v = rules.region(e["focus"], want, rules.class_lean(sec["classes"], cls))
    method = sec.get("method", "LIME" if claim.section == "hw4-lime" else "")
    trust = sec.get("checks", {})
    passed = trust.get("passed", trust.get("shown_passed"))
    caveat = ("" if not trust or passed is not False else
              f"; {method} failed the explanation checks on this model (HW3 Q4), so the region "
              "is a hypothesis")
    return (f"{v.measured} (eyes {fnum(e['eyes'])}x, mouth {fnum(e['mouth'])}x, face "
            f"{fnum(e['face'])}x)", f"`{sec['model']}`, {method}", v.status, v.why + caveat)


def _final_gap(hist):
    """``(train - validation accuracy at the last epoch, best validation accuracy)``."""
    last = hist[-1]
    return (float(last["accuracy"]) - float(last["val_accuracy"]),
            max(float(r["val_accuracy"]) for r in hist))


def stopped_growing(val):
    """``(stopped, gain)``: the validation accuracy's gain over the last third of the epochs
    against the best before it; "stopped growing" when that gain is under 0.5 points."""
    k = max(1, len(val) - max(1, len(val) // 3))
    gain = max(val[k:]) - max(val[:k])
    return gain < 0.005, float(gain)


def _run_observation(ctx, claim):
    """(ours, model, status, why) of an observation on the histories of the claim's runs."""
    got = [(_history_of(ctx, s), s) for s in claim.runs]
    missing = [h[1] for h, _ in got if h[0] is None]
    descs = " vs ".join(h[1] for h, _ in got if h[0] is not None)
    if missing:
        return "", descs, "not measured", "; ".join(missing)
    hists = [[r for r in h[0] if r.get("val_accuracy") is not None] for h, _ in got]
    if claim.id == "000-q2-overfit":
        (gc, _), (gd, best_d) = (_final_gap(h) for h in hists)
        majority, _ = _majority(ctx.val.labels)
        v = rules.observation(best_d > majority and gd - gc > 0.02,
                              f"DNN {100 * gd:+.1f} vs CNN {100 * gc:+.1f} points",
                              "the DNN's train - validation gap at the last epoch must exceed "
                              "the CNN's by more than 2 points, and the DNN's validation "
                              f"accuracy beat the majority class ({pct(majority)})")
        return v.measured, descs, v.status, v.why
    if claim.id == "001-q2-val-drop":
        val = [float(r["val_accuracy"]) for r in hists[0]]
        best = max(val)
        i = val.index(best)
        v = rules.observation(len(val) > 1 and val[-1] < best - 0.005 and i < len(val) - 1,
                              f"best {pct(best)} at epoch {i + 1}, last {pct(val[-1])}",
                              "the last epoch's validation accuracy must be more than 0.5 "
                              "points below the best one, reached earlier")
        return v.measured, descs, v.status, v.why
    raise KeyError(f"no measurement for observation {claim.id}")


def _observation(ctx, num, claim):
    """(ours, model, status, why) of a measured observation, None when its question is not
    in this run."""
    if claim.runs:
        return _run_observation(ctx, claim)
    q = num.get(claim.section)
    if q is None:
        return None
    cid = claim.id
    if cid == "001-q1-overfit":
        hist = [r for r in ctx.history(q["model"]) if r.get("val_accuracy") is not None]
        val = [float(r["val_accuracy"]) for r in hist]
        gap = float(hist[-1]["accuracy"]) - val[-1]
        stopped, gain = stopped_growing(val)
        v = rules.observation(stopped and gap > 0.01,
                              f"gain {100 * gain:+.1f} points over the last third of the "
                              f"epochs; train - validation {100 * gap:+.1f} points at the end",
                              "the validation accuracy must gain under 0.5 points in the last "
                              "third of the epochs over its best before, and end more than 1 "
                              "point below the training accuracy")
        return v.measured, f"`{q['model']}`", v.status, v.why
    if cid == "001-q4-middle":
        # report 001 drew a vanilla-gradient map: judged on those when the question drew them
        vanilla = q.get("vanilla", {}).get("classes")
        method = "vanilla gradients" if vanilla else q["method"]
        faces = [e["face"] for e in (vanilla or q["classes"]).values()]
        ok, m, t = rules.beats_control(faces)
        v = rules.observation(ok, f"face box {fnum(m)}x the centre prior's share (t = {t:.1f} "
                              f"over {len(faces)} classes)", "the maps' share in the face box "
                              "must beat a centre blob's (which scores 1x) with t >= 2 over the "
                              "classes; random maps score about 0.8x")
        return v.measured, f"`{q['model']}`, {method}", v.status, v.why
    if cid in ("004-q5-contours", "004-q5-no-features"):
        return _report_004_layer(q.get("report_004") or {}, claim)
    if cid == "002-q3-mouth-accuracy":
        return _mouth_accuracy(num, q)
    if cid == "002-q2-textures":
        g = q.get("noise_vs_image", {})
        w = g.get("within_a_share_alike", float("nan"))
        u = q.get("untrained_share_alike", float("nan"))
        v = rules.observation(np.isfinite(w) and w < 0.5 and np.isfinite(u) and w < u,
                              f"{pct(w, 0)} of pairs of filters alike (untrained network: "
                              f"{pct(u, 0)})",
                              "fewer than half of the pairs of different filters may give alike "
                              "spectra (the tiles that stayed noise aside), and fewer than on "
                              "the same network with random weights")
        return v.measured, f"`{q['layer']}` of `{q.get('model') or ctx.cnn_name()}`", v.status, \
            v.why
    if cid == "002-q2-outputs":
        fm, u = q["feature_maps"], q.get("untrained_feature_maps")
        share = fm["other"] / max(fm["channels"], 1)
        u_share = u["other"] / max(u["channels"], 1) if u else float("nan")
        v = rules.observation(fm["other"] > 0 and np.isfinite(u_share) and share > u_share,
                              f"{fm['other']} of {fm['channels']} maps keep parts or edges "
                              f"(untrained network: {u['other'] if u else '?'} of "
                              f"{u['channels'] if u else '?'})",
                              "at least one map neither reproduces, inverts nor ignores the "
                              "face, and a larger share of them than on the same network with "
                              "random weights")
        return v.measured, f"`{q['layer']}` of `{q.get('model') or ctx.cnn_name()}`", v.status, \
            v.why
    if cid == "002-q3-eyes-or-mouth":
        a, b = q["eyes_or_mouth_share"], q["eyes_or_mouth_share_shuffled"]
        v = rules.observation(a >= 0.8 and a - b >= 0.2,
                              f"{pct(a, 0)} of {q['images']} images (shuffled weights "
                              f"{pct(b, 0)})", "at least 80% of the images, 20 points above "
                              "the shuffled-weights control")
        return v.measured, f"`{q['model']}`, LIME", v.status, v.why
    if cid == "003-q6-formula":
        ok = all(m["all_match"] for m in q["models"])
        v = rules.observation(ok, "matches Keras on every layer" if ok else "a layer differs",
                              "the formula's shape must equal Keras's for every conv and "
                              "pooling layer of the models tried")
        return v.measured, ", ".join(f"`{m['model']}`" for m in q["models"]), v.status, v.why
    raise KeyError(f"no measurement for observation {cid}")


def _report_004_layer(own, claim):
    """Report 004's readings of its CNN's second conv layer (q5's ``report_004``): its feature
    maps only trace contours; 500 ascent steps from noise show no particular feature."""
    if "contours" not in own:
        return ("", f"`{claim.model}`, its second conv layer", "not measured",
                f"run `{own.get('missing', claim_runs.command(claim_runs.specs(claim)[0]))}` "
                "(OUT the report's folder), then the report again")
    where = f"`{own['layer']}` of `{own['model']}` (report 004's second conv layer)"
    if claim.id == "004-q5-contours":
        c, u = own["contours"], own.get("untrained_contours")
        v = rules.observation(c["live"] > 0 and c["share"] >= rules.CONTOUR_SHARE
                              and u is not None and c["share"] > u["share"],
                              f"{c['contour']} of {c['live']} live maps trace contours "
                              f"(random weights: {u['contour'] if u else '?'} of "
                              f"{u['live'] if u else '?'})",
                              f"at least {pct(rules.CONTOUR_SHARE, 0)} of the live maps must "
                              "follow the image's edge map (r >= 0.3) more than the image, and "
                              "a larger share than on the same network with random weights; "
                              "copies of the face and noise do not")
        return v.measured, where, v.status, v.why
    t = own["noise_tiles"]
    v = rules.observation(t["tiles"] > 0 and t["share"] >= rules.FEATURELESS_SHARE,
                          f"{t['featureless']} of {t['tiles']} tiles after {own['steps']} steps: "
                          f"noise ({t['noise']}) or one-orientation stripes ({t['oriented']})",
                          f"at least {pct(rules.FEATURELESS_SHARE, 0)} of the tiles must be "
                          "noise or stripes of one orientation; faces and blobs are neither")
    return v.measured, where, v.status, v.why


def _mouth_accuracy(num, lime):
    """Report 002: the classes LIME explains by the mouth are the better recognised. Their mean
    recall (the explained model's confusion matrix, on the images LIME explained from) against
    the other classes', beyond 2 combined SE."""
    cm = np.asarray(lime["confusion"])
    st = rules.recall_stats(cm)
    mouth = [c for c, e in lime["classes"].items() if "mouth" in e["focus"]]
    rest = [c for c in CLASS_NAMES if c not in mouth and cm[CLASS_NAMES.index(c)].sum() > 0]
    if not mouth or not rest:
        return ("", f"`{lime['model']}`, LIME", "not reproduced",
                "LIME explains " + ("no class" if not mouth else "every class") + " by the mouth")

    def mean_se(cs):
        rs = [st[CLASS_NAMES.index(c)] for c in cs]
        return float(np.mean([r[0] for r in rs])), float(np.sqrt(sum(r[1] ** 2 for r in rs))
                                                          / len(rs))
    (ma, sa), (mb, sb) = mean_se(mouth), mean_se(rest)
    tol = 2 * float(np.hypot(sa, sb))
    v = rules.observation(ma - mb > tol, f"mouth classes ({', '.join(mouth)}) {pct(ma)} vs "
                          f"the others {pct(mb)}", f"the mean recall of the classes LIME "
                          f"explains by the mouth must exceed the others' by more than 2 "
                          f"combined SE ({100 * tol:.1f} points)")
    return v.measured, f"`{lime['model']}`, LIME and the confusion matrix", v.status, v.why


def _static_row(ctx, claim):
    """(ours, model, status, why) of a claim measured on the registry or the data alone."""
    from fer_keras import models

    kind = claim.kind
    if kind in ("params", "shape"):
        net = models.build(claim.model)
        if kind == "shape":
            flat = next((layer for layer in net.layers if "flatten" in layer.name.lower()), None)
            if flat is None:
                return "", f"`{claim.model}`", "not reproduced", "the model has no Flatten layer"
            v = rules.shape(int(flat.output.shape[-1]), claim.value)
            return v.measured, f"`{claim.model}`, layer `{flat.name}`", v.status, v.why
        ours = rules.model_counts(net) if isinstance(claim.value, tuple) else int(
            net.count_params())
        v = rules.params(ours, claim.value)
        if claim.why:  # the architecture was sized to the count: a match proves nothing
            return v.measured, f"`{claim.model}`", "not testable", claim.why
        return v.measured, f"`{claim.model}`", v.status, v.why
    if ctx.cfg.synthetic:
        return "", "", "not measured", "the synthetic faces are not FER2013"
    counts = ctx.training_counts
    if counts is None:
        ctx.splits  # noqa: B018 - loading the splits sets the counts
        counts = ctx.training_counts
    total = int(np.sum(counts))
    v = (rules.data_count(counts, *claim.value) if kind == "data_count"
         else rules.data_rarest(counts, claim.value))
    return v.measured, f"the {total:,} training images of these data", v.status, v.why


def _confusion_row(num, claim):
    q = num.get(claim.section)
    if q is None:
        return "", "", "not measured", f"{claim.section} was not answered in this run"
    cm = np.asarray(q["confusion"])
    model = f"`{q['model']}`, " + q.get("where", f"{q['n']:,} images")
    kind, val = claim.kind, claim.value
    if kind == "confusion_pair":
        v = rules.confusion_pair(cm, val[0], val[1], reported=(val[2:] or (None,))[0])
    elif kind in ("recall_best", "recall_worst"):
        v = getattr(rules, kind)(cm, val[0], reported=val[1])
    elif kind in ("recall_above", "confusion_row"):
        v = getattr(rules, kind)(cm, *val)
    else:
        v = getattr(rules, kind)(cm, val)
    return v.measured, model, v.status, v.why


def _claim_row(ctx, num, claim):
    """(ours, model and settings, status, why) of one claim."""
    kind = claim.kind
    if kind == "untestable":
        return "", "", "not testable", claim.why
    if kind == "unmeasured":
        return "", "", "not measured", claim.why
    if kind == "accuracy":
        return _accuracy_row(ctx, claim)
    if kind == "comparison":
        return _comparison_row(ctx, claim)
    if kind in rules.STATIC_KINDS:
        return _static_row(ctx, claim)
    if kind == "observation":
        r = _observation(ctx, num, claim)
        return r or ("", "", "not measured", f"{claim.section} was not answered in this run")
    q = num.get(claim.section)
    if q is None:
        return "", "", "not measured", f"{claim.section} was not answered in this run"
    if kind == "region":
        r = _region_evidence(num, claim)
        return r or ("", "", "not measured", f"{claim.value[0]} has no images here")
    if kind == "separation":
        layer, want = claim.value
        e = q[layer]
        other = q.get("last") if layer == "first" else None
        contrast = (None if other is None else
                    (other["silhouette"], other["silhouette_shuffled_95"]))
        v = rules.separation(e["silhouette"], e["silhouette_shuffled_95"], want, contrast)
        return (v.measured, f"`{e['layer']}` of `{q.get('model') or ctx.cnn_name()}`", v.status,
                v.why)
    if kind == "visual_similarity":  # report 000's CNN at its second conv layer
        own = q.get("report_000") or {}
        if "noise_vs_image" not in own:
            return ("", f"`{claim.model}`, its second conv layer", "not measured",
                    f"run `{own.get('missing', claim_runs.command(claim_runs.specs(claim)[0]))}`"
                    " (OUT the report's folder), then the report again")
        v = rules.visual_similarity(own["noise_vs_image"], claim.value)
        return (v.measured, f"`{own['layer']}` of `{own['model']}` (report 000's second conv "
                "layer)", v.status, v.why)
    return _confusion_row(num, claim)


def _reported(claim):
    val = claim.value
    kind = claim.kind
    if kind == "accuracy":
        return ("about " if claim.id == "002-accuracy" else "") + pct(val, 0 if val * 100 == int(
            val * 100) else 1)
    if kind == "params":
        if isinstance(val, tuple):
            return f"{val[0]:,} ({val[1]:,} trainable, {val[2]:,} non-trainable)"
        return f"{val:,}"
    if kind in ("shape", "data_count"):
        return f"{val:,}" if kind == "shape" else f"{val[1]:,} {val[0]}"
    if kind in ("recall_best", "recall_worst"):
        return f"{val[0]} {pct(val[1], 0)}"
    if kind == "region":
        return f"{val[0]}: {val[1]}"
    if kind == "separation":
        return f"{val[0]} layer: {val[1]}"
    if kind == "confusion_pair":
        return f"{val[0]} -> {val[1]}" + (f" ({pct(val[2], 0)})" if len(val) > 2 else "")
    if kind == "confusion_row":
        return f"{val[0]} -> {', '.join(val[1]) if val[1] else 'not obvious'}"
    if kind == "recall_above":
        return f"only {' and '.join(val[0])} >= {pct(val[1], 0)}"
    if kind == "recall_top":
        return f"best: {', '.join(val)}"
    if kind == "comparison":
        a, b = claim.runs[0][0], claim.runs[1][0]
        return (f"`{a}` {val} than `{b}`" if isinstance(val, str)
                else f"`{a}` +{100 * val:.0f} points over `{b}`")
    return str(val) if val not in (None, True) else "yes"


STATUSES = ("reproduced", "not reproduced", "not measured", "not testable")


def reproduction_section(ctx, sections):
    """The reproduction table as a :class:`Section` (id ``reproduction``), one row per claim of
    :data:`fer_keras.report.claims.CLAIMS`, from the answered ``sections`` (``{id: Section}`` or a
    list), the registry and the finished runs in ``OUT/runs``; nothing is trained for it.
    Numbers: ``{"rows": [...], "counts": {status: n}}``, each row ``id, report, question,
    claim, reported, ours, model, status, rule, why``; status one of :data:`STATUSES`."""
    from fer_keras.report.claims import CLAIMS

    secs = {s.id: s for s in sections} if not isinstance(sections, dict) else sections
    num = {k: s.numbers for k, s in secs.items() if not s.error}
    sec = Section("reproduction", title=TITLE, question=QUESTION)
    _, where = _scored_split(ctx)
    rows = []
    for c in CLAIMS:
        try:
            ours, model, status, why = _claim_row(ctx, num, c)
        except (KeyError, TypeError, ValueError) as e:  # a question's numbers lack a field
            ours, model, status, why = "", "", "not measured", f"no number: {e}"
        if ctx.cfg.synthetic and status not in ("not testable", "not measured") \
                and c.kind not in ("params", "shape"):
            why = (why + "; " if why else "") + "synthetic faces: says nothing of FER2013"
        rule = rules.RULES.get(c.kind, "")
        rows.append({"id": c.id, "report": ", ".join(c.reports), "question": c.question,
                     "claim": c.quote, "reported": _reported(c), "ours": ours, "model": model,
                     "status": status, "rule": rule, "why": why})
    counts = {s: sum(r["status"] == s for r in rows) for s in STATUSES}
    sec.numbers = {"rows": rows, "counts": counts, "rules": rules.RULES}
    sec.text(f"Every claim of the five reports, once, with the report that makes it (the "
             f"catalogue: `fer_keras/report/claims.py`). Our accuracies and confusions are "
             f"measured on {where}: every model here kept the epoch that was best on a "
             f"stratified 10% of the training images. Of {len(rows)} claims, **{counts['reproduced']} "
             f"reproduced**, {counts['not reproduced']} not reproduced, "
             f"{counts['not measured']} not measured in this run (the row says how to measure "
             f"it) and {counts['not testable']} not testable here (the row says why). Each "
             "verdict follows the rule of its kind, listed below the table; each rule is tested "
             "with a model-free or shuffled control that must fail it "
             "(tests/report/test_rules.py)."
             + (" **These are the synthetic faces**: a verdict here shows that the pipeline "
                "measures the claim, not that FER2013 behaves so; run the report with `--data` "
                "(`make report DATA=...`) for the real verdicts." if ctx.cfg.synthetic else ""))
    sec.table(["report", "question", "claim", "reported", "ours", "model and settings here",
               "verdict"],
              [(r["report"], r["question"], r["claim"], r["reported"], r["ours"], r["model"],
                f"**{r['status']}**" + (f": {r['why']}" if r["why"] else ""))
               for r in rows])
    kinds = [k for k in rules.RULES if any(c.kind == k for c in CLAIMS)]
    sec.bullets([f"**{k.replace('_', ' ')}**: {rules.RULES[k]}" for k in kinds])
    sec.numbers["runs"] = runs_behind_rows(ctx, sec, CLAIMS)
    return sec


def runs_behind_rows(ctx, sec, claims):
    """Each finished claim run of ``claims`` but the report's own CNN (HW3 Q1 shows that
    one): its parameters, how it trained, its training curves (``OUT/reproduction/<run>
    _curves.png``) and, once per model, its layer table, added to ``sec``. Returns ``[{"run",
    "model", "params", "trainable_params", "epochs_run", "best_epoch",
    "best_val_accuracy"}]``."""
    from fer_keras.report.common import copy_figure
    from fer_keras.train import evaluate

    specs = list(claim_runs.all_specs(claims))
    if any(s[0] == claim_runs.SPREAD_SPEC[0] for s in specs):
        specs.append(claim_runs.seed_spec(claim_runs.SPREAD_SPEC))
    found = []
    for spec in specs:
        if spec[0] == ctx.cnn_name() and not ctx.cfg.model_path:
            continue
        run = claim_runs.finished(ctx, spec)
        if run is not None and run.curves.is_file():
            found.append((spec, run))
    if not found:
        return []
    sec.text("**The runs behind the rows.** Each model that a row above names, but the "
             "report's own CNN (HW3 Q1 shows it), as it trained here: its size, its settings "
             "and its curves (train vs the 10% of the training images that chose the kept "
             "epoch); the layers of each model once.")
    out, tabled = [], set()
    for (run_name, model, _), run in found:
        net = ctx.run_model(run)
        hist = run.history()
        params, trainable, _ = rules.model_counts(net)
        best = max(hist, key=lambda r: r.get("val_accuracy", -1)) if hist else {}
        row = {"run": run_name, "model": model, "params": params,
               "trainable_params": trainable, "epochs_run": len(hist),
               "best_epoch": int(best.get("epoch", 0)),
               "best_val_accuracy": float(best.get("val_accuracy", float("nan")))}
        out.append(row)
        sec.text(f"`{model}` (`runs/{run_name}`): {params:,} parameters ({trainable:,} "
                 f"trainable); {_describe(run.saved_config(), hist)}; the best validation "
                 f"accuracy, {pct(row['best_val_accuracy'])}, came at epoch "
                 f"{row['best_epoch']}.")
        curves = copy_figure(run.curves, ctx.qdir(sec.id) / f"{run_name}_curves.png")
        sec.figure(curves, f"Training curves of `{model}` (`runs/{run_name}`): accuracy and "
                           "loss, train vs validation", ctx.out)
        if model not in tabled:
            tabled.add(model)
            sec.table(["layer", "type", "output shape", "params"],
                      [(n, t, sh, f"{p:,}") for n, t, sh, p in evaluate.layer_table(net)],
                      caption=f"Layers of `{model}`")
    return out
