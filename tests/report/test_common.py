"""Helpers the questions share (:mod:`fer_keras.report.common`)."""
import pytest

from fer_keras import fileio
from fer_keras.report.common import copy_figure


def test_copy_figure_writes_atomically_and_keeps_a_users_file(tmp_path):
    """The copy is byte for byte into a new folder and replaces the report's own earlier copy;
    under a command's rule a file of the user's at the destination is refused and kept, and a
    source that cannot be read leaves the old copy whole."""
    src = tmp_path / "runs" / "curves.png"
    src.parent.mkdir()
    src.write_bytes(b"\x89PNG first")
    dst = tmp_path / "out" / "q1" / "curves.png"
    assert copy_figure(src, dst) == dst and dst.read_bytes() == b"\x89PNG first"
    ledger = tmp_path / "cache" / "written.json"
    theirs = tmp_path / "out" / "q1" / "mine.png"
    theirs.write_bytes(b"the user's figure")
    with fileio.keep_users_files(ledger):
        src.write_bytes(b"\x89PNG second")
        copy_figure(src, tmp_path / "out" / "q1" / "again.png")
        copy_figure(src, tmp_path / "out" / "q1" / "again.png")  # its own: replaced
        with pytest.raises(fileio.FerOutputError, match="did not write"):
            copy_figure(src, theirs)
    assert theirs.read_bytes() == b"the user's figure"
    with pytest.raises(OSError):
        copy_figure(tmp_path / "absent.png", dst)
    assert dst.read_bytes() == b"\x89PNG first"
    assert not [p for p in dst.parent.iterdir() if p.name.startswith(".")]  # no temporary left
