"""Models: the zoo of the reports' networks and ours, and everything about a model as a file.

>>> import fer_keras
>>> fer_keras.models.list_models()          # doctest: +SKIP
>>> model = fer_keras.models.vgg_leaky()    # doctest: +SKIP
>>> model = fer_keras.models.get("deep_cnn")()  # doctest: +SKIP
>>> model, contract = fer_keras.models.load_classifier("someone_elses.h5")  # doctest: +SKIP

The package's face is the registry (``register``, ``get``, ``build``, ``list_models``), loading
(``load``, ``load_classifier``, ``pretrained``) and every registered builder by its name; the
rest lives in its modules, each the one home of what it defines:

=============  ==========================================================================
zoo            the registry (``name -> builder``) and the architectures (the reports' CNNs and
               DNNs, ``matched_dnn``, ``fer_net``)
loading        loading any classifier file with its input contract, the shipped model, FLOPs
files          reading others' model files (``.keras``, Keras 2 ``.h5``, SavedModel folders)
contract       :class:`~fer_keras.models.contract.InputContract`: how a model wants its images
shipped        the files in ``fer_keras/weights/``, found without importing Keras
choose         which model answers for what a user names (the shipped export, a file, a model)
runtime        :class:`~fer_keras.models.runtime.ExportedClassifier`: ONNX Runtime, no Keras
export         ONNX and TFLite export, checked against Keras
layers         our Keras layers (``BatchNorm``), registered for ``keras.saving``
shapes         the Conv2D output-shape formula (HW3 Q6)
=============  ==========================================================================
"""
import importlib

from fer_keras._lazy import lazy_face

#: The package's face, loaded on first use (``fer_keras.models.shipped``, ``runtime`` and
#: ``contract`` are read without importing Keras): name -> the module that defines it.
_EXPORTS = {
    **dict.fromkeys(("PRETRAINED", "flops", "load", "load_classifier", "model_path",
                     "pretrained"), "loading"),
    **dict.fromkeys(("MATCHED_PREFIX", "build", "dnn_params", "get", "list_models", "matched_dnn",
                     "matched_widths", "register", "register_matched_dnn"), "zoo"),
}
_SUBMODULES = ("zoo", "loading", "files", "contract", "shipped", "choose", "runtime", "export",
               "layers", "shapes")
__all__ = sorted(_EXPORTS)


def _registry():
    """Every registered builder by its name (``fer_keras.models.vgg_leaky``)."""
    return importlib.import_module(f"{__name__}.zoo")._REGISTRY


__getattr__, __dir__ = lazy_face(__name__, _EXPORTS, _SUBMODULES, more=_registry)
