"""Faces in the wild: find the faces of a photo or a video frame and classify each one's expression.

The faces are found by a detector (:mod:`fer_keras.detectors`: YuNet by default, shipped in the
package; the Haar cascade; any callable ``grey -> (N, 4)`` boxes), overlapping boxes merged
(:func:`nms`), or given (``boxes=``). Each face is cropped with FER2013's framing
(:func:`crop_faces`: a square around the box, as wide as the box times the detector's
``frame_scale``, measured on FER2013 itself), turned grey and resized to the model's input.
:class:`Recognizer` ties detector, crop and any classifier together:
``Recognizer().detect("photo.jpg")`` -> ``[{"box": [x, y, w, h], "confidence": c, "scores":
{class: p}, "label": ...}]``; a list of images is one batch (:meth:`Recognizer.detect_batch`).
Annotated copies: :mod:`fer_keras.drawing`. Videos go frame by frame through :func:`iter_video`,
with each face tracked by box overlap (:class:`FaceTracker`) and its probabilities averaged over
the last few frames.
"""
from __future__ import annotations

import collections
import sys
from pathlib import Path

import numpy as np

from fer_keras import contract
from fer_keras.detectors import (  # noqa: F401  (re-exported: faces.HaarDetector etc.)
    DETECT_MAX_SIDE, FRAME_SCALE, HAAR_WEIGHT_MID, NMS_CONTAIN, NMS_IOU, VIDEO_DETECT_SIDE,
    VIDEO_FULL_EVERY, VIDEO_MIN_FACE, VIDEO_WINDOW_FACE, YUNET_FILE, YUNET_FRAME_SCALE,
    YUNET_SCORE, YUNET_SHA256, HaarDetector, TrackingDetector, YuNetDetector, _as_boxes, _cv2,
    _note, box_intersection, box_iou, default_detector, detect_scored, haar_confidence, nms,
    video_detector, yunet_path)
from fer_keras.drawing import _overlap, draw_faces, draw_records, label_layout  # noqa: F401
from fer_keras.errors import FerInputError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")


# --------------------------------------------------------------------------- images
def load_image(image, bgr=False, name=None):
    """An RGB uint8 ``(H, W, 3)`` array from a path, a PIL image or a numpy array.

    Arrays: uint8 or float in [0, 1]; ``(H, W)`` grey, ``(H, W, 3)`` RGB (BGR with ``bgr=True``,
    as OpenCV reads them) or ``(H, W, 4)`` RGBA. Paths are decoded with Pillow, turned upright by
    their EXIF orientation. An unreadable, truncated or absurdly large file raises
    :class:`FerInputError` naming it.
    """
    from PIL import Image, ImageOps

    if isinstance(image, (str, Path)):
        path = Path(image)
        if not path.is_file():
            raise FerInputError("no such image file", file=path)
        try:
            with Image.open(path) as im:
                im.load()  # decode now: a truncated file fails here, not later
                im = ImageOps.exif_transpose(im)
                arr = np.asarray(im.convert("RGB"))
        except Image.DecompressionBombError as e:
            why = " ".join(str(e).split())[:100]
            raise FerInputError(f"image too large to decode safely ({why})", file=path) from None
        except (OSError, ValueError, SyntaxError) as e:
            raise FerInputError(f"not a readable image ({' '.join(str(e).split())[:100]})",
                                file=path) from None
        return np.ascontiguousarray(arr)
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB")).copy()
    arr = np.asarray(image)
    where = name or "image"
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] not in (3, 4)) or arr.size == 0:
        raise FerInputError(f"expected an image array (H, W), (H, W, 3) or (H, W, 4), got shape "
                            f"{arr.shape}", file=where)
    if arr.dtype != np.uint8:
        if not np.issubdtype(arr.dtype, np.number) or not np.isfinite(arr).all():
            raise FerInputError("image array must be finite numbers", file=where)
        scale = 255.0 if arr.max() <= 1.0 else 1.0
        arr = np.clip(np.rint(arr.astype(np.float64) * scale), 0, 255).astype(np.uint8)
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=-1)
    arr = arr[..., :3]
    if bgr:
        arr = arr[..., ::-1]
    return np.ascontiguousarray(arr)


def to_grey(rgb):
    """uint8 ``(H, W)`` luminance (ITU-R BT.601, as FER2013's grey faces) of an RGB uint8 image."""
    cv2 = _cv2()
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


# --------------------------------------------------------------------------- framing
def face_square(box, scale=FRAME_SCALE):
    """``(x0, y0, side)`` in pixels: the square that :func:`crop_faces` cuts around ``box``
    (``x, y, w, h``), centred on it, of side ``scale * max(w, h)``; it may reach past the
    image's edges."""
    x, y, w, h = (float(v) for v in box)
    side = max(1, int(round(scale * max(w, h))))
    return int(round(x + w / 2 - side / 2)), int(round(y + h / 2 - side / 2)), side


def crop_faces(grey, boxes, size=(48, 48), scale=FRAME_SCALE):
    """uint8 ``(N, size[0], size[1])`` face crops framed as FER2013's.

    Each crop is the square centred on its box, of side ``scale * max(w, h)``; parts outside the
    image repeat its edge pixels (FER2013's faces at a border look the same). ``grey``: uint8
    ``(H, W)``; ``boxes``: ``(N, 4)`` ``x, y, w, h``; ``size``: (height, width) of the model's
    input.
    """
    cv2 = _cv2()
    out = np.zeros((len(boxes), *size), np.uint8)
    H, W = grey.shape[:2]
    for i, box in enumerate(np.asarray(boxes, np.float64).reshape(-1, 4)):
        x0, y0, side = face_square(box, scale)
        x1, y1 = x0 + side, y0 + side
        patch = grey[max(y0, 0):min(y1, H), max(x0, 0):min(x1, W)]
        if patch.size == 0:  # a box wholly outside the image: nothing to see
            continue
        patch = cv2.copyMakeBorder(patch, max(0, -y0), max(0, y1 - H), max(0, -x0), max(0, x1 - W),
                                   cv2.BORDER_REPLICATE)
        shrink = side > max(size)
        out[i] = cv2.resize(patch, (size[1], size[0]),
                            interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    return out


def _to_model_input(faces, model):
    """The model's input ``(N, H, W, C)`` from grey uint8 face crops ``(N, h, w)``: resized,
    replicated to C channels and scaled as the model's input contract says
    (:func:`fer_keras.contract.of`)."""
    c = contract.of(model)
    faces = np.asarray(faces)
    if len(faces) == 0:
        return np.zeros((0, c.height, c.width, c.channels), np.float32)
    return c.prepare(faces)


def _class_names(model, class_names=None):
    k = int(model.output_shape[-1])
    if class_names is not None:
        if len(class_names) != k:
            raise FerInputError(f"{len(class_names)} class names for a model of {k} outputs")
        return tuple(class_names)
    return tuple(contract.of(model).classes)


def _load_model(model):
    """The classifier for ``model``: None (the shipped model: its ONNX export run by ONNX
    Runtime when onnxruntime is installed, without importing TensorFlow; else the ``.keras``),
    a ``.keras`` path, a Keras model (or any object with ``predict_on_batch``, ``input_shape``
    and ``output_shape``, such as :class:`fer_keras.runtime.ExportedClassifier`)."""
    if model is None:
        from fer_keras import shipped

        fast = shipped.onnx_classifier()
        if fast is not None:
            return fast
        from fer_keras import models

        return models.pretrained()
    if isinstance(model, (str, Path)):
        from fer_keras import models

        return models.load_classifier(model)[0]
    return model


# --------------------------------------------------------------------------- recognizer
class Recognizer:
    """Detect the faces of an image and classify each one's expression.

    ``model``: any Keras classifier of images, or the path of a ``.keras`` file (default: the
    shipped model, run by ONNX Runtime from its export beside the ``.keras`` when onnxruntime is
    installed: no TensorFlow import, :func:`fer_keras.shipped.onnx_classifier`). ``detector``: a
    callable ``grey -> (N, 4) boxes`` (or ``(N, 5)``, the fifth column a confidence), or an
    object with ``scored(grey) -> (boxes, confidences)`` (default :func:`default_detector`,
    YuNet). Overlapping boxes are merged (:func:`nms`). ``scale``: the crop's side over the box's
    (default the detector's ``frame_scale``, else :data:`FRAME_SCALE`). ``tta="flip"`` averages
    each face with its mirror image.
    """

    def __init__(self, model=None, detector=None, class_names=None, scale=None, tta="none"):
        self.model = _load_model(model)
        self.detector = detector if detector is not None else default_detector()
        self.class_names = _class_names(self.model, class_names)
        self._scale = None if scale is None else float(scale)
        if tta not in ("none", "flip"):
            raise FerInputError(f"tta must be 'none' or 'flip', got {tta!r}")
        self.tta = tta
        c = contract.of(self.model)  # how the model wants its images: one home
        self.input_shape = c.size + (c.channels,)

    @property
    def scale(self):
        """The crop framing used for this recognizer's detector (see ``scale=``)."""
        return self._scale_for(self.detector)

    def _scale_for(self, detector):
        if self._scale is not None:
            return self._scale
        return float(getattr(detector, "frame_scale", FRAME_SCALE))

    def classify(self, faces):
        """float32 ``(N, K)`` class probabilities of grey uint8 face crops ``(N, h, w)``."""
        x = _to_model_input(faces, self.model)
        if len(x) == 0:
            return np.zeros((0, len(self.class_names)), np.float32)
        probs = self._forward(x)
        if self.tta == "flip":
            probs = (probs + self._forward(x[:, :, ::-1])) / 2
        return probs

    def _forward(self, x):
        # predict_on_batch runs the compiled graph (20x faster than an eager call on a 2-core CPU)
        # without predict()'s per-call set-up of a data adapter and callbacks
        return contract.of(self.model).probabilities(self.model.predict_on_batch(x))

    def find(self, grey, boxes=None, detector=None):
        """(int32 ``(N, 4)`` boxes largest first, float32 ``(N,)`` detector confidences) of the
        faces of a grey uint8 image: the detector's boxes after :func:`nms`, or ``boxes`` as
        given (confidence NaN: not detected)."""
        if boxes is not None:
            boxes = _as_boxes(boxes)
            return boxes, np.full(len(boxes), np.nan, np.float32)
        boxes, scores = nms(*detect_scored(detector or self.detector, grey))
        boxes = np.asarray(boxes, np.int32).reshape(-1, 4)
        order = np.argsort(-boxes[:, 2].astype(np.int64) * boxes[:, 3], kind="stable")
        return boxes[order], scores[order]

    def analyse_scored(self, rgb, boxes=None, detector=None):
        """(boxes int32 ``(N, 4)``, confidences float32 ``(N,)``, probabilities float32
        ``(N, K)``) of an RGB uint8 array (``detector`` instead of this one's)."""
        grey = to_grey(rgb)
        boxes, scores = self.find(grey, boxes, detector)
        faces = crop_faces(grey, boxes, self.input_shape[:2], self._scale_for(
            detector or self.detector))
        return boxes, scores, self.classify(faces)

    def analyse(self, image, boxes=None, bgr=False):
        """(boxes int32 ``(N, 4)``, probabilities float32 ``(N, K)``) for an image (see
        :func:`load_image`); ``boxes`` given: those faces, no detection."""
        rgb = load_image(image, bgr=bgr)
        return self.analyse_rgb(rgb, boxes)

    def analyse_rgb(self, rgb, boxes=None, detector=None):
        """:meth:`analyse` of an RGB uint8 array (``detector`` instead of this one's)."""
        boxes, _, probs = self.analyse_scored(rgb, boxes, detector)
        return boxes, probs

    def records(self, boxes, probs, confidences=None):
        """One dict per face: ``{"box": [x, y, w, h], "confidence": detector confidence or None,
        "scores": {class: p}, "label": class}``."""
        conf = [None] * len(boxes) if confidences is None else \
            [None if np.isnan(c) else float(c) for c in confidences]
        return [{"box": [int(v) for v in b], "confidence": c,
                 "scores": {k: float(q) for k, q in zip(self.class_names, p)},
                 "label": self.class_names[int(np.argmax(p))]}
                for b, c, p in zip(boxes, conf, probs)]

    def detect(self, image, boxes=None, bgr=False):
        """One record per face of ``image`` (a path, a PIL image, or an RGB array; BGR with
        ``bgr=True``), largest face first: ``{"box": [x, y, w, h] in the image's own pixels,
        "confidence": the detector's, in [0, 1] (None for given boxes), "scores": {class:
        probability}, "label": class}``. ``boxes``: ``(N, 4)`` faces to classify instead of
        detecting. A photo without a face gives ``[]``. A list (or tuple) of images gives a list
        of such lists (:meth:`detect_batch`; ``boxes`` then one entry per image)."""
        if isinstance(image, (list, tuple)):
            return self.detect_batch(image, boxes, bgr)
        return self.detect_batch([image], None if boxes is None else [boxes], bgr)[0]

    def detect_batch(self, images, boxes=None, bgr=False):
        """:meth:`detect` of each image of ``images``: a list of lists of records. Each image is
        searched for faces, then the model runs once over all the faces of all the images.
        ``boxes``: None, or one entry per image (None to detect, or ``(N, 4)`` boxes)."""
        images = list(images)
        if boxes is not None and len(boxes) != len(images):
            raise FerInputError(f"boxes must have one entry per image: {len(boxes)} for "
                                f"{len(images)} images")
        found, crops = [], []
        for k, image in enumerate(images):
            grey = to_grey(load_image(image, bgr=bgr, name=f"image {k}"))
            b, sc = self.find(grey, None if boxes is None else boxes[k])
            found.append((b, sc))
            crops.append(crop_faces(grey, b, self.input_shape[:2], self.scale))
        probs = self.classify(np.concatenate(crops)) if crops else None
        out, at = [], 0
        for b, sc in found:
            out.append(self.records(b, probs[at:at + len(b)], sc))
            at += len(b)
        return out

    def annotate(self, image, boxes=None, bgr=False, results=None):
        """RGB uint8 ``(H, W, 3)`` copy of ``image`` with each face's box and label drawn
        (``results`` from :meth:`detect` to draw those instead of detecting again)."""
        rgb = load_image(image, bgr=bgr)
        if results is None:
            results = self.detect(rgb, boxes)
        return draw_records(rgb, results)


# --------------------------------------------------------------------------- video
class FaceTracker:
    """Follows faces from frame to frame by box overlap and smooths their probabilities.

    Each new box joins the track whose last box overlaps it most (IoU at least ``min_iou``,
    greedy, each track once); the others start new tracks; a track unseen for ``max_missed``
    updates ends. A face's smoothed probabilities are the mean over its last ``window`` updates
    (peers such as fer and deepface's stream smooth over about 10 frames).
    """

    def __init__(self, window=10, min_iou=0.3, max_missed=5):
        self.window, self.min_iou, self.max_missed = int(window), float(min_iou), int(max_missed)
        self._tracks = {}  # id -> [last box, deque of probabilities, missed updates]
        self._next = 0

    def update(self, boxes, probs):
        """(track ids int ``(N,)``, smoothed probabilities float32 ``(N, K)``) for this frame."""
        boxes = np.asarray(boxes).reshape(-1, 4)
        ids = list(self._tracks)
        iou = box_iou(boxes, [self._tracks[t][0] for t in ids]) if ids \
            else np.zeros((len(boxes), 0))
        assigned = np.full(len(boxes), -1)
        while iou.size and iou.max() >= self.min_iou:
            i, j = np.unravel_index(np.argmax(iou), iou.shape)
            assigned[i] = ids[j]
            iou[i, :], iou[:, j] = -1, -1
        for t in ids:
            self._tracks[t][2] += 1
        smooth = np.zeros_like(np.asarray(probs, np.float32))
        for i, (box, p) in enumerate(zip(boxes, probs)):
            if assigned[i] < 0:
                assigned[i] = self._next
                self._tracks[self._next] = [box, collections.deque(maxlen=self.window), 0]
                self._next += 1
            track = self._tracks[assigned[i]]
            track[0], track[2] = box, 0
            track[1].append(np.asarray(p, np.float32))
            smooth[i] = np.mean(track[1], axis=0)
        for t in [t for t, v in self._tracks.items() if v[2] > self.max_missed]:
            del self._tracks[t]
        return assigned, smooth


def decoder_message(lines):
    """The first of the lines FFmpeg or OpenCV printed, without their ``[mov,mp4 @ 0x55..]`` or
    ``[ WARN:0@0.1] global cap.cpp:123`` prefix, at most 100 characters ('' for none)."""
    import re

    for line in lines:
        text = re.sub(r"^\[[^\]]*@ ?0x[0-9a-fA-F]+\]\s*", "", line)
        text = re.sub(r"^\[\s*(WARN|ERROR|INFO)[^\]]*\]\s*(global\s+)?(\S+:\d+\s+)?", "", text)
        if text.strip():
            return " ".join(text.split())[:100]
    return ""


def open_video(path):
    """An opened ``cv2.VideoCapture`` and (fps, frame count or 0, width, height). FFmpeg's and
    OpenCV's own stderr lines are caught and, when the file cannot be opened, folded into the
    one-line :class:`FerInputError`."""
    from fer_keras.io import native_stderr

    cv2 = _cv2()
    with native_stderr() as said:
        cap = cv2.VideoCapture(str(path))
        opened = cap.isOpened()
    if not opened:
        why = decoder_message(said)
        raise FerInputError("cannot open the video (unknown format or damaged file"
                            + (f"; the decoder says: {why}" if why else "") + ")", file=path)
    fps = cap.get(cv2.CAP_PROP_FPS)
    fps = fps if fps and np.isfinite(fps) and fps > 0 else 25.0
    info = (float(fps), max(0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT))),
            int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    return cap, info


def track_frame(recognizer, tracker, bgr, detector=None):
    """One analysed video frame, as every video path does it (so the single-process and the Ray
    paths give the same rows): faces found and classified in the BGR frame ``bgr``, matched to
    ``tracker``'s tracks. Returns (face records with the smoothed probabilities, int track ids
    ``(N,)``, the frame's own probabilities float32 ``(N, classes)``)."""
    rgb = np.ascontiguousarray(bgr[..., ::-1])
    boxes, conf, probs = recognizer.analyse_scored(rgb, detector=detector)
    ids, smooth = tracker.update(boxes, probs)
    return recognizer.records(boxes, smooth, conf), ids, probs


def iter_video(path, recognizer, every=1, window=10, out_video=None, progress=True, codec="mp4v",
               detector=None):
    """Yield one dict per face per analysed frame of the video at ``path``.

    Every ``every``-th frame (0, every, 2*every...) is analysed; each face is tracked and its
    probabilities averaged over its last ``window`` analysed frames (:class:`FaceTracker`;
    ``window=1``: no smoothing). A record is ``{"frame", "time" (s), "track", "box", "scores"
    (smoothed), "raw" (this frame's probabilities), "label"}``. ``out_video``: write every frame
    with the latest boxes and labels drawn (``codec`` a FourCC: ``mp4v`` for .mp4, ``MJPG`` for
    .avi). A tqdm progress bar on stderr unless ``progress=False``. ``detector``: one for the
    frames instead of the recognizer's (e.g. the faster :func:`video_detector`).
    """
    cv2 = _cv2()
    from tqdm import tqdm

    if int(every) < 1:
        raise FerInputError(f"--every must be a positive integer, got {every!r}")
    cap, (fps, count, width, height) = open_video(path)
    if hasattr(detector, "reset"):
        detector.reset()  # a tracking detector must not carry faces over from another video
    tracker = FaceTracker(window=window)
    from fer_keras.io import native_stderr

    writer, shown, n = None, [], 0
    tmp_ctx, decoder_lines = None, []
    try:
        if out_video is not None:
            from fer_keras.io import atomic_path

            tmp_ctx = atomic_path(out_video)
            tmp = tmp_ctx.__enter__()
            writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*codec), fps, (width, height))
            if not writer.isOpened():
                raise FerInputError(f"OpenCV cannot write {codec} video here (try a .avi name with "
                                    "codec MJPG)", file=out_video)
        bar = tqdm(total=count or None, unit="frame", disable=not progress, file=sys.stderr,
                   desc=Path(path).name, leave=False)
        with bar:
            while True:
                with native_stderr() as said:  # a damaged frame: FFmpeg prints on fd 2
                    ok, bgr = cap.read()
                decoder_lines += said
                if not ok:
                    break
                if n % every == 0:
                    records, ids, probs = track_frame(recognizer, tracker, bgr, detector)
                    shown = []
                    for rec, raw, t in zip(records, probs, ids):
                        rec.update(frame=n, time=n / fps, track=int(t),
                                   raw={c: float(q) for c, q in zip(recognizer.class_names, raw)})
                        shown.append(rec)
                        yield rec
                if writer is not None:
                    drawn = draw_records(bgr[..., ::-1], shown)
                    writer.write(np.ascontiguousarray(drawn[..., ::-1]))
                n += 1
                bar.update(1)
        if n == 0:
            why = decoder_message(decoder_lines)
            raise FerInputError("the video has no readable frames"
                                + (f" (the decoder says: {why})" if why else ""), file=path)
        if decoder_lines:
            _note(f"{path}: the decoder reported {len(decoder_lines)} problem(s) reading frames "
                  f"(first: {decoder_message(decoder_lines)}); frames it could read were used")
    except BaseException as e:
        cap.release()
        if writer is not None:
            writer.release()
        if tmp_ctx is not None:
            tmp_ctx.__exit__(type(e), e, e.__traceback__)
        raise
    cap.release()
    if writer is not None:
        writer.release()
        tmp_ctx.__exit__(None, None, None)


# --------------------------------------------------------------------------- test scenes
def paste_faces(faces, canvas=(480, 640), upscale=(3, 4), background="noise", seed=0):
    """A scene with known faces: grey uint8 ``faces`` ``(N, 48, 48)`` upscaled (a random integer
    factor in ``upscale``) and pasted without overlap on a canvas ``(H, W)`` of plain grey or
    Gaussian noise (``background`` "plain" or "noise"). Returns (grey uint8 ``(H, W)``, the
    int32 ``(N, 4)`` boxes ``x, y, w, h`` of the pasted faces); raises ValueError if they do
    not fit. Used to measure detection and framing on real FER2013 faces."""
    cv2 = _cv2()
    rng = np.random.default_rng(seed)
    H, W = canvas
    if background == "noise":
        img = np.clip(rng.normal(128, 40, canvas), 0, 255).astype(np.uint8)
    else:
        img = np.full(canvas, int(rng.integers(40, 216)), np.uint8)
    boxes = []
    for f in faces:
        s = 48 * int(rng.integers(upscale[0], upscale[1] + 1))
        for _ in range(200):
            x, y = int(rng.integers(0, W - s + 1)), int(rng.integers(0, H - s + 1))
            if not boxes or box_iou([[x - 8, y - 8, s + 16, s + 16]], boxes).max() == 0:
                break
        else:
            raise ValueError(f"{len(faces)} faces do not fit on a {H}x{W} canvas")
        img[y:y + s, x:x + s] = cv2.resize(np.asarray(f, np.uint8), (s, s),
                                           interpolation=cv2.INTER_CUBIC)
        boxes.append([x, y, s, s])
    return img, np.asarray(boxes, np.int32).reshape(-1, 4)


def grid_faces(faces, rows=2, cols=3, side=144, canvas=(480, 640), background=128):
    """A photo of known faces in a grid: grey uint8 ``faces`` ``(rows * cols, 48, 48)`` upscaled
    to ``side`` pixels (bicubic) and centred in the cells of a ``rows`` x ``cols`` grid on a
    plain ``canvas`` ``(H, W)`` of grey level ``background``. Returns (grey uint8 ``(H, W)``,
    int32 ``(N, 4)`` boxes ``x, y, w, h`` of the faces). The issue's measure of recall: 20 such
    photos of 120 FER2013 faces (``benchmarks.faces_detect``)."""
    cv2 = _cv2()
    H, W = canvas
    if side > min(H // rows, W // cols):
        raise ValueError(f"{rows}x{cols} faces of {side} px do not fit on a {H}x{W} canvas")
    img = np.full(canvas, int(background), np.uint8)
    boxes = []
    for k, f in enumerate(faces[:rows * cols]):
        r, c = divmod(k, cols)
        x = c * (W // cols) + (W // cols - side) // 2
        y = r * (H // rows) + (H // rows - side) // 2
        img[y:y + side, x:x + side] = cv2.resize(np.asarray(f, np.uint8), (side, side),
                                                 interpolation=cv2.INTER_CUBIC)
        boxes.append([x, y, side, side])
    return img, np.asarray(boxes, np.int32).reshape(-1, 4)
