"""Issue 17: a fuzz harness over the classes of bad input, generated rather than listed.

Hypothesis draws CSV rows, image files, numeric flags and run-folder states that are wrong in
one way each; every case goes through the CLI (``fer_keras.cli.main`` in this process) and must
end with exit status 2, exactly one line on stderr that starts with ``error:`` and names the
file, row or flag, no traceback, no training started, and every file that existed before
byte-for-byte intact (hashed before and after). The default suite draws a few examples of each
strategy (~1 minute in all); ``-m slow`` draws many more.
"""
import contextlib
import hashlib
import io
import json
import os
import shutil
import tempfile
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from test_bad_inputs import _images, kaggle_lines, write_lines

from fer_keras import cli
from fer_keras.config import RANGES, TrainConfig, flag
from fer_keras.data import FOLDER_NAMES

pytestmark = pytest.mark.core  # no training: holds on every backend (checked on JAX)

FEW = settings(max_examples=30, deadline=None, derandomize=True, database=None,
               suppress_health_check=list(HealthCheck))
MANY = settings(max_examples=400, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))


# --------------------------------------------------------------------------- the oracle
def _hashes(root):
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = Path(dirpath) / f
            if p.is_file() and not p.is_symlink():
                out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _no_training(*a, **k):
    raise AssertionError("training started: the error must come before any training")


def one_line_exit_2(argv, root, *need):
    """Run the CLI on ``argv``; assert exit 2, one ``error:`` line containing each of ``need``,
    and every file under ``root`` as it was. Returns the line."""
    before = _hashes(root)
    err = io.StringIO()
    with mock.patch("fer_keras.train.fit._fit", _no_training), \
            mock.patch("fer_keras.train.steps.build_net", _no_training), \
            contextlib.redirect_stderr(err):
        rc = cli.main([str(a) for a in argv])
    lines = err.getvalue().splitlines()
    lines = [ln for ln in lines if not ln.startswith("note: ")]  # the synthetic-data notice
    assert rc == 2, (argv, rc, err.getvalue())
    assert len(lines) == 1, (argv, err.getvalue())
    assert lines[0].startswith("error: ") and "Traceback" not in lines[0], lines
    for s in need:
        assert str(s) in lines[0], (s, lines[0])
    after = _hashes(root)
    assert {k: after.get(k) for k in before} == before, "an existing file changed"
    return lines[0]


@contextlib.contextmanager
def _scratch():
    d = Path(tempfile.mkdtemp(prefix="fuzz"))
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _train(data, out):
    return ["train", "--data", data, "--epochs", "1", "--out", out, "--model", "small_cnn"]


# --------------------------------------------------------------------------- CSV rows
_bad_pixel = st.one_of(
    st.integers(256, 10**6).map(str), st.integers(-10**6, -1).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr).filter(lambda t: not t.isdigit()),
    st.text(st.characters(blacklist_characters=",\n\r\"", blacklist_categories=("Cs",)),
            min_size=1, max_size=6).filter(lambda t: t.strip() and not t.strip().isdigit()
                                           and t.strip() != ""))
_bad_label = st.one_of(st.integers(7, 10**6), st.integers(-10**6, -1),
                       st.floats(allow_nan=True).filter(lambda f: f != int(f) if np.isfinite(f)
                                                        else True),
                       st.text("abcxyz ", min_size=1, max_size=5))


@st.composite
def bad_csv(draw):
    """``(lines, line number of the bad row or None, words the message must hold)``."""
    lines = kaggle_lines()
    row = draw(st.integers(2, len(lines)))
    e, p, u = lines[row - 1].split(",")
    kind = draw(st.sampled_from(["pixel", "count", "label", "usage", "fields", "header", "empty"]))
    pix = p.split(" ")
    if kind == "pixel":
        pix[draw(st.integers(0, len(pix) - 1))] = draw(_bad_pixel).strip()
        lines[row - 1] = f"{e},{' '.join(pix)},{u}"
    elif kind == "count":
        n = draw(st.one_of(st.integers(0, 2303), st.integers(2305, 2400)))
        lines[row - 1] = f"{e},{' '.join((pix * 2)[:n])},{u}"
    elif kind == "label":
        lines[row - 1] = f"{draw(_bad_label)},{p},{u}"
    elif kind == "usage":
        bad = draw(st.text("ABCdefPrivateTstg", min_size=1, max_size=12).filter(
            lambda t: t not in ("Training", "PublicTest", "PrivateTest")))
        lines[row - 1] = f"{e},{p},{bad}"
    elif kind == "fields":
        extra = draw(st.integers(1, 3))
        lines[row - 1] = f"{e},{p},{u}" + ",x" * extra if draw(st.booleans()) else f"{e},{p}"
    elif kind == "header":
        name = draw(st.sampled_from(["emotion", "pixels"]))
        other = draw(st.text("abcdefgh_", min_size=1, max_size=8).filter(
            lambda t: t not in ("emotion", "pixels", "label", "feature", "id", "Usage")))
        lines[0] = lines[0].replace(name, other)
        return lines, None, ["column"]
    else:
        return [], None, ["empty"]
    return lines, row, [f"line {row}"]


def _csv_case(case, newline, bom):
    lines, row, need = case
    with _scratch() as d:
        path = d / "data.csv"
        text = newline.join(lines) + (newline if lines else "")
        path.write_bytes((b"\xef\xbb\xbf" if bom and lines else b"") + text.encode("utf-8"))
        one_line_exit_2(_train(path, d / "out"), d, path, *need)


@FEW
@given(bad_csv(), st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_fuzz_csv_rows(case, newline, bom):
    _csv_case(case, newline, bom)


@pytest.mark.slow
@MANY
@given(bad_csv(), st.sampled_from(["\n", "\r\n", "\r"]), st.booleans())
def test_fuzz_csv_rows_many(case, newline, bom):
    _csv_case(case, newline, bom)


# --------------------------------------------------------------------------- image files
@st.composite
def bad_image(draw):
    """``(kind, bytes or None)``: one bad file among good ones in an image folder."""
    kind = draw(st.sampled_from(["bytes", "truncated", "size", "mode", "empty", "fifo",
                                 "broken_png_header"]))
    if kind == "bytes":
        return kind, draw(st.binary(min_size=1, max_size=300))
    if kind == "truncated":
        return kind, draw(st.integers(1, 120))
    if kind == "size":
        w, h = draw(st.tuples(st.integers(1, 120), st.integers(1, 120)).filter(
            lambda s: s != (48, 48)))
        return kind, (w, h)
    if kind == "mode":
        return kind, None
    if kind == "broken_png_header":
        return kind, draw(st.binary(min_size=0, max_size=40))
    return kind, None


def _image_case(case, suffix):
    kind, arg = case
    with _scratch() as d:
        images, labels = _images(14)
        for i, (img, lab) in enumerate(zip(images, labels)):
            f = d / "data" / "train" / FOLDER_NAMES[lab] / f"Training_{i:05d}.png"
            f.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(img).save(f)
        victim = d / "data" / "train" / "fear" / f"Training_99999{suffix}"
        if kind == "bytes":
            victim.write_bytes(arg)
        elif kind == "truncated":
            buf = io.BytesIO()
            Image.fromarray(images[0]).save(buf, "PNG")
            victim.write_bytes(buf.getvalue()[:arg])
        elif kind == "size":
            Image.fromarray(np.zeros(arg[::-1], np.uint8)).save(victim, "PNG")
        elif kind == "mode":
            Image.fromarray(np.zeros((48, 48), np.float32)).save(victim, "TIFF")
        elif kind == "broken_png_header":
            victim.write_bytes(b"\x89PNG\r\n\x1a\n" + arg)
        elif kind == "empty":
            victim.write_bytes(b"")
        else:  # a FIFO among the images: skipped, never read (reading it would hang)
            from fer_keras.data import load

            os.mkfifo(victim)
            assert len(load(d / "data", cache=False)) == 14
            return
        one_line_exit_2(_train(d / "data", d / "out"), d, victim)


@FEW
@given(bad_image(), st.sampled_from([".png", ".jpg"]))
def test_fuzz_image_files(case, suffix):
    _image_case(case, suffix)


@pytest.mark.slow
@MANY
@given(bad_image(), st.sampled_from([".png", ".jpg", ".jpeg", ".bmp"]))
def test_fuzz_image_files_many(case, suffix):
    _image_case(case, suffix)


def test_sixteen_bit_png_is_scaled_not_clipped(tmp_path):
    from fer_keras.data import read_image

    a = (np.arange(48 * 48).reshape(48, 48) * 28).astype(np.uint16)  # 0..64484
    Image.fromarray(a).save(tmp_path / "deep.png")
    assert Image.open(tmp_path / "deep.png").mode == "I;16"
    got = read_image(tmp_path / "deep.png")
    np.testing.assert_array_equal(got, np.round(a / 257.0).astype(np.uint8))
    assert (got == 255).mean() < 0.01  # clipping made 99.6% of them 255


# --------------------------------------------------------------------------- numeric flags
def _bad_value(name):
    lo, hi, lo_in, hi_in = RANGES[name]
    integer = isinstance(getattr(TrainConfig(), name), int) and not isinstance(
        getattr(TrainConfig(), name), bool)
    outside = [st.sampled_from(["nan", "inf", "-inf", "NaN", "1e999"])]
    if integer:
        outside += [st.integers(hi + 1, hi + 10**6).map(str),
                    st.integers(lo - 10**6, lo - 1).map(str)]
    else:
        outside += [st.floats(min_value=hi, exclude_min=hi_in, allow_infinity=False).map(repr),
                    st.floats(max_value=lo, exclude_max=lo_in, allow_infinity=False).map(repr)]
    return st.one_of(*outside)


_NO_FLAG = ("verbose", "reduce_lr_patience", "warmup_epochs")  # config fields without a flag
_numeric_flag = st.sampled_from(sorted(k for k in RANGES if k not in _NO_FLAG)).flatmap(
    lambda name: st.tuples(st.just(name), _bad_value(name)))


def _flag_case(case):
    name, value = case
    with _scratch() as d:
        (d / "keep.txt").write_text("an earlier file")
        one_line_exit_2(["train", "--out", d / "out", "--n-synthetic", "70", "--epochs", "1",
                         flag(name), value], d, flag(name))


@FEW
@given(_numeric_flag)
def test_fuzz_numeric_flags(case):
    _flag_case(case)


@pytest.mark.slow
@MANY
@given(_numeric_flag)
def test_fuzz_numeric_flags_many(case):
    _flag_case(case)


_other_flag = st.sampled_from([
    (["semi", "--out", "{d}/semi"], "threshold", (0, 1, True, True)),
    (["semi", "--out", "{d}/semi"], "fixmatch_threshold", (0, 1, False, False)),
    (["semi", "--out", "{d}/semi", "--method", "fixmatch", "--adaptive-threshold"],
     "threshold_momentum", (0, 1, False, False)),
    (["semi", "--out", "{d}/semi"], "lr", RANGES["lr"]),
    (["explain", "tsne", "--model", "{d}/m.keras"], "perplexity", (0, 10_000, False, True)),
    (["evaluate", "--model", "{d}/m.keras"], "seed", RANGES["seed"]),
]).flatmap(lambda c: st.tuples(st.just(c), st.one_of(
    st.sampled_from(["nan", "inf", "-inf"]),
    st.floats(min_value=c[2][1], exclude_min=c[2][3], allow_infinity=False).map(
        lambda v: repr(int(v)) if c[1] == "seed" else repr(v)),
    st.floats(max_value=c[2][0], exclude_max=c[2][2], allow_infinity=False).map(
        lambda v: repr(int(v) - 1) if c[1] == "seed" else repr(v)))))


@FEW
@given(_other_flag)
def test_fuzz_numeric_flags_of_other_commands(case):
    (argv, name, _), value = case
    with _scratch() as d:
        (d / "m.keras").write_bytes(b"an earlier model")
        one_line_exit_2([a.format(d=d) for a in argv] + [flag(name), value], d, flag(name))


# --------------------------------------------------------------------------- run folders
_scalar = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5)
_json = _scalar | st.lists(_scalar, max_size=3) | st.dictionaries(st.text(max_size=5), _scalar,
                                                                    max_size=3)


@st.composite
def bad_run_folder(draw):
    """``(files {name: bytes}, argv builder, words the message must hold)``: a run folder that
    is wrong in one way, and the command that meets it."""
    cfg = TrainConfig(n_synthetic=70, epochs=2).to_dict()
    kind = draw(st.sampled_from(["config_not_object", "config_field_type", "config_truncated",
                                 "state_bad", "checkpoint_bad", "checkpoint_other_run",
                                 "train_over_run", "resume_other_flags",
                                 "evaluate_bad_config", "summary_bad_state"]))
    files = {"config.json": json.dumps(cfg).encode()}
    if kind == "config_not_object":
        files["config.json"] = json.dumps(draw(_json.filter(lambda v: not isinstance(v, dict)))
                                          ).encode()
        return kind, files, ["config.json"]
    if kind == "config_field_type":
        field = draw(st.sampled_from(sorted(RANGES) + ["flip", "optimizer", "schedule"]))
        value = draw(_json.filter(lambda v: type(v) is not type(cfg[field])
                                  and not (isinstance(v, int) and isinstance(cfg[field], float)
                                           and not isinstance(v, bool))))
        cfg[field] = value
        files["config.json"] = json.dumps(cfg).encode()
        return kind, files, ["config.json", field]
    if kind == "config_truncated":
        text = files["config.json"]
        files["config.json"] = text[:draw(st.integers(0, len(text) - 2))]
        return kind, files, ["config.json"]
    if kind == "state_bad":  # a checkpoint whose state is hand-edited
        import zipfile

        state = draw(st.one_of(_json.filter(lambda v: not isinstance(v, dict)),
                               st.fixed_dictionaries({"epoch": _json.filter(
                                   lambda v: not isinstance(v, int) or isinstance(v, bool)
                                   or v < 0)})))
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("fer_keras_state.json", json.dumps(state))
        files["last.keras"] = buf.getvalue()
        return kind, files, ["last.keras"]
    if kind == "checkpoint_other_run":  # last.keras copied from a run with another config
        import zipfile

        field, value = draw(st.sampled_from([("model", "fer_net"), ("lr", 0.5), ("seed", 3),
                                             ("data", "/elsewhere.csv"), ("epochs", 9)]))
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("fer_keras_state.json", json.dumps(
                {"epoch": 1, "history": [], "config": {**cfg, field: value}}))
        files["last.keras"] = buf.getvalue()
        return kind, files, ["last.keras", field, "different runs"]
    if kind == "checkpoint_bad":
        files["last.keras"] = draw(st.binary(max_size=200))
        return kind, files, ["last.keras"]
    if kind == "train_over_run":
        files["best.keras"] = b"an earlier run's model"
        return kind, files, ["a run is already here", "--force"]
    if kind == "summary_bad_state":  # summary reads state.json and history.json
        name = draw(st.sampled_from(["state.json", "history.json"]))
        files["state.json"] = b'{"epoch": 2}'
        files["history.json"] = b'[{"epoch": 1}]'
        files[name] = draw(st.sampled_from([b"{", b"[]" if name == "state.json" else b"{}",
                                            b'{"epoch": "x"}' if name == "state.json" else
                                            b'[{"epoch": "one"}]', b'"text"']))
        return kind, files, [name]
    if kind == "evaluate_bad_config":  # evaluate rebuilds the split from config.json
        files["config.json"] = draw(st.sampled_from([b"[]", b"{", b'{"seed": "x"}',
                                                     b'{"val_fraction": 2}']))
        return kind, files, ["config.json"]
    field = draw(st.sampled_from(["lr", "epochs", "model", "batch_size"]))
    value = {"lr": "0.5", "epochs": "7", "model": "dnn_000", "batch_size": "32"}[field]
    return kind, files, [flag(field), "--resume"], flag(field), value


def _run_folder_case(case):
    kind, files, need = case[:3]
    with _scratch() as d:
        run = d / "run"
        run.mkdir()
        for name, data in files.items():
            (run / name).write_bytes(data)
        if kind == "train_over_run":
            argv = ["train", "--out", run, "--n-synthetic", "70", "--epochs", "1"]
        elif kind in ("evaluate_bad_config", "summary_bad_state"):
            from test_bad_inputs import save_tiny_model

            save_tiny_model(run / "best.keras")
            argv = (["evaluate", "--model", run / "best.keras"] if kind == "evaluate_bad_config"
                    else ["summary", run, "--tta", "none"])
        elif kind == "resume_other_flags":
            argv = ["train", "--resume", "--out", run, case[3], case[4]]
        else:
            argv = ["train", "--resume", "--out", run]
        one_line_exit_2(argv, d, *need)


@FEW
@given(bad_run_folder())
def test_fuzz_run_folders(case):
    _run_folder_case(case)


@pytest.mark.slow
@MANY
@given(bad_run_folder())
def test_fuzz_run_folders_many(case):
    _run_folder_case(case)


# --------------------------------------------------------------------------- outputs and ids
def test_predict_never_overwrites_its_input(tmp_path):
    from test_bad_inputs import save_tiny_model

    data = write_lines(tmp_path / "test.csv", kaggle_lines())
    model = save_tiny_model(tmp_path / "m.keras")
    os.link(data, tmp_path / "hard.csv")
    for out in (data, tmp_path / "hard.csv", model, tmp_path / "." / "test.csv"):
        one_line_exit_2(["predict", "--model", model, "--data", data, "--out", out], tmp_path,
                        "--out", "input")


@given(st.lists(st.sampled_from(["7", "8", "9", " ", "", "x"]), min_size=2, max_size=6).filter(
    lambda ids: len({i.strip() for i in ids}) < len(ids) or any(not i.strip() for i in ids)))
@FEW
def test_fuzz_submission_ids(ids):
    lines = kaggle_lines(len(ids))
    with _scratch() as d:
        write_lines(d / "test.csv", ["id,feature"] + [f"{i},{ln.split(',')[1]}"
                                                      for i, ln in zip(ids, lines[1:])])
        line = one_line_exit_2(["predict", "--model", d / "absent.keras", "--data",
                                d / "test.csv", "--out", d / "sub.csv"], d, "test.csv")
        assert "id" in line and ("duplicate" in line or "empty" in line), line


def test_control_characters_in_names_are_quoted(tmp_path):
    bad = tmp_path / "a\nb\x1b[31m.csv"
    bad.write_text("emotion,pixels,Usage\n")
    line = one_line_exit_2(_train(bad, tmp_path / "out"), tmp_path, "\\n", "\\x1b")
    assert "\x1b" not in line


def test_special_files_do_not_hang(tmp_path):
    fifo = tmp_path / "data.csv"
    os.mkfifo(fifo)
    one_line_exit_2(_train(fifo, tmp_path / "out"), tmp_path, fifo, "regular file")


def test_too_few_rows_for_a_split(tmp_path):
    lines = kaggle_lines(7)  # one row per class: no validation split is possible
    data = write_lines(tmp_path / "seven.csv", [lines[0]] + [ln.rsplit(",", 1)[0] + ",Training"
                                                             for ln in lines[1:]])
    one_line_exit_2(_train(data, tmp_path / "out"), tmp_path, data, "too few")


def test_huge_dimensions_are_refused_before_decoding(tmp_path):
    root = tmp_path / "data"
    d = root / "train" / "happy"
    d.mkdir(parents=True)
    Image.fromarray(_images(1)[0][0]).save(d / "Training_00000.png")
    Image.new("L", (6000, 3000)).save(d / "Training_00001.png")  # 18 M pixels, 20 kB
    one_line_exit_2(_train(root, tmp_path / "out") + ["--resize"], tmp_path,
                    d / "Training_00001.png", "6000x3000", "limit")


def test_links_and_loops_in_a_folder_are_not_images(tmp_path):
    """Links to folders, a link to its own folder (a loop), a broken link and a FIFO with image
    suffixes are skipped, without hanging; the real images load unchanged."""
    from fer_keras.data import load

    images, labels = _images(14)
    root = tmp_path / "data"
    for i, (img, lab) in enumerate(zip(images, labels)):
        f = root / "train" / FOLDER_NAMES[lab] / f"Training_{i:05d}.png"
        f.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(f)
    sad = root / "train" / "sad"
    os.symlink(sad, sad / "loop.png")
    os.symlink(root, sad / "up.jpg")
    os.symlink(tmp_path / "gone.png", sad / "broken.png")
    os.mkfifo(sad / "pipe.png")
    ds = load(root, cache=False)
    assert len(ds) == 14
    order = [int(str(s).rsplit("_", 1)[1][:5]) for s in ds.ids]
    np.testing.assert_array_equal(ds.images, images[order])


def test_gzip_bomb_stops_at_the_limit(tmp_path, monkeypatch):
    import gzip

    from fer_keras.data import loading

    monkeypatch.setattr(loading, "MAX_CSV_BYTES", 200_000)
    bomb = tmp_path / "bomb.csv.gz"  # rows of a plausible length, 460 KB once decompressed
    row = b"0," + b"0 " * 2303 + b"0,Training\n"
    bomb.write_bytes(gzip.compress(b"emotion,pixels,Usage\n" + row * 100))
    assert bomb.stat().st_size < 20_000
    one_line_exit_2(_train(bomb, tmp_path / "out"), tmp_path, bomb, "decompresses to over")
