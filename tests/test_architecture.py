"""The house's shape, read from the source (no import is executed): the library parses no flags
(argparse and ``fer_keras.cli`` are imported only under ``fer_keras/cli/``), each layer imports
only the layers below it (cli > report > analyses > the library), its modules and packages import
each other without circles (function-level imports included), and no library file is over 600
lines."""
import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.core

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "fer_keras"
#: ``python -m fer_keras``: an entry point of the command line, not library.
ENTRY_POINTS = {"fer_keras.__main__"}
#: Import circles that a lazy import keeps harmless and no design removes: (module, module).
ALLOWED_CIRCLES = set()
#: The layers, top first: a module imports from its own layer and those below it only.
LAYERS = (("fer_keras.cli", "fer_keras.__main__"), ("fer_keras.report",), ("fer_keras.analyses",))
MAX_LINES = 600


def _modules(pkg=PKG):
    """``{dotted name: file}`` of every module under ``pkg`` (a package is its ``__init__``)."""
    out = {}
    for f in sorted(pkg.rglob("*.py")):
        parts = list(f.relative_to(pkg.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = f
    return out


def _imports(name, file):
    """``[(imported dotted name, line, lazy)]`` for every import statement of ``file``; ``lazy``:
    inside a function. ``from a import b`` yields ``a.b``: the submodule ``a.b`` if there is one
    (importing it runs ``a``'s ``__init__`` first, as any import of a submodule does, which is no
    edge), else the module ``a`` (``b`` is a name defined there)."""
    tree = ast.parse(file.read_text(), str(file))
    package = name if file.name == "__init__.py" else name.rpartition(".")[0]
    found = []

    def walk(node, lazy):
        for child in ast.iter_child_nodes(node):
            inner = lazy or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                found.extend((a.name, child.lineno, inner) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:  # relative: resolved against the importing module's package
                    parts = package.split(".")[:len(package.split(".")) - child.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                found.extend((f"{base}.{a.name}", child.lineno, inner) for a in child.names)
            walk(child, inner)

    walk(tree, False)
    return found


def _graph(modules, lazy=True):
    """``{module: {imported fer_keras module: first line}}``; a name imported from a module
    counts as that module, a submodule as itself."""
    def resolve(target):
        while target and target not in modules:
            target = target.rpartition(".")[0]
        return target or None

    graph = {m: {} for m in modules}
    for m, f in modules.items():
        for target, line, is_lazy in _imports(m, f):
            if not target.startswith("fer_keras") or (is_lazy and not lazy):
                continue
            t = resolve(target)
            if t and t != m:
                graph[m].setdefault(t, line)
    return graph


def _circles(graph):
    """The strongly connected components of more than one node (Tarjan), each sorted."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(out)


def _packages(graph):
    """The graph between ``fer_keras``'s top-level packages and modules (``fer_keras.train``,
    ``fer_keras.report``, ...): a module counts as the top-level one it lies in."""
    top = lambda m: ".".join(m.split(".")[:2])  # noqa: E731
    out = {}
    for a, targets in graph.items():
        for b in targets:
            if top(a) != top(b):
                out.setdefault(top(a), {}).setdefault(top(b), f"{a} -> {b}")
    return out


def _is_cli(name):
    return name == "fer_keras.cli" or name.startswith("fer_keras.cli.") or name in ENTRY_POINTS


def _describe(circle, graph):
    return "; ".join(f"{a} -> {b} (line {graph[a][b]})" for a in circle for b in graph[a]
                     if b in circle)


def test_the_library_imports_no_argparse_and_no_cli():
    bad = []
    for m, f in _modules().items():
        if _is_cli(m):
            continue
        for target, line, _ in _imports(m, f):
            if target.split(".")[0] == "argparse" or _is_cli(target):
                bad.append(f"{f.relative_to(ROOT)}:{line} imports {target}")
    assert not bad, "the library parses no flags (argparse lives in fer_keras/cli/): " + \
        ", ".join(bad)


def _layer(name):
    """0 for the command line, 1 the report, 2 the analyses, 3 the library below them."""
    for i, prefixes in enumerate(LAYERS):
        if any(name == p or name.startswith(p + ".") for p in prefixes):
            return i
    return len(LAYERS)


def test_each_layer_imports_only_the_layers_below():
    graph = _graph(_modules())
    up = [f"{a} -> {b} (line {line})" for a, targets in graph.items()
          for b, line in targets.items() if _layer(b) < _layer(a)]
    assert not up, "imports from a lower layer into a higher one (cli > report > analyses > " \
        "library; e.g. train must not need the report): " + ", ".join(up)


def test_no_import_circle_between_modules():
    graph = _graph(_modules())
    circles = [c for c in _circles(graph) if tuple(c) not in ALLOWED_CIRCLES]
    assert not circles, "import circles: " + " | ".join(_describe(c, graph) for c in circles)


def test_no_import_circle_between_packages():
    graph = _packages(_graph(_modules()))
    circles = _circles(graph)
    assert not circles, "import circles between packages: " + " | ".join(
        "; ".join(graph[a][b] for a in c for b in graph[a] if b in c) for c in circles)


def test_no_library_file_over_600_lines():
    long = {str(f.relative_to(ROOT)): n for m, f in _modules().items()
            if (n := len(f.read_text().splitlines())) > MAX_LINES}
    assert not long, f"split these along their seams (at most {MAX_LINES} lines): {long}"


# ---- the checks themselves must fail on what they exist to catch
def _write(tmp_path, files):
    for rel, text in files.items():
        p = tmp_path / "fer_keras" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return _modules(tmp_path / "fer_keras")


def test_the_circle_check_finds_lazy_relative_and_package_circles(tmp_path):
    mods = _write(tmp_path, {
        "__init__.py": "",
        "a.py": "from fer_keras import b\n",
        "b.py": "def f():\n    from . import a\n",  # lazy and relative: still a circle
        "c/__init__.py": "",
        "c/x.py": "import fer_keras.d.y\n",
        "d/__init__.py": "",
        "d/y.py": "def g():\n    from fer_keras.c.x import thing\n",
        "e.py": "from fer_keras.a import name\n",  # into a circle, not part of it
        # a package and its submodules: no circle unless a submodule imports from __init__
        "p/__init__.py": "from fer_keras.p.one import f\nfrom fer_keras.p.two import g\n",
        "p/one.py": "from fer_keras.p import two\n",
        "p/two.py": "def g():\n    import fer_keras.p.one\n",
        "q/__init__.py": "from fer_keras.q.one import f\nVALUE = 1\n",
        "q/one.py": "from fer_keras.q import VALUE\n",  # a name of __init__: a circle
    })
    graph = _graph(mods)
    assert _circles(graph) == [["fer_keras.a", "fer_keras.b"], ["fer_keras.c.x", "fer_keras.d.y"],
                               ["fer_keras.p.one", "fer_keras.p.two"],
                               ["fer_keras.q", "fer_keras.q.one"]]
    assert _circles(_graph(mods, lazy=False)) == [["fer_keras.q", "fer_keras.q.one"]]
    assert _circles(_packages(graph)) == [["fer_keras.a", "fer_keras.b"],
                                          ["fer_keras.c", "fer_keras.d"]]


def test_the_layer_check_places_modules():
    names = ("fer_keras.cli.report", "fer_keras.__main__", "fer_keras.report",
             "fer_keras.report.questions.q1_train", "fer_keras.analyses.lime", "fer_keras.train.fit",
             "fer_keras.reporting")
    assert [_layer(m) for m in names] == [0, 0, 1, 1, 2, 3, 3]


def test_the_cli_check_sees_lazy_and_from_imports(tmp_path):
    mods = _write(tmp_path, {"__init__.py": "", "lib.py": "def f():\n    import argparse\n",
                             "lib2.py": "from fer_keras.cli.common import Parser\n",
                             "lib3.py": "from fer_keras import cli\n",
                             "cli/__init__.py": "import argparse\n"})
    hits = {m for m, f in mods.items() if not _is_cli(m)
            for t, _, _ in _imports(m, f) if t.split(".")[0] == "argparse" or _is_cli(t)}
    assert hits == {"fer_keras.lib", "fer_keras.lib2", "fer_keras.lib3"}


# ---- one address per name
def _defined(file):
    """Top-level names a module defines itself (functions, classes, assignments)."""
    out = set()
    for n in ast.parse(file.read_text()).body:
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(n.name)
        elif isinstance(n, ast.Assign):
            out |= {t.id for t in n.targets if isinstance(t, ast.Name)}
        elif isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name):
            out.add(n.target.id)
    return out


def _through_a_face(modules):
    """``file:line imports name from package``, for every library import of a name that a
    package's ``__init__`` does not define itself (a re-export: the name's home is elsewhere)."""
    bad = []
    for m, f in modules.items():
        if m == "fer_keras":
            continue
        for node in ast.walk(ast.parse(f.read_text())):
            if not (isinstance(node, ast.ImportFrom) and node.module and not node.level):
                continue
            pkg = modules.get(node.module)
            if pkg is None or pkg.name != "__init__.py" or node.module == "fer_keras":
                continue
            own = _defined(pkg)
            for a in node.names:
                if a.name not in own and f"{node.module}.{a.name}" not in modules:
                    bad.append(f"{f.name}:{node.lineno} imports {a.name} from {node.module}")
    return bad


def test_the_library_imports_each_name_from_its_home():
    bad = _through_a_face(_modules())
    assert not bad, "import these from the module that defines them: " + ", ".join(bad)


def test_no_package_face_lists_a_private_name():
    bad = []
    for m, f in _modules().items():
        if f.name != "__init__.py":
            continue
        for node in ast.parse(f.read_text()).body:
            if isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
                names = [e.value for e in getattr(node.value, "elts", [])
                         if isinstance(e, ast.Constant)]
                bad += [f"{m}: {n}" for n in names if n.startswith("_")]
    assert not bad, bad


def test_the_face_check_finds_a_re_export(tmp_path):
    mods = _write(tmp_path, {
        "__init__.py": "",
        "p/__init__.py": "from fer_keras.p.home import thing\ndef own():\n    pass\n",
        "p/home.py": "thing = 1\n",
        "user.py": "from fer_keras.p import thing, own, home\n",  # thing: through the face
    })
    assert _through_a_face(mods) == ["user.py:1 imports thing from fer_keras.p"]


def test_the_architecture_page_names_every_folder_and_module_of_the_root():
    page = (ROOT / "docs" / "architecture.md").read_text()
    listed = set()
    for line in page.splitlines():
        if line.startswith("| `"):
            listed.add(line.split("`")[1].rstrip("/").removesuffix(".py"))
    root = {p.name.removesuffix(".py") for p in PKG.iterdir()
            if (p.is_dir() and not p.name.startswith("__")) or
            (p.suffix == ".py" and not p.name.startswith("__"))}
    assert root - listed == set(), f"not on docs/architecture.md: {sorted(root - listed)}"
    assert listed - root == set(), f"on docs/architecture.md but not in fer_keras/: " \
        f"{sorted(listed - root)}"


def _misplaced_tests(tests_root, packages):
    """Test files under ``tests_root`` whose folder is not a package folder of ``packages``
    (``{"fer_keras": path, ...}``): ``tests/<package>/.../test_<module>.py`` mirrors
    ``<package root>/<package>/...``; files directly in ``tests/`` test the repository as a
    whole."""
    bad = []
    for f in sorted(tests_root.rglob("test_*.py")):
        rel = f.parent.relative_to(tests_root)
        if rel.parts and rel.parts[0] == "fixtures":
            continue
        if not rel.parts:
            continue
        homes = [root / rel for root in packages.values()] + [
            root.parent / rel for root in packages.values()]
        if not any((h / "__init__.py").is_file() for h in homes):
            bad.append(str(f.relative_to(tests_root)))
    return bad


def test_the_tests_mirror_the_packages():
    tests_root = ROOT / "tests"
    assert not _misplaced_tests(tests_root, {"fer_keras": PKG})
    names = [f.name for f in tests_root.rglob("test_*.py") if "fixtures" not in f.parts]
    assert len(names) == len(set(names)), "two test files share a name (pytest's rootdir import)"


def test_the_mirror_check_finds_a_test_outside_any_package(tmp_path):
    for rel in ("pkg/__init__.py", "pkg/faces/__init__.py", "tests/faces/test_a.py",
                "tests/nowhere/test_b.py", "tests/test_whole.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("")
    assert _misplaced_tests(tmp_path / "tests", {"pkg": tmp_path / "pkg"}) == [
        "nowhere/test_b.py"]
