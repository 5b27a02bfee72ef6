"""Untrusted image bytes from an HTTP request as an RGB array, or one clear error.

Only raster formats that Pillow decodes natively and a browser uploads are accepted (JPEG, PNG,
WebP, GIF, BMP, TIFF): SVG, text, HTML, PDF and the like are refused as "not an image". The
size in pixels is read from the header and checked against a limit *before* any pixel is
decoded, so a decompression bomb (a small file that decodes to gigabytes) or a forged
30000x30000 header costs nothing; a truncated file fails in the decoder and is refused too.
"""
from __future__ import annotations

import io

import numpy as np

#: Pillow's names of the formats accepted.
FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")


class UploadError(Exception):
    """A request the server refuses: ``status`` (an HTTP 4xx code) and a one-line ``message``."""

    def __init__(self, status, message):
        self.status = int(status)
        self.message = " ".join(str(message).split())[:300]
        super().__init__(self.message)


def decode(data, max_pixels, max_bytes=None):
    """RGB uint8 ``(H, W, 3)`` from encoded image ``data`` (bytes), turned upright by its EXIF
    orientation (as a browser shows it, so boxes match the page's picture).

    Raises :class:`UploadError`: 413 for more than ``max_bytes`` bytes or ``max_pixels``
    pixels, 415 for anything that is not a readable image of :data:`FORMATS` (empty, text, SVG,
    truncated, corrupt)."""
    from PIL import Image, ImageOps

    if max_bytes is not None and len(data) > max_bytes:
        raise UploadError(413, f"upload of {len(data):,} bytes exceeds the limit of "
                               f"{max_bytes:,} bytes")
    limit = pixel_limit(max_pixels)
    if not data:
        raise UploadError(415, "empty upload: send an image (JPEG, PNG, WebP, GIF, BMP or TIFF)")
    try:
        # the header only: Image.open reads no pixels (it refuses on its own beyond twice
        # Pillow's MAX_IMAGE_PIXELS, caught below; our limit, below Pillow's, decides first)
        im = Image.open(io.BytesIO(data), formats=FORMATS)
        w, h = im.size
        if w * h > limit:
            raise UploadError(413, _too_large(f"{w}x{h}", limit))
        if w < 1 or h < 1:
            raise UploadError(415, f"image of {w}x{h} pixels has nothing to show")
        im.load()  # decode now: a truncated or corrupt file fails here
        im = ImageOps.exif_transpose(im)
        rgb = np.asarray(im.convert("RGB"))
    except UploadError:
        raise
    except Image.DecompressionBombError as e:
        # Pillow refuses beyond twice its own MAX_IMAGE_PIXELS before our check sees the size:
        # the client is told the same limit, the server's, however far over the image is
        raise UploadError(413, _too_large(_bomb_pixels(e), limit)) from None
    except Image.UnidentifiedImageError:
        raise UploadError(415, "not an image (accepted: JPEG, PNG, WebP, GIF, BMP, TIFF)") \
            from None
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError) as e:
        why = " ".join(str(e).split())[:120] or type(e).__name__
        raise UploadError(415, f"not a readable image ({why})") from None
    return np.ascontiguousarray(rgb)


def pixel_limit(max_pixels):
    """The largest image, in pixels, that :func:`decode` takes: ``max_pixels``, or less where
    Pillow's own decompression-bomb guard (twice ``PIL.Image.MAX_IMAGE_PIXELS``) refuses first."""
    from PIL import Image

    pillow = Image.MAX_IMAGE_PIXELS
    return int(max_pixels if pillow is None else min(max_pixels, 2 * pillow))


def _too_large(size, limit):
    return f"image of {size} pixels exceeds the limit of {limit:,} pixels"


def _bomb_pixels(err):
    """The pixel count in Pillow's ``DecompressionBombError`` message, e.g. "200,000,000"."""
    import re

    m = re.search(r"Image size \((\d+) pixels\)", str(err))
    return f"{int(m.group(1)):,}" if m else "more"
