"""HW4 Q1: SmoothGrad saliency for Happy, Sad, Surprise and Neutral, against report 002."""
from __future__ import annotations

from fer_keras.report.catalogue import REPORTED
from fer_keras.report.common import agrees
from fer_keras.report.document import Section, fnum
from fer_keras.report.questions._saliency import saliency_section


def answer(ctx):
    """HW4 Q1: SmoothGrad saliency for Happy, Sad, Surprise and Neutral, against report 002."""
    sec = Section("hw4-saliency")
    classes = list(REPORTED["saliency_focus"])
    stats, _, _ = saliency_section(ctx, sec, classes, "smoothgrad")
    verdicts = {}
    lines = []
    for cname, e in stats.items():
        rep = REPORTED["saliency_focus"][cname]
        ok = agrees(e["focus"], rep)
        verdicts[cname] = {"measured": e["focus"], "reported": rep, "agrees": ok}
        lines.append(f"{cname}: the map favours the **{e['focus']}** (eyes {fnum(e['eyes'])}x, "
                     f"mouth {fnum(e['mouth'])}x); report 002 saw the {rep} - "
                     + ("consistent." if ok else "**not** what we measure here."))
    sec.numbers = {"method": "smoothgrad", "model": ctx.cnn_name(), "classes": stats,
                   "against_report": verdicts}
    sec.bullets(lines)
    n_ok = sum(v["agrees"] for v in verdicts.values())
    sec.text(f"{n_ok} of {len(verdicts)} classes agree with what report 002 observed.")
    return sec
