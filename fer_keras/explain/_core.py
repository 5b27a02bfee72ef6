"""Shared plumbing of the explanation methods: the model as one traced graph, input
normalisation through the model's input contract, layer lookup with helpful errors, and one
backend-specific gradient helper.

Any Keras classifier is explained: ``Sequential``, functional graphs with branches and merges
(residual adds, concatenations, separable and depthwise convolutions) and models nested in
models. :class:`Graph` calls the model's leaf layers once on a symbolic input (recursing into
nested models), recording every layer's output, to learn the layer names, shapes and which layers
the class score depends on. Intermediate outputs are then taken by running the same trace on the
real batch (:meth:`Graph.run`) and keeping the outputs asked for, as PyTorch's forward hooks do:
no new ``keras.Model`` is built over the user's layers, so nothing can clash with their names
(Keras 3 refuses a model with two operations of one name: a user layer called ``add`` and
the ``a + delta`` of a hook, MobileNetV3's ``x + 3``, the same name at two nesting levels).
Gradients with respect to an intermediate output (Grad-CAM) are gradients with respect to a zero
tensor added to it by such a hook, which works the same on every backend: only the gradient
itself is backend-specific (``tf.GradientTape`` under TensorFlow, ``jax.value_and_grad`` under
JAX), in :func:`compile_grad`.

The class score is the pre-softmax score (:attr:`Graph.score_source` says which was used): the
input of a final softmax ``Activation``/``Softmax``, or, when the softmax is fused into the last
``Dense``/``Conv`` layer, that layer rebuilt with a linear activation and the same weights (as
tf-keras-vis's ``ReplaceToLinear``), or the model's output when it has no final softmax.

Images are given in the project's form (uint8 0..255 or float in [0, 1], grey, any size) and
explained in "image space": grey (or the model's channels) in [0, 1] at the model's input
resolution (:func:`as_batch`); the contract's channel and value mapping is applied inside the
compiled functions, so gradients, maps and ascent images are all at the model's resolution and
viewable as images.
"""
from __future__ import annotations

import weakref

import keras
import numpy as np

from fer_keras.errors import FerInputError

# the traced graph lives in _graph; its names stay importable here
from fer_keras.explain._graph import Graph
from fer_keras.models import contract as _contract

_SUPPORTED_BACKENDS = ("tensorflow", "jax")
_ELEMENTWISE = ("Activation", "ReLU", "LeakyReLU", "ELU", "PReLU", "BatchNormalization",
                "BatchNorm")
_CONV = ("Conv2D", "SeparableConv2D", "DepthwiseConv2D", "Conv2DTranspose")


# --------------------------------------------------------------------------- inputs
def as_batch(images, model=None, contract=None):
    """Images as float32 ``(N, H, W, c)`` in [0, 1] ("image space").

    Accepts uint8 grey levels or float images in [0, 1], ``(N, h, w)`` / ``(N, h, w, 1)`` /
    ``(h, w)``. Without a model: as given (grey only). With ``model`` (or ``contract``): resized
    with antialiasing to the model's input size ``(H, W)``; ``c`` is 1, or the model's channels
    when the images have them already (see :meth:`fer_keras.models.contract.InputContract.images01`).
    """
    if model is None and contract is None:
        a = np.asarray(images)
        if a.ndim == 2:
            a = a[None]
        if a.ndim == 3:
            a = a[..., None]
        if a.ndim != 4 or a.shape[-1] != 1:
            raise FerInputError(f"expected grey images of shape (N, 48, 48) or (N, 48, 48, 1), "
                                f"got {a.shape}")
        contract = _contract.InputContract(height=a.shape[1] or 1, width=a.shape[2] or 1)
    return (contract or _contract.of(model)).images01(images)


def masks_at(model, masks, contract=None):
    """Ground-truth masks bool ``(N, h, w)`` at the model's input resolution ``(N, H, W)``
    (resized like the images, then thresholded at one half), to compare with its maps."""
    m = np.asarray(masks, bool).astype(np.float32)
    return as_batch(m, model, contract)[..., 0] > 0.5


def as_image(image, model=None, contract=None):
    """One image as float32 ``(H, W, c)`` in [0, 1] (see :func:`as_batch`)."""
    a = np.asarray(image)
    if a.ndim == 4 and a.shape[0] == 1:
        a = a[0]
    if a.ndim == 3 and a.shape[-1] not in (1, 3):
        raise FerInputError(f"expected one image, got a batch of {len(a)}")
    b = as_batch(a, model, contract)
    if len(b) != 1:
        raise FerInputError(f"expected one image, got a batch of {len(b)}")
    return b[0]


def resolve(model, contract=None, input_range=None, classes=None):
    """``(model, contract)`` for the explanation API: ``model`` a Keras model or a model path
    (:func:`fer_keras.models.load_classifier`); ``contract`` given, attached or inferred, with
    ``input_range`` / ``classes`` overriding (see :func:`fer_keras.models.contract.of`)."""
    import os

    if isinstance(model, (str, os.PathLike)):
        from fer_keras.models.loading import load_classifier

        model, own = load_classifier(model, input_range=input_range, classes=classes)
        return model, contract or own
    return model, _contract.of(model, contract, input_range, classes)


def share_contract(model, other):
    """Give ``other`` (e.g. a re-initialised copy of ``model``) ``model``'s attached contract."""
    own = _contract._ATTACHED.get(model)
    if own is not None:
        _contract.attach(other, own)
    return other


def check_backend(feature):
    backend = keras.backend.backend()
    if backend not in _SUPPORTED_BACKENDS:
        raise FerInputError(f"{feature} supports the tensorflow and jax Keras backends, not "
                            f"{backend!r}; set KERAS_BACKEND=tensorflow")
    return backend


# --------------------------------------------------------------------------- the traced graph
def graph(model, contract=None):
    """The :class:`Graph` of ``model`` at its contract's input shape (the model's own when it
    is fully known and no contract is given: the graph needs no class names), cached per
    model."""
    shape = tuple(getattr(model, "input_shape", None) or ())[1:]
    if contract is not None or len(shape) != 3 or None in shape:
        c = contract or _contract.of(model)
        shape = c.size + (c.channels,)
    return cached(model, ("graph", tuple(shape)), lambda: Graph(model, shape))


def _delta_graph(model, contract, name):
    """A function ``f([x, delta], training=False) -> [A, score]`` where layer ``name``'s output
    ``A`` is replaced by ``A + delta`` on the way to the score: d score / d delta at
    ``delta = 0`` is d score / d A, on any backend. The hook is a plain function run on the
    real tensors (:meth:`Graph.run`), no layer, so it adds no name to the model."""
    c = contract or _contract.of(model)
    g = graph(model, c)
    g.output_shape(name)  # an unknown layer fails here, in one line

    def f(inputs, training=False):
        x, delta = inputs
        return g.run(x, [name], score=True,
                     hooks={name: lambda a: a + keras.ops.cast(delta, a.dtype)})

    return f


def layer_names(model, contract=None):
    return list(graph(model, contract).names)


def output_shapes(model, contract=None):
    """``{layer name: output shape without the batch axis}``."""
    g = graph(model, contract)
    return {n: g.output_shape(n) for n in g.names}


def score_source(model, contract=None):
    """Which class score the explanations differentiate, in words (see :class:`Graph`)."""
    return graph(model, contract).score_source


def _convs(g):
    return [n for n in g.names if g.calls[n].kind in _CONV and n in g.depends]


def conv_layer_names(model, contract=None):
    """Names of the convolution layers the score depends on, in order."""
    return _convs(graph(model, contract))


def spatial_layer_names(model, contract=None):
    """Names of the layers with a spatial (``(h, w, c)``) output the score depends on."""
    g = graph(model, contract)
    return [n for n in g.names if n in g.depends and len(g.output_shape(n)) == 3]


def _list(names, k=40):
    return ", ".join(names[:k]) + (f", ... ({len(names)} in all)" if len(names) > k else "")


def first_conv_layer(model, contract=None):
    """Name of the first convolution layer (HW4 Q2 / Q4: "the first layer")."""
    names = conv_layer_names(model, contract)
    if not names:
        raise FerInputError(f"model {model.name!r} has no convolution layer; its layers: "
                            f"{_list(layer_names(model, contract))}")
    return names[0]


def last_hidden_layer(model, contract=None):
    """Name of the layer whose output feeds the class-score layer (HW4 Q4: "the last layer"
    for t-SNE)."""
    g = graph(model, contract)
    if g.hidden is None:
        raise FerInputError(f"model {model.name!r} has no hidden layer before its class score")
    return g.hidden


def _rectified(g, name):
    """The last of the chain of elementwise layers (BN, activation) that alone consume
    ``name``'s output, e.g. a convolution's output after its BN and ReLU."""
    while True:
        out = id(g.calls[name].output)
        users = [c for c in g.all_calls if any(id(t) == out for t in c.inputs)]
        if len(users) != 1 or users[0].kind not in _ELEMENTWISE or users[0].name not in g.calls:
            return name
        name = users[0].name


def gradcam_layer(model, contract=None):
    """Default Grad-CAM layer: the last convolution the score depends on, taken after its
    elementwise followers (BN, activation), i.e. the last rectified feature maps before pooling;
    without convolutions, the last layer with a spatial (4-D) output the score depends on.

    Selvaraju et al. 2017 use the last convolutional layer because it keeps spatial detail while
    holding the highest-level features; taking the activation after it (not the raw conv output)
    is what Grad-CAM's ReLU-weighted sum assumes.
    """
    g = graph(model, contract)
    convs = _convs(g)
    if convs:
        return _rectified(g, convs[-1])
    spatial = spatial_layer_names(model, contract)
    if not spatial:
        raise FerInputError(f"Grad-CAM needs a layer with a spatial (h, w, c) output, and model "
                            f"{model.name!r} has none; its layers: {_list(g.names)}")
    return spatial[-1]


def first_activation_layer(model, contract=None):
    """The first convolution's output after its BN and activation (HW4 Q2's "first activation
    layer"), the default layer for gradient ascent and feature maps."""
    return _rectified(graph(model, contract), first_conv_layer(model, contract))


def layer_index(model, name, need_spatial=False, what="layer", contract=None):
    """Check that ``name`` is a layer the score depends on (with a spatial output when
    ``need_spatial``), or raise a one-line :class:`FerInputError` listing the valid names;
    returns its position in :func:`layer_names`."""
    g = graph(model, contract)
    valid = spatial_layer_names(model, contract) if need_spatial else \
        [n for n in g.names if n in g.depends or n == g.score_layer]
    if name not in valid:
        kind = "layer with a spatial (h, w, c) output" if need_spatial else "layer"
        problem = "unknown layer" if name not in g.names else f"{what} needs a {kind}, not"
        raise FerInputError(f"{problem} {name!r}; valid layer names: {_list(valid)}",
                            entry="--layer")
    return g.names.index(name)


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


def compile_grad(score_fn, model=None, aux=False):
    """Compile ``score_fn(x, *args) -> (N,) scores`` into ``g(x, *args) -> (scores, grads)``.

    ``grads`` is the gradient of ``sum(scores)`` with respect to ``x`` (numpy, ``x``'s shape): as
    each score depends only on its own sample, that is every sample's own gradient, for a whole
    batch in one backward pass. ``args`` (labels, filter indices, transforms) are not
    differentiated. ``model``: whose variables ``score_fn`` reads (see :func:`compile_forward`).
    With ``aux``, ``score_fn`` returns ``(scores, extra)`` and ``g`` returns
    ``(scores, grads, extra)`` (e.g. Grad-CAM's activations from the same forward pass).
    """
    backend = check_backend("gradient-based explanation")
    if backend == "tensorflow":
        import tensorflow as tf

        def fwd_bwd(x, *args):
            with tf.GradientTape() as tape:
                tape.watch(x)
                out = score_fn(x, *args)
            s = out[0] if aux else out
            return (s, tape.gradient(s, x)) + ((out[1],) if aux else ())

        g = _tf_function(fwd_bwd)

        def run(x, *args):
            return tuple(np.asarray(t) for t in g(x, *args))

        return run
    import jax
    import jax.numpy as jnp

    pure, values = _jax_stateless(score_fn, model)

    def total(x, vals, *args):
        out = pure(vals, x, *args)
        s = out[0] if aux else out
        return jnp.sum(s), out

    vg = jax.jit(jax.value_and_grad(total, has_aux=True))

    def run(x, *args):
        (_, out), d = vg(jnp.asarray(x), values(), *[jnp.asarray(a) for a in args])
        if aux:
            return np.asarray(out[0]), np.asarray(d), np.asarray(out[1])
        return np.asarray(out), np.asarray(d)

    return run


def class_score(logits, labels):
    """The per-sample score of class ``labels[i]``: ``(N,)`` from ``(N, K)`` logits."""
    ops = keras.ops
    logits = ops.cast(logits, "float32")
    onehot = ops.one_hot(ops.cast(labels, "int32"), ops.shape(logits)[-1])
    return ops.sum(logits * onehot, axis=-1)


def image_fn(model, contract, fn):
    """``fn`` (a function of the model's input) as a function of image-space ``x`` (the
    contract's channel and value mapping applied first, in ``keras.ops``)."""
    if contract.is_identity:
        return fn
    return lambda x, *a: fn(contract.to_model(x), *a)


def predict_layer(model, name, images, batch_size=256, contract=None):
    """Output of layer ``name`` for ``images`` (see :func:`as_batch`) as float32 ``(N, ...)``,
    in batches."""
    c = contract or _contract.of(model)
    sub = cached(model, ("sub", c.size + (c.channels,), name),
                 lambda: graph(model, c).submodel([name]))
    fwd = cached_forward(model, ("layer", name, c), image_fn(
        model, c, lambda x: keras.ops.cast(sub(x, training=False), "float32")))
    x = as_batch(images, model, c)
    outs = [fwd(x[lo:lo + batch_size]) for lo in range(0, len(x), batch_size)]
    return np.concatenate(outs).astype(np.float32) if outs else np.zeros((0,), np.float32)


def predict_proba(model, images, batch_size=256, contract=None):
    """The model's class probabilities float32 ``(N, K)`` in its own output order (softmax
    applied to a model that gives logits), compiled and batched (faster than
    ``model.predict`` for the many small calls LIME and the checks make). ``images``: see
    :func:`as_batch`, any size (resized to the model's)."""
    c = contract or _contract.of(model)
    fwd = cached_forward(model, ("proba", c), image_fn(
        model, c, lambda x: keras.ops.cast(model(x, training=False), "float32")))
    x = as_batch(images, model, c)
    outs = [fwd(x[lo:lo + batch_size]) for lo in range(0, len(x), batch_size)]
    if not outs:
        return np.zeros((0, c.num_classes), np.float32)
    return c.probabilities(np.concatenate(outs))


def normalize_maps(maps, atol=0.0):
    """Scale each map to [0, 1] by its own min and max; a constant map (max - min at most
    ``atol``) becomes all zeros."""
    maps = np.asarray(maps, np.float32)
    flat = maps.reshape(len(maps), -1)
    if flat.shape[1] == 0:
        return maps
    lo = flat.min(axis=1, keepdims=True)
    span = flat.max(axis=1, keepdims=True) - lo
    live = span > atol
    out = np.where(live, (flat - lo) / np.where(live, span, 1), 0)
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
