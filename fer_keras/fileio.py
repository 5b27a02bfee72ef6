"""Atomic file writes: a kill at any moment leaves the previous good file in place."""
import contextlib
import json
import os
import tempfile
from pathlib import Path

from fer_keras.errors import FerInputError, FerOutputError


def _umask():
    mask = os.umask(0o022)  # read it (at import, before any threads) and put it back
    os.umask(mask)
    return mask


_NEW_FILE_MODE = 0o666 & ~_umask()


@contextlib.contextmanager
def atomic_path(path, suffix=None):
    """Yield a temporary path in the same folder as ``path``; rename it over ``path`` on success.

    The temporary file keeps ``path``'s suffix (Keras insists on ``.keras``) unless ``suffix`` is
    given. On error the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.",
                                   suffix=suffix or path.suffix or ".tmp", dir=path.parent)
    except OSError as e:
        raise _output_error(path, e) from e
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        # mkstemp makes the file 0600; give it the mode a plain open() would (or the old file's)
        try:
            mode = path.stat().st_mode & 0o7777
        except OSError:
            mode = _NEW_FILE_MODE
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        if isinstance(e, OSError) and not isinstance(e, FerOutputError):
            raise _output_error(path, e) from e
        raise


def _output_error(path, e):
    """A one-line :class:`FerOutputError` naming ``path`` and why it cannot be written."""
    why = e.strerror or str(e)
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                why = f"{parent} is a file, not a folder"
            break
    if path.is_dir():
        why = "a folder of that name is in the way"
    return FerOutputError(f"cannot write the file ({why})", file=path)


def write_bytes(path, data):
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)


def write_text(path, text):
    write_bytes(path, text.encode("utf-8"))


def write_json(path, obj):
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def _json_default(o):
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def save_npz(path, **arrays):
    import numpy as np

    with atomic_path(path, suffix=".npz") as tmp:
        np.savez(tmp, **arrays)


def save_model(model, path):
    """Save a Keras model to ``path`` (.keras) atomically."""
    with atomic_path(path, suffix=".keras") as tmp:
        model.save(tmp)


def read_json(path, kind=dict, what="file"):
    """Parse the JSON file ``path`` and check that its top level is a ``kind`` (dict or list).

    Raises :class:`~fer_keras.errors.FerInputError` (one line naming ``path``) for a missing,
    unreadable, truncated or hand-edited file whose top level is of another type. ``what`` names
    the file's role in the message ("run config", "run state"...).
    """
    from fer_keras.errors import FerInputError

    path = Path(path)
    try:
        raw = json.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise FerInputError(f"no {what} here", file=path) from None
    except OSError as e:
        raise FerInputError(f"cannot read the {what} ({e.strerror or e})", file=path) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        why = f"line {e.lineno}: {e.msg}" if isinstance(e, json.JSONDecodeError) else "not UTF-8"
        raise FerInputError(f"the {what} is not valid JSON ({why}); truncated or edited by hand?",
                            file=path) from None
    if not isinstance(raw, kind):
        want = "an object {...}" if kind is dict else "a list [...]"
        raise FerInputError(f"the {what} must be {want}, found a JSON {type(raw).__name__}",
                            file=path)
    return raw


def check_not_input(out, *inputs, flag="--out"):
    """Refuse (one-line :class:`~fer_keras.errors.FerOutputError`) an output path that is one of
    the ``inputs`` (the same file, by path or by hard/symbolic link) or lies inside an input
    folder's data: an output must never overwrite what the command reads."""
    out = Path(out)
    for src in inputs:
        if src is None or str(src) == "synthetic":
            continue
        src = Path(src)
        try:
            same = out.exists() and src.exists() and os.path.samefile(out, src)
        except OSError:
            same = False
        if same or out.resolve() == src.resolve():
            raise FerOutputError(f"{flag} is the input file {str(src)!r}: it would be "
                                 "overwritten; choose another output", file=out)
    return out


def check_out_dir(out):
    """The output folder ``out`` as a :class:`~pathlib.Path`, created if missing; a one-line
    :class:`~fer_keras.errors.FerInputError` when a file is in its way, it cannot be created or
    it is not writable (checked before any work, so that no work is lost)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise FerInputError("the output folder is an existing file; choose another --out",
                            file=out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise FerInputError(f"cannot create the output folder ({e.strerror})", file=out) from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise FerInputError("output folder is not writable", file=out)
    return out


@contextlib.contextmanager
def native_stderr():
    """Capture what C libraries (OpenCV, FFmpeg) write straight to file descriptor 2 inside the
    block; yields a list that receives the captured lines (stripped, empty ones dropped) when
    the block ends. Python's own ``sys.stderr`` is flushed first and keeps working afterwards.
    Such lines (FFmpeg's ``moov atom not found`` for a truncated .mp4) would otherwise appear
    before the one line the user is owed; the caller folds them into it, or drops them."""
    import sys

    lines = []
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (an embedding host): nothing to capture
        yield lines
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            text = sink.read().decode("utf-8", "replace")
            lines.extend(s.strip() for s in text.splitlines() if s.strip())
