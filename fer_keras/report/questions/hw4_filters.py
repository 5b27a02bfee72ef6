"""HW4 Q2: gradient ascent on the first activation layer; its outputs for image #307."""
from __future__ import annotations

from fer_keras import CLASS_NAMES
from fer_keras.report.document import Section
from fer_keras.report.questions._filters import (
    filters_block,
    filters_text,
    textures_sentence,
)

ID = "hw4-filters"
TITLE = "HW4 Q2. Filters of the first activation layer and their outputs"
QUESTION = ("Use gradient ascent on the filters of the first activation layer and show that "
            "layer's filter outputs for one image (#307).")
ORDER = 90
SECONDS = {"full": 12.0, "quick": 7.5}  # on the reference machine (fer_keras.report.catalogue)


def _first_activation(net):
    """The first activation layer after the first convolution (report 002's activation_1)."""
    from fer_keras import explain

    first = explain.first_conv_layer(net)
    names = [layer.name for layer in net.layers]
    for layer in net.layers[names.index(first) + 1:]:
        if type(layer).__name__ in ("Activation", "ReLU", "LeakyReLU", "ELU", "PReLU"):
            return layer.name
    return first


def untrained_share_alike(ctx, net, layer, row):
    """The share of pairs of different filters of ``layer`` that give alike spectra, on the same
    architecture with fresh random weights (the control of "each filter is activated by a
    different texture": random filters are different too). Same ascent settings and seed."""
    import keras

    from fer_keras.analyses import filters

    keras.utils.set_random_seed(ctx.cfg.seed)
    fresh = keras.models.clone_model(net)
    settings = filters.Settings(filters=ctx.profile["ascent_filters"],
                                steps=ctx.profile["ascent_steps"], feature_map_filters=1,
                                seed=ctx.cfg.seed)
    res = filters.run(fresh, ctx.val, settings, None, layer=layer, row=row)
    return float(res.numbers["noise_vs_image"].get("within_a_share_alike", float("nan")))


def answer(ctx):
    """HW4 Q2: gradient ascent on the first activation layer; its outputs for image #307."""
    sec = Section("hw4-filters")
    net = ctx.model(ctx.cnn_name())
    layer = _first_activation(net)
    i = 307 % len(ctx.val)
    label = f"validation image #{i} ({CLASS_NAMES[int(ctx.val.labels[i])]})"
    num = filters_block(ctx, sec, layer, i, label)
    num["image_index"] = i
    num["untrained_share_alike"] = untrained_share_alike(ctx, net, layer, i)
    sec.numbers = num
    sec.text(f"Report 002 used the first activation layer (after conv, BN and activation) and "
             f"image #307; here that layer is `{layer}` and the image is #{i} of the validation "
             "split.")
    filters_text(sec, num, label)
    sec.text(textures_sentence(num))
    return sec
