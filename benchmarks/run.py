"""Run every benchmark and write one Markdown report (``python -m benchmarks.run --out FILE``):
the section of this CPU kind in FILE, the other kinds' sections kept (:mod:`benchmarks.per_cpu`).

Sections: the machine; this CPU's measured matmul peak (TensorFlow, fp32 and bf16); training and
inference throughput of every registry model (batch 128, fp32 and mixed bfloat16) with FLOPs
per image, achieved FLOP/s and fraction of the peak; a PyTorch training loop on the same
networks (when torch is importable); XLA on CPU; the three input pipelines against training
throughput; augmentation on TensorFlow and JAX; rows of ``benchmarks.bench_data`` and
``benchmarks.bench_explain`` when present. Every figure is the median of several timed runs,
with min and max. ``--quick`` runs a short subset (two models, fewer repetitions).
"""
from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import platform
import shlex
import subprocess
import sys
import time
import traceback
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = Path(__file__).resolve().parents[1]
TARGET_PEAK_FRACTION = 0.60
TARGET_BF16_SPEEDUP = 1.3
TARGET_INPUT_SPEEDUP = 4.0


# --------------------------------------------------------------------------- machine
def _meminfo_gib():
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2 ** 20
    except OSError:
        pass
    return None


def loadavg():
    try:
        return tuple(float(v) for v in Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return None


def _version(module):
    try:
        return importlib.import_module(module).__version__
    except Exception:  # noqa: BLE001  (absent or broken: just say so)
        return "not installed"


def _jax_version():
    from benchmarks.bench_pipeline import jax_python

    py = jax_python()
    if py is None:
        return "not installed (no .venv-jax)"
    try:
        out = subprocess.run([str(py), "-c", "import jax; print(jax.__version__)"],
                             capture_output=True, text=True, timeout=120)
        return (out.stdout.strip() or "unavailable") + " (.venv-jax)"
    except (OSError, subprocess.TimeoutExpired):
        return "unavailable"


def theoretical_peak(info, flags, cores):
    """(fp32, bf16) GFLOP/s from the microarchitecture at the reported clock, or None."""
    try:
        family, model, mhz = int(info["cpu family"]), int(info["model"]), float(info["cpu MHz"])
    except (KeyError, ValueError):
        return None
    if info.get("vendor_id") == "AuthenticAMD" and family == 25 and "avx512f" in flags:
        # Zen 4: AVX-512 on two 256-bit FMA pipes = 32 fp32 FLOP/cycle/core; vdpbf16ps
        # does twice the FLOPs per instruction (64 bf16 FLOP/cycle/core)
        per_cycle = 32
        name = "Zen 4"
    else:
        return None
    fp32 = cores * mhz / 1e3 * per_cycle
    bf16 = fp32 * 2 if "avx512_bf16" in flags else None
    return {"arch": name, "model": model, "ghz": mhz / 1e3, "fp32": fp32, "bf16": bf16}


def machine():
    from fer_keras.train.throughput import cpu_fields

    info, flags = cpu_fields()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                                capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        commit = ""
    return {
        "cpu": info.get("model name", platform.processor() or "unknown"),
        "cpu_family_model": f"family {info.get('cpu family', '?')} model {info.get('model', '?')}",
        "mhz": info.get("cpu MHz", "?"),
        "isa": " ".join(sorted(f for f in flags if f.startswith(("avx512", "amx"))
                               or f in ("avx2", "fma"))),
        "cores": cores,
        "ram_gib": _meminfo_gib(),
        "python": platform.python_version(),
        "tensorflow": _version("tensorflow"),
        "keras": _version("keras"),
        "jax": _jax_version(),
        "torch": _version("torch"),
        "numpy": _version("numpy"),
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit,
        "theoretical": theoretical_peak(info, flags, cores),
        "flags": flags,
    }


# --------------------------------------------------------------------------- formatting
def f3(v, digits=3):
    """A number with ``digits`` significant digits, grouped; '-' for None."""
    if v is None:
        return "-"
    if isinstance(v, float) and v != v:
        return "nan"
    v = float(v)
    if v == 0:
        return "0"
    mag = abs(v)
    if mag >= 10 ** (digits - 1):
        return f"{v:,.0f}"
    decimals = max(0, digits - 1 - int(f"{mag:e}".split("e")[1]))
    return f"{v:,.{decimals}f}"


def fs(s, digits=3):
    """``median (min-max)`` of a stats dict."""
    if not isinstance(s, dict):
        return f3(s, digits) if isinstance(s, (int, float)) else str(s)
    if s.get("min") is None:
        return f3(s["median"], digits)
    return f"{f3(s['median'], digits)} ({f3(s['min'], digits)}-{f3(s['max'], digits)})"


def pct(x):
    return "-" if x is None else f"{100 * x:.0f}%"


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def generic_table(rows):
    """A table of arbitrary dict rows (bench_data / bench_explain): the union of their keys."""
    keys = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    return table(keys, [[fs(r[k]) if k in r else "" for k in keys] for r in rows])


# --------------------------------------------------------------------------- sections
class Report:
    def __init__(self, log):
        self.parts = []
        self.results = {}
        self.notes = []
        self.loads = []
        self.log = log

    def add(self, text):
        self.parts.append(text)

    def section(self, key, title, fn):
        """Run ``fn()`` (which returns Markdown) under a heading; on failure write the error."""
        self.log(f"[{time.strftime('%H:%M:%S')}] {title} ...")
        self.loads.append(loadavg())
        t = time.perf_counter()
        try:
            body = fn()
        except Exception as e:  # noqa: BLE001  (a failing section must not lose the others)
            traceback.print_exc()
            body = f"Not measured: `{type(e).__name__}: {' '.join(str(e).split())[:300]}`"
        secs = time.perf_counter() - t
        self.log(f"    {secs:.0f} s")
        self.add(f"## {title}\n\n{body}\n\n_Section time: {secs:.0f} s._\n")


def peak_section(rep, m, reps):
    from benchmarks.bench_train import peak_matmul

    peak = peak_matmul(reps=reps)
    rep.results["peak"] = peak
    th = m["theoretical"]
    rows = []
    for k, label in (("float32", "fp32"), ("bfloat16", "bf16")):
        theo = th and th.get("fp32" if k == "float32" else "bf16")
        rows.append([label, fs(peak[k]), f3(theo) if theo else "-",
                     pct(peak[k]["median"] / theo) if theo else "-"])
    text = table(["precision", "measured matmul GFLOP/s, median (min-max)",
                  "theoretical GFLOP/s", "measured / theoretical"], rows)
    text += (f"\n\nA `tf.function` of 4 dependent 2048x2048 matmuls (`tf.matmul`, oneDNN), "
             f"{reps} timed calls per precision, fp32 and bf16 alternated. bf16/fp32 = "
             f"{peak['bfloat16']['median'] / peak['float32']['median']:.2f}x.")
    if th:
        text += (f" Theoretical: {th['arch']} (AVX-512 on 256-bit FMA units: 32 fp32 FLOP/cycle/"
                 f"core; `vdpbf16ps` 64 bf16 FLOP/cycle/core) x {m['cores']} cores x "
                 f"{th['ghz']:.2f} GHz (the reported clock; boost clocks are higher).")
    return text


def models_section(rep, names, quick):
    from benchmarks.bench_train import bench_models

    rows = bench_models(names, quick=quick, log=rep.log)
    rep.results["models"] = rows
    by = {(r["model"], r["variant"]): r for r in rows}
    out = []
    for r in rows:
        fp32 = by.get((r["model"], "fp32"))
        speed = "-"
        if r["variant"] != "fp32" and fp32:
            speed = f"{r['train_img_s']['median'] / fp32['train_img_s']['median']:.2f}x"
        out.append([r["model"], f"{r['params']:,}", f3(r["fwd_gflop_per_img"]), r["variant"],
                    fs(r["train_img_s"]), f3(r["train_gflop_s"]),
                    fs(r.get("train_peak_gflop_s")), pct(r.get("train_frac_peak")), speed,
                    fs(r["infer_img_s"]), f3(r["infer_gflop_s"]),
                    pct(r.get("infer_frac_peak"))])
    text = table(["model", "params", "fwd GFLOP/img", "precision", "train img/s",
                  "train GFLOP/s", "matmul GFLOP/s meanwhile", "train % of peak",
                  "bf16 speed-up (train)", "inference img/s", "inference GFLOP/s",
                  "inference % of peak"], out)
    text += ("\n\nBatch 128, Adam, sparse cross-entropy, `train_on_batch` / `predict_on_batch` "
             "(compiled `tf.function`, no XLA: Keras's default on a CPU-only machine). "
             "Per model: a compile step, one more warm-up step for cheap models, then 5 timed "
             "steps (3 for models whose step takes over ~1 s; `--quick`: 3 and 2). The fp32 "
             "step, the bf16 step and two chained 2048x2048 matmuls of each precision (the "
             "peak section's size) alternate, so "
             "*% of peak* = the model's GFLOP/s over the matmul GFLOP/s of its precision "
             "measured in the same rounds (*matmul GFLOP/s meanwhile*; the peak section's "
             "figure was taken at another moment, under another load). img/s: median "
             "(min-max) over the timed steps. FLOPs: Conv2D 2*H_out*W_out*K*K*C_in*C_out "
             "and Dense 2*in*out per image (BN, activations, pooling, optimizer not "
             "counted); training = 3x forward.")
    return text


def xla_section(rep, quick, name="fer_net"):
    from benchmarks.bench_train import bench_xla

    rows = bench_xla(name, quick=quick)
    rep.results["xla"] = rows
    out = [[r["model"], r["variant"], f3(r["compile_s"]), fs(r["train_img_s"]),
            fs(r["infer_img_s"])] for r in rows]
    a, b = rows
    ratio = b["train_img_s"]["median"] / a["train_img_s"]["median"]
    rep.results["xla_ratio"] = ratio
    return (table(["model", "variant", "first step s (compile)", "train img/s",
                   "inference img/s"], out)
            + f"\n\n`jit_compile=True` (XLA on the CPU) / default training throughput: "
              f"{ratio:.2f}x. Keras turns XLA off by default on CPU-only machines, and here "
              "TensorFlow's default path (oneDNN convolutions) "
              + ("is faster, so the default stays." if ratio < 1 else
                 "is slower; consider `jit_compile=True`."))


def batchnorm_section(rep, quick, name="fer_net"):
    from benchmarks.bench_train import bench_batchnorm

    rows = bench_batchnorm(name, quick=quick)
    rep.results["batchnorm"] = rows
    by = {r["variant"]: r for r in rows}
    out = []
    for r in rows:
        keras_row = by[r["variant"].replace("fused", "Keras")]
        speedup = r["train_img_s"]["median"] / keras_row["train_img_s"]["median"]
        out.append([r["model"], r["variant"], fs(r["train_img_s"]), fs(r["infer_img_s"]),
                    f"{speedup:.2f}x" if "fused" in r["variant"] else "-"])
    ratio = by["bf16, fused BN"]["train_img_s"]["median"] / by["bf16, Keras BN"]["train_img_s"]["median"]
    rep.results["batchnorm_ratio_bf16"] = ratio
    return (table(["model", "variant", "train img/s", "inference img/s",
                   "fused / Keras (train)"], out)
            + "\n\nEvery registry model normalises with `fer_keras.models.layers.BatchNorm`, which on "
              "TensorFlow runs the fused `FusedBatchNormV3` kernel (one oneDNN pass, bf16 "
              "activations with float32 statistics); Keras 3's `BatchNormalization` computes the "
              "moments and the normalisation as separate float32 ops with casts around them. "
              f"Same weights and results (tests/models/test_layers.py); bf16 training {ratio:.2f}x "
              "faster with the fused kernel.")


def torch_section(rep, names, quick):
    from benchmarks.bench_train import bench_torch, torch_available

    if not torch_available():
        return "Skipped: PyTorch is not installed (`pip install torch` to compare)."
    rows = bench_torch(names, quick=quick)
    rep.results["torch"] = rows
    out = [[r["model"], f"{r['torch_params']:,}", fs(r["keras_img_s"]), fs(r["torch_img_s"]),
            fs(r["keras_over_torch"], 2)] for r in rows]
    return (table(["model", "params (torch)", "Keras/TF train img/s", "PyTorch train img/s",
                   "Keras / PyTorch"], out)
            + f"\n\nPyTorch {rows[0]['torch_version']} on the CPU ({os.cpu_count()} threads), "
              "a plain loop: `zero_grad; loss = CE(net(x), y); backward; Adam step`, fp32, "
              "NCHW, batch 128; the same layers and widths as the registry model. Keras and "
              "PyTorch steps alternate; ratio = PyTorch step time / Keras step time, per pair.")


def inputs_section(rep, reps, quick):
    from benchmarks.bench_pipeline import bench_inputs

    rows = bench_inputs(reps=reps, quick=quick)
    rep.results["inputs"] = rows
    train = next((r["train_img_s"]["median"] for r in rep.results.get("models", [])
                  if r["model"] == "small_cnn" and r["variant"] == "fp32"), None)
    by = {r["pipeline"]: r for r in rows}
    idg = by["idg"]["img_s"]["median"]
    out = []
    for r in rows:
        med = r["img_s"]["median"]
        out.append([r["pipeline"], fs(r["img_s"]), f"{med / idg:.1f}x",
                    f"{med / train:.1f}x" if train else "-", r["note"]])
    text = table(["pipeline", "img/s", "vs idg", "vs small_cnn training img/s (fp32)", "how"],
                 out)
    npr = by["numpy"]
    text += (f"\n\nFER2013-sized input: 28,709 uint8 48x48 images with FER2013's class counts, "
             f"oversampled to 7 x 7,215 = 50,505 per epoch, batch 128, rotation 10 deg, shift "
             f"0.1, zoom 0.1, flip. numpy = slicing {fs(npr['slicing_img_s'])} img/s and "
             f"RandomAffine {fs(npr['affine_img_s'])} img/s combined. The numpy path's "
             "augmentation runs inside the train step, so its cost adds to the step time "
             "rather than overlapping it; the idg and tfdata inputs run beside training "
             "(PyDataset thread / tf.data threads) on the same two cores.")
    return text


def augment_section(rep, reps):
    from benchmarks.bench_pipeline import bench_augment, bench_augment_jax

    rows = bench_augment(reps=reps)
    jrows, note = bench_augment_jax(reps=reps)
    rows += jrows
    rep.results["augment"] = rows
    out = [[r["backend"], r["method"], fs(r["img_s"]), f3(r["compile_s"])] for r in rows]
    text = table(["backend", "method", "img/s", "first call s (compile)"], out)
    text += ("\n\nBatch 128 of 48x48x1 float32, 10 calls per timed run; compiled "
             "(`tf.function` on TensorFlow; `jax.jit` of `layer.stateless_call` on JAX, in a "
             "subprocess with `.venv-jax` and `KERAS_BACKEND=jax`). Same strengths: rotation "
             "10 deg, shift 0.1, zoom 0.1, horizontal flip, fill mode nearest.")
    if note:
        text += f"\n\nJAX: {note}."
    return text


def optional_section(rep, module, reps):
    try:
        mod = importlib.import_module(f"benchmarks.{module}")
    except ImportError as e:
        return f"Skipped: `benchmarks/{module}.py` is not importable ({e})."
    rows = mod.run(reps=reps)
    rep.results[module] = rows
    if not rows:
        return "No rows."
    return generic_table(rows)


# --------------------------------------------------------------------------- targets
def targets(rep):
    res = rep.results
    lines = []
    models = {(r["model"], r["variant"]): r for r in res.get("models", [])}
    deep = models.get(("deep_cnn", "fp32"))
    peak = res.get("peak", {})
    if deep and deep.get("train_frac_peak") is not None:
        frac = deep["train_frac_peak"]
        ok = frac >= TARGET_PEAK_FRACTION
        vs_section = (f"; against the peak section's median "
                      f"({f3(peak['float32']['median'])} GFLOP/s, another moment) "
                      f"{pct(deep['train_gflop_s'] / peak['float32']['median'])}" if peak else "")
        lines.append(
            f"- **deep_cnn fp32 training >= {TARGET_PEAK_FRACTION:.0%} of the measured matmul "
            f"peak: {'met' if ok else 'not met'}, {pct(frac)}.** {f3(deep['train_gflop_s'])} "
            f"GFLOP/s ({f3(deep['train_img_s']['median'])} img/s x "
            f"{f3(3 * deep['fwd_gflop_per_img'])} GFLOP) against "
            f"{f3(deep['train_peak_gflop_s']['median'])} GFLOP/s of fp32 matmul measured in "
            f"alternation with it{vs_section}. Its convolutions are 32-512 channels wide, "
            "large enough for oneDNN's kernels to run near matmul speed.")
    deep_bf = models.get(("deep_cnn", "bf16"))
    if deep and deep_bf:
        sp = deep_bf["train_img_s"]["median"] / deep["train_img_s"]["median"]
        bf_flag = "avx512_bf16" in rep.machine["flags"]
        others = []
        for (name, v), r in models.items():
            if v == "bf16" and name != "deep_cnn":
                base = models[(name, "fp32")]["train_img_s"]["median"]
                others.append(f"{name} {r['train_img_s']['median'] / base:.2f}x")
        why = ""
        if sp < TARGET_BF16_SPEEDUP:
            why = (" bf16 only pays where time goes to large matmuls/convolutions; casts, "
                   "batch norm, pooling and the optimizer stay in fp32 and the small models "
                   "are dominated by them.")
        lines.append(
            f"- **mixed bf16 >= {TARGET_BF16_SPEEDUP}x fp32 (the CPU "
            f"{'has' if bf_flag else 'lacks'} AVX-512 BF16): "
            f"{'met' if sp >= TARGET_BF16_SPEEDUP else 'not met'} on deep_cnn, {sp:.2f}x.** "
            f"Matmul bf16/fp32: "
            f"{deep_bf['train_peak_gflop_s']['median'] / deep['train_peak_gflop_s']['median']:.2f}x"
            f" alongside it. Other models: "
            f"{', '.join(others) or '-'}.{why}")
    inputs = {r["pipeline"]: r for r in res.get("inputs", [])}
    if "idg" in inputs and "tfdata" in inputs:
        r = inputs["tfdata"]["img_s"]["median"] / inputs["idg"]["img_s"]["median"]
        lines.append(
            f"- **fast input path >= {TARGET_INPUT_SPEEDUP:.0f}x ImageDataGenerator: "
            f"{'met' if r >= TARGET_INPUT_SPEEDUP else 'not met'}, {r:.1f}x** "
            f"({f3(inputs['tfdata']['img_s']['median'])} vs "
            f"{f3(inputs['idg']['img_s']['median'])} img/s)."
            + (" What bounds it: the fast path is limited by TensorFlow's "
               "ImageProjectiveTransformV3 kernel (RandomAffine alone: "
               f"{f3(inputs['numpy']['affine_img_s']['median'])} img/s on both cores), and "
               "ImageDataGenerator's scipy warp of one 48x48 image is cheap, so its single "
               "thread already reaches thousands of images per second. A hand-written "
               "gather-based bilinear warp was 2x slower than the kernel (tried, not kept)."
               if r < 2 * TARGET_INPUT_SPEEDUP and "numpy" in inputs else ""))
        train = models.get(("small_cnn", "fp32"))
        if train:
            t = train["train_img_s"]["median"]
            slow = [k for k, v in inputs.items() if v["img_s"]["median"] < t]
            lines.append(
                f"- Input vs training (small_cnn fp32, {f3(t)} img/s): "
                + ", ".join(f"{k} {v['img_s']['median'] / t:.1f}x" for k, v in inputs.items())
                + (". No input path is slower than training." if not slow else
                   f". Slower than training: {', '.join(slow)} - that input would stall it."))
    return "\n".join(lines) or "- (not enough sections ran to judge the targets)"


# --------------------------------------------------------------------------- main
def main(argv=None):
    ap = argparse.ArgumentParser(description="Benchmark fer_keras on this machine.")
    ap.add_argument("--out", default="BENCHMARKS.md", help="Markdown file to write")
    ap.add_argument("--quick", action="store_true",
                    help="short run: small_cnn and deep_cnn only, fewer repetitions")
    ap.add_argument("--models", default="", help="comma-separated registry models (default: all)")
    ap.add_argument("--skip", default="",
                    help="comma-separated sections to skip: peak,models,torch,xla,inputs,"
                         "augment,data,explain,faces,serve,ray,raycluster,multiprocess")
    ap.add_argument("--reps", type=int, default=0, help="timed repetitions (default 5; quick 3)")
    args = ap.parse_args(argv)
    reps = args.reps or (3 if args.quick else 5)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    from fer_keras import models as registry

    names = ([n.strip() for n in args.models.split(",") if n.strip()] if args.models else
             (["small_cnn", "deep_cnn"] if args.quick else registry.list_models()))
    torch_names = ("small_cnn",) if args.quick else ("small_cnn", "deep_cnn")

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    load0 = loadavg()
    m = machine()
    rep = Report(log)
    rep.machine = m
    cmd = " ".join(["python -m benchmarks.run"] + [shlex.quote(a) for a in
                                                   (argv if argv is not None else sys.argv[1:])])

    sections = [
        ("peak", "Peak FLOP/s (TensorFlow matmul)", lambda: peak_section(rep, m, reps)),
        ("models", "Models: training and inference throughput",
         lambda: models_section(rep, names, args.quick)),
        ("torch", "PyTorch comparison", lambda: torch_section(rep, torch_names, args.quick)),
        ("batchnorm", "Batch norm: fused kernel vs Keras 3's layer",
         lambda: batchnorm_section(rep, args.quick)),
        ("xla", "XLA on the CPU (investigation)", lambda: xla_section(rep, args.quick)),
        ("inputs", "Input pipelines", lambda: inputs_section(rep, reps, args.quick)),
        ("augment", "Augmentation per backend", lambda: augment_section(rep, reps)),
        ("data", "Data loading (benchmarks/bench_data.py)",
         lambda: optional_section(rep, "bench_data", 1 if args.quick else 3)),
        ("explain", "Explanations (benchmarks/bench_explain.py)",
         lambda: optional_section(rep, "bench_explain", 1 if args.quick else 3)),
        ("faces", "Photos, videos and exported models (benchmarks/bench_faces.py)",
         lambda: optional_section(rep, "bench_faces", 1 if args.quick else 3)),
        ("serve", "HTTP API under load (benchmarks/bench_serve.py)",
         lambda: optional_section(rep, "bench_serve", 1)),
        ("ray", "Ray engine against one process (benchmarks/bench_ray.py)",
         lambda: optional_section(rep, "bench_ray", 1)),
        ("raycluster", "Ray engine on a cluster of separate nodes (benchmarks/bench_ray_cluster.py)",
         lambda: optional_section(rep, "bench_ray_cluster", 1 if args.quick else 3)),
        ("multiprocess", "Two training processes against one (benchmarks/bench_multiprocess.py)",
         lambda: optional_section(rep, "bench_multiprocess", 1)),
    ]
    if args.quick:
        skip.add("xla")
    for key, title, fn in sections:
        if key in skip:
            why = f"`--skip {key}`" + (" or `--quick`" if key == "xla" else "")
            rep.add(f"## {title}\n\nSkipped ({why}).\n")
            continue
        rep.section(key, title, fn)
    load1 = loadavg()
    total = time.perf_counter() - t0

    # our own benchmark keeps about `cores` threads busy; a 1-minute load clearly above that,
    # or a 5-minute one above it, means other jobs ran beside it
    loads = [v for v in [load0, *rep.loads, load1] if v is not None]
    peak_load = max((v[0] for v in loads), default=0.0)
    shared = any(v[0] > m["cores"] + 0.5 or v[1] > m["cores"] for v in loads)
    ram = f"{m['ram_gib']:.0f} GiB" if m["ram_gib"] else "?"
    head = [
        "# fer_keras benchmarks",
        "",
        f"Written by `{cmd}` (`make bench`) on {m['date']}, commit `{m['commit']}`, in "
        f"{total / 60:.1f} min{' (`--quick`)' if args.quick else ''}.",
        "",
        table(["", ""], [
            ["CPU", f"{m['cpu']} ({m['cpu_family_model']}, {m['mhz']} MHz)"],
            ["ISA", m["isa"]],
            ["cores available", m["cores"]],
            ["RAM", ram],
            ["Python", m["python"]],
            ["TensorFlow", m["tensorflow"]],
            ["Keras", m["keras"]],
            ["JAX", m["jax"]],
            ["PyTorch", m["torch"]],
            ["numpy", m["numpy"]],
            ["load average (1, 5, 15 min) at start / end",
             f"{load0} / {load1}; highest 1-min sampled at a section start: {peak_load:.2f}"
             if load0 else "?"],
        ]),
        "",
    ]
    if shared:
        head += [f"**The load average rose above the machine's {m['cores']} cores during "
                 f"this run** (see the table), so absolute figures are lower and noisier "
                 "than on an idle machine; the comparisons that matter (fp32 vs bf16, Keras vs "
                 "PyTorch, model vs matmul peak) are timed in alternation so that both sides "
                 "see the same load. Every figure is the median of several timed runs, "
                 "with (min-max).", ""]
    head += ["## Targets", "", targets(rep), ""]
    text = "\n".join(head) + "\n" + "\n".join(rep.parts)
    from benchmarks import per_cpu
    from fer_keras.train.throughput import cpu_kind

    out = Path(args.out)
    old = out.read_text(encoding="utf-8") if out.is_file() else ""
    kind = cpu_kind()
    text = per_cpu.merge(old, kind, per_cpu.block(kind, text))
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, out)
    log(f"wrote {out} in {total:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
