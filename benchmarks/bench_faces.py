"""Photos, videos and exported models (issue 16): ``python -m benchmarks.bench_faces``.

* one 640x480 JPEG photo with one face (scikit-image's astronaut) end to end: decode, detect,
  crop, classify, after warm-up (target: under 100 ms);
* a 640x480 MJPG video of that face moving, 60 frames, read + detect + classify + track
  (target: 30 frames/s or more);
* ms per face (batch 1) for the shipped model in Keras, ONNX Runtime and LiteRT (float, int8).

Each row also gives the process CPU time, which says how much of the wall time a busy machine
took from it. ``run(reps=3)`` returns ``[{"name", "median_ms", "min_ms", "max_ms", "cpu_ms",
"note"}, ...]``.
"""
from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _timed(fn, reps, warmup=2):
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    for _ in range(reps):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return wall, cpu


def _row(name, wall, cpu, per=1, note=""):
    ms = sorted(1e3 * w / per for w in wall)
    return {"name": name, "median_ms": statistics.median(ms), "min_ms": ms[0], "max_ms": ms[-1],
            "cpu_ms": 1e3 * statistics.median(cpu) / per, "note": note}


def run(reps=3, log=print):
    import cv2
    from skimage import data

    from fer_keras import export, faces, models

    model = models.pretrained()
    rec = faces.Recognizer(model, detector=faces.HaarDetector(quiet=True))
    rows = []
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        frame = cv2.resize(data.astronaut(), (640, 480))[..., ::-1]  # BGR for OpenCV
        cv2.imwrite(str(d / "photo.jpg"), frame)
        wall, cpu = _timed(lambda: rec.detect(d / "photo.jpg"), max(5, 5 * reps))
        rows.append(_row("photo 640x480, 1 face, end to end", wall, cpu,
                         note=f"target < 100 ms; {len(rec.detect(d / 'photo.jpg'))} face found"))
        log(rows[-1])

        n = 60
        wr = cv2.VideoWriter(str(d / "clip.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 30, (640, 480))
        for k in range(n):
            wr.write(np.roll(frame, 2 * k, axis=1))
        wr.release()
        video_det = faces.video_detector()
        count = []
        wall, cpu = _timed(lambda: count.append(len(list(faces.iter_video(
            d / "clip.avi", rec, progress=False, detector=video_det)))), reps, warmup=1)
        r = _row("video 640x480, 1 face, per frame", wall, cpu, per=n)
        r["note"] = (f"{1e3 / r['median_ms']:.1f} frames/s (target >= 30); whole-frame search "
                     f"every {video_det.full_every} frames at {faces.VIDEO_DETECT_SIDE} px, faces "
                     f">= {faces.VIDEO_MIN_FACE} px, windows around the known faces between; "
                     f"{count[-1]} face rows of {n} frames")
        rows.append(r)
        log(rows[-1])

        x1 = np.random.default_rng(0).random((1, 48, 48, 1)).astype(np.float32)
        wall, cpu = _timed(lambda: model.predict_on_batch(x1), 50 * reps)
        rows.append(_row("Keras predict_on_batch, 1 face", wall, cpu))
        log(rows[-1])
        # calibration images for int8: random, as speed does not depend on the scales
        rep = (np.random.default_rng(1).random((100, 48, 48, 1)) * 255).astype(np.uint8)[..., 0]
        for fmt, int8, name in (("onnx", False, "ONNX Runtime float32"),
                                ("tflite", False, "LiteRT float32"),
                                ("tflite", True, "LiteRT int8")):
            try:
                path = export.export(model, d / f"m{int(int8)}.{fmt}", fmt, int8=int8,
                                     representative=rep)
                fn = export.load_exported(path)
            except Exception as e:  # noqa: BLE001  (an absent runtime: say so in the row)
                rows.append({"name": f"{name}, 1 face", "note": f"not measured: {e}"[:200]})
                continue
            wall, cpu = _timed(lambda: fn(x1), 50 * reps)
            size = f"{path.stat().st_size / 2**20:.2f} MiB"
            rows.append(_row(f"{name}, 1 face", wall, cpu, note=size))
            log(rows[-1])
    return rows


def main():
    for r in run(reps=3, log=lambda r: None):
        print(r)


if __name__ == "__main__":
    main()
