"""Face detectors side by side (issue 28): faces found, false boxes and time per photo.

``python -m benchmarks.faces_detect --data DIR/fer2013 [--split test] [--photos 20]``

* Recall on faces of known position: ``--photos`` grid photos (640x480, 2 rows of 3 FER2013
  faces upscaled to 144 px, :func:`fer_keras.faces.scenes.grid_faces`) of a seeded sample of the split's
  faces; a face is found when a box overlaps its square with IoU >= 0.3; other boxes are false.
* False boxes on real photos that come with the installed packages (scikit-image's and
  Matplotlib's sample photos): three with one face each (astronaut, cameraman, Grace Hopper),
  the others with none (coffee, a cat, a rocket, a horse, a motorcycle, coins, bricks...).
* Milliseconds per grid photo (median of the photos, after a warm-up), each detector as
  :class:`fer_keras.faces.Recognizer` uses it (its boxes merged by :func:`fer_keras.faces.detectors.nms`).

Prints one Markdown table row per detector; ``run()`` returns the rows as dicts.

``--video``: the video detectors instead (:class:`fer_keras.faces.detectors.TrackingDetector` with Haar,
the old default, and :func:`fer_keras.faces.detectors.video_detector`, YuNet), on one clip per grid photo:
``--frames`` frames in which the grid drifts 2 px right and 1 px down a frame, the tracker reset
per clip. Faces found and false boxes are counted on every frame, the time is the median CPU
milliseconds per frame.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

#: (file in a package's data folder, number of faces): real photos that ship with the
#: installed packages, so the measure needs no download.
REAL_PHOTOS = (("skimage", "astronaut.png", 1), ("skimage", "camera.png", 1),
               ("matplotlib", "grace_hopper.jpg", 1), ("skimage", "coffee.png", 0),
               ("skimage", "chelsea.png", 0), ("skimage", "rocket.jpg", 0),
               ("skimage", "horse.png", 0), ("skimage", "motorcycle_left.png", 0),
               ("skimage", "coins.png", 0), ("skimage", "brick.png", 0),
               ("skimage", "hubble_deep_field.jpg", 0), ("skimage", "retina.jpg", 0),
               ("skimage", "page.png", 0), ("skimage", "clock_motion.png", 0))


def real_photos():
    """[(name, grey uint8 image, faces in it)] of :data:`REAL_PHOTOS` that are installed."""
    from PIL import Image

    out = []
    for pkg, name, n in REAL_PHOTOS:
        try:
            mod = __import__(pkg)
        except ImportError:
            continue
        root = Path(mod.__file__).parent
        path = root / "data" / name if pkg == "skimage" else \
            root / "mpl-data" / "sample_data" / name
        if path.is_file():
            out.append((name, np.asarray(Image.open(path).convert("L")), n))
    return out


def grid_photos(split_dir, n_photos, seed=0):
    """[(grey uint8 (480, 640), true boxes (6, 4))] of a seeded sample of ``split_dir``'s faces."""
    from benchmarks.faces_framing import sample_faces
    from fer_keras.faces.scenes import grid_faces

    images, _ = sample_faces(split_dir, 6 * n_photos, seed=seed)
    return [grid_faces(images[6 * k:6 * k + 6]) for k in range(n_photos)]


def match(truth, boxes, min_iou=0.3):
    """(number of ``truth`` boxes that a box of ``boxes`` overlaps with IoU >= ``min_iou``, the
    boxes that overlap none of them): the measure's "found" and "other boxes"."""
    from fer_keras.faces.detectors import box_iou

    boxes = np.asarray(boxes).reshape(-1, 4)
    if not len(boxes) or not len(truth):
        return 0, boxes
    iou = box_iou(truth, boxes)
    return int((iou.max(1) >= min_iou).sum()), boxes[iou.max(0) < min_iou]


def measure(detector, grids, photos):
    from fer_keras.faces.detectors import detect_scored, nms

    def boxes_of(grey):
        return nms(*detect_scored(detector, grey))[0]

    found = false = 0
    times = []
    boxes_of(grids[0][0])  # warm-up
    for grey, truth in grids:
        t = time.perf_counter()
        b = boxes_of(grey)
        times.append(time.perf_counter() - t)
        hit, other = match(truth, b)
        found += hit
        false += len(other)
    real_found = real_false = real_faces = 0
    for _, grey, n in photos:
        k = len(boxes_of(grey))
        real_faces += n
        real_found += min(k, n)
        real_false += max(0, k - n)
    return {"grid_found": found, "grid_faces": 6 * len(grids), "grid_false": false,
            "real_found": real_found, "real_faces": real_faces, "real_false": real_false,
            "real_photos": len(photos), "ms_per_photo": 1e3 * statistics.median(times)}


def drifting_clip(grey, truth, n_frames, step=(2, 1), background=128):
    """(frames, boxes): ``n_frames`` copies of ``grey`` shifted by ``k * step`` pixels (x, y) on a
    ``background`` canvas, and ``truth`` shifted alike."""
    import cv2

    h, w = grey.shape
    frames, boxes = [], []
    for k in range(n_frames):
        dx, dy = k * step[0], k * step[1]
        m = np.float32([[1, 0, dx], [0, 1, dy]])
        frames.append(cv2.warpAffine(grey, m, (w, h), borderMode=cv2.BORDER_CONSTANT,
                                     borderValue=background))
        boxes.append(truth + np.array([dx, dy, 0, 0], np.int32))
    return frames, boxes


def measure_video(detector, grids, photos=(), n_frames=15):
    """Faces found and false boxes over every frame of one drifting clip per grid photo and per
    real photo (``photos`` as :func:`real_photos`), and the median CPU ms per grid frame;
    ``detector`` is reset per clip."""
    found = false = inside = faces = 0
    times = []
    for grey, truth in grids:
        detector.reset()
        for frame, t_boxes in zip(*drifting_clip(grey, truth, n_frames)):
            t = time.process_time()
            b = detector(frame)
            times.append(time.process_time() - t)
            faces += len(t_boxes)
            hit, other = match(t_boxes, b)
            found += hit
            # a face drawn small inside its FER2013 image: a real face, not a false box
            n_inside = int(inside_any(other, t_boxes).sum())
            inside += n_inside
            false += len(other) - n_inside
    real_found = real_faces = real_false = 0
    for _, grey, n in photos:
        detector.reset()
        for frame, _ in zip(*drifting_clip(grey, np.zeros((0, 4), np.int32), n_frames)):
            k = len(detector(frame))
            real_faces += n
            real_found += min(k, n)
            real_false += max(0, k - n)
    return {"found": found, "faces": faces, "false": false, "inside": inside,
            "real_found": real_found, "real_faces": real_faces, "real_false": real_false,
            "cpu_ms_per_frame": 1e3 * statistics.median(times)}


def inside_any(boxes, squares, share=0.7):
    """bool ``(len(boxes),)``: whether at least ``share`` of each box's area lies inside one of
    ``squares`` (all ``x, y, w, h``)."""
    from fer_keras.faces.detectors import box_intersection

    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    if not len(boxes) or not len(squares):
        return np.zeros(len(boxes), bool)
    inter = box_intersection(boxes, squares)
    return (inter >= share * (boxes[:, 2] * boxes[:, 3])[:, None]).any(1)


def run_video(data, split="test", n_photos=20, n_frames=15, log=print):
    from fer_keras.faces import detectors

    grids = grid_photos(Path(data) / split, n_photos)
    photos = real_photos()
    rows = []
    for name, det in (("Haar tracker (TrackingDetector defaults)", detectors.TrackingDetector()),
                      ("YuNet tracker (video_detector)", detectors.video_detector())):
        r = {"detector": name, **measure_video(det, grids, photos, n_frames)}
        rows.append(r)
        log(r)
    return rows


def run(data, split="test", n_photos=20, log=print):
    from fer_keras.faces import detectors

    grids = grid_photos(Path(data) / split, n_photos)
    photos = real_photos()
    rows = []
    for name, det in (("Haar (HaarDetector)", detectors.HaarDetector(quiet=True)),
                      ("YuNet (YuNetDetector, shipped)", detectors.YuNetDetector())):
        r = {"detector": name, **measure(det, grids, photos)}
        rows.append(r)
        log(r)
    haar = rows[0]["ms_per_photo"]
    for r in rows:
        r["x_haar"] = r["ms_per_photo"] / haar
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="a FER2013 image folder with train/ and test/")
    p.add_argument("--split", default="test")
    p.add_argument("--photos", type=int, default=20)
    p.add_argument("--video", action="store_true", help="the video detectors on drifting clips")
    p.add_argument("--frames", type=int, default=15, help="frames per clip (--video)")
    args = p.parse_args(argv)
    if args.video:
        rows = run_video(args.data, args.split, args.photos, args.frames, log=lambda r: None)
        print("| video detector | grid faces found on every frame | other boxes inside a face's "
              "image | false boxes on the grid | real photo clips: faces found, false boxes | "
              "CPU ms / grid frame |")
        print("|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['detector']} | {r['found']} / {r['faces']} "
                  f"({100 * r['found'] / r['faces']:.1f}%) | {r['inside']} | {r['false']} | "
                  f"{r['real_found']} / {r['real_faces']}, {r['real_false']} false | "
                  f"{r['cpu_ms_per_frame']:.1f} |")
        return 0
    rows = run(args.data, args.split, args.photos, log=lambda r: None)
    print("| detector | grid faces found | false boxes on the grid | real photos: faces found, "
          "false boxes | ms / grid photo | x Haar |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['detector']} | {r['grid_found']} / {r['grid_faces']} | {r['grid_false']} | "
              f"{r['real_found']} / {r['real_faces']}, {r['real_false']} false on "
              f"{r['real_photos']} photos | {r['ms_per_photo']:.1f} | {r['x_haar']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
