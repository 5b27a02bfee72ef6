"""The claims' catalogue: every claim is found in the report it is credited to, and only there."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import SHARED

from fer_keras.report import claims

SEEDS = SHARED / "seeds"


def _norm(s):
    return " ".join(s.split())


@pytest.fixture(scope="module")
def seeds():
    files = sorted(SEEDS.glob("00*.txt")) if SEEDS.is_dir() else []
    if len(files) < 5:
        pytest.skip(f"the five reports are not in {SEEDS} (../shared/seeds)")
    return {f.name[:3]: _norm(f.read_text(encoding="utf-8")) for f in files}


def test_every_claim_is_in_the_report_it_is_credited_to(seeds):
    missing = [(c.id, r, w) for c in claims.CLAIMS for r, w in c.original.items()
               if _norm(w) not in seeds[r]]
    assert not missing


def test_no_claim_is_credited_to_a_report_that_does_not_make_it(seeds):
    """A claim's words, found in a report it does not name, would mean it is missing a source
    (or is too generic to be a source); the id's prefix names its report."""
    for c in claims.CLAIMS:
        for r, w in c.original.items():
            elsewhere = [o for o in seeds if o not in c.original and _norm(w) in seeds[o]]
            assert not elsewhere, (c.id, w, elsewhere)
        prefix = c.id.split("-")[0]
        if prefix.isdigit():
            assert c.reports == (prefix,), c.id


def test_the_misattributed_pairs_are_credited_to_004_and_001_only(seeds):
    pairs = {c.value[:2]: c.reports for c in claims.of_kind("confusion_pair")}
    assert pairs[("Sad", "Fear")] == ("001",) and pairs[("Disgust", "Angry")] == ("000",)
    # report 000 names exactly two pairs
    assert sorted(c.value[:2] for c in claims.of_kind("confusion_pair") if "000" in c.reports
                  ) == [("Angry", "Sad"), ("Disgust", "Angry")]
    assert "Sad" not in seeds["000"].split("把 Angry 誤判成 Sad")[1][:40]


def test_the_claims_the_audit_found_missing_are_there():
    ids = set(claims.BY_ID)
    for cid in ("001-q3-surprise-best", "001-q3-sad-worst", "001-q3-sad-fear",
                "003-q3-only-two", "002-q3-surprise", "000-q3-disgust-rare", "002-q4-last",
                "004-q3-angry", "004-q3-happy", "000-q2-wide-dense", "001-q1-epoch-time",
                "001-q1-batch-80", "001-q1-batch-160", "001-q1-more-conv", "001-q1-generator",
                "001-q1-oversample-gain", "001-data-happy", "001-data-disgust-rarest",
                "002-q3-most-accurate", "002-q3-mouth-accuracy", "003-q6-flatten"):
        assert cid in ids
    # 004's counts are checked whole: total, trainable and non-trainable
    assert claims.BY_ID["004-q1-params"].value == (44_305_991, 44_272_839, 33_152)
    assert claims.BY_ID["004-q2-params"].value == (42_809_407, 42_717_607, 91_800)


def test_each_cnn_beats_dnn_claim_is_judged_on_its_own_reports_models():
    pairs = {c.id: tuple(m for _, m, _ in c.runs) for c in claims.of_kind("comparison")
             if c.id.endswith("cnn-beats-dnn")}
    assert pairs == {"000-cnn-beats-dnn": ("hw3_cnn", "dnn_000"),
                     "001-cnn-beats-dnn": ("small_cnn", "dnn_001"),
                     "004-cnn-beats-dnn": ("vgg_leaky", "dnn_deep51")}


def test_each_run_name_means_one_model_and_one_setting():
    seen = {}
    for c in claims.CLAIMS:
        specs = list(c.runs) + ([(c.run, c.model, c.settings)] if c.run else [])
        for run, model, settings in specs:
            key = (model, tuple(sorted(dict(settings).items())))
            assert seen.setdefault(run, key) == key, (c.id, run)


def test_004s_table_is_one_row_claim_per_emotion():
    rows = {c.value[0]: c.value[1] for c in claims.of_kind("confusion_row")}
    assert rows == {"Angry": ("Fear",), "Disgust": ("Angry", "Sad"), "Fear": ("Sad",),
                    "Happy": (), "Sad": ("Fear",), "Surprise": ("Fear",), "Neutral": ("Sad",)}


def test_the_reports_figures_live_only_in_the_catalogue():
    from fer_keras.models import zoo

    reported = claims.reported_params()
    assert reported["dnn_001"] == 156_263
    # report 000's DNN is known by its count only: the zoo's widths are the ones solved for it
    assert zoo.matched_widths(reported["dnn_000"], 48 * 48, 7, batch_norm=True) == zoo.DNN_000_WIDTHS
    n = zoo.dnn_000().count_params()
    assert abs(n - reported["dnn_000"]) / reported["dnn_000"] < 0.001 and n != reported["dnn_000"]
    root = Path(claims.__file__).parents[1]
    figures = [r"0\.64921", r"0\.45471", r"2_?130_?311", r"2_?281_?931", r"44_?305_?991",
               r"42_?809_?407", r"156_?263"]
    for f in root.rglob("*.py"):
        if f.name == "claims.py":
            continue
        text = f.read_text(encoding="utf-8")
        for pat in figures:
            assert not re.search(pat, text), (f, pat)


def test_every_claim_kind_has_a_rule_and_the_fields_it_needs():
    from fer_keras.report import rules

    for c in claims.CLAIMS:
        if c.kind in ("untestable", "unmeasured"):
            assert c.why
            continue
        assert c.kind in rules.RULES
        if c.kind == "accuracy":
            assert 0 < c.value < 1 and c.section
        if c.kind == "params":
            assert c.model and min(c.value if isinstance(c.value, tuple) else (c.value,)) > 0
        if c.kind == "comparison":
            assert len(c.runs) == 2 and (c.value in ("better", "no better")
                                         or 0 < c.value < 1), c.id
        elif c.kind not in rules.STATIC_KINDS:
            assert c.section or c.runs, c.id


def test_a_claim_of_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown kind"):
        claims.Claim("x", "HW3 Q1", "vibes", "q", {"000": "w"})


def test_q3_says_004s_own_warning_about_its_matrix(seeds):
    """The caveat q3 prints stands in report 004 (its matrix was drawn on a validation split
    cut again after training); report 000, whose matrix is held-out, says nothing of the kind."""
    from fer_keras.report.questions.q3_confusion import CAVEAT_004

    words = "重新將 data 隨機切出一部分當作 validation set"
    assert _norm(words) in seeds["004"] and _norm(words) not in seeds["000"]
    assert "Report 004" in CAVEAT_004 and "drawn again after training" in CAVEAT_004
