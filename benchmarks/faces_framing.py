"""Measure the face framing (issue 16): FER2013 faces pasted, detected, cropped, classified.

``python -m benchmarks.faces_framing --model M --data DIR/fer2013 --split train --n 600
--scales 0.95,1.0,1.05,1.1,1.2 [--detector haar|yunet]``

Each face of ``DIR/<split>/<class>/*.jpg`` (a seeded sample of ``n``) is upscaled 3-4x and pasted
on a 360x360 canvas (plain grey or Gaussian noise, alternating); the Haar cascade looks for it;
the detected box that overlaps it most (IoU >= 0.3) is cropped with each framing scale and
classified (``--detector yunet``: YuNet instead). Prints, per scale, the accuracy on the detected faces against the accuracy of the
same faces' original 48x48 crops, and the detection recall and mean IoU. Tune the scale on
train/ and report it on test/ (PublicTest).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def sample_faces(root, n, seed=0):
    """(grey uint8 ``(n, 48, 48)``, labels int ``(n,)``) drawn from an image-folder split."""
    from PIL import Image

    from fer_keras import CLASS_NAMES

    files = sorted(Path(root).glob("*/*.jpg"))
    names = [c.lower() for c in CLASS_NAMES]
    pick = np.random.default_rng(seed).permutation(len(files))[:n]
    images = np.stack([np.asarray(Image.open(files[i]).convert("L")) for i in pick])
    labels = np.array([names.index(files[i].parent.name.lower()) for i in pick])
    return images, labels


def measure(recognizer, images, labels, scales, seed=0):
    """{"recall", "mean_iou", "n_detected", "original": acc, scale: acc...} on ``images``."""
    from fer_keras.faces.detectors import box_iou
    from fer_keras.faces.images import crop_faces
    from fer_keras.faces.scenes import paste_faces

    crops = {s: [] for s in scales}
    found, ious = [], []
    for i, face in enumerate(images):
        canvas, truth = paste_faces(face[None], canvas=(360, 360), seed=seed + i,
                                    background="noise" if i % 2 else "plain")
        boxes = recognizer.detector(canvas)
        iou = box_iou(truth, boxes)[0] if len(boxes) else np.zeros(0)
        if not len(iou) or iou.max() < 0.3:
            continue
        found.append(i)
        ious.append(iou.max())
        for s in scales:
            crops[s].append(crop_faces(canvas, boxes[[iou.argmax()]],
                                       recognizer.input_shape[:2], s)[0])
    found = np.array(found, int)
    y = labels[found]
    out = {"n": len(images), "n_detected": len(found), "recall": len(found) / len(images),
           "mean_iou": float(np.mean(ious)) if ious else 0.0,
           "original": float((recognizer.classify(images[found]).argmax(1) == y).mean())}
    for s in scales:
        out[s] = float((recognizer.classify(np.stack(crops[s])).argmax(1) == y).mean())
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", help=".keras file (default the shipped model)")
    p.add_argument("--data", required=True, help="a FER2013 image folder with train/ and test/")
    p.add_argument("--split", default="train")
    p.add_argument("--n", type=int, default=600)
    p.add_argument("--scales", default="1.0,1.05,1.1,1.2")
    p.add_argument("--detector", choices=("haar", "yunet"), default="haar")
    args = p.parse_args(argv)
    from fer_keras.faces import Recognizer
    from fer_keras.faces.detectors import HaarDetector, YuNetDetector

    det = HaarDetector(quiet=True) if args.detector == "haar" else YuNetDetector()
    rec = Recognizer(args.model, detector=det)
    images, labels = sample_faces(Path(args.data) / args.split, args.n)
    scales = [float(s) for s in args.scales.split(",")]
    r = measure(rec, images, labels, scales)
    print(f"{args.split}: {r['n_detected']}/{r['n']} detected (recall {r['recall']:.3f}, "
          f"mean IoU {r['mean_iou']:.3f}); accuracy on them: original crops {r['original']:.4f}")
    for s in scales:
        print(f"  scale {s:.2f}: {r[s]:.4f} (gap {100 * (r['original'] - r[s]):+.2f} points)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
