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
from fer_keras.analyses.regions import BALANCE as REGION_BALANCE
from fer_keras.report.common import standard_error
from fer_keras.report.document import fnum, pct

#: z above which a share counts as more than chance (one-sided, about p < 0.023).
Z = 2.0
#: Silhouettes of a 2-D embedding above the shuffled labels' 95th percentile: at or above
#: SEPARATED the classes count as separated, below it as "slightly separated" (the classes'
#: distributions differ, but overlap); at or below the control never separated.
SEPARATED = 0.25
#: How much further (eyes-to-mouth balance, :func:`class_lean`) a class's maps must lean to the
#: region a claim names than the other classes' maps do: the regions' own threshold against
#: the centre prior, applied between classes.
LEAN = REGION_BALANCE
#: "Only contours" (report 004): at least this share of a layer's live feature maps trace the
#: face's contours (:func:`fer_keras.analyses.filters.contour_maps`); an untrained network's
#: second conv layer gets 2-12% on FER2013 faces.
CONTOUR_SHARE = 0.5
#: "No particular features" (report 004): at least this share of the ascent's tiles from noise
#: show nothing but noise or stripes of one orientation
#: (:func:`fer_keras.analyses.filters.featureless_tiles`).
FEATURELESS_SHARE = 0.75
#: Separation levels, weakest first.
LEVELS = ("not separated", "slightly separated", "separated")

RULES = {
    "accuracy": "ours within 2 combined standard errors of the report's, above or below: the "
                "binomial SE of the reported accuracy on our test size and the run-to-run "
                "spread of two seeds where measured, plus half the last digit the report gives",
    "params": "within 1% of the report's count (and of its trainable and non-trainable counts "
              "where it gives them)",
    "confusion_pair": "the share of A predicted as B is among the 5 largest off-diagonal shares "
                      "and z >= 2 above the share of the other classes' images predicted as B",
    "confusion_row": "judged in A's row, as a per-emotion table is written: A's recall is z >= 2 "
                     "above its chance level; the named classes are A's most frequent wrong "
                     "labels and A's errors are not evenly spread (chi-square against an even "
                     "spread over the 6 wrong labels, p < 0.05); 'none': A's largest confusion "
                     "takes no more of A's images than the median of the other rows' largest",
    "rarely_predicted": "the class gets the fewest of the wrong labels, and fewer than half of "
                        "what a guesser drawing labels at the class frequencies would give it",
    "most_predicted": "the class gets the most of the wrong labels, z >= 2 above 1/6 of them",
    "recall_best": "the class's recall is the highest, or within 2 standard errors of it, and "
                   "z >= 2 above its chance level (the rate the model predicts it)",
    "recall_worst": "the class's recall is the lowest, or within 2 standard errors of it, and "
                    "z >= 2 above its chance level",
    "recall_fair": "the class's recall is z >= 2 above its chance level and not more than 2 "
                   "standard errors below the median recall of the other classes",
    "recall_top": "the named classes have the highest recalls, each z >= 2 above its chance "
                  "level",
    "recall_above": "exactly the named classes have a recall of at least the threshold, each "
                    "z >= 2 above its chance level",
    "region": "the measured region answer is the claimed one (five distinct answers, judged "
              "against a centre prior and a face-uniform map); an eyes or mouth answer also "
              f"leans at least {LEAN:g}x further that way than the other classes' maps do, so "
              "that one fixed map for every class (a mouth blob) answers no class",
    "separation": "silhouette of the 2-D embedding not above the 95th percentile of the same "
                  f"embedding with shuffled labels: not separated; above it and below "
                  f"{SEPARATED}: slightly separated; above it and at least {SEPARATED}: "
                  "separated. 'Not separated' in the first layer also needs the last layer "
                  "above its control (the contrast the report draws)",
    "data_count": "the count of the class's images in FER2013's 28,709 training images equals "
                  "the report's",
    "data_rarest": "the class has the fewest of FER2013's 28,709 training images",
    "shape": "the model's layer gives exactly the report's size",
    "comparison": "the difference of two runs' accuracies on the same images, against 2 "
                  "combined standard errors (binomial of each, and the run-to-run spread where "
                  "measured): 'better' above it, 'no better' not above it, a reported gain "
                  "within it of ours and ours above 0",
    "visual_similarity": "at least half of the filters (those where neither tile stayed noise) "
                         "give alike orientation and frequency spectra from both starts",
    "observation": "the measurement named in the row",
}

#: Kinds whose verdict needs no measurement of ours beyond the model registry and the data.
STATIC_KINDS = ("params", "shape", "data_count", "data_rarest")


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


def rounding(value):
    """Half the last digit a reported share was given to: 0.005 for ``0.58`` (58%), 5e-6 for
    ``0.12345``; the reported figure stands for any value that rounds to it."""
    for digits in range(2, 7):
        if abs(round(value, digits) - value) < 1e-12:
            return 0.5 * 10.0 ** -digits
    return 0.0


def tolerance(reported, n, spread=0.0):
    """Two combined standard errors (fraction) around a ``reported`` share on ``n`` images:
    ``2 sqrt(SE^2 + spread^2) + rounding(reported)``; ``spread``: the standard deviation of the
    share between training runs that differ only in their seed (0: not measured)."""
    se = standard_error(reported, n)
    return 2 * math.hypot(se, spread or 0.0) + rounding(reported)


def _near_reported(ours, reported, n):
    """``(near, words)``: whether the share ``ours`` on ``n`` images lies within
    :func:`tolerance` of a ``reported`` share, and a clause saying so for a verdict's why."""
    tol = tolerance(reported, n)
    near = abs(ours - reported) <= tol
    return near, (f"; {100 * abs(ours - reported):.1f} points from the reported "
                  f"{pct(reported, 0)}, {'within' if near else 'beyond'} 2 SE "
                  f"({100 * tol:.1f} points)")


def accuracy(ours, reported, n, spread=0.0):
    """Reproduced when ``|ours - reported| <= tolerance(reported, n, spread)``: a model far
    better than the report's does not reproduce its figure either."""
    tol = tolerance(reported, n, spread)
    d = 100 * (ours - reported)
    what = (f"2 combined SE = {100 * tol:.1f} points on {n:,} images"
            + (f", run-to-run spread {100 * spread:.1f}" if spread else
               ", run-to-run spread not measured"))
    if abs(ours - reported) <= tol:
        return _v(True, pct(ours), "accuracy", f"{d:+.1f} points, within {what}")
    side = "below" if d < 0 else "above"
    return _v(False, pct(ours), "accuracy", f"{abs(d):.1f} points {side}, beyond {what}")


def params(ours, reported):
    """``ours`` and ``reported``: a count, or ``(total, trainable, non-trainable)``; every
    count the report gives within 1%."""
    ours_t = ours if isinstance(ours, tuple) else (ours,)
    rep_t = reported if isinstance(reported, tuple) else (reported,)
    names = ("total", "trainable", "non-trainable")
    rel = [o / r - 1 if r else float(o != 0) for o, r in zip(ours_t, rep_t)]
    ok = all(abs(x) <= 0.01 for x in rel)
    measured = "; ".join(f"{names[i]} {o:,} ({100 * x:+.2f}%)" if len(rep_t) > 1 else
                         f"{o:,} ({100 * x:+.2f}%)" for i, (o, x) in enumerate(zip(ours_t, rel)))
    off = [f"{names[i]} {100 * abs(x):.2f}% off" for i, x in enumerate(rel) if abs(x) > 0.01]
    return _v(ok, measured, "params", "; ".join(off))


def model_counts(model):
    """``(total, trainable, non-trainable)`` parameter counts of a Keras model."""
    def count(ws):
        return int(sum(int(np.prod(w.shape)) for w in ws))
    return count(model.weights), count(model.trainable_weights), count(
        model.non_trainable_weights)


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


def confusion_pair(cm, true, predicted, top=5, reported=None):
    """"A is confused with B": the pair is among the ``top`` largest off-diagonal row shares
    and its share is ``Z`` binomial standard errors above the chance share (:func:`pair_stats`);
    labels shuffled against the predictions leave every pair at chance and fail. With a
    ``reported`` share (of A's images), ours must also lie within :func:`tolerance` of it."""
    a, b = CLASS_NAMES.index(true), CLASS_NAMES.index(predicted)
    share, chance, z, rank = pair_stats(cm, a, b)
    ok = rank <= top and z >= Z
    why = (f"rank {rank} of the off-diagonal shares, z = {z:.1f} against the chance share "
           f"{pct(chance)}")
    if reported is not None:
        near, words = _near_reported(share, reported, int(np.asarray(cm)[a].sum()))
        ok, why = ok and near, why + words
    return _v(ok, f"{pct(share)} of {true}", "confusion_pair", why)


def _chi2_even(counts):
    """p-value of a chi-square test of ``counts`` against an even spread (scipy-free: the
    survival function of the chi-square distribution by the regularised gamma function)."""
    counts = np.asarray(counts, np.float64)
    n, k = counts.sum(), len(counts)
    if n == 0 or k < 2:
        return 1.0
    e = n / k
    stat = float(((counts - e) ** 2 / e).sum())
    return _chi2_sf(stat, k - 1)


def _chi2_sf(x, dof):
    """P(X > x) for X ~ chi-square(dof), by the series of the lower regularised gamma."""
    a, x2 = dof / 2.0, x / 2.0
    if x2 <= 0:
        return 1.0
    term = total = 1.0 / a
    k = 1
    while term > total * 1e-15 and k < 10_000:
        term *= x2 / (a + k)
        total += term
        k += 1
    lower = total * math.exp(-x2 + a * math.log(x2) - math.lgamma(a))
    return float(min(max(1.0 - lower, 0.0), 1.0))


def confusion_row(cm, true, named):
    """A per-emotion table's row "A is confused with ``named``" (a tuple of class names, empty
    for "not obvious"), judged in A's row (rows: true, columns: predicted).

    Every verdict needs A's recall ``Z`` SE above its chance level (:func:`recall_stats`), so a
    guesser that ignores the image fails. Named classes: they are A's most frequent wrong labels
    (each at least as frequent as every unnamed one) and A's wrong labels are not evenly spread
    (chi-square, p < 0.05), so a chance row fails. None: A's largest confusion, as a share of
    A's images, is at most the median of the other rows' largest confusions."""
    cm = _cm(cm)
    a = CLASS_NAMES.index(true)
    st = recall_stats(cm)
    informative = st[a][3] >= Z
    rows = cm.sum(1)
    wrong = [j for j in range(len(cm)) if j != a]
    errs = cm[a, wrong]
    top = [CLASS_NAMES[wrong[i]] for i in np.argsort(-errs, kind="stable")]
    shares = cm[a] / max(rows[a], 1)
    recall_why = f"{true} recall {pct(st[a][0])}, z = {st[a][3]:.1f} above chance"
    if named:
        idx = [CLASS_NAMES.index(c) for c in named]
        others = [j for j in wrong if j not in idx]
        ranked = min(cm[a, idx]) >= (max(cm[a, others]) if others else 0)
        p = _chi2_even(errs)
        ok = informative and ranked and p < 0.05
        measured = ", ".join(f"{c} {pct(shares[CLASS_NAMES.index(c)])}" for c in top[:max(
            len(named), 2)])
        pw = f"p = {p:.2g}" if p >= 1e-12 else "p < 1e-12"  # the series' precision
        why = (f"{true}'s most frequent wrong labels: {', '.join(top[:3])}; uneven spread "
               f"{pw}; {recall_why}")
        return _v(ok, measured, "confusion_row", why)
    largest = {i: max(cm[i, j] for j in range(len(cm)) if j != i) / max(rows[i], 1)
               for i in range(len(cm)) if rows[i] > 0}
    mine = largest.get(a, float("nan"))
    med = float(np.median([v for i, v in largest.items() if i != a]))
    ok = informative and mine <= med + 1e-12
    return _v(ok, f"largest: {top[0]} {pct(mine)} of {true}", "confusion_row",
              f"median of the other rows' largest confusions {pct(med)}; {recall_why}")


def _wrong_labels(cm):
    cm = _cm(cm)
    return cm.sum(0) - np.diag(cm)


def prior_guess_share(cm, k):
    """The share of the wrong labels that a guesser drawing each label at the class
    frequencies (the rows' shares), ignoring the image, gives to class ``k``:
    ``(N - n_k) p_k / sum_a n_a (1 - p_a)``."""
    rows = _cm(cm).sum(1)
    n = rows.sum()
    p = rows / max(n, 1)
    wrong = float((rows * (1 - p)).sum())
    return float((n - rows[k]) * p[k] / wrong) if wrong else float("nan")


def rarely_predicted(cm, cls):
    """"Few images of other classes are predicted as C": C gets the fewest wrong labels and
    fewer than half of what :func:`prior_guess_share` gives it. A rare class gets few wrong
    labels from any guesser, so the bar is that guesser, not an even spread."""
    col = _wrong_labels(cm)
    k = CLASS_NAMES.index(cls)
    share = col[k] / max(col.sum(), 1)
    guess = prior_guess_share(cm, k)
    ok = col[k] <= col.min() + 1e-9 and share < guess / 2
    return _v(ok, f"{pct(share)} of the wrong labels", "rarely_predicted",
              f"fewest: {CLASS_NAMES[int(np.argmin(col))]}; a guesser at the class "
              f"frequencies gives {cls} {pct(guess)}")


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


def _recall_rank(cm, cls, best, reported=None):
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
    if reported is not None:
        near, words = _near_reported(r, reported, int(np.asarray(cm)[k].sum()))
        ok, why = ok and near, why + words
    return _v(ok, f"{pct(r)}", "recall_best" if best else "recall_worst", why)


def recall_best(cm, cls, reported=None):
    """The class is recognised best (and, with ``reported``, at that recall)."""
    return _recall_rank(cm, cls, True, reported)


def recall_worst(cm, cls, reported=None):
    """The class is recognised worst (and, with ``reported``, at that recall)."""
    return _recall_rank(cm, cls, False, reported)


def recall_fair(cm, cls):
    """"C looks not bad": C's recall is ``Z`` SE above its chance level and at most 2 SE
    (its own) below the median recall of the other classes."""
    st = recall_stats(cm)
    k = CLASS_NAMES.index(cls)
    present = [i for i in range(len(st)) if np.asarray(cm)[i].sum() > 0 and i != k]
    med = float(np.median([st[i][0] for i in present]))
    r, se, c, z = st[k]
    ok = z >= Z and r >= med - 2 * se
    return _v(ok, pct(r), "recall_fair",
              f"median of the other classes {pct(med)}; {cls}: chance {pct(c)}, z = {z:.1f}, "
              f"SE {100 * se:.1f} points")


def recall_top(cm, classes):
    """"``classes`` are the most accurate": their recalls are the highest ``len(classes)``,
    each ``Z`` SE above its chance level."""
    st = recall_stats(cm)
    idx = [CLASS_NAMES.index(c) for c in classes]
    present = [i for i in range(len(st)) if np.asarray(cm)[i].sum() > 0]
    order = sorted(present, key=lambda i: -st[i][0])
    top = order[:len(idx)]
    ok = sorted(top) == sorted(idx) and all(st[i][3] >= Z for i in idx)
    return _v(ok, ", ".join(f"{CLASS_NAMES[i]} {pct(st[i][0])}" for i in top), "recall_top",
              "highest recalls: " + ", ".join(CLASS_NAMES[i] for i in order[:len(idx) + 1]))


def recall_above(cm, classes, threshold=0.6):
    """"Only ``classes`` reach ``threshold``": the set of classes with recall >= threshold is
    exactly ``classes``, each z >= 2 above chance."""
    st = recall_stats(cm)
    have = [CLASS_NAMES[i] for i, s in enumerate(st) if s[0] >= threshold]
    ok = sorted(have) == sorted(classes) and all(st[CLASS_NAMES.index(c)][3] >= Z
                                                 for c in classes)
    return _v(ok, ", ".join(have) if have else "none", "recall_above",
              f"at least {pct(threshold, 0)}: " + (", ".join(have) if have else "none"))


def class_lean(classes, cls):
    """How much further ``cls``'s maps lean to the eyes than the other classes' do: its
    eyes-to-mouth balance (``eyes / mouth`` of its region evidence, each a geometric mean over
    its images relative to the centre prior) over the geometric mean of the other classes'
    balances; > 1: more towards the eyes. ``classes``: ``{class: {"eyes", "mouth", ...}}``.
    NaN with no other class."""
    def balance(e):
        return float(e["eyes"]) / max(float(e["mouth"]), 1e-12)

    others = [math.log(max(balance(e), 1e-12)) for c, e in classes.items() if c != cls]
    if not others:
        return float("nan")
    return balance(classes[cls]) / math.exp(sum(others) / len(others))


def region(measured, claimed, lean=None):
    """The answers are distinct (:func:`fer_keras.analyses.regions.matches`); a claimed
    "eyes" or "mouth" also needs the class's :func:`class_lean` at least :data:`LEAN` that way
    (``lean`` None: the other classes were not measured, and the answer alone decides)."""
    from fer_keras.analyses.regions import matches

    ok = matches(measured, claimed)
    why = ""
    if ok and claimed in ("eyes", "mouth") and lean is not None and math.isfinite(lean):
        toward = lean if claimed == "eyes" else 1 / lean
        if toward < LEAN:
            ok = False
            why = (f"the {claimed} answer is not this class's own: its maps lean "
                   f"{toward:.2f}x as far to the {claimed} as the other classes' (at least "
                   f"{LEAN:g}x needed), as one map for every class would")
        else:
            why = f"{toward:.2f}x further to the {claimed} than the other classes' maps"
    return _v(ok, measured, "region", why)


def separation_level(silhouette, shuffled_95):
    """One of :data:`LEVELS`: a silhouette not above the shuffled labels' 95th percentile is
    never separated; above it, "separated" from :data:`SEPARATED` on, else "slightly
    separated" (the classes' distributions differ, but overlap)."""
    if not np.isfinite(silhouette) or not silhouette > shuffled_95:
        return "not separated"
    return "separated" if silhouette >= SEPARATED else "slightly separated"


def separation(silhouette, shuffled_95, claimed, contrast=None):
    """The layer's :func:`separation_level` is the ``claimed`` one. ``contrast``: ``(silhouette,
    shuffled_95)`` of the layer the claim compares with (the last one, for a first layer that
    "cannot be separated"): "not separated" also needs that layer above its control, so that
    features or labels with no class structure at all, which are never separated, fail."""
    level = separation_level(silhouette, shuffled_95)
    ok = level == claimed
    why = f"shuffled labels' 95th percentile {fnum(shuffled_95)}"
    if contrast is not None and claimed == "not separated":
        other = separation_level(*contrast)
        ok = ok and other != "not separated"
        why += f"; the last layer: {other} (silhouette {fnum(contrast[0])})"
    return _v(ok, f"{level} (silhouette {fnum(silhouette)})", "separation", why)


def data_count(counts, cls, reported):
    """``counts``: images per class (``(7,)``, :data:`fer_keras.CLASS_NAMES` order) of the
    training split; exactly ``reported`` of class ``cls``."""
    n = int(np.asarray(counts)[CLASS_NAMES.index(cls)])
    return _v(n == int(reported), f"{n:,} {cls} images", "data_count",
              "" if n == reported else f"{n - int(reported):+,}")


def data_rarest(counts, cls):
    counts = np.asarray(counts)
    j = int(np.argmin(counts))
    return _v(CLASS_NAMES[j] == cls, f"{CLASS_NAMES[j]}: {int(counts[j]):,} images",
              "data_rarest", f"{cls}: {int(counts[CLASS_NAMES.index(cls)]):,}")


def shape(ours, reported):
    return _v(int(ours) == int(reported), f"{int(ours):,}", "shape",
              "" if int(ours) == int(reported) else f"{int(ours) - int(reported):+,}")


def comparison(acc_a, acc_b, n, expect, gain=None, spread=0.0):
    """Two runs' accuracies ``acc_a`` (the claim's first run) and ``acc_b`` on the same ``n``
    images. ``expect``: "better" (a - b above 2 combined SE), "no better" (b - a not above
    it: a's change did not help) or "gain" (a - b within the tolerance of the reported
    ``gain`` and above 0). Combined SE: ``sqrt(SE_a^2 + SE_b^2 + 2 spread^2)``."""
    se = math.sqrt(standard_error(acc_a, n) ** 2 + standard_error(acc_b, n) ** 2
                   + 2 * (spread or 0.0) ** 2)
    d = acc_a - acc_b
    tol = 2 * se
    if expect == "better":
        ok = d > tol
    elif expect == "no better":
        ok = d <= tol
    elif expect == "gain":
        ok = d > 0 and abs(d - gain) <= tol + rounding(gain)
    else:
        raise ValueError(f"unknown comparison {expect!r}")
    return _v(ok, f"{pct(acc_a)} vs {pct(acc_b)} ({100 * d:+.1f} points)", "comparison",
              f"2 combined SE = {100 * tol:.1f} points on {n:,} images"
              + ("" if spread else ", run-to-run spread not measured"))


def beats_majority(acc, majority, n):
    """Whether accuracy ``acc`` on ``n`` images is more than 2 binomial SE above ``majority``,
    the accuracy of always answering the most frequent class."""
    return acc - majority > 2 * standard_error(acc, n)


def beats_control(ratios, name="the centre prior"):
    """``ratios``: per class (or image) map statistic divided by a control map's (> 0; the
    control scores 1). Reproduced when their geometric mean is above 1 with t >= ``Z`` on the
    logs, so that the control itself (every ratio 1) and maps no better than it fail."""
    logs = np.log(np.asarray(ratios, np.float64))
    m = float(logs.mean())
    sd = float(logs.std(ddof=1)) if len(logs) > 1 else float("inf")
    t = m / (sd / math.sqrt(len(logs))) if sd > 0 else (float("inf") if m > 0 else 0.0)
    return t >= Z, float(np.exp(m)), float(t)


def visual_similarity(grid, claimed_similar=True):
    """From :func:`fer_keras.analyses.filters.grid_similarity`'s numbers."""
    if not grid.get("compared"):
        return _v(False, "no filter to compare (every tile stayed noise)", "visual_similarity")
    word = "similar" if grid["similar"] else "different"
    return _v(bool(grid["similar"]) == claimed_similar,
              f"{word}: {grid['alike']} of {grid['compared']} filters alike", "visual_similarity")


def observation(ok, measured, why=""):
    return _v(bool(ok), measured, "observation", why)
