"""Images in, grey face crops out: decoding any image a user has, and FER2013's framing of a face."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from fer_keras.errors import FerInputError, refuse_url
from fer_keras.faces.detectors import (
    FRAME_SCALE,
    _cv2,
)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")


# --------------------------------------------------------------------------- images
def load_image(image, bgr=False, name=None):
    """An RGB uint8 ``(H, W, 3)`` array from a path, a PIL image or a numpy array.

    Arrays: uint8 or float in [0, 1]; ``(H, W)`` grey, ``(H, W, 3)`` RGB (BGR with ``bgr=True``,
    as OpenCV reads them) or ``(H, W, 4)`` RGBA. Paths are decoded with Pillow, turned upright by
    their EXIF orientation. An unreadable, truncated or absurdly large file raises
    :class:`FerInputError` naming it.
    """
    from PIL import Image, ImageOps

    if isinstance(image, (str, Path)):
        refuse_url(image, "the path of an image file")
        path = Path(image)
        if not path.is_file():
            raise FerInputError("no such image file", file=path)
        try:
            with Image.open(path) as im:
                im.load()  # decode now: a truncated file fails here, not later
                im = ImageOps.exif_transpose(im)
                arr = np.asarray(im.convert("RGB"))
        except Image.DecompressionBombError as e:
            why = " ".join(str(e).split())[:100]
            raise FerInputError(f"image too large to decode safely ({why})", file=path) from None
        except (OSError, ValueError, SyntaxError) as e:
            raise FerInputError(f"not a readable image ({' '.join(str(e).split())[:100]})",
                                file=path) from None
        return np.ascontiguousarray(arr)
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB")).copy()
    arr = np.asarray(image)
    where = name or "image"
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] not in (3, 4)) or arr.size == 0:
        raise FerInputError(f"expected an image array (H, W), (H, W, 3) or (H, W, 4), got shape "
                            f"{arr.shape}", file=where)
    if arr.dtype != np.uint8:
        if not np.issubdtype(arr.dtype, np.number) or not np.isfinite(arr).all():
            raise FerInputError("image array must be finite numbers", file=where)
        scale = 255.0 if arr.max() <= 1.0 else 1.0
        arr = np.clip(np.rint(arr.astype(np.float64) * scale), 0, 255).astype(np.uint8)
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=-1)
    arr = arr[..., :3]
    if bgr:
        arr = arr[..., ::-1]
    return np.ascontiguousarray(arr)


def to_grey(rgb):
    """uint8 ``(H, W)`` luminance (ITU-R BT.601, as FER2013's grey faces) of an RGB uint8 image."""
    cv2 = _cv2()
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


# --------------------------------------------------------------------------- framing
def face_square(box, scale=FRAME_SCALE):
    """``(x0, y0, side)`` in pixels: the square that :func:`crop_faces` cuts around ``box``
    (``x, y, w, h``), centred on it, of side ``scale * max(w, h)``; it may reach past the
    image's edges."""
    x, y, w, h = (float(v) for v in box)
    side = max(1, int(round(scale * max(w, h))))
    return int(round(x + w / 2 - side / 2)), int(round(y + h / 2 - side / 2)), side


def crop_faces(grey, boxes, size=(48, 48), scale=FRAME_SCALE):
    """uint8 ``(N, size[0], size[1])`` face crops framed as FER2013's.

    Each crop is the square centred on its box, of side ``scale * max(w, h)``; parts outside the
    image repeat its edge pixels (FER2013's faces at a border look the same). ``grey``: uint8
    ``(H, W)``; ``boxes``: ``(N, 4)`` ``x, y, w, h``; ``size``: (height, width) of the model's
    input.
    """
    cv2 = _cv2()
    out = np.zeros((len(boxes), *size), np.uint8)
    H, W = grey.shape[:2]
    for i, box in enumerate(np.asarray(boxes, np.float64).reshape(-1, 4)):
        x0, y0, side = face_square(box, scale)
        x1, y1 = x0 + side, y0 + side
        patch = grey[max(y0, 0):min(y1, H), max(x0, 0):min(x1, W)]
        if patch.size == 0:  # a box wholly outside the image: nothing to see
            continue
        patch = cv2.copyMakeBorder(patch, max(0, -y0), max(0, y1 - H), max(0, -x0), max(0, x1 - W),
                                   cv2.BORDER_REPLICATE)
        shrink = side > max(size)
        out[i] = cv2.resize(patch, (size[1], size[0]),
                            interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    return out


