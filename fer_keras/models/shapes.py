"""Output shapes of convolution and pooling layers, derived by hand (report 003, HW3 Q6).

For one spatial axis with input size ``W``, kernel ``K``, stride ``S``, padding ``P`` on each side
and dilation ``D`` (effective kernel ``D (K - 1) + 1``), the output size is the number of kernel
positions that fit::

    out = floor((W + 2P - D (K - 1) - 1) / S) + 1        # = floor((W + 2P - K) / S) + 1 for D = 1

Keras spells the padding as a word instead of ``P``:

* ``"valid"``: ``P = 0``, so ``out = floor((W - K_eff) / S) + 1``;
* ``"same"``: Keras pads just enough (possibly more on the bottom/right side than on the
  top/left) that ``out = ceil(W / S)`` whatever the kernel size.

An integer (or a ``(P_h, P_w)`` pair) is explicit zero padding on both sides of each axis, as in
PyTorch's ``Conv2d(padding=P)`` (Keras: ``ZeroPadding2D(P)`` followed by a ``"valid"`` conv).
Pooling layers follow the same rule (their ``pool_size`` is ``K``, their default stride is ``K``).

Pure Python, no Keras import: the property test in ``tests/models/test_shapes.py`` checks it against real
Keras layers on random settings.
"""
from __future__ import annotations

import math

from fer_keras.errors import FerInputError

__all__ = ["conv_output_size", "conv2d_output_shape", "pool2d_output_shape", "same_padding",
           "layer_shape_rows", "FORMULA"]

#: The formula as the report writes it.
FORMULA = "out = floor((W + 2P - K) / S) + 1"


def _pair(value, what):
    if isinstance(value, bool):
        raise FerInputError(f"{what} must be a positive integer or a pair of them, got {value!r}")
    if isinstance(value, int):
        return value, value
    try:
        a, b = value
    except (TypeError, ValueError):
        raise FerInputError(f"{what} must be an integer or a pair of integers, got {value!r}") from None
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (a, b)):
        raise FerInputError(f"{what} must be integers, got {value!r}")
    return a, b


def conv_output_size(size, kernel, stride=1, padding="valid", dilation=1):
    """Output length of one axis: ``size`` input, ``kernel``, ``stride``, ``padding`` ("valid",
    "same" or an int ``P`` padded on both sides) and ``dilation``.

    Raises :class:`FerInputError` for non-positive sizes or when the (padded) input is shorter
    than the dilated kernel, the case in which Keras refuses to build the layer.
    """
    for name, v in (("input size", size), ("kernel", kernel), ("stride", stride),
                    ("dilation", dilation)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise FerInputError(f"{name} must be a positive integer, got {v!r}")
    k_eff = dilation * (kernel - 1) + 1
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "same":
            return -(-size // stride)  # ceil(W / S)
        if mode != "valid":
            raise FerInputError(f"padding must be 'valid', 'same' or an integer, got {padding!r}")
        pad = 0
    elif isinstance(padding, int) and not isinstance(padding, bool) and padding >= 0:
        pad = padding
    else:
        raise FerInputError(f"padding must be 'valid', 'same' or a non-negative integer, "
                            f"got {padding!r}")
    span = size + 2 * pad - k_eff
    if span < 0:
        raise FerInputError(f"input of size {size} (padding {pad}) is smaller than the kernel "
                            f"({k_eff} after dilation): no output")
    return math.floor(span / stride) + 1


def conv2d_output_shape(input_hw, kernel, stride=1, padding="valid", dilation=1):
    """``(out_h, out_w)`` of a 2-D convolution: ``out = floor((W + 2P - K) / S) + 1`` per axis.

    Args:
        input_hw: ``(H, W)`` of the input (channels are not involved).
        kernel, stride, dilation: an integer or an ``(h, w)`` pair, as Keras's ``Conv2D`` takes.
        padding: ``"valid"`` (P = 0), ``"same"`` (Keras: ``ceil(W / S)``), an integer ``P`` or a
            pair ``(P_h, P_w)`` of explicit zero padding on both sides.

    >>> conv2d_output_shape((48, 48), 5, 1, 2)        # report 003: Conv2d(1, 32, 5, padding=2)
    (48, 48)
    >>> conv2d_output_shape((48, 48), 3, 2, "valid")
    (23, 23)
    >>> conv2d_output_shape((48, 48), 3, 2, "same")
    (24, 24)
    """
    h, w = _pair(tuple(input_hw) if not isinstance(input_hw, int) else input_hw, "input_hw")
    kh, kw = _pair(kernel, "kernel")
    sh, sw = _pair(stride, "stride")
    dh, dw = _pair(dilation, "dilation")
    if isinstance(padding, str) or isinstance(padding, int):
        ph = pw = padding
    else:
        ph, pw = _pair(padding, "padding")
    return (conv_output_size(h, kh, sh, ph, dh), conv_output_size(w, kw, sw, pw, dw))


def pool2d_output_shape(input_hw, pool_size=2, strides=None, padding="valid"):
    """``(out_h, out_w)`` of a 2-D pooling layer; ``strides`` defaults to ``pool_size`` (Keras)."""
    return conv2d_output_shape(input_hw, pool_size, pool_size if strides is None else strides,
                               padding)


def same_padding(size, kernel, stride=1, dilation=1):
    """``(before, after)``: the zeros Keras (and TensorFlow) add for ``padding="same"``.

    The total is ``max((ceil(W/S) - 1) S + K_eff - W, 0)``; the odd one goes after (bottom/right).
    """
    k_eff = dilation * (kernel - 1) + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + k_eff - size, 0)
    return total // 2, total - total // 2


def layer_shape_rows(model):
    """Hand-derived vs actual output shapes of every Conv2D / pooling / ZeroPadding2D layer.

    Returns a list of dicts ``{layer, type, input, kernel, stride, padding, formula, keras,
    match}`` (``input``, ``formula`` and ``keras`` are ``(h, w)`` tuples); other layers are
    skipped. This is report 003 Q6 applied to a whole model.
    """
    rows = []
    for layer in model.layers:
        kind = type(layer).__name__
        try:
            in_shape = tuple(layer.input.shape)
            out_shape = tuple(layer.output.shape)
        except (AttributeError, ValueError):
            continue
        if len(in_shape) != 4:
            continue
        hw = tuple(int(v) for v in in_shape[1:3])
        if kind in ("Conv2D", "DepthwiseConv2D", "SeparableConv2D"):
            k, s, p, d = layer.kernel_size, layer.strides, layer.padding, layer.dilation_rate
            derived = conv2d_output_shape(hw, tuple(k), tuple(s), p, tuple(d))
        elif kind in ("MaxPooling2D", "AveragePooling2D"):
            k, s, p = layer.pool_size, layer.strides, layer.padding
            derived = pool2d_output_shape(hw, tuple(k), tuple(s), p)
        elif kind == "ZeroPadding2D":
            (t, b), (left, r) = layer.padding
            k, s, p = (1, 1), (1, 1), ((t, b), (left, r))
            derived = (hw[0] + t + b, hw[1] + left + r)
        else:
            continue
        actual = tuple(int(v) for v in out_shape[1:3])
        rows.append({"layer": layer.name, "type": kind, "input": hw, "kernel": tuple(k),
                     "stride": tuple(s), "padding": p, "formula": derived, "keras": actual,
                     "match": derived == actual})
    return rows
