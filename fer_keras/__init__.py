"""fer_keras: facial-expression recognition on FER2013 with Keras 3.

Train, evaluate and explain expression classifiers, and reproduce the course reports end to end.
Submodules are imported lazily so that ``import fer_keras`` stays fast and sets no global state:
``fer_keras.models``, ``fer_keras.data``, ``fer_keras.train``, ``fer_keras.evaluate``,
``fer_keras.explain``, ``fer_keras.plotting``, ``fer_keras.shapes``, ``fer_keras.semi``,
``fer_keras.report``, ``fer_keras.augment``, ``fer_keras.analyses``, ``fer_keras.rundir``,
``fer_keras.contract``, ``fer_keras.faces`` (and ``fer_keras.Recognizer``: the expressions of the
faces of a photo or video), ``fer_keras.export``.

``import fer_keras`` registers the package's Keras classes (``BatchNorm``, ``RandomAffine``, the
loss and the learning-rate schedule) with Keras, so that plain ``keras.saving.load_model`` reads
the files fer_keras writes: at once when Keras is already imported, else as soon as it is (the
package import itself stays free of Keras, and of TensorFlow's start-up lines).
"""
import importlib
import sys

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


#: The modules whose import registers a Keras class (``@keras.saving.register_keras_serializable``).
_REGISTERING = ("layers", "augment", "losses", "schedules")


def _register_keras_objects():
    for name in _REGISTERING:
        importlib.import_module(f"{__name__}.{name}")


class _RegisterAfterKeras:  # a sys.meta_path finder (importlib.abc is 30 ms to import)
    """Runs :func:`_register_keras_objects` right after ``keras`` is first imported: finds
    ``keras``'s own spec (this finder stepping aside) and wraps its loader's ``exec_module``."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "keras":
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        import importlib.util

        spec = importlib.util.find_spec("keras")
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            try:
                _register_keras_objects()
            except Exception:  # noqa: BLE001  (a user's `import keras` must never fail for us)
                pass

        spec.loader.exec_module = exec_module
        return spec


if "keras" in sys.modules:
    _register_keras_objects()
elif not any(isinstance(f, _RegisterAfterKeras) for f in sys.meta_path):
    sys.meta_path.insert(0, _RegisterAfterKeras())
