"""Export a classifier for deployment: ONNX (ONNX Runtime) and TFLite/LiteRT (float or int8).

``export(model, "m.onnx", "onnx")`` and ``export(model, "m.tflite", "tflite", int8=True,
representative=train_images)``; :func:`load_exported` runs the file without Keras
(``onnxruntime``; ``ai_edge_litert``, or TensorFlow's interpreter); :func:`check` scores it
against the Keras model (top-1 agreement and accuracy). Every format goes through TensorFlow
(Keras's ``model.export``, ``tf2onnx``, ``tf.lite.TFLiteConverter``), so on the JAX backend
:func:`export` says so in one line.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from fer_keras.errors import FerInputError, require_tensorflow

FORMATS = ("onnx", "tflite")
#: The file name suffix each format is written with.
SUFFIXES = {"onnx": ".onnx", "tflite": ".tflite"}


def float32_copy(model):
    """A float32 copy of ``model`` (same weights): a mixed-precision model (bfloat16 compute)
    exports bfloat16 convolutions that ONNX Runtime rejects and LiteRT runs slowly."""
    import keras

    policies = {getattr(layer.dtype_policy, "name", "float32") for layer in model.layers}
    if policies <= {"float32"}:
        return model

    def clone(layer):
        cfg = layer.get_config()
        cfg["dtype"] = "float32"
        return layer.__class__.from_config(cfg)

    copy = keras.models.clone_model(model, clone_function=clone)
    copy.set_weights(model.get_weights())
    return copy


def ship_model(src, dest=None):
    """Save the classifier of the training checkpoint ``src`` (e.g. ``runs/NAME/best.keras``) as
    the package's shipped model (``fer_keras/weights/``, float32, no optimizer state); returns
    the path written. How the shipped model was made: RESULTS.md, "The shipped model"."""
    from fer_keras import models
    from fer_keras.fileio import save_model
    from fer_keras.models import shipped

    dest = Path(dest) if dest else shipped.model_path()
    # models.load returns the classifier inside a training checkpoint
    model = float32_copy(models.load(src, input_shape=None, num_classes=None))
    save_model(model, dest)
    return dest


def _representative(images, n=300, seed=0):
    """float32 ``(n, H, W, C)``: a seeded sample of model inputs (as given when float; uint8
    grey ``(N, H, W)`` scaled to [0, 1])."""
    x = np.asarray(images)
    x = x[np.random.default_rng(seed).permutation(len(x))[:n]]
    if x.ndim == 3:
        x = x[..., None]
    return x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)


def export(model, path, format, int8=False, representative=None, source=None):
    """Write ``model`` to ``path`` as ``format`` ("onnx" or "tflite"); returns the path.

    ``int8`` (tflite only): post-training full-integer quantisation of weights and activations
    (inputs and outputs stay float32), calibrated on ``representative``: model inputs (e.g. 300
    FER2013 train images, float in [0, 1] or uint8). ``source``: the model file ``model`` was
    loaded from; an ONNX export records its name and SHA-256 in its metadata
    (:data:`fer_keras.models.shipped.SOURCE_SHA256`). Written atomically.
    """
    from fer_keras.fileio import atomic_path

    if format not in FORMATS:
        raise FerInputError(f"--format must be one of {', '.join(FORMATS)}, got {format!r}")
    if Path(path).suffix.lower() != SUFFIXES[format]:
        raise FerInputError(f"--format {format} writes a {SUFFIXES[format]} file: name --out "
                            f"{Path(path).with_suffix(SUFFIXES[format]).name}", file=path)
    if int8 and format != "tflite":
        raise FerInputError("--int8 applies to --format tflite only")
    if int8 and representative is None:
        raise FerInputError("--int8 needs representative images: pass --data (FER2013 train)")
    import keras

    if keras.backend.backend() != "tensorflow":
        raise FerInputError(f"export to {format} needs the TensorFlow backend (Keras backend: "
                            f"{keras.backend.backend()}); run with KERAS_BACKEND=tensorflow")
    tf = require_tensorflow(f"export to {format}")
    model = float32_copy(model)
    shape = (1, *model.input_shape[1:])
    model(np.zeros(shape, np.float32))  # a loaded model must have been called to be traced
    path = Path(path)
    with atomic_path(path) as tmp:
        if format == "onnx":
            try:
                import tf2onnx  # noqa: F401
            except ImportError:
                raise FerInputError("export to onnx needs tf2onnx: pip install tf2onnx onnxruntime "
                                    "(or fer_keras[export])") from None
            model.export(tmp, format="onnx", verbose=False)
            if source is not None:
                _stamp_source(tmp, source)
        elif not int8:
            model.export(tmp, format="litert", verbose=False)
        else:
            Path(tmp).write_bytes(_int8_tflite(tf, model, _representative(representative)))
    return path


def _stamp_source(onnx_file, source):
    """Record ``source``'s file name and SHA-256 in the metadata of the ONNX file."""
    import onnx

    from fer_keras.models.shipped import SOURCE_SHA256, sha256

    m = onnx.load(onnx_file)
    stamp = {"fer_keras.source": Path(source).name, SOURCE_SHA256: sha256(source)}
    kept = [p for p in m.metadata_props if p.key not in stamp]
    del m.metadata_props[:]
    for p in kept:
        m.metadata_props.add(key=p.key, value=p.value)
    for k, v in stamp.items():
        m.metadata_props.add(key=k, value=v)
    onnx.save(m, onnx_file)


def ship_onnx(dest=None):
    """Export the shipped ``.keras`` model to ONNX beside it (``make shipped-onnx``), stamped
    with the ``.keras``'s SHA-256; returns the path written. Needs TensorFlow and tf2onnx; the
    export then runs without them (:class:`ExportedClassifier`)."""
    from fer_keras import models
    from fer_keras.models import shipped

    dest = Path(dest) if dest else shipped.onnx_path()
    return export(models.pretrained(), dest, "onnx", source=shipped.model_path())


def _int8_tflite(tf, model, rep):
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        model.export(d, format="tf_saved_model", verbose=False)
        conv = tf.lite.TFLiteConverter.from_saved_model(d)
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = lambda: ([x[None]] for x in rep)
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        return conv.convert()


def load_exported(path):
    """A function float32 ``(N, H, W, C)`` -> ``(N, K)`` outputs running the ``.onnx`` or
    ``.tflite`` file at ``path`` (ONNX Runtime; LiteRT's ``ai_edge_litert``, else TensorFlow)."""
    path = Path(path)
    if not path.is_file():
        raise FerInputError("no such exported model", file=path)
    if path.suffix == ".onnx":
        try:
            import onnxruntime as ort
        except ImportError:
            raise FerInputError("running .onnx needs onnxruntime: pip install onnxruntime") \
                from None
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        name = sess.get_inputs()[0].name
        return lambda x: sess.run(None, {name: np.asarray(x, np.float32)})[0]
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        Interpreter = require_tensorflow("running .tflite without ai-edge-litert").lite.Interpreter
    it = Interpreter(model_path=str(path))
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    state = {"n": None}

    def run(x):
        x = np.asarray(x, np.float32)
        if state["n"] != len(x):
            it.resize_tensor_input(inp["index"], x.shape)
            it.allocate_tensors()
            state["n"] = len(x)
        it.set_tensor(inp["index"], x)
        it.invoke()
        return it.get_tensor(out["index"]).copy()

    return run


def check(model, path, images, labels=None, batch_size=256, contract=None):
    """Top-1 agreement of the exported file at ``path`` with ``model`` on ``images``, and the
    accuracy of each when ``labels`` (FER2013 class indices) are given:
    ``{"n", "agreement", "keras_accuracy", "export_accuracy"}``.

    ``images``: uint8 grey ``(N, h, w)`` or float in [0, 1], any size; both models get them as
    the model's input contract says (``contract``, else the one attached to ``model`` or
    inferred: :meth:`fer_keras.models.contract.InputContract.prepare`), so a 64x64 [-1, 1] model is
    fed 64x64 images in [-1, 1]. Outputs are compared in the model's class order; accuracy is
    taken in FER2013's (:meth:`~fer_keras.models.contract.InputContract.to_fer`)."""
    from fer_keras import CLASS_NAMES
    from fer_keras.models import contract as fc

    c = contract or fc.of(model)
    run = load_exported(path)
    x = c.prepare(images)
    ref = np.asarray(model.predict(x, batch_size=batch_size, verbose=0))
    got = np.concatenate([run(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])
    res = {"n": int(len(x)), "agreement": float((ref.argmax(1) == got.argmax(1)).mean())}
    if labels is not None:
        labels = np.asarray(labels)

        def fer(out):
            p = c.probabilities(out)
            return (p if tuple(c.classes) == CLASS_NAMES else c.to_fer(p)).argmax(1)

        res["keras_accuracy"] = float((fer(ref) == labels).mean())
        res["export_accuracy"] = float((fer(got) == labels).mean())
    return res
