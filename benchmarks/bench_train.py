"""Compute benchmarks: this CPU's matmul peak, every registry model's training and inference
throughput in float32 and mixed bfloat16, and a hand-written PyTorch loop for comparison.

FLOPs are counted analytically from layer shapes (:func:`model_flops`): a convolution costs
``2 * H_out * W_out * K * K * C_in * C_out`` per image, a dense layer ``2 * in * out``; batch
norm, activations, pooling and the optimizer update are not counted (a few percent here).
Training is taken as 3x the forward pass (forward, gradient w.r.t. activations, gradient w.r.t.
weights), which slightly overstates it for the first layer (no input gradient needed).

To make ratios robust on a shared machine, the two things being compared (fp32 vs bf16, Keras vs
PyTorch) are timed in alternation, step by step, so that a burst of load from another process
hits both.
"""
from __future__ import annotations

import gc
import os
import time

import numpy as np

from benchmarks import stats

BATCH = 128


# --------------------------------------------------------------------------- peak
def peak_matmul(reps=5, n=2048, chain=4):
    """Measured matmul GFLOP/s in TensorFlow, fp32 and bf16: ``{dtype: stats}``.

    Each timed call is a ``tf.function`` of ``chain`` dependent ``n x n`` matmuls (dependent so
    that grappler cannot merge them); fp32 and bf16 calls alternate.
    """
    import tensorflow as tf

    fns = {}
    for name, dt in (("float32", tf.float32), ("bfloat16", tf.bfloat16)):
        a = tf.cast(tf.random.stateless_normal((n, n), seed=[1, 2]), dt)
        b = tf.cast(tf.random.stateless_normal((n, n), seed=[3, 4]) / np.sqrt(n), dt)

        @tf.function
        def f(a=a, b=b):
            c = a
            for _ in range(chain):
                c = tf.matmul(c, b)
            return tf.reduce_sum(tf.cast(c[:1, :1], tf.float32))

        f()
        f()
        fns[name] = f
    flops = chain * 2.0 * n ** 3
    rates = {k: [] for k in fns}
    for _ in range(reps):
        for k, f in fns.items():
            t = time.perf_counter()
            f().numpy()
            rates[k].append(flops / (time.perf_counter() - t) / 1e9)
    return {k: stats(v) for k, v in rates.items()}


# --------------------------------------------------------------------------- FLOPs
def model_flops(model):
    """Forward FLOPs per image of ``model``'s Conv2D and Dense layers (see module docstring)."""
    from fer_keras.models import flops

    return flops(model)


# --------------------------------------------------------------------------- models
def _with_keras_batchnorm(model):
    """``model`` with every :class:`fer_keras.models.layers.BatchNorm` replaced by Keras's own
    ``BatchNormalization`` (same config): the layer before the fused kernel."""
    import keras

    from fer_keras.models.layers import BatchNorm

    def clone(layer):
        cls = keras.layers.BatchNormalization if isinstance(layer, BatchNorm) else type(layer)
        return cls.from_config(layer.get_config())

    return keras.models.clone_model(model, clone_function=clone)


def _build(name, policy, jit_compile=False, keras_bn=False):
    import keras

    from fer_keras import models

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        m = models.build(name)
        if keras_bn:
            m = _with_keras_batchnorm(m)
        m.compile(optimizer=keras.optimizers.Adam(1e-4),
                  loss=keras.losses.SparseCategoricalCrossentropy(), jit_compile=jit_compile)
    finally:
        keras.config.set_dtype_policy(previous)
    return m


def _alternate(steps, reps):
    """Time ``reps`` rounds of the callables in ``steps`` (a dict), one of each per round."""
    out = {k: [] for k in steps}
    for _ in range(reps):
        for k, fn in steps.items():
            t = time.perf_counter()
            fn()
            out[k].append(time.perf_counter() - t)
    return out


def _matmul_steps(n=2048, chain=2):
    """``{"matmul fp32": fn, "matmul bf16": fn}`` and the FLOPs of one call (see peak_matmul)."""
    import tensorflow as tf

    fns = {}
    for name, dt in (("matmul fp32", tf.float32), ("matmul bf16", tf.bfloat16)):
        a = tf.cast(tf.random.stateless_normal((n, n), seed=[1, 2]), dt)
        b = tf.cast(tf.random.stateless_normal((n, n), seed=[3, 4]) / np.sqrt(n), dt)

        @tf.function
        def f(a=a, b=b):
            c = a
            for _ in range(chain):
                c = tf.matmul(c, b)
            return tf.reduce_sum(tf.cast(c[:1, :1], tf.float32))

        fns[name] = lambda f=f: f().numpy()
    return fns, chain * 2.0 * n ** 3


def bench_model(name, batch=BATCH, quick=False, budget_s=6.0, variants=None, with_peak=True):
    """Training and inference images/s of one registry model, fp32 and mixed bf16 alternated.

    Step counts adapt to the model's cost: one compile step (which also builds oneDNN's
    primitives), one more warm-up step when the compile step was quick, then 5 timed steps when
    a step takes under ``budget_s / 5`` seconds, else 3 (``quick``: 3 and 2). ``variants`` maps
    a label to ``(policy, jit)``. ``with_peak``: a 2048x2048 matmul (x2) of each precision joins
    the alternation of the training (and inference) steps, so each row also gets
    ``train_peak_gflop_s`` / ``infer_peak_gflop_s``, the matmul rate measured under the same
    load from other processes. Returns one row per variant.
    """
    import keras

    variants = variants or {"fp32": ("float32", False), "bf16": ("mixed_bfloat16", False)}
    rng = np.random.default_rng(0)
    x = rng.random((batch, 48, 48, 1), dtype=np.float32)
    y = rng.integers(0, 7, batch).astype(np.int32)
    built = {k: _build(name, *v) for k, v in variants.items()}
    some = next(iter(built.values()))
    flops = model_flops(some)
    params = some.count_params()
    many, few = (3, 2) if quick else (5, 3)
    mm, mm_flops = _matmul_steps(n=2048) if with_peak else ({}, 0.0)

    rows = {k: {"model": name, "variant": k, "policy": variants[k][0],
                "jit_compile": variants[k][1], "params": params,
                "fwd_gflop_per_img": flops / 1e9, "batch": batch} for k in built}

    def measure(kind, step_of):
        steps = {k: (lambda m=m: step_of(m)) for k, m in built.items()}
        steps.update(mm)
        first = _alternate(steps, 1)  # compile (+ oneDNN primitive creation)
        slowest = max(v[0] for k, v in first.items() if k in rows)
        if slowest * many <= budget_s * 2:  # cheap: one more warm-up step, also an estimate
            again = _alternate(steps, 1)
            slowest = max(v[0] for k, v in again.items() if k in rows)
        reps = many if slowest * many <= budget_s else few
        timed = _alternate(steps, reps)
        for k, r in rows.items():
            if kind == "train":
                r["compile_s"] = first[k][0]
            r[f"{kind}_img_s"] = stats([batch / s for s in timed[k]])
            if mm:
                key = "matmul bf16" if "bfloat16" in r["policy"] else "matmul fp32"
                r[f"{kind}_peak_gflop_s"] = stats([mm_flops / s / 1e9 for s in timed[key]])

    measure("train", lambda m: m.train_on_batch(x, y))
    measure("infer", lambda m: m.predict_on_batch(x))
    for r in rows.values():
        r["train_gflop_s"] = 3 * r["fwd_gflop_per_img"] * r["train_img_s"]["median"]
        r["infer_gflop_s"] = r["fwd_gflop_per_img"] * r["infer_img_s"]["median"]
        for kind in ("train", "infer"):
            pk = r.get(f"{kind}_peak_gflop_s")
            r[f"{kind}_frac_peak"] = r[f"{kind}_gflop_s"] / pk["median"] if pk else None
    built = some = None  # frees the models (a del would unbind names the closures read)
    keras.backend.clear_session()
    gc.collect()
    return list(rows.values())


def bench_models(names=None, batch=BATCH, quick=False, log=print):
    """:func:`bench_model` for each name (default: every registry model)."""
    from fer_keras import models

    rows = []
    for name in names or models.list_models():
        t = time.perf_counter()
        rows += bench_model(name, batch=batch, quick=quick)
        log(f"  {name}: {time.perf_counter() - t:.0f} s")
    return rows


def bench_xla(name="deep_cnn", batch=BATCH, quick=False):
    """The same model with and without ``jit_compile=True`` (XLA on CPU), fp32, alternated."""
    return bench_model(name, batch=batch, quick=quick, with_peak=False,
                       variants={"fp32": ("float32", False), "fp32+XLA": ("float32", True)})


def bench_batchnorm(name="fer_net", batch=BATCH, quick=False):
    """``name`` with :class:`fer_keras.models.layers.BatchNorm` (TensorFlow's fused kernel) and with
    Keras 3's ``BatchNormalization``, fp32 and mixed bf16, alternated step by step."""
    return bench_model(name, batch=batch, quick=quick, with_peak=False, variants={
        "fp32, fused BN": ("float32", False, False), "fp32, Keras BN": ("float32", False, True),
        "bf16, fused BN": ("mixed_bfloat16", False, False),
        "bf16, Keras BN": ("mixed_bfloat16", False, True)})


# --------------------------------------------------------------------------- PyTorch
def torch_available():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def _torch_model(name):
    """PyTorch twins of two registry models (same layers and widths)."""
    from torch import nn

    if name == "small_cnn":
        return nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.Conv2d(32, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Dropout(0.25), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25),
            nn.Flatten(), nn.Linear(64 * 10 * 10, 256), nn.ReLU(), nn.Dropout(0.5),
            nn.Linear(256, 7))
    if name == "deep_cnn":
        layers, c_in = [], 1
        for s, (f, k) in enumerate(((32, 5), (128, 3), (512, 3))):
            for _ in range(3):
                layers += [nn.Conv2d(c_in, f, k, padding=k // 2), nn.LeakyReLU(0.05),
                           nn.BatchNorm2d(f)]
                c_in = f
            layers.append(nn.MaxPool2d(2))
            if s < 2:
                layers.append(nn.Dropout(0.1))
        layers += [nn.Flatten(), nn.Linear(512 * 6 * 6, 512), nn.ReLU(), nn.BatchNorm1d(512),
                   nn.Linear(512, 7)]
        return nn.Sequential(*layers)
    raise ValueError(f"no PyTorch twin for {name!r}")


def bench_torch(names=("small_cnn",), batch=BATCH, quick=False, budget_s=6.0):
    """A plain PyTorch training loop (Adam, cross-entropy, fp32, CPU) vs Keras on the same model,
    steps alternated. Returns one row per model, or ``[]`` when torch is not importable."""
    if not torch_available():
        return []
    import keras
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    rows = []
    rng = np.random.default_rng(0)
    x = rng.random((batch, 48, 48, 1), dtype=np.float32)
    y = rng.integers(0, 7, batch).astype(np.int32)
    xt = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
    yt = torch.from_numpy(y.astype(np.int64))
    for name in names:
        net = _torch_model(name)
        net.train()
        opt = torch.optim.Adam(net.parameters(), 1e-4)
        loss_fn = torch.nn.CrossEntropyLoss()

        def torch_step():
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(xt), yt)
            loss.backward()
            opt.step()
            return float(loss.detach())

        km = _build(name, "float32")
        steps = {"keras": lambda: km.train_on_batch(x, y), "torch": torch_step}
        many, few = (3, 2) if quick else (5, 2)
        est = _alternate(steps, 1)
        if max(v[0] for v in est.values()) * many <= budget_s * 2:
            est = _alternate(steps, 1)
        reps = many if max(v[0] for v in est.values()) * many <= budget_s else few
        t = _alternate(steps, reps)
        k_rate = stats([batch / s for s in t["keras"]])
        t_rate = stats([batch / s for s in t["torch"]])
        ratio = stats([a / b for a, b in zip(t["torch"], t["keras"])])  # keras img/s / torch img/s
        rows.append({"model": name, "torch_version": torch.__version__,
                     "torch_params": sum(p.numel() for p in net.parameters()),
                     "keras_img_s": k_rate, "torch_img_s": t_rate, "keras_over_torch": ratio})
        km = net = opt = None  # frees them before the next model
        keras.backend.clear_session()
        gc.collect()
    return rows
