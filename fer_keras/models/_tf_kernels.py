"""TensorFlow-only fast paths behind backend-neutral layers (imported only on that backend)."""
from __future__ import annotations

import tensorflow as tf


def fused_batch_norm(layer, inputs, training):
    """``layer`` (a :class:`fer_keras.models.layers.BatchNorm`) applied to NHWC ``inputs`` with
    ``FusedBatchNormV3``; ``None`` where the caller should use the generic path.

    The kernel takes bfloat16/float16/float32 activations with float32 scale, offset and
    statistics, so under mixed precision nothing is cast but the parameters. In training it also
    returns the moving averages already updated with ``exponential_avg_factor = 1 - momentum``.
    """
    if tf.distribute.has_strategy():
        return None  # Keras's layer knows how to update moving statistics across replicas
    channels = inputs.shape[-1]
    ones = tf.ones((channels,), "float32")
    scale = tf.cast(layer.gamma, "float32") if layer.scale else ones
    offset = tf.cast(layer.beta, "float32") if layer.center else tf.zeros_like(ones)
    x = tf.cast(inputs, layer.compute_dtype)
    mean = tf.convert_to_tensor(layer.moving_mean)
    var = tf.convert_to_tensor(layer.moving_variance)
    if training:
        y, new_mean, new_var = tf.compat.v1.nn.fused_batch_norm(
            x, scale, offset, mean=mean, variance=var, epsilon=layer.epsilon, is_training=True,
            exponential_avg_factor=1.0 - layer.momentum)[:3]
        layer.moving_mean.assign(new_mean)
        layer.moving_variance.assign(new_var)
        return y
    return tf.compat.v1.nn.fused_batch_norm(
        x, scale, offset, mean=mean, variance=var, epsilon=layer.epsilon, is_training=False)[0]
