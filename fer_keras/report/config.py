"""What a report run uses: :class:`ReportConfig` and the explanation budgets per profile."""
from __future__ import annotations

import dataclasses
import json
import os

from fer_keras.config import one_of
from fer_keras.errors import FerInputError
from fer_keras.report.catalogue import QUESTION_TITLES, QUESTIONS, TRAINING_QUESTIONS

#: Settings per profile: "quick" (synthetic faces, a 2-core CPU in minutes) and "full" (the
#: reports' settings, for the real FER2013). ``profile="auto"`` picks by the data. ``semi``
#: (self-training) and ``fixmatch`` hold only what differs from
#: :class:`fer_keras.semi.SemiConfig`'s defaults (``model=None``: the report's CNN; the reports
#: name no model for the semi-supervised bonus, and ``tiny_cnn`` keeps both comparisons, at 10%
#: and 25% labels, within the report's hour on a 2-core CPU). FixMatch's threshold momentum
#: keeps the moving averages' horizon, 1 / (1 - momentum) steps, near a sixth of its steps.
#: ``checks_methods``: the saliency methods the explanation checks run (None: every registered
#: one, :mod:`fer_keras.explain.methods`). ``claim_runs``: train every run the claims name
#: (:mod:`fer_keras.report.claim_runs`: each report's models, 001's experiments and a second
#: seed of each) before the questions, so that the table measures every claim; off in "quick",
#: whose table leaves those rows "not measured" with the command that measures each.
PROFILES = {
    "quick": dict(ascent_filters=32, ascent_steps=80, feature_map_filters=32, lime_samples=500,
                  lime_segments=40, lime_images=3, tsne_images=200, saliency_images=8, smoothgrad_samples=12,
                  checks_images=48, checks_cascade=16, checks_methods=None,
                  semi=dict(model="tiny_cnn", warm_steps=500, round_steps=250, rounds=2,
                            batch_size=32, eval_every=50),
                  fixmatch=dict(model="tiny_cnn", method="fixmatch", adaptive_threshold=True,
                                threshold_momentum=0.99, warm_steps=1000, rounds=1,
                                round_steps=400, batch_size=32, eval_every=50),
                  claim_runs=False),
    "full": dict(ascent_filters=64, ascent_steps=200, feature_map_filters=64, lime_samples=1000,
                 lime_segments=50, lime_images=20, tsne_images=200, saliency_images=32, smoothgrad_samples=20,
                 checks_images=200, checks_cascade=64, checks_methods=None,
                 semi=dict(model="tiny_cnn", warm_steps=3000, round_steps=1000,
                           eval_every=250),
                 fixmatch=dict(model="tiny_cnn", method="fixmatch", adaptive_threshold=True,
                               warm_steps=3000, rounds=1, round_steps=6000, eval_every=250),
                 claim_runs=True),
}


#: The questions that explain a given model: those without their own training (a question's
#: ``TRAINS``: Q1's curves, Q2's DNN and the semi-supervised bonus train models).
GIVEN_MODEL_QUESTIONS = tuple(q for q in QUESTIONS if q not in TRAINING_QUESTIONS)


@dataclasses.dataclass(frozen=True)
class ReportConfig:
    """What a report run uses; ``OUT/report_config.json`` holds it.

    ``model``: the CNN of Q1 (a registry name; the DNN of Q2 is ``matched_dnn`` of it), or the
    path of any Keras classifier (``.keras``, Keras 2 ``.h5``, SavedModel folder; see
    :func:`fer_keras.models.load_classifier`): then ``model_path`` is set, nothing is trained and
    only the questions that explain a given model are answered (:data:`GIVEN_MODEL_QUESTIONS`).
    ``epochs``: training epochs of the CNN and the DNN. ``profile``: "quick", "full" or "auto"
    (quick on the synthetic faces, full on real data). ``questions``: which to answer.
    ``command``: the command line that made the report (recorded in it). ``settings``:
    overrides of the profile's settings (:data:`PROFILES`), e.g. ``{"ascent_steps": 20}``.
    """

    data: str = "synthetic"
    model: str = "small_cnn"
    epochs: int = 10
    out: str = "out"
    profile: str = "auto"
    questions: tuple = QUESTIONS
    n_synthetic: int = 3000
    seed: int = 0
    command: str = ""
    verbose: int = 1
    settings: dict = dataclasses.field(default_factory=dict)
    model_path: str = ""
    input_range: str | None = None  # a given model's contract (--input-range, --classes)
    classes: str | None = None

    def __post_init__(self):
        qs = tuple(self.questions)
        if not self.model_path and os.path.exists(str(self.model)):
            object.__setattr__(self, "model_path", str(self.model))
        if self.model_path:
            need_training = [q for q in qs if q not in GIVEN_MODEL_QUESTIONS]
            if need_training and qs != QUESTIONS:
                raise FerInputError(f"question {need_training[0]!r} trains its own models; with "
                                    f"--model PATH the questions are "
                                    f"{', '.join(GIVEN_MODEL_QUESTIONS)}", entry="--questions")
            qs = tuple(q for q in qs if q in GIVEN_MODEL_QUESTIONS)
        object.__setattr__(self, "questions", qs)
        bad = [q for q in qs if q not in QUESTION_TITLES]
        if bad:
            raise FerInputError(f"unknown question {bad[0]!r}; valid: {', '.join(QUESTIONS)}",
                                entry="--questions")
        if self.profile not in ("auto", *PROFILES):
            raise FerInputError(f"--profile must be {one_of(('auto', *PROFILES))}, got "
                                f"{self.profile!r}")
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise FerInputError(f"--epochs must be a positive integer, got {self.epochs!r}")

    @property
    def synthetic(self):
        return str(self.data) == "synthetic"

    @property
    def resolved_profile(self):
        if self.profile != "auto":
            return self.profile
        return "quick" if self.synthetic else "full"

    def to_dict(self):
        d = dataclasses.asdict(self)
        d["questions"] = list(self.questions)
        d["resolved_profile"] = self.resolved_profile
        return d

    def replace(self, **kw):
        return dataclasses.replace(self, **kw)


def resolve_settings(cfg):
    """The profile's settings with ``cfg.settings`` applied (``semi`` merged key by key)."""
    base = json.loads(json.dumps(PROFILES[cfg.resolved_profile]))
    for k, v in (cfg.settings or {}).items():
        if k not in base:
            raise FerInputError(f"unknown report setting {k!r}; valid: {', '.join(base)}")
        base[k] = {**base[k], **v} if isinstance(base[k], dict) else v
    return base
