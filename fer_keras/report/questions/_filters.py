"""The filter section (gradient ascent, feature maps) that HW3 Q5 and HW4 Q2 share."""
from __future__ import annotations

from fer_keras.report.document import fnum, pct


def filters_block(ctx, sec, layer, row, image_label):
    from fer_keras.analyses import filters

    settings = filters.Settings(filters=ctx.profile["ascent_filters"],
                                steps=ctx.profile["ascent_steps"],
                                feature_map_filters=ctx.profile["feature_map_filters"],
                                seed=ctx.cfg.seed)
    res = filters.run(ctx.model(ctx.cnn_name()), ctx.val, settings, ctx.qdir(sec.id),
                      layer=layer, row=row, image_label=image_label)
    m = res.numbers
    f1, f2, f3 = res.files[:3]
    fm = m["feature_maps"]
    sec.figure(f1, f"Gradient ascent from white noise: the input that maximises each of the "
                   f"first {m['filters']} filters of `{layer}`", ctx.out)
    sec.figure(f2, f"Gradient ascent from {image_label}", ctx.out)
    nfm = min(fm["channels"], settings.feature_map_filters)
    shown = ("each filter" if nfm == fm["channels"]
             else f"the first {nfm} of its {fm['channels']} filters")
    sec.figure(f3, f"Output of {shown} of `{layer}` for {image_label}", ctx.out)
    keep = ("start_activation", "final_activation", "share_increased")
    return {"layer": layer, "filters": m["filters"], "steps": m["steps"],
            **{k: {q: m[k][q] for q in keep} for k in ("noise", "image")},
            "noise_vs_image_pattern_correlation": m["noise_vs_image_pattern_correlation"],
            "feature_maps": {k: fm[k] for k in ("channels", "shape", "dead", "keep_face",
                                                "invert_face", "other")}}


def filters_text(sec, num, image_label):
    fmn = num["feature_maps"]
    sec.text(f"**Gradient ascent** on the first {num['filters']} filters of `{num['layer']}`, "
             f"{num['steps']} steps each (with jitter, blur and total-variation regularisers). "
             f"From noise, the filters' mean activation went from "
             f"{fnum(num['noise']['start_activation'], 3)} to "
             f"{fnum(num['noise']['final_activation'], 3)} ({pct(num['noise']['share_increased'], 0)} "
             f"of the filters increased); from {image_label}, from "
             f"{fnum(num['image']['start_activation'], 3)} to "
             f"{fnum(num['image']['final_activation'], 3)} ({pct(num['image']['share_increased'], 0)}).")
    r = num["noise_vs_image_pattern_correlation"]
    similar = r > 0.3
    sec.text(f"The patterns found from noise and those added to the face correlate "
             f"r = {fnum(r)} on average" + (
                 ": starting from the face gives much the same textures as starting from noise, "
                 "as report 000 found." if similar else
                 ": starting from the face gives other patterns than starting from noise "
                 "(report 000 found them alike)."))
    sec.text(f"**Filter outputs.** Of the {fmn['channels']} filters of `{num['layer']}` "
             f"({fmn['shape'][0]}x{fmn['shape'][1]} maps), {fmn['keep_face']} reproduce the face "
             f"(correlation with the image > 0.5), {fmn['invert_face']} invert it (< -0.5), "
             f"{fmn['other']} keep only some parts or the edges, and {fmn['dead']} are silent "
             "on this image.")
