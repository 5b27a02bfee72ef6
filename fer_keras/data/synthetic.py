"""Procedurally drawn 48x48 grey faces: the built-in data set and a ground truth for explanations.

Each image is a face (a filled ellipse) on a background, with two eyes, two eyebrows, a faint nose
and a mouth. The seven classes (label order of :data:`fer_keras.CLASS_NAMES`) differ *only* in
the parts that carry a real expression:

============  ==============================  =========================  =====================
class         mouth                           eyebrows                   eyes
============  ==============================  =========================  =====================
Angry         short, pressed, slightly down   lowered, slanted inward    slightly narrowed
Disgust       tight, wavy, one corner raised  lowered                    narrowed (squint)
Fear          slightly open, stretched wide   raised, inner ends higher  wide open
Happy         wide smile (corners up)         normal                     slightly narrowed
Sad           corners down                    inner ends raised          normal
Surprise      open round "O"                  raised high, arched        wide open
Neutral       straight line                   normal                     normal
============  ==============================  =========================  =====================

Everything else is a per-image nuisance drawn independently of the class: face size, aspect,
position and rotation (+-10 degrees), skin tone, background level, a linear lighting gradient,
the strength of the expression (some faces are subtle), small jitter of every facial part,
Gaussian noise, and in about 10% of the images an occluding bar that may hide part of the face.
The task is therefore learnable but not trivial.

Why: the data set needs no download, so every command and test runs anywhere; and because we drew
the faces, we know *where* the class evidence is. :func:`make_faces` returns, with each image, a
boolean mask of the class-defining parts (mouth, eyebrows, eyes, anti-aliased edges included,
dilated by 1 px, aligned with the image, minus pixels hidden by an occluder). A saliency map
(Grad-CAM, occlusion, LIME, ...) of a model that learned the task should concentrate inside it.

Randomness: ``np.random.default_rng(seed)`` is split into independent streams for the labels, the
nuisances and the split, so the same seed gives bit-identical output, and the same ``(n, seed)``
with other class probabilities draws the same faces, lighting and noise, only the expressions
change. Pure numpy, vectorised over the batch (3,000 faces in well under a second).
"""
from __future__ import annotations

import numpy as np

from fer_keras import CLASS_NAMES, NUM_CLASSES

SIZE = 48
#: FER2013 Training-split counts, in label order (Angry, Disgust, Fear, Happy, Sad, Surprise,
#: Neutral); :func:`make_faces` draws classes in these proportions by default.
FER2013_TRAIN_COUNTS = np.array([3995, 436, 4097, 7215, 4830, 3171, 4965], dtype=np.int64)
FER2013_PROBS = FER2013_TRAIN_COUNTS / FER2013_TRAIN_COUNTS.sum()
#: Share of each class that :func:`synthetic_dataset` puts in each original-style split.
SPLIT_FRACTIONS = {"Training": 0.8, "PublicTest": 0.1, "PrivateTest": 0.1}
_CHUNK = 1024  # images rendered at once (bounds the float temporaries to ~10 MB each)

# Expression parameters per class, in label order. Units: positions along the face's vertical
# axis are fractions of the face's half-height (negative = up), mouth width a fraction of the
# half-width, everything else in pixels.
#   eye_open   eye half-height (px)
#   brow_in    height of the inner brow end;  brow_out  height of the outer end
#   brow_arch  upward bow of the brow (px)
#   mouth_w    mouth half-width (fraction of the face half-width)
#   curve      smile (+) / frown (-): how much lower the mouth centre is than its corners (px)
#   open       half-height of the mouth opening at its centre (px)
#   lip        half-thickness of the closed lips (px)
#   wave       amplitude of a wavy (one-period sine) lip line (px)
#   tilt       one corner higher than the other (px; the side is random per image)
_PARAM_NAMES = ("eye_open", "brow_in", "brow_out", "brow_arch", "mouth_w", "curve", "open", "lip",
                "wave", "tilt")
_EXPRESSIONS = {
    #            eye   b_in   b_out  arch  m_w   curve  open  lip   wave  tilt
    "Angry":    (1.1, -0.27, -0.44, 0.0, 0.26, -0.9, 0.0, 1.35, 0.0, 0.0),
    "Disgust":  (0.6, -0.33, -0.37, 0.0, 0.30, -0.4, 0.0, 1.0, 0.9, 1.8),
    "Fear":     (2.5, -0.56, -0.47, 0.4, 0.44, -0.7, 1.2, 0.8, 0.0, 0.0),
    "Happy":    (1.1, -0.43, -0.42, 0.4, 0.44, 2.8, 0.3, 0.9, 0.0, 0.0),
    "Sad":      (1.5, -0.53, -0.37, 0.0, 0.33, -2.3, 0.0, 0.9, 0.0, 0.0),
    "Surprise": (2.8, -0.60, -0.57, 1.2, 0.16, 0.0, 3.2, 0.9, 0.0, 0.0),
    "Neutral":  (1.5, -0.42, -0.42, 0.2, 0.34, 0.0, 0.0, 0.9, 0.0, 0.0),
}
_TABLE = np.array([_EXPRESSIONS[c] for c in CLASS_NAMES], dtype=np.float64)  # (7, 10)
# Per-image jitter (standard deviation) of each parameter, the same for every class.
_JITTER = np.array([0.25, 0.035, 0.035, 0.3, 0.03, 0.5, 0.25, 0.12, 0.25, 0.4])
_INTENSITY = (0.4, 1.1)  # expression strength: 0 = neutral face, 1 = the table's expression


def class_probabilities(class_probs=None, balanced=False):
    """float64 ``(7,)`` class probabilities: FER2013's by default, uniform, or the caller's."""
    if balanced:
        if class_probs is not None:
            raise ValueError("give class_probs or balanced=True, not both")
        return np.full(NUM_CLASSES, 1.0 / NUM_CLASSES)
    if class_probs is None:
        return FER2013_PROBS.copy()
    p = np.asarray(class_probs, dtype=np.float64)
    if p.shape != (NUM_CLASSES,) or not np.all(np.isfinite(p)) or np.any(p < 0) or p.sum() <= 0:
        raise ValueError(f"class_probs must be {NUM_CLASSES} non-negative numbers with a positive "
                         f"sum, got {class_probs!r}")
    return p / p.sum()


def _quota_labels(n, probs, rng):
    """int64 ``(n,)`` labels, ``probs * n`` of each class (largest-remainder rounding), shuffled."""
    exact = probs * n
    counts = np.floor(exact).astype(np.int64)
    short = n - counts.sum()
    if short:
        order = np.argsort(-(exact - counts), kind="stable")
        counts[order[:short]] += 1
    labels = np.repeat(np.arange(NUM_CLASSES, dtype=np.int64), counts)
    rng.shuffle(labels)
    return labels


def _streams(seed):
    """Independent generators (labels, nuisances, split) from ``np.random.default_rng(seed)``."""
    return np.random.default_rng(seed).spawn(3)


def make_faces(n, seed=0, class_probs=None, balanced=False):
    """Draw ``n`` synthetic faces.

    Args:
        n: number of images (>= 0).
        seed: seed of ``np.random.default_rng``; the same seed gives bit-identical output.
        class_probs: 7 class probabilities in label order (normalised here); ``None`` means
            FER2013's Training-split proportions (:data:`FER2013_PROBS`).
        balanced: draw every class equally often (exclusive with ``class_probs``).

    Class counts are exactly ``round(p * n)`` (largest remainder), in a random order.

    Returns:
        ``(images, labels, masks)``:
        images: uint8 ``(n, 48, 48)``, grey levels 0..255;
        labels: int64 ``(n,)`` in 0..6 (order of :data:`fer_keras.CLASS_NAMES`);
        masks: bool ``(n, 48, 48)``, True on the pixels of the class-defining parts (mouth,
        eyebrows, eyes, anti-aliased edges included; after the face's rotation and shift,
        dilated by 1 px, minus the pixels an occluder hides unless it hides them all). Never
        empty. The face outline and the nose are not in it.
    """
    n = int(n)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    probs = class_probabilities(class_probs, balanced)
    label_rng, nuisance_rng, _ = _streams(seed)
    labels = _quota_labels(n, probs, label_rng)
    images, masks = _render(labels, nuisance_rng)
    return images, labels, masks


def synthetic_dataset(n=3000, seed=0, class_probs=None):
    """The synthetic faces as a :class:`fer_keras.data.Dataset`, with an original-style split.

    ``usage`` is stratified per class and seeded: about 80% ``Training``, 10% ``PublicTest`` and
    10% ``PrivateTest`` (a class with at least 3 images has at least one of each), so that
    ``load_splits("synthetic")`` gives train / val / test. ``ids`` are the row numbers as strings,
    ``source`` is ``"synthetic"`` and ``masks`` holds the ground-truth part masks.
    """
    from fer_keras.data.dataset import Dataset

    images, labels, masks = make_faces(n, seed=seed, class_probs=class_probs)
    split_rng = _streams(seed)[2]
    usage = np.full(len(labels), "Training", dtype="<U11")
    for c in range(NUM_CLASSES):
        idx = np.flatnonzero(labels == c)
        split_rng.shuffle(idx)
        m = len(idx)
        k_val = int(round(m * SPLIT_FRACTIONS["PublicTest"]))
        k_test = int(round(m * SPLIT_FRACTIONS["PrivateTest"]))
        if m >= 3:
            k_val, k_test = max(k_val, 1), max(k_test, 1)
        usage[idx[:k_val]] = "PublicTest"
        usage[idx[k_val:k_val + k_test]] = "PrivateTest"
    ids = np.arange(len(labels)).astype(str)
    return Dataset(images, labels, ids, usage, source="synthetic", masks=masks)


# --------------------------------------------------------------------------- rendering
def _render(labels, rng):
    """Draw the nuisances for every image from ``rng`` and render in chunks of ``_CHUNK``."""
    n = len(labels)
    u = lambda lo, hi: rng.uniform(lo, hi, n)  # noqa: E731
    nuis = {
        "half_w": u(14.5, 19.0),
        "aspect": u(1.12, 1.32),
        "cx": 23.5 + u(-3.0, 3.0),
        "cy": 23.5 + u(-2.5, 3.5),
        "angle": np.deg2rad(u(-10.0, 10.0)),
        "skin": u(95.0, 215.0),
        "background": u(15.0, 235.0),
        "grad": u(-45.0, 45.0),
        "grad_dir": u(0.0, 2 * np.pi),
        "depth": u(0.35, 0.6),  # how much darker the parts are than the skin
        "noise": u(3.0, 11.0),
        "eye_x": u(0.34, 0.42),
        "eye_y": u(-0.2, -0.1),
        "eye_w": u(3.0, 4.0),
        "mouth_y": u(0.45, 0.55),
        "tilt_side": rng.choice([-1.0, 1.0], n),
        "intensity": u(*_INTENSITY),
    }
    jitter = rng.standard_normal((n, len(_PARAM_NAMES))) * _JITTER
    neutral = _TABLE[CLASS_NAMES.index("Neutral")]
    expr = neutral + nuis["intensity"][:, None] * (_TABLE[labels] - neutral) + jitter
    expr[:, 0] = np.maximum(expr[:, 0], 0.35)  # eyes never fully closed
    expr[:, 6] = np.maximum(expr[:, 6], 0.0)   # no negative opening
    expr[:, 7] = np.maximum(expr[:, 7], 0.6)   # lips at least ~1 px thick
    expr[:, 4] = np.maximum(expr[:, 4], 0.1)
    params = dict(zip(_PARAM_NAMES, expr.T))
    params.update(nuis)
    # Occluder: ~10% of the images get a bar (horizontal or vertical) of a random grey level.
    occ = rng.random(n) < 0.1
    vertical = rng.random(n) < 0.5
    thick = rng.uniform(4.0, 9.0, n)
    pos = rng.uniform(8.0, 40.0, n)
    start = rng.uniform(-10.0, 30.0, n)
    length = rng.uniform(18.0, 48.0, n)
    params.update(occ=occ, occ_vertical=vertical, occ_thick=thick, occ_pos=pos, occ_start=start,
                  occ_len=length, occ_level=rng.uniform(0.0, 255.0, n))
    images = np.empty((n, SIZE, SIZE), np.uint8)
    masks = np.empty((n, SIZE, SIZE), bool)
    for lo in range(0, n, _CHUNK):
        hi = min(n, lo + _CHUNK)
        noise = rng.standard_normal((hi - lo, SIZE, SIZE), dtype=np.float32)
        images[lo:hi], masks[lo:hi] = _draw({k: v[lo:hi] for k, v in params.items()}, noise)
    return images, masks


def _col(a):
    return np.asarray(a, np.float32)[:, None, None]


def _draw(p, noise):
    """Render one chunk: ``p`` maps each parameter to a ``(m,)`` array; returns uint8, bool."""
    f32 = np.float32
    grid = np.arange(SIZE, dtype=f32)
    yy, xx = grid[None, :, None], grid[None, None, :]
    dx, dy = xx - _col(p["cx"]), yy - _col(p["cy"])
    cos, sin = _col(np.cos(p["angle"])), _col(np.sin(p["angle"]))
    x = cos * dx + sin * dy     # face frame, pixels: x to the face's right, y down
    y = -sin * dx + cos * dy
    a = _col(p["half_w"])
    b = a * _col(p["aspect"])

    # Background with a linear lighting gradient (applied to the whole image below).
    g = _col(p["grad"]) / f32(SIZE / 2)
    light = g * ((xx - f32(23.5)) * _col(np.cos(p["grad_dir"]))
                 + (yy - f32(23.5)) * _col(np.sin(p["grad_dir"])))
    # Face: ellipse with an anti-aliased edge (distance approximated via the normalised radius).
    face = _ellipse(x, y, a, b)
    skin = _col(p["skin"])
    img = _col(p["background"]) + (skin - _col(p["background"])) * face

    ax = np.abs(x)  # eyes and brows are symmetric: draw one side in |x|
    # Eyes: filled ellipses.
    ew, eh = _col(p["eye_w"]), _col(p["eye_open"])
    ex, ey = _col(p["eye_x"]) * a, _col(p["eye_y"]) * b
    eyes = _ellipse(ax - ex, y - ey, ew, eh)
    # Brows: a stroke from the inner end (|x| = 0.12a) to the outer end (0.62a), maybe arched.
    bx0, bx1 = f32(0.12) * a, f32(0.62) * a
    s = np.clip((ax - bx0) / (bx1 - bx0), 0, 1)
    yb = (_col(p["brow_in"]) + (_col(p["brow_out"]) - _col(p["brow_in"])) * s) * b
    yb = yb - _col(p["brow_arch"]) * f32(4) * s * (f32(1) - s)
    gap_x = np.maximum(np.maximum(bx0 - ax, ax - bx1), 0)
    brows = _stroke(gap_x, np.abs(y - yb), f32(0.95))
    # Mouth: a centre line (curve + wave + tilt) thickened by the lips and the opening.
    mw = _col(p["mouth_w"]) * a
    sm = np.clip(x / mw, -1, 1)
    ym = (_col(p["mouth_y"]) * b + _col(p["curve"]) * (f32(1) - sm * sm)
          + _col(p["wave"]) * np.sin(f32(np.pi) * sm)
          + _col(p["tilt"] * p["tilt_side"]) * f32(0.5) * sm)
    half = _col(p["lip"]) + _col(p["open"]) * np.sqrt(f32(1) - sm * sm)
    mouth = _stroke(np.maximum(np.abs(x) - mw, 0), np.maximum(np.abs(y - ym) - half, 0), f32(0))
    # Nose: a faint vertical shade, the same for every class (not class-defining).
    nose = f32(0.35) * _stroke(np.maximum(np.abs(y - f32(0.12) * b) - f32(0.12) * b, 0),
                               np.abs(x), f32(0.6))

    parts = np.maximum(np.maximum(eyes, brows), mouth) * face
    shade = np.maximum(parts, nose * face)
    img = img * (f32(1) - _col(p["depth"]) * shade) + light
    mask = _dilate(parts > 0)

    # Occluder bar: overwrite, and remove the hidden pixels from the mask.
    along = np.where(_col(p["occ_vertical"]) > 0, yy + 0 * xx, xx + 0 * yy)
    across = np.where(_col(p["occ_vertical"]) > 0, xx + 0 * yy, yy + 0 * xx)
    hidden = ((np.abs(across - _col(p["occ_pos"])) <= _col(p["occ_thick"]) / 2)
              & (along >= _col(p["occ_start"]))
              & (along <= _col(p["occ_start"] + p["occ_len"]))
              & (_col(p["occ"]) > 0))
    img = np.where(hidden, _col(p["occ_level"]), img)
    # A face whose parts an occluder hides entirely keeps its mask (it is then the ground truth
    # of where the evidence would be); this is rare by the bar's size.
    visible = mask & ~hidden
    keep = visible.any(axis=(1, 2))
    mask = np.where(keep[:, None, None], visible, mask)

    img = img + noise * _col(p["noise"])
    return np.clip(np.rint(img), 0, 255).astype(np.uint8), mask


def _ellipse(x, y, a, b):
    """Anti-aliased coverage of the ellipse ``(x/a)^2 + (y/b)^2 <= 1``.

    The signed distance to the edge is approximated to first order by ``F / |grad F|`` with
    ``F = (x/a)^2 + (y/b)^2 - 1`` (exact on the edge, an underestimate far away, which is harmless
    since the coverage only ramps within half a pixel of the edge).
    """
    ia, ib = 1 / (a * a), 1 / (b * b)
    f = x * x * ia + y * y * ib - 1
    grad = 2 * np.sqrt((x * ia) ** 2 + (y * ib) ** 2) + np.float32(1e-6)
    return np.clip(np.float32(0.5) - f / grad, 0, 1)


def _stroke(gap_along, dist_across, half_width):
    """Anti-aliased coverage of a stroke: 1 inside, falling to 0 one pixel outside its edge."""
    d = np.sqrt(gap_along * gap_along + np.maximum(dist_across - half_width, 0) ** 2)
    return np.clip(np.float32(1) - d, 0, 1)


def _dilate(mask):
    """Binary dilation by one pixel (3x3 square) of a ``(m, 48, 48)`` bool array."""
    out = mask.copy()
    out[:, 1:] |= mask[:, :-1]
    out[:, :-1] |= mask[:, 1:]
    rows = out.copy()
    out[:, :, 1:] |= rows[:, :, :-1]
    out[:, :, :-1] |= rows[:, :, 1:]
    return out
