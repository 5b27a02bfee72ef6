"""Videos: decoding, face tracks across frames and their smoothed expressions."""
from __future__ import annotations

import collections
import sys
from pathlib import Path

import numpy as np

from fer_keras.errors import FerInputError
from fer_keras.faces.detectors import (
    _cv2,
    _note,
    box_iou,
)
from fer_keras.faces.drawing import draw_records


# --------------------------------------------------------------------------- video
class FaceTracker:
    """Follows faces from frame to frame by box overlap and smooths their probabilities.

    Each new box joins the track whose last box overlaps it most (IoU at least ``min_iou``,
    greedy, each track once); the others start new tracks; a track unseen for ``max_missed``
    updates ends. A face's smoothed probabilities are the mean over its last ``window`` updates
    (peers such as fer and deepface's stream smooth over about 10 frames).
    """

    def __init__(self, window=10, min_iou=0.3, max_missed=5):
        self.window, self.min_iou, self.max_missed = int(window), float(min_iou), int(max_missed)
        self._tracks = {}  # id -> [last box, deque of probabilities, missed updates]
        self._next = 0

    def update(self, boxes, probs):
        """(track ids int ``(N,)``, smoothed probabilities float32 ``(N, K)``) for this frame."""
        boxes = np.asarray(boxes).reshape(-1, 4)
        ids = list(self._tracks)
        iou = box_iou(boxes, [self._tracks[t][0] for t in ids]) if ids \
            else np.zeros((len(boxes), 0))
        assigned = np.full(len(boxes), -1)
        while iou.size and iou.max() >= self.min_iou:
            i, j = np.unravel_index(np.argmax(iou), iou.shape)
            assigned[i] = ids[j]
            iou[i, :], iou[:, j] = -1, -1
        for t in ids:
            self._tracks[t][2] += 1
        smooth = np.zeros_like(np.asarray(probs, np.float32))
        for i, (box, p) in enumerate(zip(boxes, probs)):
            if assigned[i] < 0:
                assigned[i] = self._next
                self._tracks[self._next] = [box, collections.deque(maxlen=self.window), 0]
                self._next += 1
            track = self._tracks[assigned[i]]
            track[0], track[2] = box, 0
            track[1].append(np.asarray(p, np.float32))
            smooth[i] = np.mean(track[1], axis=0)
        for t in [t for t, v in self._tracks.items() if v[2] > self.max_missed]:
            del self._tracks[t]
        return assigned, smooth


def decoder_message(lines):
    """The first of the lines FFmpeg or OpenCV printed, without their ``[mov,mp4 @ 0x55..]`` or
    ``[ WARN:0@0.1] global cap.cpp:123`` prefix, at most 100 characters ('' for none)."""
    import re

    for line in lines:
        text = re.sub(r"^\[[^\]]*@ ?0x[0-9a-fA-F]+\]\s*", "", line)
        text = re.sub(r"^\[\s*(WARN|ERROR|INFO)[^\]]*\]\s*(global\s+)?(\S+:\d+\s+)?", "", text)
        if text.strip():
            return " ".join(text.split())[:100]
    return ""


def open_video(path):
    """An opened ``cv2.VideoCapture`` of a video file or of a camera (``path`` an int, its index)
    and (fps, frame count or 0, width, height). FFmpeg's and
    OpenCV's own stderr lines are caught and, when the file cannot be opened, folded into the
    one-line :class:`FerInputError`."""
    from fer_keras.fileio import native_stderr

    cv2 = _cv2()
    with native_stderr() as said:
        cap = cv2.VideoCapture(path if isinstance(path, int) else str(path))
        opened = cap.isOpened()
    if not opened and isinstance(path, int):
        raise FerInputError(f"camera {path} could not be opened (no camera with that index, or "
                            "it is in use)")
    if not opened:
        why = decoder_message(said)
        raise FerInputError("cannot open the video (unknown format or damaged file"
                            + (f"; the decoder says: {why}" if why else "") + ")", file=path)
    fps = cap.get(cv2.CAP_PROP_FPS)
    fps = fps if fps and np.isfinite(fps) and fps > 0 else 25.0
    info = (float(fps), max(0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT))),
            int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    return cap, info


def track_frame(recognizer, tracker, bgr, detector=None):
    """One analysed video frame, as every video path does it (so the single-process and the Ray
    paths give the same rows): faces found and classified in the BGR frame ``bgr``, matched to
    ``tracker``'s tracks. Returns (face records with the smoothed probabilities, int track ids
    ``(N,)``, the frame's own probabilities float32 ``(N, classes)``)."""
    rgb = np.ascontiguousarray(bgr[..., ::-1])
    boxes, conf, probs = recognizer._analyse(rgb, detector=detector)  # one package
    ids, smooth = tracker.update(boxes, probs)
    return recognizer._records(boxes, smooth, conf), ids, probs


def iter_video(path, recognizer, every=1, window=10, out_video=None, progress=True, codec="mp4v",
               detector=None):
    """Yield one dict per face per analysed frame of the video at ``path``.

    Every ``every``-th frame (0, every, 2*every...) is analysed; each face is tracked and its
    probabilities averaged over its last ``window`` analysed frames (:class:`FaceTracker`;
    ``window=1``: no smoothing). A record is ``{"frame", "time" (s), "track", "box", "scores"
    (smoothed), "raw" (this frame's probabilities), "label"}``. ``out_video``: write every frame
    with the latest boxes and labels drawn (``codec`` a FourCC: ``mp4v`` for .mp4, ``MJPG`` for
    .avi). A tqdm progress bar on stderr unless ``progress=False``. ``detector``: one for the
    frames instead of the recognizer's (e.g. the faster :func:`video_detector`).
    """
    cv2 = _cv2()
    from tqdm import tqdm

    if int(every) < 1:
        raise FerInputError(f"--every must be a positive integer, got {every!r}")
    cap, (fps, count, width, height) = open_video(path)
    if hasattr(detector, "reset"):
        detector.reset()  # a tracking detector must not carry faces over from another video
    tracker = FaceTracker(window=window)
    from fer_keras.fileio import native_stderr

    writer, shown, n = None, [], 0
    tmp_ctx, decoder_lines = None, []
    try:
        if out_video is not None:
            from fer_keras.fileio import atomic_path

            tmp_ctx = atomic_path(out_video)
            tmp = tmp_ctx.__enter__()
            writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*codec), fps, (width, height))
            if not writer.isOpened():
                raise FerInputError(f"OpenCV cannot write {codec} video here (try a .avi name with "
                                    "codec MJPG)", file=out_video)
        bar = tqdm(total=count or None, unit="frame", disable=not progress, file=sys.stderr,
                   desc=f"camera {path}" if isinstance(path, int) else Path(path).name,
                   leave=False)
        with bar:
            while True:
                with native_stderr() as said:  # a damaged frame: FFmpeg prints on fd 2
                    ok, bgr = cap.read()
                decoder_lines += said
                if not ok:
                    break
                if n % every == 0:
                    records, ids, probs = track_frame(recognizer, tracker, bgr, detector)
                    shown = []
                    for rec, raw, t in zip(records, probs, ids):
                        rec.update(frame=n, time=n / fps, track=int(t),
                                   raw={c: float(q) for c, q in zip(recognizer.class_names, raw)})
                        shown.append(rec)
                        yield rec
                if writer is not None:
                    drawn = draw_records(bgr[..., ::-1], shown)
                    writer.write(np.ascontiguousarray(drawn[..., ::-1]))
                n += 1
                bar.update(1)
        if n == 0:
            why = decoder_message(decoder_lines)
            raise FerInputError("the video has no readable frames"
                                + (f" (the decoder says: {why})" if why else ""), file=path)
        if decoder_lines:
            _note(f"{path}: the decoder reported {len(decoder_lines)} problem(s) reading frames "
                  f"(first: {decoder_message(decoder_lines)}); frames it could read were used")
    except BaseException as e:
        cap.release()
        if writer is not None:
            writer.release()
        if tmp_ctx is not None:
            tmp_ctx.__exit__(type(e), e, e.__traceback__)
        raise
    cap.release()
    if writer is not None:
        writer.release()
        tmp_ctx.__exit__(None, None, None)


