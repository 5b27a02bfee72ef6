"""Faces in photos and videos: find them, label their expressions, explain them, at any scale.

>>> from fer_keras.faces import Recognizer
>>> Recognizer().detect("photo.jpg")   # doctest: +SKIP
[{"box": [x, y, w, h], "confidence": 0.93, "scores": {"Angry": 0.01, ...}, "label": "Happy"}]

The package's face is :class:`Recognizer` (also ``fer_keras.Recognizer``); each name has its one
home in a module of the package:

=============  ==========================================================================
recognizer     :class:`Recognizer`: detector, FER2013 framing and any classifier in one
images         decoding any image a user has (:func:`load_image`), grey crops with FER2013's
               framing (:func:`crop_faces`)
detectors      face detectors (YuNet, shipped and the default; Haar; tracking for video),
               a confidence per box, NMS
video          decoding videos, face tracks across frames (:class:`FaceTracker`)
drawing        annotated copies: boxes and labels inside the image, off the faces
media          ``fer-keras predict PHOTO|FOLDER|VIDEO``: every face as files
photo_explain  ``fer-keras explain saliency --image``: a photo's faces explained
ray_engine     ``fer-keras predict --engine ray``: the same rows on a Ray cluster
scenes         test scenes with known faces (real crops pasted on a canvas)
=============  ==========================================================================

Submodules load on first use: ``import fer_keras.faces`` imports neither OpenCV nor Keras.
"""
import importlib

_SUBMODULES = ("recognizer", "images", "detectors", "video", "drawing", "media", "photo_explain",
               "ray_engine", "scenes")
__all__ = ["Recognizer"]


def __getattr__(name):
    if name == "Recognizer":
        return importlib.import_module(f"{__name__}.recognizer").Recognizer
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'fer_keras.faces' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__) | set(_SUBMODULES))
