"""Two training processes against one: ``python -m benchmarks.bench_multiprocess``.

Runs ``fer-keras train`` on the synthetic faces three ways for each backend: one process
(``--distribute none``, all of this machine's cores), and two worker processes on 127.0.0.1
with ``--distribute data-parallel`` (TensorFlow's ``MultiWorkerMirroredStrategy`` through
``TF_CONFIG``; JAX's ``jax.distributed`` through ``KERAS_DISTRIBUTION_*``, one CPU device a
process), launched as docs/gpu.md gives and as tests/train/test_multiprocess.py runs them,
inside a network namespace of their own (``unshare -n``; loopback only). The same global batch
and the same images in both; TensorFlow through ``.venv``, JAX through ``.venv-jax`` (skipped
when absent).

A figure is the median (with min and max) of the per-epoch seconds the run folder's
``history.json`` records for epochs 2 to ``EPOCHS`` (the first compiles), over ``reps`` runs;
an epoch is ``STEPS`` training steps of ``BATCH`` images and the validation pass over 160
images. ``run(reps=1)`` returns rows ``{"backend", "processes", "epoch_s", "epoch_s_min",
"epoch_s_max", "steps_per_s", "images_per_s", "vs_one_process", "wall_s", "note"}``.
"""
from __future__ import annotations

import json
import os
import shlex
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks import print_table

REPO = Path(__file__).resolve().parents[1]
MODEL, BATCH, STEPS, EPOCHS = "small_cnn", 128, 10, 4
#: 1600 synthetic faces: 1280 training images (10 steps of 128), 160 validation images.
FLAGS = (f"--data synthetic --n-synthetic 1600 --model {MODEL} --epochs {EPOCHS} "
         f"--batch-size {BATCH} --schedule constant --early-stopping 0 --verbose 0 --out runs/b")
PORT = 12345
VENVS = {"tensorflow": REPO / ".venv", "jax": REPO / ".venv-jax"}


def cluster_env(backend, index, n=2):
    if backend == "tensorflow":
        workers = ", ".join(f'"127.0.0.1:{PORT + i}"' for i in range(n))
        return ("export TF_CONFIG='{\"cluster\": {\"worker\": [" + workers + "]}, \"task\": "
                f"{{\"type\": \"worker\", \"index\": {index}}}}}'")
    return (f"export KERAS_BACKEND=jax KERAS_DISTRIBUTION_JOB_ADDRESSES=127.0.0.1:{PORT} "
            f"KERAS_DISTRIBUTION_NUM_PROCESSES={n} KERAS_DISTRIBUTION_PROCESS_ID={index}")


def commands(backend, processes):
    """The shell lines of each process: ``[[line, ...], ...]``."""
    if processes == 1:
        return [[f"fer-keras train {FLAGS}"]]
    return [[cluster_env(backend, i), f"fer-keras train {FLAGS} --distribute data-parallel"]
            for i in range(processes)]


def _launch(root, backend, processes):
    lines = ["ip link set lo up"]
    for i, body in enumerate(commands(backend, processes)):
        host = root / f"host{i}"
        host.mkdir(parents=True)
        script = "\n".join([f"cd {shlex.quote(str(host))}", *body])
        lines += [f"( {script}\n) > {host}/log 2>&1 &"]
    lines.append("wait")
    env = {k: v for k, v in os.environ.items()
           if k != "TF_CONFIG" and not k.startswith("KERAS_DISTRIBUTION_")}
    env.update(KERAS_BACKEND=backend, JAX_PLATFORMS="cpu", CUDA_VISIBLE_DEVICES="",
               TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(REPO),
               PATH=f"{VENVS[backend] / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    t0 = time.perf_counter()
    subprocess.run(["unshare", "-n", "sh", "-c", "\n".join(lines)], env=env, check=True,
                   timeout=900)
    wall = time.perf_counter() - t0
    history = root / "host0" / "runs" / "b" / "history.json"
    if not history.is_file():
        raise RuntimeError((root / "host0" / "log").read_text()[-2000:])
    return [r["seconds"] for r in json.loads(history.read_text())][1:], wall


def _usable():
    if shutil.which("unshare") is None:
        return "needs `unshare`"
    if subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode:
        return "needs `unshare -n` (root or user namespaces)"
    return None


def run(reps=1):
    why = _usable()
    if why:
        return [{"backend": "-", "processes": "-", "note": f"not measured: {why}"}]
    rows = []
    for backend, venv in VENVS.items():
        if not (venv / "bin" / "fer-keras").exists():
            rows.append({"backend": backend, "processes": "-",
                         "note": f"not measured: no {venv.name}"})
            continue
        base = None
        for processes in (1, 2):
            secs, walls = [], []
            for _ in range(reps):
                with tempfile.TemporaryDirectory(prefix="bench_mp-") as tmp:
                    s, w = _launch(Path(tmp), backend, processes)
                secs += s
                walls.append(w)
            med = statistics.median(secs)
            base = med if processes == 1 else base
            rows.append({"backend": backend, "processes": processes, "epoch_s": med,
                         "epoch_s_min": min(secs), "epoch_s_max": max(secs),
                         "steps_per_s": STEPS / med, "images_per_s": STEPS * BATCH / med,
                         "vs_one_process": base / med, "wall_s": statistics.median(walls),
                         "note": f"{len(secs)} epochs"})
    return rows


if __name__ == "__main__":
    print_table(run())
