"""The Ray side of ``fer-keras predict --engine ray`` (:mod:`fer_keras.faces.ray_engine`): joining
a cluster quietly and with its token (:func:`init_ray`), and a pool of recognizer actors that
survives lost processes and lost nodes (:class:`ActorPool`), and the manifest and shards that
survive a lost driver (:func:`read_manifest`, :func:`write_shard`, :func:`append_manifest`).

**Authentication.** Ray >= 2.60 refuses a node or a driver without the cluster's token: the
driver reads it from ``RAY_AUTH_TOKEN`` (or the file ``RAY_AUTH_TOKEN_PATH``, or
``~/.ray/auth_token``), as ``ray start`` does (docs/cluster.md). A local cluster started here
gets a token of its own in this process's environment, none written to ``~/.ray``.

**Output.** Ray's log lines stay off the terminal: its Python loggers at ERROR, the workers'
output not forwarded (``log_to_driver=False``), the C++ core at ERROR (``RAY_BACKEND_LOG_LEVEL``,
unless set), and file descriptor 2 sent aside while Ray starts, when its core prints before any
setting applies.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from fer_keras.errors import FerInputError

#: Ray's own log lines off the terminal: our progress line is the only output. The C++ core
#: (WARNING "cannot determine the local address" where no route leaves the machine, ...) reads
#: the first; a user who wants Ray's logs sets it (``RAY_BACKEND_LOG_LEVEL=info``).
QUIET_ENV = {"RAY_BACKEND_LOG_LEVEL": "error", "RAY_USAGE_STATS_ENABLED": "0"}


class _QuietStderr:
    """File descriptor 2 sent to a temporary file while Ray starts: its C++ core writes a few
    lines there before any log setting applies (where this machine's address is looked up, the
    log level itself). ``text`` holds them afterwards."""

    def __enter__(self):
        import tempfile

        sys.stderr.flush()
        self.file = tempfile.TemporaryFile()
        self.saved = os.dup(2)
        os.dup2(self.file.fileno(), 2)
        return self

    def __exit__(self, *exc):
        os.dup2(self.saved, 2)
        os.close(self.saved)
        self.file.seek(0)
        self.text = self.file.read().decode(errors="replace")
        self.file.close()
        return False


def one_line(error, limit=300):
    """``error`` in one line of at most ``limit`` characters: its message's first line, and its
    last when the message goes on (Ray Client sends the server's traceback after a first line
    that names no cause)."""
    lines = [ln.strip() for ln in str(error).splitlines() if ln.strip()]
    if not lines:
        return error.__class__.__name__
    text = lines[0] if len(lines) == 1 else f"{lines[0].rstrip(':')}: {lines[-1]}"
    return text if len(text) <= limit else text[:limit - 3] + "..."


#: Tries of a Ray Client join whose server failed to start (:func:`_join`), and the pause
#: between them in seconds.
CLIENT_TRIES, CLIENT_PAUSE = 3, 2.0


def _join(ray, address, kw):
    """``ray.init(address=address)``. Through Ray Client (``ray://``) the head starts a server
    process for this driver, and on a busy head that start can fail or miss its 30 s
    ("Initialization failure from server"; one join in four under load in the tests' cluster):
    such a join is tried :data:`CLIENT_TRIES` times. Any other failure is raised at once."""
    for attempt in range(1, CLIENT_TRIES + 1):
        try:
            with _QuietStderr():
                return ray.init(address=address, **kw)
        except ConnectionError as e:
            transient = (str(address).startswith("ray://")
                         and "Initialization failure from server" in str(e))
            if not transient or attempt == CLIENT_TRIES:
                raise
            ray.shutdown()
            time.sleep(CLIENT_PAUSE)


def init_ray(address, workers):
    """Join the cluster at ``address`` (None: start a local one of ``workers`` CPUs, the token
    of its authentication kept in this process's environment, not in ~/.ray). Returns (ray,
    whether this call started Ray here, the environment keys it set)."""
    import logging
    import secrets

    for k, v in QUIET_ENV.items():
        os.environ.setdefault(k, v)
    set_env = []
    import ray

    if ray.is_initialized():
        return ray, False, set_env
    kw = dict(logging_level=logging.ERROR, log_to_driver=False)
    if address:
        try:
            _join(ray, address, kw)
        except Exception as e:  # noqa: BLE001 - Ray raises many kinds; each is one line here
            from ray.exceptions import AuthenticationError

            why = ("it wants the cluster's token, in RAY_AUTH_TOKEN or the file RAY_AUTH_TOKEN_PATH "
                   "(docs/cluster.md)" if isinstance(e, AuthenticationError) else one_line(e))
            raise FerInputError(f"cannot join the Ray cluster at --address {address}: {why}") \
                from None
        return ray, True, set_env
    token_known = ("RAY_AUTH_TOKEN" in os.environ or "RAY_AUTH_TOKEN_PATH" in os.environ
                   or (Path.home() / ".ray" / "auth_token").is_file())
    if os.environ.get("RAY_AUTH_MODE", "token") == "token" and not token_known:
        os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)  # a token for this run only
        set_env.append("RAY_AUTH_TOKEN")
    with _QuietStderr():
        ray.init(num_cpus=workers or os.cpu_count(), include_dashboard=False, **kw)
    return ray, True, set_env



class ActorPool:
    """``workers`` actors of class ``actor`` (:class:`~fer_keras.faces.ray_engine.FaceActor`:
    ``actor(spec, settings)``, a ``ready()`` method), one CPU each, spread over the cluster's
    nodes, each with up to ``depth`` calls in flight. A call whose actor died (process or node
    lost) is given to another live actor, at most ``attempts`` times; a dead actor gets no more
    work until Ray has restarted it (its ``ready()`` answers), so a job finishes on the nodes
    that are left even when the lost one's actor cannot be placed again. ``nodes``: the ids of
    the nodes that held a live actor."""

    def __init__(self, ray, actor, spec, settings, workers, depth=2, attempts=4):
        from ray import exceptions as rx

        self.ray, self.depth, self.attempts = ray, depth, attempts
        self.lost = (rx.RayActorError, rx.ObjectLostError, rx.NodeDiedError,
                     rx.WorkerCrashedError)
        cls = ray.remote(actor).options(
            num_cpus=1, max_restarts=-1, max_task_retries=0, scheduling_strategy="SPREAD")
        self.actors = [cls.remote(spec, settings) for _ in range(workers)]
        self.calls = {}  # ref -> (actor index, method, payload, tries)
        self.probes = {a.ready.remote(): k for k, a in enumerate(self.actors)}
        self.live, self.busy, self.nodes = set(), [0] * workers, set()

    def submit(self, method, payload, tries=0):
        """Start ``method(*payload)`` on the least busy live actor; False when all are full."""
        free = [k for k in self.live if self.busy[k] < self.depth]
        if not free:
            return False
        k = min(free, key=lambda i: (self.busy[i], i))
        ref = getattr(self.actors[k], method).remote(*payload)
        self.calls[ref] = (k, method, payload, tries)
        self.busy[k] += 1
        return True

    def wait(self, retry):
        """Block until a call or a restart finishes; returns ``[(method, payload, result)]`` of
        the finished calls. A call lost with its actor goes to ``retry(method, payload, tries)``
        (raises RuntimeError after ``attempts`` tries)."""
        refs = list(self.calls) + list(self.probes)
        if not refs:
            raise RuntimeError("no worker is left to run the job")
        ready, _ = self.ray.wait(refs, num_returns=1, timeout=None)
        ready, _ = self.ray.wait(refs, num_returns=len(refs), timeout=0) if ready else ([], 0)
        done = []
        for ref in ready:
            if ref in self.probes:
                k = self.probes.pop(ref)
                try:
                    failure, node, _ = self.ray.get(ref)
                except self.lost:  # died again while starting: ask once more
                    self.probes[self.actors[k].ready.remote()] = k
                    continue
                if failure and "bug" in failure:
                    raise RuntimeError(f"a worker could not build its recognizer: "
                                       f"{failure['bug']}")
                if failure:
                    raise FerInputError(failure["problem"], file=failure["file"])
                self.live.add(k)
                self.nodes.add(node)
                continue
            k, method, payload, tries = self.calls.pop(ref)
            self.busy[k] -= 1
            try:
                done.append((method, payload, self.ray.get(ref)))
            except self.lost as e:
                if k in self.live:
                    self.live.discard(k)
                    self.probes[self.actors[k].ready.remote()] = k
                if tries + 1 >= self.attempts:
                    raise RuntimeError(f"a {method} call failed {tries + 1} times, each time "
                                       f"with its worker lost ({e.__class__.__name__})") from None
                retry(method, payload, tries + 1)
        return done

    def close(self):
        for a in self.actors:
            self.ray.kill(a)


def progress_bar(progress, stderr):
    """The one progress line (tqdm, redrawn in place, cleared at the end) over the units:
    ``progress`` True shows it, None only when ``stderr`` is a terminal."""
    from tqdm import tqdm

    show = progress is True or (progress is None and stderr.isatty())
    return tqdm(total=0, unit="unit", desc="ray", disable=not show, file=stderr, leave=False,
                dynamic_ncols=True)


# --------------------------------------------------------------------------- the manifest
def read_manifest(out):
    """``{unit: its latest entry}`` of ``out/manifest.jsonl`` (empty without one)."""
    path, latest = out / "manifest.jsonl", {}
    for line in path.read_text().splitlines() if path.is_file() else []:
        try:
            e = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by a crash: its unit is simply done again
        latest[e["unit"]] = e
    return latest


def write_shard(out, units, seq):
    """Write the rows ``{unit: [row dict]}`` to a new Parquet shard under ``out/parts/``
    (written whole, then renamed into place); returns its name."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from fer_keras.fileio import atomic_path

    name = f"part-{os.getpid()}-{int(time.time() * 1e3)}-{seq:05d}.parquet"
    rows = [r for rs in units.values() for r in rs]
    table = pa.Table.from_pylist(rows) if rows else pa.table({"unit": pa.array([], pa.string())})
    with atomic_path(out / "parts" / name) as tmp:
        pq.write_table(table, tmp)
    return name


def append_manifest(out, entries):
    """Append ``entries`` (dicts, one JSON line each) to ``out/manifest.jsonl``, synced to disk."""
    with open(out / "manifest.jsonl", "a", encoding="utf-8") as f:
        for e in entries:
            f.write(json.dumps(e, sort_keys=True) + "\n")
        f.flush()
        os.fsync(f.fileno())
