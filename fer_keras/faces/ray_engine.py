"""Faces of large photo and video collections on a Ray cluster (``fer-keras predict FOLDER|LIST.txt
--engine ray [--address HOST:PORT|ray://HOST:PORT|auto] [--workers N] --out OUT``; the extra
``fer_keras[ray]``; a cluster of several nodes: docs/cluster.md): the rows of the single-process
path (:mod:`fer_keras.faces.media`), same columns, order and values, from a pool of Ray actors
(Moritz et al., "Ray: A Distributed Framework for Emerging AI Applications", OSDI 2018):

1. The driver lists the inputs (a folder, recursively and sorted, or a text file with one path a
   line, relative to the list's folder; ``#`` starts a comment). Every node reads them by path.
2. *Plan*: a photo is one unit; a video (opened by an actor for its frame count) is split into
   units, ranges of ``range_frames`` analysed frames. A file that cannot be read becomes an
   error unit (file, reason), never a failure.
3. *Recognise* (``workers`` actors, one CPU each, spread over the nodes; each builds its
   :class:`~fer_keras.faces.Recognizer` once, :class:`FaceActor`): the faces of each photo, or
   of each analysed frame of a range, tracked as :func:`fer_keras.faces.video.iter_video` does.
4. The driver writes each finished unit's rows to a Parquet shard (``OUT/parts/``), then lists
   the unit in ``OUT/manifest.jsonl``; at the end it joins each video's ranges and writes
   ``OUT/faces.parquet/`` (typed rows), ``OUT/faces.csv`` and ``OUT/faces.json`` (as one process
   writes them), ``OUT/errors.csv`` (file, reason) and ``OUT/engine.json`` (settings, counts).

**How tracks join at range borders.** A range that starts at frame ``a`` is run from ``a - L``
analysed frames earlier (the *warm-up*, :func:`warmup_frames`), starting on a frame where the
:class:`~fer_keras.faces.detectors.TrackingDetector` searches the whole frame, so that its boxes
and, after the warm-up, each track's last ``window`` probabilities are those of the
single-process run. The warm-up's rows are not output: they join the range's own track ids to
the ids the previous range gave out (same frame, same box); tracks first seen after the
warm-up get the next ids in the order they appear. A face that vanishes and comes back just
across a warm-up's start can differ for at most ``window`` frames; :func:`join_tracks` counts
such joins (``engine.json``: ``"join_mismatches"``).

**Faults** (:class:`~fer_keras.faces.ray_cluster.ActorPool`). An actor whose process or node
is lost is restarted by Ray (small constructor arguments, sent inline: a restart never needs
the object store), and its unfinished call goes to a live actor; a unit reaches the manifest
only after its shard is in place, so nothing is lost or written twice. A rerun with the same
``--out`` skips the units the manifest lists (a bad file is tried again) and refuses other
settings than the first run's. No annotated copies are written.
"""
from __future__ import annotations

import json
import os
import sys
import time
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from fer_keras import CLASS_NAMES
from fer_keras.errors import FerInputError, plural
from fer_keras.faces.detectors import VIDEO_FULL_EVERY
from fer_keras.faces.ray_cluster import (
    ActorPool,
    append_manifest,
    init_ray,
    progress_bar,
    read_manifest,
    write_shard,
)

#: Suffixes of a list of inputs (one path a line) rather than a photo.
LIST_SUFFIXES = (".txt", ".lst", ".list")
#: What a missing Ray says, in one line.
INSTALL_HINT = "--engine ray needs Ray, which is not installed: pip install fer_keras[ray]"


@dataclass(frozen=True)
class RecognizerSpec:
    """What each actor builds once: the classifier (``model`` None: the shipped one, run by ONNX
    Runtime; else a model file, with the contract options ``input_range`` and ``classes`` as
    :func:`fer_keras.models.load_classifier` takes them), ``tta``, the video detector's
    full-search period ``full_every``, and the OpenCV and ONNX Runtime ``threads`` of an actor
    (default 1: the actors are the parallelism; more threads each only oversubscribe the cores).
    Subclass it and override :meth:`build` for another recognizer; it must pickle."""

    model: str | None = None
    input_range: str | None = None
    classes: str | None = None
    tta: str = "none"
    full_every: int = VIDEO_FULL_EVERY
    threads: int = 1

    def build(self):
        """(a :class:`~fer_keras.faces.Recognizer`, the detector for video frames)."""
        import cv2

        from fer_keras.faces.detectors import video_detector
        from fer_keras.faces.recognizer import Recognizer
        from fer_keras.models import choose

        cv2.setNumThreads(int(self.threads))
        model = choose.classifier(self.model, self.input_range, self.classes,
                                   threads=self.threads, quiet=True)[0]
        return Recognizer(model, tta=self.tta), video_detector(self.full_every)


@dataclass(frozen=True)
class Settings:
    """The job's settings (``OUT/engine.json``; a rerun must match): ``every``, ``window`` as in
    :func:`fer_keras.faces.media.predict_media`; ``range_frames`` analysed frames per video
    unit (rounded up to a multiple of the detector's full-search period); ``batch_size`` units
    per actor call."""

    every: int = 1
    window: int = 10
    range_frames: int = 300
    batch_size: int = 4


def warmup_frames(window, full_every, max_missed=5):
    """Analysed frames replayed before a range: twice the smoothing ``window`` plus the updates a
    lost track is kept (``max_missed``, :class:`~fer_keras.faces.video.FaceTracker`), so that a face
    seen only every other frame is still smoothed over the same frames; rounded up to a multiple
    of the detector's full-search period ``full_every``."""
    need = 2 * (int(window) + int(max_missed))
    step = max(1, int(full_every))
    return -(-need // step) * step


def list_inputs(path, skip=None):
    """``[(file Path, name in the rows, kind "image"|"video")]``: a folder's media as
    :func:`fer_keras.faces.media.collect` finds them (names relative to it), a single file, or
    the files a list names (one a line, relative to the list's folder; blank lines and ``#``
    comments skipped; names as written). Raises :class:`FerInputError` for a missing path or an
    empty list."""
    from fer_keras.faces.images import VIDEO_SUFFIXES
    from fer_keras.faces.media import collect

    path = Path(path)
    if path.is_file() and path.suffix.lower() in LIST_SUFFIXES:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as e:
            raise FerInputError(f"cannot read the list ({e.__class__.__name__})",
                                file=path) from None
        out, seen = [], set()
        for line in lines:
            name = line.split("#", 1)[0].strip() if not line.lstrip().startswith("#") else ""
            if not name or name in seen:
                continue
            seen.add(name)
            f = Path(name) if Path(name).is_absolute() else path.parent / name
            out.append((f, name, "video" if f.suffix.lower() in VIDEO_SUFFIXES else "image"))
        if not out:
            raise FerInputError("the list names no file", file=path)
        return out
    root = path if path.is_dir() else path.parent
    return [(f, str(f.relative_to(root)), kind) for f, kind in collect(path, skip=skip)]


# --------------------------------------------------------------------------- plan
def _unit(**kw):
    base = {"unit": "", "file": "", "rel": "", "order": 0, "kind": "", "start": 0, "stop": -1,
            "warm": 0, "reason": ""}
    base.update(kw)
    return base


def video_ranges(count, every, range_frames, warm, full_every):
    """``[(first frame, start frame, stop frame or -1 for the end)]`` of a video of ``count``
    frames (0: unknown, one range): ranges of ``range_frames`` analysed frames (rounded up to a
    multiple of ``full_every``), each run from ``warm`` analysed frames before its start."""
    step = max(1, int(full_every))
    per = -(-max(1, int(range_frames)) // step) * step * int(every)
    if count <= per:
        return [(0, 0, -1)]
    starts = list(range(0, count, per))
    return [(max(0, a - warm * int(every)), a, -1 if k == len(starts) - 1 else a + per)
            for k, a in enumerate(starts)]


def plan(item, settings, full_every, done):
    """The units of one input (a row ``{"file", "rel", "order", "kind"}``): a photo (read by the
    actor that recognises it), a video's ranges (the video is opened for its frame count), or
    one error unit; units in ``done`` come out as kind "skip". Photos are planned by the driver
    without reading them, videos by the actors."""
    from fer_keras.faces.video import open_video

    s = Settings(**settings)
    file, rel, order = item["file"], item["rel"], int(item["order"])
    if item["kind"] == "image":
        return [_unit(unit=rel, file=file, rel=rel, order=order,
                      kind="skip" if rel in done else "image")]
    try:
        cap, (_, count, _, _) = open_video(file)
        cap.release()
    except FerInputError as e:
        return [_unit(unit=rel, file=file, rel=rel, order=order, kind="error", reason=e.problem)]
    warm = warmup_frames(s.window, full_every)
    out = []
    for first, start, stop in video_ranges(count, s.every, s.range_frames, warm, full_every):
        uid = f"{rel}#frames={start}-{'end' if stop < 0 else stop}"
        out.append(_unit(unit=uid, file=file, rel=rel, order=order,
                         kind="skip" if uid in done else "video", start=start, stop=stop,
                         warm=first))
    return out


# --------------------------------------------------------------------------- recognise
#: The columns of the actors' output, face rows and one marker row a unit.
COLUMNS = ("unit", "rel", "order", "marker", "frame", "time", "track", "x", "y", "w", "h",
           "confidence", "face", "warm", "scores", "label", "rows", "reason", "classes")


def _face(u, rec, face, frame=-1, t=float("nan"), track=-1, warm=False, names=()):
    x, y, w, h = rec["box"]
    c = rec.get("confidence")
    return {"unit": u["unit"], "rel": u["rel"], "order": int(u["order"]), "marker": "face",
            "frame": int(frame), "time": float(t), "track": int(track), "x": x, "y": y, "w": w,
            "h": h, "confidence": float("nan") if c is None else float(c), "face": face,
            "warm": bool(warm), "scores": [float(rec["scores"][k]) for k in names],
            "label": rec["label"], "rows": 0, "reason": "", "classes": ""}


def _marker(u, marker, rows=0, reason="", names=()):
    return {**_face(u, {"box": [0, 0, 0, 0], "scores": {}, "label": ""}, 0), "marker": marker,
            "rows": rows, "reason": reason, "classes": json.dumps(list(names))}


def video_unit_rows(u, rec, detector, window, every):
    """The face rows of one range ``u`` of a video, warm-up rows flagged, as
    :func:`fer_keras.faces.video.iter_video` computes them from the range's first frame on
    (every ``every``-th frame analysed)."""
    import cv2

    from fer_keras.faces.video import FaceTracker, open_video, track_frame

    every = int(every)
    cap, (fps, _, _, _) = open_video(u["file"])
    try:
        first, start, stop = int(u["warm"]), int(u["start"]), int(u["stop"])
        if first > 0 and not (cap.set(cv2.CAP_PROP_POS_FRAMES, first)
                              and int(cap.get(cv2.CAP_PROP_POS_FRAMES)) == first):
            cap.release()  # no exact seek in this container: decode up to the first frame
            cap, _ = open_video(u["file"])
            for _ in range(first):
                if not cap.grab():
                    break
        if hasattr(detector, "reset"):
            detector.reset()
        tracker, rows, n = FaceTracker(window=window), [], first
        names = rec.class_names
        while stop < 0 or n < stop:
            ok, bgr = cap.read()
            if not ok:
                break
            if n % every == 0:
                records, ids, _ = track_frame(rec, tracker, bgr, detector)
                for k, (r, t) in enumerate(zip(records, ids)):
                    rows.append(_face(u, r, k, n, n / fps, int(t), n < start, names))
            n += 1
        if n == 0:
            raise FerInputError("the video has no readable frames", file=u["file"])
        return rows
    finally:
        cap.release()


class FaceActor:
    """One recognizer process of the pool (a Ray actor, ``max_restarts=-1``). Its constructor
    arguments, ``spec`` (:class:`RecognizerSpec`) and ``settings`` (:class:`Settings`), are
    small dataclasses that travel inline with the creation task, not through the object store,
    so that Ray can rebuild the actor on any node after its process or node died. It builds its
    recognizer once; :meth:`recognise` turns a list of units into face rows plus one marker row
    a unit ("done" with its row count, "error" with the reason)."""

    def __init__(self, spec, settings):
        self.spec, self.settings, self.failure = spec, settings, None
        try:
            self.rec, self.video_det = spec.build()
        except FerInputError as e:  # a bad --model: told by ready(), never restarted
            self.failure = {"problem": e.problem, "file": e.file}
        except Exception as e:  # noqa: BLE001 - any other failure, named by ready()
            self.failure = {"bug": f"{e.__class__.__name__}: {e}"}

    def ready(self):
        """(None once the recognizer is built, else what failed: ``{"problem", "file"}`` of a
        :class:`FerInputError` or ``{"bug"}``; this actor's Ray node id, process id)."""
        import ray

        return self.failure, ray.get_runtime_context().get_node_id(), os.getpid()

    def plan(self, items, done):
        """The units of the videos ``items`` (:func:`plan`)."""
        return [u for it in items for u in plan(it, asdict(self.settings),
                                                self.spec.full_every, done)]

    def recognise(self, units):
        """``[row dict]`` (:data:`COLUMNS`) of ``units``: their face rows, each unit followed by
        its marker."""
        from fer_keras.faces.images import load_image

        names = self.rec.class_names
        out = []
        for u in units:
            try:
                if u["kind"] == "image":
                    rows = [_face(u, r, k, names=names)
                            for k, r in enumerate(self.rec.detect(load_image(u["file"])))]
                else:
                    rows = video_unit_rows(u, self.rec, self.video_det, self.settings.window,
                                           self.settings.every)
            except FerInputError as e:
                out.append(_marker(u, "error", reason=e.problem, names=names))
                continue
            out += rows
            out.append(_marker(u, "done", rows=len(rows), names=names))
        return out


# --------------------------------------------------------------------------- join
def join_tracks(units):
    """Global track ids for one video's ranges. ``units``: ``[DataFrame]`` of a video's face
    rows, one a range, in frame order, with the range's own ``track`` ids and the ``warm`` flag.
    Returns (one DataFrame of the rows outside the warm-ups with the single-process run's track
    ids, the number of tracks whose join was not exact: a warm-up track without its twin in the
    previous range's rows, or with other probabilities there)."""
    import pandas as pd

    seen, kept, next_id, mismatches = {}, [], 0, 0  # seen: (frame, box) -> (id, scores)
    for df in units:
        df = df.copy()
        warm, own = df[df["warm"]], df[~df["warm"]]
        mapping = {}
        for t, g in warm.groupby("track", sort=True):
            last = g[g["frame"] == g["frame"].max()].iloc[0]
            twin = seen.get((int(last["frame"]), *(int(last[k]) for k in "xywh")))
            if twin is None:
                mismatches += int(t in set(own["track"]))
                continue
            mapping[t] = twin[0]
            mismatches += int(not np.allclose(twin[1], last["scores"], atol=1e-6))
        for t in sorted(set(own["track"])):
            if t not in mapping:
                mapping[t] = next_id
                next_id += 1
        own = own.assign(track=own["track"].map(mapping))
        next_id = max(next_id, int(own["track"].max()) + 1) if len(own) else next_id
        for r in own.itertuples():
            seen[(int(r.frame), int(r.x), int(r.y), int(r.w), int(r.h))] = (int(r.track),
                                                                            np.asarray(r.scores))
        kept.append(own)
    return (pd.concat(kept, ignore_index=True) if kept else pd.DataFrame()), mismatches


# --------------------------------------------------------------------------- the job
def _check_settings(out, resolved):
    from fer_keras.fileio import read_json, write_json

    path = out / "engine.json"
    if (out / "manifest.jsonl").is_file() and path.is_file():
        before = read_json(path).get("settings")
        if before is not None and before != resolved:
            diff = sorted(k for k in resolved if before.get(k) != resolved[k])
            raise FerInputError(f"--out {out} holds a run with other settings ({', '.join(diff)}"
                                "); resume with the same ones or use another --out")
    write_json(path, {"settings": resolved})


def run(path, out, spec=None, settings=None, address=None, workers=None, progress=True,
        stdout=None, stderr=None):
    """Run the job (module docstring) on ``path`` (a folder, a media file or a list of paths)
    and write OUT. ``spec``: a :class:`RecognizerSpec`; ``workers``: actors, one CPU each
    (default: the cluster's CPUs); ``address``: a Ray cluster (``HOST:PORT`` of its head,
    ``ray://HOST:PORT`` of its Ray Client server, ``auto``; None: a local one with ``workers``
    CPUs is started, unless this process already joined one). ``progress``: the progress line
    on stderr (True; None: when stderr is a terminal; False: none). Returns the exit status: 0,
    or 2 when an input went to the errors table."""
    import importlib.util

    if importlib.util.find_spec("ray") is None:  # before anything is written to OUT
        raise FerInputError(INSTALL_HINT)
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    spec, settings = spec or RecognizerSpec(), settings or Settings()
    for k in ("every", "window", "range_frames", "batch_size"):
        if int(getattr(settings, k)) < 1:
            raise FerInputError(f"--{k.replace('_', '-')} must be a positive integer, got "
                                f"{getattr(settings, k)}")
    if workers is not None and int(workers) < 1:
        raise FerInputError(f"--workers must be a positive integer, got {workers}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise FerInputError("--out must be a folder (a file is in the way)", file=out)
    items = list_inputs(path, skip=out / "annotated")
    resolved = {**asdict(settings), "spec": type(spec).__name__, **asdict(spec),
                "warmup_frames": warmup_frames(settings.window, spec.full_every)}
    resolved.pop("batch_size")  # how the work is cut, not what it computes
    _check_settings(out, resolved)
    manifest = read_manifest(out)
    done = {u for u, e in manifest.items() if e["status"] == "ok"}
    ray, started, set_env = init_ray(address, workers)
    t0 = time.perf_counter()
    pool = None
    try:
        workers = int(workers or max(1, int(ray.cluster_resources().get("CPU", 1))))
        pool = ActorPool(ray, FaceActor, spec, settings, workers)
        plan_units, names, stats = _drive(pool, items, settings, spec, done, out,
                                          progress_bar(progress, stderr))
        stats["nodes"] = len(pool.nodes)
        wall = time.perf_counter() - t0
    finally:
        if pool is not None and ray.is_initialized():
            pool.close()
        if started:
            ray.shutdown()
        for k in set_env:
            os.environ.pop(k, None)
    return _finish(out, items, plan_units, names, resolved, workers, address, wall, stdout,
                   stderr, stats)


def _drive(pool, items, settings, spec, done, out, bar):
    """Plan, recognise and record every unit with ``pool`` (module docstring, steps 2-4): ({unit:
    (rel, order)} of every planned unit, the class names or None, {"retried": lost calls})."""
    settings_d = asdict(settings)
    rows = [{"file": os.path.abspath(f), "rel": rel, "order": i, "kind": kind}
            for i, (f, rel, kind) in enumerate(items)]
    queue, plan_units, seq, names, stats = [], {}, 0, None, {"retried": 0}

    def add_units(units):
        nonlocal seq
        entries = []
        for u in units:
            plan_units[u["unit"]] = (u["rel"], int(u["order"]))
            if u["kind"] == "error":
                entries.append({"unit": u["unit"], "file": u["rel"], "status": "error",
                                "reason": u["reason"]})
            elif u["kind"] != "skip":
                queue.append(u)
                bar.total += 1
        if entries:
            append_manifest(out, entries)
        bar.refresh()

    photos = [r for r in rows if r["kind"] == "image"]
    add_units([u for r in photos for u in plan(r, settings_d, spec.full_every, done)])
    videos = [r for r in rows if r["kind"] != "image"]
    plans = [("plan", ([v], sorted(u for u in done if u.startswith(v["rel"] + "#"))))
             for v in videos]
    work = deque(plans)  # plans first: their ranges join the queue early

    def retry(method, payload, tries):
        stats["retried"] += 1
        work.appendleft((method, payload, tries))

    while work or queue or pool.calls:
        while queue and len(work) < 2 * len(pool.actors):
            batch, queue[:] = queue[:settings.batch_size], queue[settings.batch_size:]
            work.append(("recognise", (batch,)))
        while work:
            method, payload, *tries = work[0]
            if not pool.submit(method, payload, *tries):
                break
            work.popleft()
        for method, payload, result in pool.wait(retry):
            if method == "plan":
                add_units(result)
                continue
            finished, entries, pending = {}, [], {}
            for r in result:
                if r["marker"] == "face":
                    pending.setdefault(r["unit"], []).append(r)
                    continue
                names = json.loads(r["classes"]) or names
                got = pending.pop(r["unit"], [])
                if r["marker"] == "done":
                    if len(got) != r["rows"]:  # cannot happen: one call gives a whole unit
                        raise RuntimeError(f"unit {r['unit']}: {len(got)} of {r['rows']} rows")
                    finished[r["unit"]] = got
                    entries.append({"unit": r["unit"], "file": r["rel"], "status": "ok",
                                    "rows": len(got)})
                else:
                    entries.append({"unit": r["unit"], "file": r["rel"], "status": "error",
                                    "reason": r["reason"]})
            if finished:
                shard = write_shard(out, finished, seq)
                seq += 1
                for e in entries:
                    if e["status"] == "ok":
                        e["shard"] = shard
            if entries:
                append_manifest(out, entries)
            bar.update(len(entries))
    bar.close()
    return plan_units, names, stats


def _finish(out, items, plan_units, names, resolved, workers, address, wall, stdout, stderr,
            stats):
    """Join, sort and write the rows of every planned unit (module docstring, step 4)."""
    import pandas as pd
    import pyarrow.parquet as pq

    from fer_keras.faces.media import no_face_summary
    from fer_keras.fileio import write_json, write_text

    manifest = read_manifest(out)
    shards = {}
    for unit in plan_units:
        e = manifest.get(unit)
        if e and e["status"] == "ok":
            shards.setdefault(e["shard"], set()).add(unit)
    parts = [t[t["unit"].isin(units)] for shard, units in sorted(shards.items())
             for t in [pq.read_table(out / "parts" / shard).to_pandas()] if len(t)]
    faces = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=list(COLUMNS))
    names = names or list(CLASS_NAMES)  # None only if no unit reached an actor
    errors = [(rel, manifest[u]["reason"]) for u, (rel, order) in
              sorted(plan_units.items(), key=lambda kv: (kv[1][1], kv[0]))
              if manifest.get(u, {}).get("status") == "error"]
    failed = {rel for rel, _ in errors}
    joined, mismatches = [], 0
    for rel, g in faces.groupby("rel", sort=False):
        if rel in failed:
            continue  # a video with one unreadable range is an error, as in one process
        if (g["frame"] >= 0).any():
            units = [u for _, u in sorted(g.groupby("unit"), key=lambda kv: kv[1]["frame"].min())]
            rows, bad = join_tracks(units)
            joined.append(rows)
            mismatches += bad
        else:
            joined.append(g)
    faces = pd.concat(joined, ignore_index=True) if joined else faces.iloc[:0]
    faces = faces.sort_values(["order", "frame", "face"], kind="stable").reset_index(drop=True)
    _write_outputs(out, faces, names, errors)
    counts = {"files": len(items), "errors": len(errors), "face_rows": int(len(faces)),
              "units": len(plan_units), "join_mismatches": mismatches, "workers": workers,
              "address": address or "local", "seconds": round(wall, 3),
              "retried_calls": stats["retried"], "nodes": stats["nodes"],
              "ray": getattr(sys.modules.get("ray"), "__version__", None)}
    write_json(out / "engine.json", {"settings": resolved, "run": counts})
    csv_rows = ["file,reason"] + [_csv_line([rel, why]) for rel, why in errors]
    write_text(out / "errors.csv", "\n".join(csv_rows) + "\n")
    with_faces = faces["rel"].nunique() if len(faces) else 0
    ok = len(items) - len(errors)
    found = set(faces["rel"]) if len(faces) else set()
    faceless = [str(f) for f, rel, _ in items if rel not in failed and rel not in found]
    if faceless:
        print(f"note: {no_face_summary(faceless, ok)}", file=stderr)
    if mismatches:
        print(f"note: {plural(mismatches, 'track')} joined across video ranges without an exact twin "
              "(engine.json: join_mismatches)", file=stderr)
    print(f"written: {out / 'faces.csv'}, {out / 'faces.json'}, {out / 'faces.parquet'} "
          f"({plural(len(faces), 'face row')} from {plural(ok, 'file')}, {with_faces} with "
          f"faces; Ray, {plural(workers, 'worker')}, {wall:.1f} s)", file=stdout)
    if errors:
        print(f"error: {len(errors)} of {plural(len(items), 'file')} could not be read (listed in "
              f"{out / 'errors.csv'})", file=stderr)
        return 2
    return 0


def _csv_line(values):
    import csv
    import io

    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(values)
    return buf.getvalue()


def _write_outputs(out, faces, names, errors):
    """OUT/faces.csv and OUT/faces.json as one process writes them, and OUT/faces.parquet/
    (typed: frame, time, track and confidence null where they do not apply)."""
    import pandas as pd

    from fer_keras.faces.media import _columns, _row
    from fer_keras.fileio import atomic_path, write_json, write_text

    records, rows = [], []
    for r in faces.itertuples():
        rec = {"box": [int(r.x), int(r.y), int(r.w), int(r.h)],
               "confidence": None if np.isnan(r.confidence) else float(r.confidence),
               "scores": {k: float(p) for k, p in zip(names, r.scores)}, "label": r.label}
        if r.frame >= 0:
            rec.update(frame=int(r.frame), time=float(r.time), track=int(r.track))
        rows.append(_row(r.rel, rec, names))
        records.append({"file": r.rel, **{k: rec.get(k) for k in (
            "box", "confidence", "scores", "label", "frame", "time", "track")}})
    write_text(out / "faces.csv", "\n".join(_csv_line(v) for v in [_columns(names), *rows])
               + "\n")
    write_json(out / "faces.json", records)
    video = faces["frame"] >= 0 if len(faces) else pd.Series([], dtype=bool)
    table = pd.DataFrame({
        "file": faces["rel"].astype(str),
        "frame": faces["frame"].where(video).astype("Int64"),
        "time": faces["time"].where(video).astype("Float64"),
        "track": faces["track"].where(video).astype("Int64"),
        **{k: faces[k].astype("int64") for k in "xywh"},
        "confidence": faces["confidence"].astype("Float64").where(~faces["confidence"].isna()),
        **{k: [float(s[i]) for s in faces["scores"]] for i, k in enumerate(names)},
        "label": faces["label"].astype(str)})
    shards = out / "faces.parquet"
    shards.mkdir(parents=True, exist_ok=True)
    for old in shards.glob("part-*.parquet"):
        old.unlink()
    per = 100_000
    for k in range(max(1, -(-len(table) // per))):
        with atomic_path(shards / f"part-{k:05d}.parquet") as tmp:
            table.iloc[k * per:(k + 1) * per].to_parquet(tmp, index=False)
