"""The filter section (gradient ascent, feature maps) that HW3 Q5 and HW4 Q2 share."""
from __future__ import annotations

from fer_keras.report.document import fnum, pct


def activation_after(net, conv):
    """The first activation layer after the convolution ``conv`` (its rectified output, as
    report 002's activation_1 after conv, BN and activation), else ``conv`` itself."""
    names = [layer.name for layer in net.layers]
    for layer in net.layers[names.index(conv) + 1:]:
        if type(layer).__name__ in ("Activation", "ReLU", "LeakyReLU", "ELU", "PReLU"):
            return layer.name
    return conv


def untrained_control(ctx, net, layer, row, data, parts=("ascent", "features")):
    """The same measurements on the same architecture with fresh random weights (same ascent
    settings and seed): the control of the reports' qualitative filter claims, since random
    filters differ from each other and also keep parts of an image or trace its edges.
    ``parts`` as :class:`fer_keras.analyses.filters.Settings`'s. Returns ``{"share_alike":
    share of pairs of different filters with alike spectra (with "ascent"), "feature_maps":
    the counts of :func:`fer_keras.analyses.filters.feature_map_kinds` and "contours":
    :func:`~fer_keras.analyses.filters.contour_maps`'s counts for image ``row`` (with
    "features")}``."""
    import keras

    from fer_keras.analyses import filters

    keras.utils.set_random_seed(ctx.cfg.seed)
    fresh = keras.models.clone_model(net)
    settings = filters.Settings(parts=tuple(parts), filters=ctx.profile["ascent_filters"],
                                steps=ctx.profile["ascent_steps"], feature_map_filters=1,
                                seed=ctx.cfg.seed)
    m = filters.run(fresh, data, settings, None, layer=layer, row=row).numbers
    out = {}
    if "ascent" in parts:
        out["share_alike"] = float(m["noise_vs_image"].get("within_a_share_alike",
                                                            float("nan")))
    if "features" in parts:
        fm = m["feature_maps"]
        out["feature_maps"] = {k: fm[k] for k in ("channels", "dead", "keep_face",
                                                  "invert_face", "other")}
        out["contours"] = {k: fm["contours"][k] for k in ("live", "contour", "share")}
    return out


def filters_block(ctx, sec, layer, row, image_label, subject):
    """Gradient ascent on ``layer`` of ``subject``'s model (from noise and from image ``row``
    of its images) and that layer's outputs for the image: figures in ``sec``, numbers
    returned."""
    from fer_keras.analyses import filters

    settings = filters.Settings(filters=ctx.profile["ascent_filters"],
                                steps=ctx.profile["ascent_steps"],
                                feature_map_filters=ctx.profile["feature_map_filters"],
                                seed=ctx.cfg.seed)
    res = filters.run(ctx.model(subject.name), subject.data, settings, ctx.qdir(sec.id),
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
            "noise_vs_image": {k: v for k, v in m["noise_vs_image"].items()
                               if k not in ("per_filter", "noise_a", "noise_b")}
            | {"noise_tiles_noise_start": int(sum(m["noise_vs_image"]["noise_a"])),
               "noise_tiles_image_start": int(sum(m["noise_vs_image"]["noise_b"]))},
            "feature_maps": {k: fm[k] for k in ("channels", "shape", "dead", "keep_face",
                                                "invert_face", "other")}}


def filters_text(sec, num, image_label):
    fmn = num["feature_maps"]
    sec.text(f"**Gradient ascent** on the first {num['filters']} filters of `{num['layer']}`, "
             f"{num['steps']} steps each (with jitter, blur and total-variation regularisers). "
             f"From noise, the filters' mean activation went from "
             f"{fnum(num['noise']['start_activation'], 3)} to "
             f"{fnum(num['noise']['final_activation'], 3)} "
             f"({pct(num['noise']['share_increased'], 0)} "
             f"of the filters increased); from {image_label}, from "
             f"{fnum(num['image']['start_activation'], 3)} to "
             f"{fnum(num['image']['final_activation'], 3)} "
             f"({pct(num['image']['share_increased'], 0)}).")
    sec.text(similarity_sentence(num))

    def n(key, one, many):  # "1 inverts", "2 invert"
        return _count(fmn[key], one, many)

    sec.text(f"**Filter outputs.** Of the {fmn['channels']} filters of `{num['layer']}` "
             f"({fmn['shape'][0]}x{fmn['shape'][1]} maps), "
             f"{n('keep_face', 'reproduces', 'reproduce')} the face (correlation with the image "
             f"> 0.5), {n('invert_face', 'inverts', 'invert')} it (< -0.5), "
             f"{n('other', 'keeps', 'keep')} only some parts or the edges, and "
             f"{n('dead', 'is', 'are')} silent on this image.")


def textures_sentence(num):
    """Do the filters respond to different textures (report 002, HW4 Q2)? From the share of
    pairs of different filters whose noise-start patterns have alike spectra."""
    w = num["noise_vs_image"].get("within_a_share_alike", float("nan"))
    if w != w:  # NaN: every tile stayed noise
        return "No two filters left a pattern to compare, so whether they differ is not shown."
    return (f"Between filters, {pct(w, 0)} of the pairs of patterns found from noise have alike "
            "spectra: " + ("each filter responds to a texture of its own, as report 002 saw."
                           if w < 0.5 else "many filters respond to the same texture, unlike "
                           "what report 002 saw."))


def _count(k, one, many):
    """``"1 tile"``, ``"2 tiles"``: the count with the word of its number."""
    return f"{k} {one if k == 1 else many}"


def similarity_sentence(num):
    """The comparison of the two ascent grids, from :func:`fer_keras.analyses.filters.
    grid_similarity`'s numbers (``num["noise_vs_image"]``): how many tiles stayed noise, how
    many filters gave alike spectra, and the verdict against report 000 ("alike")."""
    from fer_keras.analyses.filters import ALIKE, SIMILAR_SHARE

    g = num["noise_vs_image"]
    f = num["filters"]
    a, b = g["noise_tiles_noise_start"], g["noise_tiles_image_start"]
    def side(k, start):
        # a tile whose power spectrum is as flat as white noise's: no pattern for that filter
        if not k:
            return f"the ascent from {start} found a pattern for every filter"
        return (f"the ascent from {start} found none for {_count(k, 'filter', 'filters')} "
                "(the tile stayed plain noise, its power spectrum as flat as white noise's)")

    noise = f"Of the {f} filters, {side(a, 'noise')}, and {side(b, 'the face')}"
    if not g["compared"]:
        return (noise + "; with no filter left on both sides, the two grids cannot be "
                "compared: report 000's \"alike\" is not tested here.")
    words = (f"Comparing the rest by what does not change when stripes shift (each tile's "
             f"orientation and spatial-frequency spectrum, from its Fourier magnitude), "
             f"{g['alike']} of the {g['compared']} filters give alike spectra from both starts "
             f"(descriptor correlation >= {ALIKE}; two different filters are alike in "
             f"{pct(g['chance_share_alike'], 0)} of pairs)")
    if g["similar"]:
        verdict = (f": at least {pct(SIMILAR_SHARE, 0)} of the filters, so starting from the "
                   "face gives much the same textures as starting from noise, as report 000 "
                   "found.")
    else:
        verdict = (f": fewer than {pct(SIMILAR_SHARE, 0)} of the filters, so starting from the "
                   "face gives other textures than starting from noise (report 000 found them "
                   "alike).")
    return noise + ". " + words + verdict
