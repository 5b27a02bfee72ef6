"""The settings of a semi-supervised comparison (:class:`SemiConfig`; ``config.json``)."""
from __future__ import annotations

import dataclasses

from fer_keras.errors import FerInputError


@dataclasses.dataclass(frozen=True)
class SemiConfig:
    """Settings of a labeled-only vs self-training comparison (``config.json`` holds them).

    Budgets are in optimizer steps (batches of ``batch_size``): ``warm_steps`` of supervised
    training before the first pseudo-labelling, ``round_steps`` after each of the ``rounds``
    pseudo-labellings; the labeled-only run gets ``warm_steps + rounds * round_steps`` steps.
    Adam at ``lr``, with ``schedule="cosine"`` decayed to 0 over that budget (both runs).
    ``mix``: share of each self-training batch taken from the pseudo-labeled images (the rest
    from the labeled ones); 0 pools them, so that many pseudo-labels drown the labeled images.
    ``eval_every`` is the number of steps between validation checks (both runs).
    ``method="fixmatch"`` replaces self-training by :func:`fixmatch` (Sohn et al. 2020) for
    ``rounds * round_steps`` steps after the same warm start, each with ``batch_size`` labeled
    and ``mu * batch_size`` unlabeled images, pseudo-labels kept at ``fixmatch_threshold`` (or,
    with ``adaptive_threshold``, at FreeMatch's self-adaptive per-class thresholds, whose moving
    averages have momentum ``threshold_momentum``), the unlabeled loss weighted by
    ``lambda_u``; labeled-only then continues from the warm start with the same compute
    (:func:`fixmatch_cost`) rather than the same steps.
    """

    model: str = "small_cnn"
    data: str = "synthetic"
    out: str = ""
    fractions: tuple = (0.1, 0.25)
    threshold: float = 0.9
    rounds: int = 3
    warm_steps: int = 300
    round_steps: int = 150
    batch_size: int = 64
    lr: float = 3e-3
    schedule: str = "cosine"
    mix: float = 0.5
    augment: bool = True
    eval_every: int = 20
    n_synthetic: int = 3000
    val_fraction: float = 0.1
    seed: int = 0
    verbose: int = 0
    method: str = "self_training"  # self_training | fixmatch
    fixmatch_threshold: float = 0.95
    adaptive_threshold: bool = False
    threshold_momentum: float = 0.999
    mu: int = 2
    lambda_u: float = 1.0

    def __post_init__(self):
        fr = tuple(float(f) for f in self.fractions)
        object.__setattr__(self, "fractions", fr)
        checks = [
            (len(fr) > 0 and all(0 < f < 1 for f in fr),
             f"labeled fractions must be between 0 and 1 (exclusive), got {self.fractions}"),
            (0 < self.threshold < 1, f"--threshold must be between 0 and 1, got {self.threshold}"),
            (self.rounds >= 1, f"--rounds must be a positive integer, got {self.rounds}"),
            (self.warm_steps >= 1, f"--warm-steps must be a positive integer, got {self.warm_steps}"),
            (self.round_steps >= 1,
             f"--round-steps must be a positive integer, got {self.round_steps}"),
            (self.batch_size >= 1, f"--batch-size must be a positive integer, got {self.batch_size}"),
            (self.eval_every >= 1, f"--eval-every must be a positive integer, got {self.eval_every}"),
            (0 < self.lr <= 10, f"--lr must be in (0, 10], got {self.lr}"),
            (0 <= self.mix < 1, f"--mix must be in [0, 1), got {self.mix}"),
            (self.method in ("self_training", "fixmatch"),
             f"--method must be self_training or fixmatch, got {self.method!r}"),
            (0 < self.fixmatch_threshold < 1,
             f"--fixmatch-threshold must be between 0 and 1, got {self.fixmatch_threshold}"),
            (0 < self.threshold_momentum < 1,
             f"--threshold-momentum must be between 0 and 1, got {self.threshold_momentum}"),
            (self.mu >= 1, f"--mu must be a positive integer, got {self.mu}"),
            (self.lambda_u >= 0, f"--lambda-u must not be negative, got {self.lambda_u}"),
            (self.schedule in ("cosine", "constant"),
             f"--schedule must be cosine or constant, got {self.schedule!r}"),
        ]
        for ok, msg in checks:
            if not ok:
                raise FerInputError(msg)

    def to_dict(self):
        d = dataclasses.asdict(self)
        d["fractions"] = list(self.fractions)
        return d

    def replace(self, **kw):
        return dataclasses.replace(self, **kw)
