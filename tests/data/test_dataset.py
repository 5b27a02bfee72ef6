"""The FER2013 data layer: every on-disk format, the cache, splits and the model input.

Small data sets are written into ``tmp_path`` by the tests; the real ../shared data is used
through the ``fer_folder`` / ``fer_sample_csv`` fixtures (skipped when absent).
"""
import gzip
import os
import time

import numpy as np
import pytest
from PIL import Image

from fer_keras.data import (
    FOLDER_NAMES,
    Dataset,
    load,
    load_csv,
    load_splits,
    parse_pixels,
)
from fer_keras.data import loading as data  # the home of the readers the tests patch
from fer_keras.errors import FerInputError

REAL_TRAIN_COUNTS = {"angry": 3995, "disgust": 436, "fear": 4097, "happy": 7215, "sad": 4830,
                     "surprise": 3171, "neutral": 4965}


# --------------------------------------------------------------------------- writers
def make_images(n, seed=0):
    """``n`` random uint8 48x48 images with labels cycling 0..6 and a Usage per row."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 48, 48), dtype=np.uint8)
    images[:, 0, 0] = 0  # make sure the extremes appear
    images[:, 0, 1] = 255
    labels = np.arange(n) % 7
    usage = np.array(["Training", "PublicTest", "PrivateTest"])[(np.arange(n) // 7) % 3]
    return images, labels, usage


def pixel_string(img):
    return " ".join(map(str, np.asarray(img).ravel().tolist()))


def write_kaggle_csv(path, images, labels, usage, newline="\n", bom=False, gz=False):
    rows = ["emotion,pixels,Usage"] + [f"{int(lab)},{pixel_string(img)},{u}"
                                       for img, lab, u in zip(images, labels, usage)]
    text = newline.join(rows) + newline
    raw = (b"\xef\xbb\xbf" if bom else b"") + text.encode("ascii")
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


def write_course_csvs(folder, images, labels, test_images):
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["label,feature"] + [f"{int(lab)},{pixel_string(img)}" for img, lab in zip(images, labels)]
    (folder / "train.csv").write_text("\n".join(rows) + "\n")
    rows = ["id,feature"] + [f"{1000 + i},{pixel_string(img)}" for i, img in enumerate(test_images)]
    (folder / "test.csv").write_text("\n".join(rows) + "\n")
    return folder


def write_image_folder(root, images, labels, usage, ext=".png"):
    """``root/{train,test}/<class>/<Usage>_<i>.png``: Training -> train/, the others -> test/."""
    for i, (img, lab, u) in enumerate(zip(images, labels, usage)):
        part = "train" if u == "Training" else "test"
        d = root / part / FOLDER_NAMES[lab]
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img, "L").save(d / f"{u}_{i:05d}{ext}")
    return root


def folder_row_order(ds):
    """Row index (the ``_<i>`` of the file name) of each image of a folder data set."""
    return np.array([int(str(i).rsplit("_", 1)[1].split(".")[0]) for i in ds.ids])


# --------------------------------------------------------------------------- Kaggle CSV
def test_kaggle_csv_roundtrip(tmp_path):
    images, labels, usage = make_images(21)
    ds = load(write_kaggle_csv(tmp_path / "fer2013.csv", images, labels, usage), cache=False)
    assert isinstance(ds, Dataset) and len(ds) == 21
    assert ds.images.dtype == np.uint8 and ds.images.shape == (21, 48, 48)
    np.testing.assert_array_equal(ds.images, images)
    assert ds.labels.dtype == np.int64
    np.testing.assert_array_equal(ds.labels, labels)
    assert list(ds.usage) == list(usage)
    assert list(ds.ids) == [str(i) for i in range(1, 22)]  # the data row number


def test_kaggle_csv_gz_equals_plain(tmp_path):
    images, labels, usage = make_images(14, seed=1)
    plain = load(write_kaggle_csv(tmp_path / "a.csv", images, labels, usage), cache=False)
    gz = load(write_kaggle_csv(tmp_path / "fer2013.csv.gz", images, labels, usage, gz=True),
              cache=False)
    np.testing.assert_array_equal(gz.images, plain.images)
    np.testing.assert_array_equal(gz.labels, plain.labels)
    np.testing.assert_array_equal(gz.usage, plain.usage)


def test_folder_with_fer2013_csv_is_loaded(tmp_path):
    images, labels, usage = make_images(7)
    write_kaggle_csv(tmp_path / "fer2013.csv", images, labels, usage)
    np.testing.assert_array_equal(load(tmp_path, cache=False).images, images)


@pytest.mark.parametrize("newline", ["\r\n", "mixed", "\r"])
@pytest.mark.parametrize("bom", [False, True])
def test_line_endings_and_bom_load_unchanged(tmp_path, newline, bom):
    images, labels, usage = make_images(9, seed=2)
    path = tmp_path / "x.csv"
    write_kaggle_csv(path, images, labels, usage, bom=bom)
    raw = path.read_bytes()
    if newline == "mixed":
        lines = raw.split(b"\n")
        raw = b"".join(line + (b"\r\n" if i % 2 else b"\n") for i, line in enumerate(lines[:-1]))
    else:
        raw = raw.replace(b"\n", newline.encode())
    path.write_bytes(raw)
    ds = load(path, cache=False)
    np.testing.assert_array_equal(ds.images, images)
    np.testing.assert_array_equal(ds.labels, labels)
    assert list(ds.usage) == list(usage)


def test_blank_lines_are_skipped_and_lines_counted(tmp_path):
    images, labels, usage = make_images(3)
    path = write_kaggle_csv(tmp_path / "x.csv", images, labels, usage)
    lines = path.read_text().split("\n")
    bad = lines[:2] + [""] + lines[2:3] + ["", "9," + lines[3].split(",", 1)[1]] + lines[4:]
    path.write_text("\n".join(bad))
    with pytest.raises(FerInputError) as e:
        load(path, cache=False)
    assert e.value.row == 6  # header 1, row 2, blank 3, row 4, blank 5, bad row 6
    path.write_text("\n".join(lines[:2] + [""] + lines[2:]))
    ds = load(path, cache=False)
    np.testing.assert_array_equal(ds.images, images)


def test_real_sample_csv(fer_sample_csv):
    ds = load(fer_sample_csv)
    assert ds.images.shape == (1167, 48, 48) and ds.images.dtype == np.uint8
    assert ds.labels.shape == (1167,) and ds.labels.min() >= 0 and ds.labels.max() <= 6
    assert set(np.unique(ds.labels)) == set(range(7))
    assert set(ds.usage) <= {"Training", "PublicTest", "PrivateTest"}
    assert 0 < ds.images.mean() < 255 and ds.images.std() > 10
    # the first row, parsed independently of the loader
    with open(fer_sample_csv) as f:
        f.readline()
        emotion, pixels, usage = f.readline().strip().split(",")
    assert ds.labels[0] == int(emotion) and ds.usage[0] == usage
    np.testing.assert_array_equal(ds.images[0].ravel(), np.array(pixels.split(), np.uint8))


# --------------------------------------------------------------------------- course CSVs
def test_course_csvs(tmp_path):
    images, labels, _ = make_images(28, seed=3)
    test_images, _, _ = make_images(5, seed=4)
    folder = write_course_csvs(tmp_path / "course", images, labels, test_images)
    tr = load(folder / "train.csv", cache=False)
    np.testing.assert_array_equal(tr.images, images)
    np.testing.assert_array_equal(tr.labels, labels)
    assert set(tr.usage) == {""}
    te = load(folder / "test.csv", cache=False)
    assert te.labels is None
    np.testing.assert_array_equal(te.images, test_images)
    assert list(te.ids) == [str(1000 + i) for i in range(5)]
    with pytest.raises(FerInputError, match="no labels"):
        te.class_counts()


def test_load_splits_course_folder(tmp_path):
    images, labels, _ = make_images(70, seed=5)
    test_images, _, _ = make_images(6, seed=6)
    folder = write_course_csvs(tmp_path / "course", images, labels, test_images)
    sp = load_splits(folder, val_fraction=0.2, seed=0)
    assert len(sp["train"]) + len(sp["val"]) == 70
    assert len(sp["val"]) == 14
    np.testing.assert_array_equal(np.bincount(sp["val"].labels, minlength=7), [2] * 7)
    assert sp["test"].labels is None and len(sp["test"]) == 6
    np.testing.assert_array_equal(sp["test"].images, test_images)
    # train and val are disjoint and together are the file
    both = np.concatenate([sp["train"].ids, sp["val"].ids]).astype(int)
    assert sorted(both) == list(range(1, 71))


def test_load_splits_refuses_unlabeled(tmp_path):
    folder = write_course_csvs(tmp_path, *make_images(7)[:2], make_images(3)[0])
    with pytest.raises(FerInputError, match="no labels"):
        load_splits(folder / "test.csv")


def test_load_splits_uses_usage(tmp_path):
    images, labels, usage = make_images(42, seed=7)
    sp = load_splits(write_kaggle_csv(tmp_path / "k.csv", images, labels, usage), cache=False)
    for name, u in (("train", "Training"), ("val", "PublicTest"), ("test", "PrivateTest")):
        np.testing.assert_array_equal(sp[name].images, images[usage == u])
        np.testing.assert_array_equal(sp[name].labels, labels[usage == u])


# --------------------------------------------------------------------------- image folders
def test_image_folder_png_and_prefixes(tmp_path):
    images, labels, usage = make_images(42, seed=8)
    root = write_image_folder(tmp_path / "imgs", images, labels, usage)
    ds = load(root, cache=False)
    order = folder_row_order(ds)
    assert sorted(order) == list(range(42))
    np.testing.assert_array_equal(ds.images, images[order])
    np.testing.assert_array_equal(ds.labels, labels[order])
    np.testing.assert_array_equal(ds.usage, usage[order])  # from the prefix, not the folder
    assert all(str(i).split("/")[0] in ("train", "test") for i in ds.ids)
    sp = load_splits(root, cache=False)
    assert len(sp["train"]) == 14 and len(sp["val"]) == 14 and len(sp["test"]) == 14
    assert set(sp["test"].usage) == {"PrivateTest"}


def test_image_folder_jpg_close(tmp_path):
    images, labels, usage = make_images(7, seed=9)
    smooth = np.broadcast_to(np.linspace(0, 255, 48, dtype=np.uint8), (7, 48, 48)).copy()
    root = write_image_folder(tmp_path / "j", smooth, labels, usage, ext=".jpg")
    ds = load(root, cache=False)
    order = folder_row_order(ds)
    assert np.abs(ds.images.astype(int) - smooth[order].astype(int)).max() <= 8


def test_image_folder_without_split_prefix_uses_top_folder(tmp_path):
    img = np.full((48, 48), 77, np.uint8)
    for part in ("train", "test"):
        d = tmp_path / part / "happy"
        d.mkdir(parents=True)
        Image.fromarray(img).save(d / "face.png")
    ds = load(tmp_path, cache=False)
    assert sorted(ds.usage) == ["PublicTest", "Training"]
    assert (ds.labels == 3).all()


def test_image_folder_flat_class_folders(tmp_path):
    images, labels, _ = make_images(14, seed=10)
    for i, (img, lab) in enumerate(zip(images, labels)):
        d = tmp_path / FOLDER_NAMES[lab]
        d.mkdir(exist_ok=True)
        Image.fromarray(img).save(d / f"img_{i:05d}.png")
    ds = load(tmp_path, cache=False)
    order = folder_row_order(ds)
    np.testing.assert_array_equal(ds.images, images[order])
    np.testing.assert_array_equal(ds.labels, labels[order])
    assert set(ds.usage) == {""}
    sp = load_splits(tmp_path, val_fraction=0.5, cache=False)
    assert len(sp["val"]) == 7


def test_image_folder_ignores_hidden_and_non_images(tmp_path):
    images, labels, usage = make_images(7, seed=11)
    root = write_image_folder(tmp_path, images, labels, usage[:1].repeat(7))
    (root / "train" / ".ipynb_checkpoints").mkdir()
    (root / "train" / "happy" / "notes.txt").write_text("hello")
    (root / "train" / "README.md").write_text("readme")
    assert len(load(root, cache=False)) == 7


def test_rgb_images_converted(tmp_path):
    grey = np.random.default_rng(0).integers(0, 256, (48, 48), dtype=np.uint8)
    d = tmp_path / "train" / "sad"
    d.mkdir(parents=True)
    Image.fromarray(np.stack([grey] * 3, -1), "RGB").save(d / "Training_1.png")
    colour = np.random.default_rng(1).integers(0, 256, (48, 48, 3), dtype=np.uint8)
    Image.fromarray(colour, "RGB").save(d / "Training_2.png")
    Image.fromarray(grey, "L").convert("RGBA").save(d / "Training_3.png")
    ds = load(tmp_path, cache=False)
    assert ds.images.shape == (3, 48, 48) and ds.images.dtype == np.uint8
    np.testing.assert_array_equal(ds.images[0], grey)  # grey stored as RGB: unchanged
    np.testing.assert_array_equal(ds.images[2], grey)
    expected = np.asarray(Image.fromarray(colour, "RGB").convert("L"))
    np.testing.assert_array_equal(ds.images[1], expected)


def test_resize(tmp_path):
    d = tmp_path / "train" / "fear"
    d.mkdir(parents=True)
    big = np.random.default_rng(2).integers(0, 256, (64, 64), dtype=np.uint8)
    Image.fromarray(big).save(d / "Training_1.png")
    with pytest.raises(FerInputError, match="64x64"):
        load(tmp_path)
    ds = load(tmp_path, resize=True)
    assert ds.images.shape == (1, 48, 48)
    expected = np.asarray(Image.fromarray(big).resize((48, 48), Image.BILINEAR))
    np.testing.assert_array_equal(ds.images[0], expected)
    # the resized cache must not answer a load without resize
    with pytest.raises(FerInputError, match="64x64"):
        load(tmp_path)
    assert data.read_image(d / "Training_1.png", resize=True).shape == (48, 48)


@pytest.mark.slow
def test_real_image_folder(fer_folder):
    t = time.perf_counter()
    ds = load(fer_folder)
    cold = time.perf_counter() - t
    assert ds.images.shape == (28709 + 3589, 48, 48)
    assert (ds.usage == "Training").sum() == 28709
    assert (ds.usage == "PublicTest").sum() == 3589
    train = ds.subset(ds.usage == "Training")
    counts = train.class_counts()
    assert {n: int(counts[FOLDER_NAMES.index(n)]) for n in REAL_TRAIN_COUNTS} == REAL_TRAIN_COUNTS
    # every image is in the folder its id names and its usage is its file-name prefix
    for i in range(0, len(ds), 997):
        part, cls, name = str(ds.ids[i]).split("/")
        assert FOLDER_NAMES[ds.labels[i]] == cls and name.startswith(ds.usage[i] + "_")
        assert (part == "train") == (ds.usage[i] == "Training")
    t = time.perf_counter()
    sp = load_splits(fer_folder)
    warm = time.perf_counter() - t
    assert warm < max(2.0, cold / 4), (cold, warm)
    assert len(sp["train"]) == 28709 and len(sp["val"]) == 3589 and len(sp["test"]) == 0
    assert set(sp["train"].usage) == {"Training"} and set(sp["val"].usage) == {"PublicTest"}
    np.testing.assert_array_equal(sp["train"].images, train.images)
    img = np.asarray(Image.open(fer_folder / str(ds.ids[5]).split("/", 1)[0] /
                                str(ds.ids[5]).split("/", 1)[1]).convert("L"))
    np.testing.assert_array_equal(ds.images[5], img)


# --------------------------------------------------------------------------- same pixels, 3 formats
def test_three_formats_same_pixels(tmp_path):
    images, labels, usage = make_images(35, seed=12)
    kaggle = load(write_kaggle_csv(tmp_path / "fer2013.csv", images, labels, usage), cache=False)
    course = load(write_course_csvs(tmp_path / "course", images, labels, images[:3]) / "train.csv",
                  cache=False)
    folder = load(write_image_folder(tmp_path / "imgs", images, labels, usage), cache=False)
    order = folder_row_order(folder)
    np.testing.assert_array_equal(kaggle.images, images)
    np.testing.assert_array_equal(course.images, images)
    np.testing.assert_array_equal(folder.images, kaggle.images[order])
    np.testing.assert_array_equal(kaggle.labels, course.labels)
    np.testing.assert_array_equal(folder.labels, kaggle.labels[order])
    np.testing.assert_array_equal(folder.usage, kaggle.usage[order])


# --------------------------------------------------------------------------- cache
def _cache_files():
    return sorted(data.cache_dir().glob("*.npz"))


def test_cache_served_and_equal(tmp_path, monkeypatch):
    monkeypatch.setenv("FER_KERAS_CACHE", str(tmp_path / "cache"))
    images, labels, usage = make_images(14, seed=13)
    path = write_kaggle_csv(tmp_path / "k.csv", images, labels, usage)
    first = load(path)
    assert len(_cache_files()) == 1
    calls = []
    monkeypatch.setattr(data, "load_csv", lambda p: calls.append(p) or pytest.fail("not cached"))
    second = load(path)
    assert calls == []
    for a, b in ((first.images, second.images), (first.labels, second.labels),
                 (first.ids, second.ids), (first.usage, second.usage)):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype
    assert second.source == str(path)


def test_cache_unlabeled_roundtrip(tmp_path, monkeypatch):
    monkeypatch.setenv("FER_KERAS_CACHE", str(tmp_path / "cache"))
    folder = write_course_csvs(tmp_path, *make_images(7)[:2], make_images(4)[0])
    a, b = load(folder / "test.csv"), load(folder / "test.csv")
    assert a.labels is None and b.labels is None
    np.testing.assert_array_equal(a.ids, b.ids)


def test_cache_rebuilt_when_source_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("FER_KERAS_CACHE", str(tmp_path / "cache"))
    images, labels, usage = make_images(14, seed=14)
    path = write_kaggle_csv(tmp_path / "k.csv", images, labels, usage)
    np.testing.assert_array_equal(load(path).images, images)
    st = path.stat()
    # same size (pixel 0 -> 1), rewritten in place (same inode), mtime restored: still rebuilt
    images2 = images.copy()
    images2[3, 0, 0] = 1
    raw = write_kaggle_csv(tmp_path / "k2.csv", images2, labels, usage).read_bytes()
    assert len(raw) == st.st_size
    with open(path, "r+b") as f:
        f.write(raw)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_mtime_ns == st.st_mtime_ns
    np.testing.assert_array_equal(load(path).images, images2)
    # a plain rewrite with other rows
    write_kaggle_csv(path, images[:5], labels[:5], usage[:5])
    np.testing.assert_array_equal(load(path).images, images[:5])


def test_cache_rebuilt_when_folder_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("FER_KERAS_CACHE", str(tmp_path / "cache"))
    images, labels, usage = make_images(14, seed=15)
    root = write_image_folder(tmp_path / "imgs", images, labels, usage)
    assert len(load(root)) == 14
    f = next((root / "train" / "angry").iterdir())
    new = np.full((48, 48), 200, np.uint8)
    Image.fromarray(new).save(f)
    ds = load(root)
    np.testing.assert_array_equal(ds.images[list(ds.ids).index(f"train/angry/{f.name}")], new)
    f.unlink()
    assert len(load(root)) == 13
    Image.fromarray(new).save(root / "test" / "happy" / "PrivateTest_99999.png")
    assert len(load(root)) == 14


@pytest.mark.parametrize("damage", ["garbage", "truncate", "empty", "wrong_key"])
def test_corrupt_cache_rebuilt(tmp_path, monkeypatch, damage):
    monkeypatch.setenv("FER_KERAS_CACHE", str(tmp_path / "cache"))
    images, labels, usage = make_images(14, seed=16)
    path = write_kaggle_csv(tmp_path / "k.csv", images, labels, usage)
    load(path)
    (cache,) = _cache_files()
    raw = cache.read_bytes()
    if damage == "garbage":
        cache.write_bytes(b"not a zip file at all" * 10)
    elif damage == "truncate":
        cache.write_bytes(raw[: len(raw) // 2])
    elif damage == "empty":
        cache.write_bytes(b"")
    else:  # a valid npz whose key names another source: must not be trusted
        np.savez(cache, key=np.array("something else"), images=images[:1],
                 labels=labels[:1], has_labels=np.array(True), ids=np.array(["x"]),
                 usage=np.array(["Training"]))
    ds = load(path)
    np.testing.assert_array_equal(ds.images, images)
    np.testing.assert_array_equal(ds.labels, labels)
    # and the cache was rewritten good
    with np.load(cache) as z:
        np.testing.assert_array_equal(z["images"], images)


def test_unwritable_cache_does_not_stop_a_load(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("FER_KERAS_CACHE", str(blocker / "sub"))
    images, labels, usage = make_images(7)
    ds = load(write_kaggle_csv(tmp_path / "k.csv", images, labels, usage))
    np.testing.assert_array_equal(ds.images, images)


def test_cache_disabled_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("FER_KERAS_CACHE", str(tmp_path / "cache"))
    load(write_kaggle_csv(tmp_path / "k.csv", *make_images(7)), cache=False)
    assert not (tmp_path / "cache").exists() or _cache_files() == []


# --------------------------------------------------------------------------- splits, model input
def test_stratified_split_deterministic_and_proportional():
    rng = np.random.default_rng(0)
    labels = rng.choice(7, 5000, p=[.12, .02, .14, .25, .17, .11, .19])
    a = data.stratified_split(labels, 0.2, seed=3)
    b = data.stratified_split(labels, 0.2, seed=3)
    c = data.stratified_split(labels, 0.2, seed=4)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])
    tr, va = a
    assert len(np.intersect1d(tr, va)) == 0 and len(tr) + len(va) == 5000
    assert (np.diff(va) > 0).all() and (np.diff(tr) > 0).all()
    total = np.bincount(labels, minlength=7)
    got = np.bincount(labels[va], minlength=7)
    np.testing.assert_array_equal(got, np.round(total * 0.2).astype(int))


def test_stratified_split_tiny_classes():
    labels = np.array([0, 0, 1, 2, 2, 2])
    tr, va = data.stratified_split(labels, 0.1, seed=0)
    # every class with >= 2 rows has one in each side; a single-row class stays in train
    assert set(labels[va]) == {0, 2} and set(labels[tr]) == {0, 1, 2}
    with pytest.raises(FerInputError):
        data.stratified_split(labels, 1.5)


def test_load_splits_deterministic(tmp_path):
    images, labels, _ = make_images(140, seed=17)
    folder = write_course_csvs(tmp_path, images, labels, images[:2])
    a = load_splits(folder / "train.csv", val_fraction=0.1, seed=5)
    b = load_splits(folder / "train.csv", val_fraction=0.1, seed=5)
    np.testing.assert_array_equal(a["val"].ids, b["val"].ids)
    np.testing.assert_array_equal(np.bincount(a["val"].labels, minlength=7), [2] * 7)


def test_dataset_x():
    images, labels, usage = make_images(10)
    ds = Dataset(images, labels, np.arange(10).astype(str), usage)
    x = ds.x()
    assert x.dtype == np.float32 and x.shape == (10, 48, 48, 1)
    assert x.min() == 0.0 and x.max() == 1.0
    np.testing.assert_allclose(x[..., 0] * 255, images, atol=1e-4)
    sub = ds.subset(labels == 3)
    assert len(sub) == 1 and (sub.labels == 3).all()
    np.testing.assert_array_equal(ds.class_counts(), np.bincount(labels, minlength=7))


def test_synthetic_through_load():
    ds = load("synthetic", n_synthetic=70, seed=0)
    assert ds.images.shape == (70, 48, 48) and ds.images.dtype == np.uint8
    assert ds.labels.min() >= 0 and ds.labels.max() <= 6


# --------------------------------------------------------------------------- parse_pixels
def test_parse_pixels_whitespace_and_extremes():
    img = np.arange(2304).reshape(48, 48) % 256
    s = pixel_string(img)
    variants = [s, "  " + s + "  ", s.replace(" ", "\t"), s.replace(" ", "   "), s + "\r"]
    out = parse_pixels(variants)
    assert out.shape == (5, 48, 48) and out.dtype == np.uint8
    for o in out:
        np.testing.assert_array_equal(o, img)
    leading_zeros = " ".join(f"{v:03d}" for v in img.ravel())
    np.testing.assert_array_equal(parse_pixels([leading_zeros])[0], img)


def test_load_csv_direct(tmp_path):
    images, labels, usage = make_images(7)
    ds = load_csv(write_kaggle_csv(tmp_path / "k.csv", images, labels, usage))
    np.testing.assert_array_equal(ds.images, images)


def test_parse_pixels_fast_path_agrees_with_exact_path():
    rng = np.random.default_rng(21)
    imgs = rng.integers(0, 256, (30, 48, 48), dtype=np.uint8)
    imgs[:, 0, :3] = [0, 255, 9]
    strings = [pixel_string(im) for im in imgs]
    strings[4] = " ".join(f"{v:03d}" if i % 5 == 0 else str(v)  # zero-padded values
                          for i, v in enumerate(imgs[4].ravel().tolist()))
    buf = np.frombuffer(("\n".join(strings) + "\n").encode(), np.uint8)
    fast = data._parse_regular(buf, len(strings))
    assert fast is not None  # the regular layout takes the fast path
    np.testing.assert_array_equal(fast, imgs)
    # one irregular row (a tab) sends the whole batch through the exact parser: same pixels
    exact = parse_pixels(strings + [pixel_string(imgs[0]).replace(" ", "\t", 7)])
    np.testing.assert_array_equal(exact[:-1], imgs)
    np.testing.assert_array_equal(parse_pixels(strings), imgs)


@pytest.mark.parametrize("bad,problem", [
    ("256", "out of range"), ("-3", "negative"), ("1.5", "non-numeric"), ("x7", "non-numeric"),
    ("", "found 2303"), ("1 2", "found 2305"), ("0256", "out of range"), ("+5", "non-numeric")])
def test_parse_pixels_rejects_in_the_regular_layout(bad, problem):
    """A bad value inside otherwise regular rows: never slips through the fast path."""
    img = np.arange(2304) % 256
    strings = [pixel_string(img)] * 5
    vals = img.astype(str).tolist()
    vals[100] = bad
    strings[3] = " ".join(v for v in vals if v != "") if bad else " ".join(vals[:100] + vals[101:])
    assert data._parse_regular(np.frombuffer(("\n".join(strings) + "\n").encode(), np.uint8),
                               5) is None
    with pytest.raises(FerInputError, match=problem) as e:
        parse_pixels(strings, "f.csv", np.arange(5) + 2)
    assert e.value.row == 5


def test_parse_pixels_across_chunks(monkeypatch):
    """Chunk boundaries change nothing; an irregular or bad row in a later chunk is found with
    its own line."""
    monkeypatch.setattr(data, "_CHUNK_ROWS", 7)
    rng = np.random.default_rng(22)
    imgs = rng.integers(0, 256, (30, 48, 48), dtype=np.uint8)
    strings = np.array([pixel_string(im) for im in imgs], dtype=object)
    np.testing.assert_array_equal(parse_pixels(strings), imgs)
    irregular = strings.copy()
    irregular[17] = "  " + irregular[17].replace(" ", "\t", 30)
    np.testing.assert_array_equal(parse_pixels(irregular), imgs)
    bad = strings.copy()
    bad[23] = bad[23] + " 1"
    with pytest.raises(FerInputError, match="found 2305") as e:
        parse_pixels(bad, "f.csv", np.arange(30) + 2)
    assert e.value.row == 25
    assert parse_pixels(strings[:0]).shape == (0, 48, 48)


def _usage_csv(path, usages, seed=0):
    rng = np.random.default_rng(seed)
    rows = ["emotion,pixels,Usage"]
    for i, u in enumerate(usages):
        px = " ".join(map(str, rng.integers(0, 256, 48 * 48)))
        rows.append(f"{i % 7},{px},{u}")
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.mark.core
def test_private_test_rows_never_reach_train_or_val(tmp_path):
    """Issue 17 class 7: Training + PrivateTest and no PublicTest: PrivateTest goes to test,
    the Training rows alone are split into train and val."""
    from fer_keras.data import load_splits

    usages = ["Training"] * 28 + ["PrivateTest"] * 14
    sp = load_splits(_usage_csv(tmp_path / "tp.csv", usages), val_fraction=0.25, seed=1)
    assert len(sp["test"]) == 14 and set(sp["test"].usage) == {"PrivateTest"}
    assert len(sp["train"]) + len(sp["val"]) == 28
    for k in ("train", "val"):
        assert set(sp[k].usage) == {"Training"}, k
    assert len(sp["val"]) == 7  # 25% of the 4 rows of each class


@pytest.mark.core
def test_evaluate_rebuilds_the_runs_own_split(tmp_path):
    """The split a run was validated on comes from its config.json (seed, val fraction), so
    evaluate and summary never score a run on its own training rows."""
    from fer_keras.config import TrainConfig
    from fer_keras.data import load_splits
    from fer_keras.train.evaluate import run_splits

    data = _usage_csv(tmp_path / "train_only.csv", ["Training"] * 42)
    run = tmp_path / "run"
    run.mkdir()
    TrainConfig(data=str(data), seed=7, val_fraction=0.3).save(run / "config.json")
    got = run_splits(run)
    want = load_splits(data, seed=7, val_fraction=0.3)
    default = load_splits(data)
    np.testing.assert_array_equal(got["val"].ids, want["val"].ids)
    assert set(got["val"].ids) != set(default["val"].ids)
    assert not set(got["val"].ids) & set(got["train"].ids)


@pytest.mark.parametrize("size", [200_000_000, 2_000_000_000])
def test_sparse_csv_of_nuls_refused_with_bounded_memory(size, tmp_path):
    """One header line, then NUL bytes (a sparse file: no disk used): refused at line 2 as the
    bytes stream in, in a child whose peak memory stays far below the file's size."""
    import json
    import subprocess
    import sys

    path = tmp_path / "sparse.csv"
    with open(path, "wb") as f:
        f.write(b"emotion,pixels,Usage\n")
        f.truncate(size)
    child = (
        "import json, resource, sys\n"
        "from fer_keras.data.loading import load\n"
        "from fer_keras.errors import FerInputError\n"
        "try:\n"
        "    load(sys.argv[1], cache=False)\n"
        "    msg = None\n"
        "except FerInputError as e:\n"
        "    msg = str(e)\n"
        # the child's own high-water mark: ru_maxrss survives exec, so it would report the
        # pytest worker's memory at the fork
        "try:\n"
        "    peak = int(next(ln.split()[1] for ln in open('/proc/self/status')"
        " if ln.startswith('VmHWM')))\n"
        "except OSError:\n"
        "    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(json.dumps({'msg': msg, 'peak_kb': peak}))\n")
    r = subprocess.run([sys.executable, "-c", child, str(path)], capture_output=True, text=True,
                       timeout=300, env={**os.environ, "KERAS_BACKEND": "numpy"})
    assert r.returncode == 0, r.stderr[-2000:]
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert got["msg"] == (f"{path}: line 2: a NUL byte (0x00): not a text CSV (a binary, sparse "
                          "or half-written file?)")
    assert got["peak_kb"] < 1_000_000, got  # under 1 GB (it was 4.5 GB for 2 GB of NULs)
