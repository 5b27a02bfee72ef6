"""``fer-keras predict`` on photos, folders and videos (:mod:`fer_keras.faces.media`): nothing a
user has is overwritten, and many faceless files make one line, not one line each."""
import os

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from fer_keras.errors import FerInputError, FerOutputError  # noqa: E402
from fer_keras.faces import media as predict_media  # noqa: E402


def _photo(path, value=200):
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((60, 80, 3), value, np.uint8))
    return path


def _cli(argv, capfd):
    from fer_keras.cli import main

    rc = main(argv)
    io = capfd.readouterr()
    return rc, io.out, io.err


def _snapshot(folder):
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.core
def test_annotated_folder_as_input_and_its_parent_as_out_is_refused(tmp_path, capfd):
    """``predict trip/annotated --out trip``: every annotated copy would land on its own input
    photo. Refused in one line before anything is read or written; the photos are untouched."""
    trip = tmp_path / "trip"
    _photo(trip / "annotated" / "a.jpg", 10)
    _photo(trip / "annotated" / "sub" / "b.png", 20)
    before = _snapshot(tmp_path)
    rc, out, err = _cli(["predict", str(trip / "annotated"), "--out", str(trip)], capfd)
    assert rc == 2 and len(err.strip().splitlines()) == 1, err
    assert "annotated" in err and "overwritten" in err and "a.jpg" in err
    assert _snapshot(tmp_path) == before  # nothing written, nothing replaced
    assert not (trip / "faces.csv").exists()


@pytest.mark.core
def test_single_photo_whose_copy_would_replace_it_is_refused(tmp_path, monkeypatch):
    """``predict annotated/photo.jpg --out .`` from the photo's grandparent: the copy's path
    is the photo's own path. And a hard link to an input, in the copy's place, is caught too."""
    photo = _photo(tmp_path / "annotated" / "photo.jpg")
    before = photo.read_bytes()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FerOutputError, match="overwritten") as e:
        predict_media.predict_media("annotated/photo.jpg", ".")
    assert "photo.jpg" in str(e.value) and "\n" not in str(e.value)
    # a copy path spelt another way that is a hard link to the input
    src = _photo(tmp_path / "in" / "x.jpg")
    (tmp_path / "o" / "annotated").mkdir(parents=True)
    os.link(src, tmp_path / "o" / "annotated" / "x.jpg")
    with pytest.raises(FerOutputError, match="overwritten"):
        predict_media.plan_outputs(predict_media.collect(src), src.parent, tmp_path / "o")
    assert photo.read_bytes() == before and src.read_bytes() == before


@pytest.mark.core
def test_csv_or_json_output_on_an_input_is_refused(tmp_path):
    src = _photo(tmp_path / "faces.json.png")
    (tmp_path / "o").mkdir()
    os.link(src, tmp_path / "o" / "faces.json")
    with pytest.raises(FerOutputError, match="faces.json"):
        predict_media.plan_outputs(predict_media.collect(src), src.parent, tmp_path / "o")


@pytest.mark.core
def test_out_inside_the_input_folder_is_fine_and_skips_its_own_copies(tmp_path):
    """``predict trip --out trip``: the copies go to trip/annotated/, which a second run does
    not take as input again; two inputs with one copy name keep both copies."""
    trip = tmp_path / "trip"
    _photo(trip / "a.jpg")
    _photo(trip / "a.gif.png")  # a name that could collide with a.gif's fallback copy name
    from PIL import Image

    Image.fromarray(np.full((30, 40), 90, np.uint8)).save(trip / "a.gif")
    _photo(trip / "annotated" / "a.jpg")  # a previous run's copy
    items = predict_media.collect(trip, skip=trip / "annotated")
    assert sorted(f.name for f, _ in items) == ["a.gif", "a.gif.png", "a.jpg"]
    dests = predict_media.plan_outputs(items, trip, trip)
    assert len(set(dests.values())) == 3
    assert dests[trip / "a.jpg"] == trip / "annotated" / "a.jpg"
    # asked for explicitly, the annotated folder is an input (and then refused by plan_outputs)
    assert len(predict_media.collect(trip / "annotated", skip=trip / "annotated")) == 1


@pytest.mark.core
def test_no_face_notes_are_one_line_with_count_and_first_names():
    files = [f"img{i:04d}.jpg" for i in range(1000)]
    line = predict_media.no_face_summary(files, 1200)
    assert "\n" not in line and "1000 of 1200" in line
    assert "img0000.jpg, img0001.jpg, img0002.jpg and 997 more" in line
    assert "img0003.jpg" not in line
    one = predict_media.no_face_summary(["a.jpg"], 1)
    assert one == "no face found in 1 of 1 file: a.jpg"  # no "and 0 more"


def test_folder_of_faceless_photos_prints_one_note(tmp_path, capfd):
    """A folder of 30 faceless photos: one note line naming the count and the first files."""
    for i in range(30):
        _photo(tmp_path / "in" / f"blank{i:02d}.png", 100 + i)
    rc, out, err = _cli(["predict", str(tmp_path / "in"), "--out", str(tmp_path / "o"),
                         "--no-progress"], capfd)
    assert rc == 0, err
    notes = [s for s in err.splitlines() if "no face" in s]
    assert len(notes) == 1 and "30 of 30 files" in notes[0] and "blank00.png" in notes[0], err
    assert "and 27 more" in notes[0]


@pytest.mark.parametrize("content", [b"\x00" * 300, "half"])
def test_damaged_mp4_is_our_one_line_with_ffmpeg_folded_in(content, tmp_path, capfd):
    """A file of zeros named .mp4 (FFmpeg prints ``moov atom not found`` on fd 2) and a truncated
    .mp4: one line on stderr, ours, exit 2; FFmpeg's text, if any, is inside it."""
    ok_path = tmp_path / "ok.mp4"
    wr = cv2.VideoWriter(str(ok_path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 64))
    for i in range(10):
        wr.write(np.full((64, 64, 3), 20 * i, np.uint8))
    wr.release()
    blob = ok_path.read_bytes()
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(blob[:len(blob) // 2] if content == "half" else content)
    rc, out, err = _cli(["predict", str(bad), "--out", str(tmp_path / "o")], capfd)
    lines = err.strip().splitlines()
    assert rc == 2 and len(lines) == 1, err
    assert lines[0].startswith("error: ") and "bad.mp4" in lines[0]
    assert "cannot open the video" in lines[0]
    if content != "half":
        assert "moov atom not found" in lines[0]  # folded in, not printed before


@pytest.mark.core
def test_native_stderr_captures_fd2_and_restores_it(capfd):
    from fer_keras.fileio import native_stderr

    with native_stderr() as said:
        os.write(2, b"[mov,mp4 @ 0x55d0] moov atom not found\n\n")
    os.write(2, b"after\n")
    assert said == ["[mov,mp4 @ 0x55d0] moov atom not found"]
    assert capfd.readouterr().err == "after\n"
    from fer_keras.faces.video import decoder_message

    assert decoder_message(said) == "moov atom not found"
    assert decoder_message(["[ WARN:0@0.012] global cap.cpp:175 open VIDEOIO: bad"]) == \
        "open VIDEOIO: bad"
    assert decoder_message([]) == ""


def test_input_file_with_the_wrong_kind_is_still_one_line(tmp_path):
    with pytest.raises(FerInputError, match="no such file"):
        predict_media.collect(tmp_path / "missing.jpg")


def _face_photo(fer_folder, path):
    """A real FER2013 face pasted 3x on a grey canvas, at ``path``."""
    from PIL import Image

    from fer_keras.faces import scenes

    face = np.asarray(Image.open(sorted((fer_folder / "test" / "happy").glob("*.jpg"))[0])
                      .convert("L"))
    canvas, _ = scenes.paste_faces(face[None], canvas=(240, 320), upscale=(3, 3),
                                   background="plain")
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(canvas).save(path)
    return path


def test_folder_walk_skips_links_out_of_the_folder_in_one_line(fer_folder, tmp_path, capfd):
    """A link inside the folder to a photo outside it is neither opened nor given a row; one
    note names it. The photo inside gets its rows; the counts are singular for one."""
    _face_photo(fer_folder, tmp_path / "trip" / "in.png")
    outside = _face_photo(fer_folder, tmp_path / "elsewhere" / "secret.png")
    (tmp_path / "trip" / "link.png").symlink_to(outside)
    rc, out, err = _cli(["predict", str(tmp_path / "trip"), "--out", str(tmp_path / "o")], capfd)
    assert rc == 0, err
    notes = [line for line in err.splitlines() if "link" in line]
    assert len(notes) == 1 and "link.png" in notes[0] and "1 link " in notes[0]
    rows = (tmp_path / "o" / "faces.csv").read_text().splitlines()[1:]
    assert rows and all(r.startswith("in.png,") for r in rows)
    assert "(1 face row from 1 file, 1 with faces)" in out


def test_folder_progress_line_with_verbose_and_json_scores_in_class_order(fer_folder, tmp_path,
                                                                          capfd):
    import json

    from fer_keras import CLASS_NAMES

    for k in range(3):
        _face_photo(fer_folder, tmp_path / "in" / f"{k}.png")
    rc, out, err = _cli(["predict", str(tmp_path / "in"), "--out", str(tmp_path / "o"),
                         "--verbose"], capfd)
    assert rc == 0 and "/3 [" in err and "file/s" in err  # the folder's bar, not a TTY here
    assert "3 face rows from 3 files" in out
    recs = json.loads((tmp_path / "o" / "faces.json").read_text())
    assert [list(r["scores"]) for r in recs] == [list(CLASS_NAMES)] * 3
    header = (tmp_path / "o" / "faces.csv").read_text().splitlines()[0].split(",")
    assert [c for c in header if c in CLASS_NAMES] == list(recs[0]["scores"])
    rc, out, err = _cli(["predict", str(tmp_path / "in"), "--out", str(tmp_path / "o2")], capfd)
    assert rc == 0 and "file/s" not in err  # without --verbose, not a terminal: no bar


def test_faces_are_crops_gives_every_fer2013_crop_a_row(fer_folder, tmp_path, capfd):
    """FER2013's own 48x48 crops: the detector misses many (it wants a face with some
    background), --faces-are-crops classifies each whole crop: one row per crop."""
    import shutil

    crops = [p for c in sorted((fer_folder / "test").iterdir())
             for p in sorted(c.glob("*.jpg"))[:15]]
    for p in crops:
        (tmp_path / "in" / p.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copy(p, tmp_path / "in" / p.parent.name / p.name)
    rc, out, err = _cli(["predict", str(tmp_path / "in"), "--out", str(tmp_path / "det")], capfd)
    detected = len((tmp_path / "det" / "faces.csv").read_text().splitlines()) - 1
    rc, out, err = _cli(["predict", str(tmp_path / "in"), "--out", str(tmp_path / "o"),
                         "--faces-are-crops"], capfd)
    assert rc == 0 and "no face" not in err, err
    rows = [r.split(",") for r in (tmp_path / "o" / "faces.csv").read_text().splitlines()[1:]]
    assert len(rows) == len(crops) == 105 and detected < len(crops)
    assert {tuple(r[4:8]) for r in rows} == {("0", "0", "48", "48")}
    assert all(r[8] == "" for r in rows)  # no detector, no confidence


def test_a_camera_index_that_does_not_open_is_one_line(tmp_path, capfd):
    """``predict 0`` is OpenCV's first camera (none on a test machine), not a file named 0."""
    rc, out, err = _cli(["predict", "0", "--out", str(tmp_path / "o")], capfd)
    assert rc == 2 and err.strip() == "error: camera 0 could not be opened (no camera with that " \
        "index, or it is in use)"
    assert not (tmp_path / "o").exists()


def test_a_url_is_refused_as_typed(tmp_path, capfd):
    rc, out, err = _cli(["predict", "https://example.com/a.jpg", "--out", str(tmp_path)], capfd)
    assert rc == 2 and len(err.strip().splitlines()) == 1
    assert "https://example.com/a.jpg" in err and "URLs are not supported" in err


def _schema(section):
    """The first-column names of the table under ``### section`` of docs/faces.md."""
    from conftest import REPO

    text = (REPO / "docs" / "faces.md").read_text().split(f"### {section}\n", 1)[1]
    text = text.split("\n#", 1)[0]
    return [line.split("|")[1].strip() for line in text.splitlines()
            if line.startswith("| `")]


def test_the_written_schema_is_what_predict_writes(fer_folder, tmp_path, capfd):
    """Every column of faces.csv and key of faces.json is in docs/faces.md's tables, in order,
    and the tables name nothing predict does not write (the class columns: one row)."""
    import csv
    import json

    from fer_keras import CLASS_NAMES

    _face_photo(fer_folder, tmp_path / "in" / "a.png")
    rc, _, err = _cli(["predict", str(tmp_path / "in"), "--out", str(tmp_path / "o")], capfd)
    assert rc == 0, err
    header = next(csv.reader((tmp_path / "o" / "faces.csv").open()))
    classes = f"`{CLASS_NAMES[0]}` ... `{CLASS_NAMES[-1]}`"
    documented = [c.replace("`", "") for c in _schema("faces.csv")]
    written = [c for c in header if c not in CLASS_NAMES]
    at = header.index(CLASS_NAMES[0])
    written.insert(at, classes.replace("`", ""))
    assert header[at:at + len(CLASS_NAMES)] == list(CLASS_NAMES)
    assert documented == written
    recs = json.loads((tmp_path / "o" / "faces.json").read_text())
    assert [k.strip("`") for k in _schema("faces.json")] == list(recs[0])
