"""HW4 Q2: gradient ascent on the first activation layer; its outputs for image #307."""
from __future__ import annotations

from fer_keras import CLASS_NAMES
from fer_keras.report.document import Section
from fer_keras.report.questions._filters import (
    activation_after,
    filters_block,
    filters_text,
    textures_sentence,
    untrained_control,
)

ID = "hw4-filters"
TITLE = "HW4 Q2. Filters of the first activation layer and their outputs"
QUESTION = ("Use gradient ascent on the filters of the first activation layer and show that "
            "layer's filter outputs for one image (#307).")
ORDER = 90
SECONDS = {"full": 12.0, "quick": 7.5}  # on the reference machine (fer_keras.report.catalogue)
MODELS = ("explained",)  # Context.explained: the shipped model on FER2013


def _first_activation(net):
    """The first activation layer after the first convolution (report 002's activation_1)."""
    from fer_keras import explain

    return activation_after(net, explain.first_conv_layer(net))


def answer(ctx):
    """HW4 Q2: gradient ascent on the first activation layer; its outputs for image #307."""
    sec = Section("hw4-filters")
    ex = ctx.explained()
    net = ctx.model(ex.name)
    layer = _first_activation(net)
    i = 307 % len(ex.data)
    label = f"{ex.words} image #{i} ({CLASS_NAMES[int(ex.data.labels[i])]})"
    num = filters_block(ctx, sec, layer, i, label, ex)
    num["image_index"] = i
    num["model"] = ex.name
    control = untrained_control(ctx, net, layer, i, ex.data)
    num["untrained_share_alike"] = control["share_alike"]
    num["untrained_feature_maps"] = control["feature_maps"]
    sec.numbers = num
    sec.text(f"HW4 explains {ex.why}. Report 002 used the first activation layer (after conv, "
             f"BN and activation) and image #307; here that layer is `{layer}` and the image is "
             f"#{i} of the {ex.words} images.")
    filters_text(sec, num, label)
    sec.text(textures_sentence(num))
    return sec
