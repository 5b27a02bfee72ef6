"""The runs behind the reproduction table (``reproduction.runs_behind_rows``): each finished
claim run but the report's own CNN is shown with its size, settings, curves and, once per
model, its layers; a run that is not finished shows nothing."""
from types import SimpleNamespace

import pytest

from fer_keras.report import claim_runs, reproduction
from fer_keras.report.claims import BY_ID
from fer_keras.report.document import Section


@pytest.fixture
def ctx(tmp_path):
    def qdir(q):
        (tmp_path / q).mkdir(exist_ok=True)
        return tmp_path / q

    from fer_keras.report.context import Context

    fake = SimpleNamespace(cnn_name=lambda: "small_cnn", out=tmp_path, qdir=qdir,
                           cfg=SimpleNamespace(model_path=""), _models={})
    fake.run_model = lambda run: Context.run_model(fake, run)
    return fake


def _run(tmp_path, model, epochs=3):
    from fer_keras import models

    d = tmp_path / "runs" / model
    d.mkdir(parents=True)
    models.build(model).save(d / "best.keras")
    (d / "curves.png").write_bytes(b"\x89PNG fake")
    hist = [{"epoch": e, "val_accuracy": v, "seconds": 60.0}
            for e, v in enumerate([0.30, 0.41, 0.38][:epochs], 1)]
    cfg = {"epochs": epochs, "batch_size": 80, "optimizer": "adam", "lr": 1e-3,
           "schedule": "plateau", "augment": True, "oversample": True}
    return SimpleNamespace(best=d / "best.keras", curves=d / "curves.png",
                           history=lambda: hist, saved_config=lambda: cfg)


def test_each_finished_claim_run_shows_its_size_curves_and_layers(ctx, tmp_path, monkeypatch):
    claims = [BY_ID["000-q2-overfit"]]  # dnn_000 and hw3_cnn
    runs = {"dnn_000": _run(tmp_path, "dnn_000")}
    monkeypatch.setattr(claim_runs, "finished", lambda c, spec: runs.get(spec[0]))
    sec = Section("reproduction")
    got = reproduction.runs_behind_rows(ctx, sec, claims)
    assert [r["run"] for r in got] == ["dnn_000"]  # hw3_cnn is not finished: nothing of it
    assert got[0]["params"] == 2_280_794 and got[0]["best_epoch"] == 2
    assert got[0]["best_val_accuracy"] == pytest.approx(0.41)
    figs = [b["path"] for b in sec.blocks if b["kind"] == "figure"]
    assert figs == ["reproduction/dnn_000_curves.png"] and (tmp_path / figs[0]).is_file()
    tables = [b for b in sec.blocks if b["kind"] == "table"]
    assert len(tables) == 1
    assert sum(int(r[-1].replace(",", "")) for r in tables[0]["rows"]) == 2_280_794
    assert "2,280,794 parameters" in sec.answer_text and "3 epochs in 3 min" in sec.answer_text


def test_the_reports_own_cnn_and_an_unfinished_run_show_nothing(ctx, tmp_path, monkeypatch):
    runs = {"small_cnn": _run(tmp_path, "small_cnn")}
    monkeypatch.setattr(claim_runs, "finished", lambda c, spec: runs.get(spec[0]))
    sec = Section("reproduction")
    # 001's oversampling gain names small_cnn (the report's CNN: HW3 Q1 shows it) and
    # small_cnn-no-oversample (not finished)
    assert reproduction.runs_behind_rows(ctx, sec, [BY_ID["001-q1-oversample-gain"]]) == []
    assert sec.blocks == []


def test_a_runs_model_is_loaded_once_for_its_row_and_its_size(ctx, tmp_path, monkeypatch):
    """The accuracy row and the runs behind the rows read one loaded ``best.keras``; another
    run's file is another model."""
    from fer_keras import models

    loads = []
    real = models.load
    monkeypatch.setattr(models, "load", lambda p, *a, **k: loads.append(p) or real(p, *a, **k))
    run = _run(tmp_path, "dnn_001")
    assert ctx.run_model(run) is ctx.run_model(run) and len(loads) == 1
    other = _run(tmp_path, "dnn_000")
    assert ctx.run_model(other) is not ctx.run_model(run) and len(loads) == 2
