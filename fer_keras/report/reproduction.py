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

from fer_keras.report import rules
from fer_keras.report.common import standard_error
from fer_keras.report.document import Section, fnum, pct

TITLE = "Reproduction: the reports' numbers beside ours"
QUESTION = ("For every number and observation the reports give: what we measure on the same "
            "split, with which model and settings, and whether it was reproduced.")

def _public_split(ctx):
    """(split name, dataset, words) that the reports' accuracies compare with: PublicTest (the
    Kaggle public leaderboard), which is ``val`` when the data keeps FER2013's Usage split (the
    image folders' ``test/``, a ``fer2013.csv``); else the held-out test split. On the
    synthetic faces no accuracy of the reports applies: dataset None."""
    if ctx.cfg.synthetic:
        return "test", None, "the synthetic faces"
    val = ctx.val
    usage = getattr(val, "usage", None)
    if usage is not None and len(val) and bool(np.all(np.asarray(usage) == "PublicTest")):
        return "val", val, "PublicTest"
    if ctx.test is not None:
        return "test", ctx.test, "the held-out test split"
    return "val", val, "the validation split (no PublicTest in these data)"


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


def _private_split(ctx):
    """(dataset, words) of FER2013's PrivateTest when these data have it (a ``fer2013.csv``
    with Usage = PrivateTest rows, kept as the held-out test split), else (None, None). Only
    scored, never used for a choice."""
    t = None if ctx.cfg.synthetic else ctx.test
    usage = getattr(t, "usage", None)
    if t is not None and usage is not None and len(t) and bool(
            np.all(np.asarray(usage) == "PrivateTest")):
        return t, "PrivateTest"
    return None, None


def train_command(claim):
    """The command that trains the run an accuracy claim needs into ``OUT/runs/<run>``."""
    st = claim.settings
    flags = [f"--model {claim.model}"]
    if st.get("preset"):
        flags.append(f"--preset {st['preset']}")
    flags.append(f"--epochs {st.get('epochs', 30)}")
    if "batch_size" in st and not st.get("preset"):
        flags.append(f"--batch-size {st['batch_size']}")
    if st.get("oversample") and not st.get("preset"):
        flags.append("--oversample")
    return f"fer-keras train {' '.join(flags)} --data DATA --out OUT/runs/{claim.run}"


def finished_claim_run(ctx, claim):
    """The finished run ``OUT/runs/<claim.run>`` on these data, or None (missing, unfinished,
    other data). The report's own CNN run counts when it is the claim's."""
    from fer_keras.train.rundir import RunDir, _same_data

    if claim.run == ctx.cnn_name() and not ctx.cfg.model_path:
        return ctx.finished_run(claim.run)
    run = RunDir(ctx.out / "runs" / claim.run)
    try:
        rc = run.require_finished()[0]
    except Exception:  # noqa: BLE001 - missing or damaged: not measured
        return None
    if not run.model.is_file() or not _same_data(rc.get("data"), ctx.cfg.data) \
            or rc.get("model") != claim.model:
        return None
    return run


def _accuracy_of(ctx, key, model_fn, ds):
    k = ("claim-acc", key, id(ds))
    if k not in ctx._cache:
        from fer_keras.train.evaluate import predict_proba

        p = predict_proba(model_fn(), ds.images)
        ctx._cache[k] = float((p.argmax(1) == ds.labels).mean())
    return ctx._cache[k]


def _private_note(ctx, key, model_fn, claim):
    priv, words = _private_split(ctx)
    if priv is None:
        return "", ""
    acc = _accuracy_of(ctx, key, model_fn, priv)
    v = rules.accuracy(acc, claim.value, len(priv))
    return f"; {pct(acc)} on {words}", f"; on {words} ({len(priv):,} images): {v.status}"


def _accuracy_row(ctx, claim, test, where):
    from fer_keras import models

    if test is None:
        why = ("the synthetic faces are not FER2013" if ctx.cfg.synthetic
               else "no labelled test split in these data")
        return "", f"`{claim.model or ctx.cnn_name()}`", "not measured", why
    if not claim.run:  # the report's CNN, the model the report explains
        name = ctx.cnn_name()
        ours = _accuracy_of(ctx, name, lambda: ctx.model(name), test)
        v = rules.accuracy(ours, claim.value, len(test))
        extra, vextra = _private_note(ctx, name, lambda: ctx.model(name), claim)
        return (f"{pct(ours)} ({where}){extra}", f"`{name}`, the CNN every HW4 answer explains",
                v.status, v.why + vextra)
    run = finished_claim_run(ctx, claim)
    if run is None:
        return ("", f"`{claim.model}`, run `runs/{claim.run}`", "not measured",
                f"run `{train_command(claim)}` (OUT the report's folder), then the report again")
    rc = run.saved_config()
    desc = f"`{claim.model}` (`runs/{claim.run}`), {_describe(rc, run.history())}"
    diff = [f"{k} {rc.get(k)!r} where the report had {v!r}" for k, v in claim.settings.items()
            if rc.get(k) != v]
    own = claim.run == ctx.cnn_name() and not ctx.cfg.model_path  # the report's CNN run
    key = claim.run if own else f"run:{claim.run}"
    load = (lambda: ctx.model(claim.run)) if own else (lambda: models.load(run.best))
    ours = _accuracy_of(ctx, key, load, test)
    if diff:
        return (pct(ours), desc, "not measured",
                "not the report's settings: this run has " + ", ".join(diff))
    v = rules.accuracy(ours, claim.value, len(test))
    extra, vextra = _private_note(ctx, key, load, claim)
    return f"{pct(ours)} ({where}){extra}", desc, v.status, v.why + vextra + _precision_note(rc)


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
    v = rules.region(e["focus"], want)
    method = sec.get("method", "LIME" if claim.section == "hw4-lime" else "")
    trust = sec.get("checks", {})
    passed = trust.get("passed", trust.get("shown_passed"))
    caveat = ("" if not trust or passed is not False else
              f"; {method} failed the explanation checks on this model (HW3 Q4), so the region "
              "is a hypothesis")
    return (f"{v.measured} (eyes {fnum(e['eyes'])}x, mouth {fnum(e['mouth'])}x, face "
            f"{fnum(e['face'])}x)", f"`{sec['model']}`, {method}", v.status, v.why + caveat)


def _observation(ctx, num, claim):
    """(ours, model, status, why) of a measured observation, None when its question is not
    in this run."""
    q = num.get(claim.section)
    if q is None:
        return None
    cid = claim.id
    if cid == "000-q2-overfit":
        c, d = q["cnn"], q["dnn"]
        v = rules.observation(d["learned"] and q["gap_difference"] > 0.01,
                              f"DNN {100 * d['gap']:+.1f} vs CNN {100 * c['gap']:+.1f} points",
                              "the DNN's train - validation gap must exceed the CNN's by more "
                              "than 1 point")
        return v.measured, f"`{c['model']}` vs `{d['model']}`", v.status, v.why
    if cid == "cnn-beats-dnn":
        c, d = q["cnn"], q["dnn"]
        n = len(ctx.val)
        se = (standard_error(c["val_accuracy"], n) ** 2
              + standard_error(d["val_accuracy"], n) ** 2) ** 0.5
        v = rules.observation(d["learned"] and q["accuracy_difference"] > 2 * se,
                              f"{pct(c['val_accuracy'])} vs {pct(d['val_accuracy'])}",
                              f"the CNN must be more accurate by more than 2 standard errors "
                              f"({100 * 2 * se:.1f} points) on the {n:,} validation images, "
                              "and the DNN above the majority class")
        return v.measured, f"`{c['model']}` vs `{d['model']}`", v.status, v.why
    if cid == "001-q1-overfit":
        tr, va = q["final_train_accuracy_history"], q["final_val_accuracy_history"]
        v = rules.observation(tr > va, f"train {pct(tr)}, validation {pct(va)} at the end",
                              "the validation accuracy must end below the training accuracy")
        return v.measured, f"`{q['model']}`", v.status, v.why
    if cid == "001-q2-val-drop":
        name = num["q2-dnn"]["dnn"]["model"]
        hist = [r.get("val_accuracy") for r in ctx.history(name)]
        hist = [h for h in hist if h is not None]
        if len(hist) < 2:
            return None
        best = max(hist)
        v = rules.observation(hist[-1] < best - 0.005 and hist.index(best) < len(hist) - 1,
                              f"best {pct(best)} at epoch {hist.index(best) + 1}, last "
                              f"{pct(hist[-1])}", "the last epoch's validation accuracy must "
                              "be more than 0.5 points below the best one, reached earlier")
        return v.measured, f"`{name}`", v.status, v.why
    if cid == "001-q4-middle":
        faces = [e["face"] for e in q["classes"].values()]
        m = float(np.exp(np.mean(np.log(faces))))
        v = rules.observation(m >= 1.0, f"face box {fnum(m)}x the centre prior's share",
                              "the maps must put at least the centre prior's share of their "
                              "mass in the face box (random maps: about 0.8x)")
        return v.measured, f"`{q['model']}`, {q['method']}", v.status, v.why
    if cid == "002-q2-textures":
        g = q.get("noise_vs_image", {})
        w = g.get("within_a_share_alike", float("nan"))
        v = rules.observation(np.isfinite(w) and w < 0.5,
                              f"{pct(w, 0)} of pairs of filters alike",
                              "fewer than half of the pairs of different filters may give alike "
                              "spectra (the tiles that stayed noise aside)")
        return v.measured, f"`{q['layer']}`", v.status, v.why
    if cid == "002-q2-outputs":
        fm = q["feature_maps"]
        v = rules.observation(fm["other"] > 0, f"{fm['other']} of {fm['channels']} maps keep "
                              "parts or edges", "at least one map neither reproduces, inverts "
                              "nor ignores the face")
        return v.measured, f"`{q['layer']}`", v.status, v.why
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


def _claim_row(ctx, num, claim, test, where):
    """(ours, model and settings, status, why) of one claim."""
    from fer_keras import models

    kind = claim.kind
    if kind == "untestable":
        return "", "", "not testable", claim.why
    if kind == "accuracy":
        return _accuracy_row(ctx, claim, test, where)
    if kind == "params":
        v = rules.params(int(models.build(claim.model).count_params()), claim.value)
        return v.measured, f"`{claim.model}`", v.status, v.why
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
        v = rules.separation(e["silhouette"], e["silhouette_shuffled_95"], want)
        return v.measured, f"`{e['layer']}` of `{ctx.cnn_name()}`", v.status, v.why
    if kind == "visual_similarity":
        v = rules.visual_similarity(q["noise_vs_image"], claim.value)
        return (v.measured, f"`{q['layer']}` of `{ctx.cnn_name()}` (report 000: its second "
                "conv layer)", v.status, v.why)
    cm = np.asarray(q["confusion"])
    model = f"`{q['model']}`, {q['n']:,} validation images"
    fn = getattr(rules, kind)
    if kind == "confusion_pair":
        v = fn(cm, *claim.value)
    elif kind in ("recall_best", "recall_worst"):
        v = fn(cm, claim.value[0])
    elif kind == "recall_above":
        v = fn(cm, *claim.value)
    else:
        v = fn(cm, claim.value)
    return v.measured, model, v.status, v.why


def _reported(claim):
    val = claim.value
    if claim.kind == "accuracy":
        return ("about " if claim.id == "002-accuracy" else "") + pct(val, 0 if val * 100 == int(
            val * 100) else 1)
    if claim.kind == "params":
        return f"{val:,}"
    if claim.kind in ("recall_best", "recall_worst"):
        return f"{val[0]} {pct(val[1], 0)}"
    if claim.kind == "region":
        return f"{val[0]}: {val[1]}"
    if claim.kind == "separation":
        return f"{val[0]} layer: {val[1]}"
    if claim.kind == "confusion_pair":
        return f"{val[0]} -> {val[1]}" + (" (37%)" if claim.id == "001-q3-sad-fear" else "")
    if claim.kind == "recall_above":
        return f"only {' and '.join(val[0])} >= {pct(val[1], 0)}"
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
    split, test, where = _public_split(ctx)
    rows = []
    for c in CLAIMS:
        try:
            ours, model, status, why = _claim_row(ctx, num, c, test, where)
        except (KeyError, TypeError, ValueError) as e:  # a question's numbers lack a field
            ours, model, status, why = "", "", "not measured", f"no number: {e}"
        if ctx.cfg.synthetic and status != "not testable" and c.kind not in ("params",):
            why = (why + "; " if why else "") + "synthetic faces: says nothing of FER2013"
        rule = rules.RULES.get(c.kind, "") if c.kind != "untestable" else ""
        rows.append({"id": c.id, "report": ", ".join(c.reports), "question": c.question,
                     "claim": c.quote, "reported": _reported(c), "ours": ours, "model": model,
                     "status": status, "rule": rule, "why": why})
    counts = {s: sum(r["status"] == s for r in rows) for s in STATUSES}
    sec.numbers = {"rows": rows, "counts": counts, "rules": rules.RULES}
    sec.text(f"Every claim of the five reports, once, with the report that makes it (the "
             f"catalogue: `fer_keras/report/claims.py`). Our accuracies are measured on {where} unless "
             f"a row says otherwise. Of {len(rows)} claims, **{counts['reproduced']} "
             f"reproduced**, {counts['not reproduced']} not reproduced, "
             f"{counts['not measured']} not measured in this run (the row says how to measure "
             f"it) and {counts['not testable']} not testable here (the row says why). Each "
             "verdict follows the rule of its kind, listed below the table; every rule has a "
             "model-free control that fails it (tests/report/test_rules.py)."
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
    return sec
