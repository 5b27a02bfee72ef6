"""``fer-keras serve``: an HTTP API and one web page for a face-expression model.

``create_app(model=..., config=ServeConfig(...))`` builds the ASGI app (FastAPI; the routes are
listed in :mod:`fer_keras.serve.app`), ``run(model=..., config=...)`` serves it with uvicorn.
What it computes lives in :class:`fer_keras.serve.service.Service` (no HTTP), the decoding of
untrusted uploads in :mod:`fer_keras.serve.uploads`, the page in ``static/`` (plain HTML, CSS and
JavaScript: no build step, nothing fetched from elsewhere). FastAPI and uvicorn are the optional
extra ``fer_keras[serve]`` and are imported only by :mod:`fer_keras.serve.app`.
"""
import importlib

from fer_keras.serve.config import ServeConfig

_LAZY = {"create_app": "app", "run": "app", "Service": "service", "explain_methods": "service"}

__all__ = ["ServeConfig", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'fer_keras.serve' has no attribute {name!r}")
