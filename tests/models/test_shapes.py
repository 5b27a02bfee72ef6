"""Report 003 Q6: the hand-derived Conv2D output shape against real Keras layers (any backend)."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fer_keras.errors import FerInputError
from fer_keras.models.shapes import (
    conv2d_output_shape,
    conv_output_size,
    layer_shape_rows,
    pool2d_output_shape,
    same_padding,
)

pytestmark = pytest.mark.core

def _examples():
    import keras

    # JAX compiles every new shape (~0.1 s each): fewer examples there (hypothesis draws new ones
    # each run)
    return 60 if keras.backend.backend() == "tensorflow" else 20


SETTINGS = settings(max_examples=_examples(), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def _keras_conv_hw(hw, kernel, stride, padding, dilation):
    """Run a real Keras Conv2D (with ZeroPadding2D for an explicit P) on zeros; its (h, w)."""
    import keras

    x = np.zeros((1, *hw, 1), np.float32)
    if isinstance(padding, tuple):
        x = keras.layers.ZeroPadding2D(padding)(x)
        padding = "valid"
    conv = keras.layers.Conv2D(1, kernel, strides=stride, padding=padding, dilation_rate=dilation)
    y = conv(x)
    return tuple(int(v) for v in y.shape[1:3])


@st.composite
def conv_settings(draw):
    h = draw(st.integers(1, 40))
    w = draw(st.integers(1, 40))
    kernel = (draw(st.integers(1, 7)), draw(st.integers(1, 7)))
    dilated = draw(st.booleans())
    if dilated:  # Keras refuses strides > 1 together with dilation > 1
        dilation, stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3))), (1, 1)
    else:
        dilation, stride = (1, 1), (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    padding = draw(st.one_of(st.sampled_from(["valid", "same"]),
                             st.tuples(st.integers(0, 3), st.integers(0, 3))))
    return (h, w), kernel, stride, padding, dilation


def _fits(hw, kernel, padding, dilation):
    if padding == "same":
        return True
    pad = (0, 0) if padding == "valid" else padding
    return all(n + 2 * p >= d * (k - 1) + 1 for n, p, k, d in zip(hw, pad, kernel, dilation))


@SETTINGS
@given(conv_settings())
def test_formula_matches_keras_conv2d(case):
    hw, kernel, stride, padding, dilation = case
    if not _fits(hw, kernel, padding, dilation):
        with pytest.raises(FerInputError, match="smaller than the kernel"):
            conv2d_output_shape(hw, kernel, stride, padding, dilation)
        return
    assert conv2d_output_shape(hw, kernel, stride, padding, dilation) == \
        _keras_conv_hw(hw, kernel, stride, padding, dilation)


@SETTINGS
@given(st.integers(1, 60), st.integers(1, 5), st.integers(1, 5), st.integers(0, 4))
def test_explicit_padding_matches_keras(w, k, s, p):
    """The report's (W + 2P - K) / S + 1 against a real ZeroPadding2D + Conv2D (1-D: width 1)."""
    import keras

    if w + 2 * p < k:
        return
    x = keras.layers.ZeroPadding2D(((0, 0), (p, p)))(np.zeros((1, 1, w, 1), np.float32))
    y = keras.layers.Conv2D(1, (1, k), strides=(1, s), padding="valid")(x)
    assert conv_output_size(w, k, s, p) == int(y.shape[2])


@SETTINGS
@given(st.integers(2, 40), st.integers(1, 4), st.one_of(st.none(), st.integers(1, 4)),
       st.sampled_from(["valid", "same"]))
def test_pooling_matches_keras(n, pool, stride, padding):
    import keras

    if padding == "valid" and n < pool:
        return
    y = keras.layers.MaxPooling2D(pool, strides=stride, padding=padding)(
        np.zeros((1, n, n, 1), np.float32))
    assert pool2d_output_shape((n, n), pool, stride, padding) == tuple(int(v) for v in y.shape[1:3])


@SETTINGS
@given(st.integers(1, 50), st.integers(1, 7), st.integers(1, 4))
def test_same_padding_gives_ceil(w, k, s):
    before, after = same_padding(w, k, s)
    assert 0 <= after - before <= 1
    assert conv_output_size(w + before + after, k, s, "valid") == -(-w // s)


def test_report_003_table():
    # Conv2d(1, 32, kernel_size=5, stride=1, padding=2) on 48x48 keeps 48x48; pools halve it.
    assert conv2d_output_shape((48, 48), 5, 1, 2) == (48, 48)
    assert conv2d_output_shape((24, 24), 3, 1, 1) == (24, 24)
    assert pool2d_output_shape((12, 12), 2) == (6, 6)
    assert conv2d_output_shape((48, 48), 3, 2, "valid") == (23, 23)


def test_layer_rows_of_a_model_all_match():
    import keras

    model = keras.Sequential([keras.Input((48, 48, 1)), keras.layers.Conv2D(4, 3),
                              keras.layers.ZeroPadding2D(1),
                              keras.layers.Conv2D(4, 5, strides=2, padding="same"),
                              keras.layers.MaxPooling2D(2), keras.layers.Flatten()])
    rows = layer_shape_rows(model)
    assert [r["keras"] for r in rows] == [(46, 46), (48, 48), (24, 24), (12, 12)]
    assert all(r["match"] for r in rows)


@pytest.mark.parametrize("kwargs", [dict(padding="full"), dict(padding=-1), dict(stride=0),
                                    dict(kernel=0), dict(kernel=2.5), dict(padding=True)])
def test_bad_arguments_raise_user_errors(kwargs):
    args = dict(kernel=3, stride=1, padding="valid")
    args.update(kwargs)
    with pytest.raises(FerInputError):
        conv2d_output_shape((48, 48), args["kernel"], args["stride"], args["padding"])
