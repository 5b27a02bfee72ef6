"""HW3 Q5: gradient ascent on the last conv layer's activation (report 003), from noise and"""
from __future__ import annotations

from fer_keras import CLASS_NAMES
from fer_keras.report.common import pick_examples
from fer_keras.report.document import Section
from fer_keras.report.questions._filters import (
    activation_after,
    filters_block,
    filters_text,
    untrained_control,
)

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
    num["report_000"] = report_layer(ctx, sec, "000-q5-alike", i, label)
    num["report_004"] = report_layer(ctx, sec, "004-q5-contours", i, label, STEPS_004)
    return sec


#: Report 004's ascent length ("gradient ascent 跑了 500 個 epoch"; its figure's title says 200).
STEPS_004 = 500


def report_layer(ctx, sec, claim_id, row, image_label, steps=None):
    """A report's own setting for claim ``claim_id`` (``000-q5-alike``: report 000's CNN;
    ``004-q5-contours``: report 004's): ascent from noise and from image ``row`` on the second
    conv layer (its rectified output) of the claim's finished run (``OUT/runs/<run>``), drawn
    as grids of the profile's ``ascent_filters`` filters (64 in the full profile: the grid the
    reports drew), ``steps`` steps (default: the profile's), and that layer's feature maps for
    the image, and those maps on the same network with random weights. Returns ``{"model",
    "layer", "steps", "noise_vs_image", "noise_tiles", "contours", "untrained_contours"}``, or
    ``{"missing": the command that trains it}``."""
    from fer_keras import explain, models
    from fer_keras.analyses import filters
    from fer_keras.report import claim_runs
    from fer_keras.report.claims import BY_ID

    claim = BY_ID[claim_id]
    report = claim.reports[0]
    spec = claim_runs.specs(claim)[0]
    run = claim_runs.finished(ctx, spec)
    if run is None or claim_runs.mismatch(run.saved_config(), spec):
        return {"missing": claim_runs.command(spec)}
    net = ctx.model(spec[0]) if spec[0] == ctx.cnn_name() else models.load(run.best)
    convs = explain.conv_layer_names(net)
    layer = activation_after(net, convs[1] if len(convs) > 1 else convs[0])
    steps = steps or ctx.profile["ascent_steps"]
    settings = filters.Settings(filters=ctx.profile["ascent_filters"], steps=steps,
                                feature_map_filters=ctx.profile["feature_map_filters"],
                                seed=ctx.cfg.seed)
    out = ctx.qdir(sec.id) / f"report_{report}"
    out.mkdir(parents=True, exist_ok=True)
    res = filters.run(net, ctx.val, settings, out, layer=layer, row=row,
                      image_label=image_label)
    m = res.numbers
    grid = {k: v for k, v in m["noise_vs_image"].items()
            if k not in ("per_filter", "noise_a", "noise_b")}
    n, who = m["filters"], f"Report {report}'s CNN `{spec[1]}`"
    sec.figure(res.files[0], f"{who}: {steps} steps of gradient ascent from white noise on the "
                             f"first {n} filters of its second conv layer `{layer}`", ctx.out)
    sec.figure(res.files[1], f"The same {n} filters of `{spec[1]}`'s `{layer}`, ascent from "
                             f"{image_label}", ctx.out)
    sec.figure(res.files[2], f"The outputs of `{spec[1]}`'s `{layer}` for {image_label}",
               ctx.out)
    tiles, cont = m["noise_tiles"], m["feature_maps"]["contours"]
    untrained = untrained_control(ctx, net, layer, row, ctx.val, parts=("features",))
    sec.text(f"Report {report}'s own setting, its CNN `{spec[1]}` (`runs/{spec[0]}`) at its "
             f"second conv layer `{layer}`, {steps} ascent steps, from noise and from "
             f"{image_label}: {grid.get('alike', 0)} of {grid.get('compared', 0)} filters gave "
             f"alike patterns from both starts; {tiles['featureless']} of {tiles['tiles']} tiles "
             f"from noise show nothing but noise ({tiles['noise']}) or stripes of one orientation "
             f"({tiles['oriented']}); {cont['contour']} of {cont['live']} live feature maps trace "
             "the face's contours (they follow its edge map more than the face itself), "
             f"{untrained['contours']['contour']} of {untrained['contours']['live']} with "
             "random weights.")
    return {"model": spec[1], "layer": layer, "steps": steps, "noise_vs_image": grid,
            "noise_tiles": tiles, "contours": cont, "untrained_contours": untrained["contours"]}
