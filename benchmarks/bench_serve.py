"""The HTTP API under load (issue 29): ``python -m benchmarks.bench_serve``.

Starts ``fer-keras serve`` (the shipped model, default settings) in its own process on a free
localhost port, makes photos at run time by pasting real FER2013 test faces (PublicTest,
``../shared/data/fer2013/test``; 1-3 faces, upscaled 2-4x, on 640x480 noise, JPEG), and sends
``requests`` ``POST /v1/faces`` from ``clients`` concurrent clients (one keep-alive connection
each). Reports throughput, latency percentiles, errors (any answer but 200 with a face list, or
a connection error) and lost requests (sent without any answer), and meanwhile polls
``/v1/health`` to show that it stays answered while every inference worker is busy. Nothing is
written to disk but a temporary folder.

``run(reps=1)`` returns rows ``{"name", "requests", "clients", "throughput_per_s", "p50_ms",
"p99_ms", "max_ms", "errors", "lost", "note"}``.
"""
from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from benchmarks import print_table

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FER_SHARED", REPO.parent / "shared"))
FER_TEST = SHARED / "data" / "fer2013" / "test"


def make_photos(n=24, seed=0, folder=FER_TEST):
    """``n`` JPEG photos (bytes) of 1-3 real FER2013 test faces each, and their face counts."""
    import cv2
    from PIL import Image

    from fer_keras.faces.scenes import paste_faces

    files = sorted(folder.glob("*/*.jpg"))
    if not files:
        raise FileNotFoundError(f"no FER2013 test images under {folder}")
    rng = np.random.default_rng(seed)
    photos, counts = [], []
    for k in range(n):
        pick = rng.choice(len(files), int(rng.integers(1, 4)), replace=False)
        faces = [np.asarray(Image.open(files[i]).convert("L")) for i in pick]
        grey, boxes = paste_faces(faces, canvas=(480, 640), upscale=(2, 4), seed=seed + k)
        ok, jpg = cv2.imencode(".jpg", grey, [cv2.IMWRITE_JPEG_QUALITY, 90])
        photos.append(jpg.tobytes())
        counts.append(len(boxes))
    return photos, counts


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port, path, timeout=5):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def start_server(workers=None, timeout=300):
    """(the ``fer-keras serve`` process, its port) once ``/v1/health`` answers."""
    port = _free_port()
    cmd = [sys.executable, "-m", "fer_keras", "serve", "--port", str(port)]
    if workers:
        cmd += ["--workers", str(workers)]
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"fer-keras serve exited: {proc.stderr.read()[-500:]}")
        try:
            if _get(port, "/v1/health", timeout=2)[0] == 200:
                return proc, port
        except OSError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"fer-keras serve did not answer within {timeout} s")


def stop_server(proc):
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _cpu_seconds(pid):
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def load_test(port, photos, requests=200, clients=16, timeout=120):
    """Send ``requests`` POST /v1/faces from ``clients`` threads; one record per request."""
    lock, issued, records = threading.Lock(), [0], []

    def client(_):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        while True:
            with lock:
                if issued[0] >= requests:
                    break
                k = issued[0]
                issued[0] += 1
            body = photos[k % len(photos)]
            rec = {"k": k, "answered": False, "ok": False}
            t = time.perf_counter()
            try:
                conn.request("POST", "/v1/faces", body=body,
                             headers={"Content-Type": "image/jpeg"})
                r = conn.getresponse()
                data = r.read()
                rec["answered"] = True
                rec["status"] = r.status
                out = json.loads(data)
                rec["faces"] = len(out["faces"]) if r.status == 200 else None
                rec["ok"] = r.status == 200 and isinstance(out.get("faces"), list)
            except Exception as e:  # noqa: BLE001  (counted as an error, the run goes on)
                rec["error"] = f"{type(e).__name__}: {e}"
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
            rec["seconds"] = time.perf_counter() - t
            with lock:
                records.append(rec)
        conn.close()

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(clients)))
    return records, time.perf_counter() - t0, issued[0]


def _poll_health(port, stop, out):
    while not stop.is_set():
        t = time.perf_counter()
        try:
            ok = _get(port, "/v1/health", timeout=10)[0] == 200
        except OSError:
            ok = False
        out.append((time.perf_counter() - t, ok))
        stop.wait(0.1)


def _pct(values, q):
    return float(np.percentile(np.asarray(values) * 1e3, q)) if values else None


def run(reps=1, log=print, requests=200, clients=16, workers=None):
    try:
        photos, counts = make_photos()
    except (FileNotFoundError, ImportError) as e:
        return [{"name": "POST /v1/faces under load", "note": f"not measured: {e}"}]
    proc, port = start_server(workers)
    try:
        for body in photos[:4]:  # warm-up (the first calls build the detectors per thread)
            load_test(port, [body], requests=1, clients=1)
        health, stop = [], threading.Event()
        poller = threading.Thread(target=_poll_health, args=(port, stop, health), daemon=True)
        cpu0 = _cpu_seconds(proc.pid)
        poller.start()
        records, wall, issued = load_test(port, photos, requests, clients)
        stop.set()
        poller.join()
        cpu1 = _cpu_seconds(proc.pid)
        alive = proc.poll() is None and _get(port, "/v1/health")[0] == 200
    finally:
        stop_server(proc)
    lat = [r["seconds"] for r in records if r["ok"]]
    errors = sum(not r["ok"] for r in records)
    lost = issued - sum(r["answered"] for r in records)
    found = sum(r["faces"] or 0 for r in records if r["ok"])
    pasted = sum(counts[r["k"] % len(counts)] for r in records if r["ok"])
    cpu = f"; server CPU {1e3 * (cpu1 - cpu0) / max(1, len(lat)):.0f} ms a request" \
        if cpu0 is not None and cpu1 is not None else ""
    first_err = next((r.get("error") or r.get("status") for r in records if not r["ok"]), None)
    row = {"name": "POST /v1/faces, 640x480 JPEG, shipped model", "requests": issued,
           "clients": clients, "throughput_per_s": len(lat) / wall,
           "p50_ms": _pct(lat, 50), "p99_ms": _pct(lat, 99), "max_ms": _pct(lat, 100),
           "errors": errors, "lost": lost,
           "note": (f"{len(photos)} photos of {sum(counts)} pasted PublicTest faces, "
                    f"{found} of {pasted} faces found{cpu}; server alive after: {alive}"
                    + (f"; first error: {first_err}" if first_err else ""))}
    log(row)
    h = [s for s, ok in health if ok]
    hrow = {"name": "GET /v1/health during that load", "requests": len(health), "clients": 1,
            "throughput_per_s": None, "p50_ms": _pct(h, 50), "p99_ms": _pct(h, 99),
            "max_ms": _pct(h, 100), "errors": sum(not ok for _, ok in health), "lost": 0,
            "note": "polled every 0.1 s while the workers were busy: answered on the event "
                    "loop, not queued behind inference"}
    log(hrow)
    return [row, hrow]


def main():
    import platform

    import keras

    import fer_keras

    rows = run(log=lambda r: None)
    print(f"python -m benchmarks.bench_serve on {time.strftime('%Y-%m-%d %H:%M %Z')}, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load "
          f"{os.getloadavg()[0]:.2f}; Python {platform.python_version()}, Keras "
          f"{keras.__version__} ({keras.backend.backend()}), fer_keras {fer_keras.__version__}")
    print_table(rows)
    return 0 if all(r.get("errors", 0) == 0 and r.get("lost", 0) == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
