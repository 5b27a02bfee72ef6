"""Which model answers: the one decision, for what a user names as the model.

The recognizer (:class:`fer_keras.faces.Recognizer`), ``fer-keras predict``, the Ray actors and
every command with ``--model`` ask :func:`classifier`: the shipped model by its ONNX export when
nothing changes its contract, else a Keras model with its input contract. Keras is imported only
when a Keras model is read.
"""
from __future__ import annotations

from pathlib import Path

from fer_keras.models import shipped


def classifier(model=None, input_range=None, classes=None, threads=None, quiet=False,
               exported=True):
    """``(classifier, its input contract)`` for what a user names as the model.

    ``model``: None or ``"pretrained"`` (the shipped model), a model file's path (any format
    :func:`fer_keras.models.load_classifier` reads), or a model object (a Keras model, or
    anything with ``predict_on_batch``, ``input_shape`` and ``output_shape``, such as
    :class:`fer_keras.models.runtime.ExportedClassifier`). ``input_range`` and ``classes``
    override the contract (:func:`fer_keras.models.contract.from_options`).

    The shipped model is answered by its ONNX export (no TensorFlow import) when ``exported``,
    onnxruntime is installed, the export is fresh (:func:`~fer_keras.models.shipped.onnx_classifier`, its note on stderr
    unless ``quiet``) and no contract option is given: an option changes the contract of the
    ``.keras``, so that is read with Keras. ``threads``: ONNX Runtime's intra-op threads (a new
    session; default: the process's one shared session). A URL is refused with one line.
    """
    from fer_keras.models import contract

    named = model is None or (isinstance(model, str) and model == shipped.PRETRAINED)
    if named and exported and input_range is None and classes is None:
        fast = shipped.onnx_classifier(quiet=quiet)
        if fast is not None:
            if threads:
                from fer_keras.models.runtime import ExportedClassifier

                fast = ExportedClassifier(fast.path, threads=threads)
            return fast, contract.of(fast)
    if named or isinstance(model, (str, Path)):
        from fer_keras.errors import refuse_url
        from fer_keras.models.loading import load_classifier

        refuse_url(model or "", "a model file")
        return load_classifier(shipped.PRETRAINED if named else model, input_range=input_range,
                               classes=classes)
    if input_range is None and classes is None:
        return model, contract.of(model)
    return model, contract.from_options(model, input_range=input_range, classes=classes)
