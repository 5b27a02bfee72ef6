import sys

from fer_keras.cli import main

sys.exit(main())
