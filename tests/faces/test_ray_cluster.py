"""``fer-keras predict FOLDER --engine ray --address`` on a Ray cluster of separate nodes
(:mod:`fer_keras.faces.ray_cluster`): ``ray start --head`` and a second ``ray start --address``
node, each a raylet with one CPU of its own, token authentication on, in a network and process
namespace of the test's own (loopback only; ``_ray_cluster``). The rows through the head's
address and through Ray Client equal the single process's; a driver without the token is
refused in one line; a node killed in the middle of a job loses no row and doubles none; a
killed driver's rerun resumes from the manifest; ``ray stop --force`` leaves no process.

Skips without Ray (``pip install fer_keras[ray]``) or without namespaces (root, or a user
allowed ``unshare --net --pid``). Starting the cluster takes about 20 s."""
import json
import signal
import sys
import time

import pytest

pytest.importorskip("ray", reason="Ray is not installed (pip install fer_keras[ray])")
pytest.importorskip("cv2")
pytest.importorskip("skimage")

import _ray_cluster as rc  # noqa: E402

why = rc.namespace_problem()
pytestmark = pytest.mark.skipif(why is not None, reason=why or "")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = rc.Cluster(tmp_path_factory.mktemp("cluster"), head_cpus=1, node_cpus=(1,))
    try:
        yield c.start()
    finally:
        c.close()


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """The photos and the video of ``_ray_cluster.make_media``, and the single-process
    ``fer-keras predict FOLDER --out`` output beside them."""
    d = tmp_path_factory.mktemp("media")
    folder = rc.make_media(d / "in")
    r = rc.in_namespace([sys.executable, "-m", "fer_keras", "predict", folder, "--out",
                         d / "single", "--no-progress"], rc.base_env(d / "home"))
    assert r.returncode == 2, r.stderr  # bad.jpg
    return folder, d / "single"


def _predict(cluster, folder, out, address, env=None):
    return cluster.run([sys.executable, "-m", "fer_keras", "predict", folder, "--engine", "ray",
                        "--address", address, "--out", out], env=env)


def _stderr_lines(err):
    """stderr without the progress line's redraws (tqdm: ``ray: ... unit``)."""
    return [ln for ln in err.replace("\r", "\n").splitlines()
            if ln.strip() and not ln.startswith("ray:")]


def test_the_head_address_and_ray_client_give_the_single_process_rows(cluster, media,
                                                                      tmp_path):
    """Byte-equal faces.csv on two nodes, through ``HOST:PORT`` and ``ray://HOST:PORT``; stderr
    is our progress line and our notes, no Ray log line (the control: the pattern finds the
    lines ``ray start`` printed)."""
    folder, single = media
    ref = (single / "faces.csv").read_text()
    for name, address in (("gcs", cluster.address),
                          ("client", f"ray://127.0.0.1:{cluster.client_port}")):
        r = _predict(cluster, folder, tmp_path / name, address)
        assert r.returncode == 2 and (tmp_path / name / "faces.csv").is_file(), r.stderr
        assert (tmp_path / name / "faces.csv").read_text() == ref, name
        run = json.loads((tmp_path / name / "engine.json").read_text())["run"]
        # two actors, one CPU each on raylets of one CPU; "nodes" counts the nodes whose actor
        # did a unit, and an actor that starts late (the previous job's still leaving) may get
        # none of the six
        assert run["workers"] == 2 and run["nodes"] in (1, 2), run
        assert not rc.RAY_LINE.search(r.stderr), r.stderr
        assert _stderr_lines(r.stderr) == [
            f"note: no face found in 1 of 5 files: {folder / 'blank.png'}",
            f"error: 1 of 6 files could not be read (listed in {tmp_path / name / 'errors.csv'})"]
        assert r.stdout.startswith(f"written: {tmp_path / name / 'faces.csv'}")
    assert rc.RAY_LINE.search(cluster.log[0]), "the pattern misses Ray's own log lines"


def test_a_driver_without_the_token_is_refused_in_one_line(cluster, media, tmp_path):
    env = {k: v for k, v in cluster.env.items() if k != "RAY_AUTH_TOKEN"}
    r = _predict(cluster, media[0], tmp_path / "o", cluster.address, env=env)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "RAY_AUTH_TOKEN" in r.stderr, r.stderr
    env["RAY_AUTH_TOKEN"] = "0" * 64  # the control: a wrong token is refused too
    r = _predict(cluster, media[0], tmp_path / "o2", cluster.address, env=env)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr


def _driver(cluster, folder, out, marks, delay, **kw):
    marks.mkdir(exist_ok=True)
    return cluster.popen([sys.executable, "-c", rc.DRIVER, out, folder, cluster.address, "all",
                          delay, marks], **kw)


def _units(out):
    return [json.loads(ln)["unit"] for ln in (out / "manifest.jsonl").read_text().splitlines()]


def test_a_killed_driver_is_resumed_from_the_manifest(cluster, media, tmp_path):
    """The driver is killed (SIGKILL) once the manifest lists some units; the rerun does only
    the others (its lines are exactly the missing units, the bad file tried again) and the rows
    equal the single process's."""
    folder, single = media
    out, marks = tmp_path / "o", tmp_path / "marks"
    p = _driver(cluster, folder, out, marks, 0.1)
    t = time.monotonic()
    while not ((out / "manifest.jsonl").is_file() and len(_units(out)) >= 3):
        assert p.poll() is None and time.monotonic() - t < 240, "the job ended too early"
        time.sleep(0.05)
    import os

    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    before = _units(out)
    assert 3 <= len(before) < 11 and not (out / "faces.csv").exists()
    p = _driver(cluster, folder, out, marks, 0.1, stdout=open(os.devnull, "w"))
    assert p.wait(timeout=300) == 2
    after = _units(out)[len(before):]
    everything = set(after) | set(before)
    assert len(everything) == 11
    ok_before = {json.loads(ln)["unit"] for ln in (out / "manifest.jsonl").read_text()
                 .splitlines()[:len(before)] if json.loads(ln)["status"] == "ok"}
    assert not ok_before & set(after), "a finished unit was done again"
    assert (out / "faces.csv").read_text() == (single / "faces.csv").read_text()


@pytest.mark.slow
def test_a_killed_node_loses_no_row_and_doubles_none(cluster, media, tmp_path):
    """Each analysed frame slowed by 0.1 s; once the actor on the second node has started and a
    unit is done, every process of that node (raylet, agents, the actor) is killed. Its calls
    go to the head's actor (the lost node's actor has no CPU left to restart on): the rows
    equal the single process's, each unit is listed once, and the engine counts the retried
    call (the control that the kill hit a call in flight)."""
    import os

    folder, single = media
    out, marks = tmp_path / "o", tmp_path / "marks"
    head_node = cluster.run([sys.executable, "-c", "import ray, logging\nray.init(address="
                             f"'{cluster.address}', logging_level=logging.ERROR)\n"
                             "print(ray.get_runtime_context().get_node_id())"]).stdout.split()[-1]
    p = _driver(cluster, folder, out, marks, 0.1, stdout=open(os.devnull, "w"),
                stderr=open(tmp_path / "driver.err", "w"))
    t = time.monotonic()
    while not (any(not m.name.startswith(head_node) for m in marks.iterdir())
               and (out / "manifest.jsonl").is_file() and _units(out)):
        assert p.poll() is None and time.monotonic() - t < 240, "the job ended too early"
        time.sleep(0.05)
    cluster.kill_node(0)
    assert not cluster.node_pids(0)
    assert p.wait(timeout=300) == 2, (tmp_path / "driver.err").read_text()
    units = _units(out)
    assert len(units) == len(set(units)) == 11
    assert (out / "faces.csv").read_text() == (single / "faces.csv").read_text()
    run = json.loads((out / "engine.json").read_text())["run"]
    assert run["retried_calls"] >= 1 and run["nodes"] == 2, run
    assert not rc.RAY_LINE.search((tmp_path / "driver.err").read_text())
    cluster.add_node(1)  # the later tests get their two nodes back
    cluster.wait_nodes(2)


def test_ray_stop_leaves_no_process(cluster):
    """The last test of the module: before, the namespace holds the raylets (the control);
    after ``ray stop --force``, nothing but its first process."""
    before = cluster.processes()
    assert sum(c.split()[0].endswith("/raylet") for _, c in before) == 2, before
    r = cluster.stop()
    assert r.returncode == 0, r.stderr
    time.sleep(1.0)
    assert cluster.processes() == []


def test_a_join_error_is_one_line_with_its_cause():
    """Ray Client's failed join says "Initialization failure from server:" and then the server's
    traceback: the line keeps the traceback's last line, the cause. A one-line message is kept
    as it is, an empty one gives the class name, a long one is cut."""
    from fer_keras.faces.ray_cluster import one_line

    e = ConnectionAbortedError("Initialization failure from server:\nTraceback (most recent call "
                               "last):\n  File \"proxier.py\", line 770\nRuntimeError: Proxy failed"
                               " to Connect to backend!\n")
    assert one_line(e) == ("Initialization failure from server: RuntimeError: Proxy failed to "
                           "Connect to backend!")
    assert one_line(ValueError("no cluster at 127.0.0.1:1")) == "no cluster at 127.0.0.1:1"
    assert one_line(TimeoutError()) == "TimeoutError"
    long = one_line(RuntimeError("x" * 500))
    assert len(long) == 300 and long.endswith("...")


def test_a_client_join_whose_server_failed_to_start_is_tried_again(monkeypatch):
    """Ray Client's "Initialization failure from server" (the head's per-driver server did not
    start in time) is tried up to three times, with ``ray.shutdown()`` between; the third
    failure is raised, and so is any other failure, or a failure through a head's GCS
    address, at once."""
    from types import SimpleNamespace

    from fer_keras.faces import ray_cluster

    monkeypatch.setattr(ray_cluster, "CLIENT_PAUSE", 0.0)
    transient = ConnectionAbortedError("Initialization failure from server:\nTraceback ...\n"
                                       "RuntimeError: Starting Ray client server failed.")

    def fake(failures):
        calls = []

        def init(address, **kw):
            calls.append("init")
            if len([c for c in calls if c == "init"]) <= len(failures):
                raise failures[len([c for c in calls if c == "init"]) - 1]
            return "joined"
        return SimpleNamespace(init=init, shutdown=lambda: calls.append("shutdown")), calls

    ray, calls = fake([transient, transient])
    assert ray_cluster._join(ray, "ray://127.0.0.1:1", {}) == "joined"
    assert calls == ["init", "shutdown", "init", "shutdown", "init"]
    ray, calls = fake([transient] * 3)
    with pytest.raises(ConnectionAbortedError):
        ray_cluster._join(ray, "ray://127.0.0.1:1", {})
    assert calls.count("init") == 3
    for address, error in (("ray://127.0.0.1:1", ConnectionError("cannot reach")),
                           ("127.0.0.1:1", transient)):
        ray, calls = fake([error])
        with pytest.raises(ConnectionError):
            ray_cluster._join(ray, address, {})
        assert calls == ["init"]
