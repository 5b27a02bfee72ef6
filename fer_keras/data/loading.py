"""Loading FER2013: one entry point for the three on-disk formats and the synthetic faces.

Formats (see REPORTS.md):

* Kaggle ``fer2013.csv`` (also ``.csv.gz``): columns ``emotion,pixels,Usage``.
* Course CSVs: ``train.csv`` with ``label,feature`` and ``test.csv`` with ``id,feature``.
* Image folders ``<root>/{train,test}/<class>/*.jpg|png``; file-name prefixes ``Training_``,
  ``PublicTest_``, ``PrivateTest_`` give the original split.

:func:`load` picks the loader from the path (the CSV parser :func:`load_csv`, the folder
loader :func:`load_image_folder`) and returns a :class:`~fer_keras.data.dataset.Dataset`
whatever the format: uint8 images ``(N, 48, 48)``, int64 labels ``(N,)`` in 0..6 (or ``None``
for an unlabeled test file), ids ``(N,)`` and the split name of each row. Parsed files are
cached as ``.npz`` keyed by the source's path, size and modification time, so a second load is a
memory copy; :func:`load_splits` turns a data set into train, validation and test.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from fer_keras import CLASS_NAMES, NUM_CLASSES
from fer_keras.data.csvread import CheckedReader, check_header, clip
from fer_keras.data.dataset import Dataset
from fer_keras.errors import FerInputError

IMAGE_SIZE = 48
NUM_PIXELS = IMAGE_SIZE * IMAGE_SIZE
FOLDER_NAMES = tuple(c.lower() for c in CLASS_NAMES)
SPLIT_PREFIXES = ("Training", "PublicTest", "PrivateTest")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
_CACHE_VERSION = "1"
_CHUNK_ROWS = 256  # rows per fast-path chunk of parse_pixels (~2 MB of text)


# --------------------------------------------------------------------------- entry points
def load(path, *, resize=False, cache=True, n_synthetic=3000, seed=0) -> Dataset:
    """Load FER2013 (or the synthetic faces) from ``path``, whatever its format.

    ``path`` is ``"synthetic"`` (the built-in faces, ``n_synthetic`` of them, seeded), a Kaggle or
    course CSV file (``.csv`` or ``.csv.gz``), a folder holding ``fer2013.csv`` or ``train.csv``,
    or an image-folder root with ``train/`` and/or ``test/``. ``resize=True`` resizes images that
    are not 48x48 instead of rejecting them. Raises :class:`FerInputError` with the file, the line
    and the problem for malformed input.
    """
    if str(path) == "synthetic":
        from fer_keras.data.synthetic import synthetic_dataset

        return synthetic_dataset(n_synthetic, seed=seed)
    p = Path(path)
    if not p.exists():
        if p.is_symlink():
            loop = _is_loop(p)
            raise FerInputError("a loop of symbolic links: it leads back to itself" if loop else
                                "a symbolic link whose target is missing", file=p)
        raise FerInputError("no such file or folder", file=p)
    if p.is_dir():
        for name in ("fer2013.csv", "fer2013.csv.gz"):
            if (p / name).is_file():
                return load(p / name, resize=resize, cache=cache)
        if (p / "train.csv").is_file():
            return load(p / "train.csv", resize=resize, cache=cache)
        key = _folder_key(p) + ("|resize" if resize else "")
        return _cached(p, key, lambda: load_image_folder(p, resize=resize), cache)
    import stat

    if not stat.S_ISREG(p.stat().st_mode):
        raise FerInputError("not a regular file or folder (a FIFO, device or socket)", file=p)
    if not os.access(p, os.R_OK):
        raise FerInputError("file is not readable (permission denied)", file=p)
    name = p.name.lower()
    if name.endswith((".csv", ".csv.gz", ".gz")):
        return _cached(p, _file_key(p), lambda: load_csv(p), cache)
    if name.endswith(IMAGE_SUFFIXES):
        raise FerInputError("a single image is not a data set; give the folder that holds "
                            "train/ and test/", file=p)
    raise FerInputError("unknown data format: expected a .csv, .csv.gz or an image folder", file=p)


def load_splits(path, *, val_fraction=0.1, seed=0, **load_kw):
    """``{"train", "val", "test"}`` :class:`Dataset` s for training and model selection.

    With the original Usage split: train = Training, val = PublicTest, test = PrivateTest (which
    may be empty; never tune on it). Without Training and PublicTest both: a stratified
    ``val_fraction`` of the labeled rows that are not PrivateTest, seeded, becomes val;
    PrivateTest rows always go to test, never to train or val (else test is empty, or the
    course's unlabeled test file beside it). Too few rows for a split is a one-line error.
    """
    ds = load(path, seed=seed, **load_kw)
    if ds.labels is None:
        raise FerInputError("this file has no labels, so it cannot be trained on", file=ds.source)
    private = ds.usage == "PrivateTest"
    if np.any(ds.usage == "Training") and np.any(ds.usage == "PublicTest"):
        return {"train": ds.subset(ds.usage == "Training"),
                "val": ds.subset(ds.usage == "PublicTest"),
                "test": ds.subset(private)}
    pool = np.flatnonzero(~private)
    train_idx, val_idx = stratified_split(ds.labels[pool], val_fraction, seed)
    if len(train_idx) == 0 or len(val_idx) == 0:
        raise FerInputError(f"too few labeled rows ({len(pool)}, at most 1 per class) to split "
                            f"off a validation set (val fraction {val_fraction:g}); at least 2 "
                            "rows of one class are needed", file=ds.source)
    out = {"train": ds.subset(pool[train_idx]), "val": ds.subset(pool[val_idx])}
    test = ds.subset(private)
    src = Path(ds.source)
    if not private.any() and src.name == "train.csv" and (src.parent / "test.csv").is_file():
        test = load(src.parent / "test.csv", **load_kw)
    out["test"] = test
    return out


def _is_loop(path):
    import errno

    try:
        os.stat(path)
    except OSError as e:
        return e.errno == errno.ELOOP
    return False


def stratified_split(labels, val_fraction=0.1, seed=0):
    """Index arrays ``(train_idx, val_idx)``: ``val_fraction`` of each class, seeded, sorted."""
    if not 0.0 < val_fraction < 1.0:
        raise FerInputError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    rng = np.random.default_rng(seed)
    val = []
    for c in range(NUM_CLASSES):
        idx = np.flatnonzero(labels == c)
        rng.shuffle(idx)
        k = int(round(len(idx) * val_fraction))
        if len(idx) > 1:
            k = min(max(k, 1), len(idx) - 1)
        val.append(idx[:k])
    val_idx = np.sort(np.concatenate(val))
    train_idx = np.setdiff1d(np.arange(len(labels)), val_idx)
    return train_idx, val_idx


# --------------------------------------------------------------------------- CSV formats
def load_csv(path) -> Dataset:
    """Parse a Kaggle ``emotion,pixels,Usage`` or course ``label,feature`` / ``id,feature`` CSV."""
    import pandas as pd

    path = Path(path)
    size = path.stat().st_size
    if size > MAX_CSV_BYTES:
        raise FerInputError(f"file is {size:,} bytes, over the {MAX_CSV_BYTES:,}-byte limit for "
                            "a CSV", file=path)
    source = CheckedReader(path, MAX_CSV_BYTES)  # NULs, endless lines: refused as read
    try:
        # header=None: the header is read as row 0, so a data row with more fields than the
        # header is an error naming its line (with a header, pandas would silently turn the
        # first column into an index when the first data row has one field too many).
        df = pd.read_csv(source, dtype=str, keep_default_na=False, encoding="utf-8-sig",
                         compression=None, skip_blank_lines=False, header=None,
                         index_col=False)
    except pd.errors.EmptyDataError:
        raise FerInputError("file is empty", file=path) from None
    except (EOFError, OSError) as e:  # truncated / corrupt gzip
        raise FerInputError(f"cannot read the file ({_short(e)}); is it a truncated download?",
                            file=path) from None
    except UnicodeDecodeError:
        raise FerInputError("not a text CSV file (cannot decode as UTF-8)", file=path) from None
    except pd.errors.ParserError as e:
        import re

        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(e))
        if m:
            raise FerInputError(f"expected {m[1]} comma-separated fields (as in the header), "
                                f"found {m[3]}", file=path, row=int(m[2])) from None
        raise FerInputError(f"malformed CSV: {_short(e)}", file=path) from None
    finally:
        source.close()
    if len(df) == 0:
        raise FerInputError("file is empty", file=path)
    df.columns = [str(c).strip() for c in df.iloc[0]]
    check_header(list(df.columns), path)
    df = df.iloc[1:].reset_index(drop=True)
    cols = set(df.columns)
    lines = np.arange(len(df)) + 2  # 1-based editor lines; the header is line 1
    keep = (df != "").any(axis=1).to_numpy() if len(df) else np.zeros(0, bool)
    df, lines = df[keep], lines[keep]
    if {"emotion", "pixels"} <= cols:
        label_col, pix_col, id_col, usage_col = "emotion", "pixels", None, "Usage"
    elif {"label", "feature"} <= cols:
        label_col, pix_col, id_col, usage_col = "label", "feature", "id" if "id" in cols else None, None
    elif {"id", "feature"} <= cols:
        label_col, pix_col, id_col, usage_col = None, "feature", "id", None
    else:
        raise FerInputError(
            "missing or misnamed columns: expected 'emotion,pixels,Usage' (Kaggle) or "
            f"'label,feature' / 'id,feature' (course); found {clip(','.join(df.columns))}",
            file=path, row=1)
    if len(df) == 0:
        raise FerInputError("no data rows (header only)", file=path)
    images = parse_pixels(df[pix_col].to_numpy(), path, lines)
    labels = None
    if label_col is not None:
        labels = _parse_labels(df[label_col].to_numpy(), path, lines, label_col)
    if id_col is not None:
        ids = _check_ids(df[id_col].to_numpy().astype(str), path, lines, id_col)
    else:
        ids = (lines - 1).astype(str)  # data row number
    if usage_col in cols:
        usage = df[usage_col].to_numpy().astype(str)
        bad = ~np.isin(usage, SPLIT_PREFIXES)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise FerInputError(f"unknown Usage {str(usage[i])!r} (expected one of "
                                f"{', '.join(SPLIT_PREFIXES)})", file=path, row=int(lines[i]))
    else:
        usage = np.full(len(df), "", dtype="<U11")
    return Dataset(images, labels, ids, usage, str(path))


#: The most text a CSV may hold (FER2013's full CSV is 287 MB), plain or after decompression:
#: a gzip bomb stops there instead of filling the memory.
MAX_CSV_BYTES = 2 * 2**30


def parse_pixels(strings, path="<pixels>", lines=None):
    """Space-separated pixel strings -> uint8 ``(N, 48, 48)``, vectorised (no per-row loop:
    numpy works on chunks of 256 rows at a time).

    Each string must hold exactly 2,304 integers in 0..255. ``lines`` gives each string's 1-based
    line in ``path`` for the error message.
    """
    n = len(strings)
    if lines is None:
        lines = np.arange(n) + 1
    out = np.empty((n, IMAGE_SIZE, IMAGE_SIZE), np.uint8)
    # Fast path, in chunks of rows (a few MB: the temporaries stay in the CPU caches, which
    # makes it several times faster than one pass over a 300 MB buffer).
    for r0 in range(0, n, _CHUNK_ROWS):
        part = strings[r0:r0 + _CHUNK_ROWS]
        try:
            raw = ("\n".join(part) + "\n").encode("ascii")
        except UnicodeEncodeError:
            break
        got = _parse_regular(np.frombuffer(raw, np.uint8), len(part))
        if got is None:
            break
        out[r0:r0 + len(part)] = got
    else:
        return out
    text = "\n".join(strings) + "\n"
    try:
        buf = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    except UnicodeEncodeError as e:
        row = text.count("\n", 0, e.start)
        raise FerInputError(f"non-numeric pixel value {text[e.start]!r} (pixels must be integers "
                            "0..255)", file=path, row=int(lines[row])) from None
    # Irregular whitespace (tabs, runs of spaces, CR) or a bad value: the exact parser below,
    # which also finds the first problem and its line.
    newline = buf == 10
    digit = (buf >= 48) & (buf <= 57)
    bad = ~(digit | newline | (buf == 32) | (buf == 9) | (buf == 13))
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        row = int(np.count_nonzero(newline[:pos]))
        start = text.rfind("\n", 0, pos) + 1
        tok = text[start:].split("\n", 1)[0]
        word = next((w for w in tok.split() if any(not ch.isdigit() for ch in w)), tok[:20])
        what = "negative" if word.startswith("-") and word[1:].isdigit() else "non-numeric"
        raise FerInputError(f"{what} pixel value {word!r} (pixels must be integers 0..255)",
                            file=path, row=int(lines[row]))
    prev = np.concatenate(([False], digit[:-1]))
    nxt = np.concatenate((digit[1:], [False]))
    starts = np.flatnonzero(digit & ~prev)
    ends = np.flatnonzero(digit & ~nxt)
    row_ends = np.flatnonzero(newline)
    counts = np.diff(np.concatenate(([0], np.searchsorted(starts, row_ends))))
    wrong = counts != NUM_PIXELS
    if wrong.any():
        i = int(np.flatnonzero(wrong)[0])
        raise FerInputError(f"expected {NUM_PIXELS} pixel values (48x48), found {counts[i]}",
                            file=path, row=int(lines[i]))
    length = ends - starts + 1
    d = buf.astype(np.int32) - 48
    val = d[ends].copy()
    two = length >= 2
    val[two] += 10 * d[ends[two] - 1]
    three = length >= 3
    val[three] += 100 * d[ends[three] - 2]
    over = (length > 3) | (val > 255)
    if over.any():
        k = int(np.flatnonzero(over)[0])
        row = k // NUM_PIXELS
        raise FerInputError(f"pixel value {text[starts[k]:ends[k] + 1]} out of range 0..255",
                            file=path, row=int(lines[row]))
    return val.astype(np.uint8).reshape(n, IMAGE_SIZE, IMAGE_SIZE)


def _parse_regular(buf, n):
    """Fast path of :func:`parse_pixels` for the usual layout: one space between values, one
    newline after each row. ``buf``: the rows' ASCII bytes, each row ended by a newline.

    One pass finds the separators (bytes below ``'0'``); everything else works on the 83 M
    values of a full FER2013 file, not on its 300 M bytes: each value's 1..3 digits are
    gathered just before its separator and checked to be digits there. Returns ``None``
    (use the exact parser) for any other layout or any bad value.
    """
    sep = np.flatnonzero(buf < 48)
    if len(sep) != n * NUM_PIXELS or n == 0:
        return None
    sep = sep.astype(np.int32) if len(buf) < 2**31 else sep
    kind = buf[sep]
    # exactly n newlines, each the 2304th separator of its row, all the others spaces:
    # then every row holds exactly 2304 values (none empty: checked by the lengths below)
    if not (kind[NUM_PIXELS - 1::NUM_PIXELS] == 10).all():
        return None
    if np.count_nonzero(kind == 32) != len(kind) - n:
        return None
    length = np.diff(sep, prepend=sep.dtype.type(-1))
    length -= 1
    if length.min() < 1 or length.max() > 3:
        return None
    idx = sep - 1
    val = buf[idx].astype(np.uint16)
    val -= 48
    bad = val > 9
    for weight, min_len in ((10, 2), (100, 3)):
        idx -= 1
        digit = buf[idx].astype(np.uint16)
        digit -= 48
        has = length >= min_len
        bad |= (digit > 9) & has
        digit *= has
        digit *= weight
        val += digit
    if bad.any() or val.max() > 255:
        return None
    return val.astype(np.uint8).reshape(n, IMAGE_SIZE, IMAGE_SIZE)


def _parse_labels(col, path, lines, name):
    import pandas as pd

    num = pd.to_numeric(pd.Series(col), errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(num) | (num != np.round(num)) | (num < 0) | (num >= NUM_CLASSES)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise FerInputError(f"{name} {col[i]!r} is not a class: expected an integer 0..6",
                            file=path, row=int(lines[i]))
    return num.astype(np.int64)


def _check_ids(ids, path, lines, name):
    """Row ids of a submission source must be non-empty and unique (a Kaggle submission keys on
    them); returns ``ids`` stripped of surrounding spaces."""
    ids = np.char.strip(ids)
    empty = ids == ""
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise FerInputError(f"empty {name}: every row needs one", file=path, row=int(lines[i]))
    _, first, counts = np.unique(ids, return_index=True, return_counts=True)
    if (counts > 1).any():
        dup = np.flatnonzero(~np.isin(np.arange(len(ids)), first))[0]
        j = int(np.flatnonzero(ids == ids[dup])[0])
        raise FerInputError(f"duplicate {name} {str(ids[dup])!r} (also on line {int(lines[j])})",
                            file=path, row=int(lines[dup]))
    return ids


def _short(e):
    return " ".join(str(e).split())[:160] or type(e).__name__


# --------------------------------------------------------------------------- image folders
def load_image_folder(root, *, resize=False) -> Dataset:
    """Load ``<root>/{train,test}/<class>/*.jpg|png`` (or ``<root>/<class>/...``).

    Class folder names are the lowercase class names. The split of each image is read from its
    file-name prefix (``Training_``, ``PublicTest_``, ``PrivateTest_``), else from its top folder
    (train -> Training, test -> PublicTest). RGB images are converted to grey; other sizes than
    48x48 are an error unless ``resize``.
    """
    root = Path(root)
    parts = [d for d in (root / "train", root / "test") if d.is_dir()] or [root]
    files, labels, default_usage = [], [], []
    for part in parts:
        subdirs = sorted(d for d in part.iterdir() if d.is_dir() and not d.name.startswith("."))
        if not subdirs:
            raise FerInputError("no class folders (expected angry, disgust, fear, happy, sad, "
                                "surprise, neutral)", file=part)
        for d in subdirs:
            if d.name.lower() not in FOLDER_NAMES:
                raise FerInputError(f"unknown class folder {d.name!r} (expected one of "
                                    f"{', '.join(FOLDER_NAMES)})", file=d)
            label = FOLDER_NAMES.index(d.name.lower())
            for f in sorted(d.iterdir()):
                # is_file: regular files (and links to them) only; FIFOs, sockets, devices,
                # folders and broken links are not images, and reading a FIFO would hang
                if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file():
                    files.append(f)
                    labels.append(label)
                    default_usage.append("PublicTest" if part.name == "test" else
                                         "Training" if part.name == "train" else "")
    if not files:
        raise FerInputError("no images found in the class folders", file=root)
    images = _decode_images(files, resize)
    usage = np.array([next((p for p in SPLIT_PREFIXES if f.name.startswith(p + "_")), u)
                      for f, u in zip(files, default_usage)], dtype="<U11")
    ids = np.array([f"{f.parent.parent.name}/{f.parent.name}/{f.name}" for f in files])
    return Dataset(images, np.array(labels, np.int64), ids, usage, str(root))


def _decode_images(files, resize):
    from concurrent.futures import ThreadPoolExecutor

    out = np.empty((len(files), IMAGE_SIZE, IMAGE_SIZE), np.uint8)

    def one(i):
        out[i] = read_image(files[i], resize=resize)

    with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 1) * 2)) as ex:
        list(ex.map(one, range(len(files)), chunksize=256))
    return out


#: Limits on one image file: what is read into memory is bounded before it is decoded.
MAX_IMAGE_BYTES = 32 * 2**20
MAX_IMAGE_PIXELS = 4096 * 4096
_SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N", "I")


def read_image(path, *, resize=False):
    """One image file -> uint8 ``(48, 48)``; RGB is converted to grey, 16-bit grey is scaled to
    8 bits (``round(v / 257)``: 65535 -> 255), never clipped.

    The file must be a regular file under :data:`MAX_IMAGE_BYTES` whose header declares at most
    :data:`MAX_IMAGE_PIXELS` pixels (checked before decoding); anything else is a one-line
    :class:`FerInputError` naming it.
    """
    import stat

    from PIL import Image, UnidentifiedImageError

    try:
        st = os.stat(path)
    except OSError as e:
        raise FerInputError(f"unreadable image ({e.strerror or e})", file=path) from None
    if not stat.S_ISREG(st.st_mode):
        raise FerInputError("not a regular file (a FIFO, device or socket)", file=path)
    if st.st_size > MAX_IMAGE_BYTES:
        raise FerInputError(f"image file is {st.st_size:,} bytes, over the {MAX_IMAGE_BYTES:,} "
                            "limit", file=path)
    try:
        with Image.open(path) as im:
            if im.size[0] * im.size[1] > MAX_IMAGE_PIXELS:
                raise FerInputError(f"image is {im.size[0]}x{im.size[1]}, over the "
                                    f"{MAX_IMAGE_PIXELS:,}-pixel limit", file=path)
            im.load()
            if im.mode in _SIXTEEN_BIT:
                a = np.asarray(im, dtype=np.int64)
                if a.size and (a.min() < 0 or a.max() > 65535):
                    raise FerInputError(f"{im.mode} image with values outside 0..65535", file=path)
                im = Image.fromarray(np.round(a / 257.0).astype(np.uint8), "L")
            elif im.mode not in ("L", "RGB", "RGBA", "P", "LA", "PA", "CMYK", "YCbCr", "1"):
                raise FerInputError(f"unsupported image mode {im.mode}", file=path)
            im = im.convert("L")
            if im.size != (IMAGE_SIZE, IMAGE_SIZE):
                if not resize:
                    raise FerInputError(f"image is {im.size[0]}x{im.size[1]}, expected 48x48 "
                                        "(pass --resize to resize)", file=path)
                im = im.resize((IMAGE_SIZE, IMAGE_SIZE), Image.BILINEAR)
            return np.asarray(im, dtype=np.uint8)
    except FerInputError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError,
            Image.DecompressionBombError) as e:
        raise FerInputError(f"unreadable image ({_short(e)})", file=path) from None


# --------------------------------------------------------------------------- cache
def cache_dir():
    """Folder for parsed-data caches: ``$FER_KERAS_CACHE`` or ``~/.cache/fer_keras``."""
    return Path(os.environ.get("FER_KERAS_CACHE", Path.home() / ".cache" / "fer_keras"))


def _file_key(p):
    # ctime and inode too: a rewrite that keeps the size and restores the mtime (cp -p, rsync -t,
    # os.utime) or lands within a coarse timestamp tick still changes the ctime or the inode.
    st = p.stat()
    return (f"{_CACHE_VERSION}|{p.resolve()}|{st.st_size}|{st.st_mtime_ns}|{st.st_ctime_ns}"
            f"|{st.st_ino}")


def _folder_key(root):
    h = hashlib.sha1(f"{_CACHE_VERSION}|{root.resolve()}".encode())
    for dirpath, dirnames, filenames in sorted(os.walk(root)):
        dirnames.sort()
        for f in sorted(filenames):
            try:
                st = os.stat(os.path.join(dirpath, f))
            except OSError:  # a broken link: not an image, but part of the listing
                st = os.lstat(os.path.join(dirpath, f))
            h.update(f"{dirpath}/{f}|{st.st_size}|{st.st_mtime_ns}|{st.st_ctime_ns}|{st.st_ino}\n"
                     .encode())
    return h.hexdigest()


def cache_path(source, key):
    digest = hashlib.sha1(key.encode()).hexdigest()[:16]
    return cache_dir() / f"{Path(source).name}-{digest}.npz"


def _cached(source, key, build, enabled=True):
    """Load from the ``.npz`` cache when its stored key matches the source; else build and store.

    The key holds the source's size and mtime (files) or a hash of the listing (folders), so a
    changed source is rebuilt, never silently reused.
    """
    if not enabled:
        return build()
    path = cache_path(source, key)
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                if str(z["key"]) == key:
                    labels = z["labels"] if z["has_labels"] else None
                    return Dataset(z["images"], labels, z["ids"], z["usage"], str(source))
        except Exception:  # a broken cache is rebuilt, never trusted
            pass
    ds = build()
    from fer_keras.fileio import save_npz

    try:
        save_npz(path, key=np.array(key), images=ds.images,
                 labels=ds.labels if ds.labels is not None else np.zeros(0, np.int64),
                 has_labels=np.array(ds.labels is not None), ids=ds.ids, usage=ds.usage)
        WRITTEN_CACHES.append(path)
    except OSError:
        pass  # a read-only cache folder must not stop a load
    return ds


#: Cache files written by this process, in order: a command that fails removes the ones it
#: wrote (:func:`drop_caches_since`), so a failed command leaves nothing behind.
WRITTEN_CACHES = []


def drop_caches_since(mark):
    """Delete the cache files written since ``len(WRITTEN_CACHES)`` was ``mark``."""
    while len(WRITTEN_CACHES) > mark:
        try:
            WRITTEN_CACHES.pop().unlink()
        except OSError:
            pass
