"""The :class:`Dataset` every loader returns (:func:`fer_keras.data.load`), whatever the format."""
from __future__ import annotations

import dataclasses

import numpy as np

from fer_keras import NUM_CLASSES
from fer_keras.errors import FerInputError


@dataclasses.dataclass
class Dataset:
    """Images and labels of one source.

    images: uint8 ``(N, 48, 48)``, 0..255 grey levels.
    labels: int64 ``(N,)`` in 0..6, or ``None`` when the source has no labels.
    ids: ``(N,)`` row ids (the course test file's ``id``; else the file name or the row number).
    usage: ``(N,)`` str, the original split of each row (``Training``, ``PublicTest``,
        ``PrivateTest``) or ``""`` when the source has none.
    masks: bool ``(N, 48, 48)`` class-defining facial parts (synthetic faces only), else ``None``.
    source: where the data came from.
    """

    images: np.ndarray
    labels: np.ndarray | None
    ids: np.ndarray
    usage: np.ndarray
    source: str = ""
    masks: np.ndarray | None = None

    def __len__(self):
        return len(self.images)

    def x(self):
        """Images as float32 ``(N, 48, 48, 1)`` in [0, 1], the models' input."""
        return to_float(self.images)

    def subset(self, index):
        """The rows selected by a boolean mask or an index array."""
        pick = lambda a: None if a is None else a[index]  # noqa: E731
        return Dataset(self.images[index], pick(self.labels), self.ids[index], self.usage[index],
                       self.source, pick(self.masks))

    def class_counts(self):
        """int64 ``(7,)`` number of rows per class."""
        if self.labels is None:
            raise FerInputError("this data has no labels", file=self.source)
        return np.bincount(self.labels, minlength=NUM_CLASSES)


def to_float(images):
    """uint8 ``(N, 48, 48)`` -> float32 ``(N, 48, 48, 1)`` in [0, 1]."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    return images.astype(np.float32) / np.float32(255.0)
