"""Answering the questions and writing the report: :func:`build_report` and :func:`run_question`
(the examples' command line is :func:`fer_keras.cli.report.example_context`)."""
from __future__ import annotations

import datetime
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from fer_keras.errors import FerInputError
from fer_keras.report.catalogue import QUESTION_TITLES
from fer_keras.report.config import ReportConfig
from fer_keras.report.context import Context
from fer_keras.report.document import Section, render_html, render_markdown
from fer_keras.report.questions import answer_function


def synthetic_notice_wanted():
    """The synthetic-data notice, unless the caller (the Makefile) printed it already."""
    return os.environ.get("FER_KERAS_SYNTHETIC_NOTICE", "1") != "0"


def run_question(qid, ctx_or_cfg, log=print, raise_errors=True, answer=None, title=""):
    """Answer one question; writes ``OUT/<qid>/{numbers.json, answer.md, config.json}``.

    ``answer``: ``ctx -> Section`` instead of the question's own (the reproduction table);
    ``title``: the section's title if it fails (default: the question's)."""
    from fer_keras.fileio import write_json, write_text

    ctx = ctx_or_cfg if isinstance(ctx_or_cfg, Context) else Context(ctx_or_cfg, log=log)
    answer = answer or answer_function(qid)
    t = time.perf_counter()
    try:
        sec = answer(ctx)
    except Exception as e:  # noqa: BLE001 - one failed question must not lose the others
        if raise_errors or isinstance(e, (KeyboardInterrupt, FerInputError)):
            raise
        sec = Section(qid, title=title,
                      error=f"{type(e).__name__}: {' '.join(str(e).split())[:300]}")
    sec.seconds = time.perf_counter() - t
    d = ctx.qdir(qid)
    write_json(d / "numbers.json", sec.numbers)
    write_json(d / "config.json", {**ctx.cfg.to_dict(), "profile_settings": ctx.profile})
    write_text(d / "answer.md", sec.markdown(level=1, fig_prefix="../"))
    if log:
        log(f"[{qid}] done in {sec.seconds:.1f} s" + (f" - FAILED: {sec.error}" if sec.error else ""))
    return sec


def estimate_seconds(ctx, log=None):
    """(seconds, notes): how long answering ``ctx.cfg.questions`` should take here: each
    question's own time on the reference machine of
    :data:`~fer_keras.report.catalogue.REFERENCE_SECONDS` (2-core CPU), plus the training of
    every model the questions use (their ``MODELS``) and the claims' runs (profile "full")
    that ``OUT/runs`` does not hold finished. On FER2013 an epoch's time is measured on this
    machine (:func:`fer_keras.train.throughput.epoch_seconds`: a timed burst of the run's own
    train steps, kept per CPU, so a second estimate costs nothing; ``log`` says when one is
    timed); on the synthetic faces it is the reference machine's. ``notes`` name the parts
    without a time (not counted)."""
    from fer_keras.report.catalogue import REFERENCE_SECONDS
    from fer_keras.report.context import SHIPPED
    from fer_keras.report.questions import registry

    ref = REFERENCE_SECONDS.get(ctx.cfg.resolved_profile, {})
    total, notes = 0.0, []
    for q in ctx.cfg.questions:
        total += ref.get("questions", {}).get(q, 0.0)
    names = {"cnn": ctx.cnn_name, "dnn": ctx.dnn_name, "explained": ctx.explained_name}
    questions = registry()
    trains = [] if ctx.cfg.model_path else list(dict.fromkeys(
        names[role]() for q in ctx.cfg.questions for role in questions[q].models))
    configs = [ctx.train_config(name) for name in trains
               if name != SHIPPED and ctx.finished_run(name) is None]
    if ctx.profile.get("claim_runs") and not ctx.cfg.synthetic and not ctx.cfg.model_path:
        from fer_keras.report import claim_runs
        from fer_keras.report.claims import CLAIMS

        configs += [claim_runs.config(ctx, s) for s, _ in claim_runs.to_train(ctx, CLAIMS)]
    for cfg in configs:
        if ctx.cfg.synthetic:
            per_epoch = REFERENCE_SECONDS["quick"]["epoch"].get(cfg.model)
        else:
            per_epoch = _measured_epoch(ctx, cfg, log)
        if per_epoch is None:
            notes.append(f"training {cfg.model} (no reference time)")
        else:
            total += per_epoch * cfg.epochs
    return total, notes


def _measured_epoch(ctx, cfg, log=None):
    """Seconds of one epoch of ``cfg`` on the report's splits, measured here, at the precision
    its training will choose (``"auto"``: :func:`~fer_keras.train.throughput.choose_precision`)."""
    from fer_keras.train.throughput import choose_precision, epoch_seconds, stored_step

    if getattr(cfg, "precision", "float32") == "auto":
        cfg = cfg.replace(precision=choose_precision(cfg, ctx.splits)[0])

    if log and stored_step(cfg) is None:
        log(f"timing a few train steps of {cfg.model} (batch {cfg.batch_size}) for the "
            "estimate")
    return epoch_seconds(cfg, ctx.splits)[0]


def estimate_line(ctx, log=None):
    """One line for the start of a report run: the estimate of :func:`estimate_seconds`."""
    from fer_keras.train.throughput import cpu_kind

    seconds, notes = estimate_seconds(ctx, log)
    how = ("the training timed on this machine, the questions as on the reference machine "
           "(RESULTS.md)" if not ctx.cfg.synthetic else "as on a 2-core CPU like the reference "
           "machine (RESULTS.md)")
    line = (f"estimated time: about {max(1, round(seconds / 60))} min for "
            f"{len(ctx.cfg.questions)} questions, {how}; this CPU: {cpu_kind()}")
    return line + (f"; not counted: {', '.join(notes)}" if notes else "")


def reproduction_table(ctx, sections, log=print):
    """The reproduction table (:mod:`fer_keras.report.reproduction`) as the report's first
    section, answered and written to ``OUT/reproduction/`` like a question."""
    from fer_keras.report.reproduction import TITLE, reproduction_section

    return run_question("reproduction", ctx, log=log, raise_errors=False, title=TITLE,
                        answer=lambda c: reproduction_section(c, sections))


def versions():
    """Versions of Python, fer_keras, Keras, its backend and numpy."""
    import keras

    import fer_keras

    v = {"python": platform.python_version(), "fer_keras": fer_keras.__version__,
         "keras": keras.__version__, "backend": keras.backend.backend(), "numpy": np.__version__,
         "platform": platform.platform()}
    try:
        mod = __import__(v["backend"])
        v["backend_version"] = getattr(mod, "__version__", "?")
    except ImportError:
        v["backend_version"] = "?"
    return v


def build_report(cfg: ReportConfig, log=print):
    """Answer ``cfg.questions`` and write ``report.html``, ``report.md`` and ``report.json``.

    Returns a dict with ``html``, ``markdown``, ``json`` (paths), ``sections`` and ``failed``
    (ids of questions that raised; their sections say why and the other questions still run).
    """
    from fer_keras.fileio import write_json, write_text

    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    started = datetime.datetime.now().astimezone()
    ctx = Context(cfg, log=log)
    write_json(out / "report_config.json", {**cfg.to_dict(), "profile_settings": ctx.profile})
    if cfg.synthetic and log and synthetic_notice_wanted():
        log("note: the report runs on the built-in synthetic faces; pass --data PATH "
            "(fer2013.csv, train.csv or an image folder; `make report DATA=PATH`) for FER2013")
    if log:
        log(estimate_line(ctx, log))
    if ctx.profile.get("claim_runs") and not cfg.synthetic and not cfg.model_path:
        from fer_keras.report import claim_runs
        from fer_keras.report.claims import CLAIMS

        claim_runs.train_all(ctx, CLAIMS, log=log)
    sections = []
    for k, q in enumerate(cfg.questions, 1):
        if log:
            log(f"[{k}/{len(cfg.questions)}] {q}: {QUESTION_TITLES[q]} "
                f"({time.perf_counter() - t0:.0f} s so far)")
        sections.append(run_question(q, ctx, log=log, raise_errors=False))
    sections.insert(0, reproduction_table(ctx, sections, log))
    total = time.perf_counter() - t0
    meta = {"data": ctx.data_description(), "data_arg": str(cfg.data), "synthetic": cfg.synthetic,
            "date": started.isoformat(timespec="seconds"), "command": cfg.command or
            "fer_keras.report.build_report(...)", "versions": versions(),
            "profile": cfg.resolved_profile, "model": cfg.model,
            "epochs": None if cfg.model_path else cfg.epochs,  # a given model: nothing trained
            "seconds": round(total, 1), "cpu_count": os.cpu_count(),
            "splits": {k: (0 if v is None else len(v)) for k, v in ctx.splits.items()},
            "reused": list(ctx.reused)}
    doc = {"meta": meta, "config": cfg.to_dict(), "order": [s.id for s in sections],
           "sections": {s.id: {"title": s.title, "numbers": s.numbers, "seconds": s.seconds,
                               "error": s.error} for s in sections}}
    write_json(out / "report.json", doc)
    md = render_markdown(meta, sections)
    write_text(out / "report.md", md)
    write_text(out / "report.html", render_html(meta, sections, out))
    failed = [s.id for s in sections if s.error]
    if log:
        log(f"report written: {out / 'report.html'} and {out / 'report.md'} ({total:.0f} s"
            + (f"; FAILED: {', '.join(failed)}" if failed else "") + ")")
    return {"html": out / "report.html", "markdown": out / "report.md",
            "json": out / "report.json", "sections": sections, "failed": failed,
            "seconds": total}


def command_line(argv=None):
    """The command as typed (``fer-keras report ...``), for the report's header."""
    import shlex

    argv = sys.argv if argv is None else argv
    prog = os.path.basename(argv[0]) if argv else "fer-keras"
    if prog in ("__main__.py", "cli.py", "fer-keras"):
        prog = "fer-keras"
    elif prog.endswith(".py"):
        prog = f"python {argv[0]}"
    # absolute paths of this machine are shown relative to the working directory
    args = [os.path.relpath(a) if os.path.isabs(a) and os.path.exists(a) else a
            for a in argv[1:]]
    line = " ".join([prog] + [shlex.quote(a) for a in args])
    return line + (" (run by make)" if os.environ.get("MAKELEVEL") else "")
