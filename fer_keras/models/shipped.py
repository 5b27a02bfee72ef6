"""The files that ship inside fer_keras (``fer_keras/weights/``), found without importing Keras.

The shipped expression classifier is a ``.keras`` file (:func:`fer_keras.models.pretrained`)
with its ONNX export beside it (``make shipped-onnx`` regenerates it). The export records the
SHA-256 of the ``.keras`` it was made from, so that a replaced model is never answered for by a
stale export: :func:`onnx_classifier` then says so once and returns None (the caller uses Keras).
"""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path

WEIGHTS = Path(__file__).resolve().parents[1] / "weights"
MODEL_FILE = "fer_net_fer2013.keras"
ONNX_FILE = "fer_net_fer2013.onnx"
#: The ONNX metadata key holding the SHA-256 of the .keras file an export was made from.
SOURCE_SHA256 = "fer_keras.source_sha256"


def model_path():
    """The shipped ``.keras`` model's path (it may be missing from a broken installation)."""
    return WEIGHTS / MODEL_FILE


def onnx_path():
    """The path of the shipped model's ONNX export."""
    return WEIGHTS / ONNX_FILE


def sha256(path):
    """The hex SHA-256 of the file at ``path``."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def onnx_classifier(quiet=False):
    """The shipped model as an :class:`fer_keras.models.runtime.ExportedClassifier` run by ONNX Runtime
    (no TensorFlow, no Keras), or None when onnxruntime is not installed, the export is missing,
    or it was made from another ``.keras`` than the one shipped (said on stderr unless
    ``quiet``): the caller then loads the ``.keras`` with Keras."""
    path, keras_file = onnx_path(), model_path()
    if not path.is_file() or not keras_file.is_file():
        return None
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return None
    from fer_keras.models.runtime import ExportedClassifier

    key = tuple((f.stat().st_mtime_ns, f.stat().st_size) for f in (path, keras_file))
    if _CACHE.get("key") != key:  # one ONNX Runtime session per process (it is thread-safe)
        model = ExportedClassifier(path)
        fresh = model.metadata.get(SOURCE_SHA256) == sha256(keras_file)
        _CACHE.update(key=key, model=model if fresh else None)
    if _CACHE["model"] is None and not quiet:
        print(f"note: {path.name} was not exported from the shipped {keras_file.name} "
              "(regenerate it: make shipped-onnx); using Keras", file=sys.stderr)
    return _CACHE["model"]


_CACHE = {}

#: The word that names the shipped model wherever a model path is taken.
PRETRAINED = "pretrained"
