"""User-facing errors: one line that names the file, the row or entry, and what is wrong."""


class FerInputError(ValueError):
    """A user's input is wrong (bad file, bad row, bad argument).

    ``str(err)`` is a single line ``<file>:<row>: <problem>`` (row omitted when not applicable), the
    form editors and compilers use, so that the CLI can print it and exit with status 2.
    ``row`` is 1-based as a text editor shows it (the header of a CSV is line 1).
    """

    def __init__(self, problem, file=None, row=None, entry=None):
        self.problem = str(problem)
        self.file = None if file is None else str(file)
        self.row = row
        self.entry = entry
        super().__init__(self._format())

    def _format(self):
        where = []
        if self.file is not None:
            where.append(quote_name(self.file))
        if self.row is not None:
            where.append(f"line {self.row}")
        if self.entry is not None:
            where.append(quote_name(str(self.entry)))
        text = " ".join(self.problem.split())  # always one line
        text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
        return f"{': '.join(where)}: {text}" if where else text


def quote_name(name):
    """``name`` as is when it is printable, else Python-repr quoted (``'a\\nb'``) so that a
    newline, an escape sequence or another control character in a file name can neither break
    the one-line message nor play tricks on the terminal."""
    name = str(name)
    return name if name.isprintable() else repr(name)


def plural(n, word, words=None):
    """``"1 image"``, ``"3 images"``: the count ``n`` with ``word``, or with ``words`` (default
    ``word + "s"``) when ``n`` is not 1; the one way every message counts things."""
    return f"{n} {word if n == 1 else (words or word + 's')}"


def refuse_url(name, what="a local file"):
    """Raise :class:`FerInputError` for a URL (``https://...``, ``s3://...``) where ``what`` is
    wanted, naming it as typed (a ``Path`` of it would fold ``//`` into ``/``)."""
    text = str(name)
    scheme, sep, _ = text.partition("://")
    if sep and scheme.isalnum():
        raise FerInputError(f"URLs are not supported; give {what} (download it first)",
                            file=text)


class FerOutputError(FerInputError, OSError):
    """An output file cannot be written (a file in the way of its folder, no permission, disk
    full): a user error like :class:`FerInputError`, and still an :class:`OSError` so that code
    that tolerates an unwritable location (the data cache) keeps doing so."""


def require_tensorflow(feature):
    """Import TensorFlow for ``feature`` or raise a one-line error naming the backend and the fix."""
    try:
        import tensorflow as tf  # noqa: F401
    except ImportError:
        import os

        backend = os.environ.get("KERAS_BACKEND", "tensorflow")
        raise FerInputError(
            f"{feature} needs TensorFlow, which is not installed (Keras backend: {backend}); "
            "install it with `pip install tensorflow-cpu` or `pip install fer_keras[tensorflow]`"
        ) from None
    return tf
