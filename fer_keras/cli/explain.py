"""``fer-keras explain ...``: the reports' explanation figures from a trained model.

Each subcommand reads ``--model`` and a split of ``--data``, writes PNGs and one JSON of the
numbers into ``--out`` (default: ``explain/`` next to the model) and prints a short summary::

    fer-keras explain confusion --model runs/X/best.keras            # HW3 Q3
    fer-keras explain saliency  --model ... --method gradcam          # HW3 Q4, HW4 Q1
    fer-keras explain ascent    --model ... --layer conv1 --steps 200 # HW3 Q5, HW4 Q2
    fer-keras explain features  --model ... --layer relu1 --index 0   # HW3 Q5, HW4 Q2
    fer-keras explain lime      --model ...                           # HW4 Q3
    fer-keras explain tsne      --model ... --n 1000                  # HW4 Q4
    fer-keras explain checks    --model ...                           # sanity, faithfulness

The subcommands, their help, flags and what each runs and prints are the analyses' declarations
(:func:`fer_keras.analyses.commands`); this module turns them into argparse options and back.
"""
from __future__ import annotations

import os
from pathlib import Path

from fer_keras.cli.common import (
    EXIT_USAGE,
    Parser,
    add_contract_flags,
    add_data_args,
    add_force,
    load_model_arg,
    positive_int,
)
from fer_keras.errors import FerInputError


def add_explain(sub):
    """``fer-keras explain``: one subcommand per registered analysis command
    (:func:`fer_keras.analyses.commands`), its flags built from the command's declarations."""
    from fer_keras.analyses import commands

    registered = commands()
    p = sub.add_parser("explain", help=f"explain a trained model: {', '.join(registered)}")
    what = p.add_subparsers(dest="what", parser_class=Parser)
    for name, command in registered.items():
        q = what.add_parser(name, help=command.help)
        q.add_argument("--model", required=not command.model_optional,
                       help="a .keras file (e.g. runs/NAME/best.keras), a Keras 2 .h5/.hdf5 file "
                            "or a TensorFlow SavedModel folder" + command.model_help)
        add_contract_flags(q)
        q.add_argument("--split", default="val", choices=["train", "val", "test"],
                       help="which split to explain (default val)")
        q.add_argument("--out", help="output folder (default: explain/ next to the model)")
        add_force(q)
        add_data_args(q)
        q.set_defaults(data=None)  # not given: the run's config.json, else synthetic with a note
        # every subcommand takes the shared choices, so that one it does not read is refused by
        # name (cmd_explain) rather than reported as unknown
        unread = f"does not apply to {name}: refused (default: none)"
        picks = command.picks
        q.add_argument("--layer", action="append", help=picks.get("layer", unread))
        q.add_argument("--n", type=positive_int, help=picks.get("n", unread))
        q.add_argument("--index", type=int, action="append", help=picks.get("index", unread))
        for flag in command.flags:
            _add_flag(q, flag)
        q.set_defaults(func=cmd_explain)
    p.set_defaults(func=lambda args: _usage(p))


#: The argparse type of each kind of :class:`fer_keras.analyses.Flag`.
_TYPES = {"count": positive_int, "number": float, "text": str}


def _add_flag(parser, flag):
    """``flag`` (:class:`fer_keras.analyses.Flag`) as an option of ``parser``."""
    opt = "--" + flag.name.replace("_", "-")
    if flag.kind == "off":
        parser.add_argument("--no-" + flag.name.replace("_", "-"), dest=flag.name,
                            action="store_false", help=flag.help)
        return
    parser.add_argument(opt, type=_TYPES[flag.kind], default=flag.default,
                        choices=flag.choices, metavar=flag.metavar,
                        action="append" if flag.repeat else "store", help=flag.help)


def _usage(parser):
    parser.print_help()
    return EXIT_USAGE


# --------------------------------------------------------------------------- shared
def _data_of(args):
    """``--data``; not given: the data in the run's ``config.json`` beside ``--model``, else the
    synthetic faces, with a one-line note (a user's model explained on cartoon faces is rarely
    what was meant), kept in ``args.data_note`` and printed once the command has succeeded, so
    that a mistake found later is still the only line on stderr."""
    if args.data is not None:
        return args.data
    config = Path(os.path.abspath(args.model)).parent / "config.json"
    if config.is_file():
        from fer_keras.config import TrainConfig

        return TrainConfig.load(config).data
    args.data_note = (f"note: no --data and no run config.json beside {args.model}: explained "
                      "it on the built-in synthetic faces; pass --data PATH (fer2013.csv, "
                      "train.csv or an image folder) for real faces")
    return "synthetic"


def _setup(args):
    from fer_keras.data.loading import load_splits

    model = load_model_arg(args)[0]
    splits = load_splits(_data_of(args), seed=args.seed, resize=args.resize,
                              n_synthetic=args.n_synthetic)
    ds = splits.get(args.split)
    if ds is None or len(ds) == 0:
        have = ", ".join(k for k, v in splits.items() if len(v))
        raise FerInputError(f"split {args.split!r} is empty in this data; non-empty: {have}",
                            entry="--split")
    out = Path(args.out or Path(os.path.dirname(os.path.abspath(args.model))) / "explain")
    return model, ds, out


def _methods(args):
    from fer_keras.explain import methods

    return tuple(dict.fromkeys(args.method)) if args.method else methods.names()


def _refuse_unused(args, command):
    """A shared image choice the command does not read is refused, not ignored; so are ``--n``
    and ``--index`` together where it reads both."""
    from fer_keras.analyses import PICKS

    for dest in PICKS:
        if dest not in command.picks and getattr(args, dest):
            raise FerInputError(f"fer-keras explain {args.what}: --{dest} does not apply to it")
    if args.index and args.n:
        raise FerInputError(f"fer-keras explain {args.what}: --n and --index choose the images "
                            "two ways; give one")


# --------------------------------------------------------------------------- commands
def _value(v):
    """A repeated flag's values as a tuple (``None`` when not given)."""
    return tuple(v) if isinstance(v, list) else v


def cmd_explain(args):
    from fer_keras.analyses import Request, commands

    command = commands()[args.what]
    if getattr(args, "image", None):  # saliency --image: the faces of a photo
        return _photo(args)
    if not args.model:
        raise FerInputError(f"fer-keras explain {args.what}: --model is required (saliency: or "
                            "--image PHOTO to explain the faces of a photo)", entry="--model")
    _refuse_unused(args, command)
    model, ds, out = _setup(args)
    request = Request(model, ds, out, split=args.split, layers=tuple(args.layer or ()),
                      n=args.n, index=tuple(args.index or ()), seed=args.seed,
                      options={f.name: _value(getattr(args, f.name)) for f in command.flags},
                      log=lambda line: print(line, flush=True))
    request.check_index()  # a wrong row fails before the output folder is made
    from fer_keras.fileio import check_out_dir

    check_out_dir(out)
    res = command.call(request)
    for line in command.summary(res, request):
        print(line)
    for path in res.files:
        print(f"written: {path}")
    if getattr(args, "data_note", None):
        import sys

        print(args.data_note, file=sys.stderr)
    return 0


def _photo(args):
    """``explain saliency --image PHOTO``: :func:`fer_keras.faces.photo_explain.explain_photo`."""
    from fer_keras import faces
    from fer_keras.faces import photo_explain
    from fer_keras.fileio import check_out_dir
    from fer_keras.serve.service import stored_verdicts

    if args.data is not None or args.index or args.n:
        raise FerInputError("fer-keras explain saliency: --image explains the faces of a photo; "
                            "it takes no --data, --index or --n")
    model = load_model_arg(args)[0]  # the gradients need Keras: never the shipped ONNX export
    rec = faces.Recognizer(model)  # the default detector, as predict and serve
    out = Path(args.out or Path(os.path.dirname(os.path.abspath(args.image))) / "explain")
    check_out_dir(out)
    settings = photo_explain.Settings(methods=_methods(args), samples=args.samples,
                                      layer=args.layer[0] if args.layer else None,
                                      seed=args.seed)
    res = photo_explain.explain_photo(args.image, settings=settings, out=out, recognizer=rec,
                                      verdicts=stored_verdicts(args.model, settings.methods))
    for i, r in enumerate(res["faces"]):
        x, y, w, h = r["box"]
        print(f"face {i} at x={x} y={y} ({w}x{h}): {r['label']} {r['scores'][r['label']]:.2f}")
    for path in res["files"]:
        print(f"written: {path}")
    return 0
