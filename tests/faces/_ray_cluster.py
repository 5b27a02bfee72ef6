"""Ray clusters of separate processes for the tests, each in a network and process namespace of
its own (``unshare --net --pid --mount-proc``, loopback only): Ray binds the machine's network
address even when told 127.0.0.1, and ``ray stop`` ends every Ray process it can see, so
inside the namespace it binds 127.0.0.1 and sees only this cluster's processes. Ending the
namespace's first process ends all of them (the kernel's rule for a process namespace).

:func:`in_namespace` runs one command in a fresh namespace (a driver that starts its own local
cluster); :class:`Cluster` starts ``ray start --head`` and more nodes (``ray start --address
--block``, each in a session of its own, so that one node's processes can be killed together)
with token authentication on, and runs drivers beside them (``nsenter``)."""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BIN = Path(sys.executable).parent

#: A line of Ray's own logging: Python (``2026-01-01 12:00:00,123<TAB>INFO file.py:12 --``) or
#: C++ (``[2026-01-01 12:00:00,123 W 12 12] file.cc:330:``), or Ray's warnings by name.
RAY_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+\s+[A-Z]+ \S+:\d+ --|"
                      r"^\[\d{4}-\d\d-\d\d [\d:,]+ [DIWEF] \d+ \d+\]|\bray\b.*warn",
                      re.IGNORECASE | re.MULTILINE)


def namespace_problem():
    """None when this user can make network and process namespaces, else why not."""
    try:
        r = subprocess.run(["unshare", "--net", "--pid", "--fork", "--mount-proc", "true"],
                           capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"unshare is not usable here ({e.__class__.__name__})"
    return None if r.returncode == 0 else f"unshare --net --pid fails: {r.stderr.strip()}"


def base_env(home):
    """The environment of every cluster process and driver: the venv first on PATH, a HOME of
    the test's own (no ~/.ray of the user's read or written), no usage report."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", HOME=str(home),
               RAY_USAGE_STATS_ENABLED="0", TF_CPP_MIN_LOG_LEVEL="2")
    Path(home).mkdir(parents=True, exist_ok=True)
    return env


def in_namespace(argv, env, timeout=300, cwd=None):
    """``subprocess.run(argv)`` in a fresh namespace with only loopback up; text output."""
    wrap = ["unshare", "--net", "--pid", "--fork", "--mount-proc", "--kill-child", "sh", "-c",
            'ip link set lo up && exec "$0" "$@"']
    return subprocess.run(wrap + [str(a) for a in argv], env=env, capture_output=True,
                          text=True, timeout=timeout, cwd=cwd)


def popen_in_namespace(argv, env, **kw):
    """:func:`in_namespace`, not waited for (``subprocess.Popen``)."""
    wrap = ["unshare", "--net", "--pid", "--fork", "--mount-proc", "--kill-child", "sh", "-c",
            'ip link set lo up && exec "$0" "$@"']
    return subprocess.Popen(wrap + [str(a) for a in argv], env=env, **kw)


def host_pid(root, ns_pid):
    """The pid, as this process sees it, of the descendant of ``root`` whose pid inside its
    namespace is ``ns_pid`` (None if there is none)."""
    todo = [root]
    while todo:
        pid = todo.pop()
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        line = next((ln for ln in status.splitlines() if ln.startswith("NSpid:")), "")
        if line.split()[-1:] == [str(ns_pid)] and len(line.split()) > 2:
            return pid
        todo += _children(pid)
    return None


def _children(pid):
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _session(pid):
    """The session id of process ``pid`` (None when it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[3])


#: The namespace's first process: it waits for the orphans that are given to it, so that no
#: process of a stopped cluster stays behind as a zombie.
REAPER = """
import os, time
while True:
    try:
        os.wait()
    except ChildProcessError:
        time.sleep(0.2)
"""


class Cluster:
    """``ray start --head`` with ``head_cpus`` CPUs and one node a count of ``node_cpus``, on
    127.0.0.1 inside a namespace of their own, every node and driver with the token of
    ``ray get-auth-token --generate`` in ``RAY_AUTH_TOKEN`` (docs/cluster.md)."""

    def __init__(self, root, head_cpus=1, node_cpus=(1,)):
        self.root, self.head_cpus, self.node_cpus = Path(root), head_cpus, tuple(node_cpus)
        # Ray's sockets live under its temp dir, and a Unix socket path has at most 107 bytes:
        # pytest's own folders (deeper under xdist) are too long for it
        self.ray_tmp = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))
        self.env = base_env(self.root / "home")
        self.nodes, self.log = [], []

    # ---- the namespace
    def start(self):
        self.holder = subprocess.Popen(
            ["unshare", "--net", "--pid", "--fork", "--mount-proc", "--kill-child", "sh", "-c",
             f'ip link set lo up && exec "{sys.executable}" -c "$0"', REAPER],
            start_new_session=True)
        for _ in range(200):
            kids = _children(self.holder.pid)
            if kids and b"-c" in Path(f"/proc/{kids[0]}/cmdline").read_bytes():
                self.init = kids[0]
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("the namespace did not start")
        self.env["RAY_AUTH_MODE"] = "token"
        # Ray Client's proxier gives a new client's server 30 s to answer; on the 2 cores that
        # the suite's two workers share, its start (a fresh Python importing Ray) took longer
        self.env["RAY_CLIENT_SERVER_CHECK_CHANNEL_TIMEOUT_S"] = "180"
        got = self.run(["ray", "get-auth-token", "--generate"])
        self.token = got.stdout.strip().splitlines()[-1]
        (self.root / "home" / ".ray" / "auth_token").unlink()  # the nodes get it from the env
        self.env["RAY_AUTH_TOKEN"] = self.token
        self.port, self.client_port = (int(p) for p in self.run(
            [sys.executable, "-c", "import socket\nfor _ in '12':\n s = socket.socket()\n"
             " s.bind(('127.0.0.1', 0))\n print(s.getsockname()[1])"]).stdout.split()[:2])
        head = self.run(["ray", "start", "--head", f"--port={self.port}",
                         "--node-ip-address=127.0.0.1", f"--num-cpus={self.head_cpus}",
                         "--include-dashboard=false", f"--ray-client-server-port={self.client_port}",
                         f"--temp-dir={self.ray_tmp}", "--disable-usage-stats"])
        self.log.append(head.stdout + head.stderr)
        if head.returncode:
            raise RuntimeError(f"ray start --head failed:\n{head.stderr[-3000:]}")
        for cpus in self.node_cpus:
            self.add_node(cpus)
        self.wait_nodes(1 + len(self.node_cpus))
        return self

    def _ns(self, argv):
        return ["nsenter", "-t", str(self.init), "-n", "-p", "-m", "--"] + [str(a) for a in argv]

    def run(self, argv, timeout=300, env=None, **kw):
        """``argv`` beside the cluster (in its namespace); text output."""
        return subprocess.run(self._ns(argv), env=env or self.env, capture_output=True,
                              text=True, timeout=timeout, **kw)

    def popen(self, argv, env=None, **kw):
        """``argv`` beside the cluster, started in a session of its own."""
        return subprocess.Popen(self._ns(argv), env=env or self.env, start_new_session=True,
                                **kw)

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    # ---- nodes
    def add_node(self, cpus):
        """Another node: a raylet of its own with ``cpus`` CPUs (``ray start --block``)."""
        log = open(self.root / f"node{len(self.nodes)}.log", "w")
        self.nodes.append(self.popen(["ray", "start", f"--address={self.address}",
                                      "--node-ip-address=127.0.0.1", f"--num-cpus={cpus}",
                                      "--disable-usage-stats", "--block"],
                                     stdout=log, stderr=subprocess.STDOUT))
        return self.nodes[-1]

    def alive_nodes(self):
        code = (f"import ray, logging\nray.init(address='{self.address}', logging_level=logging.ERROR)\n"
                "print(sum(n['Alive'] for n in ray.nodes()))")
        r = self.run([sys.executable, "-c", code], timeout=120)
        return int(r.stdout.split()[-1]) if r.returncode == 0 and r.stdout.split() else -1

    def wait_nodes(self, n, timeout=120):
        t = time.monotonic()
        while (got := self.alive_nodes()) != n:
            if time.monotonic() - t > timeout:
                raise RuntimeError(f"{got} live nodes, not {n}")
            time.sleep(1.0)

    def node_pids(self, k):
        """The processes of node ``k`` (its session): ``ray start``, raylet, agents, workers."""
        sid = self.nodes[k].pid
        return [int(p.name) for p in Path("/proc").iterdir()
                if p.name.isdigit() and _session(int(p.name)) == sid]

    def kill_node(self, k):
        """SIGKILL every process of node ``k``, as a machine that lost power."""
        for _ in range(20):
            pids = self.node_pids(k)
            if not pids:
                break
            for p in pids:
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.1)
        self.nodes[k].wait(timeout=30)

    # ---- the end
    def processes(self):
        """``[(pid, command)]`` of the namespace's processes but its first (:data:`REAPER`),
        read from ``/proc`` (a process is in it when its ``ns/pid`` link is the first
        process's): no command has to start inside a namespace that may be failing."""
        ns = os.readlink(f"/proc/{self.init}/ns/pid")
        found = []
        for p in Path("/proc").iterdir():
            if not p.name.isdigit() or int(p.name) == self.init:
                continue
            try:
                if os.readlink(p / "ns" / "pid") != ns:
                    continue
                cmd = (p / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:  # gone meanwhile
                continue
            if cmd.strip():  # a zombie has no command line
                found.append((int(p.name), cmd.strip()))
        return found

    def stop(self):
        """``ray stop --force``; returns its output."""
        r = self.run(["ray", "stop", "--force"], timeout=120)
        for n in self.nodes:
            try:
                n.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        return r

    def close(self):
        """End the namespace and with it every process still in it."""
        if getattr(self, "holder", None) is not None:
            os.killpg(self.holder.pid, signal.SIGKILL)
            self.holder.wait(timeout=30)
            for n in self.nodes:
                n.wait(timeout=30)
        shutil.rmtree(self.ray_tmp, ignore_errors=True)


# --------------------------------------------------------------------------- media
def make_media(folder):
    """Five photos (the astronaut three ways, a blank one, a file that is no image) and a
    60-frame video of two faces: one throughout, one that comes, leaves and comes back (three
    tracks)."""
    import cv2
    import skimage.data as skdata

    folder.mkdir(parents=True, exist_ok=True)
    a = skdata.astronaut()[..., ::-1]
    cv2.imwrite(str(folder / "a.jpg"), a)
    cv2.imwrite(str(folder / "b.png"), a[:, ::-1])
    cv2.imwrite(str(folder / "c.jpg"), cv2.resize(a, (300, 300)))
    cv2.imwrite(str(folder / "blank.png"), np.full((100, 100, 3), 128, np.uint8))
    (folder / "bad.jpg").write_bytes(b"not a jpeg")
    head = np.ascontiguousarray(a[20:240, 120:320])
    w = cv2.VideoWriter(str(folder / "two.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 25, (480, 270))
    for i in range(60):
        f = np.full((270, 480, 3), 90, np.uint8)
        f[20:240, 10 + i:210 + i] = head
        if 22 <= i < 38 or i >= 48:
            f[30:250, 270:470] = head[:, ::-1]
        w.write(f)
    w.release()
    return folder


#: A driver: ``python -c DRIVER OUT FOLDER ADDRESS WORKERS DELAY MARKS`` runs the engine with
#: video ranges of 10 frames; DELAY > 0 slows each analysed frame or photo by that many seconds
#: and touches MARKS/<node id>-<pid> when an actor has built its recognizer (defined here, in
#: ``__main__``, so that Ray sends the class itself to the actors).
DRIVER = """
import os, sys, time
from pathlib import Path
from fer_keras.faces import ray_engine as d

out, folder, address, workers, delay, marks = sys.argv[1:7]
delay = float(delay)

class SlowSpec(d.RecognizerSpec):
    def build(self):
        import ray
        rec, det = super().build()
        node = ray.get_runtime_context().get_node_id()
        (Path(marks) / f"{node}-{os.getpid()}").touch()
        plain = rec._analyse
        def slow(*a, **k):
            time.sleep(delay)
            return plain(*a, **k)
        rec._analyse = slow
        return rec, det

spec = SlowSpec() if delay > 0 else d.RecognizerSpec()
sys.exit(d.run(folder, out, spec=spec, settings=d.Settings(range_frames=10, batch_size=1),
               address=None if address == "local" else address,
               workers=None if workers == "all" else int(workers), progress=False))
"""
