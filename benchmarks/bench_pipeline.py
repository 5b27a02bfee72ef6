"""Training-input throughput: ImageDataGenerator, tf.data and the default numpy path, and the
augmentation layer (RandomAffine) against Keras's RandomRotation/Translation/Zoom/Flip stack.

Every input path is timed on its own (no model), so its images/s can be compared with the
training throughput of small_cnn: a ratio above 1 means the input is not what training waits for.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from benchmarks import rate, timeit

BATCH = 128
JAX_PY = Path(__file__).resolve().parents[1] / ".venv-jax" / "bin" / "python"


def _data(n=4096, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 48, 48), dtype=np.uint8)
    labels = rng.choice(7, n, p=[.14, .015, .14, .25, .17, .11, .175]).astype(np.int32)
    return images, labels


def _cfg():
    from fer_keras.config import TrainConfig

    return TrainConfig(batch_size=BATCH, oversample=True, augment=True, seed=0)


def idg_path(reps=3, batches=4):
    """images/s of ``idg_training_sequence`` batches (scipy warp per image)."""
    from fer_keras.data.oversample import idg_training_sequence

    images, labels = _data()
    seq = idg_training_sequence(images, labels, _cfg())
    state = {"i": 0}

    def go():
        for _ in range(batches):
            seq[state["i"] % len(seq)]
            state["i"] += 1

    return rate(BATCH * batches, timeit(go, reps, warmup=1))


def tfdata_path(reps=3, batches=20):
    """images/s of iterating ``training_dataset`` (prefetched, parallel map)."""
    from fer_keras.train.tfdata import training_dataset

    images, labels = _data()
    ds, _ = training_dataset(images, labels, _cfg())
    it = iter(ds)

    def go():
        for _ in range(batches):
            next(it)

    return rate(BATCH * batches, timeit(go, reps, warmup=1))


def numpy_path(reps=3, batches=20):
    """images/s of ``EpochBatches`` batches with ``RandomAffine`` applied (compiled, as in the
    train step)."""
    import tensorflow as tf

    from fer_keras.data.pipeline import EpochBatches
    from fer_keras.train.augment import RandomAffine

    images, labels = _data()
    seq = EpochBatches(images, labels, BATCH, seed=0, oversample=True)
    layer = RandomAffine(10.0, 0.1, 0.1, True, 0.0, seed=0)
    aug = tf.function(lambda x: layer(x, training=True))
    state = {"i": 0}

    def go():
        for _ in range(batches):
            x, _ = seq[state["i"] % len(seq)]
            state["i"] += 1
            aug(x).numpy()

    return rate(BATCH * batches, timeit(go, reps, warmup=1))


# --------------------------------------------------------------------------- augmentation layers
def _layers_bench(reps, batches):
    """{"random_affine": stats, "keras_stack": stats} on the current Keras backend."""
    import keras

    from fer_keras.train.augment import RandomAffine

    x = np.random.default_rng(0).random((BATCH, 48, 48, 1), dtype=np.float32)
    ours = RandomAffine(10.0, 0.1, 0.1, True, 0.0, seed=0)
    stack = keras.Sequential([
        keras.Input((48, 48, 1)),
        keras.layers.RandomRotation(10.0 / 360.0, fill_mode="nearest", seed=0),
        keras.layers.RandomTranslation(0.1, 0.1, fill_mode="nearest", seed=1),
        keras.layers.RandomZoom(0.1, fill_mode="nearest", seed=2),
        keras.layers.RandomFlip("horizontal", seed=3)])
    ours.build(x.shape)
    backend = keras.backend.backend()
    out = {"backend": backend}
    for key, layer in (("random_affine", ours), ("keras_stack", stack)):
        if backend == "tensorflow":
            import tensorflow as tf

            f = tf.function(lambda x, layer=layer: layer(x, training=True))
            call = lambda: f(x).numpy()  # noqa: E731
            mode = "tf.function"
        elif backend == "jax":
            import jax

            nt = [v.value for v in layer.non_trainable_variables]
            tv = [v.value for v in layer.trainable_variables]

            @jax.jit
            def f(nt, x, layer=layer):
                y, nt2 = layer.stateless_call(tv, nt, x, training=True)
                return y, nt2

            st = {"nt": nt}

            def call(f=f, st=st):
                y, st["nt"] = f(st["nt"], x)
                y.block_until_ready()

            mode = "jax.jit"
        else:
            call = lambda layer=layer: np.asarray(layer(x, training=True))  # noqa: E731
            mode = "eager"

        def go(call=call):
            for _ in range(batches):
                call()

        out[key] = rate(BATCH * batches, timeit(go, reps, warmup=1))
        out["mode"] = mode
    return out


def augment_layers(reps=3, batches=10):
    """The layer comparison on TensorFlow (in-process) and on JAX (subprocess, when
    ``.venv-jax`` exists): {"tensorflow": ..., "jax": ... or {"skipped": why}}."""
    res = {"tensorflow": _layers_bench(reps, batches)}
    if not JAX_PY.exists():
        res["jax"] = {"skipped": f"{JAX_PY} not found"}
        return res
    env = dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="3")
    code = ("import json; from benchmarks.bench_pipeline import _layers_bench; "
            f"print('@@' + json.dumps(_layers_bench({reps}, {batches})))")
    try:
        p = subprocess.run([str(JAX_PY), "-c", code], cwd=str(JAX_PY.parents[2]), env=env,
                           capture_output=True, text=True, timeout=300)
        line = [ln for ln in p.stdout.splitlines() if ln.startswith("@@")]
        res["jax"] = (json.loads(line[-1][2:]) if line else
                      {"skipped": f"JAX run failed: {(p.stderr.strip().splitlines() or ['?'])[-1]}"})
    except subprocess.TimeoutExpired:
        res["jax"] = {"skipped": "JAX run timed out"}
    return res


def run(reps=3, log=print):
    log("  ImageDataGenerator path ...")
    idg = idg_path(reps)
    log(f"    {idg['median']:.0f} img/s")
    log("  tf.data path ...")
    tfd = tfdata_path(reps)
    log(f"    {tfd['median']:.0f} img/s")
    log("  numpy path + RandomAffine ...")
    npy = numpy_path(reps)
    log(f"    {npy['median']:.0f} img/s")
    log("  augmentation layers (TF, JAX) ...")
    layers = augment_layers(reps)
    return {"idg": idg, "tfdata": tfd, "numpy": npy, "layers": layers}


if __name__ == "__main__":  # pragma: no cover
    print(json.dumps(run(), indent=1, default=str))
    sys.exit(0)


# =========================================================================== used by run.py
# The functions below are what ``benchmarks/run.py`` calls: FER2013-sized data, the three inputs
# side by side (:func:`bench_inputs`), and the augmentation comparison per backend
# (:func:`bench_augment`, :func:`bench_augment_jax`).
import time  # noqa: E402

from benchmarks import stats  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
FER_COUNTS = np.array([3995, 436, 4097, 7215, 4830, 3171, 4965])


def fer_like_data(scale=1.0, seed=0):
    """Random uint8 ``(N, 48, 48)`` images with FER2013's training class counts (x ``scale``)."""
    counts = np.maximum(1, np.round(FER_COUNTS * scale)).astype(int)
    labels = np.repeat(np.arange(7), counts)
    rng = np.random.default_rng(seed)
    rng.shuffle(labels)
    images = rng.integers(0, 256, (len(labels), 48, 48), dtype=np.uint8)
    return images, labels


def _rate(fn, n_images, reps):
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        out.append(n_images / (time.perf_counter() - t))
    return stats(out)


def bench_inputs(batch=BATCH, reps=5, quick=False):
    """Rows ``{"pipeline", "img_s", "note"}`` for the idg, tfdata and numpy inputs on
    FER2013-sized data (28,709 images, oversampled to 50,505 per epoch), report 001's knobs.

    The timed runs of the pipelines alternate (idg, tfdata, numpy slicing, numpy augmentation,
    idg, ...), so the ratios between them see the same load from other processes.
    """
    import keras
    import tensorflow as tf

    from fer_keras.config import TrainConfig
    from fer_keras.data.oversample import idg_training_sequence
    from fer_keras.data.pipeline import EpochBatches
    from fer_keras.train.augment import RandomAffine
    from fer_keras.train.tfdata import training_dataset

    images, labels = fer_like_data()
    cfg = TrainConfig(batch_size=batch, oversample=True)
    runs = {}  # name -> (callable, images per call)

    # ImageDataGenerator: one warp per image, in the PyDataset's __getitem__
    seq = idg_training_sequence(images, labels, cfg)
    seq.on_epoch_begin()
    k_idg = 3 if quick else 6
    pos = iter(range(len(seq)))

    def idg_batches():
        for _ in range(k_idg):
            seq[next(pos)]

    runs["idg"] = (idg_batches, k_idg * batch)

    # tf.data: whole-batch map, parallel, prefetched
    ds, _ = training_dataset(images, labels, cfg)
    k_tf = 20 if quick else 40
    live = {}

    def tf_start():
        # untimed, just before each timed run: a fresh iterator, past its start-up (first
        # batches); it is dropped after the run, so it does not keep prefetching (and taking
        # CPU) while the other pipelines are timed
        live["it"] = iter(ds)
        for _ in range(2):
            next(live["it"])

    def tf_batches():
        it = live["it"]
        for _ in range(k_tf):
            next(it)

    def tf_stop():
        live.pop("it", None)

    runs["tfdata"] = (tf_batches, k_tf * batch)
    pre = {"tfdata": tf_start}
    post = {"tfdata": tf_stop}

    # numpy: slicing in the PyDataset + RandomAffine inside the compiled train step
    eb = EpochBatches(images, labels, batch, cfg.seed, cfg.oversample)
    eb.on_epoch_begin()
    k_np = 40
    pos_np = iter(range(len(eb)))

    def np_batches():
        for _ in range(k_np):
            eb[next(pos_np)]

    runs["slicing"] = (np_batches, k_np * batch)
    layer = RandomAffine(cfg.rotation, cfg.shift, cfg.zoom, cfg.flip, cfg.erasing, seed=0)
    aug = tf.function(lambda v: layer(v, training=True))
    x = eb[0][0]
    k_aug = 15

    def aug_batches():
        for _ in range(k_aug):
            aug(x)
        keras.ops.convert_to_numpy(aug(x))

    runs["affine"] = (aug_batches, (k_aug + 1) * batch)

    for k, (fn, _) in runs.items():  # warm-up: tracing, the tf.data threads, first batches
        pre.get(k, lambda: None)()
        fn()
        post.get(k, lambda: None)()
    rates = {k: [] for k in runs}
    for _ in range(reps):
        for k, (fn, n) in runs.items():
            if k in pre:
                pre[k]()
            t = time.perf_counter()
            fn()
            rates[k].append(n / (time.perf_counter() - t))
            if k in post:
                post[k]()
    s = {k: stats(v) for k, v in rates.items()}
    combined = [1.0 / (1.0 / a + 1.0 / b) for a, b in zip(rates["slicing"], rates["affine"])]
    return [
        {"pipeline": "idg", "img_s": s["idg"],
         "note": "ImageDataGenerator.get_random_transform/apply_transform per image (scipy), "
                 "1 worker"},
        {"pipeline": "tfdata", "img_s": s["tfdata"],
         "note": "gather + RandomAffine per batch in a parallel tf.data map, prefetch"},
        {"pipeline": "numpy", "img_s": stats(combined), "slicing_img_s": s["slicing"],
         "affine_img_s": s["affine"],
         "note": "EpochBatches slicing + RandomAffine in the train step (1/(1/a+1/b))"},
    ]


def _keras_layers_pipeline(rotation=10.0, shift=0.1, zoom=0.1, seed=0):
    import keras

    L = keras.layers
    return keras.Sequential([
        L.RandomFlip("horizontal", seed=seed),
        L.RandomRotation(rotation / 360.0, fill_mode="nearest", seed=seed + 1),
        L.RandomTranslation(shift, shift, fill_mode="nearest", seed=seed + 2),
        L.RandomZoom(zoom, fill_mode="nearest", seed=seed + 3),
    ], name="keras_layers")


def bench_augment(batch=BATCH, reps=5, calls=10):
    """Compiled augmentation throughput on the current Keras backend: rows
    ``{"backend", "method", "img_s", "compile_s"}`` for RandomAffine and Keras's layers."""
    import keras

    from fer_keras.train.augment import RandomAffine

    backend = keras.backend.backend()
    x = np.random.default_rng(0).random((batch, 48, 48, 1), dtype=np.float32)
    methods = {"RandomAffine": RandomAffine(10.0, 0.1, 0.1, True, seed=0),
               "keras RandomFlip+Rotation+Translation+Zoom": _keras_layers_pipeline()}
    rows = []
    for label, layer in methods.items():
        layer.build(x.shape)
        if backend == "jax":
            import jax

            xj = jax.numpy.asarray(x)
            tv = [v.value for v in layer.trainable_variables]
            box = {"state": [v.value for v in layer.non_trainable_variables]}
            step = jax.jit(lambda s, v, layer=layer, tv=tv: layer.stateless_call(
                tv, s, v, training=True))

            def run(step=step, xj=xj, box=box):
                for _ in range(calls):
                    out, box["state"] = step(box["state"], xj)
                out.block_until_ready()
        elif backend == "tensorflow":
            import tensorflow as tf

            step = tf.function(lambda v, layer=layer: layer(v, training=True))
            xt = tf.constant(x)

            def run(step=step, xt=xt):
                for _ in range(calls):
                    out = step(xt)
                out.numpy()
        else:
            def run(layer=layer):
                for _ in range(calls):
                    out = layer(x, training=True)
                keras.ops.convert_to_numpy(out)
        t = time.perf_counter()
        run()  # compile
        compile_s = time.perf_counter() - t
        rows.append({"backend": backend, "method": label,
                     "img_s": _rate(run, calls * batch, reps), "compile_s": compile_s})
    return rows


def jax_python():
    """The JAX environment's interpreter, or None."""
    p = REPO / ".venv-jax" / "bin" / "python"
    return p if p.is_file() else None


def bench_augment_jax(batch=BATCH, reps=5, timeout=600):
    """:func:`bench_augment` in the JAX environment (subprocess). Returns ``(rows, note)``."""
    py = jax_python()
    if py is None:
        return [], "skipped: no .venv-jax (run `make install-jax`)"
    env = dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="3",
               PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    code = ("import json; from benchmarks.bench_pipeline import bench_augment; "
            f"print('@@' + json.dumps(bench_augment(batch={int(batch)}, reps={int(reps)})))")
    try:
        p = subprocess.run([str(py), "-c", code], cwd=REPO, env=env, capture_output=True,
                           text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return [], f"skipped: the JAX run took over {timeout} s"
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("@@")]
    if p.returncode != 0 or not lines:
        tail = " ".join((p.stderr.strip().splitlines() or ["no output"])[-1:])[:200]
        return [], f"skipped: the JAX run failed ({tail})"
    return json.loads(lines[-1][2:]), ""
