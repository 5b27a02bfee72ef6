"""fer_keras: facial-expression recognition on FER2013 with Keras 3.

Train, evaluate and explain expression classifiers, and reproduce the course reports end to end.
Submodules are imported lazily so that ``import fer_keras`` stays fast and sets no global state:
``fer_keras.models``, ``fer_keras.data``, ``fer_keras.train``, ``fer_keras.evaluate``,
``fer_keras.explain``, ``fer_keras.plotting``, ``fer_keras.shapes``, ``fer_keras.semi``,
``fer_keras.report``, ``fer_keras.augment``, ``fer_keras.analyses``, ``fer_keras.rundir``.
"""
import importlib

__version__ = "0.1.0"

CLASS_NAMES = ("Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral")
NUM_CLASSES = len(CLASS_NAMES)

_SUBMODULES = {
    "analyses", "augment", "cli", "config", "data", "errors", "evaluate", "explain", "io",
    "layers", "losses", "models", "plotting", "report", "rundir", "schedules", "semi", "shapes",
    "train",
}


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'fer_keras' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBMODULES))
