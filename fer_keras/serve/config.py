"""The settings of ``fer-keras serve``: one small frozen dataclass, owned by the server."""
from __future__ import annotations

import dataclasses

from fer_keras.errors import FerInputError

LOCALHOST = "127.0.0.1"


@dataclasses.dataclass(frozen=True)
class ServeConfig:
    """How the server listens and what it accepts.

    host, port: where uvicorn listens; 127.0.0.1 by default, so that only this machine reaches
        it (there is no authentication: give another host only on a network you trust).
    max_upload_bytes: the largest request body (10 MB); larger: 413 before it is read whole.
    max_pixels: the largest image (width x height) that is decoded (50 MP: a 48 MP phone photo
        passes; a decompression bomb or a 30000x30000 PNG header does not). Checked from the
        image header, before any pixel is decoded.
    workers: threads of the inference pool (decode, detect, classify, explain); the event loop
        that answers ``/v1/health`` never waits for them.
    max_pending: requests waiting for or in the pool beyond which new ones get 503 at once
        (a flood queues no unbounded work).
    checks: a ``checks.json`` written by ``fer-keras explain checks`` for this model (its
        verdicts are returned with each explanation); default: the one stored beside the
        model file, if any (:func:`fer_keras.serve.service.find_checks`).
    smoothgrad_samples: SmoothGrad's noisy copies per explanation.
    """

    host: str = LOCALHOST
    port: int = 8000
    max_upload_bytes: int = 10_000_000
    max_pixels: int = 50_000_000
    workers: int = 2
    max_pending: int = 64
    checks: str | None = None
    smoothgrad_samples: int = 20

    def __post_init__(self):
        from fer_keras.config import check_number

        check_number("port", self.port, 0, 65535, integer=True)
        check_number("max_upload_bytes", self.max_upload_bytes, 1, 2 ** 31, integer=True)
        check_number("max_pixels", self.max_pixels, 1, 2 ** 31, integer=True)
        check_number("workers", self.workers, 1, 64, integer=True)
        check_number("max_pending", self.max_pending, 1, 100_000, integer=True)
        check_number("smoothgrad_samples", self.smoothgrad_samples, 1, 1000, integer=True)
        if not isinstance(self.host, str) or not self.host.strip() or any(
                c.isspace() or not c.isprintable() for c in self.host):
            raise FerInputError(f"--host must be a host name or address, got {self.host!r}")

    def to_json(self):
        return dataclasses.asdict(self)
