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
    check_free(path, flag="output")
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
        _record(path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        if isinstance(e, OSError) and not isinstance(e, FerOutputError):
            raise _output_error(path, e) from e
        raise


# --------------------------------------------------------------------------- whose file is it
#: While :func:`keep_users_files` is active (a command of the CLI): ``ledger``, the JSON file of
#: the files fer_keras wrote, ``{absolute path: [size, mtime_ns, inode]}``, ``known``, its
#: entries, and ``force``. Always: ``written``, what this process wrote (as the library or as
#: a command), entered into the ledger when a command ends.
_GUARD = {"ledger": None, "force": False, "known": {}, "written": {}}


def _stamp(path):
    st = os.stat(path)
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def _key(path):
    return os.path.abspath(path)


def _ours(path):
    """Whether the file ``path`` is as fer_keras left it: written by this process, or by an
    earlier command and unchanged since (same size, modification time and inode)."""
    key = _key(path)
    try:
        stamp = _stamp(path)
    except OSError:
        return False
    return stamp in (_GUARD["written"].get(key), _GUARD["known"].get(key))


def check_free(path, flag="--out"):
    """Refuse (one-line :class:`FerOutputError`) to let a command replace ``path`` when a file
    is there that fer_keras did not write, or that was changed since (a file of the user's),
    unless the command was given ``--force``. No-op outside :func:`keep_users_files` (library
    calls write where they are told). Called before any work for each named output, and by
    every atomic write (:func:`atomic_path`) as the last guard."""
    if _GUARD["ledger"] is None or _GUARD["force"] or not os.path.lexists(path):
        return
    if os.path.isdir(path) or _ours(path):
        return
    if os.path.dirname(_key(path)) == os.path.dirname(_key(_GUARD["ledger"])):
        return  # the ledger's folder is fer_keras's own cache: its files are never the user's
    raise FerOutputError(f"a file that fer-keras did not write is here; pass --force to replace "
                         f"it, or choose another {flag}", file=path)


def _record(path):
    with contextlib.suppress(OSError):
        _GUARD["written"][_key(path)] = _stamp(path)


@contextlib.contextmanager
def keep_users_files(ledger, force=False):
    """Inside the block (one CLI command), no write replaces a file that fer_keras did not write
    itself, unless ``force`` (:func:`check_free`); the files written are entered into the JSON
    ``ledger`` when the block ends, so that running the command again may replace them. A
    ledger that cannot be read or written only makes the rule stricter, never looser."""
    ledger = Path(ledger)
    known = _read_ledger(ledger)
    _GUARD.update(ledger=ledger, force=bool(force), known=known)
    try:
        yield
    finally:
        _GUARD.update(ledger=None, force=False, known={})
        if _GUARD["written"]:
            _write_ledger(ledger, _GUARD["written"])


#: The most entries the ledger keeps (those of files gone or changed are dropped first).
LEDGER_ENTRIES = 20_000


def _read_ledger(ledger):
    try:
        raw = json.loads(Path(ledger).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in raw.items() if isinstance(v, list)} if isinstance(raw, dict) else {}


def _write_ledger(ledger, written):
    entries = _read_ledger(ledger)  # again: another command may have added its own since
    entries.update(written)
    if len(entries) > LEDGER_ENTRIES:
        def current(k, v):
            try:
                return _stamp(k) == v
            except OSError:
                return False
        entries = {k: v for k, v in entries.items() if k in written or current(k, v)}
        entries = dict(list(entries.items())[-LEDGER_ENTRIES:])
    try:
        ledger.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{ledger.name}.", dir=ledger.parent)
        with os.fdopen(fd, "w") as f:
            json.dump(entries, f)
        os.replace(tmp, ledger)
    except OSError:
        pass  # unrecorded: the next command refuses these files without --force


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


def write_json(path, obj, sort_keys=True):
    """``obj`` as strict JSON (RFC 8259): a NaN or infinite number is written as null, which
    every JSON parser reads, not as the bare ``NaN`` that Python's json module writes by default.
    ``sort_keys=False`` keeps each dict's own order (the class order of a model's scores)."""
    write_text(path, json.dumps(_finite(obj), indent=2, sort_keys=sort_keys, allow_nan=False,
                                default=_json_default) + "\n")


def _finite(o):
    """``o`` with every non-finite float (NaN, +-inf) of its dicts, lists and tuples None."""
    if isinstance(o, float):
        return o if o == o and o not in (float("inf"), float("-inf")) else None
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_finite(v) for v in o]
    return o


def _json_default(o):
    import numpy as np

    if isinstance(o, np.generic):
        return _finite(o.item())
    if isinstance(o, np.ndarray):
        return _finite(o.tolist())
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
        if same or _resolved(out) == _resolved(src):
            raise FerOutputError(f"{flag} is the input file {str(src)!r}: it would be "
                                 "overwritten; choose another output", file=out)
    return out


def _resolved(path):
    """``path`` made absolute with its links followed as far as they go; a loop of symbolic
    links (which ``Path.resolve`` refuses with a RuntimeError) stays as it is."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return Path(os.path.abspath(path))


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
