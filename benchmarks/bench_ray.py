"""The Ray engine against one process (issue 30): ``python -m benchmarks.bench_ray``.

Makes, at run time in a temporary folder, 200 photos of six real FER2013 PublicTest faces each
(``faces.grid_faces``: a 2x3 grid, faces upscaled to 144 px on 640x480 grey, JPEG 90; from
``../shared/data/fer2013/test``) and one video (640x480 MJPG, 150 frames at 25/s, two of those
faces drifting across), then runs ``fer-keras predict`` on the folder three ways: the
single-process path (:func:`fer_keras.faces.media.predict_media`), and ``--engine ray`` with 1
and 2 workers on a local Ray cluster started for each run (:func:`fer_keras.faces.ray_engine.run`,
video ranges of 60 analysed frames, so the video spreads over the workers). Each row gives the
wall time with and without the cluster's start and stop, the rate, and whether the rows
(``faces.csv``) are byte for byte those of the single-process path. Without Ray it returns one
"not measured" row at once (``make bench`` runs it as a section).

``run(reps=1)`` returns rows ``{"name", "wall_s", "job_s", "images_per_s" (photos and video
frames a second of job_s), "face_rows", "rows_equal", "overhead_s" (wall_s minus the single
process's), "note"}``.
"""
from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks import print_table

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FER_SHARED", REPO.parent / "shared"))
FER_TEST = SHARED / "data" / "fer2013" / "test"
N_PHOTOS, N_FRAMES, RANGE_FRAMES = 200, 150, 60


def make_media(folder, n_photos=N_PHOTOS, n_frames=N_FRAMES, seed=0, source=FER_TEST):
    """``n_photos`` grid photos and one video under ``folder`` (module docstring)."""
    import cv2
    from PIL import Image

    from fer_keras.faces.scenes import grid_faces

    files = sorted(Path(source).glob("*/*.jpg"))
    if not files:
        raise FileNotFoundError(f"no FER2013 test images under {source}")
    rng = np.random.default_rng(seed)
    face = lambda i: np.asarray(Image.open(files[i]).convert("L"))  # noqa: E731
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(n_photos):
        grey, _ = grid_faces([face(i) for i in rng.choice(len(files), 6, replace=False)])
        cv2.imwrite(str(folder / f"photo{k:03d}.jpg"), grey, [cv2.IMWRITE_JPEG_QUALITY, 90])
    a, b = (cv2.resize(face(i), (160, 160), interpolation=cv2.INTER_CUBIC)
            for i in rng.choice(len(files), 2, replace=False))
    w = cv2.VideoWriter(str(folder / "clip.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 25, (640, 480))
    for i in range(n_frames):
        f = np.full((480, 640), 110, np.uint8)
        f[60 + i // 3:220 + i // 3, 20 + i:180 + i] = a
        f[260:420, 440 - i:600 - i] = b
        w.write(cv2.cvtColor(f, cv2.COLOR_GRAY2BGR))
    w.release()
    return n_photos, n_frames


def _single(folder, out):
    from fer_keras.faces.media import predict_media

    t = time.perf_counter()
    predict_media(folder, out, progress=False, stdout=open(os.devnull, "w"),
                  stderr=open(os.devnull, "w"))
    return time.perf_counter() - t


def _ray(folder, out, workers):
    import json

    from fer_keras.faces import ray_engine as distributed

    t = time.perf_counter()
    distributed.run(folder, out, settings=distributed.Settings(range_frames=RANGE_FRAMES),
                    workers=workers, progress=False, stdout=open(os.devnull, "w"),
                    stderr=open(os.devnull, "w"))
    wall = time.perf_counter() - t
    return wall, json.loads((out / "engine.json").read_text())["run"]["seconds"]


def engine_row(name, runs, note, **extra):
    """A table row of the Ray engine's ``runs``, ``[(wall_s, job_s, rows_equal)]`` of one
    setting: the median times, and whether every run's rows were the single process's."""
    return {"name": name, **extra, "wall_s": float(np.median([w for w, _, _ in runs])),
            "job_s": float(np.median([j for _, j, _ in runs])),
            "rows_equal": all(eq for _, _, eq in runs), "note": note}


def with_rates(rows, n_images):
    """``rows`` with ``images_per_s``: photos and video frames a second of ``job_s``."""
    for r in rows:
        r["images_per_s"] = n_images / r["job_s"] if r.get("job_s") else None
    return rows


def header(module, extra=""):
    """The line above a table: the command, date, machine, load and versions."""
    import platform

    import fer_keras

    try:
        import ray

        rv = ray.__version__
    except ImportError:
        rv = "absent"
    return (f"python -m benchmarks.{module}{extra} on {time.strftime('%Y-%m-%d %H:%M %Z')}, "
            f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load "
            f"{os.getloadavg()[0]:.2f}; Python {platform.python_version()}, Ray {rv}, "
            f"fer_keras {fer_keras.__version__}")


def run(reps=1, log=print):
    if importlib.util.find_spec("ray") is None:
        return [{"name": "predict --engine ray", "note": "not measured: Ray is not installed "
                 "(pip install fer_keras[ray])"}]
    try:
        import cv2  # noqa: F401
    except ImportError as e:
        return [{"name": "predict --engine ray", "note": f"not measured: {e}"}]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        try:
            n_photos, n_frames = make_media(tmp / "in")
        except FileNotFoundError as e:
            return [{"name": "predict --engine ray", "note": f"not measured: {e}"}]
        _single(tmp / "in", tmp / "warm")  # detectors and the model loaded once, files cached
        walls = [_single(tmp / "in", tmp / f"single{r}") for r in range(reps)]
        ref = (tmp / "single0" / "faces.csv").read_text()
        rows_n = ref.count("\n") - 1
        base = float(np.median(walls))
        rows = [{"name": "one process (predict_media)", "face_rows": rows_n, "overhead_s": 0.0,
                 "wall_s": base, "job_s": base, "rows_equal": True,
                 "note": f"{n_photos} photos + {n_frames} frames, annotated copies written"}]
        for workers in (1, 2):
            runs = []
            for r in range(reps):
                out = tmp / f"ray{workers}-{r}"
                wall, job = _ray(tmp / "in", out, workers)
                runs.append((wall, job, (out / "faces.csv").read_text() == ref))
                log(f"ray {workers} worker(s): {wall:.1f} s ({job:.1f} s in the job)")
            row = engine_row(f"--engine ray, {workers} worker(s), local cluster", runs,
                             f"video in ranges of {RANGE_FRAMES} frames; job_s without the "
                             "cluster's start and stop", face_rows=rows_n)
            rows.append({**row, "overhead_s": row["wall_s"] - base})
        return with_rates(rows, n_photos + n_frames)


def main():
    rows = run(log=lambda m: print(m, file=sys.stderr))
    print(header("bench_ray"))
    print_table(rows)
    return 0 if all(r.get("rows_equal", True) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
