"""fer_keras: facial-expression recognition on FER2013 with Keras 3.

Train, evaluate and explain expression classifiers, find and label the faces of photos and
videos, and reproduce the course reports end to end. The feature folders, each loaded on first
use so that ``import fer_keras`` stays fast and sets no global state:

==========  ===============================================================================
models      the model zoo and registry, reading any classifier file, the input contract, the
            shipped model, ONNX runtime and export
data        FER2013 (CSV, image folders) and the synthetic faces, batching, oversampling
train       training with exact resume and budgets, augmentation, losses, schedules, run
            folders, evaluation
explain     the explanation methods and their checks, numpy in and out
faces       photos and videos: ``Recognizer`` (also ``fer_keras.Recognizer``), detectors,
            ``predict``, the Ray engine
semi        semi-supervised learning (self-training, FixMatch)
analyses    one module per analysis, run by ``fer-keras explain`` and the report
report      the reports' questions, their claims, the reproduction table and the document
serve       ``fer-keras serve``: the HTTP API and page
cli         ``fer-keras``: the only place that parses flags
==========  ===============================================================================

Shared by every layer: ``errors`` (one-line user errors), ``fileio`` (atomic writes, output-folder
checks), ``config`` (``TrainConfig`` and the valid choices), ``plotting`` (every figure).

``import fer_keras`` registers the package's Keras classes (``BatchNorm``, ``RandomAffine``, the
loss and the learning-rate schedule) with Keras, so that plain ``keras.saving.load_model`` reads
the files fer_keras writes: at once when Keras is already imported, else as soon as it is (the
package import itself stays free of Keras, and of TensorFlow's start-up lines).
"""
import importlib
import sys

from fer_keras._lazy import lazy_face

__version__ = "0.1.0"

CLASS_NAMES = ("Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral")
NUM_CLASSES = len(CLASS_NAMES)

#: The feature folders and shared modules, and ``Recognizer``, each imported on first use.
_SUBMODULES = ("analyses", "cli", "config", "data", "errors", "explain", "faces", "fileio",
               "models", "plotting", "report", "semi", "serve", "train")
_EXPORTS = {"Recognizer": "faces.recognizer"}
__getattr__, __dir__ = lazy_face(__name__, _EXPORTS, _SUBMODULES)


#: The modules whose import registers a Keras class (``@keras.saving.register_keras_serializable``).
_REGISTERING = ("models.layers", "train.augment", "train.losses", "train.schedules")


def register_keras_objects():
    """Register fer_keras's Keras classes with ``keras.saving`` (idempotent); model readers call
    it before reading a file."""
    for name in _REGISTERING:
        importlib.import_module(f"{__name__}.{name}")


class _RegisterAfterKeras:  # a sys.meta_path finder (importlib.abc is 30 ms to import)
    """Runs :func:`register_keras_objects` right after ``keras`` is first imported: finds
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
                register_keras_objects()
            except Exception:  # noqa: BLE001  (a user's `import keras` must never fail for us)
                pass

        spec.loader.exec_module = exec_module
        return spec


if "keras" in sys.modules:
    register_keras_objects()
elif not any(isinstance(f, _RegisterAfterKeras) for f in sys.meta_path):
    sys.meta_path.insert(0, _RegisterAfterKeras())
