"""Test scenes with known faces: real face crops pasted on a canvas, for measuring detection."""
from __future__ import annotations

import numpy as np

from fer_keras.faces.detectors import (
    _cv2,
    box_iou,
)


# --------------------------------------------------------------------------- test scenes
def paste_faces(faces, canvas=(480, 640), upscale=(3, 4), background="noise", seed=0):
    """A scene with known faces: grey uint8 ``faces`` ``(N, 48, 48)`` upscaled (a random integer
    factor in ``upscale``) and pasted without overlap on a canvas ``(H, W)`` of plain grey or
    Gaussian noise (``background`` "plain" or "noise"). Returns (grey uint8 ``(H, W)``, the
    int32 ``(N, 4)`` boxes ``x, y, w, h`` of the pasted faces); raises ValueError if they do
    not fit. Used to measure detection and framing on real FER2013 faces."""
    cv2 = _cv2()
    rng = np.random.default_rng(seed)
    H, W = canvas
    if background == "noise":
        img = np.clip(rng.normal(128, 40, canvas), 0, 255).astype(np.uint8)
    else:
        img = np.full(canvas, int(rng.integers(40, 216)), np.uint8)
    boxes = []
    for f in faces:
        s = 48 * int(rng.integers(upscale[0], upscale[1] + 1))
        for _ in range(200):
            x, y = int(rng.integers(0, W - s + 1)), int(rng.integers(0, H - s + 1))
            if not boxes or box_iou([[x - 8, y - 8, s + 16, s + 16]], boxes).max() == 0:
                break
        else:
            raise ValueError(f"{len(faces)} faces do not fit on a {H}x{W} canvas")
        img[y:y + s, x:x + s] = cv2.resize(np.asarray(f, np.uint8), (s, s),
                                           interpolation=cv2.INTER_CUBIC)
        boxes.append([x, y, s, s])
    return img, np.asarray(boxes, np.int32).reshape(-1, 4)


def grid_faces(faces, rows=2, cols=3, side=144, canvas=(480, 640), background=128):
    """A photo of known faces in a grid: grey uint8 ``faces`` ``(rows * cols, 48, 48)`` upscaled
    to ``side`` pixels (bicubic) and centred in the cells of a ``rows`` x ``cols`` grid on a
    plain ``canvas`` ``(H, W)`` of grey level ``background``. Returns (grey uint8 ``(H, W)``,
    int32 ``(N, 4)`` boxes ``x, y, w, h`` of the faces). The issue's measure of recall: 20 such
    photos of 120 FER2013 faces (``benchmarks.faces_detect``)."""
    cv2 = _cv2()
    H, W = canvas
    if side > min(H // rows, W // cols):
        raise ValueError(f"{rows}x{cols} faces of {side} px do not fit on a {H}x{W} canvas")
    img = np.full(canvas, int(background), np.uint8)
    boxes = []
    for k, f in enumerate(faces[:rows * cols]):
        r, c = divmod(k, cols)
        x = c * (W // cols) + (W // cols - side) // 2
        y = r * (H // rows) + (H // rows - side) // 2
        img[y:y + side, x:x + side] = cv2.resize(np.asarray(f, np.uint8), (side, side),
                                                 interpolation=cv2.INTER_CUBIC)
        boxes.append([x, y, side, side])
    return img, np.asarray(boxes, np.int32).reshape(-1, 4)


def readme_photo(fer_folder, path=None):
    """The README's photo: the first FER2013 PublicTest face of each class (``fer_folder``'s
    ``test/<class>/``, in :data:`fer_keras.CLASS_NAMES` order) pasted 3x on a plain 600x900
    canvas (:func:`paste_faces`, seed 0). Returns (grey uint8 ``(600, 900)``, int32 ``(7, 4)``
    boxes); with ``path``, also saves it there (a ``.jpg`` at quality 95)."""
    from pathlib import Path

    from PIL import Image

    from fer_keras import CLASS_NAMES

    test = Path(fer_folder) / "test"
    grey = np.stack([np.asarray(Image.open(sorted((test / c.lower()).glob("*.jpg"))[0])
                                .convert("L")) for c in CLASS_NAMES])
    canvas, boxes = paste_faces(grey, canvas=(600, 900), upscale=(3, 3), background="plain",
                                seed=0)
    if path is not None:
        from fer_keras.fileio import atomic_path

        with atomic_path(path, suffix=Path(path).suffix or ".png") as tmp:
            Image.fromarray(canvas).save(tmp, format=None if Path(path).suffix else "PNG",
                                         quality=95)
    return canvas, boxes
