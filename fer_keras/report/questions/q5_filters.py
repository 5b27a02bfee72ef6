"""HW3 Q5: gradient ascent on the last conv layer's activation (report 003), from noise and"""
from __future__ import annotations

from fer_keras import CLASS_NAMES
from fer_keras.report.common import pick_examples
from fer_keras.report.document import Section
from fer_keras.report.questions._filters import filters_block, filters_text

ID = "q5-filters"
TITLE = "HW3 Q5. Gradient ascent: what activates the filters"
QUESTION = ("With gradient ascent, find which images maximally activate the filters of a "
            "chosen layer, starting from white noise and from a real image; show that layer's "
            "filter outputs for one image.")
ORDER = 50
SECONDS = {"full": 29.0, "quick": 8.4}  # on the reference machine (fer_keras.report.catalogue)


def _conv_for_q5(net):
    """The last convolution's rectified output (report 003 asks for "the last layer's filters";
    a raw conv output can be a linear function of the image, e.g. ``small_cnn``'s conv2 follows
    conv1 with no activation between, and its ascent just saturates the image)."""
    from fer_keras import explain

    return explain.gradcam_layer(net)


def answer(ctx):
    """HW3 Q5: gradient ascent on the last conv layer's activation (report 003), from noise and
    from a face, and that layer's feature maps for the face."""
    sec = Section("q5-filters")
    name = ctx.cnn_name()
    net = ctx.model(name)
    layer = _conv_for_q5(net)
    picks = pick_examples(ctx.val, ctx.probs(name, "val"), 1, [CLASS_NAMES.index("Happy")])
    i = int(next(iter(picks.values()))[0]) if picks else 0
    label = f"validation image #{i} ({CLASS_NAMES[int(ctx.val.labels[i])]})"
    num = filters_block(ctx, sec, layer, i, label)
    num["image_index"] = i
    sec.numbers = num
    sec.text(f"The layer is `{layer}`, the rectified output of the last convolution (report 003 "
             "asks for the last layer's filters; report 000 used its second conv layer).")
    filters_text(sec, num, label)
    return sec
