"""Write docs/cli.md, the command-line reference, from the parser of ``fer-keras``
(:func:`fer_keras.cli.docs.markdown`). ``make docs`` runs it; ``tests/cli/test_cli_docs.py`` fails
when the file is out of date."""
import sys
from pathlib import Path

from fer_keras.cli import build_parser
from fer_keras.cli.common import quiet_backend_import
from fer_keras.cli.docs import markdown

OUT = Path(__file__).resolve().parent / "cli.md"

if __name__ == "__main__":
    OUT.write_text(markdown(quiet_backend_import(build_parser)), encoding="utf-8")
    print(f"written: {OUT.relative_to(Path.cwd()) if OUT.is_relative_to(Path.cwd()) else OUT}",
          file=sys.stderr)
