"""HW3 Q6 (report 003): the output-shape formula, checked layer by layer against Keras."""
from __future__ import annotations

from fer_keras.report.common import hw_text
from fer_keras.report.document import Section

ID = "q6-conv-shape"
TITLE = "HW3 Q6 (report 003). The output shape of Conv2D"
QUESTION = ("Derive the output shape of a Conv2D layer with input (B, W, H, C), kernel (k1, k2), "
            "stride (s1, s2) and padding (p1, p2).")
ORDER = 60
SECONDS = {"full": 0.2}  # on the reference machine (fer_keras.report.catalogue)
MODELS = ()  # builds deep_cnn; the CNN only when --model gives it


def answer(ctx):
    """HW3 Q6 (report 003): the output-shape formula, checked layer by layer against Keras."""
    from fer_keras import models
    from fer_keras.models import shapes

    sec = Section("q6-conv-shape")
    sec.text("Pad the W x H input with P1 (P2) zeros on each side: W + 2P1 positions. A kernel "
             "of width K1 moved by S1 fits n times when K1 + (n - 1) S1 <= W + 2P1; the largest "
             "such n is the output width:")
    sec.code("out_W = floor((W + 2*P1 - K1) / S1) + 1\n"
             "out_H = floor((H + 2*P2 - K2) / S2) + 1\n"
             "output: (B, out_W, out_H, output_channels)")
    sec.text("Keras names the padding instead: `valid` is P = 0, and `same` pads just enough "
             "that out = ceil(W / S) (the extra zero goes to the bottom/right when the total is "
             "odd). `fer_keras.models.shapes.conv2d_output_shape` implements both; a property test "
             "checks it against real Keras layers on random sizes, kernels, strides, dilations "
             "and paddings.")
    checks = []
    for name in dict.fromkeys((ctx.cnn_name(), "deep_cnn")):
        # a given model file (report --model PATH) is read as it is, registry names are built
        net = ctx.model(name) if ctx.cfg.model_path and name == ctx.cnn_name() else \
            models.build(name)
        rows = shapes.layer_shape_rows(net)
        checks.append({"model": name, "rows": [{**r, "padding": str(r["padding"])} for r in rows],
                       "layers": len(rows), "all_match": all(r["match"] for r in rows)})
        sec.table(["layer", "type", "input", "kernel", "stride", "padding", "formula", "Keras"],
                  [(r["layer"], r["type"], hw_text(r["input"]), hw_text(r["kernel"]), hw_text(r["stride"]),
                    str(r["padding"]), hw_text(r["formula"]), hw_text(r["keras"])) for r in rows],
                  caption=f"`{name}`: hand-derived vs Keras output sizes")
    example = shapes.conv2d_output_shape((48, 48), 5, 1, 2)
    sec.numbers = {"formula": shapes.FORMULA, "models": checks,
                   "report_003_first_layer": list(example)}
    total = sum(c["layers"] for c in checks)
    ok = sum(sum(r["match"] for r in c["rows"]) for c in checks)
    sec.text(f"Report 003's first layer, Conv2d(1, 32, kernel 5, stride 1, padding 2) on 48x48: "
             f"floor((48 + 4 - 5) / 1) + 1 = {example[0]}, so {example[0]}x{example[1]}x32, as its "
             f"table says. Over the {total} convolution and pooling layers above the formula "
             f"gives Keras's size for **{ok} of {total}**.")
    return sec
