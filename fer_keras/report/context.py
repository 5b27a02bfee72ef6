"""Data, trained models and settings shared by the questions (:class:`Context`)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer_keras import NUM_CLASSES
from fer_keras.report.config import ReportConfig, resolve_settings

#: The share of the training images that chooses the report's checkpoints (stratified, seeded).
VAL_FRACTION = 0.1
#: The report's name for the shipped model (``fer_keras/weights/``), which HW4 explains on
#: FER2013 (:meth:`Context.explained`).
SHIPPED = "shipped fer_net"


@dataclass(frozen=True)
class Subject:
    """A model a question explains, on which images (:meth:`Context.explained`)."""

    #: a model name for :meth:`Context.model` and :meth:`Context.probs`
    name: str
    #: the split its images come from: "val" or "test"
    split: str
    #: those images (:class:`~fer_keras.data.Dataset`)
    data: object
    #: the images in a caption's words ("validation", "PublicTest")
    words: str
    #: one sentence for the report: which model this is and why
    why: str


class Context:
    """Data, trained models and settings shared by the questions (all loaded lazily).

    Models are trained into ``OUT/runs/<name>`` on first use, or reused when the run there was
    made with the same settings (data, epochs, seed, ...); a run with other settings is
    retrained, and an interrupted one is resumed.
    """

    def __init__(self, cfg: ReportConfig, log=print):
        self.cfg = cfg
        self.out = Path(cfg.out)
        self.profile = resolve_settings(cfg)
        self.log = log or (lambda *a, **k: None)
        self._splits = None
        #: images per class of the data's whole training split (FER2013: the 28,709 Training
        #: images), before the share that chooses checkpoints is held out; set with the splits
        self.training_counts = None
        self._models = {}
        self._cache = {}
        #: what this run took from earlier runs in OUT instead of computing it (the header says)
        self.reused = []
        self._trained_here = set()

    # ---- data
    @property
    def splits(self):
        """``{"train", "val", "test"}``: ``val`` chooses the kept checkpoints, ``test`` scores
        and chooses nothing (:func:`fer_keras.data.holdout.select_on_train`). On FER2013's image
        folders: ``train`` 90% of the 28,709 training images, ``val`` the other 10%
        (stratified, seeded), ``test`` PublicTest; with a ``fer2013.csv``, ``val`` is
        PublicTest and ``test`` PrivateTest."""
        if self._splits is None:
            from fer_keras.data.holdout import select_on_train
            from fer_keras.data.loading import load_splits

            raw = load_splits(self.cfg.data, seed=self.cfg.seed,
                              n_synthetic=self.cfg.n_synthetic)
            self.training_counts = np.bincount(raw["train"].labels, minlength=NUM_CLASSES)
            self._splits = select_on_train(raw, VAL_FRACTION, self.cfg.seed)
        return self._splits

    @property
    def val(self):
        """The images that choose the kept checkpoints (and that the explanations use)."""
        return self.splits["val"]

    @property
    def test(self):
        """The images that score the models and chose nothing; None without labels."""
        t = self.splits.get("test")
        return t if t is not None and len(t) and t.labels is not None else None

    @property
    def scored(self):
        """``(split name, Dataset)`` that accuracies and confusion matrices are measured on:
        ``test`` when it is labelled, else ``val``."""
        return ("test", self.test) if self.test is not None else ("val", self.val)

    def data_description(self):
        if self.cfg.synthetic:
            return (f"the built-in synthetic faces ({self.cfg.n_synthetic} procedurally drawn "
                    f"48x48 faces, seed {self.cfg.seed}), not FER2013")
        data = str(self.cfg.data)
        if os.path.isabs(data):  # the header names no folder of this machine
            data = os.path.relpath(data)
        return f"FER2013 from `{data}`"

    def qdir(self, qid):
        d = self.out / qid
        d.mkdir(parents=True, exist_ok=True)
        return d

    # ---- models
    def cnn_name(self):
        return self.cfg.model

    def dnn_name(self):
        from fer_keras.models.zoo import register_matched_dnn

        return register_matched_dnn(self.cfg.model)

    def cnn_subject(self):
        """The report's CNN on the validation split, as :meth:`explained` describes a model
        that a question explains (HW3's questions explain this one)."""
        return Subject(name=self.cnn_name(), split="val", data=self.val, words="validation",
                       why=f"the report's CNN `{self.cnn_name()}`")

    def explained_name(self):
        """The name of the model :meth:`explained` returns, decided without loading the data:
        :data:`SHIPPED` on FER2013 without ``--model`` (when the package has its model file),
        else the report's CNN."""
        from fer_keras.models import shipped

        if self.cfg.model_path or self.cfg.synthetic or not shipped.model_path().is_file():
            return self.cnn_name()
        return SHIPPED

    def explained(self):
        """What the HW4 questions explain, a :class:`Subject`.

        Report 002 explained a CNN of about 68%. On FER2013 without ``--model`` that is the
        shipped ``fer_net`` (66.0% PublicTest, the nearest we have; RESULTS.md), which trained
        on every training image, so it is explained on the images that chose nothing
        (:attr:`test`). Else (``--model``, the synthetic faces, no labelled test split) it is
        the report's CNN on the validation split."""
        if self.explained_name() != SHIPPED or self.test is None:
            return self.cnn_subject()
        return Subject(
            name=SHIPPED, split="test", data=self.test, words=self._test_words(),
            why="the shipped `fer_net` (`fer_keras/weights/`, trained on every training image "
                "with the recipe of RESULTS.md), the model nearest report 002's 68% that we "
                "have; report 002 does not give its architecture")

    def _test_words(self):
        from fer_keras.report.common import split_words

        return "PublicTest" if split_words(self.test, "test").startswith("PublicTest") \
            else "test"

    def train_config(self, name):
        """The :class:`~fer_keras.config.TrainConfig` a report run trains ``name`` with: the
        reports' settings (preset "report": batch 80, oversampling) on real data, the defaults on
        the synthetic faces; ``epochs`` from the report config in both."""
        settings = {"epochs": self.cfg.epochs}
        if not self.cfg.synthetic:
            settings["preset"] = "report"
        return self.spec_config(name, name, settings)

    def spec_config(self, run, model, settings):
        """The :class:`~fer_keras.config.TrainConfig` of the run ``OUT/runs/<run>`` of the
        registry ``model``: its preset's values, then ``settings`` (TrainConfig fields), on
        the report's data; the checkpoint is chosen on :data:`VAL_FRACTION` of the training
        images, and the seed is the report's unless ``settings`` gives one."""
        from fer_keras.config import TrainConfig, preset

        settings = dict(settings)
        values = preset(settings["preset"]) if settings.get("preset") else {}
        values.update(settings)
        values.update(model=model, data=str(self.cfg.data), out=str(self.out / "runs" / run),
                      n_synthetic=self.cfg.n_synthetic, select_on="train",
                      val_fraction=VAL_FRACTION, verbose=2 if self.cfg.verbose else 0)
        values.setdefault("seed", self.cfg.seed)
        return TrainConfig(**values)

    def run_dir(self, name):
        from fer_keras.train.rundir import RunDir

        return RunDir(self.out / "runs" / name)

    def finished_run(self, name):
        """The :class:`~fer_keras.train.rundir.RunDir` of ``name`` when ``OUT/runs/<name>`` holds a
        finished run with this report's settings, else None; never trains (a foreign or
        damaged folder counts as not finished)."""
        run = self.run_dir(name)
        try:
            return run if run.status(self.train_config(name)) == "finished" else None
        except Exception:  # noqa: BLE001 - ensure_trained would retrain it
            return None

    def ensure_trained(self, name):
        """``OUT/runs/<name>/best.keras``, trained (or resumed) here unless a matching run is
        there already. Returns the :class:`~fer_keras.train.rundir.RunDir`."""
        cfg = self.train_config(name)
        run = self.run_dir(name)
        status = run.status(cfg)
        if status == "finished":
            # a run this report trained is not "reused from earlier runs" when asked again
            if name not in self._trained_here and f"the training of {name}" not in self.reused:
                self.reused.append(f"the training of {name}")
            return run
        self._trained_here.add(name)
        if status == "resumable":
            self.log(f"resuming the interrupted run in {run.path}")
        elif status == "stale":
            self.log(f"note: {run.path} was trained with other settings; retraining it")
        if status != "resumable":
            self.log(f"training {name} for {cfg.epochs} epochs on {self.cfg.data} -> {run.path}")
        return self.train_run(cfg, status)

    def train_run(self, cfg, status):
        """Train ``cfg`` on the report's splits into its ``OUT/runs`` folder, by the folder's
        ``status`` (:meth:`fer_keras.train.rundir.RunDir.status`): "resumable" resumes it with
        its saved settings; "stale" clears its checkpoints and trains it again; "fresh" trains.
        Returns the :class:`~fer_keras.train.rundir.RunDir`."""
        from fer_keras.train.fit import train
        from fer_keras.train.rundir import RunDir

        run = RunDir(cfg.out)
        if status == "resumable":
            train(run.load_config().replace(verbose=cfg.verbose), resume=True,
                  splits=self.splits)
            return run
        if status == "stale":
            run.clear_checkpoints()
        train(cfg, splits=self.splits, force=True)  # a stale run is replaced on purpose
        return run

    def run_model(self, run):
        """The ``best.keras`` of the run folder ``run`` (a :class:`~fer_keras.train.rundir.
        RunDir`), loaded once per report: the claim rows and the runs behind them share it."""
        key = ("run-model", str(run.best.resolve()))
        if key not in self._models:
            from fer_keras import models

            self._models[key] = models.load(run.best)
        return self._models[key]

    def model(self, name):
        if name not in self._models:
            from fer_keras import models

            if name == SHIPPED:
                self._models[name] = models.pretrained()
            elif self.cfg.model_path and name == self.cfg.model:  # a given model: nothing trains
                self._models[name] = models.load_classifier(
                    self.cfg.model_path, self.cfg.input_range, self.cfg.classes)[0]
            else:
                self._models[name] = models.load(self.ensure_trained(name).best)
        return self._models[name]

    def history(self, name):
        return self.ensure_trained(name).history()

    def run_config(self, name):
        return self.ensure_trained(name).saved_config()

    def probs(self, name, split):
        key = ("probs", name, split)
        if key not in self._cache:
            from fer_keras.train.evaluate import predict_proba

            ds = self.splits[split] if split != "test" else self.test
            self._cache[key] = predict_proba(self.model(name), ds.images)
        return self._cache[key]

    def accuracy(self, name, split):
        ds = self.splits[split] if split != "test" else self.test
        if ds is None or len(ds) == 0 or ds.labels is None:
            return None
        return float((self.probs(name, split).argmax(1) == ds.labels).mean())

