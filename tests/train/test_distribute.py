"""Data-parallel training (``distribute="data-parallel"``, :mod:`fer_keras.train.distribute`):
a step on two devices gives the weights one device gives with the same global batch (EMA
included), a resumed run ends where an uninterrupted one does, and the budget and mixed
precision run under it. Two host devices are
JAX's ``--xla_force_host_platform_device_count=2`` and two logical CPUs on TensorFlow, each set
before the backend starts, so every run is a subprocess."""
import json
import os
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pytest
from _tiny_net import PREAMBLE
from conftest import requires_tf

from fer_keras.config import TrainConfig

REPO = Path(__file__).resolve().parents[2]

#: Two devices, then the runs: one device, two devices, two devices killed after epoch 1 and
#: resumed, two devices uninterrupted. On JAX the model has batch normalisation and dropout and
#: the step augments (all equal on one or two devices there); on TensorFlow each replica draws
#: its own randomness and normalises with its own statistics, so the model has none of them.
SCRIPT = r"""
import json, os, sys
backend, out, mode = sys.argv[1], sys.argv[2], sys.argv[3]
if backend == "jax":
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
else:
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
import numpy as np
from fer_keras import models
from fer_keras.config import TrainConfig
from fer_keras.data.dataset import Dataset
from fer_keras.train import fit, train
from _tiny_net import random_layers, register

RANDOM = random_layers()

register("tiny_dp")

rng = np.random.default_rng(0)
def part(n, usage):
    return Dataset(rng.integers(0, 256, (n, 48, 48), dtype=np.uint8),
                   rng.integers(0, 7, n), np.arange(n).astype(str), np.array([usage] * n))
# 128 training images: two full global batches of 64; 21 validation images: one left out on 2
splits = {"train": part(128, "Training"), "val": part(21, "PublicTest"), "test": part(0, "")}
base = dict(model="tiny_dp", batch_size=64, verbose=0, early_stopping=0, ema_momentum=0.9,
            optimizer="sgd", lr=0.05, augment=RANDOM, seed=3)

def weights(net):
    return [np.asarray(w, np.float64) for w in net.get_weights()]

def maxdiff(a, b):
    return max(float(np.max(np.abs(x - y))) for x, y in zip(a, b))

res = {}
if mode == "step":
  keras.utils.set_random_seed(3)
  w0 = weights(models.build("tiny_dp"))
  one, _ = train(TrainConfig(epochs=1, out=out + "/one", **base), splits=splits)
  two, hist = train(TrainConfig(epochs=1, out=out + "/two", distribute="data-parallel", **base),
                    splits=splits)
  res["dist_after"] = repr(keras.distribution.distribution()) if backend == "jax" else None
  res["step_vs_one_device"] = maxdiff(weights(one), weights(two))
  res["one_device_vs_initial"] = maxdiff(weights(one), w0)
  res["two_devices_vs_initial"] = maxdiff(weights(two), w0)
  res["loss"] = hist[-1]["loss"]
else:
  # killed after the checkpoint of epoch 1, resumed on two devices, against an uninterrupted run
  cfg = TrainConfig(epochs=2, distribute="data-parallel", **base)
  straight, _ = train(cfg.replace(out=out + "/straight"), splits=splits)
  original = fit.RunRecorder.commit
  def stop_after_first(self, model, epoch):
      original(self, model, epoch)
      if epoch == 0:
          raise KeyboardInterrupt
  fit.RunRecorder.commit = stop_after_first
  try:
      first, _ = train(cfg.replace(out=out + "/resumed"), splits=splits)
  except KeyboardInterrupt:
      res["interrupted_at"] = json.load(open(out + "/resumed/state.json"))["epoch"]
  fit.RunRecorder.commit = original
  epoch1 = weights(keras.saving.load_model(out + "/resumed/best.keras", compile=False))
  resumed, hist = train(cfg.replace(out=out + "/resumed"), resume=True, splits=splits)
  res["resumed_vs_straight"] = maxdiff(weights(resumed), weights(straight))
  res["resumed_vs_epoch1"] = maxdiff(weights(resumed), epoch1)
  res["epochs"] = [r["epoch"] for r in hist]
  # the budget's timing burst and mixed precision under the distribution
  net, hist = train(TrainConfig(epochs=50, budget_minutes=0.05, precision="mixed",
                                distribute="data-parallel", out=out + "/budget", **base),
                    splits=splits)
  res["budget_epochs"] = len(hist)
  res["budget_loss"] = hist[-1]["loss"]
  res["mixed_policy"] = net.get_layer("conv").dtype_policy.name
  res["policy_after"] = keras.config.dtype_policy().name
  res["dist_after"] = repr(keras.distribution.distribution()) if backend == "jax" else None
print(json.dumps(res))
"""


def _run(backend, tmp_path, mode, timeout=300):
    env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": str(REPO),
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    res = subprocess.run([sys.executable, "-c", PREAMBLE + SCRIPT, backend, str(tmp_path), mode], env=env,
                         capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


def _check_step(out):
    # the step moved the weights, by the same amounts on one device and on two (SGD: the
    # update is linear in the gradient; Adam's first steps divide near-zero gradients by their
    # own size, which turns float rounding into 1e-4 differences)
    assert out["one_device_vs_initial"] > 1e-3, out
    assert out["two_devices_vs_initial"] > 1e-3, out
    assert out["step_vs_one_device"] < 1e-5, out
    assert np.isfinite(out["loss"])


def _check_resume(out):
    # the resumed run continued from epoch 1 and ended where the uninterrupted one did
    assert out["interrupted_at"] == 1 and out["epochs"] == [1, 2], out
    assert out["resumed_vs_epoch1"] > 1e-3, out
    assert out["resumed_vs_straight"] < 1e-6, out
    # a budget of 3 s plans a few epochs, in mixed precision, and leaves no global state behind
    assert 1 <= out["budget_epochs"] < 50 and np.isfinite(out["budget_loss"]), out
    assert out["mixed_policy"] == "mixed_bfloat16" and out["policy_after"] == "float32", out
    assert out["dist_after"] in ("None", None), out


jax_here = pytest.mark.skipif(find_spec("jax") is None, reason="needs JAX (not installed)")


@jax_here
@pytest.mark.core
def test_jax_data_parallel_step_equals_one_device(tmp_path):
    out = _run("jax", tmp_path, "step")
    assert out["dist_after"] == "None"  # the run unset its distribution
    _check_step(out)


@requires_tf
def test_tf_mirrored_step_equals_one_device(tmp_path):
    _check_step(_run("tensorflow", tmp_path, "step"))


@jax_here
@pytest.mark.core
@pytest.mark.slow
def test_jax_data_parallel_resume_and_budget(tmp_path):
    _check_resume(_run("jax", tmp_path, "resume"))


@requires_tf
@pytest.mark.slow
def test_tf_mirrored_resume_and_budget(tmp_path):
    _check_resume(_run("tensorflow", tmp_path, "resume"))


@pytest.mark.core
def test_uneven_batches_split_or_left_out():
    from fer_keras.data.pipeline import ArrayBatches, EpochBatches, local_block

    images, labels = np.zeros((133, 48, 48), np.uint8), np.arange(133) % 7
    # 133 = 2 x 64 + 5: the 5 do not split over 2 devices and are left out; over 5 they do
    assert len(EpochBatches(images, labels, 64)) == 3
    assert len(EpochBatches(images, labels, 64, replicas=2)) == 2
    assert len(EpochBatches(images[:132], labels[:132], 64, replicas=2)) == 3
    # two processes: each feeds its half of every global batch, together the whole batch
    whole = EpochBatches(images, labels, 64, seed=5)
    halves = [EpochBatches(images, labels, 64, seed=5, shard=(i, 2)) for i in range(2)]
    for b in range(2):
        assert np.array_equal(np.concatenate([h[b][1] for h in halves]), whole[b][1])
        assert len(halves[0][b][1]) == 32
    assert local_block(np.arange(8), (1, 4)).tolist() == [2, 3]
    val = ArrayBatches(images[:10], labels[:10], batch_size=4, shard=(1, 2))
    assert val[0][1].tolist() == [2, 3] and val[2][1].tolist() == [9 % 7]


@pytest.mark.core
def test_epoch_order_follows_the_epoch_keras_trains_not_the_calls():
    from fer_keras.data.pipeline import EpochBatches

    images, labels = np.zeros((133, 48, 48), np.uint8), np.arange(133) % 7
    ref = EpochBatches(images, labels, 64, seed=5)
    ref.on_epoch_begin()
    followed, counted = (EpochBatches(images, labels, 64, seed=5) for _ in range(2))
    cb = followed.epoch_callback()
    for seq in (followed, counted):
        seq.on_epoch_begin()  # the extra call of Keras's symbolic build under a TF strategy
    cb.on_epoch_begin(0)
    for seq in (followed, counted):
        seq.on_epoch_begin()
    assert followed.epoch == 0 and np.array_equal(followed[0][1], ref[0][1])
    assert counted.epoch == 1 and not np.array_equal(counted[0][1], ref[0][1])  # the control


@pytest.mark.core
def test_validation_leaves_out_what_does_not_split():
    from fer_keras.data.dataset import Dataset
    from fer_keras.train.distribute import Replicas
    from fer_keras.train.steps import validation_inputs

    n = 515
    val = Dataset(np.zeros((n, 48, 48), np.uint8), np.arange(n) % 7, np.arange(n).astype(str),
                  np.array([""] * n))
    one = validation_inputs({"val": val})
    three = validation_inputs({"val": val}, Replicas(3))
    assert sum(len(one[i][1]) for i in range(len(one))) == 515
    assert three.batch_size == 255 and sum(len(three[i][1]) for i in range(len(three))) == 513


@pytest.mark.core
def test_batch_that_does_not_split_is_one_line():
    from fer_keras.errors import FerInputError
    from fer_keras.train.distribute import Replicas

    Replicas(4).check_batch(128)
    with pytest.raises(FerInputError, match=r"--batch-size 130 does not split evenly over the 4 "
                                            r"devices.*e.g. 128 or 132"):
        Replicas(4).check_batch(130)


@pytest.mark.core
def test_budget_is_refused_on_several_hosts(monkeypatch):
    from fer_keras.errors import FerInputError
    from fer_keras.train import distribute

    cfg = TrainConfig(distribute="data-parallel", budget_minutes=5, batch_size=64)
    monkeypatch.setattr(distribute, "_data_parallel",
                        lambda backend: distribute.Replicas(4, process_count=2, backend=backend))
    with pytest.raises(FerInputError, match="--budget-minutes .* cannot run on 2 hosts"):
        distribute.replicas_for(cfg)
    assert distribute.replicas_for(cfg.replace(budget_minutes=0)).count == 4  # the control


@pytest.mark.core
def test_tf_config_counts_workers_and_names_the_chief():
    from fer_keras.errors import FerInputError
    from fer_keras.train.distribute import is_chief, tf_config_workers

    two = {"cluster": {"worker": ["h1:2222", "h2:2222"]}, "task": {"type": "worker", "index": 1}}
    assert tf_config_workers({"TF_CONFIG": json.dumps(two)}) == (2, "worker", 1)
    assert tf_config_workers({}) == (0, None, 0)
    assert is_chief(2, "worker", 0, False) and not is_chief(2, "worker", 1, False)
    assert not is_chief(3, "worker", 0, True) and is_chief(3, "chief", 0, True)
    with pytest.raises(FerInputError, match="TF_CONFIG"):
        tf_config_workers({"TF_CONFIG": "{not json"})
