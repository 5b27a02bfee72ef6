"""``fer-keras serve``: the HTTP API and the web page (:mod:`fer_keras.serve`)."""
from __future__ import annotations

from fer_keras.cli.common import add_contract_flags, positive_int


def add_serve(sub):
    """``fer-keras serve [--model M|pretrained] [--host H] [--port P] [--workers N]
    [--max-upload-mb MB] [--checks FILE]``."""
    from fer_keras.serve.config import ServeConfig

    d = ServeConfig()
    s = sub.add_parser("serve", help="a web page and an HTTP API for the faces of a photo "
                       "(needs fer_keras[serve])")
    s.add_argument("--model", default="pretrained",
                   help="a .keras file (or .h5, SavedModel folder), or 'pretrained' for the "
                        "shipped model (default)")
    add_contract_flags(s)
    s.add_argument("--host", default=d.host,
                   help=f"address to listen on (default {d.host}: this machine only; there is "
                        "no authentication)")
    s.add_argument("--port", type=int, default=d.port, help=f"default {d.port}")
    s.add_argument("--workers", type=positive_int, default=d.workers,
                   help=f"inference threads (default {d.workers})")
    s.add_argument("--max-upload-mb", type=float, default=d.max_upload_bytes / 1e6,
                   help=f"largest upload in MB (default {d.max_upload_bytes / 1e6:g})")
    s.add_argument("--checks", help="a checks.json of `fer-keras explain checks` for this "
                   "model (default: the one stored beside the model file, if any)")
    s.set_defaults(func=cmd_serve)


def cmd_serve(args):
    import math
    import socket

    from fer_keras.errors import FerInputError
    from fer_keras.serve.config import ServeConfig

    if not (math.isfinite(args.max_upload_mb) and 0 < args.max_upload_mb <= 2000):
        raise FerInputError(f"--max-upload-mb must be in (0, 2000], got {args.max_upload_mb!r}")
    cfg = ServeConfig(host=args.host, port=args.port, workers=args.workers,
                      max_upload_bytes=int(args.max_upload_mb * 1e6), checks=args.checks)
    if args.checks is not None:
        from pathlib import Path

        if not Path(args.checks).is_file():
            raise FerInputError("no such checks file", file=args.checks, entry="--checks")
    # a taken port or an unknown host: one line now, not uvicorn's log after the model loaded
    try:
        infos = socket.getaddrinfo(cfg.host, cfg.port, type=socket.SOCK_STREAM)
        with socket.socket(infos[0][0], socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(infos[0][4])
    except OSError as e:
        raise FerInputError(f"cannot listen on {cfg.host}:{cfg.port} ({e.strerror or e})",
                            entry="--host/--port") from None
    from fer_keras.serve.app import run

    if cfg.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"note: listening on {cfg.host}: other machines can reach this server, and it has "
              "no authentication", flush=True)
    return run(model=args.model, config=cfg, input_range=args.input_range,
               classes=args.classes, log=lambda line: print(line, flush=True))
