"""Reading model files that others made: any Keras classifier from a ``.keras`` file, a Keras 2
``.h5``/``.hdf5`` file (its config corrected for Keras 3, :func:`keras2_config`) or a TensorFlow
SavedModel folder, with a one-line diagnosis of a file that cannot be read.

:func:`fer_keras.models.load` and :func:`fer_keras.models.load_classifier` are the public way in;
``keras2_config`` and ``KERAS2_EXTRA_KEYS`` are re-exported there.
"""
from __future__ import annotations

import keras

from fer_keras.errors import FerInputError


def _read(path, compile=False):
    """Read a model file: ``.keras``, Keras 2 ``.h5``/``.hdf5`` (``compile=False``: Keras 3 reads
    their graph and weights, not their optimizer) or a TensorFlow SavedModel folder (TensorFlow
    backend only, as a ``keras.layers.TFSMLayer``). A Keras 2 file that Keras 3 refuses for a known
    difference of the two (:func:`keras2_config`) is read through a corrected copy of its
    config. One-line :class:`FerInputError` naming the file and the cause otherwise."""
    from pathlib import Path

    from fer_keras import register_keras_objects

    register_keras_objects()  # the files fer_keras writes name its layers, loss and schedule

    path = Path(path)
    if path.is_dir():
        if not (path / "saved_model.pb").is_file():
            raise FerInputError("a folder that is no TensorFlow SavedModel (no saved_model.pb)",
                                file=path)
        return _read_saved_model(path)
    if not path.is_file():
        raise FerInputError("no such model file", file=path)
    if path.suffix not in (".keras", ".h5", ".hdf5"):
        raise FerInputError("expected a Keras model file (.keras, or Keras 2 .h5/.hdf5) or a "
                            "TensorFlow SavedModel folder", file=path)
    try:
        # compile=False: a Keras 2 file's optimizer/loss config does not load in Keras 3
        return keras.saving.load_model(path, compile=compile and path.suffix == ".keras")
    except Exception as e:  # noqa: BLE001  (h5py, zipfile and keras raise many kinds)
        first = e
    model = _read_keras2(path) if path.suffix != ".keras" else None
    if model is not None:
        return model
    raise FerInputError(_why_unreadable(path, first), file=path) from None


def _short(e, n=160):
    return f"{type(e).__name__}: {' '.join(str(e).split())[:n]}"


def _why_unreadable(path, e):
    """One line saying why Keras 3 could not read the model file ``path`` (``e``: its error)."""
    import re
    import zipfile

    import h5py

    if not (h5py.is_hdf5(path) or zipfile.is_zipfile(path)):
        return ("not a Keras model file: neither HDF5 (.h5) nor a .keras zip archive "
                "(truncated or corrupt?)")
    if zipfile.is_zipfile(path):
        missing = _missing_members(path)
        if missing:
            return f"a zip archive but not a Keras model archive: it has no {missing}"
    if h5py.is_hdf5(path):
        try:
            with h5py.File(path, "r") as f:
                weights_only = "model_config" not in f.attrs
        except OSError as err:
            return f"a truncated or corrupt HDF5 file ({_short(err, 100)})"
        if path.suffix == ".keras":
            return (f"an HDF5 file (Keras 2 .h5) named .keras, which Keras reads as a zip "
                    f"archive: rename it {path.stem}.h5 and load that")
        if weights_only:
            return ("an .h5 file of weights only (save_weights), with no model in it: build "
                    "the model in code and call model.load_weights(FILE), or save it with "
                    "model.save")
    text = str(e)
    m = re.search(r"Could not locate (?:class|function) '([^']+)'", text)
    if m:
        return (f"the model uses {m.group(1)!r}, a custom class that is not registered: import "
                "the code that defines it (with @keras.saving.register_keras_serializable) "
                "before loading")
    m = re.search(r"Unrecognized keyword arguments passed to (\w+): (\{[^}]*\})", text)
    if m:
        return (f"Keras 3 does not take the arguments {m.group(2)[:100]} of layer "
                f"{m.group(1)} (a file written by another Keras version)")
    return f"Keras {keras.__version__} cannot read this model ({_short(e)})"


#: What every ``.keras`` archive holds (Keras 3's ``saving_lib``).
KERAS_ARCHIVE_MEMBERS = ("config.json", "model.weights.h5")


def _missing_members(path):
    """The first of :data:`KERAS_ARCHIVE_MEMBERS` that the zip ``path`` lacks, with what it
    holds instead ("config.json (it holds: a.txt, b.png)"), or None."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (OSError, zipfile.BadZipFile) as e:
        return f"readable table of contents ({_short(e, 80)})"
    for member in KERAS_ARCHIVE_MEMBERS:
        if member not in names:
            held = ", ".join(n[:40] for n in names[:5]) + (", ..." if len(names) > 5 else "")
            return f"{member} (it holds: {held or 'nothing'})"
    return None


#: Arguments that Keras 2 (tf-keras) writes into layer configs and Keras 3 refuses: class name ->
#: keys to drop. Dropping them changes nothing: Keras 2 writes ``groups: 1`` (the only value
#: these layers take) and a separable convolution's unused ``kernel_*`` of its base class.
KERAS2_EXTRA_KEYS = {
    "DepthwiseConv1D": ("groups",),
    "DepthwiseConv2D": ("groups",),
    "SeparableConv1D": ("groups", "kernel_initializer", "kernel_regularizer",
                        "kernel_constraint"),
    "SeparableConv2D": ("groups", "kernel_initializer", "kernel_regularizer",
                        "kernel_constraint"),
}
_MODEL_CLASSES = ("Functional", "Model", "Sequential")


def keras2_config(config):
    """A Keras 2 model config (the ``model_config`` of an ``.h5`` file, parsed JSON) corrected
    for Keras 3, and the list of corrections in words: ``(config, changes)``.

    Two differences are corrected. Keras 2 writes arguments Keras 3 refuses
    (:data:`KERAS2_EXTRA_KEYS`, only where their value is the one Keras 3 assumes). And Keras 2
    gives a model its own node 0 when it is built, so a model called inside another model is
    called at node 1; Keras 3 has no such node, and its legacy loader cannot find node 1
    ("nodes failed to be resolved"): every reference to a nested model's node ``i >= 1`` becomes
    ``i - 1``. The input is not modified.
    """
    import copy

    config = copy.deepcopy(config)
    changes = []

    def fix(obj):
        if not isinstance(obj, dict):
            return
        cls, cfg = obj.get("class_name"), obj.get("config")
        if not isinstance(cfg, dict):
            return
        for key in KERAS2_EXTRA_KEYS.get(cls, ()):
            if key in cfg and (key != "groups" or cfg[key] in (1, None)):
                cfg.pop(key)
                changes.append(f"{cls} {cfg.get('name')!r}: dropped {key!r}")
        if cls in _MODEL_CLASSES and isinstance(cfg.get("layers"), list):
            nested = {lay.get("config", {}).get("name", lay.get("name")) for lay in cfg["layers"]
                      if isinstance(lay, dict) and lay.get("class_name") in _MODEL_CLASSES}
            nested.discard(None)
            for lay in cfg["layers"]:
                fix(lay)
                if nested and cls != "Sequential":
                    _shift_nodes(lay.get("inbound_nodes"), nested, changes)
            if nested and cls != "Sequential":
                for key in ("output_layers", "input_layers"):
                    _shift_nodes([cfg.get(key)], nested, changes)

    fix(config)
    return config, changes


def _shift_nodes(nodes, nested, changes):
    """Node references ``[name, node_index, tensor_index, ...]`` to a nested model, one lower."""
    if not isinstance(nodes, list):
        return
    for ref in nodes:
        if isinstance(ref, list) and len(ref) >= 3 and isinstance(ref[0], str) \
                and isinstance(ref[1], int):
            if ref[0] in nested and ref[1] >= 1:
                ref[1] -= 1
                changes.append(f"nested model {ref[0]!r}: node {ref[1] + 1} -> {ref[1]}")
        else:
            _shift_nodes(ref, nested, changes)


def _read_keras2(path):
    """The model of Keras 2 ``.h5`` file ``path`` read through :func:`keras2_config`, or None when
    that changes nothing (the file's error is then another one). The corrected config goes into
    a temporary copy of the file: Keras 3 then reads the weights as it always does."""
    import json
    import shutil
    import tempfile

    import h5py

    try:
        with h5py.File(path, "r") as f:
            raw = f.attrs.get("model_config")
        if raw is None:
            return None
        config, changes = keras2_config(json.loads(raw.decode() if isinstance(raw, bytes)
                                                   else raw))
    except Exception:  # noqa: BLE001  (not an HDF5 file, or no JSON in it)
        return None
    if not changes:
        return None
    with tempfile.TemporaryDirectory(prefix="fer_keras_h5_") as tmp:
        copy = f"{tmp}/{path.stem}.h5"
        shutil.copyfile(path, copy)
        with h5py.File(copy, "r+") as f:
            f.attrs["model_config"] = json.dumps(config).encode()
        try:
            return keras.saving.load_model(copy, compile=False)
        except Exception:  # noqa: BLE001  (the caller reports the file's own error)
            return None


def _read_saved_model(path):
    """A TensorFlow SavedModel folder as a one-input Keras model (its serving signature)."""
    if keras.backend.backend() != "tensorflow":
        raise FerInputError("a TensorFlow SavedModel loads only on the TensorFlow backend; run "
                            "with KERAS_BACKEND=tensorflow, or convert it to .keras there with "
                            "fer_keras.models.load_classifier(...)[0].save('model.keras')",
                            file=path)
    import tensorflow as tf

    try:
        sig = tf.saved_model.load(str(path)).signatures["serving_default"]
        specs = sig.structured_input_signature[1]
        if len(specs) != 1:
            raise ValueError(f"{len(specs)} inputs")
        (key, spec), = specs.items()
        layer = keras.layers.TFSMLayer(str(path), call_endpoint="serving_default")
    except Exception as e:  # noqa: BLE001
        raise FerInputError(f"unreadable SavedModel ({' '.join(str(e).split())[:120]})",
                            file=path) from None
    inp = keras.Input(tuple(spec.shape[1:]), name=key)
    out = layer(inp)
    if isinstance(out, dict):
        if len(out) != 1:
            raise FerInputError(f"the SavedModel has {len(out)} outputs; a classifier has one",
                                file=path)
        out = next(iter(out.values()))
    return keras.Model(inp, out, name=path.name)

