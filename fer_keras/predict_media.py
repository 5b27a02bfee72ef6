"""Every face's expression in photos, folders and videos, written as files (``fer-keras predict
PHOTO|FOLDER|VIDEO --out OUT``, :mod:`fer_keras.cli.predict`).

OUT/faces.csv and OUT/faces.json hold one row per face (file, frame, time, track, box, the
class probabilities, label); OUT/annotated/ holds each photo and video with the boxes and labels
drawn in. A bad file of a folder is reported on one line and the others go on (exit status 2 at
the end); a single bad input stops with one line and status 2.
"""
from __future__ import annotations

import csv
import io as _io
import sys
from pathlib import Path

from fer_keras.errors import FerInputError
from fer_keras.faces import IMAGE_SUFFIXES, VIDEO_SUFFIXES

#: Annotated photos keep their format where OpenCV writes it, else PNG.
_WRITABLE = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


def collect(path):
    """[(file, kind)] to process, kind "image" or "video": a file, or a folder's media (recursive,
    sorted). Raises :class:`FerInputError` for a missing path or a folder without media."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")
                       and p.suffix.lower() in IMAGE_SUFFIXES + VIDEO_SUFFIXES)
        if not files:
            raise FerInputError(f"no images ({', '.join(IMAGE_SUFFIXES)}) or videos "
                                f"({', '.join(VIDEO_SUFFIXES)}) in this folder", file=path)
    elif path.is_file():
        files = [path]
    else:
        raise FerInputError("no such file or folder", file=path)
    return [(f, "video" if f.suffix.lower() in VIDEO_SUFFIXES else "image") for f in files]


def _columns(class_names):
    return ["file", "frame", "time", "track", "x", "y", "w", "h", *class_names, "label"]


def _row(name, rec, class_names):
    x, y, w, h = rec["box"]
    return [name, rec.get("frame", ""), "" if rec.get("time") is None else f"{rec['time']:.3f}",
            rec.get("track", ""), x, y, w, h, *(f"{rec['scores'][c]:.6f}" for c in class_names),
            rec["label"]]


def _annotated_name(rel, kind):
    rel = Path(rel)
    if kind == "video":
        return rel.with_suffix(".mp4")
    return rel if rel.suffix.lower() in _WRITABLE else rel.with_suffix(".png")


def _photo(recognizer, file, dest):
    import cv2

    from fer_keras.faces import load_image
    from fer_keras.io import write_bytes

    rgb = load_image(file)
    recs = recognizer.detect(rgb)
    ok, buf = cv2.imencode(dest.suffix, recognizer.annotate(rgb, results=recs)[..., ::-1])
    if not ok:
        raise FerInputError("OpenCV cannot encode the annotated image", file=dest)
    write_bytes(dest, buf.tobytes())
    return recs


def predict_media(path, out, model=None, every=1, window=10, progress=True, recognizer=None,
                  tta="none", stdout=None, stderr=None):
    """Analyse the photo, video or folder at ``path`` and write OUT/faces.csv, OUT/faces.json and
    OUT/annotated/. Returns the exit status: 0, or 2 when a file of a folder was skipped.
    ``recognizer``: a :class:`fer_keras.faces.Recognizer` (default: one for ``model`` and
    ``tta``, "none" or "flip")."""
    from fer_keras.faces import Recognizer, iter_video, video_detector
    from fer_keras.io import write_json, write_text

    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    if int(every) < 1 or int(window) < 1:
        raise FerInputError(f"--every and --window must be positive integers, got {every}, "
                            f"{window}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise FerInputError("--out must be a folder for photos and videos (a file is in the way)",
                            file=out)
    items = collect(path)
    root = Path(path) if Path(path).is_dir() else Path(path).parent
    if tta not in ("none", "flip"):
        raise FerInputError(f"--tta for photos and videos must be none or flip, got {tta!r}")
    rec = recognizer or Recognizer(model, tta=tta)
    video_det = None if recognizer else video_detector()
    names = rec.class_names
    rows, records, failed, faces_in = [], [], 0, 0
    for file, kind in items:
        rel = file.relative_to(root)
        dest = out / "annotated" / _annotated_name(rel, kind)
        try:
            if kind == "video":
                recs = list(iter_video(file, rec, every=every, window=window, out_video=dest,
                                       progress=progress, detector=video_det))
            else:
                recs = _photo(rec, file, dest)
        except FerInputError as e:
            if len(items) == 1:
                raise
            failed += 1
            print(f"error: {e} (skipped)", file=stderr)
            continue
        if not recs:
            print(f"note: {file}: no face found", file=stderr)
        faces_in += bool(recs)
        for r in recs:
            rows.append(_row(str(rel), r, names))
            records.append({"file": str(rel), **{k: r[k] for k in ("box", "scores", "label")},
                            **{k: r.get(k) for k in ("frame", "time", "track")}})
    buf = _io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(_columns(names))
    w.writerows(rows)
    write_text(out / "faces.csv", buf.getvalue())
    write_json(out / "faces.json", records)
    done = len(items) - failed
    print(f"written: {out / 'faces.csv'}, {out / 'faces.json'} ({len(rows)} face rows from "
          f"{done} file(s), {faces_in} with faces); annotated copies in {out / 'annotated'}",
          file=stdout)
    if failed:
        print(f"error: {failed} of {len(items)} files could not be read (see above)", file=stderr)
        return 2
    return 0

