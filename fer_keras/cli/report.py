"""``fer-keras report``, ``fer-keras semi`` and ``fer-keras conv-shape``; the examples' command
line (:func:`example_context`)."""
from __future__ import annotations

import sys

from fer_keras.cli.common import add_contract_flags, add_force, positive_int, synthetic_notice
from fer_keras.errors import FerInputError


def _fractions(text):
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise FerInputError(f"--fractions: expected numbers like 0.1,0.25, got {text!r}") from None


def add_report_args(r):
    """The options that ``fer-keras report`` and the examples (one question each) share, with
    :class:`~fer_keras.report.ReportConfig`'s defaults."""
    from fer_keras.report.config import PROFILES, ReportConfig

    d = ReportConfig()
    r.add_argument("--data", default=d.data, help="'synthetic' or a FER2013 CSV/folder path")
    r.add_argument("--model", default=d.model, help="the CNN of Q1 (a registry name), or the path "
                   "of any Keras classifier (.keras, Keras 2 .h5, SavedModel folder): then only "
                   "the questions that explain a given model are answered, nothing is trained")
    r.add_argument("--epochs", type=positive_int, default=d.epochs,
                   help=f"training epochs of the CNN and the DNN (default {d.epochs}, as make "
                        "report)")
    r.add_argument("--out", default=d.out, help="output folder (runs/, one folder per question, "
                                                "report.html/.md/.json)")
    r.add_argument("--profile", choices=["auto", *PROFILES], default=d.profile,
                   help="explanation budgets: quick or full (default auto: quick on the synthetic "
                        "faces, full on real data)")
    r.add_argument("--seed", type=int, default=d.seed, help="seed of splits and training")
    add_contract_flags(r)  # for --model PATH
    return d


def example_context(doc="", argv=None):
    """Parse the example's command line (the question's id, then the options of
    :func:`add_report_args`: ``--data --model --epochs --out --profile --seed``) and return
    ``(question id, Context)``; prints the synthetic-data notice when it applies. ``doc``: the
    example's docstring (its ``--help``, followed by the questions)."""
    import argparse

    from fer_keras.report.build import command_line, synthetic_notice_wanted
    from fer_keras.report.catalogue import QUESTION_TITLES
    from fer_keras.report.config import ReportConfig
    from fer_keras.report.context import Context

    listing = "\n".join(f"  {q:14s} {t}" for q, t in QUESTION_TITLES.items())
    p = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=f"{doc}\nquestions:\n{listing}")
    p.add_argument("question", choices=tuple(QUESTION_TITLES), metavar="QUESTION",
                   help="the question's id (listed below), as in make QUESTION")
    add_report_args(p)
    a = p.parse_args(argv)
    cfg = ReportConfig(data=a.data, model=a.model, epochs=a.epochs, out=a.out, profile=a.profile,
                       seed=a.seed, input_range=a.input_range, classes=a.classes,
                       command=command_line())
    if cfg.synthetic and synthetic_notice_wanted():
        print("note: using the built-in synthetic faces; pass --data PATH (fer2013.csv, train.csv "
              "or an image folder) for FER2013", file=sys.stderr)
    return a.question, Context(cfg)


def add_report(sub):
    r = sub.add_parser("report", help="answer every question of the reports (HTML + Markdown)")
    d = add_report_args(r)
    r.add_argument("--quick", action="store_true", help="same as --profile quick")
    r.add_argument("--questions", help="comma-separated question ids (default: all)")
    r.add_argument("--n-synthetic", type=positive_int, default=d.n_synthetic,
                   help="--data synthetic: faces to draw")
    r.add_argument("--publish", metavar="DIR", help="then copy report.md, report.json and the "
                   "figures, downscaled, to DIR (replaced; e.g. docs/report-fer2013; "
                   "default: no copy)")
    add_force(r)
    r.set_defaults(func=cmd_report)


def cmd_report(args):
    from fer_keras import models
    from fer_keras.report.build import build_report, command_line
    from fer_keras.report.catalogue import QUESTIONS
    from fer_keras.report.config import ReportConfig

    questions = tuple(q for q in (args.questions or "").split(",") if q) or QUESTIONS
    profile = "quick" if args.quick else args.profile
    cfg = ReportConfig(data=args.data, model=args.model, epochs=args.epochs, out=args.out,
                       input_range=args.input_range, classes=args.classes,
                       profile=profile, questions=questions, seed=args.seed,
                       n_synthetic=args.n_synthetic, command=command_line())
    if cfg.model_path:  # a model file that cannot be read fails before any work
        models.load_classifier(cfg.model_path, cfg.input_range, cfg.classes)
    else:
        models.get(cfg.model)  # a wrong name fails before anything is trained
    from fer_keras.fileio import check_out_dir

    check_out_dir(cfg.out)  # a file in the way: one line, before any work
    if args.publish:
        from fer_keras.report.publish import check_dest

        check_dest(args.publish)
    res = build_report(cfg)
    if args.publish:
        from fer_keras.report.publish import publish

        p = publish(cfg.out, args.publish)
        print(f"published to {args.publish}: {p['files']} files, {p['bytes'] / 2**20:.1f} MiB")
    return 1 if res["failed"] else 0


def add_semi(sub):
    from fer_keras.semi.config import SemiConfig

    d = SemiConfig()
    s = sub.add_parser("semi", help="self-training or FixMatch vs labeled-only (HW3 bonus)")
    s.add_argument("--data", default=d.data,
                   help="'synthetic' or a FER2013 CSV / image-folder path")
    s.add_argument("--model", default=d.model, help="registry name or tiny_cnn")
    s.add_argument("--out", default="out/semi", help="output folder (semi.json, config.json)")
    s.add_argument("--fractions", default=",".join(f"{f:g}" for f in d.fractions),
                   help="labeled shares of the training images, comma-separated")
    s.add_argument("--threshold", type=float, default=d.threshold,
                   help="self-training: the confidence a pseudo-label needs")
    s.add_argument("--method", choices=("self_training", "fixmatch"), default=d.method,
                   help="fixmatch: FixMatch (Sohn 2020) for rounds x round steps after the "
                        "shared warm start, labeled-only at equal compute")
    s.add_argument("--fixmatch-threshold", type=float, default=d.fixmatch_threshold,
                   help="FixMatch: the fixed confidence a pseudo-label needs")
    s.add_argument("--adaptive-threshold", action="store_true", default=d.adaptive_threshold,
                   help="FixMatch with FreeMatch's self-adaptive per-class thresholds "
                        "(Wang 2023) instead of --fixmatch-threshold")
    s.add_argument("--threshold-momentum", type=float, default=d.threshold_momentum,
                   help="momentum of the moving averages behind --adaptive-threshold")
    s.add_argument("--lr", type=float, default=d.lr, help="Adam's learning rate (cosine decay)")
    s.add_argument("--batch-size", type=positive_int, default=d.batch_size,
                   help="labeled images a step")
    s.add_argument("--eval-every", type=positive_int, default=d.eval_every,
                   help="steps between validation checks (the best weights are kept)")
    s.add_argument("--mu", type=positive_int, default=d.mu, help="FixMatch unlabeled/labeled ratio")
    s.add_argument("--rounds", type=positive_int, default=d.rounds,
                   help="self-training: pseudo-labelling rounds (FixMatch: rounds x round "
                        "steps)")
    s.add_argument("--warm-steps", type=positive_int, default=d.warm_steps,
                   help="supervised steps on the labeled images before both arms branch")
    s.add_argument("--round-steps", type=positive_int, default=d.round_steps,
                   help="steps after each pseudo-labelling round")
    s.add_argument("--n-synthetic", type=positive_int, default=d.n_synthetic,
                   help="--data synthetic: faces to draw")
    s.add_argument("--seed", type=int, default=d.seed, help="seed of splits and training")
    add_force(s)
    s.set_defaults(func=cmd_semi)


def cmd_semi(args):
    from pathlib import Path

    from fer_keras.fileio import check_free, check_out_dir
    from fer_keras.semi.comparison import compare
    from fer_keras.semi.config import SemiConfig

    check_out_dir(args.out)  # a file in the way: one line, before any work
    for name in ("config.json", "semi.json"):
        check_free(Path(args.out) / name)
    cfg = SemiConfig(model=args.model, data=args.data, out=args.out,
                     fractions=_fractions(args.fractions), threshold=args.threshold,
                     rounds=args.rounds, warm_steps=args.warm_steps, round_steps=args.round_steps,
                     n_synthetic=args.n_synthetic, seed=args.seed, method=args.method,
                     fixmatch_threshold=args.fixmatch_threshold, mu=args.mu,
                     adaptive_threshold=args.adaptive_threshold,
                     threshold_momentum=args.threshold_momentum, lr=args.lr,
                     batch_size=args.batch_size, eval_every=args.eval_every)
    # the note once every flag and the data are checked: an error comes alone
    res = compare(cfg, on_start=synthetic_notice if args.data == "synthetic" else None)
    print(f"semi: {args.out}/semi.json ({res['seconds']:.0f} s)")
    return 0


def add_conv_shape(sub):
    c = sub.add_parser("conv-shape", help="hand-derived Conv2D output shape (report 003 Q6)")
    c.add_argument("--input", type=positive_int, nargs=2, default=(48, 48), metavar=("H", "W"),
                   help="input height and width")
    c.add_argument("--kernel", type=positive_int, default=3, help="kernel size")
    c.add_argument("--stride", type=positive_int, default=1, help="stride")
    c.add_argument("--padding", default="valid", help="valid, same or an integer P")
    c.add_argument("--dilation", type=positive_int, default=1, help="dilation")
    c.set_defaults(func=cmd_conv_shape)


def cmd_conv_shape(args):
    from fer_keras.models import shapes

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
