"""The question registry (fer_keras.report.questions): every question module declares its id,
title, question, order and reference seconds; the catalogue, the report's configuration, the
Makefile targets and examples/question.py read them; a question added as one module is picked
up by all of them without another file being edited."""
import json
import shutil
import subprocess
import sys
import textwrap

import pytest
from conftest import REPO

from fer_keras.report import catalogue, questions
from fer_keras.report.config import GIVEN_MODEL_QUESTIONS

pytestmark = pytest.mark.core

REGISTRY = questions.registry()


def test_every_question_declares_its_fields():
    assert len(REGISTRY) == 11
    for qid, q in REGISTRY.items():
        assert q.id == qid and q.module.endswith("." + questions.module_name(qid)), q.module
        assert q.title.startswith("HW") and len(q.question) > 40, qid
        assert isinstance(q.order, int) and isinstance(q.trains, bool), qid
        assert set(q.seconds) <= {"full", "quick"} and "full" in q.seconds, qid
        assert all(s > 0 for s in q.seconds.values()), qid
        assert callable(q.answer) and q.answer.__doc__, qid


def test_ids_are_unique_and_in_report_order():
    orders = [q.order for q in REGISTRY.values()]
    assert orders == sorted(set(orders))
    assert catalogue.QUESTIONS == tuple(REGISTRY) == (
        "q1-train", "q2-dnn", "q3-confusion", "q4-saliency", "q5-filters", "q6-conv-shape",
        "bonus-semi", "hw4-saliency", "hw4-filters", "hw4-lime", "hw4-tsne")
    assert list(catalogue.QUESTION_TITLES) == list(catalogue.QUESTION_TEXT) == list(REGISTRY)
    assert catalogue.QUESTION_TITLES["q3-confusion"].startswith("HW3 Q3. ")
    assert catalogue.REFERENCE_SECONDS["full"]["questions"]["q4-saliency"] == 583.0
    assert "q3-confusion" not in catalogue.REFERENCE_SECONDS["quick"]["questions"]
    assert catalogue.TRAINING_QUESTIONS == ("q1-train", "q2-dnn", "bonus-semi")
    assert set(GIVEN_MODEL_QUESTIONS) == set(REGISTRY) - set(catalogue.TRAINING_QUESTIONS)


def test_a_module_named_otherwise_than_its_id_is_refused():
    import types

    bad = types.ModuleType("fer_keras.report.questions.q3_confusion")
    bad.__dict__.update(ID="q3-confusions", TITLE="t", QUESTION="q", ORDER=1,
                        answer=lambda ctx: None)
    with pytest.raises(TypeError, match="its module must be q3_confusions"):
        questions._declared(bad)
    del bad.ORDER
    with pytest.raises(TypeError, match="lacks ORDER"):
        questions._declared(bad)


def test_a_question_declares_the_models_it_uses():
    """``MODELS`` names roles of :data:`questions.ROLES` (the estimate reads them); an unknown
    role, or a bare string, is refused; leaving it out means the report's CNN."""
    import types

    mod = types.ModuleType("fer_keras.report.questions.q9_x")
    mod.__dict__.update(ID="q9-x", TITLE="t", QUESTION="q", ORDER=1, answer=lambda ctx: None)
    assert questions._declared(mod).models == ("cnn",)
    mod.MODELS = ("explained", "dnn")
    assert questions._declared(mod).models == ("explained", "dnn")
    for bad in (("cnn", "teacher"), "cnn"):
        mod.MODELS = bad
        with pytest.raises(TypeError, match="declares MODELS"):
            questions._declared(mod)
    assert REGISTRY["hw4-lime"].models == ("explained",) and REGISTRY["q6-conv-shape"].models == ()


def _make(qid, cwd=REPO, makefile=REPO / "Makefile"):
    out = subprocess.run(["make", "-n", "-s", "-f", str(makefile), qid, "DATA=x"], cwd=cwd,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


def test_every_question_has_a_make_target_and_an_example(tmp_path):
    from fer_keras.cli.report import example_context

    for qid in REGISTRY:
        assert _make(qid).endswith(f"examples/question.py {qid} --data x --out out "
                                   "--model small_cnn --epochs 10")
        got, ctx = example_context(argv=[qid, "--out", str(tmp_path)])
        assert got == qid and ctx.cfg.out == str(tmp_path)
    assert (REPO / "examples" / "question.py").is_file()
    assert sorted(p.name for p in (REPO / "examples").glob("*.py")) == ["question.py"]
    with pytest.raises(SystemExit):
        example_context(argv=["nope"])


THROWAWAY = '''
"""A throwaway question."""
from fer_keras.report.document import Section

ID = "zz-throwaway"
TITLE = "HW9 Q9. A throwaway question"
QUESTION = "Is a question one file?"
ORDER = 9999
SECONDS = {"full": 1.5}


def answer(ctx):
    """Answers with one sentence."""
    sec = Section(ID)
    sec.text("yes")
    return sec
'''

PROBE = '''
import json, sys
from fer_keras.report import catalogue, config
from fer_keras.report.build import run_question
from fer_keras.cli.report import example_context
qid, ctx = example_context(argv=["zz-throwaway", "--out", sys.argv[1]])
sec = run_question(qid, ctx, log=None)
print(json.dumps({"questions": catalogue.QUESTIONS, "title": sec.title, "text": sec.question,
                  "seconds": catalogue.REFERENCE_SECONDS["full"]["questions"][qid],
                  "given": config.GIVEN_MODEL_QUESTIONS,
                  "config": config.ReportConfig(questions=(qid,)).questions,
                  "answer": (ctx.qdir(qid) / "answer.md").read_text()}))
'''


def _tree(root, extra):
    """A copy of the repository made of links, whose questions folder also holds ``extra``:
    the repository with one question module added, and nothing in it edited."""
    def link(src, dst, down):
        dst.mkdir(parents=True)
        for item in src.iterdir():
            if item.name == "__pycache__":
                continue
            if down and item.name == down[0]:
                link(item, dst / item.name, down[1:])
            else:
                (dst / item.name).symlink_to(item)

    link(REPO, root, ("fer_keras", "report", "questions"))
    shutil.copy(extra, root / "fer_keras" / "report" / "questions")
    return root


def test_a_throwaway_question_is_picked_up_without_editing_another_file(tmp_path):
    """One question module added to the package (in a linked copy of the repository): the
    catalogue, the report's configuration, its run, the example's choices and the Makefile's
    targets know it."""
    (tmp_path / "zz_throwaway.py").write_text(textwrap.dedent(THROWAWAY))
    tree = _tree(tmp_path / "tree", tmp_path / "zz_throwaway.py")
    out = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path / "out")], cwd=tree,
                         capture_output=True, text=True, timeout=300,
                         env={"FER_KERAS_SYNTHETIC_NOTICE": "0", "PATH": "/usr/bin:/bin",
                              "PYTHONPATH": str(tree)})
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["questions"][-1] == "zz-throwaway" and len(got["questions"]) == 12
    assert got["title"] == "HW9 Q9. A throwaway question"
    assert got["text"] == "Is a question one file?" and got["seconds"] == 1.5
    assert "zz-throwaway" in got["given"] and got["config"] == ["zz-throwaway"]
    assert "yes" in got["answer"]
    assert _make("zz-throwaway", cwd=tree).endswith("examples/question.py zz-throwaway --data x "
                                                    "--out out --model small_cnn --epochs 10")
    with pytest.raises(AssertionError):  # control: no module, no target
        _make("zz-other", cwd=tree)
    # the repository itself knows nothing of it
    assert "zz-throwaway" not in catalogue.QUESTIONS


@pytest.mark.parametrize("claim_id,model,layer", [("000-q5-alike", "hw3_cnn", "b1c2_act"),
                                                   ("004-q5-contours", "vgg_leaky", None)])
def test_q5_measures_a_reports_second_conv_layer_on_its_own_run(tmp_path, monkeypatch,
                                                                claim_id, model, layer):
    """With the claim's run finished (here an untrained registry model saved as its best
    checkpoint), q5 runs the ascent on that CNN's second conv layer and returns the grid, the
    featureless tiles and the contour maps the claims are judged on; with a run of other
    settings it returns the command instead."""
    from types import SimpleNamespace

    from fer_keras import explain, models
    from fer_keras.config import preset
    from fer_keras.data.loading import load_splits
    from fer_keras.report import claim_runs
    from fer_keras.report.claims import BY_ID
    from fer_keras.report.document import Section
    from fer_keras.report.questions import q5_filters
    from fer_keras.report.questions._filters import activation_after

    best = tmp_path / "best.keras"
    net = models.build(model)
    net.save(best)
    layer = layer or activation_after(net, explain.conv_layer_names(net)[1])
    spec = claim_runs.specs(BY_ID[claim_id])[0]
    assert spec[1] == model
    saved = {**preset("report"), "model": model, "select_on": "train", **dict(spec[2])}
    run = SimpleNamespace(best=best, saved_config=lambda: saved)
    monkeypatch.setattr(claim_runs, "finished", lambda ctx, s: run)
    val = load_splits("synthetic", n_synthetic=60, seed=0)["val"]
    ctx = SimpleNamespace(cnn_name=lambda: "small_cnn", val=val,
                          cfg=SimpleNamespace(seed=0), out=tmp_path,
                          qdir=lambda q: (tmp_path / q).mkdir(exist_ok=True) or tmp_path / q,
                          profile={"ascent_filters": 4, "ascent_steps": 3,
                                   "feature_map_filters": 4})
    sec = Section("q5-filters")
    got = q5_filters.report_layer(ctx, sec, claim_id, 0, "image #0", steps=2)
    assert got["model"] == model and got["layer"] == layer and got["steps"] == 2
    assert explain.conv_layer_names(net)[0] not in got["layer"]  # not the first conv's
    # its two grids of the filters of that layer, from noise and from the image, and its maps
    figs = [b["path"] for b in sec.blocks if b["kind"] == "figure"]
    assert len(figs) == 3 and all(layer in f and (tmp_path / f).is_file() for f in figs)
    assert f"report_{claim_id[:3]}" in figs[0]  # each report's figures in a folder of its own
    grid, tiles, cont = got["noise_vs_image"], got["noise_tiles"], got["contours"]
    assert 0 <= grid["alike"] <= grid["compared"] <= 4 and f"`{layer}`" in sec.answer_text
    assert tiles["tiles"] == 4 and cont["live"] <= net.get_layer(layer).output.shape[-1]
    assert f"{cont['contour']} of {cont['live']} live feature maps" in sec.answer_text
    u = got["untrained_contours"]
    assert u["live"] <= net.get_layer(layer).output.shape[-1] and 0 <= u["contour"] <= u["live"]
    saved["epochs"] = 3  # control: not the report's settings
    assert f"fer-keras train --model {model}" in q5_filters.report_layer(
        ctx, Section("q5-filters"), claim_id, 0, "image #0")["missing"]
