"""How fast this machine trains (:mod:`fer_keras.train.throughput`): the timed burst, its store
per CPU, and the CPU in words."""
import json

import pytest

from fer_keras.config import TrainConfig
from fer_keras.data.loading import load_splits
from fer_keras.train import throughput

# a dense model: its bursts take a second, the rules under test are the same
TINY = dict(model="dnn_001", n_synthetic=400, batch_size=64, verbose=0)


def test_a_burst_is_timed_once_per_run_kind_and_reused(tmp_path, monkeypatch):
    """The first estimate times a burst and stores its step time; the same run again reads it
    (no burst); another batch, or ``fresh``, times again; a damaged store is timed again, not
    an error. The epoch's seconds follow the steps of the epoch."""
    monkeypatch.setenv("FER_KERAS_CACHE", str(tmp_path))
    cfg = TrainConfig(**TINY)
    splits = load_splits("synthetic", n_synthetic=400, seed=0)
    bursts = []
    real = throughput.measure_step
    monkeypatch.setattr(throughput, "measure_step",
                        lambda *a, **k: bursts.append(a[0].batch_size) or real(*a, **k))
    first, measured = throughput.epoch_seconds(cfg, splits)
    assert measured and bursts == [64] and first > 0
    step = throughput.stored_step(cfg)
    assert step is not None and 0 < step < first
    again, measured = throughput.epoch_seconds(cfg, splits)
    assert not measured and again == pytest.approx(first) and bursts == [64]
    half = cfg.replace(batch_size=32)
    assert throughput.stored_step(half) is None  # control: another batch is another key
    throughput.epoch_seconds(half, splits)
    assert bursts == [64, 32]
    throughput.epoch_seconds(cfg, splits, fresh=True)
    assert bursts == [64, 32, 64]
    store = tmp_path / throughput.STORE
    assert len(json.loads(store.read_text())) == 2
    store.write_text("{not json")
    assert throughput.stored_step(cfg) is None
    throughput.epoch_seconds(cfg, splits)
    assert bursts == [64, 32, 64, 64]
    # the epoch's time is its train steps (5% overheads) and its validation at a third of a step
    from fer_keras.train import steps

    throughput.remember(cfg, 0.5)
    n_steps = steps.training_inputs(cfg, splits, 0)[1]
    want = 0.5 * n_steps * 1.05 + 0.5 / 3 * len(splits["val"]) / 64
    assert throughput.epoch_seconds(cfg, splits) == (pytest.approx(want), False)


def test_the_key_names_the_cpu_and_what_the_step_depends_on():
    cfg = TrainConfig(**TINY)
    key = throughput.step_key(cfg)
    assert key.startswith(throughput.cpu_kind()) and "dnn_001" in key and "batch 64" in key
    for other in (cfg.replace(precision="mixed"), cfg.replace(model="fer_net"),
                  cfg.replace(augment=False)):
        assert throughput.step_key(other) != key


def test_cpu_kind_reads_the_bf16_units(tmp_path):
    from fer_keras.train.throughput import cpu_kind

    f = tmp_path / "cpuinfo"
    f.write_text("model name\t: Intel Xeon\nflags\t\t: fpu avx512_bf16 amx_bf16 amx_tile\n")
    assert cpu_kind(f) == "Intel Xeon with AMX"
    f.write_text("model name\t: AMD EPYC\nflags\t\t: fpu avx512_bf16\n")
    assert cpu_kind(f) == "AMD EPYC, AVX-512 BF16, no AMX"
    f.write_text("model name\t: Old\nflags\t\t: fpu sse2\n")
    assert cpu_kind(f) == "Old, no AMX, no AVX-512 BF16"
    assert cpu_kind(tmp_path / "absent") == "unknown CPU"


def test_cpu_fields_are_the_first_cpus(tmp_path):
    """The first processor block of /proc/cpuinfo, as ``make bench`` records it; a second CPU's
    other values are not mixed in."""
    f = tmp_path / "cpuinfo"
    f.write_text("processor\t: 0\nmodel name\t: AMD EPYC\ncpu family\t: 25\ncpu MHz\t\t: 2596.1\n"
                 "flags\t\t: fpu avx512_bf16\n\nprocessor\t: 1\nmodel name\t: Other\n"
                 "cpu MHz\t\t: 1800.0\nflags\t\t: fpu amx_bf16\n")
    fields, flags = throughput.cpu_fields(f)
    assert fields["model name"] == "AMD EPYC" and fields["cpu MHz"] == "2596.1"
    assert fields["cpu family"] == "25" and flags == {"fpu", "avx512_bf16"}
    assert throughput.cpu_fields(tmp_path / "absent") == ({}, set())




def test_train_prints_the_estimate_timed_here_on_real_data(fer_sample_csv, tmp_path,
                                                           monkeypatch, capsys):
    """``train`` on FER2013 rows (the Kaggle-format sample) starts with the estimate of its
    epochs at the speed measured here; the second run of the same kind reads the stored time;
    the synthetic faces (seconds of training) print none."""
    from fer_keras.train import train

    monkeypatch.setenv("FER_KERAS_CACHE", str(tmp_path / "cache"))
    cfg = TrainConfig(data=str(fer_sample_csv), epochs=2, model="dnn_001", batch_size=64,
                      verbose=1, out=str(tmp_path / "a"))
    train(cfg)
    first = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("estimated")]
    assert len(first) == 1 and "for 2 epochs" in first[0] and "timed just now" in first[0]
    assert "this CPU: " + throughput.cpu_kind() in first[0]
    train(cfg.replace(out=str(tmp_path / "b")))
    assert "timed earlier on this machine" in capsys.readouterr().out
    train(TrainConfig(**{**TINY, "epochs": 1, "verbose": 1, "out": str(tmp_path / "c")}))
    assert "estimated time" not in capsys.readouterr().out


def _cpuinfo(tmp_path, flags):
    f = tmp_path / "cpuinfo"
    f.write_text(f"model name\t: Some CPU\nflags\t\t: fpu sse2 avx512f {flags}\n")
    return f


def test_bf16_instructions_are_amx_or_avx512_bf16(tmp_path):
    assert throughput.bf16_instructions(_cpuinfo(tmp_path, "amx_bf16 amx_tile"))
    assert throughput.bf16_instructions(_cpuinfo(tmp_path, "avx512_bf16"))
    # control: AVX-512 without its bf16 extension (the Xeon whose bf16 step was 3.4-4x slower)
    assert not throughput.bf16_instructions(_cpuinfo(tmp_path, "avx512_vnni avx512bw"))
    assert throughput.bf16_instructions(tmp_path / "absent")  # unknown: timed, not guessed


@pytest.mark.parametrize("mixed_s, float32_s, want", [(0.2, 0.5, "mixed"),
                                                      (0.9, 0.3, "float32")])
def test_auto_precision_times_both_and_takes_the_faster(tmp_path, monkeypatch, mixed_s,
                                                         float32_s, want):
    """With bf16 instructions each precision's burst is timed once (then remembered): the
    faster step wins, whichever it is."""
    monkeypatch.setenv("FER_KERAS_CACHE", str(tmp_path))
    timed = []

    def burst(cfg, splits, replicas=None):
        timed.append(cfg.precision)
        s = mixed_s if cfg.precision == "mixed" else float32_s
        throughput.remember(cfg, s, replicas)
        return s

    monkeypatch.setattr(throughput, "measure_step", burst)
    cfg = TrainConfig(**TINY, precision="auto")
    info = _cpuinfo(tmp_path, "avx512_bf16")
    got, why = throughput.choose_precision(cfg, None, cpuinfo=info)
    assert got == want and sorted(timed) == ["float32", "mixed"]
    assert f"{min(mixed_s, float32_s):.3f} s against {max(mixed_s, float32_s):.3f} s" in why
    assert throughput.choose_precision(cfg, None, cpuinfo=info)[0] == want
    assert len(timed) == 2  # the second choice read the stored steps


def test_auto_precision_without_bf16_is_float32_untimed_and_mixed_on_a_gpu(tmp_path,
                                                                            monkeypatch):
    from fer_keras.train import steps

    monkeypatch.setattr(throughput, "measure_step",
                        lambda *a, **k: pytest.fail("timed where the rule decides"))
    cfg = TrainConfig(**TINY, precision="auto")
    got, why = throughput.choose_precision(cfg, None,
                                           cpuinfo=_cpuinfo(tmp_path, "avx512_vnni"))
    assert got == "float32" and "neither AMX nor AVX-512 BF16" in why
    monkeypatch.setattr(steps, "gpu_compute_capability", lambda: (8, 0))
    assert throughput.choose_precision(cfg, None, cpuinfo=_cpuinfo(tmp_path, ""))[0] == "mixed"
