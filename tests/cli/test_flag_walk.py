"""Every flag reaches every command that has it (issue 27 item 3).

The walk goes through the CLI table (:data:`fer_keras.cli.COMMANDS`) and, for each way of using
a command (``predict PHOTO`` and ``predict --data`` are two), runs it once with every flag of
its parser set, on a tiny model and tiny data. A flag must then be read by the command, or
refused in one line naming it (``--every`` on a CSV, ``--seed`` on a photo); a refused flag is
taken out and the command run again. Reading is not yet proof of an effect, so the contract
flags, which silently broke before, also get a check that they change the output.

Not walked (one run is minutes of training or serving; their flags build a config object
whole): ``train``, ``report``, ``semi``, ``serve``; ``models`` has no flags.
"""
from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from fer_keras import CLASS_NAMES  # noqa: E402
from fer_keras.cli import build_parser, main  # noqa: E402

NOT_WALKED = {"train", "report", "semi", "serve", "models"}
CLASSES = ",".join(CLASS_NAMES)


class _Recording(argparse.Namespace):
    """A namespace that records which attributes the command reads."""

    reads = set()

    def __getattribute__(self, name):
        if not name.startswith("_"):
            _Recording.reads.add(name)
        return object.__getattribute__(self, name)


def _flags(parser):
    """``{option string: dest}`` of a (sub)parser's optional flags."""
    return {a.option_strings[-1]: a.dest for a in parser._actions
            if a.option_strings and not isinstance(a, argparse._HelpAction)}


def _subparsers(parser, prefix=()):
    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            for name, sp in a.choices.items():
                yield from _subparsers(sp, prefix + (name,))
            return
    yield prefix, parser


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    import cv2
    from skimage import data

    d = tmp_path_factory.mktemp("walk")
    keras.utils.set_random_seed(0)
    inp = keras.Input((48, 48, 1), name="face")
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inp)
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv2")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    x = keras.layers.Dense(8, activation="relu", name="hidden")(x)
    out = keras.layers.Dense(7, activation="softmax", name="probs")(x)
    keras.Model(inp, out).save(d / "m.keras")
    cv2.imwrite(str(d / "photo.jpg"), data.astronaut()[..., ::-1])
    from fer_keras.data.synthetic import make_faces

    imgs, labels, _ = make_faces(40, seed=1)
    rows = ["emotion,pixels,Usage"] + [f"{y},{' '.join(map(str, im.ravel()))},PublicTest"
                                       for im, y in zip(imgs, labels)]
    (d / "faces.csv").write_text("\n".join(rows) + "\n")
    return d


def _modes(d):
    """(name, base argv, {flag: value or None for a switch}) for every way of using a walked
    command; every flag of the command's parser must be in one of its modes."""
    m, csv, photo = d / "m.keras", d / "faces.csv", d / "photo.jpg"
    contract = {"--input-range": "0,1", "--classes": CLASSES, "--force": None}
    synth = {"--data": "synthetic", "--seed": "3", "--n-synthetic": "60", "--resize": None}
    explain_common = {**contract, **synth, "--split": "val", "--layer": "conv", "--n": "1",
                      "--index": "0"}
    explain = {
        "confusion": {}, "saliency": {"--method": "vanilla", "--samples": "2"},
        "ascent": {"--steps": "2", "--filters": "2", "--lr": "0.1", "--no-progress": None},
        "features": {}, "lime": {"--num-samples": "20", "--segments": "10"},
        "tsne": {"--perplexity": "5", "--n": "6"}, "checks": {"--method": "vanilla", "--samples": "2"},
    }
    out = [("evaluate", ["evaluate", "--model", m, "--out", d / "ev.json"],
            {**contract, **synth, "--tta": "flip", "--all-splits": None}),
           ("predict CSV", ["predict", "--model", m, "--out", d / "sub.csv", "--data", csv],
            {**contract, "--tta": "flip", "--resize": None, "--seed": "3", "--n-synthetic": "60",
             "--every": "2", "--window": "3", "--no-progress": None, "--engine": "ray",
             "--address": "auto", "--workers": "2", "--verbose": None,
             "--faces-are-crops": None}),
           ("predict PHOTO", ["predict", photo, "--model", m, "--out", d / "ph"],
            {**contract, "--tta": "flip", "--every": "2", "--window": "3", "--no-progress": None,
             "--data": csv, "--seed": "3", "--n-synthetic": "60", "--resize": None,
             "--verbose": None, "--faces-are-crops": None}),
           ("summary", ["summary", m], {**contract, **synth, "--tta": "flip"}),
           ("export", ["export", m, "--format", "tflite", "--out", d / "m.tflite"],
            {**contract, "--int8": None, "--data": csv, "--resize": None}),
           ("conv-shape", ["conv-shape"], {"--input": ["40", "44"], "--kernel": "5",
                                           "--stride": "2", "--padding": "same",
                                           "--dilation": "2"})]
    for what, extra in explain.items():
        out.append((f"explain {what}", ["explain", what, "--model", m, "--out", d / what],
                    {**explain_common, **extra}))
    out.append(("explain saliency --image", ["explain", "saliency", "--image", photo, "--model", m,
                                             "--out", d / "photo_saliency"],
                {**contract, "--method": "vanilla", "--samples": "2"}))
    return out


def _argv(base, flags):
    argv = [str(a) for a in base]
    for f, v in flags.items():
        argv += [f] if v is None else [f, *v] if isinstance(v, list) else [f"{f}={v}"]
    return argv


def test_the_walk_covers_every_flag_of_every_walked_command(setup):
    parser = build_parser()
    modes = _modes(setup)
    for path, sub in _subparsers(parser):
        if not path or path[0] in NOT_WALKED:
            continue
        cmd = " ".join(path)
        mine = [(base, flags) for name, base, flags in modes
                if name.split()[0] == path[0]
                and (len(path) == 1 or name == cmd or name.startswith(cmd + " --"))]
        assert mine, f"{cmd}: no mode in the walk"
        given = set().union(*(set(flags) | {b for b in base if str(b).startswith("--")}
                              for base, flags in mine))
        missing = set(_flags(sub)) - given - {"--model", "--out", "--format"}
        assert not missing, f"{cmd}: flags not walked: {sorted(missing)}"


@pytest.mark.slow
@pytest.mark.parametrize("mode", [m[0] for m in _modes(__import__("pathlib").Path("."))])
def test_every_flag_is_read_or_refused(mode, setup, capsys, monkeypatch):
    """Run the mode with all its flags; a refused flag (exit 2, one line naming it) is dropped
    and the rest run again; at the end every remaining flag's value was read."""
    from fer_keras.config import check_flags

    name, base, flags = next(m for m in _modes(setup) if m[0] == mode)
    flags, refused = dict(flags), []
    parser = build_parser()
    while True:
        argv = _argv(base, flags)
        args = parser.parse_args(argv, namespace=_Recording())
        check_flags(args.command, dict(object.__getattribute__(args, "__dict__")))
        _Recording.reads = set()
        rc = main(argv)
        err = capsys.readouterr().err
        if rc == 0:
            break
        named = [f for f in flags if f in err]
        assert rc == 2 and named and len(err.strip().splitlines()) == 1, (mode, rc, err)
        refused.append(named[0])
        flags.pop(named[0])
    # main() parsed a plain namespace; run the command's function on a recording one to see
    # which attributes it reads
    args = parser.parse_args(_argv(base, flags), namespace=_Recording())
    _Recording.reads = set()
    assert args.func(args) in (0, None)
    dests = {f: next(a.dest for a in _all_actions(parser, args) if f in a.option_strings)
             for f in flags}
    unread = sorted(f for f, dest in dests.items() if dest not in _Recording.reads)
    assert not unread, f"{mode}: flags neither read nor refused: {unread} (refused: {refused})"


def _all_actions(parser, args):
    sub = parser
    for part in (args.command,) + ((args.what,) if getattr(args, "what", None) else ()):
        sub = next(a for a in sub._actions if isinstance(a, argparse._SubParsersAction)).choices[part]
    return sub._actions


def _faces_csv(path):
    import pandas as pd

    return pd.read_csv(path)


def test_contract_flags_change_predict_photo(setup, capsys):
    """``predict PHOTO`` with --input-range -1,1 and 0,1: other probabilities (the issue's case:
    they were identical); --classes renames the columns."""
    d = setup
    res = {}
    for rng in ("0,1", "-1,1"):
        out = d / f"photo_{rng}"
        rc = main(["predict", str(d / "photo.jpg"), "--model", str(d / "m.keras"),
                   f"--input-range={rng}", "--classes", "a,b,c,d,e,f,g", "--out", str(out),
                   "--no-progress"])
        assert rc == 0, capsys.readouterr().err
        res[rng] = _faces_csv(out / "faces.csv")
    cols = list(res["0,1"].columns)
    assert cols[cols.index("a"):cols.index("a") + 7] == list("abcdefg")  # in the given order
    assert not {"Angry", "Happy", "Neutral"} & set(cols)
    assert len(res["0,1"]) >= 1
    assert np.abs(res["0,1"][list("abcdefg")].to_numpy()
                  - res["-1,1"][list("abcdefg")].to_numpy()).max() > 1e-4
