"""Issue 7: a corpus of bad inputs, each written by the tests themselves.

Every case goes through the CLI (``fer_keras.cli.main`` in this process, to stay fast, and a few
through real ``fer-keras`` subprocesses to prove the exit status and the absence of a traceback)
and must give exactly one line on stderr that names the file, the line (1-based, the CSV header
is line 1) or the entry, and the problem; exit status 2; and fail before any training. Inputs
that are odd but valid (line endings, a BOM, RGB images, 64x64 with --resize) must load, with
their pixels unchanged.
"""
import gzip
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fer_keras import cli
from fer_keras.data import FOLDER_NAMES

REPO = Path(__file__).resolve().parents[2]
ROWS = 14  # rows of a good CSV: 2 per class; Training for even rows, PublicTest for odd ones


# --------------------------------------------------------------------------- writers
def _images(n=ROWS, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 48, 48), dtype=np.uint8), np.arange(n) % 7


def _px(img):
    return " ".join(map(str, img.ravel().tolist()))


def _usage(i):
    return "Training" if i % 2 == 0 else "PublicTest"


def kaggle_lines(n=ROWS, seed=0):
    images, labels = _images(n, seed)
    return ["emotion,pixels,Usage"] + [f"{lab},{_px(img)},{_usage(i)}"
                                       for i, (img, lab) in enumerate(zip(images, labels))]


def write_lines(path, lines, newline="\n"):
    path.write_bytes((newline.join(lines) + newline).encode())
    return path


def bad_row(tmp, name, transform, line=4):
    """A good Kaggle CSV whose ``line`` (1-based) is ``transform(emotion, pixels, usage)``."""
    lines = kaggle_lines()
    e, p, u = lines[line - 1].split(",")
    lines[line - 1] = transform(e, p, u)
    return write_lines(tmp / name, lines)


def class_folder(root, images=None, labels=None, prefix="Training", ext=".png"):
    if images is None:
        images, labels = _images()
    for i, (img, lab) in enumerate(zip(images, labels)):
        d = root / "train" / FOLDER_NAMES[lab]
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(d / f"{prefix}_{i:05d}{ext}")
    return root


def save_tiny_model(path, input_shape=(48, 48, 1), classes=7):
    import keras

    m = keras.Sequential([keras.Input(input_shape), keras.layers.Flatten(),
                          keras.layers.Dense(classes, name="logits"),
                          keras.layers.Activation("softmax", name="predictions")])
    m.save(path)
    return path


# --------------------------------------------------------------------------- the corpus
@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """``{kind: (argv, [substrings the one error line must contain])}``."""
    t = tmp_path_factory.mktemp("bad")
    good_csv = write_lines(t / "good.csv", kaggle_lines())
    good_model = save_tiny_model(t / "good.keras")
    out = str(t / "out")
    cases = {}

    def train(kind, data, *need, extra=()):
        cases[kind] = (["train", "--data", str(data), "--epochs", "1", "--out", out,
                        "--model", "small_cnn", *extra], [str(data), *need])

    def evaluate(kind, model, *need, data=good_csv):
        cases[kind] = (["evaluate", "--model", str(model), "--data", str(data),
                        "--out", str(t / "eval.json")], [str(model), *need])

    # ---- CSV files
    (t / "empty.csv").write_bytes(b"")
    train("csv_empty", t / "empty.csv", "empty")
    write_lines(t / "header_only.csv", ["emotion,pixels,Usage"])
    train("csv_header_only", t / "header_only.csv", "header only")
    write_lines(t / "blank_lines_only.csv", ["emotion,pixels,Usage", "", ""])
    train("csv_header_and_blank_lines", t / "blank_lines_only.csv", "header only")
    lines = kaggle_lines()
    write_lines(t / "missing_col.csv", ["emotion,Usage"] + [f"{ln.split(',')[0]},Training"
                                                           for ln in lines[1:]])
    train("csv_missing_column", t / "missing_col.csv", "column", "emotion,Usage")
    write_lines(t / "renamed_col.csv", ["emotion,pixel,Usage"] + lines[1:])
    train("csv_renamed_column", t / "renamed_col.csv", "column", "emotion,pixel,Usage")
    train("csv_too_few_pixels", bad_row(t, "few.csv", lambda e, p, u: f"{e},{p.rsplit(' ', 1)[0]},{u}"),
          "line 4", "2304", "2303")
    train("csv_too_many_pixels", bad_row(t, "many.csv", lambda e, p, u: f"{e},{p} 7,{u}", line=9),
          "line 9", "2305")
    train("csv_empty_pixels", bad_row(t, "nopix.csv", lambda e, p, u: f"{e},,{u}", line=2),
          "line 2", "found 0")
    train("csv_non_numeric_pixel", bad_row(t, "alpha.csv", lambda e, p, u: f"{e},{p} abc,{u}"),
          "line 4", "non-numeric", "abc")
    train("csv_float_pixel", bad_row(t, "float.csv",
                                     lambda e, p, u: f"{e},12.5 {p.split(' ', 1)[1]},{u}", line=5),
          "line 5", "12.5")
    train("csv_negative_pixel", bad_row(t, "neg.csv",
                                        lambda e, p, u: f"{e},-3 {p.split(' ', 1)[1]},{u}", line=6),
          "line 6", "negative", "-3")
    train("csv_pixel_over_255", bad_row(t, "big.csv",
                                        lambda e, p, u: f"{e},{p.rsplit(' ', 1)[0]} 256,{u}", line=7),
          "line 7", "256", "0..255")
    train("csv_non_ascii_pixel", bad_row(t, "uni.csv",
                                         lambda e, p, u: f"{e},\uff11{p.split(' ', 1)[1]},{u}", line=3),
          "line 3", "non-numeric")
    train("csv_label_out_of_range", bad_row(t, "label7.csv", lambda e, p, u: f"7,{p},{u}", line=8),
          "line 8", "'7'", "0..6")
    train("csv_label_negative", bad_row(t, "labelneg.csv", lambda e, p, u: f"-1,{p},{u}"),
          "line 4", "'-1'")
    train("csv_label_non_integer", bad_row(t, "label25.csv", lambda e, p, u: f"2.5,{p},{u}"),
          "line 4", "'2.5'", "integer")
    train("csv_label_word", bad_row(t, "labelword.csv", lambda e, p, u: f"happy,{p},{u}", line=15),
          "line 15", "'happy'")
    train("csv_label_missing", bad_row(t, "labelnone.csv", lambda e, p, u: f",{p},{u}"),
          "line 4", "0..6")
    train("csv_unknown_usage", bad_row(t, "usage.csv", lambda e, p, u: f"{e},{p},Validation"),
          "line 4", "Validation")
    train("csv_extra_field", bad_row(t, "extra.csv", lambda e, p, u: f"{e},{p},{u},oops", line=10),
          "line 10", "fields")
    train("csv_extra_field_first_row", bad_row(t, "extra1.csv", lambda e, p, u: f"{e},{p},{u},x",
                                               line=2), "line 2", "fields")
    train("csv_missing_field", bad_row(t, "short.csv", lambda e, p, u: f"{e},{p}", line=11),
          "line 11", "Usage")
    (t / "binary.csv").write_bytes(b"emotion,pixels,Usage\n" + bytes(range(128, 256)) * 40)
    train("csv_not_utf8", t / "binary.csv", "UTF-8")
    raw = gzip.compress(good_csv.read_bytes())
    (t / "trunc.csv.gz").write_bytes(raw[: len(raw) // 2])
    train("gzip_truncated", t / "trunc.csv.gz", "truncated")
    (t / "notgz.csv.gz").write_bytes(good_csv.read_bytes())
    train("gzip_not_gzip", t / "notgz.csv.gz", "cannot read")
    course = t / "course"
    course.mkdir()
    write_lines(course / "test.csv", ["id,feature"] + [f"{i},{ln.split(',')[1]}"
                                                      for i, ln in enumerate(lines[1:])])
    train("course_test_csv_has_no_labels", course / "test.csv", "no labels")
    write_lines(course / "bad_train.csv", ["label,feature"] + [f"{ln.split(',')[0]},{ln.split(',')[1]}"
                                                              for ln in lines[1:4]] + ["9,1 2 3"])
    train("course_train_bad_row", course / "bad_train.csv", "line 5")
    # ---- paths and formats
    train("data_does_not_exist", t / "nope.csv", "no such file")
    (t / "data.txt").write_text("hello")
    train("data_unknown_format", t / "data.txt", "unknown data format")
    Image.fromarray(_images(1)[0][0]).save(t / "face.png")
    train("data_single_image", t / "face.png", "single image")
    # ---- image folders
    (t / "no_classes" / "train").mkdir(parents=True)
    (t / "no_classes" / "train" / "readme.txt").write_text("x")
    cases["folder_no_class_folders"] = (
        ["train", "--data", str(t / "no_classes"), "--epochs", "1", "--out", out],
        [str(t / "no_classes" / "train"), "no class folders"])
    (t / "empty_dir").mkdir()
    train("folder_empty", t / "empty_dir", "no class folders")
    root = class_folder(t / "unknown_class")
    (root / "train" / "contempt").mkdir()
    Image.fromarray(_images(1)[0][0]).save(root / "train" / "contempt" / "Training_1.png")
    cases["folder_unknown_class"] = (
        ["train", "--data", str(root), "--epochs", "1", "--out", out],
        [str(root / "train" / "contempt"), "unknown class folder", "'contempt'"])
    root = t / "no_images"
    for c in FOLDER_NAMES:
        (root / "train" / c).mkdir(parents=True)
    train("folder_no_images", root, "no images")
    for kind, content in (("jpg_truncated", None), ("jpg_not_an_image", b"this is text, not a JPEG\n"),
                          ("jpg_zero_bytes", b"")):
        root = class_folder(t / kind, ext=".jpg")
        victim = root / "train" / "fear" / "Training_00002.jpg"
        if content is None:
            content = victim.read_bytes()[:200]
        victim.write_bytes(content)
        cases[kind] = (["train", "--data", str(root), "--epochs", "1", "--out", out],
                       [str(victim), "unreadable image"])
    root = class_folder(t / "big_images")
    victim = root / "train" / "sad" / "Training_00004.png"
    Image.fromarray(np.zeros((64, 64), np.uint8)).save(victim)
    cases["image_64x64_without_resize"] = (
        ["train", "--data", str(root), "--epochs", "1", "--out", out],
        [str(victim), "64x64", "--resize"])
    root = class_folder(t / "float_image")
    victim = root / "train" / "sad" / "Training_00004.tif"
    Image.fromarray(np.zeros((48, 48), np.float32)).save(victim)
    victim = victim.rename(victim.with_suffix(".png"))
    cases["image_unsupported_mode"] = (
        ["train", "--data", str(root), "--epochs", "1", "--out", out],
        [str(victim), "mode"])
    # ---- model files
    (t / "garbage.keras").write_bytes(b"definitely not a zip file" * 50)
    evaluate("model_corrupt", t / "garbage.keras", "corrupt")
    (t / "empty.keras").write_bytes(b"")
    evaluate("model_empty_file", t / "empty.keras", "corrupt")
    raw = good_model.read_bytes()
    (t / "trunc.keras").write_bytes(raw[: len(raw) // 2])
    evaluate("model_truncated", t / "trunc.keras", "corrupt")
    # any input size is fine (images are resized to it), but not 4-channel images
    evaluate("model_wrong_input_shape", save_tiny_model(t / "in4.keras", (32, 32, 4)),
             "4-channel images")
    evaluate("model_wrong_class_count", save_tiny_model(t / "five.keras", classes=5),
             "5 outputs", "--classes")
    evaluate("model_missing", t / "missing.keras", "no such model file")
    (t / "model.h5").write_bytes(b"\x89HDF\r\n")
    evaluate("model_not_keras_suffix", t / "model.h5", "truncated or corrupt")
    cases["evaluate_bad_data"] = (
        ["evaluate", "--model", str(good_model), "--data", str(t / "label7.csv"),
         "--out", str(t / "eval.json")], [str(t / "label7.csv"), "line 8"])
    cases["predict_bad_data"] = (
        ["predict", "--model", str(good_model), "--data", str(t / "neg.csv"),
         "--out", str(t / "sub.csv")], [str(t / "neg.csv"), "line 6"])
    cases["predict_corrupt_model"] = (
        ["predict", "--model", str(t / "garbage.keras"), "--data", str(good_csv),
         "--out", str(t / "sub.csv")], [str(t / "garbage.keras"), "corrupt"])
    # ---- arguments and outputs
    train("model_name_unknown", good_csv, "--model", "'no_such_net'", "small_cnn",
          extra=["--model", "no_such_net"])
    cases["model_name_unknown"][1].remove(str(good_csv))
    cases["model_name_unknown_synthetic"] = (
        ["train", "--model", "no_such_net", "--epochs", "1", "--out", out, "--n-synthetic", "70"],
        ["--model", "'no_such_net'"])
    cases["epochs_negative"] = (["train", "--epochs", "-3", "--out", out], ["--epochs", "'-3'"])
    cases["epochs_zero"] = (["train", "--epochs", "0", "--out", out], ["--epochs", "'0'"])
    cases["epochs_not_a_number"] = (["train", "--epochs", "ten", "--out", out], ["--epochs", "'ten'"])
    cases["batch_size_zero"] = (["train", "--batch-size", "0", "--out", out], ["--batch-size"])
    cases["lr_negative"] = (["train", "--lr", "-0.1", "--out", out, "--data", str(good_csv)],
                            ["--lr", "positive"])
    cases["lr_not_a_number"] = (["train", "--lr", "fast", "--out", out], ["--lr", "'fast'"])
    cases["val_fraction_out_of_range"] = (["train", "--val-fraction", "1.5", "--out", out,
                                           "--data", str(good_csv)], ["--val-fraction"])
    cases["optimizer_unknown"] = (["train", "--optimizer", "lbfgs", "--out", out],
                                  ["--optimizer", "'lbfgs'"])
    cases["option_unknown"] = (["train", "--epochz", "3"], ["--epochz"])
    cases["command_unknown"] = (["trian"], ["trian"])
    cases["preset_unknown"] = (["train", "--preset", "turbo", "--out", out,
                                "--data", str(good_csv)], ["turbo"])
    blocker = t / "file.txt"
    blocker.write_text("I am a file, not a folder")
    train("out_under_a_file", good_csv, str(blocker / "sub"), extra=["--out", str(blocker / "sub")])
    cases["out_under_a_file"][1].remove(str(good_csv))
    train("out_is_a_file", good_csv, str(blocker), extra=["--out", str(blocker)])
    cases["out_is_a_file"][1].remove(str(good_csv))
    cases["resume_nothing_to_resume"] = (["train", "--resume", "--out", str(t / "fresh")],
                                         [str(t / "fresh"), "nothing to resume"])
    cases["predict_without_out"] = (["predict", "--model", str(good_model), "--data", str(good_csv)],
                                    ["--out"])
    cases["predict_out_unwritable"] = (
        ["predict", "--model", str(good_model), "--data", str(good_csv),
         "--out", str(blocker / "sub.csv")], [str(blocker / "sub.csv")])
    cases["evaluate_out_unwritable"] = (
        ["evaluate", "--model", str(good_model), "--data", str(good_csv),
         "--out", str(blocker / "eval.json")], [str(blocker / "eval.json")])
    cases["evaluate_model_missing_argument"] = (["evaluate", "--data", str(good_csv)], ["--model"])
    return cases


KINDS = [
    "csv_empty", "csv_header_only", "csv_header_and_blank_lines", "csv_missing_column",
    "csv_renamed_column", "csv_too_few_pixels", "csv_too_many_pixels", "csv_empty_pixels",
    "csv_non_numeric_pixel", "csv_float_pixel", "csv_negative_pixel", "csv_pixel_over_255",
    "csv_non_ascii_pixel", "csv_label_out_of_range", "csv_label_negative", "csv_label_non_integer",
    "csv_label_word", "csv_label_missing", "csv_unknown_usage", "csv_extra_field",
    "csv_extra_field_first_row", "csv_missing_field", "csv_not_utf8", "gzip_truncated",
    "gzip_not_gzip", "course_test_csv_has_no_labels", "course_train_bad_row",
    "data_does_not_exist", "data_unknown_format", "data_single_image",
    "folder_no_class_folders", "folder_empty", "folder_unknown_class", "folder_no_images",
    "jpg_truncated", "jpg_not_an_image", "jpg_zero_bytes", "image_64x64_without_resize",
    "image_unsupported_mode",
    "model_corrupt", "model_empty_file", "model_truncated", "model_wrong_input_shape",
    "model_wrong_class_count", "model_missing", "model_not_keras_suffix", "evaluate_bad_data",
    "predict_bad_data", "predict_corrupt_model",
    "model_name_unknown", "model_name_unknown_synthetic", "epochs_negative", "epochs_zero",
    "epochs_not_a_number", "batch_size_zero", "lr_negative", "lr_not_a_number",
    "val_fraction_out_of_range", "optimizer_unknown", "option_unknown", "command_unknown",
    "preset_unknown", "out_under_a_file", "out_is_a_file", "resume_nothing_to_resume",
    "predict_without_out", "predict_out_unwritable", "evaluate_out_unwritable",
    "evaluate_model_missing_argument",
]


@pytest.fixture
def no_training(monkeypatch):
    """Any case that reaches the model fit fails the test: errors must come first."""
    from fer_keras.train import fit, steps

    def boom(*a, **k):
        raise AssertionError("training started: the error must come before any training")

    monkeypatch.setattr(fit, "_fit", boom)
    monkeypatch.setattr(steps, "build_net", boom)


def test_corpus_is_complete(corpus):
    assert sorted(corpus) == sorted(KINDS)
    assert len(KINDS) >= 25


@pytest.mark.parametrize("kind", KINDS)
def test_bad_input_one_line_exit_2(kind, corpus, capsys, no_training):
    argv, need = corpus[kind]
    rc = cli.main(argv)
    cap = capsys.readouterr()
    lines = cap.err.splitlines()
    assert rc == 2, (kind, rc, cap.err)
    assert len(lines) == 1, (kind, cap.err)
    line = lines[0]
    assert line.startswith("error: ") and "Traceback" not in line
    for s in need:
        assert s in line, (kind, s, line)


def _line_of(line, path):
    """The ``file: line N`` part must come right after the file name, editor style."""
    return line.split(str(path), 1)[1]


def test_row_numbers_are_editor_lines(corpus, capsys, no_training):
    argv, _ = corpus["csv_too_many_pixels"]
    cli.main(argv)
    err = capsys.readouterr().err.strip()
    path = argv[argv.index("--data") + 1]
    assert _line_of(err, path).startswith(": line 9: ")
    # and line 9 of the file really is the bad row (2,305 values)
    row = Path(path).read_text().splitlines()[8]
    assert len(row.split(",")[1].split()) == 2305


def test_chmod_unwritable_out(tmp_path, capsys, no_training):
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        pytest.skip("running as root: chmod does not stop writes (see out_under_a_file)")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        rc = cli.main(["train", "--out", str(locked / "run"), "--epochs", "1"])
    finally:
        locked.chmod(0o700)
    err = capsys.readouterr().err.splitlines()
    assert rc == 2 and len(err) == 1 and str(locked / "run") in err[0]


# --------------------------------------------------------------------------- valid oddities load
@pytest.fixture
def captured_splits(monkeypatch):
    """Run ``fer-keras train`` up to the fit and keep the splits it would train on."""
    from fer_keras.train import fit

    seen = {}

    def fake_fit(cfg, out, resume, splits, *rest):
        seen.update(splits)
        return None, []

    monkeypatch.setattr(fit, "_fit", fake_fit)
    return seen


def _train_data(path, tmp_path, captured_splits, *extra):
    rc = cli.main(["train", "--data", str(path), "--epochs", "1", "--out", str(tmp_path / "run"),
                   *extra])
    assert rc == 0
    return captured_splits


@pytest.mark.parametrize("variant", ["crlf", "mixed", "cr", "bom", "bom_crlf", "blank_lines",
                                     "trailing_spaces", "gz"])
def test_odd_but_valid_csv_loads_unchanged(variant, tmp_path, captured_splits, capsys):
    images, labels = _images()
    lines = kaggle_lines()
    path = tmp_path / "odd.csv"
    if variant == "crlf":
        write_lines(path, lines, "\r\n")
    elif variant == "cr":
        write_lines(path, lines, "\r")
    elif variant == "mixed":
        path.write_bytes("".join(ln + ("\r\n" if i % 3 == 0 else "\n")
                                 for i, ln in enumerate(lines)).encode())
    elif variant in ("bom", "bom_crlf"):
        path.write_bytes(b"\xef\xbb\xbf" + ("\r\n" if variant == "bom_crlf" else "\n")
                         .join(lines).encode())
    elif variant == "blank_lines":
        write_lines(path, lines[:3] + [""] + lines[3:] + ["", ""])
    elif variant == "trailing_spaces":
        write_lines(path, [ln.replace(",", " ,").replace("Training", "Training") if i == 0 else
                           ln.replace(",", ", ", 1) for i, ln in enumerate(lines)])
    else:
        path = tmp_path / "odd.csv.gz"
        path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    sp = _train_data(path, tmp_path, captured_splits)
    train = np.arange(ROWS) % 2 == 0
    np.testing.assert_array_equal(sp["train"].images, images[train])
    np.testing.assert_array_equal(sp["train"].labels, labels[train])
    np.testing.assert_array_equal(sp["val"].images, images[~train])
    np.testing.assert_array_equal(sp["val"].labels, labels[~train])
    assert capsys.readouterr().err == ""


def test_rgb_folder_loads(tmp_path, captured_splits, capsys):
    images, labels = _images()
    root = tmp_path / "rgb"
    for i, (img, lab) in enumerate(zip(images, labels)):
        d = root / "train" / FOLDER_NAMES[lab]
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.stack([img] * 3, -1), "RGB").save(d / f"{_usage(i)}_{i:05d}.png")
    sp = _train_data(root, tmp_path, captured_splits)
    got = np.concatenate([sp["train"].images, sp["val"].images])
    ids = np.concatenate([sp["train"].ids, sp["val"].ids])
    order = [int(str(s).rsplit("_", 1)[1][:5]) for s in ids]
    np.testing.assert_array_equal(got, images[order])
    assert capsys.readouterr().err == ""


def test_64x64_loads_with_resize(tmp_path, captured_splits, capsys):
    images, labels = _images()
    big = np.repeat(np.repeat(images, 4, 1), 4, 2)[:, ::3, ::3][:, :64, :64]
    root = tmp_path / "big"
    for i, (img, lab) in enumerate(zip(big, labels)):
        d = root / "train" / FOLDER_NAMES[lab]
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(d / f"{_usage(i)}_{i:05d}.png")
    assert cli.main(["train", "--data", str(root), "--epochs", "1",
                     "--out", str(tmp_path / "run")]) == 2
    assert "64x64" in capsys.readouterr().err
    sp = _train_data(root, tmp_path, captured_splits, "--resize")
    got = np.concatenate([sp["train"].images, sp["val"].images])
    ids = np.concatenate([sp["train"].ids, sp["val"].ids])
    order = [int(str(s).rsplit("_", 1)[1][:5]) for s in ids]
    expected = np.stack([np.asarray(Image.fromarray(b).resize((48, 48), Image.BILINEAR))
                         for b in big[order]])
    np.testing.assert_array_equal(got, expected)


# --------------------------------------------------------------------------- real processes
def _run(argv, timeout=240):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # what a user gets: the CLI must keep stderr clean
    return subprocess.Popen([sys.executable, "-m", "fer_keras", *argv], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


SUBPROCESS_KINDS = ["csv_negative_pixel", "model_wrong_class_count", "epochs_negative"]
MORE_SUBPROCESS_KINDS = ["jpg_truncated", "out_under_a_file", "predict_out_unwritable",
                         "model_name_unknown_synthetic"]


def _check_processes(corpus, kinds):
    procs = {k: _run(corpus[k][0]) for k in kinds}  # in parallel: each imports TensorFlow
    for kind, p in procs.items():
        out, err = p.communicate(timeout=300)
        need = corpus[kind][1]
        assert p.returncode == 2, (kind, p.returncode, err)
        assert "Traceback" not in err, (kind, err)
        lines = err.splitlines()
        assert len(lines) == 1, (kind, err)
        assert lines[0].startswith("error: ")
        for s in need:
            assert s in lines[0], (kind, s, lines[0])


def test_subprocess_exit_status_and_no_traceback(corpus):
    _check_processes(corpus, SUBPROCESS_KINDS)


@pytest.mark.slow
def test_more_subprocesses(corpus):
    _check_processes(corpus, MORE_SUBPROCESS_KINDS)


# --------------------------------------------------------------------------- a hostile user's files
def _one_line(capsys, rc, *need):
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert rc == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    for s in need:
        assert s in lines[0], (s, lines[0])
    return lines[0]


def _train_on(path, tmp_path):
    return cli.main(["train", "--data", str(path), "--epochs", "1", "--model", "small_cnn",
                     "--out", str(tmp_path / "run")])


def test_duplicated_pixels_column(tmp_path, capsys, no_training):
    lines = kaggle_lines()
    dup = ["emotion,pixels,pixels,Usage"] + [f"{e},{p},{p},{u}" for e, p, u in
                                             (ln.split(",") for ln in lines[1:])]
    path = write_lines(tmp_path / "dup.csv", dup)
    _one_line(capsys, _train_on(path, tmp_path), f"{path}: line 1:", "'pixels' appears 2 times")


def test_data_a_loop_of_symbolic_links(tmp_path, capsys, no_training):
    (tmp_path / "a.csv").symlink_to(tmp_path / "b.csv")
    (tmp_path / "b.csv").symlink_to(tmp_path / "a.csv")
    _one_line(capsys, _train_on(tmp_path / "a.csv", tmp_path), str(tmp_path / "a.csv"),
              "loop of symbolic links")
    rc = cli.main(["predict", "--data", str(tmp_path / "a.csv"), "--out", str(tmp_path / "s.csv")])
    _one_line(capsys, rc, "loop of symbolic links")
    rc = cli.main(["predict", "--data", str(tmp_path / "x.csv"), "--out", str(tmp_path / "b.csv")])
    _one_line(capsys, rc, f"{tmp_path / 'b.csv'}: a file that fer-keras did not write")


def test_csv_without_header_is_one_short_line(tmp_path, capsys, no_training):
    path = write_lines(tmp_path / "nohead.csv", kaggle_lines()[1:])
    line = _one_line(capsys, _train_on(path, tmp_path), f"{path}: line 1:", "no header line")
    assert len(line) < len(str(path)) + 300, len(line)  # not the 4,600-character row


def test_csv_of_nul_bytes_stops_at_line_2(tmp_path, capsys, no_training):
    path = tmp_path / "sparse.csv"
    with open(path, "wb") as f:
        f.write(b"emotion,pixels,Usage\n")
        f.truncate(50_000_000)  # a sparse file: no disk used
    line = _one_line(capsys, _train_on(path, tmp_path), f"{path}: line 2:", "NUL byte")
    assert len(line) < len(str(path)) + 200


def test_csv_with_an_endless_line(tmp_path, capsys, no_training):
    lines = kaggle_lines()
    lines[3] = lines[3] + " 1" * 600_000  # line 4: 1.2 MB
    path = write_lines(tmp_path / "long.csv", lines)
    line = _one_line(capsys, _train_on(path, tmp_path), f"{path}: line 4:", "1,048,576 bytes")
    assert len(line) < len(str(path)) + 200


def test_semi_fraction_zero_is_the_only_line(tmp_path, capsys, no_training):
    rc = cli.main(["semi", "--fractions", "0", "--out", str(tmp_path / "semi")])
    _one_line(capsys, rc, "fractions", "between 0 and 1")


def test_semi_fraction_below_one_image_per_class_refused(tmp_path, capsys, no_training):
    rc = cli.main(["semi", "--fractions", "1e-9", "--n-synthetic", "300",
                   "--out", str(tmp_path / "semi")])
    line = _one_line(capsys, rc, "--fractions 1e-09", "'Disgust'", "rounds to none")
    least = float(line.rsplit(" ", 1)[1])  # the smallest fraction it names is accepted
    from fer_keras.data.loading import load_splits
    from fer_keras.semi.comparison import check_fractions, selection_and_score_splits

    train = selection_and_score_splits(load_splits("synthetic", n_synthetic=300))[0]
    check_fractions(train.labels, (least,))
    with pytest.raises(Exception, match="rounds to none"):
        check_fractions(train.labels, (least * 0.9,))
    assert not (tmp_path / "semi" / "semi.json").exists()


# --------------------------------------------------------------------------- nothing replaced
NOTES = b"my own notes, not a model\n"


def _writers(t, model, csv):
    """``{writer: (argv with OUT for the user's file, the file)}``: every command's --out."""
    return {
        "export": (["export", str(model), "--format", "onnx", "--out", "OUT"], "notes.onnx"),
        "evaluate": (["evaluate", "--model", str(model), "--data", str(csv), "--out", "OUT"],
                     "notes.json"),
        "predict --data": (["predict", "--model", str(model), "--data", str(csv), "--out", "OUT"],
                           "notes.csv"),
        "semi": (["semi", "--fractions", "0.5", "--n-synthetic", "300", "--out", "OUT"],
                 "semi/config.json"),
    }


@pytest.fixture(scope="module")
def writer_inputs(tmp_path_factory):
    t = tmp_path_factory.mktemp("writers")
    return save_tiny_model(t / "tiny.keras"), write_lines(t / "good.csv", kaggle_lines())


@pytest.mark.parametrize("writer", ["export", "evaluate", "predict --data", "semi"])
def test_a_users_file_at_out_survives_and_force_replaces_it(writer, writer_inputs, tmp_path,
                                                            capsys, no_training):
    model, csv = writer_inputs
    argv, name = _writers(tmp_path, model, csv)[writer]
    victim = tmp_path / name
    victim.parent.mkdir(exist_ok=True)
    victim.write_bytes(NOTES)
    out = str(victim.parent if writer == "semi" else victim)
    argv = [out if a == "OUT" else a for a in argv]
    _one_line(capsys, cli.main(argv), str(victim), "did not write", "--force")
    assert victim.read_bytes() == NOTES
    if writer == "semi":  # --force would train: the rule's own test covers the replacing
        return
    assert cli.main([*argv, "--force"]) == 0, capsys.readouterr().err
    assert victim.read_bytes() != NOTES and victim.stat().st_size > 0
    assert cli.main(argv) == 0  # its own file now: a second run replaces it without --force


@pytest.mark.parametrize("what,index", [("features", "-1"), ("lime", "1000")])
def test_explain_index_out_of_range_names_the_splits_range(what, index, writer_inputs,
                                                           capsys):
    """The range an ``--index`` must lie in is the split's, not a cap of the flag parser."""
    from fer_keras.data.loading import load_splits

    model, csv = writer_inputs
    n = len(load_splits(str(csv))["val"])
    rc = cli.main(["explain", what, "--model", str(model), "--data", str(csv),
                   "--index", index, "--out", str(model.parent / "never")])
    _one_line(capsys, rc, f"--index must be in [0, {n - 1}]",
              f"the val split has {n} images), got {index}")
    assert not (model.parent / "never").exists()
