"""The questions the report answers, one module per question, registered by their declarations:
what the report, its catalogue (:mod:`fer_keras.report.catalogue`), ``fer-keras report
--questions``, the Makefile targets and ``examples/question.py`` all read.

Each module of this package (its name not starting with ``_``) declares, above its code::

    ID = "q3-confusion"        # its one name: --questions, make q3-confusion, OUT/q3-confusion/
    TITLE = "HW3 Q3. ..."      # the report's heading
    QUESTION = "Draw ..."      # the question as the reports ask it (REPORTS.md)
    ORDER = 30                 # the report's order (gaps of 10 leave room for a new question)
    SECONDS = {"full": 0.5}    # seconds on the reference machine per profile (catalogue)
    TRAINS = False             # True: it trains its own models (not with --model PATH)
    MODELS = ("cnn",)          # the report's models it uses: "cnn", "dnn" (the matched DNN),
                               # "explained" (what HW4 explains, Context.explained); () none

and defines ``answer(ctx) -> Section``. The module's name is the id with underscores
(``q3_confusion``): the id gives every other name.

**Adding a question** is one file and one test: ``fer_keras/report/questions/<id_>.py`` with the
declarations and ``answer``, and its test; it then appears in the report (by ``ORDER``), in
``--questions``, as ``make <id>`` and as ``python examples/question.py <id>``
(``tests/report/test_questions.py`` checks every registered question without being told).
"""
from __future__ import annotations

import importlib
import pkgutil
import types

from fer_keras.errors import FerInputError

#: What every question module declares (see the package docstring), with the defaults of those
#: that may be left out.
FIELDS = {"ID": None, "TITLE": None, "QUESTION": None, "ORDER": None, "SECONDS": {},
          "TRAINS": False, "MODELS": ("cnn",)}
#: The roles a question's ``MODELS`` may name.
ROLES = ("cnn", "dnn", "explained")


def module_name(qid):
    """The module that answers question ``qid`` (``"q3-confusion"`` -> ``"q3_confusion"``)."""
    return qid.replace("-", "_")


def _declared(module):
    """``module``'s declarations as a namespace (``id``, ``title``, ``question``, ``order``,
    ``seconds``, ``trains``, ``models``, ``answer``); ``TypeError`` naming what is missing or
    wrong."""
    short = module.__name__.rpartition(".")[2]
    missing = [k for k, d in FIELDS.items() if d is None and not hasattr(module, k)]
    if missing or not callable(getattr(module, "answer", None)):
        raise TypeError(f"question module {short} lacks {', '.join(missing) or 'answer(ctx)'}")
    q = types.SimpleNamespace(**{k.lower(): getattr(module, k, d) for k, d in FIELDS.items()},
                              answer=module.answer, module=module.__name__)
    unknown = [r for r in q.models if r not in ROLES]
    if unknown or isinstance(q.models, str):
        raise TypeError(f"question module {short} declares MODELS {q.models!r}: a tuple of "
                        f"{', '.join(ROLES)}")
    if module_name(q.id) != short:
        raise TypeError(f"question module {short} declares ID {q.id!r}: its module must be "
                        f"{module_name(q.id)}")
    return q


def registry():
    """``{id: namespace}`` of every question module of this package, by ``ORDER``."""
    found = [_declared(importlib.import_module(f"{__name__}.{info.name}"))
             for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_")]
    orders = [q.order for q in found]
    if len(set(orders)) != len(orders):
        raise TypeError(f"two questions declare the same ORDER: {sorted(orders)}")
    return {q.id: q for q in sorted(found, key=lambda q: q.order)}


def ids():
    """The question ids in report order."""
    return tuple(registry())


def answer_function(qid):
    """The function ``answer(ctx) -> Section`` of question ``qid``."""
    questions = registry()
    if qid not in questions:
        raise FerInputError(f"unknown question {qid!r}; valid: {', '.join(questions)}")
    return questions[qid].answer
