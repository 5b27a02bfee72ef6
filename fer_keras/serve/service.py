"""What the server computes, without any HTTP: the model, its faces and its explanations.

:class:`Service` holds one classifier (any Keras image classifier, the shipped model by
default) and answers in JSON-ready dicts: :meth:`Service.faces` (the records of
:meth:`fer_keras.faces.Recognizer.detect`, whatever keys they carry, plus the model's name and
input contract), :meth:`Service.explain` (a saliency map of one face laid over it as a PNG, with
the method's stored check verdict on this model) and :meth:`Service.model_info`. Its methods
are called from the server's worker threads: each thread has its own face detector (OpenCV's
detectors are not shared between threads), the model is warmed up before the first request, and
explanations run one at a time (their gradient functions are compiled on first use).
"""
from __future__ import annotations

import io
import json
import math
import threading
from pathlib import Path

import numpy as np

from fer_keras.errors import FerInputError
from fer_keras.serve.config import ServeConfig
from fer_keras.serve.uploads import UploadError

#: Side in pixels of the explanation overlay PNG.
OVERLAY_SIZE = 192
CHECKS_FILE = "checks.json"


def explain_methods():
    """The explanation methods the server offers, in their usual order (the saliency methods:
    this is the one place that reads the method registry)."""
    from fer_keras.explain import methods

    return tuple(methods.names())


# ---------------------------------------------------------------------- stored check verdicts
def find_checks(model_path):
    """The ``checks.json`` stored for the model file ``model_path`` (written by ``fer-keras
    explain checks --out``, or shipped beside the model): ``<stem>.checks.json`` or
    ``checks.json`` in the model's folder; ``None`` when there is none."""
    if model_path is None:
        return None
    p = Path(model_path)
    folder = p if p.is_dir() else p.parent
    for candidate in (folder / f"{p.stem}.{CHECKS_FILE}", folder / CHECKS_FILE):
        if candidate.is_file():
            return candidate
    return None


def load_checks(path):
    """The numbers of a ``checks.json`` (:func:`fer_keras.explain.run_checks`), with their
    verdicts recomputed by today's rules (:func:`fer_keras.explain.method_verdicts`)."""
    from fer_keras.explain.verdicts import method_verdicts

    try:
        numbers = json.loads(Path(path).read_text())
        numbers["verdicts"] = method_verdicts(numbers)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise FerInputError(f"not a checks.json of `fer-keras explain checks` "
                            f"({' '.join(str(e).split())[:100]})", file=path) from None
    return numbers


def method_verdict(checks, method, source):
    """``{"method", "passed", "failed": [check, ...], "checks": {check: {"passed", "reason"}},
    "source", "images"}`` for ``method`` from :func:`load_checks` numbers, or ``None`` when the
    method was not checked."""
    v = (checks or {}).get("verdicts", {}).get(method)
    if v is None:
        return None
    per = {k: {"passed": bool(e["passed"]), "reason": e["reason"]} for k, e in v.items()
           if k != "passed"}
    return {"method": method, "passed": bool(v["passed"]),
            "failed": [k for k, e in per.items() if not e["passed"]], "checks": per,
            "source": Path(source).name, "images": checks.get("n")}


def stored_verdicts(model_file, methods):
    """``{method: method_verdict}`` of the explanation checks stored beside ``model_file`` (None:
    the shipped model) for each of ``methods`` (None for a method not checked), as the page
    shows them; ``{}`` when no checks are stored."""
    from fer_keras.models import shipped

    src = find_checks(model_file or shipped.model_path())
    checks = load_checks(src) if src else None
    return {m: method_verdict(checks, m, src) for m in methods} if checks else {}


def jsonable(obj):
    """``obj`` with numpy scalars and arrays as Python values and non-finite floats as ``None``
    (strict JSON has no NaN)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


# ---------------------------------------------------------------------- the service
def _load(model, input_range, classes):
    """(Keras model, its name, its file or None) for ``model``: None or ``"pretrained"`` (the
    shipped model), a model path, or a Keras model."""
    from fer_keras import models
    from fer_keras.models import shipped

    if model is None or (isinstance(model, str) and model == "pretrained"):
        m = models.pretrained()
        path = shipped.model_path()
        if input_range is not None or classes is not None:
            m = models.load_classifier(path, input_range=input_range, classes=classes)[0]
        return m, f"pretrained ({path.name})", path
    if isinstance(model, (str, Path)):
        m = models.load_classifier(model, input_range=input_range, classes=classes)[0]
        return m, Path(model).name, Path(model)
    from fer_keras.models import contract

    contract.attach(model, contract.of(model, input_range=input_range, classes=classes))
    return model, model.name, None


class Service:
    """The model behind the server (see the module docstring).

    ``model``: None / ``"pretrained"`` (the shipped model), a model path or a Keras classifier;
    ``input_range``, ``classes``: its input contract's overrides (:mod:`fer_keras.models.contract`);
    ``detector``: a face detector shared by every thread (default: one
    :func:`~fer_keras.faces.detectors.default_detector` per thread, as :class:`~fer_keras.faces.Recognizer`);
    ``config``: a :class:`ServeConfig`.
    """

    def __init__(self, *, model=None, config=None, detector=None, input_range=None,
                 classes=None):
        from fer_keras.models import contract

        self.config = config or ServeConfig()
        self.model, self.name, self.file = _load(model, input_range, classes)
        self.contract = contract.of(self.model)
        self._detector = detector
        self._local = threading.local()
        self._explain_lock = threading.Lock()
        self.methods = explain_methods()
        src = self.config.checks or find_checks(self.file)
        self.checks_source = Path(src) if src else None
        self.checks = load_checks(src) if src else None
        self.recognizer().classify(np.zeros((1, 48, 48), np.uint8))  # build predict before threads

    def recognizer(self):
        """This thread's :class:`~fer_keras.faces.Recognizer` (its own detector)."""
        rec = getattr(self._local, "rec", None)
        if rec is None:
            from fer_keras import faces
            from fer_keras.faces import detectors

            det = self._detector if self._detector is not None else detectors.default_detector()
            rec = self._local.rec = faces.Recognizer(self.model, detector=det)
        return rec

    # ------------------------------------------------------------------ answers
    def model_info(self):
        """The model's name, file, input contract, parameters, the explanation methods and the
        stored check verdicts per method (or ``None``)."""
        import keras

        import fer_keras

        checks = None
        if self.checks is not None:
            checks = {"source": self.checks_source.name, "images": self.checks.get("n"),
                      "passed": {m: bool(v["passed"]) for m, v in
                                 self.checks["verdicts"].items()}}
        return jsonable({"name": self.name, "file": self.file.name if self.file else None,
                         "contract": self.contract.to_json(), "classes": self.contract.classes,
                         "parameters": int(self.model.count_params()),
                         "methods": self.methods, "checks": checks,
                         "backend": keras.backend.backend(),
                         "fer_keras": fer_keras.__version__})

    def faces(self, rgb):
        """``{"faces": Recognizer.detect records, "image": {"width", "height"}, "model",
        "contract"}`` for an RGB uint8 ``(H, W, 3)`` image."""
        records = self.recognizer().detect(rgb)
        return jsonable({"faces": records, "image": {"width": rgb.shape[1],
                                                     "height": rgb.shape[0]},
                         "model": self.name, "contract": self.contract.to_json()})

    def explain(self, rgb, face=0, method=None, target=None):
        """One face's explanation: ``{"face", "box", "square": [x0, y0, side] (the crop the
        model saw, in image pixels), "method", "class" (explained), "label" (predicted),
        "png" (bytes: the map over the face, :data:`OVERLAY_SIZE` square), "verdict"}``.

        ``face``: index into :meth:`faces`'s list (largest first); ``method``: one of
        :func:`explain_methods` (default the first); ``target``: a class name to explain
        (default the predicted one). A bad index, method or class: :class:`UploadError` 422.
        """
        from PIL import Image

        from fer_keras import plotting
        from fer_keras.explain.saliency import saliency_maps
        from fer_keras.faces import images as face_images

        method = method or self.methods[0]
        if method not in self.methods:
            hint = " (in a URL, + means a space: write %2B)" if " " in method else ""
            raise UploadError(422, f"unknown method {method!r}; valid: "
                                   f"{', '.join(self.methods)}{hint}")
        rec = self.recognizer()
        grey = face_images.to_grey(rgb)
        boxes, probs = rec.arrays(rec.detect(rgb))
        if not len(boxes):
            raise UploadError(422, "no face found in the image")
        if not 0 <= face < len(boxes):
            raise UploadError(422, f"face {face} does not exist: the image has {len(boxes)} "
                                   f"face{'s' if len(boxes) != 1 else ''} (0-{len(boxes) - 1})")
        classes = list(self.contract.classes)
        label = classes[int(np.argmax(probs[face]))]
        if target is not None and target not in classes:
            raise UploadError(422, f"unknown class {target!r}; valid: {', '.join(classes)}")
        explained = target or label
        box = boxes[face]
        crop = face_images.crop_faces(grey, box[None], rec.input_shape[:2], rec.scale)
        big = face_images.crop_faces(grey, box[None], (OVERLAY_SIZE, OVERLAY_SIZE), rec.scale)[0]
        with self._explain_lock:
            m = saliency_maps(self.model, crop, labels=[classes.index(explained)],
                              method=method, samples=self.config.smoothgrad_samples)[0]
        buf = io.BytesIO()
        Image.fromarray(plotting.saliency_overlay(big, m, size=OVERLAY_SIZE)).save(buf, "PNG")
        verdict = method_verdict(self.checks, method, self.checks_source) if self.checks else None
        return {"face": int(face), "box": [int(v) for v in box],
                "square": list(face_images.face_square(box, rec.scale)), "method": method,
                "class": explained, "label": label, "png": buf.getvalue(),
                "verdict": jsonable(verdict)}
