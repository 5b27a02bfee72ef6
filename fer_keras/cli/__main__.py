"""``python -m fer_keras.cli``: the same as ``fer-keras``."""
import sys

from fer_keras.cli import main

sys.exit(main())
