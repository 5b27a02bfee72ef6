"""The questions the report answers: one module per question, each with ``answer(ctx) ->
Section``, listed here in report order (the registry; ids are also the Makefile targets)."""
from __future__ import annotations

import importlib

from fer_keras.errors import FerInputError

#: Question id -> the module under ``fer_keras.report.questions`` that answers it.
MODULES = {
    "q1-train": "q1_train", "q2-dnn": "q2_dnn", "q3-confusion": "q3_confusion",
    "q4-saliency": "q4_saliency", "q5-filters": "q5_filters", "q6-conv-shape": "q6_conv_shape",
    "bonus-semi": "bonus_semi", "hw4-saliency": "hw4_saliency", "hw4-filters": "hw4_filters",
    "hw4-lime": "hw4_lime", "hw4-tsne": "hw4_tsne",
}


def answer_function(qid):
    """The function ``answer(ctx) -> Section`` of question ``qid``."""
    if qid not in MODULES:
        raise FerInputError(f"unknown question {qid!r}; valid: {', '.join(MODULES)}")
    return importlib.import_module(f"{__name__}.{MODULES[qid]}").answer
