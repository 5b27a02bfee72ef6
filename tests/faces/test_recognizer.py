"""Faces in the wild (issue 16): detection, framing, the Recognizer, videos and `fer-keras predict`
on photos, folders and videos. Scenes are built from real FER2013 faces (../shared) pasted 3-4x
upscaled at known boxes; nothing is downloaded."""

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from fer_keras import faces  # noqa: E402
from fer_keras.errors import FerInputError  # noqa: E402
from fer_keras.faces import detectors, drawing
from fer_keras.faces import images as face_images
from fer_keras.faces import recognizer as face_recognizer
from fer_keras.faces import scenes as face_scenes
from fer_keras.faces import video as video_io


def _fer_faces(folder, per_class=2, split="test"):
    """(grey uint8 (N, 48, 48), labels) : the first ``per_class`` files of each class folder."""
    from PIL import Image

    from fer_keras import CLASS_NAMES

    images, labels = [], []
    for k, name in enumerate(CLASS_NAMES):
        for f in sorted((folder / split / name.lower()).glob("*.jpg"))[:per_class]:
            images.append(np.asarray(Image.open(f).convert("L")))
            labels.append(k)
    return np.stack(images), np.array(labels)


@pytest.fixture(scope="module")
def shipped():
    from fer_keras import models

    try:
        return models.pretrained()
    except FerInputError as e:
        pytest.skip(f"no shipped model in this checkout ({e})")


@pytest.fixture(scope="module")
def recognizer(shipped):
    return faces.Recognizer(shipped, detector=detectors.HaarDetector(quiet=True))


def _tiny_model(input_shape=(48, 48, 1), logits=False):
    """A model built outside the registry: functional, with a residual add."""
    import keras

    inp = keras.Input(input_shape)
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inp)
    x = keras.layers.Add()([x, keras.layers.Conv2D(4, 1)(x)])
    x = keras.layers.GlobalAveragePooling2D()(x)
    out = keras.layers.Dense(7, activation=None if logits else "softmax")(x)
    return keras.Model(inp, out)


# --------------------------------------------------------------------------- detection + framing
def test_scene_of_real_faces_recall_iou_and_labels(fer_folder, recognizer):
    """Real FER2013 test faces pasted 3-4x at known boxes on plain and noisy canvases: most are
    found, the boxes overlap the pasted squares, and the labels match those of the original
    crops (the framing reproduces FER2013's)."""
    images, labels = _fer_faces(fer_folder, per_class=3)
    found, ious, got, ref, truth = 0, [], [], [], []
    for i in range(0, len(images), 4):
        chunk = images[i:i + 4]
        canvas, truth_boxes = face_scenes.paste_faces(chunk, canvas=(600, 800), seed=i,
                                                background="noise" if (i // 4) % 2 else "plain")
        recs = recognizer.detect(canvas)
        boxes = np.array([r["box"] for r in recs]).reshape(-1, 4)
        iou = detectors.box_iou(truth_boxes, boxes)
        orig = recognizer.classify(chunk).argmax(1)
        for j in range(len(chunk)):
            if iou.shape[1] and iou[j].max() >= 0.3:
                found += 1
                ious.append(iou[j].max())
                got.append(recognizer.class_names.index(recs[int(iou[j].argmax())]["label"]))
                ref.append(orig[j])
                truth.append(labels[i + j])
        # no false faces on the background
        assert (iou.max(0) >= 0.3).all() if iou.size else len(boxes) == 0
    recall = found / len(images)
    assert recall >= 0.6, recall
    assert np.mean(ious) >= 0.6, np.mean(ious)
    agree = np.mean(np.array(got) == np.array(ref))
    assert agree >= 0.7, agree
    assert np.mean(np.array(got) == np.array(truth)) >= 0.3  # chance is 1/7


def test_astronaut_has_exactly_one_face(recognizer):
    from skimage import data

    recs = recognizer.detect(data.astronaut())
    assert len(recs) == 1
    x, y, w, h = recs[0]["box"]
    # Eileen Collins's face in scikit-image's 512x512 photo: around x 180-280, y 60-170
    assert 150 < x < 230 and 30 < y < 110 and 70 < w < 140, recs[0]["box"]
    assert abs(sum(recs[0]["scores"].values()) - 1) < 1e-4
    assert recs[0]["label"] == max(recs[0]["scores"], key=recs[0]["scores"].get)


def test_no_face_gives_an_empty_list(recognizer):
    noise = np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    assert recognizer.detect(noise) == []
    assert recognizer.annotate(noise).shape == (240, 320, 3)


@pytest.mark.core
def test_crop_is_the_square_around_the_box_with_edges_repeated():
    grey = np.arange(100 * 100, dtype=np.int64).reshape(100, 100) % 251
    grey = grey.astype(np.uint8)
    crop = face_images.crop_faces(grey, [[20, 30, 40, 40]], size=(40, 40), scale=1.0)[0]
    np.testing.assert_array_equal(crop, grey[30:70, 20:60])
    # a box at the corner: the part outside repeats the edge pixels
    edge = face_images.crop_faces(grey, [[-10, -10, 20, 20]], size=(20, 20), scale=1.0)[0]
    assert (edge[:10, :10] == grey[0, 0]).all()
    np.testing.assert_array_equal(edge[10:, 10:], grey[:10, :10])
    # a wider box gives a square of its larger side
    wide = face_images.crop_faces(grey, [[10, 40, 60, 20]], size=(60, 60), scale=1.0)[0]
    np.testing.assert_array_equal(wide, grey[20:80, 10:70])


@pytest.mark.core
def test_user_boxes_skip_detection():
    def no_detector(grey):
        raise AssertionError("detector called although boxes were given")

    rec = faces.Recognizer(_tiny_model(), detector=no_detector)
    img = np.random.default_rng(1).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    recs = rec.detect(img, boxes=[[10, 10, 50, 50], [80, 20, 60, 70]])
    assert [r["box"] for r in recs] == [[10, 10, 50, 50], [80, 20, 60, 70]]
    with pytest.raises(FerInputError, match="boxes"):
        rec.detect(img, boxes=[[1, 2, 3]])
    with pytest.raises(FerInputError, match="boxes"):
        rec.detect(img, boxes=[[1, 2, 0, 5]])


@pytest.mark.core
def test_image_forms_agree(tmp_path):
    """A path, a PIL image, an RGB array, its BGR twin (bgr=True) and float [0, 1] give the same."""
    from PIL import Image

    rec = faces.Recognizer(_tiny_model(), detector=lambda g: np.array([[8, 8, 48, 48]]))
    rgb = np.random.default_rng(2).integers(0, 256, (64, 72, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "a.png")
    ref = rec.detect(rgb)[0]["scores"]
    for form, kw in ((tmp_path / "a.png", {}), (str(tmp_path / "a.png"), {}),
                     (Image.fromarray(rgb), {}), (rgb[..., ::-1], {"bgr": True}),
                     (rgb / 255.0, {})):
        got = rec.detect(form, **kw)[0]["scores"]
        np.testing.assert_allclose([got[c] for c in ref], list(ref.values()), atol=1e-5)
    # and the BGR array read as RGB differs (the flag matters)
    swapped = rec.detect(rgb[..., ::-1])[0]["scores"]
    assert not np.allclose(list(swapped.values()), list(ref.values()), atol=1e-5)


@pytest.mark.core
def test_any_model_other_input_and_logits():
    """A model taking 64x64 RGB and giving logits: crops resized and replicated, softmaxed."""
    m = _tiny_model((64, 64, 3), logits=True)
    rec = faces.Recognizer(m, detector=lambda g: np.array([[0, 0, 30, 30]]),
                           class_names=list("abcdefg"))
    r = rec.detect(np.zeros((50, 50, 3), np.uint8) + 90)[0]
    assert set(r["scores"]) == set("abcdefg")
    assert abs(sum(r["scores"].values()) - 1) < 1e-5 and min(r["scores"].values()) > 0
    x = face_recognizer._to_model_input(np.full((2, 10, 12), 255, np.uint8), rec.contract)
    assert x.shape == (2, 64, 64, 3) and x.dtype == np.float32
    assert np.allclose(x, 1.0, atol=1e-6)  # white stays white through the antialiased resize


def test_huge_image_is_downscaled_for_detection_and_said_once(capsys):
    d = detectors.HaarDetector(max_side=400)
    from skimage import data

    big = cv2.resize(face_images.to_grey(data.astronaut()), (1600, 1600))
    b1, b2 = d(big), d(big)
    err = capsys.readouterr().err
    assert err.count("downscaled") == 1 and "1600x1600 -> 400x400" in err
    f = 1600 / 512  # boxes in the original's pixels: the astronaut's face at x 150-230 x f
    assert len(b1) == 1 and f * 150 < b1[0][0] < f * 230 and f * 70 < b1[0][2] < f * 140
    np.testing.assert_array_equal(b1, b2)


def test_yunet_without_a_model_file_is_one_clear_error(tmp_path):
    with pytest.raises(FerInputError, match="no such YuNet model file"):
        detectors.YuNetDetector(tmp_path / "face_detection_yunet.onnx")


def _bright_cell_yunet(path):
    """An ONNX file with YuNet's interface (input ``input`` 1x3xHxW, outputs ``cls/obj/bbox/kps``
    at strides 8, 16, 32, as OpenCV's FaceDetectorYN reads them) whose "faces" are the bright
    32x32 cells of the image: at stride 32 the class and object scores are the cell's mean
    brightness / 255 and the box is the cell; strides 8 and 16 score 0. It lets the test run
    OpenCV's real YuNet decoding, thresholding and NMS without a downloaded model."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    nodes, outputs = [], []
    init = [helper.make_tensor("c0", TensorProto.INT64, [1], [0]),
            helper.make_tensor("c1", TensorProto.INT64, [1], [1]),
            helper.make_tensor("ax1", TensorProto.INT64, [1], [1]),
            helper.make_tensor("shape", TensorProto.INT64, [3], [1, -1, 1]),
            helper.make_tensor("box", TensorProto.FLOAT, [1, 1, 4], [0.5, 0.5, 0.0, 0.0]),
            helper.make_tensor("zero4", TensorProto.FLOAT, [1, 1, 4], [0.0] * 4),
            helper.make_tensor("zero10", TensorProto.FLOAT, [1, 1, 10], [0.0] * 10)]
    nodes.append(helper.make_node("Slice", ["input", "c0", "c1", "ax1"], ["grey"]))
    for s in (8, 16, 32):
        init.append(helper.make_tensor(f"k{s}", TensorProto.FLOAT, [], [1 / 255 if s == 32 else 0]))
        nodes += [
            helper.make_node("AveragePool", ["grey"], [f"p{s}"], kernel_shape=[s, s],
                             strides=[s, s]),
            helper.make_node("Reshape", [f"p{s}", "shape"], [f"flat{s}"]),
            helper.make_node("Mul", [f"flat{s}", f"k{s}"], [f"cls_{s}"]),
            helper.make_node("Identity", [f"cls_{s}"], [f"obj_{s}"]),
            helper.make_node("Mul", [f"flat{s}", "zero4"], [f"b0_{s}"]),
            helper.make_node("Add", [f"b0_{s}", "box"], [f"bbox_{s}"]),
            helper.make_node("Mul", [f"flat{s}", "zero10"], [f"kps_{s}"])]
    for kind, width in (("cls", 1), ("obj", 1), ("bbox", 4), ("kps", 10)):
        outputs += [helper.make_tensor_value_info(f"{kind}_{s}", TensorProto.FLOAT,
                                                  [1, None, width]) for s in (8, 16, 32)]
    graph = helper.make_graph(nodes, "bright_cells", [helper.make_tensor_value_info(
        "input", TensorProto.FLOAT, [1, 3, None, None])], outputs, init)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def test_yunet_adapter_runs_opencvs_decoder(tmp_path, shipped):
    """YuNetDetector through OpenCV's FaceDetectorYN: boxes come back as int x, y, w, h in the
    image's pixels (also for a size that is not a multiple of 32), below the score threshold
    nothing is found, and a Recognizer classifies what it finds."""
    det = detectors.YuNetDetector(_bright_cell_yunet(tmp_path / "yunet.onnx"), score_threshold=0.7)
    grey = np.full((100, 150), 10, np.uint8)  # padded to 128x160 inside OpenCV
    grey[32:64, 64:96] = 250
    boxes = det(grey)
    assert boxes.dtype == np.int32 and boxes.tolist() == [[64, 32, 32, 32]]
    assert det(np.full((100, 150), 10, np.uint8)).shape == (0, 4)  # score 0.04 < 0.7
    grey[32:64, 64:96] = 150  # score 0.59: below the threshold
    assert det(grey).shape == (0, 4)
    grey[32:64, 64:96] = 250
    recs = faces.Recognizer(shipped, detector=det).detect(np.repeat(grey[..., None], 3, -1))
    assert [r["box"] for r in recs] == [[64, 32, 32, 32]]
    assert abs(sum(recs[0]["scores"].values()) - 1) < 1e-4


@pytest.mark.core
def test_unreadable_images_raise_one_line(tmp_path):
    img = np.random.default_rng(3).integers(0, 256, (200, 200, 3), dtype=np.uint8)
    ok, buf = cv2.imencode(".jpg", img)
    (tmp_path / "cut.jpg").write_bytes(buf.tobytes()[:2000])
    (tmp_path / "text.png").write_text("not an image")
    for name in ("cut.jpg", "text.png", "missing.jpg"):
        with pytest.raises(FerInputError) as e:
            face_images.load_image(tmp_path / name)
        assert name in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(FerInputError, match="shape"):
        face_images.load_image(np.zeros((4, 4, 5)))


# --------------------------------------------------------------------------- video
@pytest.mark.core
def test_tracker_keeps_ids_and_smooths():
    t = video_io.FaceTracker(window=4)
    a, b = np.array([1, 0, 0.0]), np.array([0, 1, 0.0])
    labels_raw, labels_smooth = [], []
    for k in range(12):
        p = a if k % 3 else b  # a flickering face: the raw label changes every third frame
        ids, smooth = t.update([[100 + k, 50, 60, 60], [300, 50, 40, 40]], np.stack([p, a]))
        assert list(ids) == [0, 1]  # same faces, same tracks
        labels_raw.append(p.argmax())
        labels_smooth.append(smooth[0].argmax())
    # after the first frame (b alone) the smoothed label holds still
    assert sum(np.diff(labels_raw) != 0) >= 6 and sum(np.diff(labels_smooth[1:]) != 0) == 0
    np.testing.assert_allclose(smooth[0], np.mean([a if k % 3 else b for k in range(8, 12)], 0))
    ids, _ = t.update([[600, 400, 50, 50]], np.stack([a]))
    assert list(ids) == [2]  # a new face far away: a new track


def _write_video(path, frames, fps=10, fourcc="MJPG"):
    h, w = frames[0].shape[:2]
    wr = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
    assert wr.isOpened()
    for f in frames:
        wr.write(cv2.cvtColor(f, cv2.COLOR_GRAY2BGR))
    wr.release()


@pytest.fixture(scope="module")
def face_video(tmp_path_factory):
    """A 20-frame 320x240 MJPG video of one happy FER2013 face drifting right (10 fps)."""
    from conftest import FER_FOLDER as fer_folder

    if not (fer_folder / "test").is_dir():
        pytest.skip(f"real FER2013 image folders not found at {fer_folder} (../shared absent)")
    images, _ = _fer_faces(fer_folder, per_class=1)
    base = np.full((240, 320), 128, np.uint8)
    face = cv2.resize(images[3], (144, 144), interpolation=cv2.INTER_CUBIC)
    frames = []
    for k in range(20):
        f = base.copy()
        f[40:184, 20 + 4 * k:164 + 4 * k] = face
        frames.append(f)
    path = tmp_path_factory.mktemp("video") / "clip.avi"
    _write_video(path, frames)
    return path


def test_video_rows_smoothing_and_annotated_output(face_video, shipped, tmp_path, capsys):
    rec = faces.Recognizer(shipped, detector=detectors.HaarDetector(quiet=True))
    out = tmp_path / "annotated.mp4"
    rows = list(video_io.iter_video(face_video, rec, every=2, window=10, out_video=out))
    assert [r["frame"] for r in rows] == list(range(0, 20, 2))  # one face per analysed frame
    np.testing.assert_allclose([r["time"] for r in rows], np.arange(0, 20, 2) / 10, atol=1e-6)
    assert {r["track"] for r in rows} == {0}
    raw = np.array([list(r["raw"].values()) for r in rows])
    smooth = np.array([list(r["scores"].values()) for r in rows])
    for k in range(len(rows)):  # the smoothed scores are the running mean of the raw ones
        np.testing.assert_allclose(smooth[k], raw[:k + 1].mean(0), atol=1e-5)
    assert rows[-1]["label"] == "Happy"
    assert "frame" in capsys.readouterr().err  # the progress bar
    cap = cv2.VideoCapture(str(out))
    n, first = 0, None
    while True:
        ok, fr = cap.read()
        if not ok:
            break
        first = fr if first is None else first
        n += 1
    assert n == 20 and first.shape == (240, 320, 3)
    # the box is drawn in green on the first frame
    assert (first[..., 1].astype(int) - first[..., 0] > 150).sum() > 100


class _Counting:
    """A detector that counts its calls and the frames it saw."""

    def __init__(self, inner):
        self.inner, self.calls = inner, 0

    def __call__(self, grey):
        self.calls += 1
        return self.inner(grey)


def _moving_face_frames(fer_folder, n=30, step=5, enter=None):
    """Frames (grey 240x320) of one FER2013 face moving ``step`` px right per frame; with
    ``enter=k`` a second face appears at frame k; and the true boxes per frame."""
    images, _ = _fer_faces(fer_folder, per_class=1)
    a = cv2.resize(images[3], (96, 96), interpolation=cv2.INTER_CUBIC)
    b = cv2.resize(images[1], (80, 80), interpolation=cv2.INTER_CUBIC)
    frames, truth = [], []
    for k in range(n):
        f = np.full((240, 320), 128, np.uint8)
        x = 10 + step * k
        f[60:156, x:x + 96] = a
        boxes = [[x, 60, 96, 96]]
        if enter is not None and k >= enter:
            f[140:220, 230:310] = b
            boxes.append([230, 140, 80, 80])
        frames.append(f)
        truth.append(boxes)
    return frames, truth


def test_tracking_detector_follows_faces_with_few_full_searches(fer_folder):
    """Between full searches the face is found again near its last box: the boxes agree with a
    full search on every frame, while the full search runs on about 1 frame in ``full_every``;
    a face entering the frame is found within ``full_every`` frames."""
    frames, truth = _moving_face_frames(fer_folder, n=30, step=5, enter=12)
    full = _Counting(detectors.HaarDetector(min_face=40, quiet=True))
    det = detectors.TrackingDetector(full=full, full_every=5)
    ious, found_second = [], None
    for k, f in enumerate(frames):
        boxes = det(f)
        iou = detectors.box_iou(truth[k], boxes)
        assert iou.shape[1] and iou[0].max() >= 0.5, (k, boxes)  # never loses the moving face
        ious.append(iou[0].max())
        if found_second is None and len(truth[k]) == 2 and iou[1].max() >= 0.5:
            found_second = k
    assert np.mean(ious) >= 0.7
    assert full.calls <= 30 // 5 + 4, full.calls  # mostly local searches
    assert found_second is not None and found_second - 12 < 5
    det.reset()  # forgets the faces: the next frame is searched whole
    before = full.calls
    assert len(det(np.full((240, 320), 128, np.uint8))) == 0 and full.calls == before + 1


def test_tracking_detector_is_reset_per_video(fer_folder, tmp_path, shipped):
    """iter_video resets a tracking detector: a second video does not inherit the first's faces."""
    frames, _ = _moving_face_frames(fer_folder, n=6, step=2)
    _write_video(tmp_path / "a.avi", frames)
    _write_video(tmp_path / "blank.avi", [np.full((240, 320), 128, np.uint8)] * 6)
    rec = faces.Recognizer(shipped, detector=detectors.HaarDetector(quiet=True))
    det = detectors.video_detector(full_every=10)
    assert len(list(video_io.iter_video(tmp_path / "a.avi", rec, progress=False,
                                     detector=det))) == 6
    assert list(video_io.iter_video(tmp_path / "blank.avi", rec, progress=False,
                                 detector=det)) == []
    with pytest.raises(FerInputError, match="full_every"):
        detectors.TrackingDetector(full_every=0)


# --------------------------------------------------------------------------- CLI
def _cli(argv, capsys):
    from fer_keras.cli import main

    rc = main(argv)
    io = capsys.readouterr()
    return rc, io.out, io.err


def test_cli_photo_folder_with_a_bad_file_and_a_faceless_photo(fer_folder, tmp_path, capsys):
    import pandas as pd
    from skimage import data

    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    cv2.imwrite(str(src / "astronaut.jpg"), data.astronaut()[..., ::-1])
    cv2.imwrite(str(src / "sub" / "blank.png"), np.full((100, 120), 200, np.uint8))
    (src / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    out = tmp_path / "out"
    rc, so, se = _cli(["predict", str(src), "--out", str(out)], capsys)
    assert rc == 2  # a file was skipped ...
    assert "broken.jpg" in se and "skipped" in se
    assert "no face found in 1 of 2 files:" in se and "blank.png" in se
    df = pd.read_csv(out / "faces.csv")  # ... and the others went on
    assert list(df["file"]) == ["astronaut.jpg"] and df["label"][0] in df.columns
    from fer_keras import CLASS_NAMES

    assert abs(df[list(CLASS_NAMES)].sum(1)[0] - 1) < 1e-4
    assert (out / "annotated" / "astronaut.jpg").is_file()
    assert (out / "annotated" / "sub" / "blank.png").is_file()
    import json

    recs = json.loads((out / "faces.json").read_text())
    assert recs[0]["box"] == [int(v) for v in df.loc[0, ["x", "y", "w", "h"]]]


def test_cli_video(face_video, tmp_path, capsys):
    import pandas as pd

    rc, so, se = _cli(["predict", str(face_video), "--out", str(tmp_path / "o"), "--every", "5",
                       "--no-progress"], capsys)
    assert rc == 0, se
    df = pd.read_csv(tmp_path / "o" / "faces.csv")
    assert list(df["frame"]) == [0, 5, 10, 15] and list(df["time"]) == [0.0, 0.5, 1.0, 1.5]
    assert cv2.VideoCapture(str(tmp_path / "o" / "annotated" / "clip.mp4")).isOpened()


@pytest.mark.parametrize("make, match", [
    (lambda p: (p / "e").mkdir(), "no images"),
    (lambda p: (p / "e.mp4").write_bytes(b"\x00" * 300), "cannot open the video"),
    (lambda p: (p / "e.jpg").write_bytes(b"\xff\xd8\xff"), "not a readable image"),
])
def test_cli_bad_inputs_one_line_exit_2(make, match, tmp_path, capsys):
    make(tmp_path)
    target = next(p for p in tmp_path.iterdir() if p.name.startswith("e"))
    rc, so, se = _cli(["predict", str(target), "--out", str(tmp_path / "o")], capsys)
    assert rc == 2 and match in se and len(se.strip().splitlines()) == 1, se
    assert not (tmp_path / "o" / "faces.csv").exists()


def test_cli_predict_data_still_writes_the_submission(tmp_path, capsys):
    import keras
    import pandas as pd

    m = _tiny_model()
    keras.saving.save_model(m, tmp_path / "m.keras")
    rc, so, se = _cli(["predict", "--model", str(tmp_path / "m.keras"), "--data", "synthetic",
                       "--out", str(tmp_path / "sub.csv")], capsys)
    assert rc == 0, se
    df = pd.read_csv(tmp_path / "sub.csv")
    assert list(df.columns) == ["id", "label"] and len(df) == 3000  # data.load's synthetic set


def test_pretrained_is_a_48x48_classifier(shipped):
    assert tuple(shipped.input_shape[1:]) == (48, 48, 1) and shipped.output_shape[-1] == 7
    from fer_keras.models.shipped import WEIGHTS

    files = sorted(WEIGHTS.glob("fer_net*"))  # the model (.keras and its .onnx export)
    assert {f.suffix for f in files} >= {".keras", ".onnx"}, files
    for f in files:  # 10 MB at most each
        assert f.stat().st_size < 10 * 2 ** 20, f


def test_decompression_bomb_is_one_line(tmp_path, monkeypatch):
    from PIL import Image

    Image.fromarray(np.zeros((300, 300), np.uint8)).save(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 20_000)  # 90,000 pixels: over twice the limit
    with pytest.raises(FerInputError, match="too large") as e:
        face_images.load_image(tmp_path / "big.png")
    assert "big.png" in str(e.value) and "\n" not in str(e.value)


def test_arbitrary_bytes_never_crash_the_loader(tmp_path):
    """Any file content: an RGB array or a one-line FerInputError naming the file, nothing else."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from skimage import data

    ok, jpg = cv2.imencode(".jpg", data.astronaut()[::8, ::8])
    jpg = jpg.tobytes()

    @settings(max_examples=60, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(cut=st.integers(0, len(jpg)), noise=st.binary(max_size=64), pos=st.integers(0, len(jpg)))
    def check(cut, noise, pos):
        blob = (jpg[:pos] + noise + jpg[pos:])[:cut]
        path = tmp_path / "x.jpg"
        path.write_bytes(blob)
        try:
            arr = face_images.load_image(path)
        except FerInputError as e:
            assert "x.jpg" in str(e) and "\n" not in str(e)
        else:
            assert arr.dtype == np.uint8 and arr.ndim == 3 and arr.shape[-1] == 3

    check()


# --------------------------------------------------------------------------- issue 28
@pytest.mark.core
def test_detect_takes_a_list_and_detect_batch_runs_the_model_once():
    """``detect([a, b])`` is ``[detect(a), detect(b)]``; the model runs once over the faces of
    all the images; each record carries the detector's confidence and the box in the original
    image's pixels, also when the detector worked on a downscaled copy."""
    calls = []

    class Half:
        """A detector that looks at a half-size copy and scales its boxes back, scored."""

        def scored(self, grey):
            small = grey[::2, ::2]
            found = np.argwhere(small > 200)
            if not len(found):
                return np.zeros((0, 4)), np.zeros(0)
            (y0, x0), (y1, x1) = found.min(0), found.max(0) + 1
            return np.array([[x0, y0, x1 - x0, y1 - y0]]) * 2, np.array([0.8])

    model = _tiny_model()
    rec = faces.Recognizer(model, detector=Half())
    real = rec.classify
    rec.classify = lambda crops: (calls.append(len(crops)), real(crops))[1]
    a = np.full((120, 160, 3), 30, np.uint8)
    a[20:60, 40:80] = 250  # a bright "face" at x 40, y 20, 40 x 40
    b = np.full((100, 100, 3), 30, np.uint8)
    b[50:90, 10:40] = 250
    blank = np.full((50, 60, 3), 30, np.uint8)
    out = rec.detect([a, blank, b])
    assert calls == [2]  # one forward pass for both faces of the three images
    assert [len(r) for r in out] == [1, 0, 1]
    assert out[0][0]["box"] == [40, 20, 40, 40] and out[2][0]["box"] == [10, 50, 30, 40]
    assert out[0][0]["confidence"] == pytest.approx(0.8)
    calls.clear()
    one = rec.detect(a)
    np.testing.assert_allclose(list(one[0]["scores"].values()),
                               list(out[0][0]["scores"].values()), atol=1e-5)
    assert rec.detect_batch((a, b), boxes=[None, [[0, 0, 20, 20]]])[1][0]["confidence"] is None
    with pytest.raises(FerInputError, match="one entry per image"):
        rec.detect_batch([a, b], boxes=[None])
    assert rec.detect([]) == []


@pytest.mark.core
def test_nms_merges_overlapping_and_nested_boxes_keeping_the_surest():
    boxes = np.array([[100, 100, 80, 80],    # a face
                      [104, 98, 78, 84],     # the same face again, less sure
                      [120, 150, 30, 25],    # a box on its chin, inside it
                      [300, 100, 80, 80],    # another face
                      [200, 100, 90, 90]])   # a box that only touches the others
    scores = np.array([0.9, 0.95, 0.5, 0.7, 0.6])
    kept, sc = detectors.nms(boxes, scores)
    assert kept.tolist() == [[104, 98, 78, 84], [300, 100, 80, 80], [200, 100, 90, 90]]
    np.testing.assert_allclose(sc, [0.95, 0.7, 0.6])
    # unknown confidences: the larger box counts as the surer
    kept, sc = detectors.nms(boxes[:3], None)
    assert kept.tolist() == [[104, 98, 78, 84]] and np.isnan(sc).all()
    # control: far-apart boxes all stay
    apart = np.array([[0, 0, 10, 10], [20, 0, 10, 10], [0, 20, 10, 10]])
    assert detectors.nms(apart, [0.1, 0.2, 0.3])[0].tolist() == apart[[2, 1, 0]].tolist()


@pytest.mark.core
def test_recognizer_merges_duplicate_boxes_of_any_detector():
    dup = np.array([[10, 10, 40, 40, 0.6], [12, 11, 40, 40, 0.9], [70, 10, 40, 40, 0.8]])
    rec = faces.Recognizer(_tiny_model(), detector=lambda g: dup)
    recs = rec.detect(np.zeros((80, 120, 3), np.uint8))
    assert [r["box"] for r in recs] == [[12, 11, 40, 40], [70, 10, 40, 40]]
    assert [r["confidence"] for r in recs] == pytest.approx([0.9, 0.8])
    plain = faces.Recognizer(_tiny_model(), detector=lambda g: dup[:, :4])
    assert [r["confidence"] for r in plain.detect(np.zeros((80, 120, 3), np.uint8))] == \
        [None, None]


def test_haar_confidence_ranks_true_faces_above_false_boxes(fer_folder):
    """The cascade's confidences are in (0, 1); on grid photos of real FER2013 faces, the boxes
    on faces have a higher median confidence than 0.9 and Haar's boxes are those of
    detectMultiScale (detectMultiScale3 changes nothing but the weights)."""
    images, _ = _fer_faces(fer_folder, per_class=2)
    det = detectors.HaarDetector(quiet=True)
    conf, n = [], 0
    for k in range(0, 12, 6):
        grey, truth = face_scenes.grid_faces(images[k:k + 6])
        b, s = det.scored(grey)
        old = np.asarray(det._cascade.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=5,
                                                       minSize=(40, 40))).reshape(-1, 4)
        assert sorted(map(tuple, b.tolist())) == sorted(map(tuple, old.tolist()))
        assert ((s > 0) & (s < 1)).all()
        iou = detectors.box_iou(b, truth).max(1)
        conf += list(s[iou >= 0.3])
        n += len(b)
    assert n >= 6 and np.median(conf) > 0.9, conf


def test_shipped_yunet_file_is_the_measured_one_with_its_licence():
    import hashlib

    path = detectors.yunet_path()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == detectors.YUNET_SHA256
    licence = (path.parent / "face_detection_yunet.LICENSE").read_text()
    assert "MIT License" in licence and "Shiqi Yu" in licence and "opencv_zoo" in licence


def test_yunet_finds_more_grid_faces_than_haar_and_no_false_box(fer_folder):
    """Three grid photos of 18 real FER2013 PublicTest faces and two real photos without a
    face: the shipped YuNet finds at least as many faces as Haar and at least 15, with
    confidences in [0, 1], and no box on the faceless photos; a 2000 px close-up (a face far
    over YuNet's 300 px) is found through the small copy."""
    from skimage import data

    images, _ = _fer_faces(fer_folder, per_class=3)
    yunet, haar = detectors.YuNetDetector(), detectors.HaarDetector(quiet=True)
    found = {"yunet": 0, "haar": 0}
    for k in range(0, 18, 6):
        grey, truth = face_scenes.grid_faces(images[k:k + 6])
        for name, det in (("yunet", yunet), ("haar", haar)):
            b, s = detectors.nms(*detectors.detect_scored(det, grey))
            found[name] += int((detectors.box_iou(truth, b).max(1) >= 0.3).sum()) if len(b) else 0
            assert ((s >= 0) & (s <= 1)).all()
    assert found["yunet"] >= max(15, found["haar"]), found
    for photo in (data.coffee(), data.chelsea()):
        assert len(yunet(face_images.to_grey(photo))) == 0
    big = cv2.resize(face_images.to_grey(data.astronaut()), (2000, 2000))
    b = yunet(big)
    f = 2000 / 512
    assert len(b) == 1 and 150 * f < b[0][0] + b[0][2] / 2 < 290 * f, b


@pytest.mark.core
def test_labels_stay_inside_and_cover_neither_faces_nor_each_other():
    """Boxes at the right edge, at the top edge and two adjacent faces: every label rectangle
    lies inside the image, no two overlap, and none covers a face."""
    img = np.zeros((240, 320, 3), np.uint8)
    boxes = np.array([[250, 100, 70, 70],   # at the right edge
                      [60, 0, 60, 60],      # at the top edge
                      [60, 120, 60, 60],    # two adjacent faces...
                      [121, 120, 60, 60]])  # ...side by side
    labels = ["Surprise 0.97", "Neutral 0.51", "Happy 0.99", "Fear 0.40"]
    cv2_ = detectors._cv2()
    sizes = [(cv2_.getTextSize(t, cv2_.FONT_HERSHEY_SIMPLEX, 0.7, 1)[0][0] + 4, 20)
             for t in labels]
    rects = drawing.label_layout(img.shape, boxes, sizes)
    H, W = img.shape[:2]
    assert (rects[:, 0] >= 0).all() and (rects[:, 1] >= 0).all()
    assert (rects[:, 2] <= W).all() and (rects[:, 3] <= H).all()
    face_rects = [(x, y, x + w, y + h) for x, y, w, h in boxes]
    for i, r in enumerate(rects):
        assert drawing._overlap(r, face_rects) == 0, (i, r)
        others = [q for j, q in enumerate(rects) if j != i]
        assert drawing._overlap(r, others) == 0, (i, r, others)
    assert (rects[:, 2] - rects[:, 0]).tolist() == [s[0] for s in sizes]  # whole, not clipped
    # the drawn image: label fills (green) inside the rectangles, none outside the boxes' rims
    drawn = drawing.draw_faces(img, boxes, labels)
    green = (drawn[..., 1] == 255) & (drawn[..., 0] == 0)
    assert green[:, W - 5:].any()  # the right-edge face's label is drawn, not cut off
    # control: the old placement (left-aligned above, else below) ran off the right edge
    x, y, w, h = boxes[0]
    assert x + sizes[0][0] > W


@pytest.mark.core
def test_a_label_wider_than_the_image_gets_a_smaller_font():
    img = np.zeros((60, 80, 3), np.uint8)
    drawn = drawing.draw_faces(img, [[20, 20, 30, 30]], ["Surprise 0.97 and more"])
    assert drawn.shape == img.shape and (drawn[..., 1] == 255).any()


def test_yunet_padding_to_32_keeps_opencvs_boxes():
    """YuNetDetector pads its input to multiples of 32 (so video windows of nearby sizes share a
    network): on images of odd sizes its boxes and scores are those of OpenCV's FaceDetectorYN
    set to the exact size."""
    from skimage import data

    det = detectors.YuNetDetector(max_side=10 ** 6, big_face_side=10 ** 6)
    for size in ((637, 451), (413, 301), (512, 384)):
        bgr = cv2.resize(data.astronaut()[..., ::-1], size)
        net = cv2.FaceDetectorYN.create(str(detectors.yunet_path()), "", size, detectors.YUNET_SCORE, 0.3)
        b, s = det.scored(face_images.to_grey(bgr[..., ::-1]))
        grey_bgr = cv2.cvtColor(face_images.to_grey(bgr[..., ::-1]), cv2.COLOR_GRAY2BGR)
        _, ref = net.detect(grey_bgr)
        assert ref is not None and len(b) == len(ref) == 1, (size, b, ref)
        np.testing.assert_array_equal(b[0], np.rint(ref[0, :4]).astype(np.int32))
        assert s[0] == pytest.approx(float(ref[0, 14]), abs=1e-6)


def test_video_detector_is_yunet_on_every_frame(fer_folder):
    """The default video detector searches every frame whole with YuNet at
    VIDEO_DETECT_SIDE px: its boxes are those of that search on each frame (YuNet's framing),
    it follows a moving face and finds one entering the frame at once; with ``full_every=5``
    the frames between are searched by YuNet in windows and the face is still found on each."""
    frames, truth = _moving_face_frames(fer_folder, n=20, step=5, enter=8)
    det = detectors.video_detector()
    assert det.full_every == detectors.VIDEO_FULL_EVERY == 1
    assert det.frame_scale == detectors.YUNET_FRAME_SCALE
    ref = detectors.YuNetDetector(max_side=detectors.VIDEO_DETECT_SIDE,
                              big_face_side=detectors.VIDEO_DETECT_SIDE)
    for k, f in enumerate(frames):
        b = det(f)
        np.testing.assert_array_equal(b, ref(f))
        assert detectors.box_iou(truth[k], b).max(1).min() >= 0.3, (k, b)
    windows = detectors.video_detector(full_every=5)
    full = _Counting(windows.full)
    windows.full = full
    for k, f in enumerate(frames[:8]):
        assert detectors.box_iou(truth[k], windows(f)).max() >= 0.3, k
    assert full.calls == 2  # frames 0 and 5: the others were windows around the face


def test_video_detector_falls_back_to_the_haar_tracker(monkeypatch, capsys):
    """Without YuNet the video detector is the Haar tracker searching every 5 frames, said once
    on stderr; an explicit ``full_every`` is kept."""
    from fer_keras.faces import detectors

    def no_yunet(*a, **k):
        raise FerInputError("no such YuNet model file")

    monkeypatch.setattr(detectors, "YuNetDetector", no_yunet)
    det = detectors.video_detector()
    assert isinstance(det.full, detectors.HaarDetector) and det.full_every == 5
    assert "tracking with the Haar cascade" in capsys.readouterr().err
    assert detectors.video_detector(full_every=3).full_every == 3


@pytest.mark.core
def test_recognizer_takes_the_input_range_and_classes_and_decides_the_contract_once(tmp_path):
    """``Recognizer(path, input_range=, classes=)``: the contract is the one given, and it is the
    one the model is fed by (a model trained on [-1, 1] scored as [0, 1] gives other scores)."""
    import keras

    m = _tiny_model()
    path = tmp_path / "m.keras"
    m.save(path)
    box = lambda g: np.array([[0, 0, 40, 40]])  # noqa: E731
    face = np.tile(np.linspace(0, 255, 48, dtype=np.uint8), (48, 1))
    default = faces.Recognizer(str(path), detector=box)
    given = faces.Recognizer(str(path), detector=box, input_range="-1,1", classes=list("abcdefg"))
    assert default.contract.input_range == (0.0, 1.0)
    assert given.contract.input_range == (-1.0, 1.0) and given.class_names == tuple("abcdefg")
    x = face_recognizer._to_model_input(face[None], given.contract)
    assert x.min() == pytest.approx(-1.0) and x.max() == pytest.approx(1.0)
    a = default.detect(np.stack([face] * 3, -1))[0]["scores"]
    b = given.detect(np.stack([face] * 3, -1))[0]["scores"]
    assert set(b) == set("abcdefg")
    assert not np.allclose(list(a.values()), list(b.values()), atol=1e-4)
    # the same through a model object: its attached contract is replaced, once
    obj = faces.Recognizer(keras.saving.load_model(path), detector=box, input_range="-1,1")
    assert obj.contract.input_range == (-1.0, 1.0)


def test_top_emotion_is_the_label_and_score_of_the_largest_face(fer_folder):
    """As ``fer``'s ``FER().top_emotion(img)``: (label, probability) of the largest face; (None,
    None) without a face."""
    from PIL import Image

    from fer_keras.faces import Recognizer, scenes

    faces = np.stack([np.asarray(Image.open(sorted((fer_folder / "test" / c).glob("*.jpg"))[0])
                                 .convert("L")) for c in ("happy", "surprise")])
    canvas, boxes = scenes.paste_faces(faces, canvas=(400, 600), upscale=(2, 4), seed=3)
    rec = Recognizer()
    records = rec.detect(canvas)
    label, score = rec.top_emotion(canvas)
    biggest = max(records, key=lambda r: r["box"][2] * r["box"][3])
    assert (label, score) == (biggest["label"], biggest["scores"][biggest["label"]])
    assert label in rec.class_names and 0 < score <= 1
    assert rec.top_emotion(np.full((100, 100), 128, np.uint8)) == (None, None)


def test_detect_false_takes_each_image_as_one_face_crop(fer_folder):
    from PIL import Image

    from fer_keras.faces import Recognizer

    crop = np.asarray(Image.open(sorted((fer_folder / "test" / "sad").glob("*.jpg"))[0]))
    rec = Recognizer(detect=False)
    (r,) = rec.detect(crop)
    assert r["box"] == [0, 0, 48, 48] and r["confidence"] is None
    np.testing.assert_allclose([r["scores"][k] for k in rec.class_names],
                               rec.classify(crop[None])[0], atol=1e-6)  # the crop as it is
