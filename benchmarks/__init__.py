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


def timeit(fn, reps, warmup=0):
    """``time_calls`` with no warm-up by default."""
    return time_calls(fn, reps, warmup=warmup)


def rate(n, seconds):
    """Stats of ``n / s`` for every ``s`` in ``seconds`` (e.g. images/s per timed step)."""
    return stats([n / s for s in seconds])


def fmt(x, digits=3):
    """A number with SI suffix: 1.23k, 45.6M, 7.89G, 1.2T."""
    if x is None:
        return "-"
    a = abs(x)
    for div, suf in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            return f"{x / div:.{digits}g}{suf}"
    return f"{x:.{digits}g}"


def fmt_stats(s, scale=1.0, digits=3, unit=""):
    """``median (min-max)`` of a stats dict, each value times ``scale``."""
    if s is None:
        return "-"
    return (f"{fmt(s['median'] * scale, digits)}{unit} "
            f"({fmt(s['min'] * scale, digits)}-{fmt(s['max'] * scale, digits)})")


def print_table(rows):
    """Print dict ``rows`` as a Markdown table: the union of their keys as columns, in order of
    appearance; floats to 3 significant digits, missing values as ``-``."""
    keys = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for r in rows:
        print("| " + " | ".join("-" if r.get(k) is None else
                                (f"{r[k]:.3g}" if isinstance(r[k], float) else str(r[k]))
                                for k in keys) + " |")
