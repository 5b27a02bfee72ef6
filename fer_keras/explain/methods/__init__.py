"""The saliency methods, one module each, registered by name: what
:func:`fer_keras.explain.saliency_maps`, the checks, the CLI (``--method``), the report and the
tests all read.

Each module of this package (its name not starting with ``_``) calls :func:`register` once per
method with a frozen :class:`Method`: its name, a caption that cites the paper, the paper's year
(the registry's order), whether it reads a layer (and which by default), its tf-keras-vis
counterpart if any, the causes of failures already understood, and its ``compute`` function::

    compute(request, x, y, **options) -> float32 (N, H, W) in [0, 1]

``request`` (:class:`Request`) holds the model, its input contract, the layer (resolved), the
batch size, the seed and SmoothGrad's ``samples`` / ``noise``; ``x`` is float32
``(N, H, W, c)`` in [0, 1] at the model's input resolution ("image space",
:func:`fer_keras.explain._core.as_batch`), ``y`` int32 ``(N,)`` the classes to explain in the
model's output order; keyword ``options`` are the method's own settings (RISE's number of masks,
occlusion's patch ...) with defaults in the signature, passed as
``saliency_maps(..., options={...})``. Maps are scaled to [0, 1] per map
(:func:`fer_keras.explain._core.normalize_maps`; a constant map is all zeros).

================  ====  ===========================================================  =======
name              year  idea                                                         layer
================  ====  ===========================================================  =======
vanilla           2013  absolute input gradient of the class score                   no
occlusion         2014  probability drop when a grey patch hides each region         no
gradcam           2017  activations weighted by their mean gradient                  yes
ig-black          2017  Integrated Gradients from a black image                      no
ig-blur           2017  Integrated Gradients from a blurred copy                     no
smoothgrad        2017  mean gradient over noisy copies                              no
gradcam++         2018  Grad-CAM with higher-order pixel weights                     yes
rise              2018  mean probability under random masks                          no
scorecam          2020  activations weighted by the probability they alone give       yes
layercam          2021  activations weighted pixel-wise by their positive gradient   yes
================  ====  ===========================================================  =======

**Adding a method** is one file and one test:

1. ``fer_keras/explain/methods/<name>.py``: a docstring citing the paper; ``compute(request,
   x, y, **options)`` returning float32 ``(N, H, W)`` in [0, 1] (batch over images; use
   ``keras.ops`` and the helpers of :mod:`._gradients` / :mod:`._cam` so that it runs on the
   TensorFlow and JAX backends); ``register(Method(name=..., title=..., caption=...,
   year=..., compute=compute, layer=..., tfkv=...))``.
2. ``tests/explain/methods/test_<name>.py``: the method against an independent implementation where one
   exists (tf-keras-vis through ``engine="tf-keras-vis"``), or against what it promises.
   ``tests/explain/test_methods.py`` runs every registered method through the registry-wide
   tests (shapes, batching, both backends, a hand-built model whose evidence is known, a model
   that ignores its input) without being told about it.

The method then appears in ``fer-keras explain saliency|checks --method``, in the checks and
their table (with an extra ``"<name> @ <layer>"`` row per ``--layer`` when it reads a layer), in
the figures' captions, and in the report when it passes every check.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

from fer_keras._lazy import import_submodules
from fer_keras.errors import FerInputError


@dataclasses.dataclass(frozen=True)
class Counterpart:
    """A method's tf-keras-vis class (``engine="tf-keras-vis"``, TensorFlow only).

    cls: dotted path of the class, e.g. ``"tf_keras_vis.gradcam.Gradcam"``.
    smooth: pass ``smooth_samples`` / ``smooth_noise`` (SmoothGrad through ``Saliency``).
        tf-keras-vis averages the gradients' magnitudes over the noisy copies, where Smilkov et
        al.'s eq. 2 (the native engine) averages the gradients and takes the magnitude last:
        the two agree as the noise vanishes, not at 15% noise (Spearman 0.17-0.22 per image on
        a small untrained CNN), so the tests compare them at a vanishing noise.
    batched: pass ``batch_size`` (ScoreCAM's masked forward passes).
    """

    cls: str
    smooth: bool = False
    batched: bool = False


@dataclasses.dataclass(frozen=True)
class Method:
    """One saliency method (see the package docstring).

    name: the registry key and ``--method`` value.
    title: the name in prose ("Grad-CAM").
    caption: a figure caption naming the paper.
    year: the paper's year; the registry lists methods by year, then name.
    compute: ``compute(request, x, y, **options) -> float32 (N, H, W)`` in [0, 1].
    layer: whether the method reads a layer with a spatial output (``--layer``).
    default_layer: ``(model, contract) -> layer name`` when no layer is given (``None``: the
        last convolution's rectified output, :func:`fer_keras.explain.gradcam_layer`).
    tfkv: the tf-keras-vis counterpart, or ``None`` (the tf-keras-vis engine refuses it).
    causes: ``((what failed, why), ...)``: why the method fails a randomisation check, from
        how it is built ("correlated": its maps barely change when the weights are re-drawn;
        "blank": its trained maps are constant); appended to a failed check's reason.
    """

    name: str
    title: str
    caption: str
    year: int
    compute: Callable
    layer: bool = False
    default_layer: Callable | None = None
    tfkv: Counterpart | None = None
    causes: tuple = ()

    def cause(self, what):
        """Why this method fails a check in the way ``what``, or ``None``."""
        return dict(self.causes).get(what)

    def layer_for(self, model, contract):
        """The layer to read when none is given."""
        from fer_keras.explain import _core

        return (self.default_layer or _core.gradcam_layer)(model, contract)


@dataclasses.dataclass(frozen=True)
class Request:
    """What every ``compute`` receives besides the images: the model and its input contract,
    the resolved layer (``None`` for methods without one), images per model call, the seed of
    any randomness, and SmoothGrad's noisy copies and noise level (kept here because
    :func:`fer_keras.explain.saliency_maps` has always taken them)."""

    model: object
    contract: object
    layer: str | None = None
    batch_size: int = 128
    seed: int = 0
    samples: int = 20
    noise: float = 0.15


_REGISTRY: dict = {}


def register(method):
    """Add ``method`` (a :class:`Method`) to the registry; returns it."""
    if not isinstance(method, Method):
        raise TypeError(f"register() takes a Method, not {type(method).__name__}")
    old = _REGISTRY.get(method.name)
    if old is not None and old.compute.__module__ != method.compute.__module__:
        raise ValueError(f"saliency method {method.name!r} registered twice "
                         f"({old.compute.__module__} and {method.compute.__module__})")
    _REGISTRY[method.name] = method
    return method


def _load():
    """Import every method module of this package once (a new file registers itself)."""
    import_submodules(__name__, __path__)


def registry():
    """``{name: Method}`` of every method, by the paper's year, then name."""
    _load()
    return dict(sorted(_REGISTRY.items(), key=lambda kv: (kv[1].year, kv[0])))


def names():
    """The methods' names, in the registry's order."""
    return tuple(registry())


def layer_names():
    """The names of the methods that read a layer."""
    return tuple(n for n, m in registry().items() if m.layer)


def get(name):
    """The :class:`Method` called ``name``, or a one-line :class:`FerInputError` listing the
    valid names (flag ``--method``)."""
    methods = registry()
    if name not in methods:
        raise FerInputError(f"unknown saliency method {name!r}; valid methods: "
                            f"{', '.join(methods)}", entry="--method")
    return methods[name]


def base_name(row):
    """The method of a checks-table row (``"gradcam @ s3c2_act"`` -> ``"gradcam"``)."""
    return str(row).split(" @ ")[0]
