"""One verdict function per kind of claim (:mod:`fer_keras.report.claims`), each with a rule
that can fail and that a model-free control fails (tests/report/test_rules.py).

Every function returns a :class:`Verdict`: ``status`` "reproduced" or "not reproduced", the
``measured`` value in words, the ``rule`` in words (the reproduction table prints it) and the
``why`` of the outcome. A claim that cannot be measured gets "not measured" from the table,
never from here.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from fer_keras import CLASS_NAMES
from fer_keras.report.common import standard_error
from fer_keras.report.document import fnum, pct

#: z above which a share counts as more than chance (one-sided, about p < 0.023).
Z = 2.0
#: Silhouettes of a 2-D embedding: at or above SEPARATED the classes count as separated; in
#: (0, SEPARATED) as "partly separated" (overlapping clusters); at or below 0 never separated.
SEPARATED = 0.25

RULES = {
    "accuracy": "ours at most 2 standard errors (of the reported accuracy, on our test size) "
                "below the report's",
    "params": "within 1% of the report's count",
    "confusion_pair": "the share of A predicted as B is among the 5 largest off-diagonal shares "
                      "and z >= 2 above the share of the other classes' images predicted as B",
    "confusion_none": "no pair A -> B passes the confusion-pair rule",
    "rarely_predicted": "the class gets the fewest of the wrong labels, below 1/7 of them",
    "most_predicted": "the class gets the most of the wrong labels, z >= 2 above 1/6 of them",
    "recall_best": "the class's recall is the highest, or within 2 standard errors of it, and "
                   "z >= 2 above its chance level (the rate the model predicts it)",
    "recall_worst": "the class's recall is the lowest, or within 2 standard errors of it, and "
                    "z >= 2 above its chance level",
    "recall_not_worst": "the class's recall is z >= 2 above its chance level and not the lowest",
    "recall_above": "exactly the named classes have a recall of at least the threshold, each "
                    "z >= 2 above its chance level",
    "region": "the measured region answer is the claimed one (five distinct answers, judged "
              "against a centre prior and a face-uniform map)",
    "separation": f"silhouette of the 2-D embedding >= {SEPARATED}: separated; in (0, "
                  f"{SEPARATED}): partly separated; <= 0: not separated; and above the 95th "
                  "percentile of the same embedding with shuffled labels, else not separated",
    "visual_similarity": "at least half of the filters (those where neither tile stayed noise) "
                         "give alike orientation and frequency spectra from both starts",
    "observation": "the measurement named in the row",
}


@dataclasses.dataclass(frozen=True)
class Verdict:
    status: str  # "reproduced" | "not reproduced"
    measured: str
    rule: str
    why: str = ""

    @property
    def ok(self):
        return self.status == "reproduced"


def _v(ok, measured, kind, why=""):
    return Verdict("reproduced" if ok else "not reproduced", measured, RULES[kind], why)


def accuracy(ours, reported, n):
    """Reproduced when ``ours >= reported - 2 SE``, SE = sqrt(p (1 - p) / n) of the reported
    accuracy on our ``n`` test images."""
    se = standard_error(reported, n)
    d = 100 * (ours - reported)
    if ours >= reported - 2 * se:
        return _v(True, pct(ours), "accuracy", f"{d:+.1f} points" + (
            "" if d >= 0 else f", within 2 SE ({100 * se:.1f} points each on {n:,} images)"))
    return _v(False, pct(ours), "accuracy", f"{-d:.1f} points below, more than 2 standard "
              f"errors ({100 * se:.1f} points each on {n:,} images)")


def params(ours, reported):
    rel = ours / reported - 1
    return _v(abs(rel) <= 0.01, f"{ours:,} ({100 * rel:+.2f}%)", "params",
              "" if abs(rel) <= 0.01 else f"{100 * abs(rel):.2f}% off")


def _cm(cm):
    cm = np.asarray(cm, np.float64)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"a confusion matrix must be square, got {cm.shape}")
    return cm


def pair_stats(cm, a, b):
    """``(share, chance, z, rank)`` of the pair true ``a`` -> predicted ``b`` (indices) in the
    confusion matrix ``cm`` (rows: true, columns: predicted): the share of ``a``'s images
    predicted ``b``; the chance share, that of the images of every class but ``a`` and ``b``
    predicted ``b``; the one-sided binomial z of the difference on ``a``'s images; the pair's
    rank among the off-diagonal row shares (1 = largest)."""
    cm = _cm(cm)
    rows = cm.sum(1)
    n_a = rows[a]
    share = cm[a, b] / n_a if n_a else float("nan")
    others = [k for k in range(len(cm)) if k not in (a, b)]
    tot = rows[others].sum()
    chance = cm[others, b].sum() / tot if tot else float("nan")
    se = math.sqrt(max(chance * (1 - chance), 1e-12) / max(n_a, 1))
    z = (share - chance) / se
    norm = cm / np.where(rows[:, None] > 0, rows[:, None], 1)
    off = [(norm[i, j], i, j) for i in range(len(cm)) for j in range(len(cm)) if i != j]
    off.sort(key=lambda t: -t[0])
    rank = 1 + next(k for k, (_, i, j) in enumerate(off) if (i, j) == (a, b))
    return float(share), float(chance), float(z), int(rank)


def confusion_pair(cm, true, predicted, top=5):
    """"A is confused with B": the pair is among the ``top`` largest off-diagonal row shares
    and its share is ``Z`` binomial standard errors above the chance share (:func:`pair_stats`);
    labels shuffled against the predictions leave every pair at chance and fail."""
    a, b = CLASS_NAMES.index(true), CLASS_NAMES.index(predicted)
    share, chance, z, rank = pair_stats(cm, a, b)
    ok = rank <= top and z >= Z
    why = (f"rank {rank} of the off-diagonal shares, z = {z:.1f} against the chance share "
           f"{pct(chance)}")
    return _v(ok, f"{pct(share)} of {true}", "confusion_pair", why)


def confusion_none(cm, true, top=5):
    """"A is not clearly confused with anything": no pair A -> B passes
    :func:`confusion_pair`."""
    a = CLASS_NAMES.index(true)
    hits = [CLASS_NAMES[b] for b in range(len(cm)) if b != a
            and confusion_pair(cm, true, CLASS_NAMES[b], top).ok]
    return _v(not hits, "none" if not hits else ", ".join(f"{true} -> {h}" for h in hits),
              "confusion_none")


def _wrong_labels(cm):
    cm = _cm(cm)
    return cm.sum(0) - np.diag(cm)


def rarely_predicted(cm, cls):
    """"Few images of other classes are predicted as C": C gets the fewest wrong labels and
    fewer than 1/7 of them (a model-free uniform guesser gives every class 1/7 and fails)."""
    col = _wrong_labels(cm)
    k = CLASS_NAMES.index(cls)
    share = col[k] / max(col.sum(), 1)
    ok = col[k] <= col.min() + 1e-9 and share < 1 / len(col) - 1e-9
    return _v(ok, f"{pct(share)} of the wrong labels", "rarely_predicted",
              f"fewest: {CLASS_NAMES[int(np.argmin(col))]}")


def most_predicted(cm, cls):
    """"Other classes are often confused with C": C gets the most wrong labels, ``Z`` SE above
    1/6 of them (a majority-class predictor puts every wrong label on one class and fails for
    every other)."""
    col = _wrong_labels(cm)
    k = CLASS_NAMES.index(cls)
    n = max(col.sum(), 1)
    share = col[k] / n
    p0 = 1 / (len(col) - 1)
    z = (share - p0) / math.sqrt(p0 * (1 - p0) / n)
    ok = int(np.argmax(col)) == k and z >= Z
    return _v(ok, f"{pct(share)} of the wrong labels", "most_predicted",
              f"most: {CLASS_NAMES[int(np.argmax(col))]}; {cls}: z = {z:.1f} against 1/6 of "
              f"them")


def recall_stats(cm):
    """Per class ``(recall, its standard error, chance, z)``: chance is the rate at which the
    model predicts the class over all images, which is the recall a prediction independent of
    the image would get; z is (recall - chance) in binomial SE on the class's images."""
    cm = _cm(cm)
    rows = cm.sum(1)
    pred = cm.sum(0) / max(cm.sum(), 1)
    out = []
    for k in range(len(cm)):
        n = max(rows[k], 1)
        r = cm[k, k] / n
        se = math.sqrt(max(r * (1 - r), 1e-12) / n)
        c = pred[k]
        z = (r - c) / math.sqrt(max(c * (1 - c), 1e-12) / n)
        out.append((float(r), float(se), float(c), float(z)))
    return out


def _recall_rank(cm, cls, best):
    st = recall_stats(cm)
    k = CLASS_NAMES.index(cls)
    present = [i for i in range(len(st)) if np.asarray(cm)[i].sum() > 0]
    pick = max if best else min
    j = pick(present, key=lambda i: st[i][0])
    r, se, c, z = st[k]
    diff = abs(st[j][0] - r)
    close = diff <= 2 * math.hypot(se, st[j][1])
    ok = (j == k or close) and z >= Z
    which = "highest" if best else "lowest"
    # the chance and z are the claimed class's, named so they are not read as the other's
    why = (f"{which}: {CLASS_NAMES[j]} {pct(st[j][0])}; {cls}: chance {pct(c)}, z = {z:.1f}")
    return _v(ok, f"{pct(r)}", "recall_best" if best else "recall_worst", why)


def recall_best(cm, cls):
    return _recall_rank(cm, cls, True)


def recall_worst(cm, cls):
    return _recall_rank(cm, cls, False)


def recall_not_worst(cm, cls):
    st = recall_stats(cm)
    k = CLASS_NAMES.index(cls)
    present = [i for i in range(len(st)) if np.asarray(cm)[i].sum() > 0]
    j = min(present, key=lambda i: st[i][0])
    ok = j != k and st[k][3] >= Z
    return _v(ok, pct(st[k][0]), "recall_not_worst",
              f"{cls}: chance {pct(st[k][2])}, z = {st[k][3]:.1f}; lowest {CLASS_NAMES[j]}")


def recall_above(cm, classes, threshold=0.6):
    """"Only ``classes`` reach ``threshold``": the set of classes with recall >= threshold is
    exactly ``classes``, each z >= 2 above chance."""
    st = recall_stats(cm)
    have = [CLASS_NAMES[i] for i, s in enumerate(st) if s[0] >= threshold]
    ok = sorted(have) == sorted(classes) and all(st[CLASS_NAMES.index(c)][3] >= Z
                                                 for c in classes)
    return _v(ok, ", ".join(have) if have else "none", "recall_above",
              f"at least {pct(threshold, 0)}: " + (", ".join(have) if have else "none"))


def region(measured, claimed):
    """The answers are distinct (:func:`fer_keras.analyses.regions.matches`)."""
    from fer_keras.analyses.regions import matches

    return _v(matches(measured, claimed), measured, "region")


def separation_level(silhouette, shuffled_95):
    """"separated", "partly separated" or "not separated" (:data:`SEPARATED`); a silhouette
    not above the shuffled labels' 95th percentile, or <= 0, is never separated."""
    if not np.isfinite(silhouette) or silhouette <= 0 or not silhouette > shuffled_95:
        return "not separated"
    return "separated" if silhouette >= SEPARATED else "partly separated"


def separation(silhouette, shuffled_95, claimed):
    level = separation_level(silhouette, shuffled_95)
    return _v(level == claimed, f"{level} (silhouette {fnum(silhouette)})", "separation",
              f"shuffled labels' 95th percentile {fnum(shuffled_95)}")


def visual_similarity(grid, claimed_similar=True):
    """From :func:`fer_keras.analyses.filters.grid_similarity`'s numbers."""
    if not grid.get("compared"):
        return _v(False, "no filter to compare (every tile stayed noise)", "visual_similarity")
    word = "similar" if grid["similar"] else "different"
    return _v(bool(grid["similar"]) == claimed_similar,
              f"{word}: {grid['alike']} of {grid['compared']} filters alike", "visual_similarity")


def observation(ok, measured, why=""):
    return _v(bool(ok), measured, "observation", why)
