"""Where a model is chosen and where it is scored, never the same images.

A checkpoint kept for its validation accuracy is chosen on the validation images, so its accuracy
there is biased upwards (by the best of many noisy epochs). :func:`select_on_train` keeps the
split that scores apart from the split that chooses.
"""
from __future__ import annotations

#: What chooses the kept checkpoint (``TrainConfig.select_on``): "val", the data's validation
#: split (FER2013's PublicTest); "train", a stratified ``val_fraction`` of the training images,
#: so that the validation split is scored and chooses nothing.
SELECT_ON = ("val", "train")


def _labelled(ds):
    return ds is not None and len(ds) > 0 and ds.labels is not None


def select_on_train(splits, val_fraction=0.1, seed=0):
    """``{"train", "val", "test"}`` where ``val`` chooses and ``test`` scores, never the same
    images.

    With a labelled ``test`` split (FER2013's PrivateTest in a ``fer2013.csv``, the synthetic
    faces), the splits are returned as they are: ``val`` chooses, ``test`` scores. Without one
    (FER2013's image folders, whose PrivateTest is held back; a single CSV), a stratified
    ``val_fraction`` of ``train`` (seeded) becomes ``val`` and the data's ``val`` (PublicTest)
    becomes ``test``: it is scored and chooses nothing. Returns a new dict; the Datasets are
    subsets, not copies of the pixels' owner.
    """
    from fer_keras.data.loading import stratified_split

    train, val, test = splits["train"], splits["val"], splits.get("test")
    if _labelled(test):
        return dict(splits)
    fit_idx, sel_idx = stratified_split(train.labels, val_fraction, seed)
    return {**splits, "train": train.subset(fit_idx), "val": train.subset(sel_idx),
            "test": val}


def scored_split_name(splits):
    """``"test"`` when ``splits`` (from :func:`fer_keras.data.load_splits`) have a labelled
    test split, which then scores; else ``"val"``, the split that :func:`select_on_train`
    turns into the scoring one."""
    return "test" if _labelled(splits.get("test")) else "val"


__all__ = ["SELECT_ON", "select_on_train", "scored_split_name"]
