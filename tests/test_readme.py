"""The README's shown outputs are what its commands print today: each ``$ .venv/bin/fer-keras``
command of its console blocks and each ``print`` of its Python blocks is run on the README's
photo (:func:`fer_keras.faces.scenes.readme_photo`, from ../shared's FER2013 folders) and its
output compared with the lines shown, numbers to their shown precision. Quick start 2's
``report`` is left out: it trains models for minutes, and the README elides its output."""
import ast
import contextlib
import io
import re
import shutil

import pytest
from conftest import FER_FOLDER, REPO

pytest.importorskip("cv2")

README = REPO / "README.md"
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _blocks(kind):
    return re.findall(rf"```{kind}\n(.*?)```", README.read_text(), flags=re.S)


def _console_steps():
    """[(command, [shown output lines])] of the console blocks, ``report`` left out."""
    steps = []
    for block in _blocks("console"):
        for chunk in block.split("$ ")[1:]:
            command, *shown = chunk.rstrip("\n").split("\n")
            if " report " not in f" {command} ":
                steps.append((command, shown))
    return steps


def _python_prints():
    """[(code before the print, the print line, shown output)] of the Python blocks: the
    output a ``print(...)`` line is shown to give is the ``# `` comment lines right after it."""
    out = []
    for block in _blocks("python"):
        lines = block.splitlines()
        for i, line in enumerate(lines):
            if line.startswith("print("):
                shown = []
                for nxt in lines[i + 1:]:
                    if not nxt.startswith("# "):
                        break
                    shown.append(nxt[2:].strip())
                out.append(("\n".join(lines[:i]), line.split("#")[0], " ".join(shown)))
    return out


def same_output(shown, got):
    """``shown`` and ``got`` agree: the same text around the numbers, integers equal, a decimal
    number within one unit of its last shown digit (and 2e-3: another CPU, ONNX Runtime)."""
    if NUMBER.split(shown) != NUMBER.split(got):
        return False
    a, b = NUMBER.findall(shown), NUMBER.findall(got)
    for x, y in zip(a, b):
        if "." not in x:
            if x != y:
                return False
        elif abs(float(x) - float(y)) > max(2e-3, 1.01 * 10 ** -len(x.split(".")[1])):
            return False
    return len(a) == len(b)


def test_the_output_check_is_strict_about_text_and_numbers():
    assert same_output("face 0 at x=489: Sad 0.33", "face 0 at x=489: Sad 0.334")
    assert not same_output("face 0 at x=489: Sad 0.33", "face 0 at x=490: Sad 0.33")
    assert not same_output("Sad 0.33", "Sad 0.35") and not same_output("1 image", "1 images")
    assert not same_output("5 face rows", "7 face rows")


def test_the_readme_opens_with_the_main_job_and_the_tests():
    block = _blocks("bash")[0].splitlines()
    assert block[0].startswith("make report") and "the main job" in block[0]
    assert block[1].startswith("make test") and "the tests" in block[1]


@pytest.fixture(scope="module")
def walk(tmp_path_factory):
    """A folder laid out as the README's: photo.jpg and mine.keras (a copy of the shipped
    model)."""
    if not (FER_FOLDER / "test").is_dir():
        pytest.skip(f"real FER2013 image folders not found at {FER_FOLDER} (../shared absent)")
    from fer_keras.faces.scenes import readme_photo
    from fer_keras.models import shipped

    folder = tmp_path_factory.mktemp("readme")
    readme_photo(FER_FOLDER, folder / "photo.jpg")
    shutil.copy(shipped.model_path(), folder / "mine.keras")
    return folder


def _run(command, folder):
    import shlex

    from fer_keras.cli import main

    argv = shlex.split(command.replace("../shared/data/fer2013", str(FER_FOLDER)))
    if argv[0] == "head":
        n = int(argv[1].lstrip("-"))
        return (folder / argv[2]).read_text().splitlines()[:n]
    assert argv[0] == ".venv/bin/fer-keras", command
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(argv[1:]) == 0, command
    return buf.getvalue().splitlines()


def test_every_shown_command_prints_what_the_readme_shows(walk, monkeypatch):
    monkeypatch.chdir(walk)
    steps = _console_steps()
    assert len(steps) >= 4  # predict, head, and the two of Quick start 3
    for command, shown in steps:
        got = _run(command, walk)
        assert len(got) == len(shown), (command, got)
        for s, g in zip(shown, got):
            assert same_output(s, g), f"{command}\n  README: {s}\n  prints: {g}"


def test_every_shown_print_of_the_python_blocks_is_what_it_prints(walk, monkeypatch):
    monkeypatch.chdir(walk)
    prints = _python_prints()
    assert prints, "no print( in the README's Python blocks"
    for code, line, shown in prints:
        scope = {}
        exec(code, scope)  # noqa: S102 - the README's own snippet
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            exec(line, scope)  # noqa: S102
        got = buf.getvalue().strip()
        assert same_output(shown, got), f"{line}\n  README: {shown}\n  prints: {got}"
        ast.literal_eval(shown)  # what is shown is a Python value, as print gives it


def test_the_caption_counts_the_faces_the_detector_finds(walk):
    from fer_keras import Recognizer

    found = len(Recognizer().detect(str(walk / "photo.jpg")))
    assert found == 7
    assert "YuNet, finds all seven" in " ".join(README.read_text().split())


def test_serve_doc_lists_the_registrys_methods_and_the_stored_verdicts_truly():
    """docs/serve.md names every method of fer_keras.explain.methods (and no other) where it
    says what /v1/explain takes, and says which pass the shipped model's stored checks as
    those checks say."""
    pytest.importorskip("keras")
    from fer_keras.explain import methods
    from fer_keras.serve.service import stored_verdicts

    text = " ".join((REPO / "docs" / "serve.md").read_text().split())
    listed = text.split("any of the ten of `fer_keras.explain.methods`: ", 1)[1].split(";", 1)[0]
    assert re.findall(r"`([^`]+)`", listed) == list(methods.names())
    verdicts = stored_verdicts(None, methods.names())
    passing = [m for m, v in verdicts.items() if v and v["passed"]]
    failing = [m for m, v in verdicts.items() if v and not v["passed"]]
    unchecked = [m for m, v in verdicts.items() if not v]
    claim = text.split("fer_net_fer2013.checks.json`: there ", 1)[1].split(";", 1)[0]
    said_pass, said_rest = claim.split(" pass all of them, ")
    said_fail, said_unchecked = said_rest.split(" fail some, and ")
    assert sorted(re.findall(r"`([^`]+)`", said_pass)) == sorted(passing) != []
    assert sorted(re.findall(r"`([^`]+)`", said_fail)) == sorted(failing)
    assert sorted(re.findall(r"`([^`]+)`", said_unchecked)) == sorted(unchecked)
