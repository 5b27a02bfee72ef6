"""The HTTP API and the page: a FastAPI app over :class:`~fer_keras.serve.service.Service`.

==========================  ==================================================================
``GET /``                   the page (``static/index.html``: upload, drop, webcam snapshot;
                            boxes, score bars, explanation overlay); no build step, no CDN
``GET /favicon.ico``        the page's icon (SVG)
``GET /v1/health``          ``{"status": "ok", "pending", "workers", "uptime_s"}``, answered
                            on the event loop even while every worker is busy
``GET /v1/model``           name, file, input contract, parameters, explanation methods,
                            stored check verdicts
``POST /v1/faces``          an image (raw bytes, or multipart field ``image``) ->
                            ``{"faces": [Recognizer.detect records], "image", "model",
                            "contract"}``
``POST /v1/explain``        an image + ``face`` (index, default 0), ``method``, ``target``
                            (query or form fields) -> ``{"png": base64 PNG overlay, "verdict",
                            ...}``; ``?format=png``: the PNG itself
==========================  ==================================================================

Every error is a 4xx (or 503/500) with ``{"error": "one line"}``: 413 above
``max_upload_bytes`` (refused from ``Content-Length`` before reading, or as soon as a chunked
body passes it) or ``max_pixels``, 415 for what is not a readable image, 422 for a bad face
index, method or class, 503 when ``max_pending`` requests already wait. The work of a request
(decode, detect, classify, explain) runs in a thread pool of ``workers`` threads.
"""
from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import time
from importlib import resources

from fer_keras.errors import FerInputError

try:
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, Response
    from starlette.exceptions import HTTPException as StarletteHTTPException
except ImportError as _e:
    raise FerInputError(f"fer-keras serve needs FastAPI and uvicorn ({_e}): pip install "
                        "'fer_keras[serve]'") from None

from fer_keras.serve import uploads
from fer_keras.serve.config import ServeConfig
from fer_keras.serve.service import Service
from fer_keras.serve.uploads import UploadError

#: The page's files (``fer_keras/serve/static/``) and their media types.
STATIC = {"index.html": "text/html; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
          "style.css": "text/css; charset=utf-8"}
#: No inline script, nothing from another origin: even a string that escaped the page's
#: escaping could not run.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; "
                               "media-src 'self' blob:; object-src 'none'; base-uri 'none'; "
                               "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
MULTIPART_FIELDS = ("image", "file")


#: The page's icon, a smiling face in the page's green (``GET /favicon.ico``).
FAVICON = (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
           b'<circle cx="8" cy="8" r="7" fill="#2ee87d"/><circle cx="5.5" cy="6" r="1"/>'
           b'<circle cx="10.5" cy="6" r="1"/><path d="M4.5 9.5q3.5 3.5 7 0" fill="none" '
           b'stroke="#000" stroke-width="1.2"/></svg>')


async def _favicon():
    # browsers ask for it on every page load: a tiny face, not a 404 in the console
    return Response(FAVICON, media_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"})


def error(status, message):
    """``{"error": message}`` (one line) with HTTP ``status``."""
    return JSONResponse({"error": " ".join(str(message).split())[:300]}, status_code=status,
                        headers=SECURITY_HEADERS)


def _static(name):
    return (resources.files("fer_keras.serve") / "static" / name).read_bytes()


def create_app(*, model=None, config=None, detector=None, input_range=None, classes=None,
               service=None):
    """The ASGI app (FastAPI) serving ``model`` (see :class:`Service`: None / ``"pretrained"``,
    a path or a Keras classifier; ``input_range``, ``classes``: contract overrides;
    ``detector``: a face detector) under ``config`` (:class:`ServeConfig`). ``service``: an
    existing :class:`Service` instead of building one."""
    cfg = config or ServeConfig()
    svc = service or Service(model=model, config=cfg, detector=detector,
                             input_range=input_range, classes=classes)
    def new_pool():
        return concurrent.futures.ThreadPoolExecutor(cfg.workers, thread_name_prefix="fer-serve")

    state = {"pending": 0, "started": time.monotonic(), "served": 0, "pool": new_pool()}
    pages = {name: _static(name) for name in STATIC}  # read once: the package may move

    @contextlib.asynccontextmanager
    async def lifespan(app):
        if state["pool"] is None:  # served again after a shutdown (tests, notebooks)
            state["pool"] = new_pool()
        yield
        state["pool"].shutdown(wait=False, cancel_futures=True)  # Ctrl-C drops queued work
        state["pool"] = None

    app = FastAPI(title="fer_keras", version=_version(), docs_url=None, redoc_url=None,
                  openapi_url="/v1/openapi.json", lifespan=lifespan)
    app.state.service, app.state.config = svc, cfg

    @app.exception_handler(UploadError)
    async def _upload_error(request, exc):
        return error(exc.status, exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request, exc):
        return error(exc.status_code, f"{exc.detail}: {request.method} {request.url.path}")

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request, exc):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("query", "body"))
        return error(422, f"{where}: {first.get('msg', 'invalid request')}")

    @app.exception_handler(Exception)
    async def _internal_error(request, exc):
        return error(500, f"internal error ({type(exc).__name__}: {exc})")

    @app.middleware("http")
    async def _limits(request, call_next):
        if request.method == "POST":
            length = request.headers.get("content-length")
            if length is not None:
                if not length.isdigit():
                    return error(400, "bad Content-Length header")
                if int(length) > cfg.max_upload_bytes:
                    return error(413, f"upload of {int(length):,} bytes exceeds the limit of "
                                      f"{cfg.max_upload_bytes:,} bytes")
        response = await call_next(request)
        for k, v in SECURITY_HEADERS.items():
            response.headers.setdefault(k, v)
        return response

    async def in_pool(fn, *args):
        """``fn(*args)`` in the worker pool; 503 when ``max_pending`` jobs already wait."""
        if state["pending"] >= cfg.max_pending:
            raise UploadError(503, f"busy: {state['pending']} requests already wait; retry "
                                   "later")
        if state["pool"] is None:
            state["pool"] = new_pool()
        state["pending"] += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(state["pool"], fn, *args)
        finally:
            state["pending"] -= 1
            state["served"] += 1

    # ------------------------------------------------------------------ routes
    @app.get("/", include_in_schema=False)
    async def page():
        return Response(pages["index.html"], media_type=STATIC["index.html"])

    app.add_api_route("/favicon.ico", _favicon, include_in_schema=False)
    @app.get("/static/{name}", include_in_schema=False)
    async def static(name: str):
        if name not in STATIC or name == "index.html":
            return error(404, f"no such file: {name}")
        return Response(pages[name], media_type=STATIC[name],
                        headers={"Cache-Control": "no-cache"})

    @app.get("/v1/health")
    async def health():
        return {"status": "ok", "pending": state["pending"], "served": state["served"],
                "workers": cfg.workers,
                "uptime_s": round(time.monotonic() - state["started"], 1)}

    @app.get("/v1/model")
    async def model_info():
        return {**svc.model_info(), "limits": {"max_upload_bytes": cfg.max_upload_bytes,
                                               "max_pixels": cfg.max_pixels}}

    @app.post("/v1/faces")
    async def faces(request: Request):
        data, _ = await _read_image(request, cfg)
        return await in_pool(_faces, svc, data, cfg)

    @app.post("/v1/explain")
    async def explain(request: Request, face: int | None = None, method: str | None = None,
                      target: str | None = None, format: str = "json"):
        data, fields = await _read_image(request, cfg)
        face = _int_field("face", fields.get("face", face if face is not None else 0))
        method = fields.get("method", method)
        target = fields.get("target", target)
        if format not in ("json", "png"):
            raise UploadError(422, f"format must be json or png, got {format!r}")
        out = await in_pool(_explain, svc, data, cfg, face, method, target)
        if format == "png":
            v = out["verdict"]
            said = "none stored" if v is None else ("passed" if v["passed"] else
                                                    "failed " + ",".join(v["failed"]))
            return Response(out["png"], media_type="image/png",
                            headers={"X-Fer-Method": out["method"], "X-Fer-Class": out["class"],
                                     "X-Fer-Checks": said})
        out["png"] = "data:image/png;base64," + base64.b64encode(out["png"]).decode("ascii")
        return out

    return app


def _faces(svc, data, cfg):
    return svc.faces(uploads.decode(data, cfg.max_pixels, cfg.max_upload_bytes))


def _explain(svc, data, cfg, face, method, target):
    rgb = uploads.decode(data, cfg.max_pixels, cfg.max_upload_bytes)
    return svc.explain(rgb, face=face, method=method, target=target)


def _int_field(name, value):
    try:
        return int(str(value).strip())
    except ValueError:
        raise UploadError(422, f"{name} must be an integer, got {str(value)[:40]!r}") from None


async def _read_image(request, cfg):
    """(the image's bytes, other form fields) of a request: its whole body (raw bytes), or the
    ``image`` (or ``file``) part of a multipart form. The body is read in chunks and refused
    with 413 as soon as it passes ``max_upload_bytes``."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cfg.max_upload_bytes:
            raise UploadError(413, f"upload exceeds the limit of {cfg.max_upload_bytes:,} bytes")
        chunks.append(chunk)
    body = b"".join(chunks)
    ctype = request.headers.get("content-type", "")
    if not ctype.startswith("multipart/form-data"):
        return body, {}
    request._body = body  # starlette parses the form from the body already read
    try:
        form = await request.form(max_files=2, max_fields=20)
    except Exception as e:  # noqa: BLE001  (any parser complaint is the client's malformed form)
        raise UploadError(400, f"malformed multipart form ({' '.join(str(e).split())[:100]})") \
            from None
    fields, data = {}, None
    for key, value in form.multi_items():
        if hasattr(value, "read"):
            if data is None and key in MULTIPART_FIELDS:
                data = await value.read()
        else:
            fields[key] = value
    await form.close()
    if data is None:
        raise UploadError(400, "the multipart form has no file field named 'image'")
    return data, fields


def _version():
    import fer_keras

    return fer_keras.__version__


@contextlib.contextmanager
def running(app, *, host="127.0.0.1", port=0):
    """Serve ``app`` with uvicorn in a background thread of this process (tests, notebooks):
    ``with running(app) as url: ...`` gives ``http://host:port`` (``port=0``: a free one) and
    stops the server on exit."""
    import threading

    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                           access_log=False, timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, name="fer-serve-uvicorn", daemon=True)
    thread.start()
    t0 = time.monotonic()
    while not server.started:
        if not thread.is_alive() or time.monotonic() - t0 > 60:
            raise RuntimeError(f"uvicorn did not start on {host}:{port}")
        time.sleep(0.02)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def run(*, model=None, config=None, input_range=None, classes=None, log=print):
    """Serve until Ctrl-C (uvicorn, one process): the app of :func:`create_app`. ``log``
    receives the one line that says where."""
    import uvicorn

    cfg = config or ServeConfig()
    app = create_app(model=model, config=cfg, input_range=input_range, classes=classes)
    server = uvicorn.Server(uvicorn.Config(app, host=cfg.host, port=cfg.port, log_level="warning",
                                           access_log=False, server_header=False,
                                           timeout_graceful_shutdown=5))
    host = f"[{cfg.host}]" if ":" in cfg.host else cfg.host
    log(f"fer-keras serve: http://{host}:{cfg.port}/ (model {app.state.service.name}; Ctrl-C "
        "stops)")
    server.run()
    return 0
