"""HW3 Q4: saliency maps for every class, read off a method that passed every check (the
homework's vanilla gradient when none did)."""
from __future__ import annotations

import numpy as np

from fer_keras import CLASS_NAMES
from fer_keras.report.document import Section, fnum
from fer_keras.report.questions._saliency import (
    checks_part,
    method_note,
    region_method,
    saliency_section,
)
from fer_keras.report.questions.hw4_saliency import answer_words

ID = "q4-saliency"
TITLE = "HW3 Q4. Saliency maps: where does the CNN look?"
QUESTION = ("Draw saliency maps of the CNN: which parts of the image does the model focus on "
            "when it classifies?")
ORDER = 40
SECONDS = {"full": 583.0, "quick": 43.0}  # on the reference machine (fer_keras.report.catalogue)

#: The homework's method (HW3 Q4 asks for vanilla-gradient maps).
HOMEWORK_METHOD = "vanilla"


def answer(ctx):
    """HW3 Q4: saliency maps for every class, read off the first method that passed every
    check on the CNN (vanilla gradients, the homework's method, when none did)."""
    sec = Section("q4-saliency")
    cnn = ctx.cnn_subject()
    method, good = region_method(ctx, HOMEWORK_METHOD, cnn)
    method_note(sec, method, HOMEWORK_METHOD, good)
    stats, regions, truth = saliency_section(ctx, sec, CLASS_NAMES, method, cnn)
    sec.numbers = {"method": method, "model": ctx.cnn_name(), "classes": stats,
                   "regions": regions, "ground_truth": truth}
    lines = []
    for cname, e in stats.items():
        lines.append(f"{cname}: {answer_words(e['focus'])} (eyes region {fnum(e['eyes'])}x, "
                     f"mouth region {fnum(e['mouth'])}x, face box {fnum(e['face'])}x the "
                     "references)")
    sec.text("Where the class score is most sensitive, per class (averaged over up to "
             f"{ctx.profile['saliency_images']} validation images of the class):")
    sec.bullets(lines)
    pm = [e.get("part_mask_concentration") for e in stats.values()]
    pm = [p for p in pm if p is not None and np.isfinite(p)]
    if pm and truth is not None:
        c = truth["controls"]
        sec.text(f"On the synthetic faces we know where the expression is drawn: on average the "
                 f"maps put {fnum(float(np.mean(pm)))}x the uniform share of their mass on the "
                 f"mouth, brows and eyes. Model-free maps favour those parts too (the image's "
                 f"edge map {fnum(c['edge'])}x, a centre prior {fnum(c['centre'])}x), so the "
                 "question is whether the maps beat them: "
                 + ("they do (" + truth["reason"] + "), so the CNN does look at the expression."
                    if truth["passed"] else
                    "they do not (" + truth["reason"] + "), so these maps do not show that the "
                    "CNN looks at the expression rather than at the face's edges."))
    sec.numbers["checks"] = checks_part(ctx, sec, method, cnn)
    if method != HOMEWORK_METHOD:
        # reports 000 and 001 drew vanilla-gradient maps: shown beside, with the checks' word
        passed = HOMEWORK_METHOD in good
        sec.text(f"For comparison, the vanilla-gradient maps that reports 000 and 001 drew, "
                 f"which {'passed' if passed else 'did not pass'} every check on this CNN "
                 f"(table above){'' if passed else ', so their regions are not to be trusted'}:")
        v_stats, _, _ = saliency_section(ctx, sec, CLASS_NAMES, HOMEWORK_METHOD, cnn)
        sec.numbers["vanilla"] = {"classes": v_stats, "passed_checks": passed}
    return sec
