"""``fer-keras report``, ``fer-keras semi`` and ``fer-keras conv-shape`` (loaded by the CLI).

Also lets ``fer-keras train --model dnn_matched_<cnn>`` train the parameter-matched DNN of a
registry CNN (HW3 Q2; ``make q2-dnn`` trains it that way): the name is registered on demand.
"""
from __future__ import annotations

import sys

from fer_keras import cli
from fer_keras.cli import _positive_int, _synthetic_notice, register_command
from fer_keras.errors import FerInputError

_MATCHED = "dnn_matched_"


def _register_matched(name):
    if name and name.startswith(_MATCHED):
        from fer_keras.report import register_matched_dnn

        register_matched_dnn(name[len(_MATCHED):])


_cmd_train = cli.cmd_train


def _cmd_train_matched(args):
    _register_matched(getattr(args, "model", None))
    return _cmd_train(args)


# build_parser() reads cli.cmd_train after the extra commands are imported
cli.cmd_train = _cmd_train_matched


def _fractions(text):
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise FerInputError(f"--fractions: expected numbers like 0.1,0.25, got {text!r}") from None


def cmd_report(args):
    from fer_keras.report import QUESTIONS, ReportConfig, build_report, command_line

    questions = tuple(q for q in (args.questions or "").split(",") if q) or QUESTIONS
    profile = "quick" if args.quick else args.profile
    cfg = ReportConfig(data=args.data, model=args.model, epochs=args.epochs, out=args.out,
                       profile=profile, questions=questions, seed=args.seed,
                       n_synthetic=args.n_synthetic, command=command_line())
    from fer_keras import models

    models.get(cfg.model)  # a wrong name fails before anything is trained
    from fer_keras.train import check_out_dir

    check_out_dir(cfg.out)  # a file in the way: one line, before any work
    res = build_report(cfg)
    return 1 if res["failed"] else 0


def cmd_semi(args):
    from fer_keras.semi import SemiConfig, compare

    from fer_keras.train import check_out_dir

    check_out_dir(args.out)  # a file in the way: one line, before any work
    if args.data == "synthetic":
        _synthetic_notice()
    cfg = SemiConfig(model=args.model, data=args.data, out=args.out, fractions=_fractions(args.fractions),
                     threshold=args.threshold, rounds=args.rounds, warm_steps=args.warm_steps,
                     round_steps=args.round_steps, n_synthetic=args.n_synthetic, seed=args.seed)
    res = compare(cfg)
    print(f"semi: {args.out}/semi.json ({res['seconds']:.0f} s)")
    return 0


def cmd_conv_shape(args):
    from fer_keras import shapes

    padding = args.padding
    if padding not in ("same", "valid"):
        try:
            padding = int(padding)
        except ValueError:
            raise FerInputError(f"--padding must be same, valid or an integer, got {padding!r}") from None
    h, w = args.input
    oh, ow = shapes.conv2d_output_shape((h, w), args.kernel, args.stride, padding, args.dilation)
    print(f"{shapes.FORMULA}: input {h}x{w}, kernel {args.kernel}, stride {args.stride}, "
          f"padding {padding}, dilation {args.dilation} -> {oh}x{ow}")
    return 0


@register_command
def _add(sub):
    r = sub.add_parser("report", help="answer every question of the reports (HTML + Markdown)")
    r.add_argument("--data", default="synthetic", help="'synthetic' or a FER2013 CSV/folder path")
    r.add_argument("--model", default="small_cnn", help="the CNN of Q1 (a registry name)")
    r.add_argument("--epochs", type=_positive_int, default=10,
                   help="training epochs of the CNN and the DNN (default 10, as make report)")
    r.add_argument("--out", default="out", help="output folder (runs/, one folder per question, "
                                                 "report.html/.md/.json)")
    r.add_argument("--profile", choices=["auto", "quick", "full"], default="auto",
                   help="explanation budgets: quick (synthetic default) or full (real-data default)")
    r.add_argument("--quick", action="store_true", help="same as --profile quick")
    r.add_argument("--questions", help="comma-separated question ids (default: all)")
    r.add_argument("--n-synthetic", type=_positive_int, default=3000)
    r.add_argument("--seed", type=int, default=0)
    r.set_defaults(func=cmd_report)

    s = sub.add_parser("semi", help="self-training vs labeled-only (HW3 bonus)")
    s.add_argument("--data", default="synthetic")
    s.add_argument("--model", default="small_cnn", help="registry name or tiny_cnn")
    s.add_argument("--out", default="out/semi")
    s.add_argument("--fractions", default="0.1,0.25")
    s.add_argument("--threshold", type=float, default=0.9)
    s.add_argument("--rounds", type=_positive_int, default=3)
    s.add_argument("--warm-steps", type=_positive_int, default=300)
    s.add_argument("--round-steps", type=_positive_int, default=150)
    s.add_argument("--n-synthetic", type=_positive_int, default=3000)
    s.add_argument("--seed", type=int, default=0)
    s.set_defaults(func=cmd_semi)

    c = sub.add_parser("conv-shape", help="hand-derived Conv2D output shape (report 003 Q6)")
    c.add_argument("--input", type=_positive_int, nargs=2, default=(48, 48), metavar=("H", "W"))
    c.add_argument("--kernel", type=_positive_int, default=3)
    c.add_argument("--stride", type=_positive_int, default=1)
    c.add_argument("--padding", default="valid", help="valid, same or an integer P")
    c.add_argument("--dilation", type=_positive_int, default=1)
    c.set_defaults(func=cmd_conv_shape)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(cli.main())
