"""Every face's expression in photos, folders and videos, written as files (``fer-keras predict
PHOTO|FOLDER|VIDEO --out OUT``, :mod:`fer_keras.cli.predict`).

OUT/faces.csv and OUT/faces.json hold one row per face (file, frame, time, track, box, the
detector's confidence, the class probabilities, label); OUT/annotated/ holds each photo and video
with the boxes and labels drawn in. A bad file of a folder is reported on one line and the others
go on (exit status 2 at the end); a single bad input stops with one line and status 2. Files
without a face are named in one summary line; no output ever lands on an input.
"""
from __future__ import annotations

import csv
import io as _io
import sys
from pathlib import Path

from fer_keras.errors import FerInputError, plural, refuse_url
from fer_keras.faces.images import IMAGE_SUFFIXES, VIDEO_SUFFIXES

#: Annotated photos keep their format where OpenCV writes it, else PNG.
_WRITABLE = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


def no_face_summary(files, total, shown=3):
    """One line for the files in which no face was found: ``no face found in 2 of 5 files: a.jpg,
    b.png`` (the first ``shown`` names, then how many more), whatever their number."""
    names = ", ".join(files[:shown]) + (f" and {len(files) - shown} more" if len(files) > shown
                                        else "")
    return f"no face found in {len(files)} of {plural(total, 'file')}: {names}"


def camera_index(path):
    """The camera index of ``path`` when it is one (``"0"``, ``0``: what ``cv2.VideoCapture(0)``
    opens) and no file or folder of that name exists; else None."""
    if isinstance(path, int):
        return path
    text = str(path)
    return int(text) if text.isdigit() and not Path(text).exists() else None


def _media(path, skip):
    """(sorted media files of folder ``path``, those among them whose real path leaves the
    folder: links out of it, which are never opened)."""
    inside, outside = [], []
    top = path.resolve()
    for p in path.rglob("*"):
        if p.name.startswith(".") or p.suffix.lower() not in IMAGE_SUFFIXES + VIDEO_SUFFIXES:
            continue
        real = p.resolve()
        if real != top and top not in real.parents:
            outside.append(p)
        elif real.is_file() and (skip is None or skip not in real.parents):
            inside.append(p)
    return sorted(inside), sorted(outside)


def collect(path, skip=None, outside=None):
    """[(file, kind)] to process, kind "image" or "video": a file, or a folder's media (recursive,
    sorted), leaving out those under the folder ``skip`` (a previous run's annotated copies,
    when OUT lies inside the input folder) unless ``path`` itself lies there, and the links that
    lead out of the folder (appended to the list ``outside`` when given). Raises
    :class:`FerInputError` for a URL, a missing path or a folder without media."""
    refuse_url(path, "a photo, a folder or a video on this machine")
    path = Path(path)
    if path.is_dir():
        skip = Path(skip).resolve() if skip is not None else None
        if skip is not None and (path.resolve() == skip or skip in path.resolve().parents):
            skip = None  # the user asked for that very folder: plan_outputs says why not
        files, out_links = _media(path, skip)
        if outside is not None:
            outside += out_links
        if not files:
            raise FerInputError(f"no images ({', '.join(IMAGE_SUFFIXES)}) or videos "
                                f"({', '.join(VIDEO_SUFFIXES)}) in this folder", file=path)
    elif path.is_file():
        files = [path]
    else:
        raise FerInputError("no such file or folder", file=path)
    return [(f, "video" if f.suffix.lower() in VIDEO_SUFFIXES else "image") for f in files]


def _columns(class_names):
    return ["file", "frame", "time", "track", "x", "y", "w", "h", "confidence", *class_names,
            "label"]


def _row(name, rec, class_names):
    x, y, w, h = rec["box"]
    return [name, rec.get("frame", ""), "" if rec.get("time") is None else f"{rec['time']:.3f}",
            rec.get("track", ""), x, y, w, h,
            "" if rec.get("confidence") is None else f"{rec['confidence']:.4f}",
            *(f"{rec['scores'][c]:.6f}" for c in class_names),
            rec["label"]]


def _annotated_name(rel, kind):
    rel = Path(rel)
    if kind == "video":
        return rel.with_suffix(".mp4")
    return rel if rel.suffix.lower() in _WRITABLE else rel.with_suffix(".png")


def plan_outputs(items, root, out):
    """``{file: annotated copy}`` for the ``items`` of :func:`collect` under ``root``, written in
    OUT/annotated/ with the folder structure kept; two inputs that would share a copy's name
    (``a.gif`` and ``a.png`` both give ``a.png``) keep their own suffix (``a.gif.png``).

    Raises :class:`~fer_keras.errors.FerOutputError` (one line, before anything is written) when
    any output, an annotated copy or OUT/faces.csv / OUT/faces.json, is one of the inputs
    (``predict trip/annotated --out trip``): nothing the user has is overwritten."""
    import os

    from fer_keras.fileio import check_not_input

    out = Path(out)
    dests, taken = {}, set()
    for file, kind in items:
        dest = out / "annotated" / _annotated_name(file.relative_to(root), kind)
        if os.path.normcase(dest) in taken:
            dest = dest.with_name(file.name + dest.suffix)
        taken.add(os.path.normcase(dest))
        dests[file] = dest
    inputs = {f.resolve(): f for f, _ in items}
    for file, dest in [*dests.items(), *((None, out / n) for n in ("faces.csv", "faces.json"))]:
        src = inputs.get(dest.resolve())
        if src is None and dest.exists():  # a hard link, or a path spelt another way
            src = next((f for f in ([file] if file is not None else inputs.values())
                        if os.path.exists(f) and os.path.samefile(dest, f)), None)
        if src is not None:
            what = "the annotated copy" if file is not None else dest.name
            check_not_input(dest, src, flag=f"--out {out}: {what}")
    return dests


def _photo(recognizer, file, dest):
    import cv2

    from fer_keras.faces.images import load_image
    from fer_keras.fileio import write_bytes

    rgb = load_image(file)
    recs = recognizer.detect(rgb)
    ok, buf = cv2.imencode(dest.suffix, recognizer.annotate(rgb, results=recs)[..., ::-1])
    if not ok:
        raise FerInputError("OpenCV cannot encode the annotated image", file=dest)
    write_bytes(dest, buf.tobytes())
    return recs


def _progress(items, progress, stderr):
    """A tqdm bar over the photos of a folder on ``stderr``, one line redrawn in place:
    ``progress`` True (``--verbose``) shows it, None shows it when ``stderr`` is a terminal (as
    a video's bar), False never. One file gets none."""
    from tqdm import tqdm

    show = len(items) > 1 and (progress is True or (progress is None and stderr.isatty()))
    return tqdm(items, unit="file", disable=not show, file=stderr, leave=False,
                desc="photos and videos")


def predict_media(path, out, model=None, every=1, window=10, progress=None, recognizer=None,
                  tta="none", stdout=None, stderr=None, detect=True):
    """Analyse the photo, video, folder or camera at ``path`` and write OUT/faces.csv,
    OUT/faces.json and OUT/annotated/ (columns and keys: docs/faces.md). Returns the exit
    status: 0, or 2 when a file of a folder was skipped. ``recognizer``: a
    :class:`fer_keras.faces.Recognizer` (default: one for ``model``, ``tta`` ("none" or "flip")
    and ``detect``; ``detect=False``: each image is one face crop already). ``progress``: the
    bar of a folder and of a video (None: when stderr is a terminal; False: never). A camera
    (``path`` an index, :func:`camera_index`) is read until it ends or Ctrl-C."""
    from fer_keras.faces.detectors import video_detector
    from fer_keras.faces.recognizer import Recognizer
    from fer_keras.faces.video import iter_video
    from fer_keras.fileio import write_json, write_text

    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    if int(every) < 1 or int(window) < 1:
        raise FerInputError(f"--every and --window must be positive integers, got {every}, "
                            f"{window}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise FerInputError("--out must be a folder for photos and videos (a file is in the way)",
                            file=out)
    camera = camera_index(path)
    outside = []
    if camera is not None:
        from fer_keras.faces.video import open_video

        open_video(camera)[0].release()  # no camera: one line before the model loads
        root, items = out, [(camera, "camera")]
        dests = {camera: out / "annotated" / f"camera{camera}.mp4"}
    else:
        root = Path(path) if Path(path).is_dir() else Path(path).parent
        items = collect(path, skip=out / "annotated", outside=outside)
        dests = plan_outputs(items, root, out)  # refuses to write over an input, before any work
    rec = recognizer or Recognizer(model, tta=tta, detect=detect)
    video_det = None if recognizer or not detect else video_detector()
    names = rec.class_names
    rows, records, failed, faces_in, faceless = [], [], 0, 0, []
    bar = _progress(items, progress, stderr)
    try:
        for file, kind in bar:
            rel = f"camera{file}" if kind == "camera" else file.relative_to(root)
            try:
                if kind == "image":
                    recs = _photo(rec, file, dests[file])
                else:
                    recs = []
                    try:
                        for r in iter_video(file, rec, every=every, window=window,
                                            out_video=dests[file], progress=progress is not False,
                                            detector=video_det):
                            recs.append(r)
                    except KeyboardInterrupt:
                        if kind != "camera":
                            raise
                        # a camera never ends: Ctrl-C stops it and keeps what was seen
            except FerInputError as e:
                if len(items) == 1:
                    raise
                failed += 1
                bar.write(f"error: {e} (skipped)", file=stderr)
                continue
            if not recs:
                faceless.append(str(file))
            faces_in += bool(recs)
            for r in recs:
                rows.append(_row(str(rel), r, names))
                records.append({"file": str(rel), **{k: r.get(k) for k in (
                    "box", "confidence", "scores", "label", "frame", "time", "track")}})
    finally:
        bar.close()
    buf = _io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(_columns(names))
    w.writerows(rows)
    write_text(out / "faces.csv", buf.getvalue())
    write_json(out / "faces.json", records, sort_keys=False)  # the scores in class order
    done = len(items) - failed
    if outside:
        names_out = ", ".join(str(p) for p in outside[:3]) + \
            (f" and {len(outside) - 3} more" if len(outside) > 3 else "")
        print(f"note: skipped {plural(len(outside), 'link')} leading out of {path} (not "
              f"opened): {names_out}", file=stderr)
    if faceless:
        print(f"note: {no_face_summary(faceless, done)}", file=stderr)
    print(f"written: {out / 'faces.csv'}, {out / 'faces.json'} ({plural(len(rows), 'face row')} "
          f"from {plural(done, 'file')}, {faces_in} with faces); annotated copies in "
          f"{out / 'annotated'}", file=stdout)
    if failed:
        print(f"error: {failed} of {plural(len(items), 'file')} could not be read (see above)",
              file=stderr)
        return 2
    return 0
