"""Faces in the wild: find the faces of a photo or a video frame and classify each one's expression.

A *detector* is any callable ``detector(grey) -> boxes``: ``grey`` a uint8 ``(H, W)`` image,
``boxes`` an int ``(N, 4)`` array of ``x, y, w, h`` in that image's pixels. :class:`HaarDetector`
(OpenCV's frontal-face Haar cascade, Viola & Jones 2001, whose weights ship inside the
``opencv-python-headless`` wheel, so nothing downloads) is the default; :class:`YuNetDetector`
wraps OpenCV's ``FaceDetectorYN`` for a YuNet ``.onnx`` file the user has; or pass your own boxes
(``boxes=``) to skip detection.

Each face is cropped with FER2013's framing (:func:`crop_faces`: a square around the box, as
wide as the box times :data:`FRAME_SCALE`, measured on FER2013 itself), turned grey and resized to
the model's input. :class:`Recognizer` ties detector, crop and any Keras classifier together:
``Recognizer().detect("photo.jpg")`` -> ``[{"box": [x, y, w, h], "scores": {class: p},
"label": ...}]``.
Videos go frame by frame through :func:`iter_video`, with each face tracked by box overlap
(:class:`FaceTracker`) and its probabilities averaged over the last few frames.
"""
from __future__ import annotations

import collections
import sys
from pathlib import Path

import numpy as np

from fer_keras import contract
from fer_keras.errors import FerInputError

#: Side of the square crop / the larger side of the detector's box. Measured: the Haar cascade's
#: box on FER2013 faces (upscaled 4x, pasted on a canvas) is centred on the image (offset under
#: 0.3% of the box) and its side is 1.03x smaller than the image (median, train/, 452 faces);
#: by accuracy on train/ (500 faces, the shipped model) 1.05 is best of 0.95-1.2 (66.1% against
#: 64.7% at 1.0 and 63.0% at 1.1); RESULTS.md ("Photos and videos") has the PublicTest check.
FRAME_SCALE = 1.05
#: Photos larger than this (longer side, pixels) are downscaled for detection only.
DETECT_MAX_SIDE = 1280
#: Video frames are searched whole (every few frames, :class:`TrackingDetector`) at most this
#: large (longer side) for faces of at least VIDEO_MIN_FACE pixels: on a 640x480 frame the
#: cascade then costs about 30 ms of CPU instead of 100 (measured on this 2-core machine).
VIDEO_DETECT_SIDE = 320
VIDEO_MIN_FACE = 60
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")


def _cv2():
    try:
        import cv2
    except ImportError:
        raise FerInputError("photos and videos need OpenCV: pip install "
                            "'opencv-python-headless>=4.9,<5' (or fer_keras[faces])") from None
    return cv2


def _note(message, stream=None):
    print(f"note: {message}", file=stream or sys.stderr)


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


# --------------------------------------------------------------------------- detectors
def _as_boxes(boxes):
    """int32 ``(N, 4)`` ``x, y, w, h``; :class:`FerInputError` for another shape or w, h < 1."""
    b = np.asarray(boxes if boxes is not None else [], dtype=np.float64).reshape(-1, 4) \
        if np.size(boxes) % 4 == 0 else None
    if b is None or not np.isfinite(b).all() or (b[:, 2:] < 1).any():
        raise FerInputError(f"boxes must be rows of x, y, w, h with w, h >= 1, got {boxes!r}"[:200])
    return np.rint(b).astype(np.int32)


class HaarDetector:
    """OpenCV's frontal-face Haar cascade (Viola & Jones, CVPR 2001), weights from the wheel.

    ``detector(grey)`` -> int32 ``(N, 4)`` boxes ``x, y, w, h``, largest first. Images whose
    longer side exceeds ``max_side`` are downscaled for detection only (the boxes are scaled
    back; said once on stderr); faces smaller than ``min_face`` pixels of the original are not
    searched for. ``scale_factor`` and ``min_neighbors`` are ``detectMultiScale``'s.
    """

    def __init__(self, min_face=40, max_side=DETECT_MAX_SIDE, scale_factor=1.1, min_neighbors=5,
                 cascade="haarcascade_frontalface_default.xml", quiet=False):
        cv2 = _cv2()
        path = Path(cascade)
        if not path.is_file():
            path = Path(cv2.data.haarcascades) / cascade
        self._cascade = cv2.CascadeClassifier(str(path))
        if self._cascade.empty():
            raise FerInputError("cannot load the Haar cascade (is opencv-python-headless >=4.9,<5 "
                                "installed? 5.x ships none)", file=path)
        self.min_face, self.max_side = int(min_face), int(max_side)
        self.scale_factor, self.min_neighbors = float(scale_factor), int(min_neighbors)
        self._said_downscale = quiet

    def __call__(self, grey):
        cv2 = _cv2()
        h, w = grey.shape[:2]
        f = min(1.0, self.max_side / max(h, w))
        small = grey
        if f < 1.0:
            small = cv2.resize(grey, (max(1, round(w * f)), max(1, round(h * f))),
                               interpolation=cv2.INTER_AREA)
            if not self._said_downscale:
                _note(f"images larger than {self.max_side} px are downscaled for face detection "
                      f"(first: {w}x{h} -> {small.shape[1]}x{small.shape[0]})")
                self._said_downscale = True
        m = max(20, round(self.min_face * f))  # the cascade's window is 24x24
        found = self._cascade.detectMultiScale(small, scaleFactor=self.scale_factor,
                                               minNeighbors=self.min_neighbors, minSize=(m, m))
        boxes = np.asarray(found, dtype=np.float64).reshape(-1, 4) / f
        boxes = np.rint(boxes).astype(np.int32)
        return boxes[np.argsort(-boxes[:, 2] * boxes[:, 3], kind="stable")]


class TrackingDetector:
    """A detector for consecutive video frames that searches the whole frame only now and then.

    ``detector(grey)`` on frame after frame: the whole frame goes through ``full`` on every
    ``full_every``-th call and whenever a face is lost; on the others each face of the previous
    call is searched again only in a window around its last box (the box grown by
    ``margin`` of its side on every side), rescaled so that the face is ``face_px`` pixels wide,
    by ``local`` (default: a Haar cascade for faces of 0.6-2x that width). A face that enters
    the frame is found within ``full_every`` frames; a face that moves less than ``margin`` of
    its width per frame is followed on every frame. On a 640x480 frame a full search costs
    about 30 ms of CPU and a window about 1 ms, which is what lets a 2-core CPU keep up with a
    30 frames/s video (``make bench``). ``reset()`` forgets the faces (a new video).
    """

    def __init__(self, full=None, local=None, full_every=5, margin=0.5, face_px=48):
        self.full = full if full is not None else HaarDetector(
            min_face=VIDEO_MIN_FACE, max_side=VIDEO_DETECT_SIDE, quiet=True)
        self.face_px, self.margin = int(face_px), float(margin)
        self.local = local if local is not None else HaarDetector(
            min_face=max(20, round(0.6 * self.face_px)), max_side=10 ** 6, quiet=True,
            min_neighbors=3)
        self.full_every = int(full_every)
        if self.full_every < 1:
            raise FerInputError(f"full_every must be a positive integer, got {full_every!r}")
        self.reset()

    def reset(self):
        self._boxes = np.zeros((0, 4), np.int32)
        self._calls = 0

    def _search_near(self, grey, box):
        cv2 = _cv2()
        x, y, w, h = (int(v) for v in box)
        side = max(w, h)
        m = round(self.margin * side)
        x0, y0 = max(0, x - m), max(0, y - m)
        x1, y1 = min(grey.shape[1], x + w + m), min(grey.shape[0], y + h + m)
        if x1 - x0 < 2 or y1 - y0 < 2:
            return None
        f = self.face_px / side
        roi = grey[y0:y1, x0:x1]
        small = cv2.resize(roi, (max(1, round(roi.shape[1] * f)), max(1, round(roi.shape[0] * f))),
                           interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR)
        found = np.asarray(self.local(small), np.float64).reshape(-1, 4)
        if not len(found):
            return None
        centre = np.array([x + w / 2, y + h / 2])
        found = found / f + [x0, y0, 0, 0]
        dist = np.hypot(*(found[:, :2] + found[:, 2:] / 2 - centre).T)
        return np.rint(found[int(np.argmin(dist))]).astype(np.int32)

    def __call__(self, grey):
        full = self._calls % self.full_every == 0
        if not full and len(self._boxes):
            kept = [b for b in (self._search_near(grey, b) for b in self._boxes) if b is not None]
            full = len(kept) < len(self._boxes)  # a face lost nearby: search the whole frame now
            self._boxes = np.asarray(kept, np.int32).reshape(-1, 4)
        if full:
            self._boxes = np.asarray(self.full(grey), np.int32).reshape(-1, 4)
        self._calls += 1
        return self._boxes.copy()


def video_detector(full_every=5):
    """The default detector for video frames: a :class:`TrackingDetector` whose full search is
    a :class:`HaarDetector` on a copy at most :data:`VIDEO_DETECT_SIDE` pixels wide for faces
    of :data:`VIDEO_MIN_FACE` pixels and up, run every ``full_every`` frames."""
    return TrackingDetector(full_every=full_every)


class YuNetDetector:
    """OpenCV's ``FaceDetectorYN`` (YuNet, Wu et al. 2023) for a YuNet ``.onnx`` file you have.

    Finds tilted and profile faces the Haar cascade misses. ``detector(grey)`` -> int32
    ``(N, 4)`` boxes whose score is at least ``score_threshold``. Nothing is downloaded: pass
    the path of e.g. ``face_detection_yunet_2023mar.onnx`` from the OpenCV model zoo.
    """

    def __init__(self, onnx_path, score_threshold=0.7, nms_threshold=0.3):
        cv2 = _cv2()
        path = Path(onnx_path)
        if not path.is_file():
            raise FerInputError("no such YuNet model file", file=path)
        try:
            self._net = cv2.FaceDetectorYN.create(str(path), "", (320, 320), score_threshold,
                                                  nms_threshold)
        except cv2.error as e:
            raise FerInputError(f"cannot load the YuNet model ({' '.join(str(e).split())[:100]})",
                                file=path) from None

    def __call__(self, grey):
        cv2 = _cv2()
        h, w = grey.shape[:2]
        self._net.setInputSize((w, h))
        _, faces = self._net.detect(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR))
        if faces is None:
            return np.zeros((0, 4), np.int32)
        return np.rint(faces[:, :4]).astype(np.int32)


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
    """The classifier for ``model``: None (the shipped model), a ``.keras`` path, a Keras model."""
    from fer_keras import models

    if model is None:
        return models.pretrained()
    if isinstance(model, (str, Path)):
        return models.load_classifier(model)[0]
    return model


# --------------------------------------------------------------------------- recognizer
class Recognizer:
    """Detect the faces of an image and classify each one's expression.

    ``model``: any Keras classifier of images (default: the shipped model,
    :func:`fer_keras.models.pretrained`), or the path of a ``.keras`` file. ``detector``: a
    callable ``grey -> (N, 4) boxes`` (default :class:`HaarDetector`). ``tta="flip"`` averages
    each face with its mirror image.
    """

    def __init__(self, model=None, detector=None, class_names=None, scale=FRAME_SCALE, tta="none"):
        self.model = _load_model(model)
        self.detector = detector if detector is not None else HaarDetector()
        self.class_names = _class_names(self.model, class_names)
        self.scale = float(scale)
        if tta not in ("none", "flip"):
            raise FerInputError(f"tta must be 'none' or 'flip', got {tta!r}")
        self.tta = tta
        c = contract.of(self.model)  # how the model wants its images: one home
        self.input_shape = c.size + (c.channels,)

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

    def analyse(self, image, boxes=None, bgr=False):
        """(boxes int32 ``(N, 4)``, probabilities float32 ``(N, K)``) for an image (see
        :func:`load_image`); ``boxes`` given: those faces, no detection."""
        rgb = load_image(image, bgr=bgr)
        return self.analyse_rgb(rgb, boxes)

    def analyse_rgb(self, rgb, boxes=None, detector=None):
        """:meth:`analyse` of an RGB uint8 array (``detector`` instead of this one's)."""
        grey = to_grey(rgb)
        if boxes is None:
            boxes = (detector or self.detector)(grey)
        else:
            boxes = _as_boxes(boxes)
        faces = crop_faces(grey, boxes, self.input_shape[:2], self.scale)
        return boxes, self.classify(faces)

    def records(self, boxes, probs):
        """One dict per face: ``{"box": [x, y, w, h], "scores": {class: p}, "label": class}``."""
        return [{"box": [int(v) for v in b],
                 "scores": {c: float(q) for c, q in zip(self.class_names, p)},
                 "label": self.class_names[int(np.argmax(p))]} for b, p in zip(boxes, probs)]

    def detect(self, image, boxes=None, bgr=False):
        """One record per face of ``image`` (a path, a PIL image, or an RGB array; BGR with
        ``bgr=True``), largest face first: ``{"box": [x, y, w, h], "scores": {class:
        probability}, "label": class}``. ``boxes``: ``(N, 4)`` faces to classify instead of
        detecting. A photo without a face gives ``[]``."""
        return self.records(*self.analyse(image, boxes, bgr))

    def annotate(self, image, boxes=None, bgr=False, results=None):
        """RGB uint8 ``(H, W, 3)`` copy of ``image`` with each face's box and label drawn
        (``results`` from :meth:`detect` to draw those instead of detecting again)."""
        rgb = load_image(image, bgr=bgr)
        if results is None:
            results = self.detect(rgb, boxes)
        return draw_records(rgb, results)


def draw_records(rgb, records):
    """:func:`draw_faces` of :meth:`Recognizer.detect` records: each box with "label p"."""
    return draw_faces(rgb, [r["box"] for r in records],
                      [f"{r['label']} {r['scores'][r['label']]:.2f}" for r in records])


def draw_faces(rgb, boxes, labels):
    """A copy of RGB uint8 ``rgb`` with boxes ``(N, 4)`` and their text labels drawn in."""
    cv2 = _cv2()
    out = np.ascontiguousarray(rgb).copy()
    thick = max(1, round(max(out.shape[:2]) / 400))
    for (x, y, w, h), text in zip(np.asarray(boxes, int).reshape(-1, 4), labels):
        cv2.rectangle(out, (int(x), int(y)), (int(x + w), int(y + h)), (0, 255, 0), thick)
        font = 0.4 + 0.3 * thick
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font, thick)
        ty = int(y) - 4 if y - th - 6 > 0 else int(y + h) + th + 4
        cv2.rectangle(out, (int(x), ty - th - 3), (int(x) + tw + 2, ty + base), (0, 255, 0), -1)
        cv2.putText(out, text, (int(x) + 1, ty), cv2.FONT_HERSHEY_SIMPLEX, font, (0, 0, 0), thick,
                    cv2.LINE_AA)
    return out


# --------------------------------------------------------------------------- video
def box_iou(a, b):
    """float ``(len(a), len(b))`` intersection over union of ``x, y, w, h`` boxes."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    ix = np.clip(np.minimum(a[:, None, 0] + a[:, None, 2], b[None, :, 0] + b[None, :, 2])
                 - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    iy = np.clip(np.minimum(a[:, None, 1] + a[:, None, 3], b[None, :, 1] + b[None, :, 3])
                 - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = ix * iy
    union = (a[:, None, 2] * a[:, None, 3]) + (b[None, :, 2] * b[None, :, 3]) - inter
    return inter / np.maximum(union, 1e-9)


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
                    rgb = np.ascontiguousarray(bgr[..., ::-1])
                    boxes, probs = recognizer.analyse_rgb(rgb, detector=detector)
                    ids, smooth = tracker.update(boxes, probs)
                    shown = []
                    for rec, raw, t in zip(recognizer.records(boxes, smooth), probs, ids):
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
