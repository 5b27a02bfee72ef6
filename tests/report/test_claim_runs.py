"""fer_keras.report.claim_runs: which finished run counts as a claim's, and its command."""
from __future__ import annotations

import pytest

from fer_keras.config import preset
from fer_keras.report import claim_runs

pytestmark = pytest.mark.core

SPEC = ("vgg_leaky", "vgg_leaky", {"preset": "report"})


def _saved(**change):
    """A report-preset run's saved config as ``fer-keras train`` writes it."""
    rc = {**preset("report"), "model": "vgg_leaky", "preset": "report", "select_on": "train",
          "precision": "float32", "seed": 0}
    rc.update(change)
    return rc


def test_a_run_of_the_presets_settings_matches_whatever_precision_auto_chose():
    assert claim_runs.mismatch(_saved(), SPEC) == []
    assert claim_runs.mismatch(_saved(precision="mixed"), SPEC) == []


@pytest.mark.parametrize("change,word", [({"epochs": 3}, "epochs 3 where the report had 10"),
                                         ({"oversample": False}, "oversample False"),
                                         ({"batch_size": 128}, "batch_size 128"),
                                         ({"model": "fer_net"}, "model 'fer_net'"),
                                         ({"select_on": "val"}, "scoring images")])
def test_a_run_off_the_presets_settings_is_not_the_claims(change, word):
    """The preset's implied settings count, not only those the spec names: a report-preset
    run of 3 epochs is not the report's 10."""
    diff = claim_runs.mismatch(_saved(**change), SPEC)
    assert len(diff) == 1 and word in diff[0]


def test_the_spec_overrides_its_preset():
    spec = ("small_cnn-no-oversample", "small_cnn", {"preset": "report", "oversample": False})
    rc = _saved(model="small_cnn", oversample=False)
    assert claim_runs.mismatch(rc, spec) == []
    assert "oversample True" in claim_runs.mismatch({**rc, "oversample": True}, spec)[0]
    assert claim_runs.command(spec) == ("fer-keras train --model small_cnn --preset report "
                                        "--no-oversample --select-on train --data DATA "
                                        "--out OUT/runs/small_cnn-no-oversample")
