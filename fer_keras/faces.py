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
#: The Haar cascade weight that :func:`haar_confidence` maps to 0.5.
HAAR_WEIGHT_MID = 3.0
#: Boxes overlapping a surer one this much (intersection over union, or intersection over the
#: smaller box's area for :data:`NMS_CONTAIN`) are the same face (:func:`nms`).
NMS_IOU = 0.3
NMS_CONTAIN = 0.7
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


def haar_confidence(weights):
    """float32 confidences in (0, 1) of Haar cascade weights (``levelWeights`` of OpenCV's
    ``detectMultiScale3``: the last stage's sum, the larger the surer): a logistic
    ``1 / (1 + exp(-(weight - HAAR_WEIGHT_MID)))``. On grid photos of 240 FER2013 train faces
    the faces found had weights of median 6.5, and 5% of them under 3.0 (:data:`HAAR_WEIGHT_MID`,
    mapped to 0.5). An order for :func:`nms` and a rough guide, not a calibrated probability."""
    w = np.asarray(weights, np.float64)
    return (1.0 / (1.0 + np.exp(-(w - HAAR_WEIGHT_MID)))).astype(np.float32)


class HaarDetector:
    """OpenCV's frontal-face Haar cascade (Viola & Jones, CVPR 2001), weights from the wheel.

    ``detector(grey)`` -> int32 ``(N, 4)`` boxes ``x, y, w, h``, largest first;
    :meth:`scored` gives each box's confidence too. Images whose
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

    def scored(self, grey):
        """(int32 ``(N, 4)`` boxes largest first, float32 ``(N,)`` confidences in (0, 1):
        :func:`haar_confidence` of each box's cascade weight)."""
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
        # detectMultiScale3 finds the same boxes as detectMultiScale and also gives each one's
        # weight: the sum of the last stage's weak classifiers, which a face exceeds the most
        found, _, weights = self._cascade.detectMultiScale3(
            small, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors, minSize=(m, m),
            outputRejectLevels=True)
        boxes = np.asarray(found, dtype=np.float64).reshape(-1, 4) / f
        boxes = np.rint(boxes).astype(np.int32)
        scores = haar_confidence(np.asarray(weights, np.float64).reshape(-1))
        order = np.argsort(-boxes[:, 2].astype(np.int64) * boxes[:, 3], kind="stable")
        return boxes[order], scores[order]

    def __call__(self, grey):
        return self.scored(grey)[0]


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
        self._scores = np.zeros(0, np.float32)
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
        found, scores = detect_scored(self.local, small)
        if not len(found):
            return None
        centre = np.array([x + w / 2, y + h / 2])
        found = found / f + [x0, y0, 0, 0]
        dist = np.hypot(*(found[:, :2] + found[:, 2:] / 2 - centre).T)
        k = int(np.argmin(dist))
        return np.rint(found[k]).astype(np.int32), scores[k]

    @property
    def frame_scale(self):
        """The crop framing of the full search's boxes (the local search's agree with them)."""
        return getattr(self.full, "frame_scale", FRAME_SCALE)

    def scored(self, grey):
        """(int32 ``(N, 4)`` boxes, float32 ``(N,)`` confidences) of this frame."""
        full = self._calls % self.full_every == 0
        if not full and len(self._boxes):
            kept = [r for r in (self._search_near(grey, b) for b in self._boxes) if r is not None]
            full = len(kept) < len(self._boxes)  # a face lost nearby: search the whole frame now
            self._boxes = np.asarray([r[0] for r in kept], np.int32).reshape(-1, 4)
            self._scores = np.asarray([r[1] for r in kept], np.float32)
        if full:
            self._boxes, self._scores = detect_scored(self.full, grey)
        self._calls += 1
        return self._boxes.copy(), self._scores.copy()

    def __call__(self, grey):
        return self.scored(grey)[0]


def video_detector(full_every=5):
    """The default detector for video frames: a :class:`TrackingDetector` whose full search is
    a :class:`HaarDetector` on a copy at most :data:`VIDEO_DETECT_SIDE` pixels wide for faces
    of :data:`VIDEO_MIN_FACE` pixels and up, run every ``full_every`` frames."""
    return TrackingDetector(full_every=full_every)


#: YuNet (Wu et al., "YuNet: A Tiny Millisecond-level Face Detector", Machine Intelligence
#: Research 2023), shipped in ``fer_keras/weights/`` with its MIT licence and provenance
#: (``weights/face_detection_yunet.LICENSE``); the file's SHA-256 is checked in the tests.
YUNET_FILE = "face_detection_yunet_2026may.onnx"
YUNET_SHA256 = "ebafce4e3c118d6554634be5c27ab333b4c047a9a8c3faf1d7cf93101c22f0f0"
#: YuNet's score threshold: opencv_zoo's 0.9 found 71 of 120 grid faces, 0.6 about 115 with
#: no false box on real photos (benchmarks.faces_detect; notes in RESULTS.md).
YUNET_SCORE = 0.6
#: Framing of YuNet's boxes (taller than wide, brow to chin, centred on the face): the FER2013
#: face is 0.95 times the box's height (median over 387 train faces pasted 3-4x); by accuracy on
#: 600 train faces (``benchmarks.faces_framing --detector yunet``) 0.90 is best of 0.85-1.10
#: (75.4% against 72.3% at 0.95 and 72.0% at 1.0; the original crops 76.6%).
YUNET_FRAME_SCALE = 0.90


def yunet_path():
    """The path of the YuNet model shipped in ``fer_keras/weights/``."""
    return Path(__file__).resolve().parent / "weights" / YUNET_FILE


class YuNetDetector:
    """OpenCV's ``FaceDetectorYN`` running YuNet (Wu et al. 2023): the default face detector.

    Finds more faces than the Haar cascade (tilted, small, shaded) with fewer false ones, in a
    fraction of its time (``benchmarks.faces_detect``). ``detector(grey)`` -> int32 ``(N, 4)``
    boxes ``x, y, w, h`` in ``grey``'s pixels, largest first; :meth:`scored` also gives each
    box's score in [0, 1]. ``onnx_path``: a YuNet ``.onnx`` (default the one shipped with
    fer_keras; nothing is downloaded). Images whose longer side exceeds ``max_side`` are searched
    on a downscaled copy; YuNet sees faces of about 10 to 300 pixels, so a copy at most
    ``big_face_side`` pixels is searched too, for close-ups, and the two merged (:func:`nms`).
    ``frame_scale``: the crop framing of its boxes for :class:`Recognizer`.
    """

    frame_scale = YUNET_FRAME_SCALE

    def __init__(self, onnx_path=None, score_threshold=YUNET_SCORE, nms_threshold=0.3,
                 max_side=DETECT_MAX_SIDE, big_face_side=320):
        cv2 = _cv2()
        path = Path(onnx_path) if onnx_path is not None else yunet_path()
        if not path.is_file():
            raise FerInputError("no such YuNet model file", file=path)
        if not hasattr(cv2, "FaceDetectorYN"):
            raise FerInputError("YuNet needs OpenCV >= 4.5.4 (cv2.FaceDetectorYN): pip install "
                                "'opencv-python-headless>=4.9,<5'")
        self._args = (str(path), "", (320, 320), float(score_threshold), float(nms_threshold))
        self._nets = {}  # one network per input size: resizing one costs more than a detection
        self._net_for((320, 320))  # a bad file fails here, in one line
        self.max_side, self.big_face_side = int(max_side), int(big_face_side)

    def _net_for(self, size):
        cv2 = _cv2()
        net = self._nets.get(size)
        if net is None:
            if len(self._nets) >= 4:  # photos of many sizes: keep the memory bounded
                self._nets.clear()
            try:
                net = cv2.FaceDetectorYN.create(*self._args)
            except cv2.error as e:
                raise FerInputError(f"cannot load the YuNet model "
                                    f"({' '.join(str(e).split())[:100]})",
                                    file=self._args[0]) from None
            net.setInputSize(size)
            self._nets[size] = net
        return net

    def _run(self, bgr, f):
        """(boxes float ``(N, 4)`` scaled by 1/``f``, scores ``(N,)``) of a BGR image."""
        h, w = bgr.shape[:2]
        _, found = self._net_for((w, h)).detect(bgr)
        if found is None:
            return np.zeros((0, 4)), np.zeros(0, np.float32)
        return found[:, :4].astype(np.float64) / f, found[:, 14].astype(np.float32)

    def scored(self, grey):
        """(int32 ``(N, 4)`` boxes largest first, float32 ``(N,)`` YuNet scores in [0, 1])."""
        cv2 = _cv2()
        h, w = grey.shape[:2]
        boxes, scores = [], []
        sizes = [min(1.0, self.max_side / max(h, w))]
        if max(h, w) > 1.5 * self.big_face_side:
            sizes.append(self.big_face_side / max(h, w))
        for f in sizes:
            small = grey if f == 1.0 else cv2.resize(
                grey, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
            b, sc = self._run(cv2.cvtColor(small, cv2.COLOR_GRAY2BGR), f)
            boxes.append(b)
            scores.append(sc)
        boxes, scores = np.concatenate(boxes), np.concatenate(scores)
        boxes, scores = nms(boxes, scores)
        boxes = np.rint(boxes).astype(np.int32).reshape(-1, 4)
        order = np.argsort(-boxes[:, 2].astype(np.int64) * boxes[:, 3], kind="stable")
        return boxes[order], scores[order]

    def __call__(self, grey):
        return self.scored(grey)[0]


def default_detector():
    """The detector :class:`Recognizer` uses when given none: :class:`YuNetDetector` with the
    shipped model; :class:`HaarDetector` when OpenCV lacks ``FaceDetectorYN`` or the model file is
    missing from the installation (said once on stderr)."""
    try:
        return YuNetDetector()
    except FerInputError as e:
        _note(f"the YuNet face detector is unavailable ({e}); using the Haar cascade")
        return HaarDetector()


def nms(boxes, scores=None, iou=NMS_IOU, contain=NMS_CONTAIN):
    """Non-maximum suppression: (boxes, scores) without the boxes that overlap a surer one.

    ``boxes`` ``(N, 4)`` ``x, y, w, h``; ``scores`` ``(N,)`` (NaN or None: unknown, then larger
    boxes count as surer). A box is dropped when its intersection over union with a kept box is
    at least ``iou``, or the intersection covers at least ``contain`` of the smaller of the two
    (a box inside another: the cascade's second box on a chin or a forehead). Returns the kept
    boxes and scores, surest first (Neubeck & Van Gool, ICPR 2006)."""
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    n = len(b)
    sc = np.full(n, np.nan, np.float32) if scores is None else \
        np.asarray(scores, np.float32).reshape(-1)
    if n <= 1:
        return np.asarray(boxes).reshape(-1, 4), sc
    area = b[:, 2] * b[:, 3]
    key = np.where(np.isnan(sc), -np.inf, sc)
    order = np.lexsort((-area, -key))  # by score, then by area
    x0, y0, x1, y1 = b[:, 0], b[:, 1], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    keep = []
    for i in order:
        if keep:
            k = np.array(keep)
            inter = (np.clip(np.minimum(x1[i], x1[k]) - np.maximum(x0[i], x0[k]), 0, None)
                     * np.clip(np.minimum(y1[i], y1[k]) - np.maximum(y0[i], y0[k]), 0, None))
            if ((inter / (area[i] + area[k] - inter) >= iou).any()
                    or (inter / np.minimum(area[i], area[k]) >= contain).any()):
                continue
        keep.append(i)
    keep = np.array(keep, int)
    return np.asarray(boxes).reshape(-1, 4)[keep], sc[keep]


def detect_scored(detector, grey):
    """(int32 ``(N, 4)`` boxes, float32 ``(N,)`` confidences) from any detector: its
    ``scored(grey)`` when it has one, else ``detector(grey)``, whose rows may carry a fifth
    column, the confidence (NaN when it gives none)."""
    if hasattr(detector, "scored"):
        boxes, scores = detector.scored(grey)
        return _as_boxes(boxes), np.asarray(scores, np.float32).reshape(-1)
    found = np.asarray(detector(grey), dtype=np.float64)
    if found.ndim == 2 and found.shape[1] == 5:
        return _as_boxes(found[:, :4]), found[:, 4].astype(np.float32)
    boxes = _as_boxes(found)
    return boxes, np.full(len(boxes), np.nan, np.float32)


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


def draw_records(rgb, records):
    """:func:`draw_faces` of :meth:`Recognizer.detect` records: each box with "label p"."""
    return draw_faces(rgb, [r["box"] for r in records],
                      [f"{r['label']} {r['scores'][r['label']]:.2f}" for r in records])


def _overlap(r, rects):
    """Total area of rectangle ``r`` (x0, y0, x1, y1) shared with each of ``rects``."""
    if not len(rects):
        return 0
    q = np.asarray(rects, np.int64).reshape(-1, 4)
    ix = np.clip(np.minimum(r[2], q[:, 2]) - np.maximum(r[0], q[:, 0]), 0, None)
    iy = np.clip(np.minimum(r[3], q[:, 3]) - np.maximum(r[1], q[:, 1]), 0, None)
    return int((ix * iy).sum())


def label_layout(shape, boxes, sizes, gap=2):
    """Where the labels of :func:`draw_faces` go: int ``(N, 4)`` rectangles ``x0, y0, x1, y1``
    (x1, y1 excluded) inside an image of ``shape`` ``(H, W, ...)``, one per box.

    ``boxes``: ``(N, 4)`` faces ``x, y, w, h``; ``sizes``: ``(N, 2)`` label width and height in
    pixels. Each label is tried above its face, then below it, left- or right-aligned with it or
    centred, then one, two, three label heights further out, each shifted to lie inside the
    image; the first place that covers no face and no label already placed wins (faces in order),
    else the one covering the least."""
    H, W = shape[:2]
    faces_r = [(int(x), int(y), int(x + w), int(y + h))
               for x, y, w, h in np.asarray(boxes, np.int64).reshape(-1, 4)]
    placed = []
    for (fx0, fy0, fx1, fy1), (tw, th) in zip(faces_r, np.asarray(sizes, np.int64).reshape(-1, 2)):
        tw, th = min(int(tw), W), min(int(th), H)
        best, best_cost = None, None
        for k in range(4):
            for y0 in (fy0 - gap - th - k * (th + gap), fy1 + gap + k * (th + gap)):
                for x0 in (fx0, fx1 - tw, (fx0 + fx1 - tw) // 2):
                    x0c, y0c = min(max(0, x0), W - tw), min(max(0, y0), H - th)
                    r = (x0c, y0c, x0c + tw, y0c + th)
                    cost = 4 * _overlap(r, faces_r) + _overlap(r, placed)
                    if best_cost is None or cost < best_cost:
                        best, best_cost = r, cost
                    if cost == 0:
                        break
                if best_cost == 0:
                    break
            if best_cost == 0:
                break
        placed.append(best)
    return np.asarray(placed, np.int64).reshape(-1, 4)


def draw_faces(rgb, boxes, labels):
    """A copy of RGB uint8 ``rgb`` with boxes ``(N, 4)`` and their text labels drawn in. The
    labels stay inside the image and cover neither the faces nor each other where the image has
    room (:func:`label_layout`); a label wider than the image gets a smaller font."""
    cv2 = _cv2()
    out = np.ascontiguousarray(rgb).copy()
    H, W = out.shape[:2]
    thick = max(1, round(max(H, W) / 400))
    boxes = np.asarray(boxes, int).reshape(-1, 4)
    fonts, sizes = [], []
    for text in labels:
        font, t = 0.4 + 0.3 * thick, thick
        while True:
            (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font, t)
            if tw + 4 <= W or font <= 0.3:
                break
            font, t = font * 0.8, max(1, t - 1)
        fonts.append((font, t, th, base))
        sizes.append((tw + 4, th + base + 4))
    for x, y, w, h in boxes:
        cv2.rectangle(out, (int(x), int(y)), (int(x + w), int(y + h)), (0, 255, 0), thick)
    layout = label_layout(out.shape, boxes, sizes, gap=thick + 1)
    for (x0, y0, x1, y1), text, (font, t, th, base) in zip(layout, labels, fonts):
        cv2.rectangle(out, (int(x0), int(y0)), (int(x1) - 1, int(y1) - 1), (0, 255, 0), -1)
        cv2.putText(out, text, (int(x0) + 2, int(y0) + 2 + th), cv2.FONT_HERSHEY_SIMPLEX, font,
                    (0, 0, 0), t, cv2.LINE_AA)
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
                    boxes, conf, probs = recognizer.analyse_scored(rgb, detector=detector)
                    ids, smooth = tracker.update(boxes, probs)
                    shown = []
                    for rec, raw, t in zip(recognizer.records(boxes, smooth, conf), probs, ids):
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
