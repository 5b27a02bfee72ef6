"""The packages' lazy faces (fer_keras._lazy.lazy_face): each public name resolves to the object
of its home module, unknown names fail as on a plain module, dir() lists the face, and reading
a name imports only its home."""
import ast
import importlib
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import REPO

pytestmark = pytest.mark.core

#: Every package face that lazy_face builds.
FACES = ("fer_keras", "fer_keras.models", "fer_keras.faces", "fer_keras.train",
         "fer_keras.explain", "fer_keras.data")


def _package(tmp_path, monkeypatch, name="lazypkg"):
    """A throwaway package ``name`` with one module ``home`` (``VALUE = 41``, ``other = ...``)."""
    root = tmp_path / name
    root.mkdir()
    (root / "home.py").write_text("VALUE = 41\nother = object()\n")
    (root / "__init__.py").write_text(textwrap.dedent("""
        from fer_keras._lazy import lazy_face

        GROWN = {}
        __getattr__, __dir__ = lazy_face(__name__, {"VALUE": "home"}, ("home",),
                                         more=lambda: GROWN)
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.delitem(sys.modules, f"{name}.home", raising=False)
    return importlib.import_module(name)


def test_a_name_loads_its_home_on_first_read(tmp_path, monkeypatch):
    pkg = _package(tmp_path, monkeypatch)
    assert "lazypkg.home" not in sys.modules
    assert pkg.VALUE == 41
    assert "lazypkg.home" in sys.modules
    assert pkg.home is sys.modules["lazypkg.home"]


def test_unknown_names_raise_attribute_error_naming_the_module(tmp_path, monkeypatch):
    pkg = _package(tmp_path, monkeypatch)
    with pytest.raises(AttributeError, match=r"module 'lazypkg' has no attribute 'other'"):
        pkg.other  # defined in home but not on the face
    assert getattr(pkg, "missing", None) is None  # hasattr/getattr defaults keep working
    with pytest.raises(ImportError):
        exec("from lazypkg import missing", {})


def test_dir_lists_the_face_and_what_grows_later(tmp_path, monkeypatch):
    pkg = _package(tmp_path, monkeypatch)
    assert {"VALUE", "home", "GROWN", "lazy_face"} <= set(dir(pkg))
    assert "late" not in dir(pkg)
    pkg.GROWN["late"] = 7  # a registry filled after import: read at lookup time
    assert pkg.late == 7 and "late" in dir(pkg)
    assert dir(pkg) == sorted(dir(pkg))


@pytest.mark.parametrize("face", FACES)
def test_every_listed_name_is_its_home_object(face):
    """Each name of a face's table is the very object of the module it names (no copy), and the
    face's own error names the face."""
    pkg = importlib.import_module(face)
    for name, home in pkg._EXPORTS.items():
        if face == "fer_keras.explain" and home not in ("_core",):
            continue  # the others need the explanation methods' optional extras
        assert getattr(pkg, name) is getattr(importlib.import_module(f"{face}.{home}"), name), \
            (face, name)
        assert name in dir(pkg)
    with pytest.raises(AttributeError, match=f"module '{face}' has no attribute 'no_such_name'"):
        getattr(pkg, "no_such_name")


def test_models_face_reads_the_registry_and_its_submodules():
    import fer_keras.models as m
    from fer_keras.models import zoo

    assert m.vgg_leaky is zoo._REGISTRY["vgg_leaky"]
    assert m.get is zoo.get and m.zoo is zoo
    assert set(zoo._REGISTRY) <= set(dir(m))


def test_data_face_keeps_every_public_name_of_the_loaders():
    """``fer_keras.data.<name>`` still reaches the loaders, now in ``fer_keras.data.loading``."""
    import fer_keras.data as d
    from fer_keras.data import dataset, loading

    assert d.load is loading.load and d.load_splits is loading.load_splits
    assert d.WRITTEN_CACHES is loading.WRITTEN_CACHES  # the one list, not a copy
    assert d.Dataset is dataset.Dataset and d.to_float is dataset.to_float
    tree = ast.parse(Path(loading.__file__).read_text())
    public = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))} | {
        t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets
        if isinstance(t, ast.Name)}
    public = {n for n in public if not n.startswith("_")}
    assert len(public) > 15
    assert public <= set(d._EXPORTS), sorted(public - set(d._EXPORTS))


def test_the_root_recognizer_imports_neither_keras_nor_tensorflow():
    code = ("import sys, fer_keras\n"
            "r = fer_keras.Recognizer\n"
            "from fer_keras.faces.recognizer import Recognizer\n"
            "assert r is Recognizer\n"
            "print(sorted(m for m in ('keras', 'tensorflow', 'jax') if m in sys.modules))\n")
    p = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "[]", p.stdout
