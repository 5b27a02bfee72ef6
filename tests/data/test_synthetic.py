"""The built-in synthetic faces: determinism, format, class frequencies, ground-truth masks."""
import numpy as np
import pytest

from fer_keras import CLASS_NAMES, NUM_CLASSES
from fer_keras.data import load, load_splits
from fer_keras.data.synthetic import (
    FER2013_PROBS,
    FER2013_TRAIN_COUNTS,
    _dilate,
    make_faces,
    synthetic_dataset,
)


def one_hot(c):
    p = np.zeros(NUM_CLASSES)
    p[c] = 1.0
    return p


@pytest.fixture(scope="module")
def balanced():
    return make_faces(2100, seed=5, balanced=True)


@pytest.fixture(scope="module")
def same_faces():
    """The same 200 faces (nuisances, noise, occluders) drawn with each of the 7 expressions."""
    return [make_faces(200, seed=9, class_probs=one_hot(c)) for c in range(NUM_CLASSES)]


def test_same_seed_is_bit_identical_and_other_seed_differs():
    a = make_faces(300, seed=3)
    b = make_faces(300, seed=3)
    for x, y in zip(a, b):
        assert x.dtype == y.dtype and np.array_equal(x, y)
    c = make_faces(300, seed=4)
    assert not np.array_equal(a[0], c[0])
    assert not np.array_equal(a[2], c[2])


def test_shapes_dtypes_and_ranges():
    images, labels, masks = make_faces(500, seed=1)
    assert images.shape == (500, 48, 48) and images.dtype == np.uint8
    assert labels.shape == (500,) and labels.dtype == np.int64
    assert masks.shape == (500, 48, 48) and masks.dtype == bool
    assert labels.min() >= 0 and labels.max() < NUM_CLASSES
    # a real spread of grey levels, not a constant or a tiny range
    assert images.min() < 30 and images.max() > 225
    assert np.all(images.reshape(500, -1).std(axis=1) > 3)
    empty = make_faces(0)
    assert empty[0].shape == (0, 48, 48) and empty[1].shape == (0,)
    assert empty[2].shape == (0, 48, 48)


def test_default_class_frequencies_follow_fer2013():
    assert len(CLASS_NAMES) == len(FER2013_TRAIN_COUNTS) == NUM_CLASSES
    assert FER2013_TRAIN_COUNTS[CLASS_NAMES.index("Happy")] == 7215
    assert FER2013_TRAIN_COUNTS[CLASS_NAMES.index("Disgust")] == 436
    _, labels, _ = make_faces(5000, seed=2)
    freq = np.bincount(labels, minlength=NUM_CLASSES) / len(labels)
    assert np.all(np.abs(freq - FER2013_PROBS) < 0.02)
    assert np.argmin(freq) == CLASS_NAMES.index("Disgust")
    assert np.argmax(freq) == CLASS_NAMES.index("Happy")


def test_balanced_and_explicit_class_probs():
    _, labels, _ = make_faces(700, seed=0, balanced=True)
    assert np.all(np.bincount(labels, minlength=NUM_CLASSES) == 100)
    _, labels, _ = make_faces(50, seed=0, class_probs=one_hot(5))
    assert np.all(labels == 5)
    _, labels, _ = make_faces(1000, seed=0, class_probs=[1, 1, 0, 0, 0, 0, 2])  # normalised
    assert np.array_equal(np.bincount(labels, minlength=NUM_CLASSES), [250, 250, 0, 0, 0, 0, 500])
    for bad in ([1, 2, 3], [-1, 1, 1, 1, 1, 1, 1], np.zeros(7), [np.nan] * 7):
        with pytest.raises(ValueError):
            make_faces(10, class_probs=bad)
    with pytest.raises(ValueError):
        make_faces(10, class_probs=one_hot(0), balanced=True)


def test_masks_nonempty_and_a_small_share_of_the_image(balanced):
    images, labels, masks = balanced
    area = masks.mean(axis=(1, 2))
    assert np.all(masks.any(axis=(1, 2)))
    assert 0.03 < area.mean() < 0.30
    assert area.max() < 0.5  # the parts, never the whole face
    # masks vary with the face (position, size, rotation): not one fixed template
    assert masks.mean(axis=0).max() < 1.0


def test_masks_lie_on_the_dark_drawn_parts(balanced):
    """Eyes, brows and mouth are drawn darker than the skin: pixels in the mask must be darker than
    the ring just around it. A mask that is shifted, transposed or not rotated with the face fails.
    """
    images, _, masks = balanced
    x = images.astype(np.float64)
    ring = _dilate(_dilate(masks)) & ~masks
    inside = (x * masks).sum(axis=(1, 2)) / masks.sum(axis=(1, 2))
    around = (x * ring).sum(axis=(1, 2)) / ring.sum(axis=(1, 2))
    assert np.mean(inside < around) > 0.95  # noise and occluders may break a few
    assert np.median(around - inside) > 10


def test_mouth_is_the_lowest_part_centred_below_the_eyes(balanced):
    """The mask's lowest connected part (the mouth) lies below the others (eyes, brows), roughly
    centred under them; faces are rotated by at most 10 degrees so 'below' holds in the image."""
    ndimage = pytest.importorskip("scipy.ndimage")
    _, _, masks = balanced
    ok = 0
    for m in masks[:300]:
        lab, k = ndimage.label(m, structure=np.ones((3, 3)))
        if k < 2:
            continue
        idx = range(1, k + 1)
        centres = np.array(ndimage.center_of_mass(m, lab, idx))
        sizes = np.asarray(ndimage.sum(m, lab, idx))
        low = int(np.argmax(centres[:, 0]))
        rest, rest_sizes = np.delete(centres, low, axis=0), np.delete(sizes, low)
        below = centres[low, 0] > rest[:, 0].max() + 4
        centred = abs(centres[low, 1] - np.average(rest[:, 1], weights=rest_sizes)) < 4
        ok += bool(below and centred)
    assert ok / 300 > 0.9


def test_classes_differ_only_inside_the_masks(same_faces):
    """Same seed, other class: the same faces with another expression. Every pixel that changes
    lies in the union of the two masks, so the class lives only in mouth, brows and eyes; and
    every pair of classes differs clearly there."""
    imgs = [f[0].astype(np.int16) for f in same_faces]
    masks = [f[2] for f in same_faces]
    for c in range(NUM_CLASSES):
        assert np.all(same_faces[c][1] == c)
    for c in range(NUM_CLASSES):
        for d in range(c + 1, NUM_CLASSES):
            diff = np.abs(imgs[c] - imgs[d])
            union = masks[c] | masks[d]
            assert not np.any(diff[~union]), (CLASS_NAMES[c], CLASS_NAMES[d])
            assert diff[union].mean() > 3, (CLASS_NAMES[c], CLASS_NAMES[d])
    # the per-class mean images therefore differ only where the masks are
    means = np.stack([im.mean(axis=0) for im in imgs])
    spread = means.max(axis=0) - means.min(axis=0)
    anywhere = np.any(np.stack(masks), axis=(0, 1))
    assert spread[~anywhere].max() == 0
    assert spread[anywhere].mean() > 5


def test_learnable_by_a_linear_model_on_raw_pixels():
    """A ridge-regression classifier on raw pixels beats chance clearly (a CNN does much better)."""
    x, y, _ = make_faces(2000, seed=11, balanced=True)
    xt, yt, _ = make_faces(700, seed=12, balanced=True)

    def design(images):
        flat = images.reshape(len(images), -1).astype(np.float64) / 255.0
        return np.hstack([flat, np.ones((len(flat), 1))])

    a = design(x)
    w = np.linalg.solve(a.T @ a + 50.0 * np.eye(a.shape[1]), a.T @ np.eye(NUM_CLASSES)[y])
    acc = np.mean(np.argmax(design(xt) @ w, axis=1) == yt)
    assert acc > 1 / NUM_CLASSES + 0.15
    assert acc < 0.99  # not trivially separable


def test_synthetic_dataset_and_load_splits():
    ds = synthetic_dataset(1000, seed=3)
    images, labels, masks = make_faces(1000, seed=3)
    assert np.array_equal(ds.images, images) and np.array_equal(ds.labels, labels)
    assert np.array_equal(ds.masks, masks)
    assert ds.source == "synthetic"
    assert np.array_equal(ds.ids, np.arange(1000).astype(str))
    assert set(np.unique(ds.usage)) == {"Training", "PublicTest", "PrivateTest"}
    for c in range(NUM_CLASSES):
        u = ds.usage[ds.labels == c]
        if len(u) >= 3:
            assert {"Training", "PublicTest", "PrivateTest"} <= set(u)
        share = np.mean(u == "Training")
        assert 0.6 <= share <= 0.9
    assert abs(np.mean(ds.usage == "Training") - 0.8) < 0.02
    again = synthetic_dataset(1000, seed=3)
    assert np.array_equal(again.usage, ds.usage)

    default = load("synthetic")
    assert len(default) == 3000 and default.masks is not None
    splits = load_splits("synthetic")
    assert all(len(splits[k]) > 0 for k in ("train", "val", "test"))
    assert sum(len(s) for s in splits.values()) == 3000
    assert np.all(splits["train"].class_counts() > 0)
    assert splits["train"].masks.shape == splits["train"].images.shape
    small = load_splits("synthetic", n_synthetic=400, seed=1)
    assert len(small["train"]) + len(small["val"]) + len(small["test"]) == 400
