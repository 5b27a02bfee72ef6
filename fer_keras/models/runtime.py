"""Exported classifiers run without TensorFlow or Keras (:class:`ExportedClassifier`, ONNX
Runtime): the shipped model's fast path (:mod:`fer_keras.models.shipped`) and any ``.onnx`` that
:func:`fer_keras.models.export.export` wrote."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from fer_keras.errors import FerInputError


class ExportedClassifier:
    """An ``.onnx`` classifier run by ONNX Runtime, with the part of a Keras model's interface
    that :class:`fer_keras.faces.Recognizer` and :mod:`fer_keras.models.contract` use:
    ``input_shape`` ``(None, H, W, C)``, ``output_shape`` ``(None, K)``, ``predict_on_batch``
    and ``predict`` (float32 ``(N, H, W, C)`` -> ``(N, K)``). No TensorFlow or Keras is imported.
    ``outputs``: "probabilities" (default: the model ends in a softmax, as fer_keras's do) or
    "logits"; the input contract is otherwise read from the shapes (:func:`contract.infer`).
    ``metadata``: the file's metadata (e.g. the SHA-256 of the ``.keras`` it came from)."""

    def __init__(self, path, outputs="probabilities", threads=None):
        import onnxruntime as ort

        from fer_keras.models import contract

        self.path = Path(path)
        if not self.path.is_file():
            raise FerInputError("no such exported model", file=self.path)
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = int(threads)
        # idle threads sleep instead of spinning: half the CPU time for a few faces (3.1 against
        # 5.3 ms a face on this 2-core CPU), and nothing taken from a busy machine's others
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self._sess = ort.InferenceSession(str(self.path), opts,
                                              providers=["CPUExecutionProvider"])
        except Exception as e:  # noqa: BLE001  (onnxruntime raises its own types)
            raise FerInputError(f"cannot load the ONNX model ({' '.join(str(e).split())[:100]})",
                                file=self.path) from None
        inp, out = self._sess.get_inputs()[0], self._sess.get_outputs()[0]
        self._name = inp.name
        dims = lambda shape: tuple(d if isinstance(d, int) else None for d in shape)  # noqa: E731
        self.input_shape = (None, *dims(inp.shape)[1:])
        self.output_shape = (None, *dims(out.shape)[1:])
        self.metadata = dict(self._sess.get_modelmeta().custom_metadata_map)
        contract.attach(self, contract.infer(self, outputs=outputs, file=self.path))

    def predict_on_batch(self, x):
        return self._sess.run(None, {self._name: np.asarray(x, np.float32)})[0]

    def predict(self, x, batch_size=256, verbose=0):
        x = np.asarray(x, np.float32)
        if not len(x):
            return np.zeros((0, self.output_shape[-1]), np.float32)
        return np.concatenate([self.predict_on_batch(x[i:i + batch_size])
                               for i in range(0, len(x), batch_size)])

    def count_params(self):
        import onnx

        return int(sum(np.prod(t.dims) for t in onnx.load(str(self.path)).graph.initializer))
