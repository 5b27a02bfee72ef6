"""Faces in the wild: find the faces of a photo or a video frame and classify each one's expression.

The faces are found by a detector (:mod:`fer_keras.faces.detectors`: YuNet by default, shipped in the
package; the Haar cascade; any callable ``grey -> (N, 4)`` boxes), overlapping boxes merged
(:func:`nms`), or given (``boxes=``). Each face is cropped with FER2013's framing
(:func:`crop_faces`: a square around the box, as wide as the box times the detector's
``frame_scale``, measured on FER2013 itself), turned grey and resized to the model's input.
:class:`Recognizer` ties detector, crop and any classifier together:
``Recognizer().detect("photo.jpg")`` -> ``[{"box": [x, y, w, h], "confidence": c, "scores":
{class: p}, "label": ...}]``; a list of images is one batch (:meth:`Recognizer.detect_batch`).
Annotated copies: :mod:`fer_keras.faces.drawing`. Videos go frame by frame through :func:`iter_video`,
with each face tracked by box overlap (:class:`FaceTracker`) and its probabilities averaged over
the last few frames.
"""
from __future__ import annotations

import numpy as np

from fer_keras.errors import FerInputError
from fer_keras.faces.detectors import (
    FRAME_SCALE,
    _as_boxes,
    default_detector,
    detect_scored,
    nms,
)
from fer_keras.faces.drawing import draw_records
from fer_keras.faces.images import crop_faces, load_image, to_grey
from fer_keras.models import choose
from fer_keras.train.evaluate import check_tta


def _to_model_input(faces, c):
    """The model's input ``(N, H, W, C)`` from grey uint8 face crops ``(N, h, w)``: resized,
    replicated to C channels and scaled as the model's input contract ``c`` says
    (:class:`fer_keras.models.contract.InputContract`)."""
    faces = np.asarray(faces)
    if len(faces) == 0:
        return np.zeros((0, c.height, c.width, c.channels), np.float32)
    return c.prepare(faces)


def _class_names(model, c, class_names=None):
    k = int(model.output_shape[-1])
    if class_names is not None:
        if len(class_names) != k:
            raise FerInputError(f"{len(class_names)} class names for a model of {k} outputs")
        return tuple(class_names)
    return tuple(c.classes)


# --------------------------------------------------------------------------- recognizer
class Recognizer:
    """Detect the faces of an image and classify each one's expression.

    ``model``: any Keras classifier of images, or the path of a ``.keras`` file (default: the
    shipped model, run by ONNX Runtime from its export beside the ``.keras`` when onnxruntime is
    installed: no TensorFlow import; which model answers is decided by
    :func:`fer_keras.models.choose.classifier`). ``detector``: a
    callable ``grey -> (N, 4) boxes`` (or ``(N, 5)``, the fifth column a confidence), or an
    object with ``scored(grey) -> (boxes, confidences)`` (default :func:`default_detector`,
    YuNet). Overlapping boxes are merged (:func:`nms`). ``scale``: the crop's side over the box's
    (default the detector's ``frame_scale``, else :data:`FRAME_SCALE`). ``tta="flip"`` averages
    each face with its mirror image. ``input_range`` (``"-1,1"`` or a pair) and ``classes``
    (``"a,b,..."`` or names): how the model wants its images and what its outputs are, when
    neither its run folder's ``contract.json`` nor inference says it right
    (:mod:`fer_keras.models.contract`); decided here once, in :attr:`contract`. ``detect=False``:
    the images are face crops already (FER2013's own, a dataset's): each whole image is one face,
    box ``[0, 0, W, H]``, confidence None, classified as it is (no detector, no reframing).
    """

    def __init__(self, model=None, detector=None, class_names=None, scale=None, tta="none",
                 input_range=None, classes=None, detect=True):
        self.model, self.contract = choose.classifier(model, input_range, classes)
        self.detect_faces = bool(detect)
        self.detector = detector if detector is not None else default_detector()
        self.class_names = _class_names(self.model, self.contract, class_names)
        self._scale = None if scale is None else float(scale)
        self.tta = check_tta(tta, photos=True)
        self.input_shape = self.contract.size + (self.contract.channels,)

    @property
    def scale(self):
        """The crop framing used for this recognizer's detector (see ``scale=``)."""
        return self._scale_for(self.detector)

    def _scale_for(self, detector):
        if self._scale is not None:
            return self._scale
        if not self.detect_faces:
            return 1.0  # a crop is framed already: the whole image is the model's input
        return float(getattr(detector, "frame_scale", FRAME_SCALE))

    def classify(self, faces):
        """float32 ``(N, K)`` class probabilities of grey uint8 face crops ``(N, h, w)``."""
        x = _to_model_input(faces, self.contract)
        if len(x) == 0:
            return np.zeros((0, len(self.class_names)), np.float32)
        probs = self._forward(x)
        if self.tta == "flip":
            probs = (probs + self._forward(x[:, :, ::-1])) / 2
        return probs

    def _forward(self, x):
        # predict_on_batch runs the compiled graph (20x faster than an eager call on a 2-core CPU)
        # without predict()'s per-call set-up of a data adapter and callbacks
        return self.contract.probabilities(self.model.predict_on_batch(x))

    def _find(self, grey, boxes=None, detector=None):
        """(int32 ``(N, 4)`` boxes largest first, float32 ``(N,)`` detector confidences) of the
        faces of a grey uint8 image: the detector's boxes after :func:`nms`, or ``boxes`` as
        given (confidence NaN: not detected)."""
        if boxes is None and not self.detect_faces:
            boxes = [[0, 0, grey.shape[1], grey.shape[0]]]
        if boxes is not None:
            boxes = _as_boxes(boxes)
            return boxes, np.full(len(boxes), np.nan, np.float32)
        boxes, scores = nms(*detect_scored(detector or self.detector, grey))
        boxes = np.asarray(boxes, np.int32).reshape(-1, 4)
        order = np.argsort(-boxes[:, 2].astype(np.int64) * boxes[:, 3], kind="stable")
        return boxes[order], scores[order]

    def _analyse(self, rgb, boxes=None, detector=None):
        """(boxes int32 ``(N, 4)``, confidences float32 ``(N,)``, probabilities float32
        ``(N, K)``) of an RGB uint8 array (``detector`` instead of this one's: a video's
        tracking detector, :func:`fer_keras.faces.video.track_frame`)."""
        grey = to_grey(rgb)
        boxes, scores = self._find(grey, boxes, detector)
        faces = crop_faces(grey, boxes, self.input_shape[:2], self._scale_for(
            detector or self.detector))
        return boxes, scores, self.classify(faces)

    def _records(self, boxes, probs, confidences=None):
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
            b, sc = self._find(grey, None if boxes is None else boxes[k])
            found.append((b, sc))
            crops.append(crop_faces(grey, b, self.input_shape[:2], self.scale))
        probs = self.classify(np.concatenate(crops)) if crops else None
        out, at = [], 0
        for b, sc in found:
            out.append(self._records(b, probs[at:at + len(b)], sc))
            at += len(b)
        return out

    def top_emotion(self, image, bgr=False):
        """``(label, score)`` of the largest face of ``image`` (as :meth:`detect` takes it), as
        ``fer``'s ``FER().top_emotion(img)`` (deepface: ``dominant_emotion``); ``(None, None)``
        when no face is found. ``score`` is the probability of ``label``, in [0, 1]."""
        records = self.detect(image, bgr=bgr)
        if not records:
            return None, None
        top = records[0]  # largest first
        return top["label"], top["scores"][top["label"]]

    def arrays(self, records):
        """(boxes int32 ``(N, 4)``, probabilities float32 ``(N, K)`` in :attr:`class_names`
        order) of one image's records from :meth:`detect`."""
        boxes = np.array([r["box"] for r in records], np.int32).reshape(-1, 4)
        probs = np.array([[r["scores"][k] for k in self.class_names] for r in records],
                         np.float32).reshape(-1, len(self.class_names))
        return boxes, probs

    def annotate(self, image, boxes=None, bgr=False, results=None):
        """RGB uint8 ``(H, W, 3)`` copy of ``image`` with each face's box and label drawn
        (``results`` from :meth:`detect` to draw those instead of detecting again)."""
        rgb = load_image(image, bgr=bgr)
        if results is None:
            results = self.detect(rgb, boxes)
        return draw_records(rgb, results)


