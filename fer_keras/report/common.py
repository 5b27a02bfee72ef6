"""Helpers that several questions share: example picking and small text pieces."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from fer_keras import NUM_CLASSES


def pick_examples(ds, probs, per_class, classes=range(NUM_CLASSES)):
    """``{class: indices}``: up to ``per_class`` images of each class that the model gets right,
    most confident first (then, if too few are right, the class's images by its probability)."""
    out = {}
    pred = probs.argmax(1)
    for c in classes:
        idx = np.flatnonzero(ds.labels == c)
        if not len(idx):
            continue
        right = idx[pred[idx] == c]
        right = right[np.argsort(-probs[right, c], kind="stable")]
        wrong = np.setdiff1d(idx, right)
        wrong = wrong[np.argsort(-probs[wrong, c], kind="stable")]
        out[int(c)] = np.concatenate([right, wrong])[:per_class].astype(np.int64)
    return out


def standard_error(p, n):
    """Standard error of an accuracy ``p`` measured on ``n`` images: ``sqrt(p (1 - p) / n)``
    (binomial), a share in [0, 0.5]."""
    return math.sqrt(max(p * (1 - p), 1e-12) / max(n, 1))


def split_words(ds, split):
    """How the text names a split: "PublicTest (3,589 images)" when every row of ``ds`` is
    FER2013's PublicTest, else "the <split> split (N images)"."""
    usage = getattr(ds, "usage", None)
    n = len(ds) if ds is not None else 0
    if usage is not None and n and bool(np.all(np.asarray(usage) == "PublicTest")):
        return f"PublicTest ({n:,} images)"
    return f"the {split} split ({n:,} images)"


def copy_figure(src, dst):
    """Copy the figure ``src`` to ``dst`` through the atomic writer
    (:func:`fer_keras.fileio.write_bytes`): a kill leaves the old ``dst`` whole, and under a CLI
    command a file of the user's at ``dst`` is refused, not replaced. Returns ``dst``."""
    from fer_keras.fileio import write_bytes

    dst = Path(dst)
    write_bytes(dst, Path(src).read_bytes())
    return dst


def first_doc_line(fn):
    doc = (fn.__doc__ or "").strip().split("\n\n")[0]
    return " ".join(doc.split())


def train_summary(rc):
    aug = "with augmentation" if rc.get("augment") else "without augmentation"
    over = ", class-balanced oversampling" if rc.get("oversample") else ""
    return (f"batch {rc['batch_size']}, {rc['optimizer']} (lr {rc['lr']:g}, schedule "
            f"{rc['schedule']}), {aug}{over}")


def times_word(n):
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def hw_text(t):
    return f"{t[0]}x{t[1]}" if isinstance(t, (tuple, list)) else str(t)
