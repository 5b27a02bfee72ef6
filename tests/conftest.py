"""Shared test set-up: quiet TensorFlow, a private data cache, and the ../shared data (skipped
with a reason when absent, as in a user's fresh clone)."""
import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FER_SHARED", REPO.parent / "shared"))
FER_FOLDER = SHARED / "data" / "fer2013"
FER_SAMPLE_CSV = SHARED / "data" / "fer2013-sample.csv"


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    os.environ["FER_KERAS_CACHE"] = str(tmp_path_factory.mktemp("fer_cache"))


@pytest.fixture
def fer_folder():
    if not (FER_FOLDER / "train").is_dir():
        pytest.skip(f"real FER2013 image folders not found at {FER_FOLDER} (../shared absent)")
    return FER_FOLDER


@pytest.fixture
def fer_sample_csv():
    if not FER_SAMPLE_CSV.is_file():
        pytest.skip(f"real FER2013 sample CSV not found at {FER_SAMPLE_CSV} (../shared absent)")
    return FER_SAMPLE_CSV


def backend():
    import keras

    return keras.backend.backend()


def has_tensorflow():
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        return False
    return True


requires_tf = pytest.mark.skipif(not has_tensorflow(), reason="needs TensorFlow (not installed)")
