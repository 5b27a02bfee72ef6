"""Vectorised random augmentation on ``keras.ops``, fast on every backend.

Keras's own ``RandomRotation``/``RandomTranslation``/``RandomZoom`` ran hundreds of times slower
than the model on a GPU with JAX (keras-team/keras#23229). :class:`RandomAffine` instead draws a
rotation, zoom, shift and flip per image, composes them into one affine matrix per image and
applies the whole batch in a single ``keras.ops.image.affine_transform`` call, inside the
compiled train step; random erasing (Zhong et al. 2017) is a vectorised mask. Same knobs as the
``ImageDataGenerator`` path (``fer_keras.data.oversample``).
"""
from __future__ import annotations

import dataclasses
import math

import keras
from keras import ops

from fer_keras.config import AugmentConfig


@keras.saving.register_keras_serializable(package="fer_keras")
class RandomAffine(keras.layers.Layer):
    """Random rotation, zoom, shift, horizontal flip and erasing, per image, in one op.

    Input and output: float ``(N, H, W, C)``. Active only when ``training=True``; at inference
    it returns its input unchanged. Pixels that come from outside the image take the nearest
    edge value (as ``ImageDataGenerator``'s default ``fill_mode="nearest"``).
    """

    def __init__(self, rotation=10.0, shift=0.1, zoom=0.1, flip=True, erasing=0.0, seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.rotation = float(rotation)
        self.shift = float(shift)
        self.zoom = float(zoom)
        self.flip = bool(flip)
        self.erasing = float(erasing)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True

    @classmethod
    def from_config_obj(cls, cfg: AugmentConfig, seed=None, name="augment"):
        return cls(**dataclasses.asdict(cfg), seed=seed, name=name)

    def compute_output_shape(self, input_shape):
        return input_shape

    def transforms(self, batch, height, width):
        """float32 ``(batch, 8)`` affine transforms (output -> input coordinates, Keras layout)."""
        u = lambda lo, hi: keras.random.uniform((batch,), lo, hi, seed=self.seed_generator)  # noqa: E731
        zeros = ops.zeros((batch,), "float32")
        theta = u(-1.0, 1.0) * (self.rotation * math.pi / 180.0) if self.rotation else zeros
        scale = u(1.0 - self.zoom, 1.0 + self.zoom) if self.zoom else ops.ones((batch,), "float32")
        tx = u(-self.shift, self.shift) * width if self.shift else zeros
        ty = u(-self.shift, self.shift) * height if self.shift else zeros
        if self.flip:
            f = ops.where(u(0.0, 1.0) < 0.5, -1.0, 1.0)
        else:
            f = ops.ones((batch,), "float32")
        cos, sin = ops.cos(theta) / scale, ops.sin(theta) / scale
        # q = A (p - c) + c + t with A = R(theta) / scale @ diag(f, 1): the input point that
        # output pixel p samples; c is the image centre.
        a0, a1 = cos * f, -sin
        b0, b1 = sin * f, cos
        cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
        a2 = cx + tx - a0 * cx - a1 * cy
        b2 = cy + ty - b0 * cx - b1 * cy
        return ops.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)

    def call(self, images, training=None):
        if not training:
            return images
        shape = ops.shape(images)
        batch, height, width = shape[0], shape[1], shape[2]
        dtype = images.dtype
        out = images
        if self.rotation or self.shift or self.zoom or self.flip:
            t = self.transforms(batch, height, width)
            out = ops.image.affine_transform(ops.cast(images, "float32"), t,
                                             interpolation="bilinear", fill_mode="nearest")
        if self.erasing:
            out = self._erase(out, batch, height, width)
        return ops.cast(out, dtype)

    def _erase(self, images, batch, height, width):
        u = lambda lo=0.0, hi=1.0: keras.random.uniform((batch, 1, 1, 1), lo, hi,  # noqa: E731
                                                        seed=self.seed_generator)
        area = u(0.02, 0.2)
        aspect = ops.exp(u(math.log(0.3), math.log(3.3)))
        h = ops.minimum(ops.sqrt(area * aspect), 1.0) * height
        w = ops.minimum(ops.sqrt(area / aspect), 1.0) * width
        y0 = u() * (height - h)
        x0 = u() * (width - w)
        ys = ops.reshape(ops.arange(height, dtype="float32"), (1, -1, 1, 1))
        xs = ops.reshape(ops.arange(width, dtype="float32"), (1, 1, -1, 1))
        inside = (ys >= y0) & (ys < y0 + h) & (xs >= x0) & (xs < x0 + w) & (u() < self.erasing)
        fill = u()  # uniform grey level, as in random erasing's "random value" variant
        return ops.where(inside, fill, images)

    def get_config(self):
        cfg = super().get_config()
        cfg.update(rotation=self.rotation, shift=self.shift, zoom=self.zoom, flip=self.flip,
                   erasing=self.erasing, seed=self.seed)
        return cfg
