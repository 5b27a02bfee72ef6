"""Annotated copies: boxes and labels drawn on a photo or video frame, each label inside the
image and off the faces and the other labels (:func:`label_layout`)."""
from __future__ import annotations

import numpy as np

from fer_keras.faces.detectors import _cv2


def draw_records(rgb, records):
    """:func:`draw_faces` of :meth:`Recognizer.detect` records: each box with "label p"."""
    return draw_faces(rgb, [r["box"] for r in records],
                      [f"{r['label']} {r['scores'][r['label']]:.2f}" for r in records])


def _overlap(r, rects):
    """Total area of rectangle ``r`` (x0, y0, x1, y1) shared with each of ``rects``."""
    if not len(rects):
        return 0
    q = np.asarray(rects, np.int64).reshape(-1, 4)
    ix = np.clip(np.minimum(r[2], q[:, 2]) - np.maximum(r[0], q[:, 0]), 0, None)
    iy = np.clip(np.minimum(r[3], q[:, 3]) - np.maximum(r[1], q[:, 1]), 0, None)
    return int((ix * iy).sum())


def _candidates(face, tw, th, gap, k):
    """Label rectangles ``(x0, y0)`` around ``face`` (x0, y0, x1, y1), ``k`` label heights
    (or widths, to the sides) beyond touching it: above, below, then right and left of it."""
    fx0, fy0, fx1, fy1 = face
    out = []
    for y0 in (fy0 - gap - th - k * (th + gap), fy1 + gap + k * (th + gap)):
        out += [(x0, y0) for x0 in (fx0, fx1 - tw, (fx0 + fx1 - tw) // 2)]
    for x0 in (fx1 + gap + k * (tw + gap), fx0 - gap - tw - k * (tw + gap)):
        out += [(x0, y0) for y0 in (fy0, fy1 - th, (fy0 + fy1 - th) // 2)]
    return out


def label_layout(shape, boxes, sizes, gap=2):
    """Where the labels of :func:`draw_faces` go: int ``(N, 4)`` rectangles ``x0, y0, x1, y1``
    (x1, y1 excluded) inside an image of ``shape`` ``(H, W, ...)``, one per box.

    ``boxes``: ``(N, 4)`` faces ``x, y, w, h``; ``sizes``: ``(N, 2)`` label width and height in
    pixels. Each label is tried touching its face (``gap`` pixels off it): above, below
    (left- or right-aligned with it or centred), then to its right and its left (top-, bottom-
    aligned or centred), each shifted to lie inside the image; only when none of those is free,
    one, two, three label sizes further out. The first place that covers no face and no label
    already placed wins (faces in order), else the one covering the least, nearest first."""
    H, W = shape[:2]
    faces_r = [(int(x), int(y), int(x + w), int(y + h))
               for x, y, w, h in np.asarray(boxes, np.int64).reshape(-1, 4)]
    placed = []
    for face, (tw, th) in zip(faces_r, np.asarray(sizes, np.int64).reshape(-1, 2)):
        tw, th = min(int(tw), W), min(int(th), H)
        best, best_cost = None, None
        for k in range(4):
            for x0, y0 in _candidates(face, tw, th, gap, k):
                x0c, y0c = min(max(0, x0), W - tw), min(max(0, y0), H - th)
                r = (x0c, y0c, x0c + tw, y0c + th)
                cost = 4 * _overlap(r, faces_r) + _overlap(r, placed)
                if best_cost is None or cost < best_cost:
                    best, best_cost = r, cost
                if cost == 0:
                    break
            if best_cost == 0:
                break
        placed.append(best)
    return np.asarray(placed, np.int64).reshape(-1, 4)


def draw_faces(rgb, boxes, labels, text_height=None):
    """A copy of RGB uint8 ``rgb`` with boxes ``(N, 4)`` and their text labels drawn in. The
    labels stay inside the image and cover neither the faces nor each other where the image has
    room (:func:`label_layout`); a label wider than the image gets a smaller font.
    ``text_height``: the height of the letters in pixels of ``rgb`` (default: grows with the
    image, about 9 pixels on a 400-pixel photo)."""
    cv2 = _cv2()
    out = np.ascontiguousarray(rgb).copy()
    H, W = out.shape[:2]
    thick = max(1, round(max(H, W) / 400))
    boxes = np.asarray(boxes, int).reshape(-1, 4)
    fonts, sizes = [], []
    for text in labels:
        font, t = 0.4 + 0.3 * thick, thick
        if text_height is not None:  # cv2's simplex letters are 22 pixels high at scale 1
            font = float(text_height) / 22
            t = max(1, round(text_height / 12))
        while True:
            (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font, t)
            if tw + 4 <= W or font <= 0.3:
                break
            font, t = font * 0.8, max(1, t - 1)
        fonts.append((font, t, th, base))
        sizes.append((tw + 4, th + base + 4))
    for x, y, w, h in boxes:
        cv2.rectangle(out, (int(x), int(y)), (int(x + w), int(y + h)), (0, 255, 0), thick)
    layout = label_layout(out.shape, boxes, sizes, gap=thick + 1)
    for (x0, y0, x1, y1), text, (font, t, th, base) in zip(layout, labels, fonts):
        cv2.rectangle(out, (int(x0), int(y0)), (int(x1) - 1, int(y1) - 1), (0, 255, 0), -1)
        cv2.putText(out, text, (int(x0) + 2, int(y0) + 2 + th), cv2.FONT_HERSHEY_SIMPLEX, font,
                    (0, 0, 0), t, cv2.LINE_AA)
    return out
