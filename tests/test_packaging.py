"""fer_keras as a package: consistent extras, `make install GPU=1` switching an existing
environment, and (slow) a wheel that works with no source tree in sight."""
import configparser
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Extras that pick a backend or serve the tests rather than a feature: `all` leaves them out
#: (it takes `tensorflow`; `gpu` and `jax` are alternatives to it); `ray`, a cluster engine of
#: some 400 MB, is asked for by name.
NOT_IN_ALL = {"gpu", "jax", "test", "ray"}
#: Pinned in requirements.txt only as dependencies of a declared package, or as its variant.
PINNED_TRANSITIVE = {"starlette", "tensorflow-cpu"}


def _name(req):
    return re.split(r"[\[<>=!~; ]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _extras():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    extras = {k: {r.strip() for r in v.strip().splitlines() if r.strip()}
              for k, v in cfg["options.extras_require"].items()}
    base = {r.strip() for r in cfg["options"]["install_requires"].strip().splitlines()}
    return base, extras


def test_all_is_tensorflow_plus_every_feature_extra():
    _, extras = _extras()
    assert {"faces", "explain", "export", "serve", "gpu", "tensorflow", "all"} <= set(extras)
    union = set().union(*(v for k, v in extras.items() if k not in NOT_IN_ALL | {"all"}))
    assert extras["all"] == union, (f"`all` lacks {sorted(union - extras['all'])}, has extra "
                                    f"{sorted(extras['all'] - union)}")


def test_every_pinned_requirement_is_declared():
    """requirements.txt (what CI runs) and setup.cfg (what pip installs) name the same packages,
    so an extra cannot leave out what a feature imports."""
    base, extras = _extras()
    declared = {_name(r) for r in base.union(*extras.values())}
    pinned = {_name(line) for line in (ROOT / "requirements.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")}
    assert pinned, "requirements.txt read as empty: the parser is broken"
    assert not pinned - declared - PINNED_TRANSITIVE, (
        f"pinned but in no extra of setup.cfg: {sorted(pinned - declared - PINNED_TRANSITIVE)}")


def _dry_run(tmp_path, *args):
    out = subprocess.run(["make", "-n", "install", *args], cwd=tmp_path, capture_output=True,
                         text=True, check=True)
    return out.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="no make on this machine")
def test_make_install_gpu_switches_an_existing_environment(tmp_path):
    """An up-to-date CPU environment: `make install` has nothing to do, `make install GPU=1`
    removes tensorflow-cpu and installs TensorFlow with CUDA, then `GPU=0` switches back."""
    for f in ("Makefile", "requirements.txt", "setup.cfg"):
        shutil.copy(ROOT / f, tmp_path / f)
    venv = tmp_path / ".venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch(mode=0o755)
    stamp = venv / ".installed-cpu"
    stamp.touch()
    os.utime(stamp, (2e9, 2e9))  # newer than requirements.txt and setup.cfg

    cpu = _dry_run(tmp_path, "GPU=0")
    assert "pip install" not in cpu, f"an up-to-date CPU environment was reinstalled:\n{cpu}"
    gpu = _dry_run(tmp_path, "GPU=1")
    assert "uninstall -q -y tensorflow-cpu" in gpu
    version = re.search(r"^tensorflow-cpu==(\S+)", (ROOT / "requirements.txt").read_text(), re.M)
    assert f'"tensorflow[and-cuda]=={version.group(1)}"' in gpu
    assert "touch .venv/.installed-gpu" in gpu

    stamp.rename(venv / ".installed-gpu")  # now the GPU variant is installed
    assert "pip install" not in _dry_run(tmp_path, "GPU=1")
    back = _dry_run(tmp_path, "GPU=0")
    assert "uninstall -q -y tensorflow\n" in back and "-r requirements.txt" in back


# --------------------------------------------------------------------------- the wheel (slow)
def _copy_source(dest):
    """The tracked files of the checkout (no virtual environments, runs or caches)."""
    try:
        files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                               check=True).stdout.split("\n")
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the files to build from are unknown")
    for f in filter(None, files):
        if (ROOT / f).is_file():
            (dest / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, dest / f)


@pytest.mark.slow
def test_wheel_installs_and_works_without_the_source_tree(tmp_path, fer_folder):
    """Build the wheel (setuptools, no network), install it into a fresh virtual environment
    whose only other packages are this environment's (a .pth file points at its
    site-packages, so TensorFlow is not downloaded again), then, from a folder outside any source
    tree: `fer-keras predict` on a photo of real faces and `fer_keras.Recognizer()`."""
    src, dist, venv, work = (tmp_path / d for d in ("src", "dist", "venv", "work"))
    for d in (src, work):
        d.mkdir()
    _copy_source(src)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(dist), str(src)], check=True, cwd=tmp_path)
    wheel, = dist.glob("fer_keras-*.whl")
    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"fer_keras/weights/fer_net_fer2013.keras", "fer_keras/weights/fer_net_fer2013.checks.json",
            "fer_keras/serve/static/index.html"} <= names

    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = Path(subprocess.run([str(venv / "bin" / "python"), "-c",
                                "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "_outer_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"),
                    "install", "--no-deps", "-q", str(wheel)], check=True)

    import numpy as np
    from PIL import Image

    from fer_keras import CLASS_NAMES
    from fer_keras.faces import scenes as face_scenes

    grey = np.stack([np.asarray(Image.open(sorted((fer_folder / "test" / c.lower()).glob("*.jpg"))[0])
                                .convert("L")) for c in CLASS_NAMES])  # one real face a class
    canvas, _ = face_scenes.paste_faces(grey, canvas=(600, 900), upscale=(3, 3), seed=0)
    Image.fromarray(canvas).save(work / "photo.jpg", quality=95)

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    run = subprocess.run([str(venv / "bin" / "fer-keras"), "predict", "photo.jpg", "--out", "out"],
                         cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    rows = (work / "out" / "faces.csv").read_text().strip().splitlines()
    assert len(rows) >= 2, f"no face found in the photo of 7 real faces: {rows}"

    code = ("import fer_keras; fer_keras.Recognizer(); print(fer_keras.__file__)")
    run = subprocess.run([str(venv / "bin" / "python"), "-c", code], cwd=work, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    assert Path(run.stdout.strip()).is_relative_to(venv), (
        f"fer_keras came from {run.stdout.strip()}, not from the wheel in {venv}")
