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
from fer_keras._lazy import lazy_face

_SUBMODULES = ("recognizer", "images", "detectors", "video", "drawing", "media", "photo_explain",
               "ray_engine", "scenes")
#: name -> the module of this package that defines it
_EXPORTS = {"Recognizer": "recognizer"}
__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_face(__name__, _EXPORTS, _SUBMODULES)
