"""fer_keras: facial-expression recognition on FER2013 with Keras 3.

Train, evaluate and explain expression classifiers, and reproduce the course reports end to end.
Submodules are imported lazily so that ``import fer_keras`` stays fast and sets no global state:
``fer_keras.models``, ``fer_keras.data``, ``fer_keras.train``, ``fer_keras.evaluate``,
``fer_keras.explain``, ``fer_keras.plotting``, ``fer_keras.shapes``, ``fer_keras.semi``,
``fer_keras.report``, ``fer_keras.augment``, ``fer_keras.analyses``, ``fer_keras.rundir``,
``fer_keras.contract``, ``fer_keras.faces`` (and ``fer_keras.Recognizer``: the expressions of the
faces of a photo or video), ``fer_keras.export``.
"""
import importlib

__version__ = "0.1.0"

CLASS_NAMES = ("Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral")
NUM_CLASSES = len(CLASS_NAMES)

_SUBMODULES = {
    "analyses", "augment", "cli", "config", "contract", "data", "errors", "evaluate", "explain",
    "export", "faces", "io", "layers", "losses", "models", "plotting", "predict_media", "report",
    "rundir", "schedules", "semi", "shapes", "train",
}
#: Lazy attributes: name -> the submodule that defines it.
_ATTRIBUTES = {"Recognizer": "faces"}


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _ATTRIBUTES:
        return getattr(importlib.import_module(f"{__name__}.{_ATTRIBUTES[name]}"), name)
    raise AttributeError(f"module 'fer_keras' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBMODULES) + list(_ATTRIBUTES))
