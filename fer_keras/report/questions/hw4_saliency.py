"""HW4 Q1: saliency for Happy, Sad, Surprise and Neutral, against report 002, read off a method
that passed every check (the homework's SmoothGrad when none did)."""
from __future__ import annotations

from fer_keras.analyses.regions import matches
from fer_keras.report import rules
from fer_keras.report.claims import of_kind
from fer_keras.report.document import Section, fnum, join_names
from fer_keras.report.questions._saliency import (
    CHECK_NAMES,
    check_verdicts,
    checks_part,
    method_note,
    region_method,
    saliency_section,
    split_checks,
)

ID = "hw4-saliency"
TITLE = "HW4 Q1. Saliency maps of several classes"
QUESTION = ("Draw saliency maps for several classes and discuss where the model looks.")
ORDER = 80
SECONDS = {"full": 5.4, "quick": 1.0}  # on the reference machine (fer_keras.report.catalogue)
MODELS = ("explained",)  # Context.explained: the shipped model on FER2013

#: The homework's method (report 002 used SmoothGrad).
HOMEWORK_METHOD = "smoothgrad"


def answer(ctx):
    """HW4 Q1: saliency for Happy, Sad, Surprise and Neutral, against report 002, on the model
    HW4 explains (:meth:`~fer_keras.report.context.Context.explained`), read off the first
    method that passed every check on it (SmoothGrad when none did)."""
    sec = Section("hw4-saliency")
    ex = ctx.explained()
    own = ex.name != ctx.cnn_name()  # another model than HW3's: its checks are shown here
    sec.text(f"HW4 explains {ex.why}, on {ex.words} images.")
    claimed = {c.value[0]: c.value[1] for c in of_kind("region", "hw4-saliency")}
    classes = list(claimed)
    method, good = region_method(ctx, HOMEWORK_METHOD, ex)
    method_note(sec, method, HOMEWORK_METHOD, good, checks_here=own)
    stats, _, _ = saliency_section(ctx, sec, classes, method, ex)
    verdicts = {}
    lines = []
    for cname, e in stats.items():
        rep = claimed[cname]
        v = rules.region(e["focus"], rep, rules.class_lean(stats, cname))
        verdicts[cname] = {"measured": e["focus"], "reported": rep, "agrees": v.ok}
        own_class = not v.ok and matches(e["focus"], rep)  # the answer, but every class's
        lines.append(f"{cname}: {answer_words(e['focus'])} (eyes {fnum(e['eyes'])}x, "
                     f"mouth {fnum(e['mouth'])}x, face box {fnum(e['face'])}x the "
                     f"references); report 002 saw the {rep} - "
                     + ("consistent." if v.ok else f"**not** this class's own: {v.why}."
                        if own_class else "**not** what we measure here."))
    sec.numbers = {"method": method, "model": ex.name, "split": ex.split, "classes": stats,
                   "against_report": verdicts}
    sec.bullets(lines)
    n_ok = sum(v["agrees"] for v in verdicts.values())
    sec.text(f"{n_ok} of {len(verdicts)} classes agree with what report 002 observed.")
    sec.numbers["checks"] = (checks_part(ctx, sec, method, ex) if own
                             else trust_note(ctx, sec, method, ex))
    return sec


def answer_words(answer):
    """The region answer as the start of a sentence."""
    if answer == "none":
        return "the maps favour **no region** beyond the model-free references"
    return f"the maps favour the **{answer}**"


def trust_note(ctx, sec, method, subject):
    """One paragraph: did ``method`` pass the checks of HW3 Q4 on ``subject``'s model (the same
    checks, computed once per model and report), and which methods did."""
    _, verdicts, good = check_verdicts(ctx, subject)
    v = verdicts.get(method)
    if v is None:
        return {"method": method, "passed": None, "recommended": good}
    failed = [c for c, _ in split_checks(v)[1]]
    how = ("passed every check" if v["passed"] else
           "failed the checks of " + join_names([CHECK_NAMES.get(c, c) for c in failed]))
    txt = f"**Trust.** {method} {how} on this model (HW3 Q4 has the table and the reasons); "
    txt += (f"the methods that passed every check are {join_names(good)}." if good else
            "no method passed every check, so these regions are a hypothesis, not a finding.")
    sec.text(txt)
    return {"method": method, "passed": bool(v["passed"]), "failed": failed, "recommended": good}
