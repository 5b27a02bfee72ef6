"""The CLI lists every subcommand in one place and reads its choices from the components;
PROFILES["semi"] only overrides SemiConfig (the questions' registry: tests/report/test_questions.py)."""
import dataclasses

import pytest

pytestmark = pytest.mark.core


def _subcommands(parser):
    action = next(a for a in parser._actions if a.dest == "command")
    return list(action.choices)


def test_every_subcommand_listed_once():
    from fer_keras import cli

    assert _subcommands(cli.build_parser()) == ["train", "evaluate", "predict", "summary",
                                                "models", "explain", "report", "semi",
                                                "conv-shape", "export", "serve"]


def test_flag_choices_come_from_the_components():
    from fer_keras import cli
    from fer_keras.config import CHOICES
    from fer_keras.explain.methods import names
    from fer_keras.train.evaluate import TTA_MODES

    sub = next(a for a in cli.build_parser()._actions if a.dest == "command").choices
    train = {a.dest: a.choices for a in sub["train"]._actions}
    for field, values in CHOICES.items():
        assert tuple(train[field]) == values
    assert tuple({a.dest: a.choices for a in sub["evaluate"]._actions}["tta"]) == TTA_MODES
    explain = next(a for a in sub["explain"]._actions if a.dest == "what").choices
    assert tuple({a.dest: a.choices for a in explain["saliency"]._actions}["method"]) == names()


def test_report_semi_profile_overrides_only():
    from fer_keras.report.config import PROFILES
    from fer_keras.semi import SemiConfig

    fields = {f.name: f.default for f in dataclasses.fields(SemiConfig)}
    for profile in PROFILES.values():
        for part in ("semi", "fixmatch"):
            for k, v in profile[part].items():
                assert k in fields and v != fields[k], (part, k, v)


def test_version_prints_the_package_version(capsys):
    import fer_keras
    from fer_keras.cli import main

    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.strip() == f"fer-keras {fer_keras.__version__}"
