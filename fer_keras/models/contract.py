"""The input contract: how a classifier wants its images and what its outputs mean.

fer_keras's own models take ``(48, 48, 1)`` grey levels in [0, 1] and give FER2013's seven class
probabilities. Models people already have differ: a published FER2013 classifier may take
``(64, 64, 1)`` scaled to [-1, 1], an ImageNet-style one ``(96, 96, 3)`` standardised by a mean
and standard deviation, a FER+/AffectNet one eight classes in another order, and some give logits.
:class:`InputContract` records all of that in one small frozen dataclass; :func:`infer` reads what
the model itself tells (input shape, a final softmax) and takes the rest as overrides
(``input_range=`` and ``classes=``, which the CLI's ``--input-range`` and ``--classes`` give;
:func:`from_options`).

Images enter the library in the project's standard form: uint8 grey levels 0..255 or float in
[0, 1], ``(N, h, w)`` or ``(N, h, w, 1)`` of any size (48x48 for FER2013).
:meth:`InputContract.prepare` maps them to the model's input (antialiased resize, grey replicated
to three channels, rescale); :meth:`InputContract.images01` does only the resize (the "image
space" the explanations work in, so that maps and ascent images stay viewable), and
:meth:`InputContract.to_model` only the channel and value mapping (in ``keras.ops``, so it is
differentiated through).

A contract is attached to a loaded model (:func:`attach`) so that every function that takes the
model finds it with :func:`of`; keyword overrides there (``input_range=``, ``classes=``) win.
"""
from __future__ import annotations

import json
import weakref
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from fer_keras import CLASS_NAMES
from fer_keras.errors import FerInputError

OUTPUTS = ("probabilities", "logits")
CONTRACT_FILE = "contract.json"

#: Other spellings of FER2013's class names (FER+, AffectNet, RAF-DB), lower case -> FER2013 name.
_ALIASES = {"anger": "angry", "disgusted": "disgust", "fearful": "fear", "scared": "fear",
            "happiness": "happy", "joy": "happy", "sadness": "sad", "surprised": "surprise",
            "calm": "neutral"}


def _canonical(name):
    n = str(name).strip().lower()
    return _ALIASES.get(n, n)


@dataclass(frozen=True)
class InputContract:
    """How a model wants its images and what its output means.

    ``height``, ``width``, ``channels`` (1 grey or 3 RGB; grey images are replicated);
    ``input_range`` ``(low, high)``: the model's value for black and for white (``(0, 1)``,
    ``(-1, 1)``, ``(0, 255)``), or, when ``mean`` and ``std`` are given (per channel or one value,
    on the [0, 1] scale), ``(x - mean) / std`` instead; ``classes``: class names in the model's
    output order; ``outputs``: ``"probabilities"`` (a final softmax) or ``"logits"``.
    """

    height: int = 48
    width: int = 48
    channels: int = 1
    input_range: tuple = (0.0, 1.0)
    mean: tuple | None = None
    std: tuple | None = None
    classes: tuple = CLASS_NAMES
    outputs: str = "probabilities"

    def __post_init__(self):
        for f in ("height", "width"):
            v = getattr(self, f)
            if not isinstance(v, (int, np.integer)) or v < 1:
                raise FerInputError(f"input {f} must be a positive integer, got {v!r}")
        if self.channels not in (1, 3):
            raise FerInputError(f"the model takes {self.channels}-channel images; only grey (1) "
                                "or RGB (3) images are supported")
        lo, hi = self.input_range
        if not np.isfinite([lo, hi]).all() or not lo < hi:
            raise FerInputError(f"input range must be LOW,HIGH with LOW < HIGH, got {lo},{hi}",
                                entry="--input-range")
        if (self.mean is None) != (self.std is None):
            raise FerInputError("give both mean and std, or neither")
        if self.std is not None and (min(self.std) <= 0 or len(self.std) not in (1, self.channels)
                                     or len(self.mean) != len(self.std)):
            raise FerInputError(f"std must be positive, one value or one per channel "
                                f"({self.channels}); got mean {self.mean}, std {self.std}")
        if self.outputs not in OUTPUTS:
            raise FerInputError(f"outputs must be one of {', '.join(OUTPUTS)}, got "
                                f"{self.outputs!r}")
        names = [_canonical(c) for c in self.classes]
        if len(names) < 2 or len(set(names)) != len(names) or not all(names):
            raise FerInputError(f"class names must be two or more distinct names, got "
                                f"{','.join(map(str, self.classes))}", entry="--classes")

    # ------------------------------------------------------------------ properties
    @property
    def size(self):
        return (self.height, self.width)

    @property
    def num_classes(self):
        return len(self.classes)

    @property
    def is_identity(self):
        """True when the model takes the images as they are (grey, [0, 1]): no mapping at all."""
        return (self.channels == 1 and self.mean is None
                and tuple(map(float, self.input_range)) == (0.0, 1.0))

    # ------------------------------------------------------------------ images
    def images01(self, images):
        """float32 ``(N, height, width, c)`` in [0, 1], ``c`` = 1 (or ``channels`` when the images
        already have them): uint8 0..255 or float [0, 1] images of any size, ``(N, h, w)``,
        ``(N, h, w, 1)``, ``(h, w)``, or ``(N, h, w, 3)`` for an RGB model; resized with
        antialiasing (bilinear) when their size differs from the model's."""
        a = np.asarray(images)
        if a.ndim == 2:
            a = a[None]
        if a.ndim == 3:
            a = a[..., None]
        if a.ndim != 4 or a.shape[-1] not in {1, self.channels}:
            want = "(N, h, w) or (N, h, w, 1)" + (" or (N, h, w, 3)" if self.channels == 3 else "")
            raise FerInputError(f"expected grey images of shape {want}, got {a.shape}")
        if a.dtype == np.uint8:
            a = a.astype(np.float32) / np.float32(255.0)
        else:
            a = a.astype(np.float32)
            if a.size and (a.min() < -1e-3 or a.max() > 1 + 1e-3):
                raise FerInputError(f"float images must be in [0, 1] (got values in "
                                    f"[{a.min():.3g}, {a.max():.3g}]); pass 0..255 images as "
                                    "uint8")
        if a.shape[1:3] != self.size and len(a):
            import keras

            out = [keras.ops.convert_to_numpy(keras.ops.image.resize(
                a[lo:lo + 512], self.size, interpolation="bilinear", antialias=True))
                for lo in range(0, len(a), 512)]
            a = np.clip(np.concatenate(out), 0.0, 1.0).astype(np.float32)
        elif a.shape[1:3] != self.size:
            a = np.zeros((0,) + self.size + a.shape[3:], np.float32)
        return a

    def to_model(self, x):
        """The model's input from ``images01`` output ``x`` ``(N, H, W, 1 or C)``: grey replicated
        to the model's channels, then rescaled. ``keras.ops`` (differentiable) on tensors; numpy
        float32 in, numpy out."""
        if self.is_identity:
            return x
        import keras

        ops = keras.ops
        is_np = isinstance(x, np.ndarray)
        if self.channels == 3 and x.shape[-1] == 1:
            x = ops.concatenate([x, x, x], axis=-1)
        if self.mean is not None:
            x = (x - np.asarray(self.mean, np.float32)) / np.asarray(self.std, np.float32)
        else:
            lo, hi = (float(v) for v in self.input_range)
            if (lo, hi) != (0.0, 1.0):
                x = x * np.float32(hi - lo) + np.float32(lo)
        return keras.ops.convert_to_numpy(x).astype(np.float32) if is_np else x

    def prepare(self, images):
        """float32 ``(N, height, width, channels)``: ``images`` (see :meth:`images01`) as the
        model's input."""
        return np.asarray(self.to_model(self.images01(images)), np.float32)

    # ------------------------------------------------------------------ outputs
    def probabilities(self, out):
        """Class probabilities ``(N, K)`` in the model's order from its raw output (softmax of
        logits)."""
        out = np.asarray(out, np.float64)
        if self.outputs == "logits":
            out = np.exp(out - out.max(axis=1, keepdims=True))
            out /= out.sum(axis=1, keepdims=True)
        return out.astype(np.float32)

    def fer_columns(self):
        """int64 ``(7,)``: for each FER2013 class, the model's output index of that class, or -1
        when the model has no such class (names matched case-insensitively, with the usual
        aliases: happiness, anger, sadness, surprised, ...)."""
        own = {_canonical(c): i for i, c in enumerate(self.classes)}
        return np.asarray([own.get(_canonical(c), -1) for c in CLASS_NAMES], np.int64)

    def to_fer(self, probs):
        """``(N, K)`` model-order probabilities as float32 ``(N, 7)`` in FER2013's order
        (``fer_keras.CLASS_NAMES``); a class the model lacks gets 0, a class FER2013 lacks
        (contempt) is dropped, and each row is renormalised to sum to 1."""
        probs = np.asarray(probs, np.float32)
        cols = self.fer_columns()
        if (cols < 0).all():
            raise FerInputError(f"none of the model's classes ({', '.join(self.classes)}) is a "
                                f"FER2013 class ({', '.join(CLASS_NAMES)})", entry="--classes")
        out = np.where(cols[None] >= 0, probs[:, np.maximum(cols, 0)], 0).astype(np.float32)
        total = out.sum(axis=1, keepdims=True)
        return np.where(total > 0, out / np.where(total > 0, total, 1), 1 / 7).astype(np.float32)

    def from_fer(self, labels):
        """FER2013 class indices ``(N,)`` as the model's output indices (int32); a class the
        model does not have is a :class:`FerInputError`."""
        labels = np.asarray(labels, np.int64).reshape(-1)
        cols = self.fer_columns()
        missing = sorted({CLASS_NAMES[int(i)] for i in labels if cols[int(i)] < 0})
        if missing:
            raise FerInputError(f"the model has no class {', '.join(missing)} (its classes: "
                                f"{', '.join(self.classes)})", entry="--classes")
        return cols[labels].astype(np.int32)

    # ------------------------------------------------------------------ files
    def to_json(self):
        d = asdict(self)
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}

    @classmethod
    def from_json(cls, d, file=None):
        try:
            d = dict(d)
            for k in ("input_range", "mean", "std", "classes"):
                if d.get(k) is not None:
                    d[k] = tuple(d[k])
            return cls(**d)
        except (TypeError, ValueError) as e:
            raise FerInputError(f"not a valid input contract ({e})", file=file) from None

    def save(self, path):
        from fer_keras.fileio import write_json

        write_json(path, self.to_json())


# ---------------------------------------------------------------------- parsing overrides
def parse_range(text):
    """``"LOW,HIGH"`` (or a pair) as ``(float, float)``."""
    if isinstance(text, str):
        parts = text.replace(" ", "").split(",")
    else:
        parts = list(text)
    try:
        if len(parts) != 2:
            raise ValueError
        lo, hi = float(parts[0]), float(parts[1])
    except (TypeError, ValueError):
        raise FerInputError(f"expected LOW,HIGH (e.g. --input-range=-1,1), got {text!r}",
                            entry="--input-range") from None
    if not (np.isfinite([lo, hi]).all() and lo < hi):
        raise FerInputError(f"expected LOW < HIGH, got {text!r}", entry="--input-range")
    return (lo, hi)


def parse_classes(text):
    """``"NAME,NAME,..."`` (or a sequence of names) as a tuple of names."""
    names = text.split(",") if isinstance(text, str) else list(text)
    names = tuple(str(n).strip() for n in names)
    if len(names) < 2 or not all(names):
        raise FerInputError(f"expected two or more comma-separated class names, got {text!r}",
                            entry="--classes")
    return names


# ---------------------------------------------------------------------- from the model
def _final_softmax(model):
    """True when the model's last operation is a softmax (an ``Activation``/``Softmax`` layer or
    a layer whose own activation is softmax), followed into nested models."""
    layer = model
    while getattr(layer, "layers", None):
        layer = layer.layers[-1]
    act = getattr(layer, "activation", None)
    name = getattr(act, "__name__", "") if act is not None else ""
    return name == "softmax" or type(layer).__name__ == "Softmax"


def infer(model, input_range=None, classes=None, mean=None, std=None, outputs=None,
          channels=None, height=None, width=None, file=None):
    """The contract of ``model``: input size and channels from its input shape, ``outputs`` from
    a final softmax, FER2013's classes for seven outputs; the keyword arguments override (a
    ``channels``/``height``/``width`` that contradicts the model, or ``classes`` of another count
    than its outputs, is a :class:`FerInputError` naming ``file``)."""
    shape = getattr(model, "input_shape", None)
    if isinstance(shape, list):
        if len(shape) != 1:
            raise FerInputError(f"the model has {len(shape)} inputs; a classifier of images takes "
                                "one", file=file)
        shape = shape[0]
    if shape is None or len(shape) != 4:
        raise FerInputError(f"the model's input has shape {shape}; expected images "
                            "(batch, height, width, channels)", file=file)
    _, h, w, c = shape
    for flag, given, own in (("channels", channels, c), ("height", height, h),
                             ("width", width, w)):
        if given is not None and own is not None and int(given) != int(own):
            raise FerInputError(f"the model takes {own} {flag}, not {given}", file=file)
    h, w = h or height or 48, w or width or 48
    c = c or channels or 1
    out_shape = getattr(model, "output_shape", None)
    if isinstance(out_shape, list) or out_shape is None or len(out_shape) != 2 \
            or not out_shape[-1] or out_shape[-1] < 2:
        raise FerInputError(f"the model's output has shape {out_shape}; expected a class vector "
                            "(batch, classes)", file=file)
    k = int(out_shape[-1])
    if classes is not None:
        classes = parse_classes(classes)
        if len(classes) != k:
            raise FerInputError(f"--classes names {len(classes)} classes but the model has {k} "
                                "outputs", file=file)
    elif k == len(CLASS_NAMES):
        classes = CLASS_NAMES
    else:
        raise FerInputError(f"the model has {k} outputs, not FER2013's 7; name them in output "
                            "order with --classes NAME,NAME,...", file=file)
    kw = {}
    if input_range is not None:
        kw["input_range"] = parse_range(input_range)
    if mean is not None or std is not None:
        kw["mean"] = tuple(np.atleast_1d(np.asarray(mean, float)).tolist()) if mean is not None \
            else None
        kw["std"] = tuple(np.atleast_1d(np.asarray(std, float)).tolist()) if std is not None \
            else None
    outputs = outputs or ("probabilities" if _final_softmax(model) else "logits")
    try:
        return InputContract(height=int(h), width=int(w), channels=int(c), classes=classes,
                             outputs=outputs, **kw)
    except FerInputError as e:
        raise FerInputError(e.problem, file=file, entry=e.entry) from None


# ---------------------------------------------------------------------- attached to a model
_ATTACHED = weakref.WeakKeyDictionary()


def attach(model, contract):
    """Record ``contract`` as ``model``'s (read back by :func:`of`); returns ``model``."""
    _ATTACHED[model] = contract
    return model


def of(model, contract=None, input_range=None, classes=None):
    """``model``'s contract: ``contract`` if given, else the attached one (:func:`attach`, done
    by :func:`fer_keras.models.load_classifier`), else :func:`infer`; ``input_range`` and
    ``classes`` override."""
    c = contract or _ATTACHED.get(model)
    if c is None:
        c = infer(model, input_range=input_range, classes=classes)
    else:
        if input_range is not None:
            c = replace(c, input_range=parse_range(input_range), mean=None, std=None)
        if classes is not None:
            names = parse_classes(classes)
            if len(names) != c.num_classes:
                raise FerInputError(f"--classes names {len(names)} classes but the model has "
                                    f"{c.num_classes} outputs")
            c = replace(c, classes=names)
    return c


def record(run_dir, model, **overrides):
    """Write ``model``'s contract (:func:`infer`, with ``overrides``) as ``contract.json`` in
    ``run_dir`` (done by ``fer-keras train``), so that nothing needs to be given for the run's
    models later; returns the contract."""
    c = infer(model, **overrides)
    c.save(Path(run_dir) / CONTRACT_FILE)
    return c


def load_for(model_path):
    """The contract recorded next to a model file (``contract.json`` in its run folder), or
    ``None``."""
    p = Path(model_path)
    f = (p if p.is_dir() else p.parent) / CONTRACT_FILE
    if not f.is_file():
        return None
    try:
        d = json.loads(f.read_text())
    except (OSError, ValueError) as e:
        raise FerInputError(f"unreadable input contract ({e})", file=f) from None
    return InputContract.from_json(d, file=f)


def from_options(model, input_range=None, classes=None, file=None):
    """The contract for ``model``, attached to it (:func:`attach`) and returned: the one already
    attached, else the one recorded next to ``file`` (:func:`load_for`), with ``input_range``
    (``"-1,1"`` or a pair) and ``classes`` (``"a,b,..."`` or names) applied; without either, the
    inferred one (:func:`infer`). A contract that does not fit the model is a one-line
    :class:`FerInputError` naming ``file``."""
    recorded = _ATTACHED.get(model) or (load_for(file) if file else None)
    try:
        if recorded is None:
            c = infer(model, input_range=input_range, classes=classes, file=file)
        else:
            c = of(model, recorded, input_range, classes)
    except FerInputError as e:
        if e.file is None and file is not None:
            raise FerInputError(e.problem, file=file, entry=e.entry) from None
        raise
    attach(model, c)
    return c
