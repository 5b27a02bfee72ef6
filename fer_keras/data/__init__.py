"""FER2013 data: the three on-disk formats and the synthetic faces, as one :class:`Dataset`.

>>> from fer_keras import data
>>> ds = data.load("fer2013.csv")                 # doctest: +SKIP
>>> splits = data.load_splits("synthetic")        # doctest: +SKIP

The package's face is loading (``load``, ``load_splits`` and the readers and cache they use)
and the :class:`Dataset` every loader returns; each name has its one home in a module:

==========  ==============================================================================
loading     :func:`load`, :func:`load_splits`: the Kaggle and course CSVs (the pixel parser),
            image folders, single images, the ``.npz`` cache
csvread     a CSV's bytes read with bounded memory (NULs, endless lines), its header checked
dataset     :class:`Dataset`: uint8 images ``(N, 48, 48)``, labels, ids, splits; ``to_float``
synthetic   the built-in synthetic faces (``load("synthetic")``)
pipeline    the training input: seeded per-epoch order, class-balanced oversampling, batches
oversample  report 001's oversampling with ``ImageDataGenerator`` copies
holdout     the split that chooses a checkpoint kept apart from the one that scores it
==========  ==============================================================================

Modules load on first use: ``import fer_keras.data`` imports neither numpy nor Keras.
"""
from fer_keras._lazy import lazy_face

#: name -> the module of this package that defines it
_EXPORTS = {
    **dict.fromkeys(("Dataset", "to_float"), "dataset"),
    **dict.fromkeys(("FOLDER_NAMES", "IMAGE_SIZE", "IMAGE_SUFFIXES", "MAX_CSV_BYTES",
                     "MAX_IMAGE_BYTES", "MAX_IMAGE_PIXELS", "NUM_PIXELS", "SPLIT_PREFIXES",
                     "WRITTEN_CACHES", "cache_dir", "cache_path", "drop_caches_since", "load",
                     "load_csv", "load_image_folder", "load_splits", "parse_pixels",
                     "read_image", "stratified_split"), "loading"),
}
_SUBMODULES = ("loading", "csvread", "dataset", "synthetic", "pipeline", "oversample", "holdout")
__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_face(__name__, _EXPORTS, _SUBMODULES)
