"""``fer-keras predict FOLDER --engine ray`` (:mod:`fer_keras.faces.ray_engine`): the same rows as
the single-process path, bad files in an errors table, a rerun that resumes from the manifest,
and a killed actor that Ray restarts without losing or doubling a row.

The pure parts (ranges, warm-up, the track join) run everywhere; the Ray runs skip without Ray
(``pip install fer_keras[ray]``) or without namespaces, and each starts the engine's own local
cluster in a network and process namespace of its own (``_ray_cluster``). A cluster of separate
nodes: ``test_ray_cluster.py``."""
import json
import os
import signal
import sys
import time

import numpy as np
import pandas as pd
import pytest

cv2 = pytest.importorskip("cv2")

import _ray_cluster as rc  # noqa: E402

from fer_keras.cli import main  # noqa: E402
from fer_keras.faces import ray_engine as distributed  # noqa: E402

NAMES = ("Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral")


# --------------------------------------------------------------------------- pure parts
def test_ranges_start_on_full_searches_and_cover_the_video_once():
    r = distributed.video_ranges(count=100, every=2, range_frames=12, warm=30, full_every=5)
    # 12 analysed frames rounded up to 15 (the full-search period): 30 frames a range
    assert [(a, s) for _, a, s in r] == [(0, 30), (30, 60), (60, 90), (90, -1)]
    assert [w for w, _, _ in r] == [0, 0, 0, 30]  # 30 analysed frames of warm-up = 60 frames
    assert all((w // 2) % 5 == 0 for w, _, _ in r)
    assert distributed.video_ranges(0, 1, 10, 30, 5) == [(0, 0, -1)]  # unknown length: one
    assert distributed.warmup_frames(10, 5) == 30 and distributed.warmup_frames(3, 4) == 16


def _frame_rows(unit_tracks, warm_until=-1, scores=None):
    """Face rows ``{frame: [(track, x)]}`` of one range, rows before ``warm_until`` warm-up."""
    rows = []
    for f, faces in unit_tracks.items():
        for k, (t, x) in enumerate(faces):
            s = (scores or {}).get((f, x), np.full(7, 1 / 7))
            rows.append({"frame": f, "track": t, "x": x, "y": 0, "w": 50, "h": 50, "face": k,
                         "warm": f < warm_until, "scores": np.asarray(s)})
    return pd.DataFrame(rows)


def test_join_takes_the_previous_ids_and_numbers_new_tracks_after_them():
    # single-process truth: face at x=0 is track 0 throughout, x=100 is track 1 from frame 2,
    # x=200 appears at frame 5 (track 2). Range 2 starts at frame 4 with a warm-up from frame 2
    # and its own ids: x=100 -> 0, x=0 -> 1 (other creation order), x=200 -> 2.
    first = _frame_rows({0: [(0, 0)], 1: [(0, 0)], 2: [(0, 0), (1, 100)], 3: [(0, 0), (1, 100)]})
    second = _frame_rows({2: [(1, 0), (0, 100)], 3: [(1, 0), (0, 100)],
                          4: [(1, 0), (0, 100)], 5: [(1, 0), (0, 100), (2, 200)]}, warm_until=4)
    rows, bad = distributed.join_tracks([first, second])
    assert bad == 0
    got = {(int(r.frame), int(r.x)): int(r.track) for r in rows.itertuples()}
    assert got[(4, 0)] == 0 and got[(4, 100)] == 1 and got[(5, 200)] == 2
    assert sorted(rows["frame"]) == [0, 1, 2, 2, 3, 3, 4, 4, 5, 5, 5]  # no warm-up row kept


def test_join_counts_a_warm_up_that_did_not_converge():
    """The control: a warm-up track whose probabilities differ from the previous range's at
    the join frame, or which has no twin there, is counted, not silently accepted."""
    first = _frame_rows({0: [(0, 0)], 1: [(0, 0)]})
    other = {(1, 0): np.eye(7)[3]}
    second = _frame_rows({1: [(0, 0)], 2: [(0, 0)]}, warm_until=2, scores=other)
    assert distributed.join_tracks([first, second])[1] == 1
    lost = _frame_rows({1: [(0, 300)], 2: [(0, 300)]}, warm_until=2)  # no twin at x=300
    rows, bad = distributed.join_tracks([first, lost])
    assert bad == 1 and set(rows[rows.frame == 2].track) == {1}  # a new id, after track 0


def test_list_file_names_relative_paths_and_skips_comments(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.jpg").write_bytes(b"x")
    lst = tmp_path / "files.txt"
    lst.write_text("# photos\nsub/a.jpg\n\nsub/a.jpg\nclip.mp4  # a video\n")
    got = distributed.list_inputs(lst)
    assert [(n, k) for _, n, k in got] == [("sub/a.jpg", "image"), ("clip.mp4", "video")]
    assert got[0][0] == tmp_path / "sub" / "a.jpg"
    (tmp_path / "empty.txt").write_text("# nothing\n")
    with pytest.raises(distributed.FerInputError, match="names no file"):
        distributed.list_inputs(tmp_path / "empty.txt")


# --------------------------------------------------------------------------- the CLI's checks
def _cli(argv, capfd):
    rc = main([str(a) for a in argv])
    io = capfd.readouterr()
    return rc, io.out, io.err


def test_engine_ray_without_ray_is_one_line(tmp_path, capfd, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # find_spec answers None: not installed
    (tmp_path / "in").mkdir()
    rc, _, err = _cli(["predict", tmp_path / "in", "--engine", "ray", "--out", tmp_path / "o"],
                      capfd)
    assert rc == 2 and err.strip().splitlines() == [f"error: {distributed.INSTALL_HINT}"]
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("flags, named", [(["--address", "auto"], "--address"),
                                          (["--workers", "2"], "--workers"),
                                          (["--engine", "ray", "--workers", "0"], "--workers")])
def test_bad_engine_flags_are_one_line(flags, named, tmp_path, capfd):
    photo = tmp_path / "p.png"
    cv2.imwrite(str(photo), np.full((20, 20, 3), 9, np.uint8))
    rc, _, err = _cli(["predict", photo, *flags, "--out", tmp_path / "o"], capfd)
    assert rc == 2 and len(err.strip().splitlines()) == 1 and named in err, err
    assert not (tmp_path / "o").exists()


# --------------------------------------------------------------------------- with Ray
@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """The photos and the video of ``_ray_cluster.make_media`` (five photos, one of them no
    image, and a 60-frame video of three tracks), with the single-process path's output."""
    pytest.importorskip("ray", reason="Ray is not installed (pip install fer_keras[ray])")
    pytest.importorskip("skimage")
    if (why := rc.namespace_problem()) is not None:
        pytest.skip(why)
    from fer_keras.faces.media import predict_media

    d = tmp_path_factory.mktemp("ray_media")
    folder = rc.make_media(d / "in")
    assert predict_media(folder, d / "single", progress=False) == 2  # bad.jpg
    single = pd.read_csv(d / "single" / "faces.csv")
    assert set(single["track"].dropna()) == {0, 1, 2}, "the video should make three tracks"
    return folder, d / "single"


def _run(folder, out, workers=1, delay=0.0, marks=None):
    """The engine on a local cluster of ``workers`` CPUs that it starts itself, in a namespace
    of its own (video ranges of 10 frames); returns the exit status."""
    marks = marks or out.parent / "marks"
    marks.mkdir(exist_ok=True)
    r = rc.in_namespace([sys.executable, "-c", rc.DRIVER, out, folder, "local", workers, delay,
                         marks], rc.base_env(out.parent / "home"))
    assert r.returncode in (0, 2), r.stderr[-3000:]
    assert not rc.RAY_LINE.search(r.stderr), r.stderr
    return r.returncode


def test_rows_equal_the_single_process_path(media, tmp_path):
    """The video in six ranges of 10 frames, each with a 30-frame warm-up: the same CSV, byte
    for byte (rows, order, ids, formatting), the same JSON, and the Parquet rows agree."""
    folder, single = media
    out = tmp_path / "o"
    assert _run(folder, out) == 2  # bad.jpg is in the errors table
    assert (out / "faces.csv").read_text() == (single / "faces.csv").read_text()
    assert json.loads((out / "faces.json").read_text()) == \
        json.loads((single / "faces.json").read_text())
    errors = pd.read_csv(out / "errors.csv")
    assert list(errors["file"]) == ["bad.jpg"] and "not a readable image" in errors["reason"][0]
    table = pd.read_parquet(out / "faces.parquet")
    ref = pd.read_json(single / "faces.json")
    assert len(table) == len(ref) and table["track"].isna().sum() == 3  # the three photos
    np.testing.assert_allclose(table["Happy"], [s["Happy"] for s in ref["scores"]], atol=1e-7)
    engine = json.loads((out / "engine.json").read_text())
    assert engine["run"]["join_mismatches"] == 0 and engine["run"]["units"] == 5 + 6
    assert not (tmp_path / "home" / ".ray").exists(), "the run's token was written to ~/.ray"


def test_rerun_resumes_from_the_manifest(media, tmp_path):
    """A rerun reads only what the manifest does not list: after dropping two units' lines
    (a photo and a middle range of the video, as a crash would leave them) exactly those are
    done again, and the output is unchanged; other settings are refused in one line."""
    folder, single = media
    out = tmp_path / "o"
    _run(folder, out)
    manifest = out / "manifest.jsonl"
    lines = manifest.read_text().splitlines()
    drop = [ln for ln in lines if '"unit": "a.jpg"' in ln or "two.mp4#frames=20-30" in ln]
    assert len(drop) == 2
    manifest.write_text("\n".join(ln for ln in lines if ln not in drop) + "\n")
    _run(folder, out)
    again = manifest.read_text().splitlines()[len(lines) - 2:]
    assert sorted(json.loads(ln)["unit"] for ln in again) == \
        ["a.jpg", "bad.jpg", "two.mp4#frames=20-30"]  # the bad file is tried again
    assert (out / "faces.csv").read_text() == (single / "faces.csv").read_text()
    with pytest.raises(distributed.FerInputError, match="other settings"):  # before Ray starts
        distributed.run(folder, out, settings=distributed.Settings(range_frames=20),
                        progress=False)


@pytest.mark.slow
def test_a_killed_actor_is_restarted_and_no_row_is_lost_or_doubled(media, tmp_path):
    """One actor, slowed down; its process is killed (SIGKILL) once it has started on the
    units. Ray restarts it (a second pid writes its marker) and its unfinished call is run
    again: the rows equal the single-process path's, byte for byte."""
    folder, single = media
    marks, out = tmp_path / "marks", tmp_path / "o"
    marks.mkdir()
    p = rc.popen_in_namespace([sys.executable, "-c", rc.DRIVER, out, folder, "local", 1, 0.05,
                               marks], rc.base_env(tmp_path / "home"))
    t = time.monotonic()
    while not list(marks.iterdir()):
        assert p.poll() is None and time.monotonic() - t < 240, "no actor started"
        time.sleep(0.1)
    time.sleep(2.0)  # inside the first units
    pid = rc.host_pid(p.pid, int(next(marks.iterdir()).name.rsplit("-", 1)[1]))
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    assert p.wait(timeout=300) == 2
    assert len(list(marks.iterdir())) >= 2, "the actor was not restarted"
    assert (out / "faces.csv").read_text() == (single / "faces.csv").read_text()
    units = [json.loads(ln)["unit"] for ln in (out / "manifest.jsonl").read_text().splitlines()]
    assert len(units) == len(set(units)) == 11
    assert json.loads((out / "engine.json").read_text())["run"]["retried_calls"] >= 1
