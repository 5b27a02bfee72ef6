"""Explanation timings (issue 4): ``python -m benchmarks.bench_explain``.

Report-sized CNN (``simple_cnn3``: [64, 128, 512] filters, 793,863 parameters, untrained: the
cost does not depend on the weights) on synthetic faces:

* vanilla saliency for 3,589 images (one FER2013 PublicTest split), and on the same network at
  a 64x64 [-1, 1] input (any-model path: resize + rescale);
* LIME for one image with 1,000 perturbed samples (target ~1 s of model time);
* gradient ascent on 64 filters x 200 steps (one batch of 64 images per step);
* t-SNE of 3,000 points (the last hidden layer's 4,608 values per image);
* ROAD (Rong et al. 2022) for 200 images: 9 removal shares x 2 orders of noisy linear
  imputation (one sparse solve per 64 images) and the model calls;
* every registered saliency method (:mod:`fer_keras.explain.methods`) on ``fer_net`` (the
  shipped model's architecture, 1.18 M parameters, untrained) with its default settings, in
  seconds per 1,000 images (:func:`method_rows`: each method timed on as many images as fill
  about :data:`METHOD_SECONDS` seconds, at least 8, at most 1,000).

``run(reps=3)`` returns ``[{"name", "seconds_median", "min_s", "max_s", "note"[, "items",
"per_item_ms"]}, ...]`` (``median_s`` repeats ``seconds_median`` for older callers).
"""
from __future__ import annotations

import os

from benchmarks import time_calls

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

N_SALIENCY = 3589
N_TSNE = 3000
N_ROAD = 200
#: Target length of one timed call of :func:`method_rows` (seconds).
METHOD_SECONDS = 10.0


def _row(name, secs, note="", items=None):
    s = sorted(secs)
    med = s[len(s) // 2] if len(s) % 2 else (s[len(s) // 2 - 1] + s[len(s) // 2]) / 2
    row = {"name": name, "seconds_median": med, "median_s": med, "min_s": s[0], "max_s": s[-1],
           "note": note}
    if items:
        row["items"] = int(items)
        row["per_item_ms"] = 1e3 * med / items
    return row


def run(reps=3, log=print):
    import keras

    from fer_keras import explain as ex
    from fer_keras import models
    from fer_keras.data.synthetic import make_faces

    keras.utils.set_random_seed(0)
    net = models.build("simple_cnn3")
    x, y, _ = make_faces(N_SALIENCY, seed=0)
    rows = []
    # the default method on a whole PublicTest split: the reference of the any-model row below
    # (every method's own cost: method_rows). Warm-up on a small batch only: compiles the graph
    # without a full extra pass
    ex.saliency_maps(net, x[:128], y[:128])
    secs = time_calls(lambda: ex.saliency_maps(net, x, y), reps, warmup=0)
    r = _row(f"saliency vanilla, {N_SALIENCY} images", secs,
             f"simple_cnn3, batch 128; {1e3 * min(secs) / N_SALIENCY:.2f} ms/image", N_SALIENCY)
    rows.append(r)
    log(r)
    # any model (issue 15): the same network at 64x64 input scaled to [-1, 1], given the 48x48
    # faces (resized with antialiasing through its input contract); target within 2x of 48x48
    from fer_keras.models.contract import InputContract

    net64 = models.build("simple_cnn3", input_shape=(64, 64, 1))
    c64 = InputContract(height=64, width=64, input_range=(-1.0, 1.0))
    ex.saliency_maps(net64, x[:128], y[:128], contract=c64)
    secs = time_calls(lambda: ex.saliency_maps(net64, x, y, contract=c64), reps, warmup=0)
    r = _row(f"saliency vanilla, {N_SALIENCY} images, 64x64 [-1,1] model", secs,
             f"simple_cnn3 at 64x64, faces resized; {1e3 * min(secs) / N_SALIENCY:.2f} ms/image "
             f"({min(secs) / rows[0]['min_s']:.2f}x the 48x48 row)", N_SALIENCY)
    rows.append(r)
    log(r)
    secs = time_calls(lambda: ex.lime_explanation(net, x[0], num_samples=1000), reps)
    rows.append(_row("LIME, 1 image, 1,000 samples, SLIC ~50", secs,
                     "model called in one batch of 1,000", 1))
    log(rows[-1])
    # LIME's time is mostly the model's: simple_cnn3 costs ~0.26 GFLOP per 48x48 image
    secs = time_calls(lambda: ex.predict_proba(net, x[:1000], batch_size=1000), reps)
    rows.append(_row("forward pass, 1,000 images (LIME's model share)", secs,
                     "simple_cnn3, one batch of 1,000"))
    log(rows[-1])
    ex.filter_ascent(net, "conv1", filters=64, steps=2, progress=False)
    secs = time_calls(lambda: ex.filter_ascent(net, "conv1", filters=64, steps=200, progress=False),
                 reps, warmup=0)
    rows.append(_row("gradient ascent conv1, 64 filters x 200 steps", secs,
                     "all filters as one batch", 64))
    log(rows[-1])
    xt, yt, _ = make_faces(N_TSNE, seed=1)
    layer = ex.last_hidden_layer(net)
    secs = time_calls(lambda: ex.tsne_embedding(net, layer, xt, yt), reps, warmup=0)
    rows.append(_row(f"t-SNE {N_TSNE} points ({layer})", secs, "PCA 50 + Barnes-Hut, 1 thread",
                     N_TSNE))
    log(rows[-1])
    rows.append(road_row(net, x, y))
    log(rows[-1])
    rows += method_rows(reps, log=log)
    return rows


def method_rows(reps=3, log=print):
    """Seconds per 1,000 images of every registered saliency method on an untrained ``fer_net``
    (48x48 grey, its default layer; the cost does not depend on the weights), synthetic
    faces, default options, SmoothGrad's 20 samples. A probe on 8 images (after a warm-up
    that compiles) sets the number of images so that one timed call lasts about
    :data:`METHOD_SECONDS`; ``per_1000_s`` is the median call scaled to 1,000 images."""
    import keras

    from fer_keras import explain as ex
    from fer_keras import models
    from fer_keras.data.synthetic import make_faces
    from fer_keras.explain import methods

    keras.utils.set_random_seed(0)
    net = models.build("fer_net")
    x, y, _ = make_faces(1000, seed=2)
    rows = []
    for name in methods.names():
        def call(n, name=name):
            return ex.saliency_maps(net, x[:n], y[:n], method=name)

        call(8)  # compile
        probe = min(time_calls(lambda: call(8), 1, warmup=0))
        n = int(min(1000, max(8, 8 * METHOD_SECONDS / max(probe, 1e-3))))
        secs = time_calls(lambda n=n: call(n), reps, warmup=0)
        r = _row(f"method {name}, {n} images", secs,
                 f"fer_net 48x48, {methods.get(name).title}; "
                 f"{1e3 * sorted(secs)[len(secs) // 2] / n:.1f} ms/image", n)
        r["method"] = name
        r["per_1000_s"] = r["seconds_median"] * 1000 / n
        rows.append(r)
        log(r)
    return rows


def road_row(net, x, y, reps=1):
    """ROAD of one map set for :data:`N_ROAD` images (once by default: about a minute)."""
    from fer_keras import explain as ex

    xs, ys = x[:N_ROAD], y[:N_ROAD]
    maps = ex.smooth_random_maps(N_ROAD)
    ex.predict_proba(net, xs[:8])  # compile the forward pass outside the timing
    secs = time_calls(lambda: ex.road(net, xs, ys, maps), reps, warmup=0)
    return _row(f"ROAD, {N_ROAD} images, 9 shares x MoRF/LeRF", secs,
                "simple_cnn3; noisy linear imputation, scipy spsolve per 64 images", N_ROAD)


def main():
    """``python -m benchmarks.bench_explain [REPS] [methods]``: every row, or (``methods``) only
    the per-method rows."""
    import sys

    args = sys.argv[1:]
    only_methods = "methods" in args
    args = [a for a in args if a != "methods"]
    reps = int(args[0]) if args else 3
    rows = (method_rows if only_methods else run)(reps, log=lambda r: None)
    print(f"{'benchmark':55s} {'median s':>9s} {'min s':>8s} {'max s':>8s}  note")
    for r in rows:
        per = f"  {r['per_1000_s']:.1f} s per 1,000 images" if "per_1000_s" in r else ""
        print(f"{r['name']:55s} {r['median_s']:9.3f} {r['min_s']:8.3f} {r['max_s']:8.3f}  "
              f"{r['note']}{per}")


if __name__ == "__main__":
    main()
