"""Data-parallel training across real worker processes (:mod:`fer_keras.train.distribute`):
two ``fer-keras train --distribute data-parallel`` processes on 127.0.0.1, TensorFlow's
``MultiWorkerMirroredStrategy`` through ``TF_CONFIG`` and JAX's ``jax.distributed`` through
Keras's ``KERAS_DISTRIBUTION_*`` variables (one CPU device a process).

Each worker runs in a folder of its own, as on a host of its own with its own disk, and every
launch runs in a network namespace of its own (``unshare -n``, then ``ip link set lo up``), so
no test traffic leaves loopback and the fixed ports are free. Checked: after a few steps the
chief's weights equal one process's with the same global batch (within the tolerance of the
two-device test in test_distribute.py), the non-chief writes nothing, and after one worker is
SIGKILLed mid-run both restarted with ``--resume`` end where an uninterrupted run does. The
launch lines are docs/gpu.md's, checked word for word by the last test."""
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pytest
from _tiny_net import PREAMBLE
from conftest import requires_tf

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "gpu.md"
BIN = Path(sys.executable).parent
PORTS = (12345, 12346)
#: The two-process run the docs give (--resume added on the restart).
FLAGS = ("--distribute data-parallel --data synthetic --n-synthetic 256 --model dnn_001 "
         "--epochs 4 --batch-size 64 --schedule cosine --out runs/mp")


def _can_unshare():
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    try:
        return subprocess.run(["unshare", "-n", "true"], capture_output=True,
                              timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


namespace = pytest.mark.skipif(not _can_unshare(), reason="needs `unshare -n` and `ip` (root, or "
                               "user namespaces) for a network namespace of the test's own")
jax_here = pytest.mark.skipif(find_spec("jax") is None, reason="needs JAX (not installed)")


def cluster_env(backend, index, n=2):
    """The ``export`` line worker ``index`` of ``n`` runs before ``fer-keras train``."""
    if backend == "tensorflow":
        workers = ", ".join(f'"127.0.0.1:{PORTS[0] + i}"' for i in range(n))
        conf = f'{{"cluster": {{"worker": [{workers}]}}, "task": {{"type": "worker", ' \
               f'"index": {index}}}}}'
        return f"export TF_CONFIG='{conf}'"
    return (f"export KERAS_BACKEND=jax KERAS_DISTRIBUTION_JOB_ADDRESSES=127.0.0.1:{PORTS[0]} "
            f"KERAS_DISTRIBUTION_NUM_PROCESSES={n} KERAS_DISTRIBUTION_PROCESS_ID={index}")


def _env(backend):
    env = {k: v for k, v in os.environ.items()
           if k != "TF_CONFIG" and not k.startswith("KERAS_DISTRIBUTION_") and k != "XLA_FLAGS"}
    # CPU devices, one a process, also on a machine with a GPU
    return {**env, "KERAS_BACKEND": backend, "PYTHONPATH": str(REPO), "JAX_PLATFORMS": "cpu",
            "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "3",
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}"}


class Launch:
    """One shell in a network namespace of its own that starts ``workers`` (each a list of shell
    lines, run in ``root/host<i>``) in the background and waits for them; ``pid(i)`` and
    ``rc(i)`` read what it recorded. The whole process group is killed at :meth:`close`."""

    def __init__(self, root, backend, workers, name):
        self.root, self.name = Path(root), name
        lines = ["ip link set lo up"]
        for i, body in enumerate(workers):
            host = self.root / f"host{i}"
            host.mkdir(parents=True, exist_ok=True)
            # exec: the recorded pid is the worker itself, which SIGKILL must reach
            script = "\n".join([f"cd {host}", *body[:-1], "exec " + body[-1]])
            lines += [f"( {script}\n) > {self._file(i, 'log')} 2>&1 &",
                      f"echo $! > {self._file(i, 'pid')}"]
        lines += [f"wait $(cat {self._file(i, 'pid')}); echo $? > {self._file(i, 'rc')}"
                  for i in range(len(workers))]
        launch = self.root / f"{name}.sh"
        launch.write_text("\n".join(lines) + "\n")
        self.proc = subprocess.Popen(["unshare", "-n", "sh", str(launch)], env=_env(backend),
                                     start_new_session=True, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)

    def _file(self, i, kind):
        return self.root / f"{self.name}{i}.{kind}"

    def pid(self, i, timeout=30):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            text = self._file(i, "pid").read_text().strip() if self._file(i, "pid").exists() \
                else ""
            if text:
                return int(text)
            time.sleep(0.05)
        raise AssertionError(f"worker {i} did not start")

    def rc(self, i):
        return int(self._file(i, "rc").read_text())

    def log(self, i):
        return self._file(i, "log").read_text(errors="replace")

    def wait(self, timeout):
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.close()
            raise AssertionError(f"{self.name}: still running after {timeout} s\n"
                                 + "\n".join(self.log(i)[-2000:] for i in range(2))) from None
        return self

    def close(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()


def _launched(root, backend, workers, name, timeout):
    launch = Launch(root, backend, workers, name)
    try:
        launch.wait(timeout)
    finally:
        launch.close()
    for i in range(len(workers)):
        assert launch.rc(i) == 0, launch.log(i)[-3000:]
    return launch


def weights(path):
    """``{name: float64 array}`` of every array stored in the ``.keras`` file ``path``."""
    import h5py

    out = {}
    with zipfile.ZipFile(path) as z, h5py.File(io.BytesIO(z.read("model.weights.h5"))) as h5:
        h5.visititems(lambda name, obj: out.__setitem__(name, np.asarray(obj, np.float64))
                      if isinstance(obj, h5py.Dataset) else None)
    return out


def maxdiff(a, b):
    assert a.keys() == b.keys()
    return max(float(np.max(np.abs(a[k] - b[k]))) for k in a if a[k].size)


def files(folder):
    return sorted(p.name for p in Path(folder).iterdir()) if Path(folder).exists() else []


#: The step test's model, registered before the command line runs: batch normalisation,
#: dropout and augmentation on JAX (equal on one or several devices there); none on
#: TensorFlow, where each replica draws its own randomness and normalises with its own share.
TINY = r"""
import sys
from _tiny_net import random_layers, register

RANDOM = random_layers()
register("tiny_mp")

if len(sys.argv) > 1 and sys.argv[1] == "--initial":
    # the untrained weights, into a file beside the run folder: what the steps moved from
    from fer_keras.train import steps
    path, build = sys.argv.pop(2), steps.build_net
    sys.argv.pop(1)

    def build_net(cfg):
        net = build(cfg)
        net.save(path)
        return net

    steps.build_net = build_net

from fer_keras.cli import main
sys.exit(main(sys.argv[1:] + ([] if RANDOM else ["--no-augment"])))
"""
#: 256 synthetic faces: 204 training images, three global batches of 64 and one of 12 (6 a
#: process), so four steps; SGD, whose update is linear in the gradient, as in the two-device
#: test, and the weight average (EMA) on.
STEP_FLAGS = ("--data synthetic --n-synthetic 256 --model tiny_mp --epochs 1 --batch-size 64 "
              "--optimizer sgd --lr 0.05 --ema-momentum 0.9 --seed 3 --early-stopping 0 "
              "--verbose 0 --out runs/step")


def _step(backend, tmp_path):
    tiny = tmp_path / "tiny_mp.py"
    tiny.write_text(PREAMBLE + TINY)
    run = f"python {tiny} train {STEP_FLAGS}"
    t0 = time.monotonic()
    _launched(tmp_path / "one", backend,
              [[run.replace(" train ", " --initial initial.keras train ")]], "one", timeout=240)
    t1 = time.monotonic()
    _launched(tmp_path / "two", backend,
              [[cluster_env(backend, i), f"{run} --distribute data-parallel"] for i in range(2)],
              "two", timeout=240)
    t2 = time.monotonic()
    one = tmp_path / "one" / "host0" / "runs" / "step"
    chief, other = (tmp_path / "two" / f"host{i}" / "runs" / "step" for i in range(2))
    return dict(one=weights(one / "model.keras"), two=weights(chief / "model.keras"),
                initial=weights(tmp_path / "one" / "host0" / "initial.keras"),
                chief_files=files(chief), one_files=files(one), other_files=files(other),
                one_s=t1 - t0, two_s=t2 - t1, chief=chief)


def _check_step(out):
    # the chief wrote the run folder one process writes; the other worker wrote nothing
    assert out["chief_files"] == out["one_files"] and "last.keras" in out["chief_files"], out
    assert out["other_files"] == [], out["other_files"]
    two, one = out["two"], out["one"]
    # four steps moved the weights, and by the same amounts on one process and on two
    state = json.loads((out["chief"] / "state.json").read_text())
    assert state["epoch"] == 1 and state["iterations"] == 4, state
    assert maxdiff(one, out["initial"]) > 1e-3 and maxdiff(two, out["initial"]) > 1e-3
    assert maxdiff(two, one) < 1e-5, maxdiff(two, one)
    print(f"one process {out['one_s']:.1f} s, two {out['two_s']:.1f} s, "
          f"max |two - one| {maxdiff(two, one):.2e}")


@requires_tf
@namespace
def test_tf_two_worker_processes_step_equals_one_process(tmp_path):
    _check_step(_step("tensorflow", tmp_path))


@jax_here
@namespace
@pytest.mark.core
def test_jax_two_processes_step_equals_one_process(tmp_path):
    _check_step(_step("jax", tmp_path))


def launch_lines(backend, index, resume=False):
    """What worker ``index`` of the docs' two-process run types (docs/gpu.md)."""
    return [cluster_env(backend, index), f"fer-keras train {FLAGS}" + (" --resume" * resume)]


def _epoch(folder):
    try:
        return json.loads((Path(folder) / "state.json").read_text())["epoch"]
    except (OSError, ValueError, KeyError):
        return 0


def _kill_and_resume(backend, tmp_path):
    workers = lambda resume=False: [launch_lines(backend, i, resume) for i in range(2)]  # noqa: E731
    _launched(tmp_path / "straight", backend, workers(), "run", timeout=300)
    straight = tmp_path / "straight" / "host0" / "runs" / "mp"

    root = tmp_path / "killed"
    chief, other = (root / f"host{i}" / "runs" / "mp" for i in range(2))
    launch = Launch(root, backend, workers(), "run")
    try:
        end = time.monotonic() + 300
        while _epoch(chief) < 2 and launch.proc.poll() is None and time.monotonic() < end:
            time.sleep(0.05)
        assert _epoch(chief) >= 2 and launch.proc.poll() is None, launch.log(0)[-3000:]
        os.kill(launch.pid(1), signal.SIGKILL)
        # the chief notices its peer is gone (a failed collective) and stops by itself
        t0 = time.monotonic()
        launch.wait(timeout=120)
        chief_stop_s = time.monotonic() - t0
    finally:
        launch.close()
    killed = dict(rc=(launch.rc(0), launch.rc(1)), epoch=_epoch(chief), files=files(chief),
                  other=files(other), stop_s=chief_stop_s)
    # a host without a shared file system gets the chief's folder before --resume
    shutil.copytree(chief, other, dirs_exist_ok=True)
    before = {p.name: p.read_bytes() for p in other.iterdir()}
    resumed = _launched(root, backend, workers(resume=True), "resumed", timeout=300)
    return dict(killed=killed, straight=straight, chief=chief, other=other, before=before,
                resumed_log=resumed.log(0))


def _check_kill_and_resume(out):
    killed = out["killed"]
    # worker 1 was killed; the chief stopped with an error, after epoch 2 and before the end;
    # the other wrote nothing
    assert killed["rc"][1] == -signal.SIGKILL % 256 or killed["rc"][1] == 128 + signal.SIGKILL
    assert killed["rc"][0] != 0, killed
    assert 2 <= killed["epoch"] < 4, killed
    assert killed["other"] == [], killed
    assert not [f for f in killed["files"] if f.startswith(".")], killed  # no half-written file
    # both resumed from the chief's checkpoint and ended where the uninterrupted run did
    assert f"Epoch {killed['epoch'] + 1}/4" in out["resumed_log"], out["resumed_log"][-2000:]
    assert "Epoch 1/4" not in out["resumed_log"]
    history = json.loads((out["chief"] / "history.json").read_text())
    assert [r["epoch"] for r in history] == [1, 2, 3, 4], history
    state = json.loads((out["chief"] / "state.json").read_text())
    assert state["epoch"] == 4 and state["iterations"] == 4 * 4, state
    assert files(out["chief"]) == files(out["straight"])
    for name in ("model.keras", "last.keras"):
        d = maxdiff(weights(out["chief"] / name), weights(out["straight"] / name))
        assert d < 1e-6, (name, d)
    # the control: the weights kept at the kill (best.keras, copied over) are not the end's
    assert maxdiff(weights(out["chief"] / "model.keras"),
                   weights(out["other"] / "best.keras")) > 1e-3
    # the other worker read the copied folder and wrote nothing into it
    assert {p.name: p.read_bytes() for p in out["other"].iterdir()} == out["before"]
    print(f"chief stopped {killed['stop_s']:.1f} s after the kill, at epoch {killed['epoch']}")


@requires_tf
@namespace
@pytest.mark.slow
def test_tf_killed_worker_resumes_from_the_chiefs_checkpoint(tmp_path):
    _check_kill_and_resume(_kill_and_resume("tensorflow", tmp_path))


@jax_here
@namespace
@pytest.mark.core
@pytest.mark.slow
def test_jax_killed_worker_resumes_from_the_chiefs_checkpoint(tmp_path):
    _check_kill_and_resume(_kill_and_resume("jax", tmp_path))


@pytest.mark.core
def test_the_docs_give_the_launch_the_tests_run():
    text = DOC.read_text()
    for backend in ("tensorflow", "jax"):
        for i in range(2):
            for line in launch_lines(backend, i) + [launch_lines(backend, i, resume=True)[-1]]:
                assert line in text, f"docs/gpu.md lacks: {line}"
    assert cluster_env("tensorflow", 2, n=3) not in text  # the control: a line it does not give
