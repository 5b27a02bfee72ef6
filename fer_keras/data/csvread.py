"""A CSV's bytes read with bounded memory, and its header checked, before any row is parsed.

:class:`CheckedReader` is what pandas reads from (:func:`fer_keras.data.loading.load_csv`): a NUL
byte, an endless line or a gzip bomb is refused as it streams in, with the line it is on, so
that no hostile file is ever held in memory whole. :func:`check_header` refuses a first line
that is a data row or that names a column twice. No message quotes more than :func:`clip`'s 60
characters of a row.
"""
from __future__ import annotations

import io

import numpy as np

from fer_keras.errors import FerInputError

#: The longest line a CSV may hold: a FER2013 row is at most about 9,300 bytes (2,304 values of
#: up to 3 digits), so anything a hundred times longer (a file of NULs, one endless row) is no
#: FER2013 row.
MAX_LINE_BYTES = 2**20

#: The columns the loaders read: each may appear once in the header.
KNOWN_COLUMNS = ("emotion", "pixels", "Usage", "label", "feature", "id")

_DATA_CELL = frozenset("0123456789 ")


def clip(text, n=60):
    """``text`` quoted, cut to its first ``n`` characters when longer (with its length)."""
    text = str(text)
    return repr(text) if len(text) <= n else f"{text[:n]!r}... ({len(text):,} characters)"


def check_header(columns, path):
    """Refuse (one line naming ``path``, line 1) a header that is a data row (its first cells
    numbers, one of them a long run of pixel values) or that names a column of
    :data:`KNOWN_COLUMNS` more than once; ``columns``: the first line's cells, stripped."""
    if columns and all(c and set(c) <= _DATA_CELL for c in columns[:2]) \
            and max(len(c) for c in columns) > 100:
        raise FerInputError("no header line: the first line is a data row "
                            f"{clip(','.join(columns))}; it must name the columns "
                            "(emotion,pixels,Usage, or label,feature or id,feature)",
                            file=path, row=1)
    for name in KNOWN_COLUMNS:
        if columns.count(name) > 1:
            raise FerInputError(f"column {name!r} appears {columns.count(name)} times in the "
                                "header; each column must appear once", file=path, row=1)


class CheckedReader(io.RawIOBase):
    """The bytes of the CSV ``path`` (decompressed for ``.gz``), checked as they are read:
    :class:`FerInputError` naming the line for a NUL byte (a binary or sparse file, never text)
    or a line over :data:`MAX_LINE_BYTES`, and past ``limit`` bytes in all. Memory stays bounded
    by the reader's read size whatever the file holds."""

    def __init__(self, path, limit):
        import gzip

        self.path, self.limit, self.count = path, limit, 0
        gz = str(path).lower().endswith(".gz")
        self.raw = gzip.open(path, "rb") if gz else open(path, "rb", buffering=0)  # noqa: SIM115
        self.line, self.run = 1, 0  # the 1-based line being read; its bytes read so far

    def readable(self):
        return True

    def readinto(self, buf):
        n = self.raw.readinto(buf)
        self.count += n
        if self.count > self.limit:
            raise FerInputError(f"decompresses to over {self.limit:,} bytes (the limit for a "
                                "CSV); not a FER2013 file", file=self.path)
        chunk = bytes(memoryview(buf)[:n])
        nul = chunk.find(b"\0")
        if nul >= 0:
            raise FerInputError("a NUL byte (0x00): not a text CSV (a binary, sparse or "
                                "half-written file?)", file=self.path,
                                row=self.line + chunk.count(b"\n", 0, nul))
        self._check_lines(chunk)
        return n

    def _check_lines(self, chunk):
        first = chunk.find(b"\n")
        if first < 0:
            self.run += len(chunk)
            longest, at = self.run, self.line
        else:
            longest, at = self.run + first, self.line
            if len(chunk) > MAX_LINE_BYTES:  # a line wholly inside the chunk may be too long
                ends = np.flatnonzero(np.frombuffer(chunk, np.uint8) == 10)
                gaps = np.diff(ends) - 1
                if len(gaps) and gaps.max() > longest:
                    k = int(gaps.argmax())
                    longest, at = int(gaps[k]), self.line + k + 1
            self.line += chunk.count(b"\n")
            self.run = len(chunk) - chunk.rfind(b"\n") - 1
            if self.run > longest:
                longest, at = self.run, self.line
        if longest > MAX_LINE_BYTES:
            raise FerInputError(f"a line over {MAX_LINE_BYTES:,} bytes: not a FER2013 row (at "
                                "most about 9,300 bytes)", file=self.path, row=at)

    def close(self):
        self.raw.close()
        super().close()
