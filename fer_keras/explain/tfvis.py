"""The saliency methods through tf-keras-vis (TensorFlow only): a second, independent
implementation of :func:`fer_keras.explain.saliency_maps`, chosen with ``engine="tf-keras-vis"``.

tf-keras-vis 0.8.7 on Keras 3 cannot modify a ``keras.Sequential`` (``ReplaceToLinear`` reads
``model.output_names``, which only functional models have), so the model is first wrapped as the
functional ``keras.Model(seq.inputs, seq.outputs)``. ``ReplaceToLinear`` then turns the final
softmax into the identity, so the score is the pre-softmax logit as in the native engine.
"""
from __future__ import annotations

import numpy as np

from fer_keras.errors import require_tensorflow
from fer_keras.explain import _core


def functional(model):
    """``model`` as a functional ``keras.Model`` over the same layers (weights shared)."""
    import keras

    if isinstance(model, keras.Sequential):
        return keras.Model(model.inputs, model.outputs, name=f"{model.name}_functional")
    return model


def saliency_maps_tfkv(model, x, labels, method, batch_size=128, samples=20, noise=0.15,
                       layer=None, seed=0):
    """Same contract as :func:`fer_keras.explain.saliency_maps` (``x`` float ``(N, 48, 48, 1)``
    in [0, 1], ``labels`` int ``(N,)``); returns float32 ``(N, 48, 48)`` in [0, 1]."""
    require_tensorflow("engine='tf-keras-vis'")
    import keras

    if keras.backend.backend() != "tensorflow":
        from fer_keras.errors import FerInputError

        raise FerInputError("engine='tf-keras-vis' needs KERAS_BACKEND=tensorflow")
    from tf_keras_vis.gradcam import Gradcam
    from tf_keras_vis.gradcam_plus_plus import GradcamPlusPlus
    from tf_keras_vis.saliency import Saliency
    from tf_keras_vis.utils.model_modifiers import ReplaceToLinear
    from tf_keras_vis.utils.scores import CategoricalScore

    fmodel = functional(model)
    if method in ("vanilla", "smoothgrad"):
        vis = Saliency(fmodel, model_modifier=ReplaceToLinear(), clone=True)
    else:
        cls = GradcamPlusPlus if method == "gradcam++" else Gradcam
        vis = cls(fmodel, model_modifier=ReplaceToLinear(), clone=True)
    out = []
    for lo in range(0, len(x), batch_size):
        xb, yb = x[lo:lo + batch_size], labels[lo:lo + batch_size]
        score = CategoricalScore(list(map(int, yb)))
        if method == "vanilla":
            m = vis(score, xb)
        elif method == "smoothgrad":
            # tf-keras-vis draws its noise from numpy's global generator
            np.random.seed(seed)
            m = vis(score, xb, smooth_samples=samples, smooth_noise=noise)
        else:
            m = vis(score, xb, penultimate_layer=layer, seek_penultimate_conv_layer=False)
        out.append(np.asarray(m, np.float32).reshape(len(xb), *x.shape[1:3]))
    if not out:
        return np.zeros((0,) + x.shape[1:3], np.float32)
    return _core.normalize_maps(np.concatenate(out))
