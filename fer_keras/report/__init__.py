"""The reports, regenerated: every question of ``REPORTS.md`` answered with numbers measured now.

:func:`build_report` (``fer-keras report``, ``make report``) trains what it needs (or reuses the
run folders under ``OUT/runs``), answers each question with its module in
:mod:`fer_keras.report.questions`, and writes:

* ``OUT/<question>/``: that question's figures, ``numbers.json`` (every number it measured),
  ``answer.md`` and ``config.json``;
* ``OUT/report.html``: one self-contained page (figures embedded as data URIs);
* ``OUT/report.md``: its Markdown twin (figures linked relative to ``OUT``);
* ``OUT/report.json``: all numbers, the run's settings, versions and timings.

The answers are written *from the numbers*: the most confused pairs are read from the confusion
matrix, whether the DNN overfits more from the measured train/validation gaps, where a saliency
map looks from its mass in the eye and mouth regions, and so on; a sentence compares with what
the original report observed only where the measurement supports or contradicts it. The
measuring is done by :mod:`fer_keras.analyses` (the same code as ``fer-keras explain``).

The package:

=====================  ========================================================================
catalogue              question ids, titles and texts, what the original reports observed
config                 :class:`ReportConfig`, the explanation budgets per profile
context                :class:`Context`: data, trained models (through :class:`RunDir`)
document               :class:`Section`, number formatting, Markdown and HTML rendering
questions              one module per question, ``answer(ctx) -> Section``; the registry
build                  :func:`build_report`, :func:`run_question`
=====================  ========================================================================

``examples/question.py QUESTION`` answers any one question (``make q3-confusion``) through
:func:`run_question` with a :class:`Context` from :func:`fer_keras.cli.report.example_context`
(its command line).
"""
from fer_keras.analyses.regions import (
           REGIONS,
           region_answer,
           region_concentration,
           region_profile,
)
from fer_keras.report.build import build_report, command_line, run_question, versions
from fer_keras.report.catalogue import QUESTION_TEXT, QUESTION_TITLES, QUESTIONS
from fer_keras.report.common import pick_examples
from fer_keras.report.config import PROFILES, ReportConfig, resolve_settings
from fer_keras.report.context import Context
from fer_keras.report.document import (
           Section,
           fnum,
           pct,
           points,
           render_html,
           render_markdown,
)

__all__ = ["PROFILES", "QUESTIONS", "QUESTION_TEXT", "QUESTION_TITLES", "REGIONS",
           "Context", "ReportConfig", "Section", "build_report", "command_line",
           "fnum", "pct", "region_answer", "region_profile", "pick_examples", "points",
           "region_concentration", "render_html", "render_markdown",
           "resolve_settings", "run_question", "versions"]
