"""Shared plumbing of the explanation methods: the model as a stack of layers, input
normalisation, layer lookup with helpful errors, and one backend-specific gradient helper.

Every fer_keras model is a ``keras.Sequential`` of named layers ending in ``Dense(7,
name="logits")`` and ``Activation("softmax", name="predictions")``. Treating it as a plain list
of layers lets us run any prefix (up to a chosen layer) or suffix (from a layer to the logits) of
the network, which is all that saliency, Grad-CAM, gradient ascent and feature extraction need,
and it works the same on every Keras backend: only the gradient itself is backend-specific
(``tf.GradientTape`` under TensorFlow, ``jax.value_and_grad`` under JAX), in :func:`compile_grad`.
"""
from __future__ import annotations

import weakref

import keras
import numpy as np

from fer_keras.errors import FerInputError

IMAGE_SHAPE = (48, 48, 1)
_SUPPORTED_BACKENDS = ("tensorflow", "jax")
_ELEMENTWISE = ("Activation", "ReLU", "LeakyReLU", "ELU", "PReLU", "BatchNormalization",
                "BatchNorm")
_CONV = ("Conv2D", "SeparableConv2D", "DepthwiseConv2D", "Conv2DTranspose")


# --------------------------------------------------------------------------- inputs
def as_batch(images):
    """Images as float32 ``(N, 48, 48, 1)`` in [0, 1].

    Accepts uint8 ``(N, 48, 48)`` / ``(48, 48)`` grey levels or float ``(N, 48, 48, 1)`` /
    ``(N, 48, 48)`` / ``(48, 48)`` already in [0, 1].
    """
    a = np.asarray(images)
    if a.ndim == 2:
        a = a[None]
    if a.ndim == 3:
        a = a[..., None]
    if a.ndim != 4 or a.shape[-1] != 1:
        raise FerInputError(f"expected grey images of shape (N, 48, 48) or (N, 48, 48, 1), "
                            f"got {a.shape}")
    if a.dtype == np.uint8:
        return a.astype(np.float32) / np.float32(255.0)
    a = a.astype(np.float32)
    if a.size and (a.min() < -1e-3 or a.max() > 1 + 1e-3):
        raise FerInputError(f"float images must be in [0, 1] (got values in "
                            f"[{a.min():.3g}, {a.max():.3g}]); pass uint8 0..255 images as uint8")
    return a


def as_image(image):
    """One image as float32 ``(48, 48, 1)`` in [0, 1] (see :func:`as_batch`)."""
    a = np.asarray(image)
    if a.ndim == 4 and a.shape[0] == 1:
        a = a[0]
    b = as_batch(a)
    if len(b) != 1:
        raise FerInputError(f"expected one image, got a batch of {len(b)}")
    return b[0]


def check_backend(feature):
    backend = keras.backend.backend()
    if backend not in _SUPPORTED_BACKENDS:
        raise FerInputError(f"{feature} supports the tensorflow and jax Keras backends, not "
                            f"{backend!r}; set KERAS_BACKEND=tensorflow")
    return backend


# --------------------------------------------------------------------------- the layer stack
def layer_stack(model):
    """The model's layers in call order, nested ``Sequential`` s flattened (e.g. a training
    checkpoint ``Sequential([augment, net])``), input layers left out."""
    if not isinstance(model, keras.Sequential):
        _check_linear(model)
    out = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.Sequential):
            out += layer_stack(layer)
        else:
            out.append(layer)
    return out


def _check_linear(model):
    """A functional model is accepted only if its layers form a chain (what fer_keras builds)."""
    prev = None
    try:
        for layer in model.layers:
            if isinstance(layer, keras.layers.InputLayer):
                prev = layer.output
                continue
            if prev is not None and layer.input is not prev:
                raise ValueError
            prev = layer.output
    except (ValueError, AttributeError):
        raise FerInputError(f"model {model.name!r} is not a chain of layers; explanations need a "
                            "keras.Sequential (as every fer_keras model is)") from None


def layer_names(model):
    return [layer.name for layer in layer_stack(model)]


def logits_index(stack):
    """Index of the layer whose output is the pre-softmax class score.

    The layer named ``logits`` when there is one (every fer_keras model); else the layer before a
    final softmax ``Activation``; else the last layer (its output is then taken as the score).
    Gradients of the pre-softmax score are used because the softmax couples the classes: the
    gradient of a probability also points away from the other classes' evidence, and it vanishes
    when the model is confident (Simonyan et al. 2013, section 3; Selvaraju et al. 2017).
    """
    for i, layer in enumerate(stack):
        if layer.name == "logits":
            return i
    last = stack[-1]
    if type(last).__name__ == "Activation" and getattr(last.activation, "__name__", "") == "softmax":
        return len(stack) - 2
    return len(stack) - 1


def run_layers(layers, x):
    for layer in layers:
        x = layer(x, training=False)
    return x


_SHAPES = weakref.WeakKeyDictionary()


def output_shapes(model):
    """``{layer name: output shape without the batch axis}``, from one forward pass of a
    zero image (robust whether or not the model was built symbolically)."""
    shapes = _SHAPES.get(model)
    if shapes is None:
        x = keras.ops.zeros((1,) + tuple(model.input_shape[1:]))
        shapes = {}
        for layer in layer_stack(model):
            x = layer(x, training=False)
            shapes[layer.name] = tuple(int(d) for d in x.shape[1:])
        _SHAPES[model] = shapes
    return shapes


def conv_layer_names(model):
    """Names of the convolution layers, in order."""
    return [layer.name for layer in layer_stack(model) if type(layer).__name__ in _CONV]


def spatial_layer_names(model):
    """Names of the layers with a spatial (``(h, w, c)``) output, in order."""
    return [name for name, s in output_shapes(model).items() if len(s) == 3]


def first_conv_layer(model):
    """Name of the first convolution layer (HW4 Q2 / Q4: "the first layer")."""
    names = conv_layer_names(model)
    if not names:
        raise FerInputError(f"model {model.name!r} has no convolution layer; its layers: "
                            f"{', '.join(layer_names(model))}")
    return names[0]


def last_hidden_layer(model):
    """Name of the layer just before the logits (HW4 Q4: "the last layer" for t-SNE)."""
    stack = layer_stack(model)
    i = logits_index(stack)
    if i == 0:
        raise FerInputError(f"model {model.name!r} has no hidden layer before its logits")
    return stack[i - 1].name


def gradcam_layer(model):
    """Default Grad-CAM layer: the output of the last convolution after its elementwise
    followers (BN, activation), i.e. the last rectified feature maps before pooling.

    Selvaraju et al. 2017 use the last convolutional layer because it keeps spatial detail while
    holding the highest-level features; taking the activation after it (not the raw conv output)
    is what Grad-CAM's ReLU-weighted sum assumes.
    """
    stack = layer_stack(model)
    convs = [i for i, layer in enumerate(stack) if type(layer).__name__ in _CONV]
    if not convs:
        raise FerInputError(f"Grad-CAM needs a convolution layer, and model {model.name!r} has "
                            f"none; its layers: {', '.join(layer_names(model))}")
    return _rectified(stack, convs[-1])


def _rectified(stack, i):
    """Name of the last of the elementwise layers (BN, activation) that follow layer ``i``."""
    while i + 1 < len(stack) and type(stack[i + 1]).__name__ in _ELEMENTWISE:
        i += 1
    return stack[i].name


def first_activation_layer(model):
    """The first convolution's output after its BN and activation (HW4 Q2's "first activation
    layer"), the default layer for gradient ascent and feature maps."""
    stack = layer_stack(model)
    names = [layer.name for layer in stack]
    return _rectified(stack, names.index(first_conv_layer(model)))


def layer_index(model, name, need_spatial=False, what="layer"):
    """Index of layer ``name`` in :func:`layer_stack`, or a one-line :class:`FerInputError`
    listing the valid names (only those with a spatial output when ``need_spatial``)."""
    stack = layer_stack(model)
    names = [layer.name for layer in stack]
    valid = spatial_layer_names(model) if need_spatial else names[:logits_index(stack) + 1]
    if name not in valid:
        kind = "layer with a spatial (h, w, c) output" if need_spatial else "layer"
        problem = "unknown layer" if name not in names else f"{what} needs a {kind}, not"
        raise FerInputError(f"{problem} {name!r}; valid layer names: {', '.join(valid)}",
                            entry="--layer")
    return names.index(name)


# --------------------------------------------------------------------------- compiled functions
# Compiled functions are cached per model (weakly, so a dropped model frees its graphs) and stay
# right when the weights change: a tf.function reads the variables by reference, and under JAX
# the variables' current values are passed in on every call and substituted with a
# StatelessScope (jit would otherwise bake the weights in as constants at trace time).
_CACHE = weakref.WeakKeyDictionary()


def cached(model, key, build):
    """``build()`` once per ``(model, key)``."""
    per_model = _CACHE.setdefault(model, {})
    if key not in per_model:
        per_model[key] = build()
    return per_model[key]


def cached_forward(model, key, fn):
    """:func:`compile_forward` of ``fn`` over ``model``'s variables, cached under ``key``."""
    return cached(model, ("forward",) + tuple(key), lambda: compile_forward(fn, model))


def cached_grad(model, key, fn):
    """:func:`compile_grad` of ``fn`` over ``model``'s variables, cached under ``key``."""
    return cached(model, ("grad",) + tuple(key), lambda: compile_grad(fn, model))


def _jax_stateless(fn, model):
    """``fn`` as a pure function of (the model's variable values, *args), and the values."""
    variables = list(model.variables) if model is not None else []

    def pure(values, *args):
        with keras.StatelessScope(state_mapping=list(zip(variables, values))):
            return fn(*args)

    return pure, lambda: [v.value for v in variables]


def _tf_function(fn):
    """``tf.function`` whose signature, fixed on the first call, leaves the batch axis free: one
    graph serves every batch size (the last, shorter batch; LIME's 1,000 samples) instead of a
    retrace per new shape."""
    import tensorflow as tf

    _quiet_retracing_warning()
    state = {}

    def call(*arrays):
        arrays = [np.asarray(a) for a in arrays]
        if "g" not in state:
            sig = [tf.TensorSpec((None,) + a.shape[1:], tf.as_dtype(a.dtype)) for a in arrays]
            state["g"] = tf.function(fn, input_signature=sig)
        return state["g"](*arrays)

    return call


_OURS = ("predict_layer.<locals>", "predict_proba.<locals>", "compile_grad.<locals>")


class _RetracingFilter:
    """Drops TensorFlow's "triggered tf.function retracing" warning for our own functions:
    TF counts traces per Python code object, so one graph per (model, layer) - each traced
    exactly once - reads to it as retracing."""

    def filter(self, record):
        msg = record.getMessage()
        return not ("tf.function retracing" in msg and any(o in msg for o in _OURS))


def _quiet_retracing_warning():
    import logging

    logger = logging.getLogger("tensorflow")
    if not any(isinstance(f, _RetracingFilter) for f in logger.filters):
        logger.addFilter(_RetracingFilter())


def compile_forward(fn, model=None):
    """``fn(*tensors) -> tensor`` compiled for the backend; the result takes and returns numpy.
    ``model``: whose variables ``fn`` reads (needed under JAX to keep them up to date)."""
    backend = check_backend("this explanation")
    if backend == "tensorflow":
        g = _tf_function(fn)
        return lambda *a: g(*a).numpy()
    import jax

    pure, values = _jax_stateless(fn, model)
    g = jax.jit(pure)
    return lambda *a: np.asarray(g(values(), *a))


def compile_grad(score_fn, model=None):
    """Compile ``score_fn(x, *args) -> (N,) scores`` into ``g(x, *args) -> (scores, grads)``.

    ``grads`` is the gradient of ``sum(scores)`` with respect to ``x`` (numpy, ``x``'s shape): as
    each score depends only on its own sample, that is every sample's own gradient, for a whole
    batch in one backward pass. ``args`` (labels, filter indices, transforms) are not
    differentiated. ``model``: whose variables ``score_fn`` reads (see :func:`compile_forward`).
    """
    backend = check_backend("gradient-based explanation")
    if backend == "tensorflow":
        import tensorflow as tf

        def fwd_bwd(x, *args):
            with tf.GradientTape() as tape:
                tape.watch(x)
                s = score_fn(x, *args)
            return s, tape.gradient(s, x)

        g = _tf_function(fwd_bwd)

        def run(x, *args):
            s, d = g(x, *args)
            return s.numpy(), d.numpy()

        return run
    import jax
    import jax.numpy as jnp

    pure, values = _jax_stateless(score_fn, model)

    def total(x, vals, *args):
        s = pure(vals, x, *args)
        return jnp.sum(s), s

    vg = jax.jit(jax.value_and_grad(total, has_aux=True))

    def run(x, *args):
        (_, s), d = vg(jnp.asarray(x), values(), *[jnp.asarray(a) for a in args])
        return np.asarray(s), np.asarray(d)

    return run


def class_score(logits, labels):
    """The per-sample score of class ``labels[i]``: ``(N,)`` from ``(N, 7)`` logits."""
    ops = keras.ops
    logits = ops.cast(logits, "float32")
    onehot = ops.one_hot(ops.cast(labels, "int32"), ops.shape(logits)[-1])
    return ops.sum(logits * onehot, axis=-1)


def predict_layer(model, name, images, batch_size=256):
    """Output of layer ``name`` for ``images`` as float32 ``(N, ...)``, in batches."""
    stack = layer_stack(model)
    i = [layer.name for layer in stack].index(name)
    head = stack[:i + 1]
    fwd = cached_forward(model, ("layer", name),
                         lambda x: keras.ops.cast(run_layers(head, x), "float32"))
    x = as_batch(images)
    outs = [fwd(x[lo:lo + batch_size]) for lo in range(0, len(x), batch_size)]
    return np.concatenate(outs).astype(np.float32) if outs else np.zeros((0,), np.float32)


def predict_proba(model, images, batch_size=256):
    """The model's output (class probabilities) float32 ``(N, 7)``, compiled and batched
    (faster than ``model.predict`` for the many small calls LIME and the checks make)."""
    fwd = cached_forward(model, ("proba",),
                         lambda x: keras.ops.cast(model(x, training=False), "float32"))
    x = as_batch(images)
    outs = [fwd(x[lo:lo + batch_size]) for lo in range(0, len(x), batch_size)]
    return np.concatenate(outs).astype(np.float32)


def normalize_maps(maps):
    """Scale each map to [0, 1] by its own min and max; a constant map becomes all zeros."""
    maps = np.asarray(maps, np.float32)
    flat = maps.reshape(len(maps), -1)
    lo = flat.min(axis=1, keepdims=True)
    span = flat.max(axis=1, keepdims=True) - lo
    out = np.where(span > 0, (flat - lo) / np.where(span > 0, span, 1), 0)
    return out.reshape(maps.shape).astype(np.float32)


def progress(iterable, enabled, desc, total=None):
    """A tqdm progress bar when asked for and available, else the bare iterable."""
    if not enabled:
        return iterable
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, desc=desc, total=total, leave=False)
