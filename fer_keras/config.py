"""Run configuration: small frozen dataclasses with defaults, written next to every run's outputs."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from fer_keras.errors import FerInputError


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
    """Augmentation strengths. Zero everywhere (and ``flip=False``) is the identity.

    rotation: max rotation in degrees (uniform in +-rotation).
    shift: max shift as a fraction of width and height.
    zoom: max relative zoom (scale uniform in [1 - zoom, 1 + zoom]).
    flip: random horizontal flip with probability 1/2.
    erasing: probability of erasing one random rectangle (2%-20% of the image) per image.
    """

    rotation: float = 10.0
    shift: float = 0.1
    zoom: float = 0.1
    flip: bool = True
    erasing: float = 0.0

    @classmethod
    def none(cls):
        return cls(rotation=0.0, shift=0.0, zoom=0.0, flip=False, erasing=0.0)

    def to_dict(self):
        return dataclasses.asdict(self)


#: The valid values of TrainConfig's choice fields, written once: the checks below and the
#: ``fer-keras train`` flags read them.
CHOICES = {
    "optimizer": ("adam", "adamw", "sgd"),  # sgd: Nesterov momentum 0.9
    "schedule": ("plateau", "cosine", "onecycle", "constant"),
    "input_pipeline": ("numpy", "tfdata", "idg"),  # any backend | tf.data | ImageDataGenerator
    "precision": ("float32", "mixed"),  # mixed: bfloat16 on CPU, float16 on older GPUs
    "strategy": ("default", "mirrored"),
}


def one_of(values):
    """``("a", "b", "c") -> "a, b or c"``, for messages."""
    values = [str(v) for v in values]
    return ", ".join(values[:-1]) + " or " + values[-1] if len(values) > 1 else "".join(values)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run; ``config.json`` in the run folder holds it.

    Units: ``lr`` per step, ``weight_decay`` decoupled (AdamW/SGD), ``budget_minutes`` wall-clock
    minutes of training on this machine (``epochs`` is then fitted to it).
    """

    model: str = "small_cnn"
    data: str = "synthetic"
    out: str = ""
    epochs: int = 10
    batch_size: int = 64
    optimizer: str = "adam"  # adam | adamw | sgd (Nesterov momentum 0.9)
    lr: float = 1e-3
    weight_decay: float = 0.0
    schedule: str = "plateau"  # plateau | cosine | onecycle | constant
    warmup_epochs: float = 0.0
    label_smoothing: float = 0.0
    oversample: bool = False
    augment: bool = True  # the augmentation below (numpy pipeline: in the train step)
    rotation: float = AugmentConfig.rotation
    shift: float = AugmentConfig.shift
    zoom: float = AugmentConfig.zoom
    flip: bool = AugmentConfig.flip
    erasing: float = AugmentConfig.erasing
    input_pipeline: str = "numpy"  # numpy (any backend) | tfdata | idg (ImageDataGenerator)
    val_fraction: float = 0.1
    n_synthetic: int = 3000
    seed: int = 0
    deterministic: bool = True
    precision: str = "float32"  # float32 | mixed (bfloat16 on CPU, float16 on GPU)
    strategy: str = "default"  # default | mirrored
    early_stopping: int = 10  # patience in epochs, 0 = off
    reduce_lr_patience: int = 3  # for schedule="plateau"
    tensorboard: bool = False
    budget_minutes: float = 0.0  # 0 = no budget
    resize: bool = False
    verbose: int = 1
    preset: str = ""

    def __post_init__(self):
        checks = [
            (self.epochs >= 1, f"--epochs must be a positive integer, got {self.epochs}"),
            (self.batch_size >= 1, f"--batch-size must be a positive integer, got {self.batch_size}"),
            (self.lr > 0, f"--lr must be positive, got {self.lr}"),
            *((getattr(self, k) in v, f"--{k.replace('_', '-')} must be {one_of(v)}, got "
               f"{getattr(self, k)!r}") for k, v in CHOICES.items()),
            (0 <= self.label_smoothing < 1, "--label-smoothing must be in [0, 1)"),
            (self.budget_minutes >= 0, "--budget-minutes must not be negative"),
            (self.model != "auto" or self.budget_minutes > 0,
             "--model auto picks the model the time allows: it needs --budget-minutes"),
            (0 < self.val_fraction < 1, "--val-fraction must be between 0 and 1"),
        ]
        for ok, msg in checks:
            if not ok:
                raise FerInputError(msg)

    def replace(self, **kw):
        return dataclasses.replace(self, **kw)

    def to_dict(self):
        return dataclasses.asdict(self)

    def augmentation(self):
        """The :class:`AugmentConfig` of the train step's augmentation layer: the run's knobs
        when ``augment`` is on with the numpy pipeline (tf.data and ImageDataGenerator augment
        in the input pipeline instead), else :meth:`AugmentConfig.none`."""
        if not (self.augment and self.input_pipeline == "numpy"):
            return AugmentConfig.none()
        return AugmentConfig(**{f.name: getattr(self, f.name)
                                for f in dataclasses.fields(AugmentConfig)})

    def save(self, path):
        from fer_keras.io import write_json

        write_json(path, self.to_dict())

    @classmethod
    def load(cls, path):
        path = Path(path)
        try:
            raw = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise FerInputError(f"cannot read the run config ({e})", file=path) from None
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})


#: Training presets: ``fer-keras train --preset NAME`` (flags given explicitly still win).
PRESETS = {
    # The reports' own settings (report 001: batch 80, 10 epochs, Adam, oversampling).
    "report": dict(model="small_cnn", epochs=10, batch_size=80, optimizer="adam", lr=1e-3,
                   schedule="plateau", oversample=True),
    # Our recipe: accuracy per CPU-hour (see RESULTS.md).
    # Keras applies weight decay as w -= lr * wd * w after the momentum step, so wd=5e-3 here
    # is the classic SGD recipe's coupled 5e-4 (its decay is amplified 1 / (1 - 0.9) = 10x by
    # momentum).
    "best": dict(model="fer_net", epochs=40, batch_size=128, optimizer="sgd", lr=0.1,
                 weight_decay=5e-3, schedule="onecycle", warmup_epochs=0, label_smoothing=0.1,
                 rotation=10.0, shift=0.1, zoom=0.1, flip=True, erasing=0.25, early_stopping=0,
                 precision="mixed"),
    # A minute on a laptop CPU: for smoke runs and the synthetic faces.
    "quick": dict(model="small_cnn", epochs=3, batch_size=64),
}


def preset(name):
    try:
        return dict(PRESETS[name])
    except KeyError:
        raise FerInputError(f"unknown preset {name!r}; valid presets: {', '.join(PRESETS)}",
                            entry="--preset") from None
