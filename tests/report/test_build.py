"""The generated report: every question answered, every embedded figure decodes, the numbers in
the text are the numbers in report.json, runs are reused, and (slow) Chromium renders every image.

The report is built once per module on a tiny setup: a small registry CNN trained 2 epochs on 600
synthetic faces, and explanation settings cut to a few filters, steps and samples.
"""
import base64
import io
import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from fer_keras import report
from fer_keras.train.rundir import RunDir

TINY = "tiny_report_cnn"
SETTINGS = {"ascent_filters": 4, "ascent_steps": 3, "feature_map_filters": 4, "lime_samples": 40,
            "lime_segments": 16, "tsne_images": 60, "saliency_images": 2, "smoothgrad_samples": 2,
            "checks_images": 12, "checks_cascade": 4,
            "checks_methods": ("vanilla", "occlusion", "gradcam"),  # one of each family, fast
            "semi": {"model": "tiny_cnn", "fractions": (0.25,), "warm_steps": 6, "round_steps": 4,
                     "rounds": 1, "eval_every": 10, "batch_size": 32},
            "fixmatch": {"fractions": (0.25,), "warm_steps": 6, "round_steps": 4,
                         "eval_every": 10, "batch_size": 32}}


def _register_tiny():
    import keras
    from keras import layers

    from fer_keras import models

    if TINY in models.list_models():
        return

    def tiny_report_cnn(input_shape=(48, 48, 1), num_classes=7):
        """A tiny CNN for the report test."""
        return keras.Sequential([
            keras.Input(shape=input_shape, name="image"),
            layers.Conv2D(8, 3, strides=2, name="conv1"), layers.Activation("relu", name="relu1"),
            layers.MaxPooling2D(2, name="pool1"),
            layers.Conv2D(8, 3, padding="same", name="conv2"),
            layers.Activation("relu", name="relu2"), layers.MaxPooling2D(2, name="pool2"),
            layers.Flatten(name="flatten"), layers.Dense(512, name="fc1"),
            layers.Activation("relu", name="fc1_relu"),
            layers.Dense(num_classes, name="logits"),
            layers.Activation("softmax", name="predictions", dtype="float32")], name=TINY)

    models.register(tiny_report_cnn)


def _config(out, **kw):
    kw = {"model": TINY, "n_synthetic": 600, **kw}
    return report.ReportConfig(data="synthetic", epochs=2, out=str(out), profile="quick",
                               settings=SETTINGS, command="pytest tests/report/test_build.py",
                               verbose=0, **kw)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    _register_tiny()
    out = tmp_path_factory.mktemp("report")
    res = report.build_report(_config(out), log=None)
    doc = json.loads((out / "report.json").read_text())
    return out, res, doc


def _section_md(md, qid):
    start = md.index(f'<a id="{qid}"></a>')
    nxt = md.find('<a id="', start + 5)
    return md[start:nxt if nxt > 0 else len(md)]


def test_every_question_answered(built):
    out, res, doc = built
    assert res["failed"] == [], [(s.id, s.error) for s in res["sections"] if s.error]
    assert doc["order"] == ["reproduction", *report.QUESTIONS]
    assert set(doc["sections"]) == {"reproduction", *report.QUESTIONS}
    for q in report.QUESTIONS:
        for f in ("numbers.json", "answer.md", "config.json"):
            assert (out / q / f).is_file(), (q, f)


def test_every_embedded_image_decodes(built):
    from PIL import Image

    out, res, _ = built
    page = (out / "report.html").read_text()
    uris = re.findall(r'<img [^>]*src="data:image/png;base64,([^"]+)"', page)
    figures = sum(b["kind"] == "figure" for s in res["sections"] for b in s.blocks)
    assert figures >= 15 and len(uris) == figures
    assert "src=\"http" not in page and "src='http" not in page  # self-contained
    for data in uris:
        img = Image.open(io.BytesIO(base64.b64decode(data, validate=True)))
        img.load()
        assert img.size[0] > 50 and img.size[1] > 50


def test_markdown_twin_links_existing_figures(built):
    out, res, _ = built
    md = (out / "report.md").read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert len(links) == sum(b["kind"] == "figure" for s in res["sections"] for b in s.blocks)
    assert all((out / link).is_file() for link in links)
    for s in res["sections"]:
        assert s.title in md


def test_header_says_data_date_versions_command(built):
    out, _, doc = built
    for text in ((out / "report.md").read_text(), (out / "report.html").read_text()):
        assert "synthetic faces" in text and "not FER2013" in text
        assert doc["meta"]["date"] in text
        assert "pytest tests/report/test_build.py" in text
        assert f"Keras {doc['meta']['versions']['keras']}" in text
    # a first run trained its models: nothing of it counts as reused from an earlier run
    assert not any(r.startswith("the training of") for r in doc["meta"]["reused"]), \
        doc["meta"]["reused"]


def test_numbers_in_text_match_json(built):
    out, _, doc = built
    md = (out / "report.md").read_text()
    num = {q: doc["sections"][q]["numbers"] for q in doc["sections"]}
    q1 = _section_md(md, "q1-train")
    assert report.pct(num["q1-train"]["val_accuracy"]) in q1
    assert report.pct(num["q1-train"]["best_val_accuracy_history"]) in q1
    assert f"{num['q1-train']['params']:,} parameters" in q1
    q2 = _section_md(md, "q2-dnn")
    for m in ("cnn", "dnn"):
        r = num["q2-dnn"][m]
        assert f"{r['params']:,}" in q2
        assert report.pct(r["val_accuracy"]) in q2 and report.points(r["gap"]) in q2
    assert abs(num["q2-dnn"]["dnn"]["params"] / num["q2-dnn"]["cnn"]["params"] - 1) < 0.02
    q3 = _section_md(md, "q3-confusion")
    for c in num["q3-confusion"]["top_confusions"]:
        assert f"{c['true']} -> {c['predicted']}: {report.pct(c['share'])}" in q3
    assert report.pct(num["q3-confusion"]["accuracy"]) in q3
    cm = np.asarray(num["q3-confusion"]["confusion"])
    assert cm.sum() == num["q3-confusion"]["n"]
    semi = _section_md(md, "bonus-semi")
    for r in num["bonus-semi"]["results"]:
        assert report.pct(r["supervised"]["test_accuracy"]) in semi
        assert report.pct(r["self_training"]["test_accuracy"]) in semi
    for r in num["bonus-semi"]["fixmatch"]["results"]:
        fm, sup = r["fixmatch"]["test_accuracy"], r["supervised"]["test_accuracy"]
        assert f"| {report.pct(sup)} | {report.pct(fm)} | {report.points(fm - sup)} |" in semi
        assert r["fixmatch"]["steps"] - r["warm_steps"] == SETTINGS["fixmatch"]["round_steps"]
    tsne = _section_md(md, "hw4-tsne")
    assert report.fnum(num["hw4-tsne"]["first"]["silhouette"]) in tsne
    assert report.fnum(num["hw4-tsne"]["last"]["silhouette"]) in tsne
    q6 = num["q6-conv-shape"]
    assert all(m["all_match"] for m in q6["models"])
    for qid in ("q4-saliency", "hw4-saliency"):
        sec = _section_md(md, qid)
        for cname, e in num[qid]["classes"].items():
            assert f"{cname} | {e['images']} | {report.fnum(e['eyes'])} | " \
                   f"{report.fnum(e['mouth'])} | {report.fnum(e['face'])} | {e['focus']}" in sec


def test_observations_follow_the_numbers():
    """The region concentration of a map with all its mass in the mouth region."""
    maps = np.zeros((2, 48, 48))
    maps[:, 30:40, 15:33] = 1  # all the mass in the mouth region
    conc = report.region_concentration(maps)
    assert conc["mouth"] > 2 and conc["eyes"] == 0


def test_saliency_questions_read_regions_off_a_method_that_passed():
    """HW3 Q4 and HW4 Q1 read their regions off the first method (registry order) that passed
    every check on the CNN; a passed "@ layer" row does not count (the question uses the
    default layer); with none passed, the homework's own method, and the note says nothing."""
    from types import SimpleNamespace

    from fer_keras.analyses import Result
    from fer_keras.explain import methods
    from fer_keras.report.document import Section
    from fer_keras.report.questions import _saliency

    names = methods.names()

    def ctx(passed):
        verdicts = {m: {"sanity": {"passed": m in passed, "reason": ""},
                        "passed": m in passed} for m in list(names) + [f"{names[2]} @ x"]}
        c = SimpleNamespace(cnn_name=lambda: "cnn", _cache={})
        c._cache[("checks", "cnn")] = Result("checks", {"verdicts": verdicts, "methods": {},
                                                        "controls": {}})
        return c

    cnn = SimpleNamespace(name="cnn")
    assert _saliency.region_method(ctx([names[-1], names[3]]), "vanilla", cnn) == \
        (names[3], [names[3], names[-1]])
    assert _saliency.region_method(ctx([]), "vanilla", cnn) == ("vanilla", [])
    assert _saliency.region_method(ctx([f"{names[2]} @ x"]), "smoothgrad", cnn) == \
        ("smoothgrad", [])
    sec = Section("q4-saliency")
    _saliency.method_note(sec, names[3], "vanilla", [names[3]])
    _saliency.method_note(sec, "vanilla", "vanilla", [])
    text = sec.answer_text
    assert text.count("The regions below are read off") == 1 and names[3] in text


def test_runs_are_reused_and_stale_runs_retrained(built, tmp_path):
    out, _, _ = built
    best = out / "runs" / TINY / "best.keras"
    before = best.stat().st_mtime_ns
    ctx = report.Context(_config(out, questions=("q1-train",)), log=None)
    assert RunDir(best.parent).status(ctx.train_config(TINY)) == "finished"
    report.run_question("q1-train", ctx, log=None)
    assert best.stat().st_mtime_ns == before
    other = report.Context(_config(out).replace(epochs=3), log=None)
    assert RunDir(best.parent).status(other.train_config(TINY)) == "stale"


def test_bad_question_is_a_user_error():
    from fer_keras.errors import FerInputError

    with pytest.raises(FerInputError, match="unknown question"):
        report.ReportConfig(questions=("q9",))
    with pytest.raises(FerInputError, match="unknown report setting"):
        report.Context(report.ReportConfig(settings={"nope": 1}))


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.mark.slow
def test_chromium_renders_every_image(built, tmp_path):
    exe = _chromium()
    if exe is None:
        pytest.skip("headless Chromium not installed (apt-get install chromium)")
    out, res, _ = built
    page = (out / "report.html").read_text()
    probe = ("<script>window.addEventListener('load',()=>{const i=[...document.images];"
             "const ok=i.filter(x=>x.complete&&x.naturalWidth>0).length;"
             "const p=document.createElement('pre');p.id='probe';"
             "p.textContent='RENDERED '+ok+' OF '+i.length;document.body.appendChild(p);});"
             "</script></body>")
    probed = tmp_path / "probe.html"
    probed.write_text(page.replace("</body>", probe))
    run = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu",
                          "--virtual-time-budget=10000", "--dump-dom", probed.as_uri()],
                         capture_output=True, text=True, timeout=180)
    m = re.search(r"RENDERED (\d+) OF (\d+)", run.stdout)
    assert m, run.stderr[-2000:]
    figures = sum(b["kind"] == "figure" for s in res["sections"] for b in s.blocks)
    assert int(m.group(2)) == figures and int(m.group(1)) == figures


def test_conv_shape_command(capsys):
    from fer_keras import cli

    assert cli.main(["conv-shape", "--input", "48", "48", "--kernel", "5", "--padding", "2"]) == 0
    assert capsys.readouterr().out.rstrip().endswith("-> 48x48")
    assert cli.main(["conv-shape", "--kernel", "3", "--stride", "2", "--padding", "full"]) == 2


def _outside_model(path):
    """A classifier built outside the registry: functional, residual, 56x56 input scaled to
    [-1, 1], softmax fused into its last layer, saved in the Keras 2 .h5 format."""
    import keras

    x = inp = keras.Input((56, 56, 1), name="img")
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="c1")(x)
    y = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="c2")(x)
    x = keras.layers.Add(name="res")([x, y])
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    out = keras.layers.Dense(7, activation="softmax", name="head")(x)
    keras.Model(inp, out, name="outside").save(path)
    return path


def test_report_explains_a_given_model_without_training(tmp_path):
    """``fer-keras report --model FILE``: the questions that explain a model run on it, at its own
    input size and range, and nothing is trained (the CLI's path; the saliency question, with
    every method's checks, is the library test below)."""
    from fer_keras.cli import main

    model = _outside_model(tmp_path / "outside.h5")
    out = tmp_path / "rep"
    rc = main(["report", "--model", str(model), "--input-range=-1,1", "--quick",
               "--questions", "q3-confusion,q6-conv-shape", "--n-synthetic", "280",
               "--out", str(out)])
    assert rc == 0
    res = json.loads((out / "report.json").read_text())
    assert res["order"] == ["reproduction", "q3-confusion", "q6-conv-shape"]
    assert all(not res["sections"][q]["error"] for q in res["order"])
    assert not (out / "runs").exists()  # nothing was trained
    # the header says so too, not the training epochs of a run that never happened
    model_row = next(line for line in (out / "report.md").read_text().splitlines()
                     if line.startswith("| Model |"))
    assert "given (nothing trained)" in model_row and "epochs" not in model_row


@pytest.mark.core
def test_report_header_says_an_absent_split_is_absent():
    """A split the data do not have (FER2013's image folders: no PrivateTest) reads "none in
    these data", not "test 0"; present splits keep their counts."""
    from fer_keras.report.document import _meta_rows

    meta = {"data": "d", "splits": {"train": 28709, "val": 3589, "test": 0}, "model": "m",
            "epochs": 10, "profile": "full", "date": "today", "command": "c",
            "versions": dict.fromkeys(("fer_keras", "keras", "backend", "backend_version",
                                       "numpy", "python", "platform"), "v"),
            "cpu_count": 2, "seconds": 1.0}
    splits = dict(_meta_rows(meta))["Splits"]
    assert splits == "train 28,709, val 3,589 (chooses the kept epochs), test: none in these data"


def test_report_saliency_of_a_given_model(tmp_path):
    model = _outside_model(tmp_path / "outside.h5")
    out = tmp_path / "rep"
    cfg = _config(out, model=str(model), input_range="-1,1", questions=("q4-saliency",),
                  n_synthetic=280)
    assert cfg.model_path  # a file: explained as given
    report.build_report(cfg, log=None)
    res = json.loads((out / "report.json").read_text())
    assert not res["sections"]["q4-saliency"]["error"]
    assert not (out / "runs").exists()
    sal = json.loads((out / "q4-saliency" / "saliency.json").read_text())
    method = res["sections"]["q4-saliency"]["numbers"]["method"]
    assert sal["methods"][method]["classes"]  # maps of the 56x56 model, per class


def test_report_with_a_given_model_refuses_training_questions(tmp_path, capsys):
    from fer_keras.cli import main

    model = _outside_model(tmp_path / "outside.keras")
    rc = main(["report", "--model", str(model), "--questions", "q2-dnn",
               "--out", str(tmp_path / "rep")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "q2-dnn" in err[0] and "trains" in err[0]
    assert not (tmp_path / "rep").exists()


# --------------------------------------------------------------------------- reproduction table
def test_reproduction_table_in_the_built_report(built):
    from fer_keras.report.claims import CLAIMS

    out, res, doc = built
    rows = doc["sections"]["reproduction"]["numbers"]["rows"]
    assert [r["id"] for r in rows] == [c.id for c in CLAIMS]  # every claim, once, in order
    by_id = {r["id"]: r for r in rows}
    # parameter counts come from the registry: the 51-layer DNN is the report's exactly
    assert by_id["004-q2-params"]["status"] == "reproduced"
    assert by_id["004-q2-params"]["ours"] == ("total 42,809,407 (+0.00%); trainable 42,717,607 "
                                              "(+0.00%); non-trainable 91,800 (+0.00%)")
    # 000's architectures were sized to its counts: a match is no evidence
    assert by_id["000-q1-params"]["status"] == "not testable"
    # 003's flattened map is measured on the model
    assert by_id["003-q6-flatten"]["status"] == "reproduced"
    assert by_id["003-q6-flatten"]["ours"] == "18,432"
    # synthetic faces: no accuracy of the reports can be measured, and the table says why
    acc = [r for r in rows if r["id"] in ("001-q1-oversampled", "000-q1-accuracy")]
    assert all(r["status"] == "not measured" and "synthetic" in r["why"] for r in acc)
    assert by_id["000-q2-wide-first"]["status"] == "not measured" and by_id["000-q2-wide-first"][
        "why"]
    counts = doc["sections"]["reproduction"]["numbers"]["counts"]
    assert sum(counts.values()) == len(CLAIMS)
    md = (out / "report.md").read_text()
    assert md.index('<a id="reproduction"></a>') < md.index('<a id="q1-train"></a>')
    assert f"Of {len(CLAIMS)} claims, **{counts['reproduced']} reproduced**" in md


def _fake_ctx(test=None, synthetic=False):
    from types import SimpleNamespace

    public = type("PublicTest", (), {"__len__": lambda self: 3589, "labels": np.zeros(3589),
                                     "usage": np.array(["PublicTest"] * 3589)})()
    test = public if test is None else test
    shipped = SimpleNamespace(name="shipped fer_net", why="the shipped `fer_net`")
    return SimpleNamespace(cfg=SimpleNamespace(synthetic=synthetic, model_path="", data="d"),
                           scored=("test", test), cnn_name=lambda: "small_cnn", _cache={},
                           model=lambda name: None, explained=lambda: shipped)


class _Run:
    def __init__(self, cfg, epochs=()):
        self.cfg = cfg
        self.best = "best.keras"
        self.epochs = epochs  # seconds of each epoch trained

    def saved_config(self):
        return self.cfg

    def history(self):
        return [{"epoch": i + 1, "seconds": s} for i, s in enumerate(self.epochs)]


def test_reproduction_reads_the_runs_the_claims_name(monkeypatch):
    """A finished run with the report's settings gives a verdict; one with other settings says
    which setting differs; a run that chose its checkpoint on the scoring images is not
    measured; a missing run is 'not measured' with the command that makes it; a second seed
    gives the run-to-run spread; the HW4 row scores the model HW4 explains."""
    from fer_keras.config import preset
    from fer_keras.report import claim_runs, reproduction
    from fer_keras.report.claims import BY_ID

    # as `fer-keras train --preset report` saves it; a setting off the preset is caught too
    base = {**preset("report"), "preset": "report", "augment": True, "select_on": "train",
            "model": "small_cnn", "precision": "float32"}
    runs = {"small_cnn": base, "dnn_000": {**base, "epochs": 20, "model": "dnn_000"},
            "hw3_cnn": {**base, "preset": None, "epochs": 20, "model": "hw3_cnn"}}
    acc = {"small_cnn": 0.553, "dnn_000": 0.4516, "hw3_cnn": 0.6, "small_cnn-seed1": 0.533,
           "shipped fer_net": 0.6604}
    hist = {}
    monkeypatch.setattr(claim_runs, "finished", lambda ctx, spec: _Run(
        runs[spec[0]], hist.get(spec[0], ())) if spec[0] in runs else None)
    monkeypatch.setattr(claim_runs, "accuracy", lambda ctx, spec, run, ds: acc[spec[0]])
    ctx = _fake_ctx()

    def row(cid):
        return reproduction._accuracy_row(ctx, BY_ID[cid])

    ours, model, status, why = row("001-q1-oversampled")
    assert ours.startswith("55.3% (PublicTest (3,589 images), which chose no checkpoint)")
    assert status == "not reproduced" and "2.7 points below" in why
    assert "run-to-run spread: `fer-keras train --model small_cnn --preset report --epochs 10 " \
           "--seed 1 --select-on train --data DATA --out OUT/runs/small_cnn-seed1`" in why
    ours, model, status, why = row("001-q1-plain")
    assert status == "not measured" and "--out OUT/runs/small_cnn-no-oversample" in why
    assert "fer-keras train --model small_cnn --preset report --epochs 10 --no-oversample " \
           "--select-on train" in why
    ours, model, status, why = row("000-q2-accuracy")
    assert ours.startswith("45.2%") and status == "reproduced" and "dnn_000" in model
    ours, model, status, why = row("000-q1-accuracy")
    assert status == "not measured" and "preset None where the report had 'report'" in why
    ours, model, status, why = row("002-accuracy")  # the model HW4 explains
    assert "shipped `fer_net`" in model and ours.startswith("66.0%") and status == "reproduced"
    acc["shipped fer_net"] = 0.553  # the opposite case: a model far below 68%
    assert row("002-accuracy")[2] == "not reproduced"
    # a second seed: the spread widens the band, and the row says so
    runs["small_cnn-seed1"] = {**base, "seed": 1}
    ours, model, status, why = row("001-q1-oversampled")
    assert status == "reproduced" and "spread 1.4" in why and "seed 1: 53.3%" in why
    # a run whose checkpoint was chosen on PublicTest is not scored on it
    runs["dnn_000"] = {**runs["dnn_000"], "select_on": "val"}
    ours, model, status, why = row("000-q2-accuracy")
    assert status == "not measured" and "chosen on the scoring images" in why
    # a mixed-precision run of the report's settings is measured, and says how it departs
    runs["hw3_cnn"] = {**base, "epochs": 20, "precision": "mixed", "model": "hw3_cnn"}
    ours, model, status, why = row("000-q1-accuracy")
    assert ours.startswith("60.0%") and status == "not reproduced" and "4.9 points below" in why
    assert "precision mixed" in model and "mixed precision (16-bit compute" in why
    hist["hw3_cnn"] = [300.0] * 12
    assert "12 of 20 epochs (early stopping) in 60 min, batch 80" in row("000-q1-accuracy")[1]


def test_comparison_rows_need_both_runs(monkeypatch):
    from fer_keras.config import preset
    from fer_keras.report import claim_runs, reproduction
    from fer_keras.report.claims import BY_ID

    base = {**preset("report"), "preset": "report", "augment": True, "select_on": "train",
            "model": "small_cnn", "precision": "float32"}
    runs = {"small_cnn": base}
    acc = {"small_cnn": 0.58, "small_cnn-no-oversample": 0.55}
    monkeypatch.setattr(claim_runs, "finished",
                        lambda ctx, spec: _Run(runs[spec[0]]) if spec[0] in runs else None)
    monkeypatch.setattr(claim_runs, "accuracy", lambda ctx, spec, run, ds: acc[spec[0]])
    ctx = _fake_ctx()
    claim = BY_ID["001-q1-oversample-gain"]
    ours, model, status, why = reproduction._comparison_row(ctx, claim)
    assert status == "not measured" and "OUT/runs/small_cnn-no-oversample" in why
    runs["small_cnn-no-oversample"] = {**base, "oversample": False}
    ours, model, status, why = reproduction._comparison_row(ctx, claim)
    assert status == "reproduced" and ours.startswith("58.0% vs 55.0% (+3.0 points)")
    acc["small_cnn-no-oversample"] = 0.58  # no gain: the claim is not reproduced
    assert reproduction._comparison_row(ctx, claim)[2] == "not reproduced"


def test_the_report_chooses_checkpoints_on_training_images_and_scores_publictest(fer_folder):
    from fer_keras.report.config import ReportConfig
    from fer_keras.report.context import Context

    ctx = Context(ReportConfig(data=str(fer_folder)), log=None)
    sp = ctx.splits
    assert len(sp["train"]) + len(sp["val"]) == 28_709
    assert abs(len(sp["val"]) - 2871) <= 7  # a stratified 10%, rounded per class
    assert len(sp["test"]) == 3589 and set(sp["test"].usage) == {"PublicTest"}
    assert set(sp["val"].usage) == {"Training"}
    assert ctx.scored[0] == "test" and int(ctx.training_counts[3]) == 7215
    assert ctx.train_config("small_cnn").select_on == "train"
    # HW4 explains the shipped model on FER2013, on PublicTest (it trained on every training
    # image); with --model, or on the synthetic faces, the report's CNN on the validation split
    ex = ctx.explained()
    assert (ex.name, ex.split, ex.words, len(ex.data)) == ("shipped fer_net", "test",
                                                            "PublicTest", 3589)
    assert ctx.explained_name() == "shipped fer_net"
    given = Context(ReportConfig(data=str(fer_folder), model_path="m.keras"), log=None)
    assert given.explained_name() == given.cnn_name()
    synth = Context(ReportConfig(), log=None)
    assert (synth.explained_name(), synth.explained().split) == (synth.cnn_name(), "val")


# --------------------------------------------------------------------------- publishing
def test_publish_copies_the_markdown_and_small_figures(built, tmp_path):
    from PIL import Image

    from fer_keras.report.publish import publish

    out, _, _ = built
    dest = tmp_path / "docs" / "report"
    info = publish(out, dest, max_side=300)
    md = (dest / "report.md").read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert links and info["files"] == len(set(links)) + 2  # + report.md, report.json
    for link in set(links):
        with Image.open(dest / link) as img:
            assert max(img.size) <= 300
    before = sum(p.stat().st_size for p in out.rglob("*.png"))
    assert info["bytes"] < before
    (dest / "stale.png").write_bytes(b"x")
    publish(out, dest, max_side=300)  # a published report is replaced as a whole
    assert not (dest / "stale.png").exists() and (dest / "report.md").is_file()


def test_publish_refuses_a_folder_that_is_not_a_report(built, tmp_path, capsys):
    from fer_keras.cli import main

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    rc = main(["report", "--questions", "q6-conv-shape", "--out", str(tmp_path / "rep"),
               "--publish", str(mine)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "not a published report" in err[0]
    assert (mine / "notes.txt").read_text() == "keep me"
    assert not (tmp_path / "rep" / "report.md").exists()  # refused before any work


def test_published_real_data_report_is_complete_and_small():
    """docs/report-fer2013 (make docs-report): every figure it links is there, it starts with
    the reproduction table, it was made on FER2013, and it stays a few MB."""
    from pathlib import Path

    docs = Path(__file__).resolve().parents[2] / "docs" / "report-fer2013"
    if not (docs / "report.md").is_file():
        pytest.skip("no published report in this checkout (make docs-report)")
    md = (docs / "report.md").read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert len(links) >= 15 and all((docs / link).is_file() for link in links)
    assert md.index('<a id="reproduction"></a>') < md.index('<a id="q1-train"></a>')
    doc = json.loads((docs / "report.json").read_text())
    assert not doc["meta"]["synthetic"] and doc["meta"]["splits"]["train"] == 28709
    assert sum(p.stat().st_size for p in docs.rglob("*") if p.is_file()) < 5 * 2 ** 20


def test_published_files_name_no_absolute_path_of_the_machine(tmp_path, monkeypatch):
    from fer_keras.report.build import command_line
    from fer_keras.report.publish import relative_paths

    data = tmp_path / "shared" / "data"
    data.mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    text = f"FER2013 from `{data}`, see https://example.org/a/b and /no/such/path"
    assert relative_paths(text) == ("FER2013 from `shared/data`, see https://example.org/a/b "
                                    "and /no/such/path")
    line = command_line(["fer-keras", "report", "--data", str(data), "--out", "out"])
    assert line.startswith("fer-keras report --data shared/data --out out")
    assert str(tmp_path) not in line


def test_the_estimate_times_an_epoch_by_the_data_and_names_the_cpu(monkeypatch):
    """On FER2013 an epoch's time is measured here (the timed burst, replaced by 60 s); on the
    synthetic faces it is the reference machine's; the line names this CPU."""
    from types import SimpleNamespace

    from fer_keras.report import build
    from fer_keras.report.catalogue import REFERENCE_SECONDS

    timed = []
    monkeypatch.setattr(build, "_measured_epoch",
                        lambda ctx, cfg, log=None: timed.append(cfg.model) or 60.0)

    def ctx(synthetic, questions=("q1-train",), explained="small_cnn"):
        cfg = SimpleNamespace(resolved_profile="quick", questions=questions, model_path="",
                              synthetic=synthetic, epochs=10)
        return SimpleNamespace(cfg=cfg, cnn_name=lambda: "small_cnn", dnn_name=lambda: "d",
                               explained_name=lambda: explained,
                               train_config=lambda name: SimpleNamespace(model=name, epochs=10),
                               finished_run=lambda name: None, profile={"claim_runs": False})
    q = REFERENCE_SECONDS["quick"]["questions"]
    epoch = 10 * 60.0
    real, _ = build.estimate_seconds(ctx(False))
    assert timed == ["small_cnn"] and real == pytest.approx(q["q1-train"] + epoch)
    synth, _ = build.estimate_seconds(ctx(True))
    assert timed == ["small_cnn"]  # the synthetic faces time nothing
    assert synth == pytest.approx(q["q1-train"] + 10 * REFERENCE_SECONDS["quick"]["epoch"]
                                  ["small_cnn"])
    line = build.estimate_line(ctx(False))
    assert "this CPU: " in line and "timed on this machine" in line
    assert "timed on this machine" not in build.estimate_line(ctx(True))
    # the models follow the questions' MODELS: HW4 on the shipped model trains nothing, on the
    # report's CNN it trains the CNN; the conv-shape question alone trains nothing
    hw4 = ("hw4-tsne",)
    assert build.estimate_seconds(ctx(False, hw4, "shipped fer_net"))[0] == \
        pytest.approx(q["hw4-tsne"])
    assert build.estimate_seconds(ctx(False, hw4))[0] == pytest.approx(q["hw4-tsne"] + epoch)
    assert build.estimate_seconds(ctx(False, ("q6-conv-shape",)))[0] == \
        pytest.approx(q.get("q6-conv-shape", 0.0))


def test_claim_runs_train_only_what_is_missing(monkeypatch, tmp_path):
    """The full profile trains every run the claims name once; a rerun after an interruption
    trains only the runs not finished, and resumes the interrupted one."""
    from types import SimpleNamespace

    from fer_keras.report import claim_runs
    from fer_keras.report.claims import BY_ID
    from fer_keras.report.context import Context
    from fer_keras.train import fit, rundir

    claims = [BY_ID["001-q1-oversample-gain"], BY_ID["001-q1-batch-160"]]
    ctx = SimpleNamespace(cfg=SimpleNamespace(data="d", n_synthetic=60, verbose=0, seed=0,
                                              model_path="", synthetic=False),
                          out=tmp_path, splits={"train": None}, cnn_name=lambda: "small_cnn")
    ctx.train_run = lambda cfg, status: Context.train_run(ctx, cfg, status)
    ctx.spec_config = lambda *spec: Context.spec_config(ctx, *spec)
    status = {}
    monkeypatch.setattr(rundir.RunDir, "status",
                        lambda self, cfg: status.get(self.path.name, "fresh"))
    monkeypatch.setattr(rundir.RunDir, "load_config", lambda self: claim_runs.config(
        ctx, next(s for s in claim_runs.all_specs(claims) if s[0] == self.path.name)))
    calls = []
    monkeypatch.setattr(fit, "train", lambda cfg, resume=False, splits=None, force=False:
                        calls.append((cfg.out.rsplit("/", 1)[-1], resume)))
    names = [s[0] for s, _ in claim_runs.to_train(ctx, claims)]
    # the report's CNN is trained by its questions; its second seed is a claim run
    assert names == ["small_cnn-seed1", "small_cnn-no-oversample", "small_cnn-batch320"]
    assert claim_runs.train_all(ctx, claims, log=None) == names
    assert [c[1] for c in calls] == [False, False, False]
    cfg = claim_runs.config(ctx, ("small_cnn-batch320", "small_cnn",
                                  {"preset": "report", "epochs": 10, "batch_size": 320}))
    assert (cfg.batch_size, cfg.select_on, cfg.oversample, cfg.epochs) == (320, "train", True, 10)
    status.update({"small_cnn-seed1": "finished", "small_cnn-no-oversample": "finished",
                   "small_cnn-batch320": "resumable"})
    calls.clear()
    assert claim_runs.train_all(ctx, claims, log=None) == ["small_cnn-batch320"]
    assert calls == [("small_cnn-batch320", True)]


def test_the_estimate_times_the_precision_auto_will_train_in(monkeypatch, tmp_path):
    """A report run of the report preset trains at ``precision="auto"``; its estimate times the
    precision that auto will choose, not float32."""
    from types import SimpleNamespace

    from fer_keras.config import TrainConfig, preset
    from fer_keras.report import build
    from fer_keras.train import throughput

    assert preset("report")["precision"] == "auto"
    timed = []
    monkeypatch.setattr(throughput, "stored_step", lambda cfg, replicas=None: 1.0)
    monkeypatch.setattr(throughput, "epoch_seconds",
                        lambda cfg, splits, *a, **k: timed.append(cfg.precision) or (60.0, False))
    for chosen in ("mixed", "float32"):
        monkeypatch.setattr(throughput, "choose_precision",
                            lambda cfg, splits, *a, c=chosen, **k: (c, "a stand-in"))
        cfg = TrainConfig(**{**preset("report"), "out": str(tmp_path)})
        assert build._measured_epoch(SimpleNamespace(splits=None), cfg) == 60.0
        assert timed[-1] == chosen
    build._measured_epoch(SimpleNamespace(splits=None), cfg.replace(precision="float32"))
    assert timed == ["mixed", "float32", "float32"]


def test_a_comparison_with_a_run_that_learned_nothing_says_so(monkeypatch):
    """Report 004's CNN against its 51-layer DNN: with the DNN at the majority-class share of
    PublicTest (24.0% against always answering Happy, 24.9%) the row still compares, and says
    that its DNN is no better than that guess; a DNN that learned (40%) gets no such words."""
    from fer_keras.config import preset
    from fer_keras.report import claim_runs, reproduction
    from fer_keras.report.claims import BY_ID

    claim = BY_ID["004-cnn-beats-dnn"]
    base = {**preset("report"), "preset": "report", "augment": True, "select_on": "train",
            "precision": "float32"}
    monkeypatch.setattr(claim_runs, "finished",
                        lambda ctx, spec: _Run({**base, "model": spec[1]}))
    acc = {"vgg_leaky": 0.65, "dnn_deep51": 0.24}
    monkeypatch.setattr(claim_runs, "accuracy", lambda ctx, spec, run, ds: acc[spec[0]])
    labels = np.repeat(np.arange(7), [467, 56, 496, 895, 653, 415, 607])  # PublicTest's
    test = type("PublicTest", (), {"__len__": lambda self: len(labels), "labels": labels,
                                   "usage": np.array(["PublicTest"] * len(labels))})()
    ctx = _fake_ctx(test)
    ours, model, status, why = reproduction._comparison_row(ctx, claim)
    assert status == "reproduced"
    assert why.endswith("; `dnn_deep51` is no better than always answering Happy (24.9%)")
    acc["dnn_deep51"] = 0.40
    assert "no better than always" not in reproduction._comparison_row(ctx, claim)[3]
    acc.update(vgg_leaky=0.255, dnn_deep51=0.25)  # both idle: not better, and both named
    row = reproduction._comparison_row(ctx, claim)
    assert row[2] == "not reproduced" and "`vgg_leaky` and `dnn_deep51` are" in row[3]
