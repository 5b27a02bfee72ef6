"""The ``fer-keras`` command line: a thin caller of the public API.

Every subcommand is listed in :data:`COMMANDS`, in one place: the module that adds its parser
(``add_*(subparsers)``, which sets ``func``) and runs it (``cmd_*(args)``). A user's mistake (bad
file, bad row, bad argument) prints one line on stderr and exits with status 2; Ctrl-C exits
with 130 after the last finished epoch has been saved.
"""
from __future__ import annotations

import os
import sys

from fer_keras.cli import evaluate, explain, export, predict, report, serve, train
from fer_keras.cli.common import (
    EXIT_USAGE,
    Parser,
    join_negative_values,
    quiet_backend_import,
    run_command,
)
from fer_keras.errors import FerInputError

#: The subcommands in ``fer-keras --help`` order: each adds its parser to the subparsers.
COMMANDS = (
    train.add_train,  # train
    evaluate.add_evaluate,  # evaluate
    predict.add_predict,  # predict
    evaluate.add_summary,  # summary
    train.add_models,  # models
    explain.add_explain,  # explain confusion|saliency|ascent|features|lime|tsne|checks
    report.add_report,  # report
    report.add_semi,  # semi
    report.add_conv_shape,  # conv-shape
    export.add_export,  # export
    serve.add_serve,  # serve
)


#: Subcommands whose parser builds without Keras: ``fer-keras predict PHOTO`` with the shipped
#: model answers without importing TensorFlow at all (its ``cmd_*`` imports the backend itself
#: when it needs it; ``args.backend`` False).
LIGHT = {"predict": predict.add_predict}


def build_parser(commands=COMMANDS):
    p = Parser(prog="fer-keras",
               description="Facial-expression recognition on FER2013 with Keras 3")
    from fer_keras import __version__

    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", parser_class=Parser)
    for add in commands:
        add(sub)
    from fer_keras.cli.docs import add_default_to_help

    return add_default_to_help(p)  # every default in --help and docs/cli.md


def main(argv=None):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in LIGHT:
        parser = build_parser((LIGHT[argv[0]],))
    else:
        parser = quiet_backend_import(build_parser)  # choices come from modules that import Keras
    from fer_keras.data import loading

    mark = len(loading.WRITTEN_CACHES)
    try:
        status = _run(parser, argv)
    except BaseException:
        loading.drop_caches_since(mark)  # a failed command leaves no cache behind
        raise
    if status not in (0, None, 130):  # 130: interrupted, training resumes from its data
        loading.drop_caches_since(mark)
    return status


def _run(parser, argv):
    try:
        args = parser.parse_args(join_negative_values(argv))
        if not getattr(args, "func", None):
            parser.print_help()
            return EXIT_USAGE
        from fer_keras.config import check_flags

        check_flags(args.command, vars(args))  # every numeric flag: finite and in range
        if getattr(args, "backend", True):
            quiet_backend_import()
        return run_command(args)
    except FerInputError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as e:  # training says what it saved (fer_keras.train.fit.train)
        print(f"interrupted: {e}" if str(e) else "interrupted", file=sys.stderr)
        return 130
