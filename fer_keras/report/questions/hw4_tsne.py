"""HW4 Q4: t-SNE of the first conv layer and of the last hidden layer for ~200 images."""
from __future__ import annotations

from fer_keras.report.document import Section, fnum
from fer_keras.report.rules import LEVELS, RULES, separation_level

ID = "hw4-tsne"
TITLE = "HW4 Q4. t-SNE of the first and the last layer"
QUESTION = ("Free choice: t-SNE of the outputs of the first and the last layer for about 200 "
            "images, coloured by class: are the classes separated?")
ORDER = 110
SECONDS = {"full": 2.4, "quick": 2.3}  # on the reference machine (fer_keras.report.catalogue)
MODELS = ("explained",)  # Context.explained: the shipped model on FER2013


def answer(ctx):
    """HW4 Q4: t-SNE of the first conv layer and of the last hidden layer for ~200 images."""
    from fer_keras import explain
    from fer_keras.analyses import tsne

    sec = Section("hw4-tsne")
    ex = ctx.explained()
    net = ctx.model(ex.name)
    layers = {"first": explain.first_conv_layer(net), "last": explain.last_hidden_layer(net)}
    settings = tsne.Settings(n=ctx.profile["tsne_images"], seed=ctx.cfg.seed)
    res = tsne.run(net, ex.data, settings, ctx.qdir(sec.id), layers=list(layers.values()))
    n = res.numbers["n"]
    out = {}
    for (key, layer), fig in zip(layers.items(), res.files):
        e = res.numbers["layers"][layer]
        sec.figure(fig, f"t-SNE of the {key} layer `{layer}` ({e['dims']:,} dimensions) for "
                        f"{n} {ex.words} images, coloured by true class", ctx.out)
        out[key] = {"layer": layer, "dims": e["dims"], "silhouette": e["silhouette"],
                    "silhouette_shuffled_95": e["silhouette_shuffled_95"],
                    "silhouette_features": e["silhouette_features"],
                    "level": separation_level(e["silhouette"], e["silhouette_shuffled_95"])}
    sec.numbers = {"images": int(n), "model": ex.name, **out}
    sec.text(f"HW4 explains {ex.why}.")
    sec.text(f"Silhouette score of the classes in the 2-D embedding (from -1 to 1; higher = "
             f"classes better separated): first layer `{out['first']['layer']}` "
             f"{fnum(out['first']['silhouette'])}, last hidden layer `{out['last']['layer']}` "
             f"{fnum(out['last']['silhouette'])}; with the labels shuffled (the control), the "
             f"95th percentile is {fnum(out['first']['silhouette_shuffled_95'])} and "
             f"{fnum(out['last']['silhouette_shuffled_95'])}. **Rule**: {RULES['separation']}.")
    sec.text(separation_sentence(out["first"], out["last"]))
    return sec


def separation_sentence(first, last):
    """What the two layers' separation levels (:func:`fer_keras.report.rules.separation_level`)
    say against report 002 (first layer: cannot be separated; last layer: the classes differ
    slightly, not clearly)."""
    a, b = first["level"], last["level"]
    txt = f"By that rule the classes are **{a}** in the first layer and **{b}** in the last one"
    l_s = last["silhouette"]
    if LEVELS.index(b) > LEVELS.index(a):
        txt += ": the last layer separates them better, as report 002 found"
        if b == "slightly separated":
            txt += (" (\"the classes' distributions differ slightly, but not clearly\"): it "
                    "groups them more than shuffled labels do"
                    + (f", although on average an image lies as close to another class as "
                       f"to its own (silhouette {fnum(l_s)})" if l_s <= 0 else ""))
    elif b == a == "not separated":
        ctrl = last.get("silhouette_shuffled_95", float("nan"))
        txt += (": the last layer does not separate the classes either, unlike report 002: "
                f"its silhouette, {fnum(l_s)}, is not above the shuffled-label control's "
                f"{fnum(ctrl)}")
    elif b == a:
        txt += ": the last layer does not separate them better than the first, unlike report 002"
    else:
        txt += ": the last layer separates them less than the first, unlike report 002"
    return txt + "."
