"""HW3 Q5: gradient ascent on the last conv layer's activation (report 003), from noise and"""
from __future__ import annotations

from fer_keras import CLASS_NAMES
from fer_keras.report.common import pick_examples
from fer_keras.report.document import Section
from fer_keras.report.questions._filters import activation_after, filters_block, filters_text

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
    num = filters_block(ctx, sec, layer, i, label, ctx.cnn_subject())
    num["image_index"] = i
    sec.numbers = num
    sec.text(f"The layer is `{layer}`, the rectified output of the last convolution (report 003 "
             "asks for the last layer's filters; report 000 used its second conv layer).")
    filters_text(sec, num, label)
    num["report_000"] = report_000_layer(ctx, sec, i, label)
    return sec


def report_000_layer(ctx, sec, row, image_label):
    """Report 000's own setting: ascent from noise and from image ``row`` on the second conv
    layer (its rectified output) of report 000's CNN, the finished claim run of claim
    ``000-q5-alike`` (``OUT/runs/hw3_cnn``), drawn as grids of the profile's
    ``ascent_filters`` filters (64 in the full profile: the grid the reports drew). Returns
    ``{"model", "layer", "noise_vs_image"}``, or ``{"missing": the command that trains it}``."""
    from fer_keras import explain, models
    from fer_keras.analyses import filters
    from fer_keras.report import claim_runs
    from fer_keras.report.claims import BY_ID

    spec = claim_runs.specs(BY_ID["000-q5-alike"])[0]
    run = claim_runs.finished(ctx, spec)
    if run is None or claim_runs.mismatch(run.saved_config(), spec):
        return {"missing": claim_runs.command(spec)}
    net = ctx.model(spec[0]) if spec[0] == ctx.cnn_name() else models.load(run.best)
    convs = explain.conv_layer_names(net)
    layer = activation_after(net, convs[1] if len(convs) > 1 else convs[0])
    settings = filters.Settings(filters=ctx.profile["ascent_filters"],
                                steps=ctx.profile["ascent_steps"], feature_map_filters=1,
                                seed=ctx.cfg.seed)
    res = filters.run(net, ctx.val, settings, ctx.qdir(sec.id), layer=layer, row=row,
                      image_label=image_label)
    grid = {k: v for k, v in res.numbers["noise_vs_image"].items()
            if k not in ("per_filter", "noise_a", "noise_b")}
    n = res.numbers["filters"]
    sec.figure(res.files[0], f"Report 000's CNN `{spec[1]}`: gradient ascent from white noise "
                             f"on the first {n} filters of its second conv layer `{layer}`",
               ctx.out)
    sec.figure(res.files[1], f"The same {n} filters of `{spec[1]}`'s `{layer}`, ascent from "
                             f"{image_label}", ctx.out)
    sec.text(f"Report 000's own setting, its CNN `{spec[1]}` (`runs/{spec[0]}`) at its second "
             f"conv layer `{layer}`, from noise and from {image_label}: {grid.get('alike', 0)} "
             f"of {grid.get('compared', 0)} filters gave alike patterns from both starts.")
    return {"model": spec[1], "layer": layer, "noise_vs_image": grid}
