"""How fast this machine trains: a timed burst of train steps, remembered per CPU.

Training speed on the CPUs a user gets differs threefold for the same run (RESULTS.md: a
``fer_net`` recipe epoch took 25 s on an Intel Xeon with AMX and 62-66 s on an AMD EPYC
without it), so an estimate is only worth printing when it is measured on the machine at
hand. :func:`epoch_seconds` times a burst of the run's own train steps (its model, batch,
precision and pipeline) and keeps the step time in ``$FER_KERAS_CACHE/throughput.json`` under
the CPU's name (:func:`cpu_kind`), so a later estimate of the same run on the same machine costs
nothing; :func:`fer_keras.train.budget.estimate_epochs` and the estimates printed by
``fer-keras train`` and ``fer-keras report`` read it.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

#: Train steps timed by a burst after the warm-up ones (compilation, oneDNN's first calls).
WARMUP_STEPS, TIMED_STEPS = 3, 15
#: The store's file name under the cache folder (:func:`fer_keras.data.loading.cache_dir`).
STORE = "throughput.json"


def cpu_fields(cpuinfo="/proc/cpuinfo"):
    """``(fields, flags)`` of the first CPU in Linux's /proc/cpuinfo: its ``key: value`` lines
    as a dict (``"model name"``, ``"cpu family"``, ``"cpu MHz"``, ...) and its set of flags;
    ``({}, set())`` where there is none."""
    try:
        text = Path(cpuinfo).read_text(errors="replace")
    except OSError:
        return {}, set()
    fields = {}
    for line in text.splitlines():
        if not line.strip():
            if fields:
                break  # the first CPU's block ends at the first blank line
            continue
        if ":" in line:
            k, v = (part.strip() for part in line.split(":", 1))
            fields.setdefault(k, v)
    return fields, set(fields.get("flags", "").split())


def _cpuinfo(cpuinfo="/proc/cpuinfo"):
    """``(model name, set of flags)`` of the first CPU (``("unknown CPU", set())`` where there
    is none)."""
    fields, flags = cpu_fields(cpuinfo)
    return fields.get("model name", "unknown CPU"), flags


def cpu_kind(cpuinfo="/proc/cpuinfo"):
    """The CPU in words, with the bf16 matrix units training speed depends on: "Intel Xeon ...
    with AMX", "AMD EPYC ..., AVX-512 BF16, no AMX", "Intel Xeon ..., no AMX, no AVX-512 BF16"
    (Linux's /proc/cpuinfo; "unknown CPU" elsewhere)."""
    name, flags = _cpuinfo(cpuinfo)
    if name == "unknown CPU" and not flags:
        return name
    if "amx_bf16" in flags:
        return f"{name} with AMX"
    return f"{name}, " + ("AVX-512 BF16, no AMX" if "avx512_bf16" in flags
                          else "no AMX, no AVX-512 BF16")


def bf16_instructions(cpuinfo="/proc/cpuinfo"):
    """Whether the CPU computes in bfloat16 in hardware (AMX or AVX-512 BF16). Without either,
    oneDNN and XLA emulate bf16 with float32 conversions: ``fer_net``'s mixed-precision step
    took 3.4-4x as long as its float32 one on such an Intel Xeon (BENCHMARKS.md). An unreadable
    /proc/cpuinfo answers True, so that the choice is timed rather than guessed."""
    name, flags = _cpuinfo(cpuinfo)
    if name == "unknown CPU" and not flags:
        return True
    return bool({"amx_bf16", "avx512_bf16"} & flags)


def step_key(cfg, replicas=None):
    """What a train step's time depends on, as one string: the CPU, the backend, the devices,
    the model, the batch, the precision, the pipeline, the augmentation and the image size."""
    import keras

    devices = replicas.describe() if replicas is not None and replicas.count > 1 else "1 device"
    augment = (f"augment r{cfg.rotation:g} s{cfg.shift:g} z{cfg.zoom:g}" if cfg.augment
               else "no augment")
    return " | ".join([cpu_kind(), keras.backend.backend(), devices, cfg.model,
                       f"batch {cfg.batch_size}", cfg.precision, cfg.input_pipeline, augment,
                       f"resize {cfg.resize}"])


def _store_path():
    from fer_keras.data.loading import cache_dir

    return cache_dir() / STORE


def _read_store():
    try:
        data = json.loads(_store_path().read_text())
    except (OSError, ValueError):  # missing or damaged: measured again
        return {}
    return data if isinstance(data, dict) else {}


def stored_step(cfg, replicas=None):
    """The step time (s) stored for ``cfg``'s :func:`step_key` on this machine, or None."""
    e = _read_store().get(step_key(cfg, replicas))
    try:
        return float(e["step_seconds"])
    except (TypeError, KeyError, ValueError):
        return None


def remember(cfg, step_seconds, replicas=None):
    """Store ``step_seconds`` for ``cfg``'s :func:`step_key` (the newest measurement wins)."""
    from fer_keras.fileio import write_json

    data = _read_store()
    data[step_key(cfg, replicas)] = {"step_seconds": float(step_seconds),
                                     "measured": time.strftime("%Y-%m-%d %H:%M:%S")}
    try:
        write_json(_store_path(), data)
    except OSError:  # a read-only cache folder: the estimate still holds for this run
        pass


def measure_step(cfg, splits, replicas=None):
    """Seconds one train step of ``cfg`` takes here: the median of :data:`TIMED_STEPS` steps
    after :data:`WARMUP_STEPS` (the median ignores spikes from other jobs), under the run's
    precision, on the devices of ``replicas`` when data-parallel; stored (:func:`remember`)."""
    import keras

    from fer_keras.train import steps
    from fer_keras.train.distribute import ONE

    replicas = replicas or ONE
    seq, n_steps = steps.training_inputs(cfg, splits, 0, replicas)
    full = max(1, n_steps - 1)  # the last batch may be short (and would trigger a retrace)
    previous = keras.config.dtype_policy()
    if cfg.precision == "mixed":  # bf16 steps are 1.5-2x faster: time the run's own policy
        keras.config.set_dtype_policy(steps.mixed_policy_name())
    times = []
    try:
        # the scope is left before clear_session (inside a TensorFlow strategy's scope it breaks)
        with replicas.scope():
            net = steps.build_net(cfg)
            model = steps.build_training_model(cfg, net)
            steps.compile_model(model, cfg, 100)
            for i in range(WARMUP_STEPS + TIMED_STEPS):
                x, y = replicas.timing_batch(*seq[i % full])
                t = time.perf_counter()
                model.train_on_batch(x, y)
                times.append(time.perf_counter() - t)
        del model, net
        steps.clear_session()
    finally:
        keras.config.set_dtype_policy(previous)
    per_step = float(np.median(times[WARMUP_STEPS:]))
    remember(cfg, per_step, replicas)
    return per_step


def epoch_seconds(cfg, splits, replicas=None, fresh=False):
    """``(seconds, measured_now)``: one epoch of ``cfg`` on ``splits`` here, its train steps
    (5% for the epoch's overheads) and its validation (a forward pass, about a third of a train
    step per batch) at the step time of :func:`measure_step`; the stored time of an earlier
    burst on this machine is used unless ``fresh`` (a budget plans on the machine's speed now).
    """
    from fer_keras.train import steps
    from fer_keras.train.distribute import ONE

    per_step = None if fresh else stored_step(cfg, replicas)
    measured = per_step is None
    if measured:
        per_step = measure_step(cfg, splits, replicas)
    n_steps = steps.training_inputs(cfg, splits, 0, replicas or ONE)[1]
    val_n = len(splits["val"]) if splits.get("val") is not None else 0
    return per_step * n_steps * 1.05 + per_step / 3 * val_n / cfg.batch_size, measured


def choose_precision(cfg, splits, replicas=None, cpuinfo="/proc/cpuinfo"):
    """``(precision, why)`` for ``cfg.precision == "auto"``: ``"mixed"`` or ``"float32"``,
    whichever trains ``cfg`` faster here, and the reason in words.

    On a GPU, mixed (bf16 or fp16 tensor cores). On a CPU without bf16 instructions
    (:func:`bf16_instructions`), float32 untimed. Else a burst of each (:func:`measure_step`,
    each remembered per CPU, so a later run here times nothing) and the faster step wins; a
    data-parallel run takes mixed untimed, so that every process makes the same choice."""
    from fer_keras.train import steps

    if steps.gpu_compute_capability() is not None:
        return "mixed", "a GPU: 16-bit tensor cores"
    if not bf16_instructions(cpuinfo):
        return "float32", ("this CPU has neither AMX nor AVX-512 BF16, so bf16 would be "
                           "emulated and slower")
    if replicas is not None and replicas.count > 1:
        return "mixed", "bf16 instructions on this CPU (data-parallel: not timed)"
    t = {}
    for p in ("float32", "mixed"):
        c = cfg.replace(precision=p)
        t[p] = stored_step(c, replicas) or measure_step(c, splits, replicas)
    best = min(t, key=t.get)
    other = "float32" if best == "mixed" else "mixed"
    return best, (f"a step took {t[best]:.3f} s against {t[other]:.3f} s in {other} "
                  f"on this CPU")
