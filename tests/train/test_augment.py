"""RandomAffine: identity cases, geometry of each transform, erasing, range, seeding, serialisation.

Backend-neutral (``core``): these also run under ``KERAS_BACKEND=jax`` without TensorFlow.
"""
import math

import keras
import numpy as np
import pytest

from fer_keras.train.augment import AugmentConfig, RandomAffine

pytestmark = pytest.mark.core

H = W = 48
C = (W - 1) / 2.0  # the image centre, in pixel coordinates


def np_(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def rand_images(n=8, lo=0.0, hi=1.0, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(lo, hi, (n, H, W, 1)).astype("float32")


def dot_images(n, y, x):
    """Black images with one white pixel at row y, column x."""
    img = np.zeros((n, H, W, 1), "float32")
    img[:, y, x, 0] = 1.0
    return img


def centroid(img):
    """(row, col) centre of mass of a 2-D image."""
    img = img.reshape(H, W)
    total = img.sum()
    ys, xs = np.mgrid[0:H, 0:W]
    return (ys * img).sum() / total, (xs * img).sum() / total


def test_zero_strength_is_exactly_the_identity():
    x = rand_images()
    layer = RandomAffine(**AugmentConfig.none().__dict__, seed=1)
    out = np_(layer(x, training=True))
    assert out.dtype == x.dtype
    np.testing.assert_array_equal(out, x)


def test_inference_is_the_identity():
    x = rand_images()
    layer = RandomAffine(30.0, 0.2, 0.2, True, erasing=1.0, seed=1)
    np.testing.assert_array_equal(np_(layer(x, training=False)), x)
    np.testing.assert_array_equal(np_(layer(x)), x)
    # inside a model, predict() runs in inference mode
    model = keras.Sequential([keras.Input((H, W, 1)), layer])
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)


def test_flip_flips_some_and_keeps_the_others():
    x = rand_images(32)
    out = np_(RandomAffine(0.0, 0.0, 0.0, flip=True, seed=3)(x, training=True))
    mirrored = x[:, :, ::-1, :]
    same = np.all(np.isclose(out, x, atol=1e-5), axis=(1, 2, 3))
    flipped = np.all(np.isclose(out, mirrored, atol=1e-5), axis=(1, 2, 3))
    assert np.all(same | flipped), "each image is either itself or its mirror"
    assert same.any() and flipped.any(), "both outcomes occur in a batch of 32"


def test_pure_shift_moves_a_dot_by_the_drawn_pixels():
    n, y0, x0 = 16, 24, 20
    kw = dict(rotation=0.0, shift=0.2, zoom=0.0, flip=False, seed=11)
    t = np_(RandomAffine(**kw).transforms(n, H, W))  # same seed: the draws the call will make
    out = np_(RandomAffine(**kw)(dot_images(n, y0, x0), training=True))
    # a pure shift: the linear part is the identity
    np.testing.assert_allclose(t[:, [0, 1, 3, 4]], np.tile([1.0, 0.0, 0.0, 1.0], (n, 1)),
                               atol=1e-6)
    tx, ty = t[:, 2], t[:, 5]
    assert np.all(np.abs(tx) <= 0.2 * W + 1e-4) and np.all(np.abs(ty) <= 0.2 * H + 1e-4)
    assert np.ptp(tx) > 1.0, "shifts differ between images"
    for i in range(n):
        # output pixel p samples input p + t, so the dot moves by -t
        cy, cx = centroid(out[i])
        assert cy == pytest.approx(y0 - ty[i], abs=1e-3)
        assert cx == pytest.approx(x0 - tx[i], abs=1e-3)
        assert out[i].sum() == pytest.approx(1.0, abs=1e-4)  # bilinear keeps the mass


def test_integer_shift_is_an_exact_translation():
    # shift 1/48 of 48 pixels: a transform with tx = -1 moves the image right by one pixel
    x = rand_images(1)
    t = np.array([[1, 0, -1, 0, 1, 0, 0, 0]], "float32")
    out = np_(keras.ops.image.affine_transform(x, t, interpolation="bilinear",
                                               fill_mode="nearest"))
    np.testing.assert_allclose(out[0, :, 1:], x[0, :, :-1], atol=1e-6)


def test_rotation_transforms_keep_the_centre_and_rotate_the_corners():
    n, rot = 16, 30.0
    t = np_(RandomAffine(rotation=rot, shift=0.0, zoom=0.0, flip=False, seed=5)
            .transforms(n, H, W))
    a0, a1, a2, b0, b1, b2 = (t[:, k] for k in range(6))
    theta = np.arctan2(b0, a0)
    assert np.all(np.abs(theta) <= math.radians(rot) + 1e-6)
    assert np.ptp(theta) > math.radians(5), "angles differ between images"
    # a rotation: orthonormal, det 1, and no projective part
    np.testing.assert_allclose(a0, b1, atol=1e-6)
    np.testing.assert_allclose(a1, -b0, atol=1e-6)
    np.testing.assert_allclose(a0 * b1 - a1 * b0, 1.0, atol=1e-5)
    np.testing.assert_array_equal(t[:, 6:], 0.0)
    # the centre maps to itself
    np.testing.assert_allclose(a0 * C + a1 * C + a2, C, atol=1e-4)
    np.testing.assert_allclose(b0 * C + b1 * C + b2, C, atol=1e-4)
    # each corner maps to the corner rotated by theta about the centre
    for px, py in ((0, 0), (W - 1, 0), (0, H - 1), (W - 1, H - 1)):
        qx, qy = a0 * px + a1 * py + a2, b0 * px + b1 * py + b2
        dx, dy = px - C, py - C
        np.testing.assert_allclose(qx, C + np.cos(theta) * dx - np.sin(theta) * dy, atol=1e-4)
        np.testing.assert_allclose(qy, C + np.sin(theta) * dx + np.cos(theta) * dy, atol=1e-4)


def test_rotation_moves_a_dot_along_the_circle():
    n, y0, x0 = 8, 24, 36  # 12.5 px right of the centre
    kw = dict(rotation=40.0, shift=0.0, zoom=0.0, flip=False, seed=9)
    t = np_(RandomAffine(**kw).transforms(n, H, W))
    out = np_(RandomAffine(**kw)(dot_images(n, y0, x0), training=True))
    theta = np.arctan2(t[:, 3], t[:, 0])
    for i in range(n):
        # output p samples R(theta)(p - c) + c, so the dot lands at R(-theta)(d - c) + c
        dx, dy = x0 - C, y0 - C
        ex = C + math.cos(theta[i]) * dx + math.sin(theta[i]) * dy
        ey = C - math.sin(theta[i]) * dx + math.cos(theta[i]) * dy
        cy, cx = centroid(out[i])
        assert (cx, cy) == (pytest.approx(ex, abs=0.35), pytest.approx(ey, abs=0.35))


def test_zoom_scales_about_the_centre():
    t = np_(RandomAffine(rotation=0.0, shift=0.0, zoom=0.3, flip=False, seed=2)
            .transforms(16, H, W))
    scale = 1.0 / t[:, 0]
    np.testing.assert_allclose(t[:, 0], t[:, 4], atol=1e-6)
    assert np.all((scale >= 0.7 - 1e-5) & (scale <= 1.3 + 1e-5))
    np.testing.assert_allclose(t[:, 0] * C + t[:, 2], C, atol=1e-4)


def test_erasing_changes_one_rectangle_only():
    x = rand_images(16, 0.1, 0.9, seed=4)
    out = np_(RandomAffine(0.0, 0.0, 0.0, False, erasing=1.0, seed=6)(x, training=True))
    for i in range(len(x)):
        changed = out[i, ..., 0] != x[i, ..., 0]
        assert changed.any(), "erasing=1.0 erases every image"
        rows, cols = np.flatnonzero(changed.any(1)), np.flatnonzero(changed.any(0))
        box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
        # the changed pixels fill their bounding box, with one grey level in [0, 1]
        patch = out[i, ..., 0][box]
        assert np.all(patch == patch.flat[0]) and 0.0 <= patch.flat[0] <= 1.0
        assert changed[box].mean() > 0.95  # (a random pixel may equal the fill by chance)
        outside = np.ones((H, W), bool)
        outside[box] = False
        np.testing.assert_array_equal(out[i, ..., 0][outside], x[i, ..., 0][outside])
        area = patch.size / (H * W)
        assert 0.01 <= area <= 0.25


def test_erasing_probability_zero_and_partial():
    x = rand_images(64, seed=8)
    out = np_(RandomAffine(0.0, 0.0, 0.0, False, erasing=0.5, seed=6)(x, training=True))
    erased = np.any(out != x, axis=(1, 2, 3))
    assert 0 < erased.sum() < len(x)


def test_bilinear_output_stays_within_the_input_range():
    x = rand_images(32, 0.2, 0.7, seed=1)
    out = np_(RandomAffine(25.0, 0.2, 0.2, True, seed=4)(x, training=True))
    assert out.min() >= x.min() - 1e-6 and out.max() <= x.max() + 1e-6
    assert not np.allclose(out, x)


def test_same_seed_same_output_and_a_new_draw_per_call():
    x = rand_images(8)
    a = RandomAffine(20.0, 0.1, 0.1, True, erasing=0.5, seed=42)
    b = RandomAffine(20.0, 0.1, 0.1, True, erasing=0.5, seed=42)
    first_a, first_b = np_(a(x, training=True)), np_(b(x, training=True))
    np.testing.assert_array_equal(first_a, first_b)
    second_a = np_(a(x, training=True))
    assert not np.allclose(first_a, second_a), "the seed generator advances between calls"
    other = np_(RandomAffine(20.0, 0.1, 0.1, True, erasing=0.5, seed=43)(x, training=True))
    assert not np.allclose(first_a, other)


def test_output_dtype_is_the_compute_dtype():
    # under mixed precision the layer computes the warp in float32 and returns bfloat16
    x = rand_images(4)
    layer = RandomAffine(10.0, 0.1, 0.1, True, seed=0, dtype="mixed_bfloat16")
    out = layer(x, training=True)
    assert keras.backend.standardize_dtype(out.dtype) == "bfloat16"
    np.testing.assert_allclose(np_(keras.ops.cast(out, "float32")),
                               np_(RandomAffine(10.0, 0.1, 0.1, True, seed=0)(x, training=True)),
                               atol=1e-2)


def test_serialisation_round_trip():
    layer = RandomAffine(12.5, 0.15, 0.05, False, erasing=0.25, seed=7, name="aug")
    cfg = layer.get_config()
    clone = RandomAffine.from_config(cfg)
    assert clone.get_config() == cfg
    for k, v in dict(rotation=12.5, shift=0.15, zoom=0.05, flip=False, erasing=0.25,
                     seed=7).items():
        assert cfg[k] == v
    x = rand_images(4)
    np.testing.assert_array_equal(np_(clone(x, training=True)), np_(layer(x, training=True)))
    # through Keras's registry (the name a .keras file stores)
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert isinstance(again, RandomAffine) and again.get_config() == cfg


def test_from_config_obj():
    layer = RandomAffine.from_config_obj(AugmentConfig(rotation=5.0, flip=False), seed=3)
    assert (layer.rotation, layer.shift, layer.zoom, layer.flip, layer.erasing) == (
        5.0, 0.1, 0.1, False, 0.0)
    assert layer.name == "augment"
