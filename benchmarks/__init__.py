"""Benchmarks of fer_keras on this machine: ``python -m benchmarks.run --out BENCHMARKS.md``.

``bench_train`` (peak FLOP/s, model throughput, PyTorch comparison), ``bench_pipeline`` (input
pipelines, augmentation per backend), ``bench_data`` and ``bench_explain`` (data loading and
explanation timings). Each ``run``-style function returns a list of dict rows; ``run.py``
assembles them into one Markdown file. The helpers below use only the standard library so that
every module can run in the JAX environment (no TensorFlow) too.
"""
import statistics
import time


def stats(values):
    """``{"median", "min", "max", "n"}`` of a list of numbers."""
    values = [float(v) for v in values]
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "n": len(values)}


def time_calls(fn, reps, warmup=1):
    """Seconds of each of ``reps`` calls of ``fn()`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out
