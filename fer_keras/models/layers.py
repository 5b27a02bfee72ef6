"""Layers of our own, each a drop-in for a Keras layer that is slow on a CPU.

:class:`BatchNorm` is ``keras.layers.BatchNormalization`` with the same weights, config and
results, but on the TensorFlow backend it runs TensorFlow's fused batch-norm kernel
(``FusedBatchNormV3``, which oneDNN implements in one pass, bfloat16 included) instead of
Keras 3's composite of moments, casts to float32 and elementwise ops. On this 2-core CPU that made
``fer_net`` train 1.8x faster under mixed bfloat16 precision (BENCHMARKS.md). On every other
backend, and for the cases the fused kernel does not cover (masks, renormalisation, a channel
axis other than the last, inputs that are not 4-D, a distribution strategy), it is exactly the
Keras layer.
"""
from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="fer_keras")
class BatchNorm(keras.layers.BatchNormalization):
    """Batch normalisation (Ioffe & Szegedy 2015) with a fused kernel on TensorFlow.

    Input and output: ``(N, H, W, C)`` (or any shape on the fallback path), in the layer's
    compute dtype. Training mode normalises with the batch's statistics and updates
    ``moving_mean`` / ``moving_variance`` with ``momentum``; inference mode uses the moving ones.
    One documented difference on the fused path: TensorFlow's kernel updates the moving variance
    with the unbiased batch variance (``n / (n - 1)`` larger, ``n`` = N*H*W values per channel,
    e.g. 1 + 3.4e-6 for a batch of 128 at 48x48), where Keras uses the biased one.
    """

    def _fused_ok(self, inputs, mask):
        if keras.backend.backend() != "tensorflow" or mask is not None or self.renorm:
            return False
        rank = len(inputs.shape)
        return rank == 4 and self.axis in (-1, rank - 1, [rank - 1], [-1])

    def call(self, inputs, training=None, mask=None):
        if self._fused_ok(inputs, mask):
            from fer_keras.models._tf_kernels import fused_batch_norm

            out = fused_batch_norm(self, inputs, bool(training and self.trainable))
            if out is not None:
                return out
        return super().call(inputs, training=training, mask=mask)
