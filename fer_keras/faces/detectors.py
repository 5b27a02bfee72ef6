"""Face detectors: where the faces of a grey image are, how sure the detector is, and the
merging of overlapping boxes (:mod:`fer_keras.faces` uses them; its names re-export these).

A *detector* is any callable ``detector(grey) -> boxes``: ``grey`` a uint8 ``(H, W)`` image,
``boxes`` an int ``(N, 4)`` array of ``x, y, w, h`` in that image's pixels, or ``(N, 5)`` with
a confidence in the fifth column; or an object with ``scored(grey) -> (boxes, confidences)``
(:func:`detect_scored` reads all three). :class:`YuNetDetector` (YuNet, shipped in
``fer_keras/weights/``) is the default, :class:`HaarDetector` (OpenCV's Haar cascade, from the
OpenCV wheel) the classic one, :class:`TrackingDetector` the fast one for video frames.
:func:`nms` merges boxes of one face. Nothing is downloaded.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

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
#: :func:`video_detector`'s full-search period. YuNet on a 320 px copy costs about 8 ms of CPU a
#: frame, less than the Haar tracker (24 ms) and less than YuNet in windows around six faces
#: (14 ms), so every frame is searched whole (``benchmarks.faces_detect --video``; RESULTS.md).
VIDEO_FULL_EVERY = 1
#: Between full searches (``full_every`` > 1) :func:`video_detector` searches the window around a
#: known face rescaled so that the face is this many pixels wide (the window is then 128 px).
VIDEO_WINDOW_FACE = 64
#: The Haar cascade weight that :func:`haar_confidence` maps to 0.5.
HAAR_WEIGHT_MID = 3.0
#: Boxes overlapping a surer one this much (intersection over union, or intersection over the
#: smaller box's area for :data:`NMS_CONTAIN`) are the same face (:func:`nms`).
NMS_IOU = 0.3
NMS_CONTAIN = 0.7


def _cv2():
    try:
        import cv2
    except ImportError:
        raise FerInputError("photos and videos need OpenCV: pip install "
                            "'opencv-python-headless>=4.9,<5' (or fer_keras[faces])") from None
    return cv2


def _note(message, stream=None):
    print(f"note: {message}", file=stream or sys.stderr)


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

    frame_scale = FRAME_SCALE  # the crop framing of its boxes for Recognizer

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


def video_detector(full_every=None):
    """The default detector for video frames: a :class:`TrackingDetector` whose full search is a
    :class:`YuNetDetector` on a copy at most :data:`VIDEO_DETECT_SIDE` pixels wide, run every
    ``full_every`` frames (default :data:`VIDEO_FULL_EVERY`: every frame), the frames between
    searched by YuNet in windows around the known faces (rescaled to :data:`VIDEO_WINDOW_FACE`
    pixels), so every box of a video has YuNet's framing. When YuNet is unavailable (said once on
    stderr): the Haar tracker of :class:`TrackingDetector`'s defaults, every 5 frames unless
    ``full_every`` is given."""
    try:
        full = YuNetDetector(max_side=VIDEO_DETECT_SIDE, big_face_side=VIDEO_DETECT_SIDE)
    except FerInputError as e:
        _note(f"the YuNet face detector is unavailable ({e}); tracking with the Haar cascade")
        return TrackingDetector(full_every=5 if full_every is None else full_every)
    # the same detector searches the windows: they are 2 * VIDEO_WINDOW_FACE px, under
    # VIDEO_DETECT_SIDE, so they are searched as they are, in one pass, like a small frame
    return TrackingDetector(full=full, local=full,
                            full_every=VIDEO_FULL_EVERY if full_every is None else full_every,
                            face_px=VIDEO_WINDOW_FACE)


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
    from fer_keras.models.shipped import WEIGHTS

    return WEIGHTS / YUNET_FILE


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
            if len(self._nets) >= 8:  # photos of many sizes: keep the memory bounded
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
        # FaceDetectorYN pads its input with zeros to multiples of 32 itself; padding here
        # gives the same boxes and lets images of nearby sizes (video windows) share one network
        ph, pw = -(-h // 32) * 32, -(-w // 32) * 32
        if (ph, pw) != (h, w):
            cv2 = _cv2()
            bgr = cv2.copyMakeBorder(bgr, 0, ph - h, 0, pw - w, cv2.BORDER_CONSTANT, value=0)
        _, found = self._net_for((pw, ph)).detect(bgr)
        if found is None:
            return np.zeros((0, 4)), np.zeros(0, np.float32)
        return found[:, :4].astype(np.float64) / f, found[:, 14].astype(np.float32)

    def scored(self, grey):
        """(int32 ``(N, 4)`` boxes largest first, float32 ``(N,)`` YuNet scores in [0, 1])."""
        cv2 = _cv2()
        h, w = grey.shape[:2]
        boxes, scores = [], []
        sizes = [min(1.0, self.max_side / max(h, w))]
        if max(h, w) * sizes[0] > 1.5 * self.big_face_side:  # else the first copy sees them
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
    keep = []
    for i in order:
        if keep:
            k = np.array(keep)
            inter = box_intersection(b[i], b[k])[0]
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


def box_intersection(a, b):
    """float ``(len(a), len(b))`` areas (pixels^2) of the intersections of ``x, y, w, h`` boxes."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    ix = np.clip(np.minimum(a[:, None, 0] + a[:, None, 2], b[None, :, 0] + b[None, :, 2])
                 - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    iy = np.clip(np.minimum(a[:, None, 1] + a[:, None, 3], b[None, :, 1] + b[None, :, 3])
                 - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    return ix * iy


def box_iou(a, b):
    """float ``(len(a), len(b))`` intersection over union of ``x, y, w, h`` boxes."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    inter = box_intersection(a, b)
    union = (a[:, None, 2] * a[:, None, 3]) + (b[None, :, 2] * b[None, :, 3]) - inter
    return inter / np.maximum(union, 1e-9)
