"""The questions of the reports (REPORTS.md) as tables: ids in report order, titles, the
questions as the reports ask them and the reference seconds, all read from the questions'
declarations (:mod:`fer_keras.report.questions`); what the reports claim is in
:mod:`fer_keras.report.claims`."""
from __future__ import annotations

from fer_keras.report import questions as _questions

_REGISTRY = _questions.registry()

#: Question ids in report order, with their titles (also the Makefile targets).
QUESTION_TITLES = {qid: q.title for qid, q in _REGISTRY.items()}
QUESTIONS = tuple(QUESTION_TITLES)

#: The questions as the reports ask them (REPORTS.md), shown above each answer.
QUESTION_TEXT = {qid: q.question for qid, q in _REGISTRY.items()}

#: The questions that train their own models (Q1's curves, Q2's DNN, the semi-supervised bonus).
TRAINING_QUESTIONS = tuple(qid for qid, q in _REGISTRY.items() if q.trains)

#: Seconds that a report run took on the reference machine (2-core x86 CPU, no GPU, TF 2.21,
#: Keras 3.15; RESULTS.md, "The real-data report"), per profile: ``questions`` without the
#: training of the models (each question's ``SECONDS``), and, for the quick profile on the
#: synthetic faces, ``epoch``: seconds per epoch of the CNN and the DNN on its 2,400 training
#: images. On FER2013 the estimate times the training on the machine at hand instead
#: (:func:`fer_keras.train.throughput.epoch_seconds`). Used only for the estimate printed at the
#: start, an upper bound when OUT holds earlier work (trained runs are not counted; a stored
#: semi-supervised comparison with the same settings is reused but counted).
REFERENCE_SECONDS = {
    profile: {"epoch": epoch,
              "questions": {qid: q.seconds[profile] for qid, q in _REGISTRY.items()
                            if profile in q.seconds}}
    for profile, epoch in (("full", {}),
                           ("quick", {"small_cnn": 3.5, "dnn_matched_small_cnn": 1.0}))}
