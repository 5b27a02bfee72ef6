"""The Ray engine on a cluster of separate nodes against one process: ``python -m
benchmarks.bench_ray_cluster`` (a section of ``make bench``; needs Ray and ``unshare``, i.e. root).

The same 200 photos and one video as :mod:`benchmarks.bench_ray` (``make_media``: real FER2013
PublicTest faces), run by the single-process path, then by ``fer-keras predict --engine ray
--address`` on a cluster of 1 and of 2 nodes (``ray start --head``, plus ``ray start --address``:
separate raylets of one CPU each, token authentication on, in a network namespace of its own,
as ``tests/faces/test_ray_cluster.py`` starts them). The cluster's start-up (``ray start`` until
every node is up) is timed apart from the job; ``wall_s`` is the driver's whole command.

``run(reps=1)`` returns rows ``{"name", "start_s", "wall_s", "job_s", "images_per_s" (photos
and video frames a second of job_s), "rows_equal", "note"}``; each time the median of ``reps``.
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks import print_table
from benchmarks.bench_ray import engine_row, header, make_media, with_rates

REPO = Path(__file__).resolve().parents[1]


def _harness():
    sys.path.insert(0, str(REPO / "tests" / "faces"))
    import _ray_cluster

    return _ray_cluster


def run(reps=1, log=print):
    name = "predict --engine ray --address (nodes)"
    if importlib.util.find_spec("ray") is None:
        return [{"name": name, "note": "not measured: Ray is not installed"}]
    rc = _harness()
    if (why := rc.namespace_problem()) is not None:
        return [{"name": name, "note": f"not measured: {why}"}]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        try:
            n_photos, n_frames = make_media(tmp / "in")
        except FileNotFoundError as e:
            return [{"name": name, "note": f"not measured: {e}"}]
        env = rc.base_env(tmp / "home")
        walls = []
        for r in range(reps + 1):  # the first run warms the file cache, untimed
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "fer_keras", "predict", tmp / "in", "--out",
                            tmp / f"single{r}", "--no-progress"], env=env, check=False,
                           capture_output=True)
            walls.append(time.perf_counter() - t)
        ref = (tmp / "single0" / "faces.csv").read_text()
        base = float(np.median(walls[1:]))
        rows = [{"name": "one process (fer-keras predict FOLDER)", "start_s": 0.0,
                 "wall_s": base, "job_s": base, "rows_equal": True,
                 "note": f"{n_photos} photos + {n_frames} frames; annotated copies written"}]
        for nodes in (1, 2):
            starts, runs = [], []
            for r in range(reps):
                t = time.perf_counter()
                c = rc.Cluster(tmp / f"c{nodes}-{r}", head_cpus=1, node_cpus=(1,) * (nodes - 1))
                try:
                    c.start()
                    starts.append(time.perf_counter() - t)
                    out = tmp / f"ray{nodes}-{r}"
                    t = time.perf_counter()
                    c.run([sys.executable, "-m", "fer_keras", "predict", tmp / "in", "--engine",
                           "ray", "--address", c.address, "--out", out, "--no-progress"])
                    wall = time.perf_counter() - t
                    job = json.loads((out / "engine.json").read_text())["run"]["seconds"]
                    runs.append((wall, job, (out / "faces.csv").read_text() == ref))
                    c.stop()
                finally:
                    c.close()
                log(f"{nodes} node(s): start {starts[-1]:.1f} s, job {runs[-1][1]:.1f} s")
            rows.append(engine_row(f"--engine ray --address, {nodes} node(s) of 1 CPU", runs,
                                   "start_s: ray start of every node until all are up",
                                   start_s=float(np.median(starts))))
        return with_rates(rows, n_photos + n_frames)


def main():
    reps = int(os.environ.get("REPS", "3"))
    rows = run(reps=reps, log=lambda m: print(m, file=sys.stderr))
    print(header("bench_ray_cluster", f" (REPS={reps})"))
    print_table(rows)
    return 0 if all(r.get("rows_equal", True) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
