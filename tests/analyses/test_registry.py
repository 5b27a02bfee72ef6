"""The analysis registry (fer_keras.analyses.commands): every registered ``explain`` subcommand
declares its name, help, options and functions, its module a ``Settings`` with defaults and a
``run``; ``fer-keras explain`` is built from it, so that an analysis module added to the package
appears as a subcommand, with its help and flags, without cli/explain.py being edited."""
import dataclasses
import importlib
import json
import sys
import textwrap

import pytest

from fer_keras import analyses, cli

pytestmark = pytest.mark.core

COMMANDS = analyses.commands()


def _explain(parser):
    sub = next(a for a in parser._actions if a.dest == "command").choices["explain"]
    what = next(a for a in sub._actions if a.dest == "what")
    return what, {a.dest: a.help for a in what._choices_actions}


def test_every_command_declares_its_fields():
    assert list(COMMANDS) == ["confusion", "saliency", "ascent", "features", "lime", "tsne",
                              "checks"]
    assert [c.order for c in COMMANDS.values()] == sorted({c.order for c in COMMANDS.values()})
    for name, c in COMMANDS.items():
        assert c.name == name and len(c.help) > 20 and callable(c.call) and callable(c.summary)
        assert set(c.picks) <= set(analyses.PICKS) and all(c.picks.values()), name
        module = sys.modules[c.call.__module__]
        settings = module.Settings()  # every setting has a default
        assert dataclasses.is_dataclass(settings) and callable(module.run), name
        with pytest.raises(dataclasses.FrozenInstanceError):
            settings.seed = 1
        for f in c.flags:
            assert f.kind in analyses.KINDS and f.help, (name, f)
        with pytest.raises(dataclasses.FrozenInstanceError):
            c.name = "x"
    assert analyses.get("filters").__name__ == "fer_keras.analyses.filters"
    assert analyses.get("lime").Settings().segments == 50


def test_every_command_is_an_explain_subcommand_with_its_help_and_flags():
    what, helps = _explain(cli.build_parser())
    assert helps == {name: c.help for name, c in COMMANDS.items()}
    for name, c in COMMANDS.items():
        actions = {a.dest: a for a in what.choices[name]._actions}
        for dest in analyses.PICKS:
            assert (actions[dest].help == c.picks.get(dest)) == (dest in c.picks), (name, dest)
        for f in c.flags:
            assert actions[f.name].default == (True if f.kind == "off" else f.default)
            assert actions[f.name].help.startswith(f.help), (name, f.name)
        assert actions["model"].required == (not c.model_optional)
    lime = {a.dest: a for a in what.choices["lime"]._actions}
    assert lime["num_samples"].option_strings == ["--num-samples"]
    assert lime["num_samples"].default == 1000


THROWAWAY = '''
"""A throwaway analysis: the share of bright pixels of each chosen image."""
import dataclasses

import numpy as np

from fer_keras.analyses import Command, Flag, Result, finish, register


@dataclasses.dataclass(frozen=True)
class Settings:
    threshold: float = 0.5


def run(model, data, settings=Settings(), out=None, rows=()):
    x = np.asarray(data.images[list(rows)], np.float32) / 255
    res = Result("bright", {"shares": (x > settings.threshold).mean(axis=(1, 2)).tolist()})
    return res if out is None else finish(res, out)


def _call(request):
    return run(request.model, request.data, Settings(request.options["threshold"]),
               request.out, rows=request.rows(1))


register(Command("bright", "the share of bright pixels per image", order=999,
                 call=_call, summary=lambda res, request: [f"shares {res.numbers['shares']}"],
                 flags=(Flag("threshold", "brightness cut", kind="number", default=0.5),),
                 picks={"index": "rows to measure"}))
'''


@pytest.fixture
def throwaway(tmp_path, monkeypatch):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "zz_bright.py").write_text(textwrap.dedent(THROWAWAY))
    monkeypatch.setattr(analyses, "__path__", [*analyses.__path__, str(tmp_path / "pkg")])
    monkeypatch.setattr(analyses, "_REGISTRY", dict(analyses._REGISTRY))
    from fer_keras import _lazy

    monkeypatch.setattr(_lazy, "_IMPORTED", _lazy._IMPORTED - {analyses.__name__})
    yield tmp_path
    sys.modules.pop("fer_keras.analyses.zz_bright", None)


def _tiny_model(path):
    import keras

    keras.Sequential([keras.Input((48, 48, 1)), keras.layers.Flatten(),
                      keras.layers.Dense(7, activation="softmax")]).save(path)
    return path


def test_a_throwaway_analysis_appears_in_the_cli(throwaway, capsys):
    importlib.invalidate_caches()
    what, helps = _explain(cli.build_parser())
    assert helps["bright"] == "the share of bright pixels per image" and list(helps)[-1] == "bright"
    model = _tiny_model(throwaway / "m.keras")
    base = ["explain", "bright", "--model", str(model), "--n-synthetic", "70",
            "--out", str(throwaway / "out")]
    assert cli.main([*base, "--index", "2", "--index", "3", "--threshold", "0.4"]) == 0
    printed = capsys.readouterr().out
    shares = json.loads((throwaway / "out" / "bright.json").read_text())["shares"]
    assert len(shares) == 2 and f"shares {shares}" in printed
    # a shared choice it does not declare is refused by name
    assert cli.main([*base, "--layer", "x"]) == 2
    assert "--layer does not apply to it" in capsys.readouterr().err


def test_without_the_module_there_is_no_such_subcommand():
    """Control: the subcommand comes from the module, not from the CLI."""
    assert "bright" not in _explain(cli.build_parser())[1]
