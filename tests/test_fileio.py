"""Atomic writes: a SIGKILL at any moment leaves the old or the new file, complete, never a mix.

A child process rewrites a big file in a loop with :mod:`fer_keras.fileio` and is killed at random
moments; the file must then hold one of the complete versions, and any temporary file left by
the kill must not be taken for the real one. Also: errors inside a write, unwritable places, and
the data cache under kills and source changes.
"""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from fer_keras import fileio as fio
from fer_keras.errors import FerInputError, FerOutputError

REPO = Path(__file__).resolve().parents[1]
SIZE = 12 * 2**20  # bytes per version: big enough that a write takes a while


def _versions():
    return {b"A": b"A" * SIZE, b"B": b"B" * (SIZE + 4096)}


def _child(code, *args):
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *map(str, args)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_ready(proc, timeout=60):
    line = proc.stdout.readline()
    assert line.strip() == b"ready", (line, proc.stderr.read() if proc.poll() is not None else "")


def _kill(proc):
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


WRITER = """
    import sys
    from fer_keras.fileio import write_bytes
    path, size = sys.argv[1], int(sys.argv[2])
    versions = [b"A" * size, b"B" * (size + 4096)]
    write_bytes(path, versions[0])
    print("ready", flush=True)
    i = 1
    while True:
        write_bytes(path, versions[i % 2])
        i += 1
"""


def _check_intact(path):
    data = path.read_bytes()
    assert data in _versions().values(), (len(data), data[:1], data[-1:])
    strays = [p.name for p in path.parent.iterdir() if p != path]
    # a kill can leave a temporary file, but it is hidden and never has the real file's name
    assert all(name.startswith(f".{path.name}.") for name in strays), strays
    return strays


@pytest.mark.parametrize("delay", [0.0, 0.03, 0.11, 0.27])
def test_sigkill_during_write_bytes_leaves_a_complete_file(tmp_path, delay):
    target = tmp_path / "big.bin"
    proc = _child(WRITER, target, SIZE)
    try:
        _wait_ready(proc)
        time.sleep(delay)
    finally:
        _kill(proc)
    strays = _check_intact(target)
    # the next write replaces the file and leaves the strays alone
    fio.write_bytes(target, b"fresh")
    assert target.read_bytes() == b"fresh"
    assert sorted(p.name for p in tmp_path.iterdir() if p != target) == sorted(strays)


def test_many_kills_never_partial(tmp_path):
    """Kill the writer 8 times at spread-out moments; check the file after each kill."""
    target = tmp_path / "big.bin"
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(8):
        proc = _child(WRITER, target, SIZE)
        try:
            _wait_ready(proc)
            time.sleep(float(rng.uniform(0, 0.2)))
        finally:
            _kill(proc)
        _check_intact(target)
        seen.add(target.read_bytes()[:1])
    assert seen <= {b"A", b"B"}


NPZ_WRITER = """
    import sys
    import numpy as np
    from fer_keras.fileio import save_npz
    path = sys.argv[1]
    a = np.zeros((2000, 48, 48), np.uint8)
    b = np.full((2600, 48, 48), 7, np.uint8)
    save_npz(path, images=a, tag=np.array("a"))
    print("ready", flush=True)
    i = 1
    while True:
        if i % 2:
            save_npz(path, images=b, tag=np.array("b"))
        else:
            save_npz(path, images=a, tag=np.array("a"))
        i += 1
"""


@pytest.mark.parametrize("delay", [0.0, 0.05, 0.15])
def test_sigkill_during_save_npz(tmp_path, delay):
    target = tmp_path / "arrays.npz"
    proc = _child(NPZ_WRITER, target)
    try:
        _wait_ready(proc)
        time.sleep(delay)
    finally:
        _kill(proc)
    with np.load(target) as z:
        tag = str(z["tag"])
        images = z["images"]
    if tag == "a":
        assert images.shape == (2000, 48, 48) and not images.any()
    else:
        assert tag == "b" and images.shape == (2600, 48, 48) and (images == 7).all()
    assert all(p.name.startswith(".arrays.npz.") for p in tmp_path.iterdir() if p != target)


CACHE_WRITER = """
    import sys
    from fer_keras import data
    src = sys.argv[1]
    data.load(src)
    print("ready", flush=True)
    while True:
        for f in data.cache_dir().glob("*.npz"):
            f.unlink()
        data.load(src)
"""


def _kaggle_csv(path, n, seed=0, value=None):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 48, 48), dtype=np.uint8)
    if value is not None:
        images[:] = value
    labels = np.arange(n) % 7
    rows = ["emotion,pixels,Usage"] + [f"{lab},{' '.join(map(str, img.ravel()))},Training"
                                       for img, lab in zip(images, labels)]
    path.write_text("\n".join(rows) + "\n")
    return images, labels


@pytest.mark.parametrize("delay", [0.02, 0.2])
def test_sigkill_while_caching_never_serves_a_broken_cache(tmp_path, monkeypatch, delay):
    from fer_keras import data

    monkeypatch.setenv("FER_KERAS_CACHE", str(tmp_path / "cache"))
    src = tmp_path / "fer.csv"
    images, labels = _kaggle_csv(src, 600)
    proc = _child(CACHE_WRITER, src)
    try:
        _wait_ready(proc, timeout=120)
        time.sleep(delay)
    finally:
        _kill(proc)
    ds = data.load(src)
    np.testing.assert_array_equal(ds.images, images)
    np.testing.assert_array_equal(ds.labels, labels)
    good = [p for p in (tmp_path / "cache").iterdir() if not p.name.startswith(".")]
    assert len(good) == 1
    with np.load(good[0]) as z:
        np.testing.assert_array_equal(z["images"], images)


# --------------------------------------------------------------------------- stale cache
def test_stale_cache_is_rebuilt(tmp_path, monkeypatch):
    from fer_keras import data

    monkeypatch.setenv("FER_KERAS_CACHE", str(tmp_path / "cache"))
    src = tmp_path / "fer.csv"
    a, _ = _kaggle_csv(src, 30, seed=1)
    np.testing.assert_array_equal(data.load(src).images, a)
    b, _ = _kaggle_csv(src, 30, seed=2)  # another file, same name
    np.testing.assert_array_equal(data.load(src).images, b)
    st = src.stat()
    c, _ = _kaggle_csv(tmp_path / "other.csv", 30, value=0)  # same row count
    d, _ = _kaggle_csv(src, 30, value=1)  # same size as c, different pixels
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns))  # even with the old mtime
    np.testing.assert_array_equal(data.load(src).images, d)
    os.replace(tmp_path / "other.csv", src)  # renamed over: same size as d
    np.testing.assert_array_equal(data.load(src).images, c)
    # and the same file twice: served from the cache (one .npz per version, not rebuilt)
    before = sorted((tmp_path / "cache").glob("*.npz"))
    np.testing.assert_array_equal(data.load(src).images, c)
    assert sorted((tmp_path / "cache").glob("*.npz")) == before


# --------------------------------------------------------------------------- in-process behaviour
def test_error_inside_write_keeps_old_file_and_cleans_up(tmp_path):
    target = tmp_path / "f.json"
    fio.write_json(target, {"v": 1})
    with pytest.raises(RuntimeError):
        with fio.atomic_path(target) as tmp:
            Path(tmp).write_text("half")
            raise RuntimeError("boom")
    assert json.loads(target.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]


def test_keyboard_interrupt_inside_write_keeps_old_file(tmp_path):
    target = tmp_path / "f.bin"
    fio.write_bytes(target, b"old")
    with pytest.raises(KeyboardInterrupt):
        with fio.atomic_path(target) as tmp:
            Path(tmp).write_bytes(b"new but unfinished")
            raise KeyboardInterrupt
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_temporary_file_is_hidden_and_keeps_the_suffix(tmp_path):
    with fio.atomic_path(tmp_path / "model.keras") as tmp:
        assert Path(tmp).parent == tmp_path
        assert Path(tmp).name.startswith(".model.keras.") and tmp.endswith(".keras")
        Path(tmp).write_bytes(b"x")
    with fio.atomic_path(tmp_path / "noext") as tmp:
        assert tmp.endswith(".tmp")
        Path(tmp).write_bytes(b"y")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keras", "noext"]


def test_writes_create_parents_and_roundtrip(tmp_path):
    fio.write_text(tmp_path / "a" / "b" / "c.txt", "héllo\n")
    assert (tmp_path / "a" / "b" / "c.txt").read_text(encoding="utf-8") == "héllo\n"
    fio.write_json(tmp_path / "j.json", {"x": np.float32(1.5), "y": np.arange(3), "p": tmp_path,
                                         "i": np.int64(4)})
    assert json.loads((tmp_path / "j.json").read_text()) == {"x": 1.5, "y": [0, 1, 2],
                                                             "p": str(tmp_path), "i": 4}
    with pytest.raises(TypeError):
        fio.write_json(tmp_path / "bad.json", {"x": object()})
    assert not (tmp_path / "bad.json").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    fio.save_npz(tmp_path / "z.npz", a=np.arange(5))
    with np.load(tmp_path / "z.npz") as z:
        np.testing.assert_array_equal(z["a"], np.arange(5))


@pytest.mark.parametrize("where", ["under_a_file", "onto_a_folder"])
def test_unwritable_place_is_a_one_line_error(tmp_path, where):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    if where == "under_a_file":
        target, why = blocker / "sub" / "out.csv", "is a file, not a folder"
    else:
        target, why = tmp_path / "folder", "folder"
        target.mkdir()
    with pytest.raises(FerOutputError) as e:
        fio.write_text(target, "data")
    msg = str(e.value)
    assert "\n" not in msg and str(target) in msg and why in msg
    assert isinstance(e.value, FerInputError) and isinstance(e.value, OSError)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["file.txt"] + (
        ["folder"] if where == "onto_a_folder" else []))


def test_read_only_folder(tmp_path):
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        pytest.skip("running as root: chmod does not stop writes")
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o500)
    try:
        with pytest.raises(FerOutputError, match="ermission"):
            fio.write_text(d / "x.txt", "data")
    finally:
        d.chmod(0o700)


def test_written_files_get_normal_permissions(tmp_path):
    """Not mkstemp's 0600: a new file gets 0666 & ~umask, a replaced file keeps its mode."""
    mask = os.umask(0o022)
    os.umask(mask)
    fio.write_text(tmp_path / "new.txt", "x")
    assert (tmp_path / "new.txt").stat().st_mode & 0o777 == 0o666 & ~mask
    (tmp_path / "old.txt").write_text("x")
    (tmp_path / "old.txt").chmod(0o640)
    fio.write_text(tmp_path / "old.txt", "y")
    assert (tmp_path / "old.txt").stat().st_mode & 0o777 == 0o640
    fio.save_npz(tmp_path / "z.npz", a=np.arange(2))
    assert (tmp_path / "z.npz").stat().st_mode & 0o777 == 0o666 & ~mask


# --------------------------------------------------------------------------- whose file it is
def test_a_users_file_is_never_replaced_without_force(tmp_path):
    """Under the CLI's rule a write refuses a file fer_keras did not write, keeps it byte for
    byte, replaces its own (this command's, or an earlier command's left unchanged), and
    replaces anything with force."""
    ledger = tmp_path / "cache" / "written.json"
    theirs = tmp_path / "notes.txt"
    theirs.write_bytes(b"the user's notes\n")
    with fio.keep_users_files(ledger):
        with pytest.raises(fio.FerOutputError, match="did not write.*--force") as e:
            fio.write_text(theirs, "ours")
        assert str(e.value).startswith(str(theirs))
        with pytest.raises(fio.FerOutputError):
            fio.check_free(theirs)
        fio.write_text(tmp_path / "ours.txt", "1")
        fio.write_text(tmp_path / "ours.txt", "2")  # written by this command: replaced
    assert theirs.read_bytes() == b"the user's notes\n"
    assert not list(tmp_path.glob(".notes.txt.*"))  # no temporary file left
    assert str(tmp_path / "ours.txt") in json.loads(ledger.read_text())
    with fio.keep_users_files(ledger):
        fio.write_text(tmp_path / "ours.txt", "3")  # an earlier command's, unchanged
    (tmp_path / "ours.txt").write_text("edited by the user")
    with fio.keep_users_files(ledger):
        with pytest.raises(fio.FerOutputError):
            fio.write_text(tmp_path / "ours.txt", "4")  # changed since: now the user's
    assert (tmp_path / "ours.txt").read_text() == "edited by the user"
    with fio.keep_users_files(ledger, force=True):
        fio.write_text(theirs, "replaced")
    assert theirs.read_text() == "replaced"
    fio.write_text(tmp_path / "notes2.txt", "x")
    fio.write_text(tmp_path / "notes2.txt", "y")  # outside the CLI: the library writes as told
    assert (tmp_path / "notes2.txt").read_text() == "y"
