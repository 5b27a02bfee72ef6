"""fer_keras beside pip ``fer`` (issue 28) on the same photos: faces found, labels, time.

``python -m benchmarks.faces_vs_fer --engine fer_keras --data DIR/fer2013`` here, and
``PYTHONPATH=. FERVENV/bin/python -m benchmarks.faces_vs_fer --engine fer --data DIR/fer2013
--photo astronaut.png``
in a throwaway environment with ``pip install fer`` (25.10.3, Haar + its mini-Xception,
``FER(mtcnn=False)``; it needs setuptools < 81). fer is never a dependency of fer_keras.

* ``--photos`` grid photos (640x480, 6 FER2013 PublicTest faces of 144 px each, as
  ``benchmarks.faces_detect``): faces found (IoU >= 0.3 with the face's square) and the accuracy
  of their labels against FER2013's;
* warm time per photo (median after a warm-up; wall and process CPU time, which a busy
  machine distorts less) on the grid photos and on scikit-image's astronaut at 640x480 and
  2048x1536 (decoded once; detection and classification timed).

Prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


def engine(name):
    """A function RGB uint8 image -> [(box x, y, w, h, class index)]."""
    if name == "fer":
        from fer.fer import FER

        det = FER(mtcnn=False)

        def run(rgb):
            out = det.detect_emotions(np.ascontiguousarray(rgb[..., ::-1]))
            return [(f["box"], CLASSES.index(max(f["emotions"], key=f["emotions"].get)))
                    for f in out]
        return run
    from fer_keras.faces import Recognizer

    rec = Recognizer()
    names = [c.lower() for c in rec.class_names]

    def run(rgb):
        return [(r["box"], CLASSES.index(names[names.index(r["label"].lower())]))
                for r in rec.detect(rgb)]
    return run


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--engine", choices=("fer_keras", "fer"), required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--photos", type=int, default=20)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--photo", help="the one-face photo (default scikit-image's astronaut)")
    args = p.parse_args(argv)
    import cv2
    from PIL import Image

    if args.photo:
        photo = np.asarray(Image.open(args.photo).convert("RGB"))
    else:
        from skimage import data as skdata

        photo = skdata.astronaut()

    from benchmarks.faces_framing import sample_faces
    from fer_keras.faces.detectors import box_iou
    from fer_keras.faces.scenes import grid_faces

    images, labels = sample_faces(Path(args.data) / "test", 6 * args.photos, seed=0)
    run = engine(args.engine)
    found = right = 0
    grid_ms, grid_cpu = [], []
    grids = [grid_faces(images[6 * k:6 * k + 6]) for k in range(args.photos)]
    run(np.repeat(grids[0][0][..., None], 3, -1))  # warm-up
    for k, (grey, truth) in enumerate(grids):
        rgb = np.repeat(grey[..., None], 3, -1)
        t, c = time.perf_counter(), time.process_time()
        faces = run(rgb)
        grid_ms.append(1e3 * (time.perf_counter() - t))
        grid_cpu.append(1e3 * (time.process_time() - c))
        if not faces:
            continue
        iou = box_iou(truth, [f[0] for f in faces])
        for j in range(len(truth)):
            if iou[j].max() >= 0.3:
                found += 1
                right += faces[int(iou[j].argmax())][1] == labels[6 * k + j]
    res = {"engine": args.engine, "grid_faces": 6 * args.photos, "found": found,
           "accuracy_on_found": right / max(found, 1), "grid_ms": statistics.median(grid_ms),
           "grid_cpu_ms": statistics.median(grid_cpu)}
    for name, size in (("photo_640_ms", (640, 480)), ("photo_2048_ms", (2048, 1536))):
        rgb = cv2.resize(photo, size, interpolation=cv2.INTER_CUBIC)
        run(rgb)
        ms, cpu = [], []
        for _ in range(args.reps):
            t, c = time.perf_counter(), time.process_time()
            run(rgb)
            ms.append(1e3 * (time.perf_counter() - t))
            cpu.append(1e3 * (time.process_time() - c))
        res[name] = statistics.median(ms)
        res[name.replace("_ms", "_cpu_ms")] = statistics.median(cpu)
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
