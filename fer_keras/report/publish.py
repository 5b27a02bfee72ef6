"""A report, made small enough to commit: ``report.md``, ``report.json`` and the figures it
links, each PNG downscaled (:func:`publish`; ``fer-keras report --publish DIR``,
``make docs-report``)."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

from fer_keras.errors import FerInputError

#: Longest side of a published figure, pixels.
MAX_SIDE = 900


def check_dest(dest):
    """:class:`FerInputError` unless ``dest`` is absent, an empty folder or a published report
    (so that a report run refuses a wrong ``--publish`` before any work)."""
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise FerInputError("--publish names an existing file; give a folder", file=dest)
    if dest.is_dir() and any(dest.iterdir()) and not (dest / "report.md").is_file():
        raise FerInputError("--publish: not a published report (no report.md), refusing to "
                            "replace it", file=dest)


_ABSOLUTE = re.compile(r"(?<![\w.:/~-])/(?:[\w.+-]+/)*[\w.+-]+")


def relative_paths(text, start=None):
    """``text`` with every absolute path of this machine that exists replaced by its path
    relative to ``start`` (default: the working directory), so that a published report names
    no machine's folders (``/home/me/fer/out/x`` -> ``out/x``, the data -> ``../shared/...``);
    URLs and paths that do not exist are left as they are."""
    import os

    start = os.getcwd() if start is None else str(start)

    def rel(m):
        p = m.group(0)
        return os.path.relpath(p, start) if len(p) > 1 and os.path.exists(p) else p

    return _ABSOLUTE.sub(rel, text)


def publish(out, dest, max_side=MAX_SIDE):
    """Copy the report of folder ``out`` to ``dest``: ``report.md`` and ``report.json`` with
    the machine's absolute paths made relative (:func:`relative_paths`), and every figure ``report.md`` links, downscaled so that its longer side is at
    most ``max_side`` pixels and written as an optimised 8-bit palette PNG. ``dest`` is
    replaced as a whole (a folder that is not a published report is refused). Returns
    ``{"files": n, "bytes": total size}``."""
    from PIL import Image

    from fer_keras.fileio import write_text

    out, dest = Path(out), Path(dest)
    md_path = out / "report.md"
    if not md_path.is_file():
        raise FerInputError("no report.md here: build the report first", file=out)
    check_dest(dest)
    md = md_path.read_text(encoding="utf-8")
    links = sorted(set(re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)))
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for link in links:
        src = (out / link).resolve()
        if not src.is_file() or out.resolve() not in src.parents:
            raise FerInputError(f"report.md links a missing figure {link!r}", file=md_path)
        target = tmp / link
        target.parent.mkdir(parents=True, exist_ok=True)
        with Image.open(src) as img:
            img = img.convert("RGB")
            img.thumbnail((max_side, max_side), Image.LANCZOS)
            img.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(
                target, format="PNG", optimize=True)
    write_text(tmp / "report.md", relative_paths(md))
    if (out / "report.json").is_file():
        write_text(tmp / "report.json",
                   relative_paths((out / "report.json").read_text(encoding="utf-8")))
    if dest.exists():
        shutil.rmtree(dest)
    tmp.rename(dest)
    files = [p for p in dest.rglob("*") if p.is_file()]
    return {"files": len(files), "bytes": sum(p.stat().st_size for p in files)}
