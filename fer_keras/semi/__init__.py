"""Semi-supervised learning by self-training and FixMatch (HW3 bonus, report 000).

Remove the labels of most of the training set, keep a stratified ``fraction`` of it labeled, and
compare two models of the same architecture trained with the same budget (optimizer steps of the
same batch size):

* **labeled only** - supervised training on the labeled subset;
* **self-training** - supervised training on the labeled subset (the warm start), then
  ``rounds`` times: predict every unlabeled image, keep those whose top probability is at least
  ``threshold`` as pseudo-labeled examples (at most as many per class as the labeled class
  proportions allow, which stops the majority class from swallowing the rest), and continue
  training on labeled + pseudo-labeled images. Pseudo-labels are recomputed each round by
  the best validation checkpoint so far (the teacher; training continues from it), so a
  wrong one can be corrected. Training sees augmented images while pseudo-labels come from
  clean ones (the consistency that makes self-training work; Xie et al. 2020, "noisy student").

Both runs share the supervised warm start (one run up to ``warm_steps``, then two branches),
keep the weights with the best validation accuracy, evaluated at the same step intervals, and
are scored on a split that no choice has seen (:func:`selection_and_score_splits`: the test split
when there is one, else the validation split, the weights then being chosen on a part of train).

``method="fixmatch"`` compares labeled-only training with FixMatch (Sohn et al. 2020,
:func:`fixmatch`) instead, at equal compute after the same warm start, with a fixed confidence
threshold or FreeMatch's self-adaptive ones (Wang et al. 2023, :func:`adaptive_thresholds`).
:func:`compare` runs both for each labeled fraction and writes ``semi.json`` and
``config.json``; it returns numpy-free plain dicts.

The package:

=============  ===========================================================================
config         :class:`SemiConfig`
trainer        :class:`Trainer` (one model trained in stages of steps, its best validation
               weights) and :func:`step_batches`, built on :mod:`fer_keras.train.steps`
self_training  :func:`self_train`, :func:`select_pseudo_labels`, :func:`class_caps`
fixmatch\\_     :func:`fixmatch`, :func:`fixmatch_loss`, :func:`adaptive_thresholds`,
               :func:`fixmatch_cost`
comparison     :func:`compare`, :func:`warm_start`, :func:`supervised`, the splits
               (:func:`split_labeled`, :func:`selection_and_score_splits`), :func:`tiny_cnn`
=============  ===========================================================================

(``fixmatch_training`` and ``comparison`` are not named ``fixmatch`` and ``compare``, so that
``fer_keras.semi.fixmatch`` and ``fer_keras.semi.compare`` stay the functions.)
"""
from fer_keras.semi.comparison import (
                                       compare,
                                       selection_and_score_splits,
                                       split_labeled,
                                       supervised,
                                       tiny_cnn,
                                       warm_start,
)
from fer_keras.semi.config import SemiConfig
from fer_keras.semi.fixmatch_training import (
                                       adaptive_thresholds,
                                       fixmatch,
                                       fixmatch_cost,
                                       fixmatch_loss,
)
from fer_keras.semi.self_training import class_caps, select_pseudo_labels, self_train
from fer_keras.semi.trainer import Trainer, step_batches

__all__ = ["SemiConfig", "Trainer", "adaptive_thresholds", "class_caps", "compare", "fixmatch",
           "fixmatch_cost", "fixmatch_loss", "select_pseudo_labels", "selection_and_score_splits",
           "self_train", "split_labeled", "step_batches", "supervised", "tiny_cnn", "warm_start"]
