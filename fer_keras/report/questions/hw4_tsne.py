"""HW4 Q4: t-SNE of the first conv layer and of the last hidden layer for ~200 images."""
from __future__ import annotations

from fer_keras.report.document import Section, fnum


def answer(ctx):
    """HW4 Q4: t-SNE of the first conv layer and of the last hidden layer for ~200 images."""
    from fer_keras import explain
    from fer_keras.analyses import tsne

    sec = Section("hw4-tsne")
    net = ctx.model(ctx.cnn_name())
    layers = {"first": explain.first_conv_layer(net), "last": explain.last_hidden_layer(net)}
    settings = tsne.Settings(n=ctx.profile["tsne_images"], seed=ctx.cfg.seed)
    res = tsne.run(net, ctx.val, settings, ctx.qdir(sec.id), layers=list(layers.values()))
    n = res.numbers["n"]
    out = {}
    for (key, layer), fig in zip(layers.items(), res.files):
        e = res.numbers["layers"][layer]
        sec.figure(fig, f"t-SNE of the {key} layer `{layer}` ({e['dims']:,} dimensions) for "
                        f"{n} validation images, coloured by true class", ctx.out)
        out[key] = {"layer": layer, "dims": e["dims"], "silhouette": e["silhouette"],
                    "silhouette_features": e["silhouette_features"]}
    sec.numbers = {"images": int(n), **out}
    a, b = out["first"]["silhouette"], out["last"]["silhouette"]
    sec.text(f"Silhouette score of the classes in the 2-D embedding (from -1 to 1; higher = "
             f"classes better separated): first layer `{out['first']['layer']}` {fnum(a)}, "
             f"last hidden layer `{out['last']['layer']}` {fnum(b)}.")
    if b > a + 0.05:
        sec.text("In the first layer the classes overlap; by the last layer they are much better "
                 "separated, as report 002 found" + (" (there, not completely: its model was "
                                                      "68% accurate)." if b < 0.5 else "."))
    else:
        sec.text("Unlike in report 002, the last layer does not separate the classes clearly "
                 "better than the first one.")
    return sec
