"""The reports, regenerated: every question of ``REPORTS.md`` answered with numbers measured now.

:func:`build_report` (``fer-keras report``, ``make report``) trains what it needs (or reuses the
run folders under ``OUT/runs``), answers each question with one function of this module, and
writes:

* ``OUT/<question>/``: that question's figures, ``numbers.json`` (every number it measured),
  ``answer.md`` and ``config.json``;
* ``OUT/report.html``: one self-contained page (figures embedded as data URIs);
* ``OUT/report.md``: its Markdown twin (figures linked relative to ``OUT``);
* ``OUT/report.json``: all numbers, the run's settings, versions and timings.

The answers are written *from the numbers*: the most confused pairs are read from the confusion
matrix, whether the DNN overfits more from the measured train/validation gaps, where a saliency
map looks from its mass in the eye and mouth regions, and so on; a sentence compares with what
the original report observed only where the measurement supports or contradicts it.

The question functions (``q1_train(ctx)``, ... , ``hw4_tsne(ctx)``) are public: the scripts in
``examples/`` call them one at a time (``make q3-confusion``). They take a :class:`Context`
(data, trained models, settings) and return a :class:`Section`.
"""
from __future__ import annotations

import base64
import dataclasses
import datetime
import html
import json
import os
import platform
import re
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from fer_keras import CLASS_NAMES, NUM_CLASSES
from fer_keras.errors import FerInputError

#: Question ids in report order, with their titles (also the Makefile targets).
QUESTION_TITLES = {
    "q1-train": "HW3 Q1. The CNN: architecture, training, accuracy",
    "q2-dnn": "HW3 Q2. A DNN with about as many parameters as the CNN",
    "q3-confusion": "HW3 Q3. Which classes get confused: the confusion matrix",
    "q4-saliency": "HW3 Q4. Saliency maps: where does the CNN look?",
    "q5-filters": "HW3 Q5. Gradient ascent: what activates the filters",
    "q6-conv-shape": "HW3 Q6 (report 003). The output shape of Conv2D",
    "bonus-semi": "HW3 bonus. Semi-supervised learning by self-training",
    "hw4-saliency": "HW4 Q1. Saliency maps of several classes",
    "hw4-filters": "HW4 Q2. Filters of the first activation layer and their outputs",
    "hw4-lime": "HW4 Q3. LIME: superpixels that explain each class",
    "hw4-tsne": "HW4 Q4. t-SNE of the first and the last layer",
}
QUESTIONS = tuple(QUESTION_TITLES)

#: The questions as the reports ask them (REPORTS.md), shown above each answer.
QUESTION_TEXT = {
    "q1-train": "Describe the CNN: its architecture (layers, dimensions, connections), the "
                "training process and its accuracy (reports 000, 001, 003, 004).",
    "q2-dnn": "Build a DNN with about the same number of parameters as the CNN; describe its "
              "architecture, training and accuracy, and compare it with the CNN.",
    "q3-confusion": "Draw the confusion matrix on a validation set and analyse which classes "
                    "are easily confused.",
    "q4-saliency": "Draw saliency maps of the CNN: which parts of the image does the model focus "
                   "on when it classifies?",
    "q5-filters": "With gradient ascent, find which images maximally activate the filters of a "
                  "chosen layer, starting from white noise and from a real image; show that "
                  "layer's filter outputs for one image.",
    "q6-conv-shape": "Derive the output shape of a Conv2D layer with input (B, W, H, C), "
                     "kernel (k1, k2), stride (s1, s2) and padding (p1, p2).",
    "bonus-semi": "Remove part of the training labels and learn from the rest plus the "
                  "unlabeled images (semi-supervised learning); compare with supervised only.",
    "hw4-saliency": "Draw saliency maps for several classes and discuss where the model looks.",
    "hw4-filters": "Use gradient ascent on the filters of the first activation layer and show "
                   "that layer's filter outputs for one image (#307).",
    "hw4-lime": "Explain each class with LIME (superpixels) and relate the explanations to the "
                "confusion matrix: why does the model do well on some labels?",
    "hw4-tsne": "Free choice: t-SNE of the outputs of the first and the last layer for about "
                "200 images, coloured by class: are the classes separated?",
}

#: What the original reports observed, for comparison with the measurements.
REPORTED = {
    "confusions": [("Disgust", "Angry"), ("Angry", "Sad"), ("Sad", "Fear"), ("Surprise", "Fear")],
    "saliency_focus": {"Happy": "mouth", "Sad": "eyes", "Surprise": "mouth",
                       "Neutral": "whole face"},
    "accuracy": {"small_cnn": ("report 001", 0.58), "hw3_cnn": ("report 000 (Kaggle public)", 0.64921),
                 "dnn_000": ("report 000 (Kaggle public)", 0.45471)},
}

#: Approximate face regions of an aligned 48x48 face (rows, columns): eyes and brows, mouth.
#: They match the synthetic faces' part masks and FER2013's rough alignment.
REGIONS = {"eyes": (slice(8, 27), slice(6, 42)), "mouth": (slice(28, 45), slice(10, 38))}

#: Settings per profile: "quick" (synthetic faces, a 2-core CPU in minutes) and "full" (the
#: reports' settings, for the real FER2013). ``profile="auto"`` picks by the data.
PROFILES = {
    "quick": dict(ascent_filters=32, ascent_steps=80, feature_map_filters=32, lime_samples=500,
                  lime_segments=40, tsne_images=200, saliency_images=8, smoothgrad_samples=12,
                  semi=dict(model="tiny_cnn", fractions=(0.1, 0.25), warm_steps=500,
                            round_steps=250, rounds=2, threshold=0.9, batch_size=32,
                            eval_every=50, lr=3e-3)),
    "full": dict(ascent_filters=64, ascent_steps=200, feature_map_filters=64, lime_samples=1000,
                 lime_segments=50, tsne_images=200, saliency_images=32, smoothgrad_samples=20,
                 semi=dict(model=None, fractions=(0.1, 0.25), warm_steps=1000, round_steps=500,
                           rounds=3, threshold=0.9, batch_size=64, eval_every=250, lr=1e-3)),
}


@dataclasses.dataclass(frozen=True)
class ReportConfig:
    """What a report run uses; ``OUT/report_config.json`` holds it.

    ``model``: the CNN of Q1 (a registry name; the DNN of Q2 is ``matched_dnn`` of it).
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

    def __post_init__(self):
        qs = tuple(self.questions)
        object.__setattr__(self, "questions", qs)
        bad = [q for q in qs if q not in QUESTION_TITLES]
        if bad:
            raise FerInputError(f"unknown question {bad[0]!r}; valid: {', '.join(QUESTIONS)}",
                                entry="--questions")
        if self.profile not in ("auto", "quick", "full"):
            raise FerInputError(f"--profile must be auto, quick or full, got {self.profile!r}")
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


def example_context(doc="", argv=None):
    """Parse the examples' common options (``--data --model --epochs --out --profile --seed``)
    and return a :class:`Context`; prints the synthetic-data notice when it applies."""
    import argparse

    p = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=doc)
    d = ReportConfig()
    p.add_argument("--data", default=d.data, help="'synthetic' or a FER2013 CSV/folder path")
    p.add_argument("--model", default=d.model, help="the CNN (a registry name)")
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--out", default=d.out)
    p.add_argument("--profile", choices=["auto", "quick", "full"], default="auto")
    p.add_argument("--seed", type=int, default=d.seed)
    a = p.parse_args(argv)
    cfg = ReportConfig(data=a.data, model=a.model, epochs=a.epochs, out=a.out, profile=a.profile,
                       seed=a.seed, command=command_line())
    if cfg.synthetic and _notice_wanted():
        print("note: using the built-in synthetic faces; pass --data PATH (fer2013.csv, train.csv "
              "or an image folder) for FER2013", file=sys.stderr)
    return Context(cfg)


def _notice_wanted():
    """The synthetic-data notice, unless the caller (the Makefile) printed it already."""
    return os.environ.get("FER_KERAS_SYNTHETIC_NOTICE", "1") != "0"


# --------------------------------------------------------------------------- formatting
def pct(x, digits=1):
    """``0.8734 -> "87.3%"``; the form every accuracy takes in the text (tests rely on it)."""
    return "n/a" if x is None or not np.isfinite(x) else f"{100 * x:.{digits}f}%"


def points(x, digits=1):
    """A difference of two shares in percentage points: ``0.052 -> "+5.2 points"``."""
    return f"{100 * x:+.{digits}f} points"


def fnum(x, digits=2):
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


def _names(items):
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# --------------------------------------------------------------------------- sections
@dataclasses.dataclass
class Section:
    """One answered question: text, tables and figures in order, and the numbers behind them.

    ``blocks``: ``{"kind": "text", "text"}``, ``{"kind": "list", "items"}``, ``{"kind": "table",
    "header", "rows", "caption"}``, ``{"kind": "figure", "path" (relative to OUT), "caption"}``,
    ``{"kind": "code", "text"}``. Text may use ``**bold**`` and ```code```.
    """

    id: str
    title: str = ""
    question: str = ""
    blocks: list = dataclasses.field(default_factory=list)
    numbers: dict = dataclasses.field(default_factory=dict)
    seconds: float = 0.0
    error: str = ""

    def __post_init__(self):
        self.title = self.title or QUESTION_TITLES.get(self.id, self.id)
        self.question = self.question or QUESTION_TEXT.get(self.id, "")

    def text(self, s):
        self.blocks.append({"kind": "text", "text": s})

    def bullets(self, items):
        self.blocks.append({"kind": "list", "items": list(items)})

    def table(self, header, rows, caption=""):
        self.blocks.append({"kind": "table", "header": list(header),
                            "rows": [[str(c) for c in r] for r in rows], "caption": caption})

    def figure(self, path, caption, out):
        rel = os.path.relpath(Path(path), Path(out)).replace(os.sep, "/")
        self.blocks.append({"kind": "figure", "path": rel, "caption": caption})

    def code(self, s):
        self.blocks.append({"kind": "code", "text": s})

    @property
    def answer_text(self):
        """The prose of the answer (text and list blocks), for printing."""
        parts = []
        for b in self.blocks:
            if b["kind"] == "text":
                parts.append(b["text"])
            elif b["kind"] == "list":
                parts += [f"- {i}" for i in b["items"]]
        return "\n".join(parts)

    def to_dict(self):
        return dataclasses.asdict(self)

    def markdown(self, level=2, fig_prefix=""):
        lines = [f"{'#' * level} {self.title}", "", f"> {self.question}", ""]
        if self.error:
            lines += [f"**This question failed:** `{self.error}`", ""]
        for b in self.blocks:
            k = b["kind"]
            if k == "text":
                lines += [b["text"], ""]
            elif k == "list":
                lines += [f"- {i}" for i in b["items"]] + [""]
            elif k == "table":
                if b["caption"]:
                    lines += [f"*{b['caption']}*", ""]
                lines.append("| " + " | ".join(b["header"]) + " |")
                lines.append("|" + "|".join("---" for _ in b["header"]) + "|")
                lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |"
                          for r in b["rows"]]
                lines.append("")
            elif k == "figure":
                lines += [f"![{b['caption']}]({fig_prefix}{b['path']})", "",
                          f"*{b['caption']}*", ""]
            elif k == "code":
                lines += ["```", b["text"].rstrip("\n"), "```", ""]
        lines.append(f"<sub>Computed in {self.seconds:.1f} s.</sub>")
        return "\n".join(lines) + "\n"


def _inline_html(s):
    s = html.escape(s, quote=False)
    s = re.sub(r"`([^`]+)`", r"<code>\1</code>", s)
    s = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", s)
    s = re.sub(r"(?<![*\w])\*([^*\s][^*]*)\*(?![*\w])", r"<em>\1</em>", s)
    return s


def _section_html(sec, out):
    parts = [f'<section id="{sec.id}">', f"<h2>{html.escape(sec.title)}</h2>",
             f'<blockquote class="question">{_inline_html(sec.question)}</blockquote>']
    if sec.error:
        parts.append(f'<p class="error"><strong>This question failed:</strong> '
                     f"<code>{html.escape(sec.error)}</code></p>")
    for b in sec.blocks:
        k = b["kind"]
        if k == "text":
            parts.append(f"<p>{_inline_html(b['text'])}</p>")
        elif k == "list":
            parts.append("<ul>" + "".join(f"<li>{_inline_html(i)}</li>" for i in b["items"])
                         + "</ul>")
        elif k == "table":
            cap = f"<caption>{_inline_html(b['caption'])}</caption>" if b["caption"] else ""
            head = "".join(f"<th>{_inline_html(h)}</th>" for h in b["header"])
            rows = "".join("<tr>" + "".join(f"<td>{_inline_html(c)}</td>" for c in r) + "</tr>"
                           for r in b["rows"])
            parts.append(f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif k == "figure":
            data = base64.b64encode((Path(out) / b["path"]).read_bytes()).decode("ascii")
            mime = "image/svg+xml" if b["path"].endswith(".svg") else "image/png"
            parts.append(f'<figure><img alt="{html.escape(b["caption"])}" '
                         f'src="data:{mime};base64,{data}"><figcaption>'
                         f"{_inline_html(b['caption'])}</figcaption></figure>")
        elif k == "code":
            parts.append(f"<pre><code>{html.escape(b['text'])}</code></pre>")
    parts.append(f'<p class="time">Computed in {sec.seconds:.1f} s.</p></section>')
    return "\n".join(parts)


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1000px;margin:2em auto;
padding:0 1em;line-height:1.5;color:#222}
h1{border-bottom:2px solid #444}h2{margin-top:2.2em;border-bottom:1px solid #bbb}
blockquote.question{margin:0 0 1em 0;padding:.4em 1em;background:#f3f5f9;border-left:4px solid #5778a4}
table{border-collapse:collapse;margin:1em 0;font-size:.92em}caption{caption-side:top;font-style:italic;
text-align:left}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}th{background:#eef}
figure{margin:1.2em 0;text-align:center}figure img{max-width:100%;height:auto}
figcaption{font-size:.9em;color:#555}code{background:#f4f4f4;padding:0 .2em}
pre{background:#f4f4f4;padding:.6em;overflow-x:auto}.error{color:#a00}.time{color:#888;font-size:.8em}
.meta td:first-child{font-weight:bold}.notice{background:#fff6d5;border:1px solid #e0c060;padding:.5em 1em}
"""


# --------------------------------------------------------------------------- context
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
        self._models = {}
        self._cache = {}

    # ---- data
    @property
    def splits(self):
        if self._splits is None:
            from fer_keras import data

            self._splits = data.load_splits(self.cfg.data, seed=self.cfg.seed,
                                            n_synthetic=self.cfg.n_synthetic)
        return self._splits

    @property
    def val(self):
        return self.splits["val"]

    @property
    def test(self):
        t = self.splits.get("test")
        return t if t is not None and len(t) and t.labels is not None else None

    def data_description(self):
        if self.cfg.synthetic:
            return (f"the built-in synthetic faces ({self.cfg.n_synthetic} procedurally drawn "
                    f"48x48 faces, seed {self.cfg.seed}), not FER2013")
        return f"FER2013 from `{os.path.abspath(self.cfg.data)}`"

    def qdir(self, qid):
        d = self.out / qid
        d.mkdir(parents=True, exist_ok=True)
        return d

    # ---- models
    def cnn_name(self):
        return self.cfg.model

    def dnn_name(self):
        return register_matched_dnn(self.cfg.model)

    def train_config(self, name):
        """The :class:`~fer_keras.config.TrainConfig` a report run trains ``name`` with: the
        reports' settings (preset "report": batch 80, oversampling) on real data, the defaults on
        the synthetic faces; ``epochs`` from the report config in both."""
        from fer_keras.config import TrainConfig, preset

        values = {} if self.cfg.synthetic else preset("report")
        values.update(model=name, data=str(self.cfg.data), epochs=self.cfg.epochs,
                      out=str(self.out / "runs" / name), n_synthetic=self.cfg.n_synthetic,
                      seed=self.cfg.seed, verbose=2 if self.cfg.verbose else 0)
        if not self.cfg.synthetic:
            values["preset"] = "report"
        return TrainConfig(**values)

    def run_dir(self, name):
        from fer_keras.rundir import RunDir

        return RunDir(self.out / "runs" / name)

    def ensure_trained(self, name):
        """``OUT/runs/<name>/best.keras``, trained (or resumed) here unless a matching run is
        there already. Returns the :class:`~fer_keras.rundir.RunDir`."""
        from fer_keras.train import train

        cfg = self.train_config(name)
        run = self.run_dir(name)
        status = run.status(cfg)
        if status == "finished":
            return run
        if status == "resumable":
            self.log(f"resuming the interrupted run in {run.path}")
            train(run.load_config().replace(verbose=cfg.verbose), resume=True,
                  splits=self.splits)
            return run
        if status == "stale":
            self.log(f"note: {run.path} was trained with other settings; retraining it")
            run.clear_checkpoints()
        self.log(f"training {name} for {cfg.epochs} epochs on {self.cfg.data} -> {run.path}")
        train(cfg, splits=self.splits)
        return run

    def model(self, name):
        if name not in self._models:
            from fer_keras import models

            self._models[name] = models.load(self.ensure_trained(name).best)
        return self._models[name]

    def history(self, name):
        return self.ensure_trained(name).history()

    def run_config(self, name):
        return self.ensure_trained(name).saved_config()

    def probs(self, name, split):
        key = ("probs", name, split)
        if key not in self._cache:
            from fer_keras.evaluate import predict_proba

            ds = self.splits[split] if split != "test" else self.test
            self._cache[key] = predict_proba(self.model(name), ds.images)
        return self._cache[key]

    def accuracy(self, name, split):
        ds = self.splits[split] if split != "test" else self.test
        if ds is None or len(ds) == 0 or ds.labels is None:
            return None
        return float((self.probs(name, split).argmax(1) == ds.labels).mean())


def register_matched_dnn(cnn):
    """Register ``dnn_matched_<cnn>`` (:func:`fer_keras.models.matched_dnn` of the CNN) in the
    model registry, so that it trains and resumes like any registry model; returns the name."""
    from fer_keras import models

    name = f"dnn_matched_{cnn}"
    if name in models.list_models():
        return name
    models.get(cnn)

    def builder(input_shape=(48, 48, 1), num_classes=7):
        target = models.build(cnn, input_shape, num_classes)
        return models.matched_dnn(target, input_shape, num_classes, name=name)

    builder.__name__ = name
    builder.__doc__ = (f"A DNN with about the parameter count of ``{cnn}`` "
                       "(:func:`matched_dnn`, HW3 Q2).")
    models.register(builder)
    return name


# --------------------------------------------------------------------------- helpers
def pick_examples(ds, probs, per_class, classes=range(NUM_CLASSES)):
    """``{class: indices}``: up to ``per_class`` images of each class that the model gets right,
    most confident first (then, if too few are right, the class's images by its probability)."""
    out = {}
    pred = probs.argmax(1)
    for c in classes:
        idx = np.flatnonzero(ds.labels == c)
        if not len(idx):
            continue
        right = idx[pred[idx] == c]
        right = right[np.argsort(-probs[right, c], kind="stable")]
        wrong = np.setdiff1d(idx, right)
        wrong = wrong[np.argsort(-probs[wrong, c], kind="stable")]
        out[int(c)] = np.concatenate([right, wrong])[:per_class].astype(np.int64)
    return out


def region_concentration(maps):
    """``{region: concentration}`` over a batch of maps ``(N, 48, 48)``: mean over images of the
    share of the map's mass inside the region divided by the region's share of the image
    (1 = no preference, 2 = twice the mass a uniform map would put there)."""
    maps = np.asarray(maps, np.float64)
    total = maps.sum(axis=(1, 2))
    ok = total > 0
    res = {}
    for name, (rs, cs) in REGIONS.items():
        area = ((rs.stop - rs.start) * (cs.stop - cs.start)) / (maps.shape[1] * maps.shape[2])
        inside = maps[:, rs, cs].sum(axis=(1, 2))
        res[name] = float(np.mean(inside[ok] / total[ok]) / area) if ok.any() else float("nan")
    return res


def focus_of(conc, margin=1.25, floor=1.15, low=0.85):
    """Name the region a map favours: "mouth", "eyes", "eyes and mouth", "whole face" (no
    region clearly above uniform) or "outside the eyes and mouth" (both clearly below)."""
    e, m = conc["eyes"], conc["mouth"]
    if max(e, m) < low:
        return "outside the eyes and mouth"
    if max(e, m) < floor:
        return "whole face"
    if m >= margin * e:
        return "mouth"
    if e >= margin * m:
        return "eyes"
    return "eyes and mouth"


def _agrees(measured, reported):
    if reported == "whole face":
        return measured in ("whole face", "eyes and mouth")
    return measured == reported or measured == "eyes and mouth"


def _copy(src, dst):
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    return dst


def _first_doc_line(fn):
    doc = (fn.__doc__ or "").strip().split("\n\n")[0]
    return " ".join(doc.split())


def _train_summary(rc):
    aug = "with augmentation" if rc.get("augment") else "without augmentation"
    over = ", class-balanced oversampling" if rc.get("oversample") else ""
    return (f"batch {rc['batch_size']}, {rc['optimizer']} (lr {rc['lr']:g}, schedule "
            f"{rc['schedule']}), {aug}{over}")


# --------------------------------------------------------------------------- HW3 Q1
def q1_train(ctx):
    """HW3 Q1: the CNN's layer table (or diagram), training curves and accuracy."""
    from fer_keras import evaluate, models

    sec = Section("q1-train")
    name = ctx.cnn_name()
    d = ctx.qdir(sec.id)
    net = ctx.model(name)
    hist = ctx.history(name)
    rc = ctx.run_config(name)
    table = evaluate.layer_table(net)
    n_conv = sum(1 for r in table if r[1] == "Conv2D")
    params = int(net.count_params())
    trainable = int(sum(np.prod(w.shape) for w in net.trainable_weights))
    best = max(hist, key=lambda r: r.get("val_accuracy", -1))
    last = hist[-1]
    val_acc = ctx.accuracy(name, "val")
    test_acc = ctx.accuracy(name, "test")
    sp = ctx.splits
    num = {"model": name, "params": params, "trainable_params": trainable, "layers": len(table),
           "conv_layers": n_conv, "epochs_run": len(hist), "best_epoch": int(best["epoch"]),
           "best_val_accuracy_history": float(best["val_accuracy"]),
           "final_train_accuracy_history": float(last["accuracy"]),
           "final_val_accuracy_history": float(last.get("val_accuracy", float("nan"))),
           "val_accuracy": val_acc, "test_accuracy": test_acc,
           "train_seconds": float(sum(r.get("seconds", 0) for r in hist)),
           "n_train": len(sp["train"]), "n_val": len(sp["val"]),
           "n_test": 0 if ctx.test is None else len(ctx.test), "train_config": rc}
    sec.numbers = num
    sec.text(f"The CNN is `{name}`: {_first_doc_line(models.get(name))} It has "
             f"{len(table)} layers, {n_conv} of them convolutions, and **{params:,} parameters** "
             f"({trainable:,} trainable).")
    diagram, note = evaluate.plot_model_diagram(net, d / "model.png")
    if diagram is not None:
        sec.figure(diagram, f"`{name}` drawn by keras.utils.plot_model", ctx.out)
    sec.table(["layer", "type", "output shape", "params"],
              [(n, t, s, f"{p:,}") for n, t, s, p in table],
              caption=f"Layers of `{name}` (the reports' summary table)"
              + ("" if diagram is not None else f"; {note}"))
    sec.text(f"**Training.** {len(hist)} epochs on {num['n_train']:,} training images, "
             f"validated on {num['n_val']:,} ({_train_summary(rc)}); "
             f"{num['train_seconds']:.0f} s of training on this machine. The best validation "
             f"accuracy, **{pct(num['best_val_accuracy_history'])}**, came at epoch "
             f"{num['best_epoch']}, whose weights are kept (`best.keras`); at the last epoch the "
             f"training accuracy (on augmented images, with dropout) was "
             f"{pct(num['final_train_accuracy_history'])} and the validation accuracy "
             f"{pct(num['final_val_accuracy_history'])}.")
    curves = _copy(ctx.run_dir(name).curves, d / "curves.png")
    sec.figure(curves, f"Training curves of `{name}`: accuracy and loss, train vs validation",
               ctx.out)
    acc = f"**Accuracy.** The kept model scores **{pct(val_acc)}** on the validation split"
    acc += (f" and **{pct(test_acc)}** on the held-out test split ({num['n_test']:,} images, "
            "never used for any choice)." if test_acc is not None else ".")
    ref = REPORTED["accuracy"].get(name)
    if ref:
        acc += (f" For reference, {ref[0]} reported {pct(ref[1])} for this model on the real "
                "FER2013" + (", so the two are not comparable: these are synthetic faces."
                             if ctx.cfg.synthetic else "."))
    sec.text(acc)
    return sec


# --------------------------------------------------------------------------- HW3 Q2
def q2_dnn(ctx):
    """HW3 Q2: the parameter-matched DNN against the CNN: parameters, accuracies, overfitting."""
    from fer_keras import plotting

    sec = Section("q2-dnn")
    d = ctx.qdir(sec.id)
    cnn_name, dnn_name = ctx.cnn_name(), ctx.dnn_name()
    rows = []
    for name in (cnn_name, dnn_name):
        net = ctx.model(name)
        train_acc = ctx.accuracy(name, "train")
        val_acc = ctx.accuracy(name, "val")
        rows.append({"model": name, "params": int(net.count_params()),
                     "train_accuracy": train_acc, "val_accuracy": val_acc,
                     "test_accuracy": ctx.accuracy(name, "test"),
                     "gap": train_acc - val_acc,
                     "widths": [int(layer.units) for layer in net.layers
                                if type(layer).__name__ == "Dense"][:-1]})
    cnn, dnn = rows
    counts = np.bincount(ctx.val.labels, minlength=NUM_CLASSES)
    majority = float(counts.max() / max(1, counts.sum()))
    for r in rows:
        r["learned"] = bool(r["val_accuracy"] > majority + 0.02)
    num = {"cnn": cnn, "dnn": dnn, "param_ratio": dnn["params"] / cnn["params"],
           "accuracy_difference": cnn["val_accuracy"] - dnn["val_accuracy"],
           "gap_difference": dnn["gap"] - cnn["gap"], "majority_share": majority,
           "majority_class": CLASS_NAMES[int(counts.argmax())]}
    sec.numbers = num
    widths = " - ".join(f"Dense({w}) - ReLU - Dropout(0.5)" for w in dnn["widths"])
    sec.text(f"The DNN `{dnn_name}` is `matched_dnn({cnn_name})`: Flatten(2304) - {widths} - "
             f"Dense(7, softmax). Following report 000 (\"make the first hidden layer as wide as "
             f"possible\"), the first layer takes nearly all the budget: **{dnn['params']:,} "
             f"parameters** against the CNN's {cnn['params']:,} "
             f"({100 * (num['param_ratio'] - 1):+.2f}%). Both were trained the same way "
             "(same data, epochs, optimizer and augmentation); the best-validation weights of "
             "each are compared.")
    sec.table(["model", "params", "train accuracy", "validation accuracy", "test accuracy",
               "train - validation gap"],
              [(f"`{r['model']}`", f"{r['params']:,}", pct(r["train_accuracy"]),
                pct(r["val_accuracy"]), pct(r["test_accuracy"]), points(r["gap"]))
               for r in rows],
              caption="CNN vs DNN (train accuracy measured on the clean training images)")
    fig = plotting.model_comparison([cnn_name, dnn_name], [r["params"] for r in rows],
                                    [r["train_accuracy"] for r in rows],
                                    [r["val_accuracy"] for r in rows], d / "cnn_vs_dnn.png",
                                    title="CNN vs parameter-matched DNN")
    sec.figure(fig, "Parameters, train and validation accuracy of the CNN and the DNN", ctx.out)
    curves = _copy(ctx.run_dir(dnn_name).curves, d / "dnn_curves.png")
    sec.figure(curves, f"Training curves of the DNN `{dnn_name}`", ctx.out)
    diff = num["accuracy_difference"]
    if diff > 0.01:
        verdict = (f"With about the same number of parameters, the CNN is "
                   f"{100 * diff:.1f} points more accurate on validation ({pct(cnn['val_accuracy'])} "
                   f"vs {pct(dnn['val_accuracy'])}): weight sharing over positions buys more than "
                   "the DNN's freedom to weigh every pixel separately.")
    elif diff < -0.01:
        verdict = (f"Unlike in the reports, the DNN is {100 * -diff:.1f} points more accurate on "
                   f"validation here ({pct(dnn['val_accuracy'])} vs {pct(cnn['val_accuracy'])}).")
    else:
        verdict = (f"The two are about equally accurate on validation ({pct(cnn['val_accuracy'])} "
                   f"vs {pct(dnn['val_accuracy'])}).")
    g = num["gap_difference"]
    stuck = [r for r in rows if not r["learned"]]
    if stuck:
        names = _names(["`{}`".format(r["model"]) for r in stuck])
        over = (f"{names} did not learn beyond always answering the most frequent class "
                f"({num['majority_class']}, {pct(majority)} of the validation images) within "
                f"the {ctx.cfg.epochs} epochs, so its train - validation gap "
                f"({_names([points(r['gap']) for r in stuck])}) says nothing about overfitting: "
                "it underfits.")
    elif g > 0.01:
        over = (f"The DNN overfits more: its train - validation gap is {points(dnn['gap'])} "
                f"against the CNN's {points(cnn['gap'])}, as all the reports observed.")
    elif g < -0.01:
        over = (f"Unlike in the reports, the DNN does not overfit more here: its train - "
                f"validation gap is {points(dnn['gap'])} against the CNN's {points(cnn['gap'])}.")
    else:
        over = (f"Their train - validation gaps are about equal ({points(dnn['gap'])} vs "
                f"{points(cnn['gap'])}).")
    sec.text(f"**Comparison.** {verdict} {over}")
    return sec


# --------------------------------------------------------------------------- HW3 Q3
def q3_confusion(ctx):
    """HW3 Q3: normalised confusion matrix (and without its diagonal), most confused pairs."""
    from fer_keras import evaluate, plotting

    sec = Section("q3-confusion")
    d = ctx.qdir(sec.id)
    name = ctx.cnn_name()
    m = evaluate.metrics(ctx.val.labels, ctx.probs(name, "val"))
    cm = np.asarray(m["confusion"])
    norm = evaluate.normalize_rows(cm)
    recall = {c: m["per_class"][c]["recall"] for c in CLASS_NAMES}
    present = [c for i, c in enumerate(CLASS_NAMES) if cm[i].sum() > 0]
    top = evaluate.top_confusions(cm, k=5)
    measured_pairs = {(a, b): s for a, b, s in top}
    reported = [{"true": a, "predicted": b, "share": float(norm[CLASS_NAMES.index(a),
                                                               CLASS_NAMES.index(b)]),
                 "in_top5": (a, b) in measured_pairs} for a, b in REPORTED["confusions"]]
    errors = cm.sum() - np.trace(cm)
    col_err = cm.sum(axis=0) - np.diag(cm)
    least = CLASS_NAMES[int(np.argmin(np.where(np.arange(7) >= 0, col_err, 0)))]
    num = {"model": name, "n": m["n"], "accuracy": m["accuracy"], "recall": recall,
           "confusion": m["confusion"], "confusion_normalized": norm.round(4).tolist(),
           "top_confusions": [{"true": a, "predicted": b, "share": s} for a, b, s in top],
           "reported_confusions": reported, "errors": int(errors),
           "errors_predicted_as": dict(zip(CLASS_NAMES, col_err.astype(int).tolist())),
           "least_predicted_in_errors": least}
    sec.numbers = num
    f1 = plotting.confusion_matrix(cm, d / "confusion.png", normalize=True)
    f2 = plotting.confusion_matrix(cm, d / "confusion_no_diagonal.png", normalize=True,
                                   hide_diagonal=True)
    sec.text(f"Confusion matrix of `{name}` on the {m['n']:,} validation images "
             f"(accuracy {pct(m['accuracy'])}); each row is a true class, normalised to 1, so the "
             "diagonal is the recall of each class.")
    sec.figure(f1, "Row-normalised confusion matrix (rows: true class, columns: predicted)",
               ctx.out)
    sec.figure(f2, "The same matrix with the diagonal removed, so that the confusions stand out "
                   "(as report 000 shows it)", ctx.out)
    by_recall = sorted(present, key=lambda c: -recall[c])
    low = [c for c in by_recall if recall[c] < 0.6]
    def with_recall(cs):
        return _names(["{} ({})".format(c, pct(recall[c])) for c in cs])

    sec.text(f"**Per class.** Recognised best: {with_recall(by_recall[:2])}; "
             f"worst: {with_recall(by_recall[-2:])}. "
             + (f"{len(low)} of {len(present)} classes {'is' if len(low) == 1 else 'are'} below "
                f"60% recall ({_names(low)})." if low else "Every class is above 60% recall."))
    if top:
        sec.text("**Most confused pairs** (share of the true class's images given the wrong "
                 "label):")
        sec.bullets([f"{a} -> {b}: {pct(s)}" for a, b, s in top])
    hits = [r for r in reported if r["in_top5"]]
    misses = [r for r in reported if not r["in_top5"]]
    txt = "**Against the reports** (Disgust -> Angry, Angry -> Sad, Sad -> Fear, Surprise -> Fear): "
    def pairs(rs):
        return _names(["{} -> {} ({})".format(r["true"], r["predicted"], pct(r["share"]))
                       for r in rs])

    if hits:
        txt += (f"{pairs(hits)} {'is' if len(hits) == 1 else 'are'} among the five most "
                "confused pairs here" + ("; " if misses else "."))
    if misses:
        txt += f"{pairs(misses)} {'is' if len(misses) == 1 else 'are'} not."
    sec.text(txt)
    share = col_err / max(errors, 1)
    dis = CLASS_NAMES.index("Disgust")
    sec.text(f"Of the {int(errors)} errors, {pct(share[dis])} put the label Disgust on another "
             f"class (report 000: few images are wrongly called Disgust); the label most often "
             f"wrongly given is {CLASS_NAMES[int(np.argmax(col_err))]} "
             f"({pct(share.max())} of the errors).")
    num["least_predicted_in_errors"] = CLASS_NAMES[int(np.argmin(col_err))]
    num["disgust_share_of_errors"] = float(share[dis])
    return sec


# --------------------------------------------------------------------------- saliency helpers
def _saliency_section(ctx, sec, classes, method, caption_method):
    from fer_keras import explain, plotting

    d = ctx.qdir(sec.id)
    name = ctx.cnn_name()
    net = ctx.model(name)
    ds = ctx.val
    probs = ctx.probs(name, "val")
    per = ctx.profile["saliency_images"]
    picks = pick_examples(ds, probs, per, [CLASS_NAMES.index(c) for c in classes])
    rows, panel_idx, panel_titles, stats = [], [], [], {}
    for c, idx in picks.items():
        cname = CLASS_NAMES[c]
        maps = explain.saliency_maps(net, ds.images[idx], labels=np.full(len(idx), c),
                                     method=method, samples=ctx.profile["smoothgrad_samples"],
                                     seed=ctx.cfg.seed)
        conc = region_concentration(maps)
        entry = {"images": int(len(idx)), "eyes": conc["eyes"], "mouth": conc["mouth"],
                 "focus": focus_of(conc),
                 "correct": int((probs[idx].argmax(1) == c).sum())}
        if ds.masks is not None:
            entry["part_mask_concentration"] = float(explain.mask_concentration(maps, ds.masks[idx]))
        stats[cname] = entry
        panel_idx.append(int(idx[0]))
        panel_titles.append(f"{cname} (p={probs[idx[0], c]:.2f})")
    all_maps = explain.saliency_maps(net, ds.images[panel_idx],
                                     labels=[CLASS_NAMES.index(t.split(' ')[0]) for t in panel_titles],
                                     method=method, samples=ctx.profile["smoothgrad_samples"],
                                     seed=ctx.cfg.seed)
    fig = plotting.saliency_panels(ds.images[panel_idx], all_maps, d / f"saliency_{method}.png",
                                   titles=panel_titles)
    sec.figure(fig, f"{caption_method} for one validation image per class (the most confident "
                    "correct one): original, map, image masked by the map", ctx.out)
    for cname, e in stats.items():
        row = [cname, str(e["images"]), fnum(e["eyes"]), fnum(e["mouth"]), e["focus"]]
        if "part_mask_concentration" in e:
            row.append(fnum(e["part_mask_concentration"]))
        rows.append(row)
    header = ["class", "images", "eyes region", "mouth region", "focus"]
    if ds.masks is not None:
        header.append("true parts")
    sec.table(header, rows, caption="Concentration of the saliency mass in each region (1 = "
              "uniform, 2 = twice the mass a uniform map puts there), averaged over the images"
              + ("; true parts = the mouth, brows and eyes drawn in the synthetic faces"
                 if ds.masks is not None else ""))
    return stats


def q4_saliency(ctx):
    """HW3 Q4: vanilla-gradient saliency maps for every class."""
    sec = Section("q4-saliency")
    stats = _saliency_section(ctx, sec, CLASS_NAMES, "vanilla", "Vanilla-gradient saliency "
                              "(|d class score / d pixel|, Simonyan et al. 2013)")
    sec.numbers = {"method": "vanilla", "model": ctx.cnn_name(), "classes": stats,
                   "regions": {k: [v[0].start, v[0].stop, v[1].start, v[1].stop]
                               for k, v in REGIONS.items()}}
    lines = []
    for cname, e in stats.items():
        lines.append(f"{cname}: mostly the **{e['focus']}** (eyes region {fnum(e['eyes'])}x, "
                     f"mouth region {fnum(e['mouth'])}x the uniform share)")
    sec.text("Where the class score is most sensitive, per class (averaged over up to "
             f"{ctx.profile['saliency_images']} validation images of the class):")
    sec.bullets(lines)
    pm = [e.get("part_mask_concentration") for e in stats.values()]
    pm = [p for p in pm if p is not None and np.isfinite(p)]
    if pm:
        sec.text(f"On the synthetic faces we know where the expression is drawn: on average the "
                 f"maps put {fnum(float(np.mean(pm)))}x the uniform share of their mass on the "
                 "mouth, brows and eyes" + (", so the CNN does look at the expression."
                                           if np.mean(pm) > 1.2 else
                                           ", barely more than a uniform map would."))
    return sec


def hw4_saliency(ctx):
    """HW4 Q1: SmoothGrad saliency for Happy, Sad, Surprise and Neutral, against report 002."""
    sec = Section("hw4-saliency")
    classes = list(REPORTED["saliency_focus"])
    stats = _saliency_section(ctx, sec, classes, "smoothgrad", "SmoothGrad saliency (Smilkov "
                              "et al. 2017)")
    verdicts = {}
    lines = []
    for cname, e in stats.items():
        rep = REPORTED["saliency_focus"][cname]
        ok = _agrees(e["focus"], rep)
        verdicts[cname] = {"measured": e["focus"], "reported": rep, "agrees": ok}
        lines.append(f"{cname}: the map favours the **{e['focus']}** (eyes {fnum(e['eyes'])}x, "
                     f"mouth {fnum(e['mouth'])}x); report 002 saw the {rep} - "
                     + ("consistent." if ok else "**not** what we measure here."))
    sec.numbers = {"method": "smoothgrad", "model": ctx.cnn_name(), "classes": stats,
                   "against_report": verdicts}
    sec.bullets(lines)
    n_ok = sum(v["agrees"] for v in verdicts.values())
    sec.text(f"{n_ok} of {len(verdicts)} classes agree with what report 002 observed.")
    return sec


# --------------------------------------------------------------------------- filters
def _ascent_block(ctx, sec, layer, image, image_label):
    from fer_keras import explain, plotting

    d = ctx.qdir(sec.id)
    net = ctx.model(ctx.cnn_name())
    steps = ctx.profile["ascent_steps"]
    nf = ctx.profile["ascent_filters"]
    res_noise = explain.filter_ascent(net, layer, filters=nf, steps=steps, start="noise",
                                      seed=ctx.cfg.seed, progress=False)
    res_img = explain.filter_ascent(net, layer, filters=nf, steps=steps, start=image,
                                    seed=ctx.cfg.seed, progress=False)
    f1 = plotting.filter_grid(res_noise["images"], d / "filters_from_noise.png",
                              f"Filters of layer {layer} (# ascent steps {steps}), from noise")
    f2 = plotting.filter_grid(res_img["images"], d / "filters_from_image.png",
                              f"Filters of layer {layer} (# ascent steps {steps}), from {image_label}")
    fmaps = explain.feature_maps(net, layer, image)
    nfm = min(len(fmaps), ctx.profile["feature_map_filters"])
    f3 = plotting.feature_map_grid(fmaps[:nfm], d / "feature_maps.png",
                                   f"Outputs of the filters of {layer} for {image_label}")
    sec.figure(f1, f"Gradient ascent from white noise: the input that maximises each of the "
                   f"first {len(res_noise['filters'])} filters of `{layer}`", ctx.out)
    sec.figure(f2, f"Gradient ascent from {image_label}", ctx.out)
    shown = "each filter" if nfm == len(fmaps) else f"the first {nfm} of its {len(fmaps)} filters"
    sec.figure(f3, f"Output of {shown} of `{layer}` for {image_label}", ctx.out)
    up_noise = np.asarray(res_noise["final_activation"]) > np.asarray(res_noise["start_activation"])
    up_img = np.asarray(res_img["final_activation"]) > np.asarray(res_img["start_activation"])
    # how alike are the patterns found from noise and the ones added to the face?
    start = explain.as_batch(image)[0, ..., 0]  # the face as float in [0, 1]
    added = res_img["images"] - start[None]
    corr = [_corr(a, b) for a, b in zip(res_noise["images"], added)]
    fm = np.asarray(fmaps, np.float64)
    small = _resize_to(start, fm.shape[1:])
    fm_corr = np.array([_corr(f, small) for f in fm])
    dead = int(np.sum(fm.reshape(len(fm), -1).max(axis=1) <= 1e-6))
    num = {"layer": layer, "filters": int(len(res_noise["filters"])), "steps": steps,
           "noise": {"start_activation": float(np.mean(res_noise["start_activation"])),
                     "final_activation": float(np.mean(res_noise["final_activation"])),
                     "share_increased": float(up_noise.mean())},
           "image": {"start_activation": float(np.mean(res_img["start_activation"])),
                     "final_activation": float(np.mean(res_img["final_activation"])),
                     "share_increased": float(up_img.mean())},
           "noise_vs_image_pattern_correlation": float(np.nanmean(corr)),
           "feature_maps": {"channels": int(len(fm)), "shape": list(fm.shape[1:]),
                            "dead": dead,
                            "keep_face": int(np.sum(fm_corr > 0.5)),
                            "invert_face": int(np.sum(fm_corr < -0.5)),
                            "other": int(np.sum(np.abs(fm_corr) <= 0.5) - dead)}}
    return num


def _corr(a, b):
    a = np.asarray(a, np.float64).ravel()
    b = np.asarray(b, np.float64).ravel()
    if a.std() < 1e-12 or b.std() < 1e-12:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def _resize_to(img, hw):
    from PIL import Image

    if tuple(img.shape) == tuple(hw):
        return img
    return np.asarray(Image.fromarray(img.astype(np.float32), mode="F").resize(
        (int(hw[1]), int(hw[0])), Image.BILINEAR))


def _filters_text(sec, num, image_label):
    fmn = num["feature_maps"]
    sec.text(f"**Gradient ascent** on the first {num['filters']} filters of `{num['layer']}`, "
             f"{num['steps']} steps each (with jitter, blur and total-variation regularisers). "
             f"From noise, the filters' mean activation went from "
             f"{fnum(num['noise']['start_activation'], 3)} to "
             f"{fnum(num['noise']['final_activation'], 3)} ({pct(num['noise']['share_increased'], 0)} "
             f"of the filters increased); from {image_label}, from "
             f"{fnum(num['image']['start_activation'], 3)} to "
             f"{fnum(num['image']['final_activation'], 3)} ({pct(num['image']['share_increased'], 0)}).")
    r = num["noise_vs_image_pattern_correlation"]
    similar = r > 0.3
    sec.text(f"The patterns found from noise and those added to the face correlate "
             f"r = {fnum(r)} on average" + (
                 ": starting from the face gives much the same textures as starting from noise, "
                 "as report 000 found." if similar else
                 ": starting from the face gives other patterns than starting from noise "
                 "(report 000 found them alike)."))
    sec.text(f"**Filter outputs.** Of the {fmn['channels']} filters of `{num['layer']}` "
             f"({fmn['shape'][0]}x{fmn['shape'][1]} maps), {fmn['keep_face']} reproduce the face "
             f"(correlation with the image > 0.5), {fmn['invert_face']} invert it (< -0.5), "
             f"{fmn['other']} keep only some parts or the edges, and {fmn['dead']} are silent "
             "on this image.")


def _conv_for_q5(net):
    """The last convolution's rectified output (report 003 asks for "the last layer's filters";
    a raw conv output can be a linear function of the image, e.g. ``small_cnn``'s conv2 follows
    conv1 with no activation between, and its ascent just saturates the image)."""
    from fer_keras import explain

    return explain.gradcam_layer(net)


def q5_filters(ctx):
    """HW3 Q5: gradient ascent on the last conv layer's activation (report 003), from noise and
    from a face, and that layer's feature maps for the face."""
    sec = Section("q5-filters")
    name = ctx.cnn_name()
    net = ctx.model(name)
    layer = _conv_for_q5(net)
    picks = pick_examples(ctx.val, ctx.probs(name, "val"), 1, [CLASS_NAMES.index("Happy")])
    i = int(next(iter(picks.values()))[0]) if picks else 0
    label = f"validation image #{i} ({CLASS_NAMES[int(ctx.val.labels[i])]})"
    num = _ascent_block(ctx, sec, layer, ctx.val.images[i], label)
    num["image_index"] = i
    sec.numbers = num
    sec.text(f"The layer is `{layer}`, the rectified output of the last convolution (report 003 "
             "asks for the last layer's filters; report 000 used its second conv layer).")
    _filters_text(sec, num, label)
    return sec


def _first_activation(net):
    """The first activation layer after the first convolution (report 002's activation_1)."""
    from fer_keras import explain

    first = explain.first_conv_layer(net)
    names = [layer.name for layer in net.layers]
    for layer in net.layers[names.index(first) + 1:]:
        if type(layer).__name__ in ("Activation", "ReLU", "LeakyReLU", "ELU", "PReLU"):
            return layer.name
    return first


def hw4_filters(ctx):
    """HW4 Q2: gradient ascent on the first activation layer; its outputs for image #307."""
    sec = Section("hw4-filters")
    net = ctx.model(ctx.cnn_name())
    layer = _first_activation(net)
    i = 307 % len(ctx.val)
    label = f"validation image #{i} ({CLASS_NAMES[int(ctx.val.labels[i])]})"
    num = _ascent_block(ctx, sec, layer, ctx.val.images[i], label)
    num["image_index"] = i
    sec.numbers = num
    sec.text(f"Report 002 used the first activation layer (after conv, BN and activation) and "
             f"image #307; here that layer is `{layer}` and the image is #{i} of the validation "
             "split.")
    _filters_text(sec, num, label)
    return sec


# --------------------------------------------------------------------------- HW3 Q6
def q6_conv_shape(ctx):
    """HW3 Q6 (report 003): the output-shape formula, checked layer by layer against Keras."""
    from fer_keras import models, shapes

    sec = Section("q6-conv-shape")
    sec.text("Pad the W x H input with P1 (P2) zeros on each side: W + 2P1 positions. A kernel "
             "of width K1 moved by S1 fits n times when K1 + (n - 1) S1 <= W + 2P1; the largest "
             "such n is the output width:")
    sec.code("out_W = floor((W + 2*P1 - K1) / S1) + 1\n"
             "out_H = floor((H + 2*P2 - K2) / S2) + 1\n"
             "output: (B, out_W, out_H, output_channels)")
    sec.text("Keras names the padding instead: `valid` is P = 0, and `same` pads just enough "
             "that out = ceil(W / S) (the extra zero goes to the bottom/right when the total is "
             "odd). `fer_keras.shapes.conv2d_output_shape` implements both; a property test "
             "checks it against real Keras layers on random sizes, kernels, strides, dilations "
             "and paddings.")
    checks = []
    for name in dict.fromkeys((ctx.cnn_name(), "deep_cnn")):
        net = models.build(name)
        rows = shapes.layer_shape_rows(net)
        checks.append({"model": name, "rows": [{**r, "padding": str(r["padding"])} for r in rows],
                       "layers": len(rows), "all_match": all(r["match"] for r in rows)})
        sec.table(["layer", "type", "input", "kernel", "stride", "padding", "formula", "Keras"],
                  [(r["layer"], r["type"], _hw(r["input"]), _hw(r["kernel"]), _hw(r["stride"]),
                    str(r["padding"]), _hw(r["formula"]), _hw(r["keras"])) for r in rows],
                  caption=f"`{name}`: hand-derived vs Keras output sizes")
    example = shapes.conv2d_output_shape((48, 48), 5, 1, 2)
    sec.numbers = {"formula": shapes.FORMULA, "models": checks,
                   "report_003_first_layer": list(example)}
    total = sum(c["layers"] for c in checks)
    ok = sum(sum(r["match"] for r in c["rows"]) for c in checks)
    sec.text(f"Report 003's first layer, Conv2d(1, 32, kernel 5, stride 1, padding 2) on 48x48: "
             f"floor((48 + 4 - 5) / 1) + 1 = {example[0]}, so {example[0]}x{example[1]}x32, as its "
             f"table says. Over the {total} convolution and pooling layers above the formula "
             f"gives Keras's size for **{ok} of {total}**.")
    return sec


def _times(n):
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def _hw(t):
    return f"{t[0]}x{t[1]}" if isinstance(t, (tuple, list)) else str(t)


# --------------------------------------------------------------------------- bonus: semi
def bonus_semi(ctx):
    """HW3 bonus: labeled-only vs self-training at 10% and 25% labels."""
    from fer_keras import plotting, semi

    sec = Section("bonus-semi")
    d = ctx.qdir(sec.id)
    p = dict(ctx.profile["semi"])
    model = p.pop("model") or ctx.cnn_name()
    scfg = semi.SemiConfig(model=model, data=str(ctx.cfg.data), out=str(d),
                           n_synthetic=ctx.cfg.n_synthetic, seed=ctx.cfg.seed, **p)
    res = semi.compare(scfg, splits=ctx.splits, progress=ctx.log)
    results = res["results"]
    sec.numbers = res
    budget = scfg.warm_steps + scfg.rounds * scfg.round_steps
    fracs = _names(["{:.0%}".format(r["fraction"]) for r in results])
    sec.text(f"We keep the labels of a stratified {fracs} "
             f"of the {len(ctx.splits['train']):,} training images and hide the rest. "
             f"**Self-training**: train `{scfg.model}` on the labeled images for {scfg.warm_steps} "
             f"steps, then {_times(scfg.rounds)}: let the best checkpoint so far label every "
             f"unlabeled image it is at least {scfg.threshold:.0%} sure of (capped per class by "
             f"the labeled class shares), and train {scfg.round_steps} more steps on "
             + (f"batches {scfg.mix:.0%} pseudo-labeled, {1 - scfg.mix:.0%} labeled"
                if scfg.mix else "labeled + pseudo-labeled images")
             + " (pseudo-labels from clean images, training on augmented ones). **Labeled "
             "only**: the same model trained on the labeled images alone for the "
             f"same {budget} steps of batch {scfg.batch_size}. The two share the first "
             f"{scfg.warm_steps} steps (one run, then two branches), keep their best-validation "
             f"weights and are scored on the held-out {results[0]['scored_on']} split.")
    rows = []
    for r in results:
        last = r["self_training"]["rounds"][-1]
        rows.append([f"{r['fraction']:.0%}", f"{r['n_labeled']:,}", f"{r['n_unlabeled']:,}",
                     pct(r["supervised"]["test_accuracy"]),
                     pct(r["self_training"]["test_accuracy"]), points(r["gain"]),
                     f"{last['n_pseudo']:,}", pct(last["pseudo_accuracy"])])
    sec.table(["labeled", "labeled images", "unlabeled images", "labeled only", "self-training",
               "gain", "pseudo-labels (last round)", "pseudo-label accuracy"], rows,
              caption=f"Accuracy on the {results[0]['scored_on']} split")
    fig = plotting.semi_comparison([r["fraction"] for r in results],
                                   [r["supervised"]["test_accuracy"] for r in results],
                                   [r["self_training"]["test_accuracy"] for r in results],
                                   d / "semi.png", title=f"Self-training vs labeled only "
                                                         f"({scfg.model})")
    sec.figure(fig, "Labeled-only vs self-training accuracy per labeled fraction", ctx.out)
    lines = []
    for r in results:
        g = r["gain"]
        verdict = "helps" if g > 0.01 else "hurts" if g < -0.01 else "makes no clear difference"
        last = r["self_training"]["rounds"][-1]
        teacher = last.get("teacher_val_accuracy")
        why = (f"; the last round's teacher had {pct(teacher)} validation accuracy and its "
               f"{last['n_pseudo']:,} pseudo-labels were {pct(last['pseudo_accuracy'])} right"
               if last["n_pseudo"] else
               f"; the teacher ({pct(teacher)} validation accuracy) was never "
               f"{scfg.threshold:.0%} sure of any unlabeled image, so no pseudo-label was used")
        lines.append(f"{r['fraction']:.0%} labels: self-training {verdict} "
                     f"({pct(r['self_training']['test_accuracy'])} vs "
                     f"{pct(r['supervised']['test_accuracy'])}, {points(g)}){why}.")
    sec.bullets(lines)
    return sec


# --------------------------------------------------------------------------- HW4 Q3
def hw4_lime(ctx):
    """HW4 Q3: LIME for one image per class; evidence regions against per-class recall."""
    from fer_keras import evaluate, explain, plotting

    sec = Section("hw4-lime")
    d = ctx.qdir(sec.id)
    name = ctx.cnn_name()
    net = ctx.model(name)
    ds = ctx.val
    probs = ctx.probs(name, "val")
    recall = evaluate.metrics(ds.labels, probs)["per_class"]
    picks = pick_examples(ds, probs, 1)
    stats = {}
    for c, idx in picks.items():
        i = int(idx[0])
        cname = CLASS_NAMES[c]
        res = explain.lime_explanation(net, ds.images[i], num_samples=ctx.profile["lime_samples"],
                                       n_segments=ctx.profile["lime_segments"], seed=ctx.cfg.seed)
        pos = np.clip(np.asarray(res["weights"][c], np.float64), 0, None)[res["segments"]]
        conc = region_concentration(pos[None])
        fig = plotting.lime_panels(ds.images[i], res, d / f"lime_{cname.lower()}.png")
        article = "an" if cname[0] in "AEIOU" else "a"
        sec.figure(fig, f"LIME for validation image #{i}, {article} {cname} face "
                        f"(model: {cname} with p = {res['probs'][c]:.2f})", ctx.out)
        stats[cname] = {"image_index": i, "prob": float(res["probs"][c]),
                        "eyes": conc["eyes"], "mouth": conc["mouth"], "focus": focus_of(conc),
                        "recall": recall[cname]["recall"],
                        "fit_r2": float(np.asarray(res.get("score", [np.nan] * 7))[c])}
    sec.numbers = {"model": name, "num_samples": ctx.profile["lime_samples"],
                   "n_segments": ctx.profile["lime_segments"], "classes": stats}
    sec.table(["class", "recall (Q3)", "p(class)", "eyes region", "mouth region", "LIME evidence"],
              [(c, pct(e["recall"]), fnum(e["prob"]), fnum(e["eyes"]), fnum(e["mouth"]), e["focus"])
               for c, e in sorted(stats.items(), key=lambda kv: -kv[1]["recall"])],
              caption="Where the positive LIME weight of each class's own explanation lies "
                      "(concentration, 1 = uniform), classes by recall")
    order = sorted(stats, key=lambda c: -stats[c]["recall"])
    best, worst = order[:3], order[-2:]
    def with_recall(cs):
        return _names(["{} ({})".format(c, pct(stats[c]["recall"])) for c in cs])

    def foci(cs):
        return _names(sorted({stats[c]["focus"] for c in cs}))

    sec.text(f"The best recognised classes ({with_recall(best)}) are explained by the "
             f"{foci(best)}; the worst ({with_recall(worst)}) by the {foci(worst)}.")
    mouth = [c for c in order if stats[c]["focus"] == "mouth"]
    if mouth:
        mean_mouth = float(np.mean([stats[c]["recall"] for c in mouth]))
        other = [c for c in order if c not in mouth]
        mean_other = float(np.mean([stats[c]["recall"] for c in other])) if other else float("nan")
        sec.numbers["mean_recall_mouth_focus"] = mean_mouth
        sec.numbers["mean_recall_other_focus"] = mean_other
        sec.text(f"The {len(mouth)} {'class' if len(mouth) == 1 else 'classes'} whose evidence "
                 f"is the mouth ({_names(mouth)}) {'has' if len(mouth) == 1 else 'have'} a mean "
                 f"recall of {pct(mean_mouth)}, the other {len(other)} {pct(mean_other)}"
                 + (": a clear mouth shape is the easiest cue, as report 002 concluded for Happy "
                    "and Surprise." if mean_mouth > mean_other else
                    ": here a mouth-based explanation does not go with a higher recall."))
    return sec


# --------------------------------------------------------------------------- HW4 Q4
def hw4_tsne(ctx):
    """HW4 Q4: t-SNE of the first conv layer and of the last hidden layer for ~200 images."""
    from fer_keras import explain, plotting

    sec = Section("hw4-tsne")
    d = ctx.qdir(sec.id)
    net = ctx.model(ctx.cnn_name())
    ds = ctx.val
    n = min(ctx.profile["tsne_images"], len(ds))
    rng = np.random.default_rng(ctx.cfg.seed)
    idx = np.sort(rng.choice(len(ds), n, replace=False))
    images, labels = ds.images[idx], ds.labels[idx]
    out = {}
    for key, layer in (("first", explain.first_conv_layer(net)),
                       ("last", explain.last_hidden_layer(net))):
        res = explain.tsne_embedding(net, layer, images, labels, seed=ctx.cfg.seed)
        fig = plotting.tsne_scatter(res["embedding"], labels, d / f"tsne_{key}.png",
                                    f"t-SNE of layer {layer} ({key})", score=res["silhouette"])
        dims = int(np.prod(net.get_layer(layer).output.shape[1:]))
        sec.figure(fig, f"t-SNE of the {key} layer `{layer}` ({dims:,} dimensions) for "
                        f"{n} validation images, coloured by true class", ctx.out)
        out[key] = {"layer": layer, "dims": dims, "silhouette": float(res["silhouette"]),
                    "silhouette_features": float(res.get("silhouette_features", float("nan")))}
    sec.numbers = {"images": int(n), **out}
    a, b = out["first"]["silhouette"], out["last"]["silhouette"]
    sec.text(f"Silhouette score of the classes in the 2-D embedding (from -1 to 1; higher = "
             f"classes better separated): first layer `{out['first']['layer']}` {fnum(a)}, "
             f"last hidden layer `{out['last']['layer']}` {fnum(b)}.")
    if b > a + 0.05:
        sec.text("In the first layer the classes overlap; by the last layer they are much better "
                 "separated, as report 002 found" + (" (there, not completely: its model was "
                                                      "68% accurate)." if b < 0.5 else "."))
    else:
        sec.text("Unlike in report 002, the last layer does not separate the classes clearly "
                 "better than the first one.")
    return sec


QUESTION_FUNCS = {
    "q1-train": q1_train, "q2-dnn": q2_dnn, "q3-confusion": q3_confusion,
    "q4-saliency": q4_saliency, "q5-filters": q5_filters, "q6-conv-shape": q6_conv_shape,
    "bonus-semi": bonus_semi, "hw4-saliency": hw4_saliency, "hw4-filters": hw4_filters,
    "hw4-lime": hw4_lime, "hw4-tsne": hw4_tsne,
}


# --------------------------------------------------------------------------- running
def run_question(qid, ctx_or_cfg, log=print, raise_errors=True):
    """Answer one question; writes ``OUT/<qid>/{numbers.json, answer.md, config.json}``."""
    from fer_keras.io import write_json, write_text

    ctx = ctx_or_cfg if isinstance(ctx_or_cfg, Context) else Context(ctx_or_cfg, log=log)
    if qid not in QUESTION_FUNCS:
        raise FerInputError(f"unknown question {qid!r}; valid: {', '.join(QUESTIONS)}")
    t = time.perf_counter()
    try:
        sec = QUESTION_FUNCS[qid](ctx)
    except Exception as e:  # noqa: BLE001 - one failed question must not lose the others
        if raise_errors or isinstance(e, (KeyboardInterrupt, FerInputError)):
            raise
        sec = Section(qid, error=f"{type(e).__name__}: {' '.join(str(e).split())[:300]}")
    sec.seconds = time.perf_counter() - t
    d = ctx.qdir(qid)
    write_json(d / "numbers.json", sec.numbers)
    write_json(d / "config.json", {**ctx.cfg.to_dict(), "profile_settings": ctx.profile})
    write_text(d / "answer.md", sec.markdown(level=1, fig_prefix="../"))
    if log:
        log(f"[{qid}] done in {sec.seconds:.1f} s" + (f" - FAILED: {sec.error}" if sec.error else ""))
    return sec


def versions():
    """Versions of Python, fer_keras, Keras, its backend and numpy."""
    import keras

    import fer_keras

    v = {"python": platform.python_version(), "fer_keras": fer_keras.__version__,
         "keras": keras.__version__, "backend": keras.backend.backend(), "numpy": np.__version__,
         "platform": platform.platform()}
    try:
        mod = __import__(v["backend"])
        v["backend_version"] = getattr(mod, "__version__", "?")
    except ImportError:
        v["backend_version"] = "?"
    return v


def build_report(cfg: ReportConfig, log=print):
    """Answer ``cfg.questions`` and write ``report.html``, ``report.md`` and ``report.json``.

    Returns a dict with ``html``, ``markdown``, ``json`` (paths), ``sections`` and ``failed``
    (ids of questions that raised; their sections say why and the other questions still run).
    """
    from fer_keras.io import write_json, write_text

    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    started = datetime.datetime.now().astimezone()
    ctx = Context(cfg, log=log)
    write_json(out / "report_config.json", {**cfg.to_dict(), "profile_settings": ctx.profile})
    if cfg.synthetic and log and _notice_wanted():
        log("note: the report runs on the built-in synthetic faces; pass --data PATH "
            "(fer2013.csv, train.csv or an image folder; `make report DATA=PATH`) for FER2013")
    sections = [run_question(q, ctx, log=log, raise_errors=False) for q in cfg.questions]
    total = time.perf_counter() - t0
    meta = {"data": ctx.data_description(), "data_arg": str(cfg.data), "synthetic": cfg.synthetic,
            "date": started.isoformat(timespec="seconds"), "command": cfg.command or
            "fer_keras.report.build_report(...)", "versions": versions(),
            "profile": cfg.resolved_profile, "model": cfg.model, "epochs": cfg.epochs,
            "seconds": round(total, 1), "cpu_count": os.cpu_count(),
            "splits": {k: (0 if v is None else len(v)) for k, v in ctx.splits.items()}}
    doc = {"meta": meta, "config": cfg.to_dict(), "order": [s.id for s in sections],
           "sections": {s.id: {"title": s.title, "numbers": s.numbers, "seconds": s.seconds,
                               "error": s.error} for s in sections}}
    write_json(out / "report.json", doc)
    md = render_markdown(meta, sections)
    write_text(out / "report.md", md)
    write_text(out / "report.html", render_html(meta, sections, out))
    failed = [s.id for s in sections if s.error]
    if log:
        log(f"report written: {out / 'report.html'} and {out / 'report.md'} ({total:.0f} s"
            + (f"; FAILED: {', '.join(failed)}" if failed else "") + ")")
    return {"html": out / "report.html", "markdown": out / "report.md",
            "json": out / "report.json", "sections": sections, "failed": failed,
            "seconds": total}


def _meta_rows(meta):
    v = meta["versions"]
    return [("Data", meta["data"]),
            ("Splits", ", ".join(f"{k} {n:,}" for k, n in meta["splits"].items())),
            ("Model", f"`{meta['model']}`, {meta['epochs']} epochs, profile `{meta['profile']}`"),
            ("Date", meta["date"]),
            ("Command", f"`{meta['command']}`"),
            ("Versions", f"fer_keras {v['fer_keras']}, Keras {v['keras']} ({v['backend']} "
                         f"{v['backend_version']}), numpy {v['numpy']}, Python {v['python']}"),
            ("Machine", f"{v['platform']}, {meta['cpu_count']} CPUs"),
            ("Time", f"{meta['seconds']:.0f} s for the whole report")]


def _notice(meta):
    if meta["synthetic"]:
        return ("These answers were measured on the built-in **synthetic faces**, not on "
                "FER2013: the numbers show the method, not the reports' accuracies. For the real "
                "data: `fer-keras report --data PATH` or `make report DATA=PATH` (PATH: "
                "fer2013.csv, a course train.csv or an image folder).")
    return None


def render_markdown(meta, sections):
    lines = ["# FER2013 course reports, regenerated by fer_keras", ""]
    note = _notice(meta)
    if note:
        lines += [f"> **Note.** {note}", ""]
    lines += ["| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in _meta_rows(meta)] + [""]
    lines += ["## Contents", ""] + [f"- [{s.title}](#{s.id})" for s in sections] + [""]
    for s in sections:
        lines += [f'<a id="{s.id}"></a>', "", s.markdown(level=2)]
    return "\n".join(lines)


def render_html(meta, sections, out):
    note = _notice(meta)
    head = ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>FER2013 reports regenerated - {html.escape(meta['date'])}</title>"
            f"<style>{_CSS}</style></head><body>")
    body = ["<h1>FER2013 course reports, regenerated by fer_keras</h1>"]
    if note:
        body.append(f'<p class="notice"><strong>Note.</strong> {_inline_html(note)}</p>')
    body.append('<table class="meta">' + "".join(
        f"<tr><td>{html.escape(k)}</td><td>{_inline_html(v)}</td></tr>"
        for k, v in _meta_rows(meta)) + "</table>")
    body.append("<h2>Contents</h2><ul>" + "".join(
        f'<li><a href="#{s.id}">{html.escape(s.title)}</a></li>' for s in sections) + "</ul>")
    body += [_section_html(s, out) for s in sections]
    return head + "\n".join(body) + "</body></html>\n"


def command_line(argv=None):
    """The command as typed (``fer-keras report ...``), for the report's header."""
    import shlex

    argv = sys.argv if argv is None else argv
    prog = os.path.basename(argv[0]) if argv else "fer-keras"
    if prog in ("__main__.py", "cli.py", "fer-keras"):
        prog = "fer-keras"
    elif prog.endswith(".py"):
        prog = f"python {argv[0]}"
    line = " ".join([prog] + [shlex.quote(a) for a in argv[1:]])
    return line + (" (run by make)" if os.environ.get("MAKELEVEL") else "")
