"""`fer-keras explain` on real inputs (issue 31 item 4): the faces of a photo explained
(fer_keras.faces.photo_explain, `explain saliency --image`), and a user's model without --data is not
explained on the synthetic faces without a word."""
import json

import numpy as np
import pytest
from conftest import FER_FOLDER

pytest.importorskip("cv2")

from fer_keras import CLASS_NAMES  # noqa: E402
from fer_keras.cli import main  # noqa: E402


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    """Seven real FER2013 PublicTest faces (one a class) pasted 3x on a 600x900 noise canvas."""
    from PIL import Image

    from fer_keras.faces import scenes as face_scenes

    root = FER_FOLDER / "test"
    if not root.is_dir():
        pytest.skip(f"real FER2013 image folders not found at {root} (../shared absent)")
    grey = np.stack([np.asarray(Image.open(sorted((root / c.lower()).glob("*.jpg"))[0])
                                .convert("L")) for c in CLASS_NAMES])
    canvas, boxes = face_scenes.paste_faces(grey, canvas=(600, 900), upscale=(3, 3), seed=0)
    path = tmp_path_factory.mktemp("photo") / "photo.jpg"
    Image.fromarray(canvas).save(path, quality=95)
    return path, boxes


@pytest.mark.slow
def test_explain_saliency_image_explains_each_face_of_a_photo(photo, tmp_path, capsys):
    path, pasted = photo
    out = tmp_path / "ex"
    code = main(["explain", "saliency", "--image", str(path), "--method", "gradcam",
                 "--method", "vanilla", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    meta = json.loads((out / "photo_saliency.json").read_text())
    n = len(meta["faces"])
    assert 3 <= n <= 7, f"{n} of the 7 pasted faces found"
    assert printed.count("face ") == n and meta["methods"] == ["gradcam", "vanilla"]
    from fer_keras.faces.detectors import box_iou

    found = np.array([f["box"] for f in meta["faces"]])
    assert box_iou(found, pasted).max(axis=1).min() > 0.4  # every box is on a pasted face
    from PIL import Image

    fig = np.asarray(Image.open(out / "photo_saliency.png"))
    assert fig.shape[0] > 300 and fig.shape[1] > fig.shape[0]  # the photo beside the rows
    assert (out / "photo_faces.png").is_file()


def test_maps_of_a_photo_differ_between_faces_and_follow_the_prediction(photo):
    """Each face gets its own map of its predicted class, in [0, 1], not a copy of another's."""
    from fer_keras.faces import photo_explain

    path, _ = photo
    res = photo_explain.explain_photo(path, settings=photo_explain.Settings(methods=("gradcam",)))
    maps, n = res["maps"], len(res["faces"])
    assert maps.shape[:2] == (n, 1) and maps.min() >= 0 and maps.max() <= 1
    assert res["overlays"].shape == (n, 1, 144, 144, 3) and res["overlays"].dtype == np.uint8
    diffs = [np.abs(maps[0, 0] - maps[i, 0]).mean() for i in range(1, n)]
    assert min(diffs) > 0.01, f"two faces got (nearly) the same map: {diffs}"


def test_a_photo_without_a_face_is_one_line_and_nothing_written(tmp_path, capsys):
    from PIL import Image

    rng = np.random.default_rng(0)
    path = tmp_path / "noise.png"
    Image.fromarray(rng.integers(0, 256, (240, 320), dtype=np.uint8)).save(path)
    code = main(["explain", "saliency", "--image", str(path), "--method", "vanilla",
                 "--out", str(tmp_path / "ex")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "noise.png" in err[0] and "no face" in err[0]
    assert not any((tmp_path / "ex").glob("*"))


def test_explain_without_model_or_image_says_what_is_missing(capsys):
    assert main(["explain", "saliency"]) == 2
    err = capsys.readouterr().err
    assert "--model is required" in err and "--image" in err


def _tiny(path):
    import keras

    inp = keras.Input((48, 48, 1))
    x = keras.layers.Conv2D(2, 3, activation="relu")(inp)
    x = keras.layers.GlobalAveragePooling2D()(x)
    keras.Model(inp, keras.layers.Dense(7, activation="softmax")(x)).save(path)
    return path


def test_data_of_a_model_without_data_notes_synthetic_once(tmp_path, capsys):
    """The rule itself (fast): no --data and no config.json -> synthetic with one note; the
    controls, --data given or a run config beside the model, print nothing."""
    import argparse

    from fer_keras.cli.explain import _data_of
    from fer_keras.config import TrainConfig

    model = tmp_path / "mine.keras"
    args = argparse.Namespace(data=None, model=str(model))
    assert _data_of(args) == "synthetic"
    note = args.data_note  # printed by the command once it has succeeded
    assert note.startswith("note:") and "--data" in note and "\n" not in note
    args = argparse.Namespace(data="x.csv", model=str(model))
    assert _data_of(args) == "x.csv" and not hasattr(args, "data_note")
    TrainConfig(data="../fer2013.csv").save(tmp_path / "config.json")
    args = argparse.Namespace(data=None, model=str(model))
    assert _data_of(args) == "../fer2013.csv" and not hasattr(args, "data_note")
    assert capsys.readouterr().err == ""


@pytest.mark.slow
def test_a_users_model_without_data_gets_a_one_line_note(tmp_path, capsys):
    """A model file with no run config beside it and no --data: one note naming --data; the
    controls, --data given or a run's config.json beside the model, print none."""
    from fer_keras.config import TrainConfig

    model = _tiny(tmp_path / "mine.keras")
    args = ["explain", "confusion", "--model", str(model), "--n-synthetic", "70",
            "--out", str(tmp_path / "a")]
    assert main(args) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "--data" in notes[0] and "synthetic" in notes[0]

    assert main(args[:-1] + [str(tmp_path / "b"), "--data", "synthetic"]) == 0
    assert "note:" not in capsys.readouterr().err

    run = tmp_path / "run"
    run.mkdir()
    _tiny(run / "best.keras")
    TrainConfig(n_synthetic=70).save(run / "config.json")
    assert main(["explain", "confusion", "--model", str(run / "best.keras"), "--n-synthetic",
                 "70"]) == 0
    assert "note:" not in capsys.readouterr().err


def _strict_json(path):
    """``path`` parsed as strict JSON: a bare NaN or Infinity fails, as in any other parser."""
    def refuse(name):
        raise ValueError(f"{path.name}: {name} is not JSON")

    return json.loads(path.read_text(), parse_constant=refuse)


def test_explain_image_uses_the_detector_of_predict_and_shows_stored_verdicts(photo, tmp_path,
                                                                              capsys):
    """`explain saliency --image` finds the very faces `predict` finds (YuNet, the Recognizer's
    default), writes strict JSON with the scores in class order, and carries the shipped
    model's stored check verdict of each method (Grad-CAM fails them, occlusion passes)."""
    path, _ = photo
    assert main(["predict", str(path), "--out", str(tmp_path / "p")]) == 0
    predicted = _strict_json(tmp_path / "p" / "faces.json")
    out = tmp_path / "ex"
    assert main(["explain", "saliency", "--image", str(path), "--method", "gradcam",
                 "--method", "occlusion", "--out", str(out)]) == 0
    meta = _strict_json(out / "photo_saliency.json")
    assert [f["box"] for f in meta["faces"]] == [f["box"] for f in predicted]
    assert len(meta["faces"]) == 7  # YuNet finds all seven pasted faces (Haar: five)
    assert list(meta["faces"][0]["scores"]) == list(CLASS_NAMES)
    assert meta["verdicts"]["gradcam"]["passed"] is False
    assert meta["verdicts"]["gradcam"]["failed"]
    assert meta["verdicts"]["occlusion"]["passed"] is True
    printed = capsys.readouterr().out
    assert f"face 6 at x={predicted[6]['box'][0]} " in printed


def test_verdict_line_names_the_failed_checks():
    from fer_keras.plotting import verdict_line

    assert verdict_line({"passed": True, "failed": []}) == "checks passed"
    assert verdict_line({"passed": False, "failed": ["sanity", "road"]}) == \
        "FAILED checks: sanity, road"
    assert verdict_line(None) == "not checked"


def test_saliency_json_of_explain_data_is_strict_json(tmp_path, capsys):
    """One image a class: the per-class z-scores have no spread and are NaN in memory; the
    file holds null there, which json.loads reads (a bare NaN it refuses)."""
    model = _tiny(tmp_path / "mine.keras")
    out = tmp_path / "ex"
    assert main(["explain", "saliency", "--model", str(model), "--data", "synthetic",
                 "--n-synthetic", "70", "--method", "vanilla", "--out", str(out)]) == 0
    numbers = _strict_json(out / "saliency.json")
    z = [e["z"] for e in numbers["methods"]["vanilla"]["classes"].values() if "z" in e]
    assert z and any(v is None for entry in z for v in entry.values())
