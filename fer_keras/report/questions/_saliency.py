"""The saliency section that HW3 Q4 and HW4 Q1 share."""
from __future__ import annotations

from fer_keras import CLASS_NAMES
from fer_keras.report.common import pick_examples
from fer_keras.report.document import fnum


def saliency_section(ctx, sec, classes, method):
    from fer_keras.analyses import saliency

    name = ctx.cnn_name()
    ds = ctx.val
    probs = ctx.probs(name, "val")
    picks = pick_examples(ds, probs, ctx.profile["saliency_images"],
                          [CLASS_NAMES.index(c) for c in classes])
    settings = saliency.Settings(methods=(method,), samples=ctx.profile["smoothgrad_samples"],
                                 seed=ctx.cfg.seed)
    res = saliency.run(ctx.model(name), ds, settings, ctx.qdir(sec.id), picks=picks, probs=probs)
    stats = res.numbers["methods"][method]["classes"]
    sec.figure(res.files[0], f"{saliency.CAPTIONS[method]} for one validation image per class "
                             "(the most confident correct one): original, map, image masked by "
                             "the map", ctx.out)
    rows = []
    for cname, e in stats.items():
        row = [cname, str(e["images"]), fnum(e["eyes"]), fnum(e["mouth"]), e["focus"]]
        if "part_mask_concentration" in e:
            row.append(fnum(e["part_mask_concentration"]))
        rows.append(row)
    header = ["class", "images", "eyes region", "mouth region", "focus"]
    if ds.masks is not None:
        header.append("true parts")
    sec.table(header, rows, caption="Concentration of the saliency mass in each region (1 = "
              "uniform, 2 = twice the mass a uniform map puts there), averaged over the images"
              + ("; true parts = the mouth, brows and eyes drawn in the synthetic faces"
                 if ds.masks is not None else ""))
    return stats, res.numbers["regions"], res.numbers["methods"][method].get("ground_truth")
