"""fer_keras.serve: the HTTP API on a real photo with the shipped model, hostile uploads, the
worker pool (a blocked inference does not block /v1/health), the page's files, the CLI's bad
flags, the stored check verdicts. The browser test of the page is test_page_browser.py."""
import io
import json
import struct
import subprocess
import sys
import threading
import urllib.request
import zlib

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="fer_keras[serve] (fastapi) is not installed")
pytest.importorskip("cv2", reason="faces need opencv-python-headless")

from fer_keras import faces  # noqa: E402
from fer_keras.faces import detectors
from fer_keras.faces import images as face_images
from fer_keras.serve import ServeConfig, create_app  # noqa: E402
from fer_keras.serve.service import Service, load_checks, method_verdict  # noqa: E402


def two_faces_jpeg():
    """A real photo with two faces: scikit-image's astronaut beside its mirror image
    (1024x512), JPEG."""
    from PIL import Image
    from skimage import data

    a = data.astronaut()
    buf = io.BytesIO()
    Image.fromarray(np.concatenate([a, a[:, ::-1]], axis=1)).save(buf, "JPEG", quality=92)
    return buf.getvalue()


def png_header(width, height):
    """A PNG whose header claims ``width`` x ``height`` pixels, with one tiny IDAT."""
    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def photo():
    return two_faces_jpeg()


@pytest.fixture(scope="module")
def service():
    return Service(model=None)  # the shipped model


@pytest.fixture(scope="module")
def client(service):
    from fastapi.testclient import TestClient

    with TestClient(create_app(service=service, config=ServeConfig())) as c:
        yield c


def one_line_error(r, status):
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert list(body) == ["error"] and body["error"] and "\n" not in body["error"]
    return body["error"]


# ---------------------------------------------------------------------- the API
def test_faces_is_recognizer_detect_plus_model(client, service, photo):
    from PIL import Image

    r = client.post("/v1/faces", content=photo, headers={"content-type": "image/jpeg"})
    assert r.status_code == 200
    body = r.json()
    rgb = np.asarray(Image.open(io.BytesIO(photo)).convert("RGB"))
    expected = faces.Recognizer(service.model).detect(rgb)
    assert body["faces"] == json.loads(json.dumps(expected))  # the same JSON as detect
    assert body["model"] == "pretrained (fer_net_fer2013.keras)"
    assert body["contract"]["classes"] == list(service.contract.classes)
    assert body["image"] == {"width": 1024, "height": 512}
    # the two faces are mirror images: boxes mirrored about the middle, the same expression
    left, right = sorted(body["faces"], key=lambda f: f["box"][0])
    assert abs((1024 - right["box"][0] - right["box"][2]) - left["box"][0]) <= 6
    assert left["label"] == right["label"] == "Happy"
    assert abs(left["scores"]["Happy"] - right["scores"]["Happy"]) < 0.1
    # multipart gives the same answer
    m = client.post("/v1/faces", files={"image": ("me.jpg", photo, "image/jpeg")})
    assert m.status_code == 200 and m.json()["faces"] == body["faces"]


def test_explain_png_overlay_on_the_face(client, service, photo):
    import base64

    from PIL import Image

    faces_json = client.post("/v1/faces", content=photo).json()["faces"]
    r = client.post("/v1/explain?face=1&method=vanilla", content=photo)
    assert r.status_code == 200
    out = r.json()
    assert out["method"] == "vanilla" and out["class"] == out["label"] == faces_json[1]["label"]
    assert out["box"] == faces_json[1]["box"]
    scale = detectors.default_detector().frame_scale  # the crop framing of the server's detector
    assert out["square"] == list(face_images.face_square(out["box"], scale))
    png = base64.b64decode(out["png"].split(",", 1)[1])
    img = np.asarray(Image.open(io.BytesIO(png)))
    assert img.shape == (192, 192, 3)
    # the picture is this face's map over this face (the library's overlay of the crop the
    # model saw), not the other face's
    from PIL import Image as PILImage

    from fer_keras import plotting
    from fer_keras.explain import saliency_maps

    grey = face_images.to_grey(np.asarray(PILImage.open(io.BytesIO(photo)).convert("RGB")))

    def overlay(box):
        crop = face_images.crop_faces(grey, np.asarray([box]), scale=scale)
        m = saliency_maps(service.model, crop, method="vanilla")[0]
        big = face_images.crop_faces(grey, np.asarray([box]), (192, 192), scale=scale)[0]
        return plotting.saliency_overlay(big, m).astype(int)

    assert np.abs(img - overlay(out["box"])).max() <= 1
    assert np.abs(img - overlay(faces_json[0]["box"])).mean() > 5
    # ?format=png: the same picture as the PNG itself
    raw = client.post("/v1/explain?face=1&method=vanilla&format=png", content=photo)
    assert raw.headers["content-type"] == "image/png" and raw.content == png
    assert raw.headers["x-fer-method"] == "vanilla"
    # form fields work as well as the query
    f = client.post("/v1/explain", files={"image": ("a.jpg", photo, "image/jpeg")},
                    data={"face": "1", "method": "vanilla"})
    assert f.status_code == 200 and f.json()["png"] == out["png"]


def test_explain_bad_requests_are_one_line(client, photo):
    assert "2 faces" in one_line_error(client.post("/v1/explain?face=2", content=photo), 422)
    assert "%2B" in one_line_error(client.post("/v1/explain?method=gradcam++", content=photo),
                                   422)
    assert "Nope" in one_line_error(client.post("/v1/explain?target=Nope", content=photo), 422)
    one_line_error(client.post("/v1/explain?face=abc", content=photo), 422)
    one_line_error(client.post("/v1/explain?format=gif", content=photo), 422)
    blank = io.BytesIO()
    from PIL import Image

    Image.new("RGB", (320, 240), (128, 128, 128)).save(blank, "PNG")
    assert "no face" in one_line_error(client.post("/v1/explain", content=blank.getvalue()), 422)
    assert client.post("/v1/faces", content=blank.getvalue()).json()["faces"] == []


def test_health_model_and_unknown_routes(client, service):
    h = client.get("/v1/health").json()
    assert h["status"] == "ok" and h["workers"] == 2
    m = client.get("/v1/model").json()
    from fer_keras.explain import methods

    assert m["methods"] == list(methods.names())  # the registry, in its order
    assert m["parameters"] == service.model.count_params()
    assert m["limits"] == {"max_upload_bytes": 10_000_000, "max_pixels": 50_000_000}
    assert "/nope" in one_line_error(client.get("/nope"), 404)
    one_line_error(client.get("/v1/faces"), 405)


def test_the_pages_icon_is_served(client):
    """A browser asks for /favicon.ico on every page: the server has one (no 404)."""
    import xml.etree.ElementTree as ET

    r = client.get("/favicon.ico")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    assert ET.fromstring(r.content).tag.endswith("svg")


def test_overlay_colours_follow_the_map():
    from fer_keras import plotting

    face = np.full((48, 48), 128, np.uint8)
    m = np.zeros((48, 48), np.float32)
    m[:, :24] = 1.0  # the left half salient
    out = plotting.saliency_overlay(face, m, size=96).astype(int)
    left, right = out[:, :40].mean(axis=(0, 1)), out[:, 56:].mean(axis=(0, 1))
    assert left[0] > left[2] + 60 and right[2] > right[0] + 60  # red where 1, blue where 0
    assert np.abs(plotting.saliency_overlay(face, m[:, ::-1], size=96)[:, ::-1].astype(int)
                  - out).max() <= 1  # mirrored map, mirrored picture


# ---------------------------------------------------------------------- hostile input
def _bilevel_png(side):
    from PIL import Image

    buf = io.BytesIO()
    Image.new("1", (side, side)).save(buf, "PNG")  # a few kB that decode to side^2 pixels
    return buf.getvalue()


def test_hostile_uploads_get_one_line_4xx_and_the_server_keeps_serving(client, photo):
    bomb = _bilevel_png(7200)  # 51.8 MP: over the 50 MP limit, 192 MB once decoded to RGB
    assert len(bomb) < 100_000
    cases = {
        "text": (b"just some text, not a photo\n" * 10, 415, "not an image"),
        "empty": (b"", 415, "empty"),
        "truncated JPEG": (photo[:len(photo) // 2], 415, "truncated"),
        "SVG": (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
                b'<script>alert(1)</script></svg>', 415, "not an image"),
        "HTML": (b"<html><body><img src=x onerror=alert(1)></body></html>", 415, "not an image"),
        "decompression bomb": (bomb, 413, "7200x7200"),
        "30000x30000 PNG header": (png_header(30000, 30000), 413, "limit of 50,000,000 pixels"),
        "JPEG header then garbage": (photo[:600] + b"\x00" * 4000, 415, "not a readable"),
    }
    for name, (body, status, words) in cases.items():
        for route in ("/v1/faces", "/v1/explain"):
            msg = one_line_error(client.post(route, content=body), status)
            assert words in msg, (name, route, msg)
    bad_form = client.post("/v1/faces", content=b"--x\r\nnot a form",
                           headers={"content-type": "multipart/form-data; boundary=x"})
    one_line_error(bad_form, 400)
    no_file = client.post("/v1/faces", data={"face": "0"}, files={"other": ("a", b"b")})
    assert "'image'" in one_line_error(no_file, 400)
    over = b"\xff\xd8" + b"\0" * 10_000_000  # 10 MB + 2 bytes: refused by its Content-Length
    assert "10,000,002 bytes" in one_line_error(client.post("/v1/faces", content=over), 413)
    assert client.get("/v1/health").json()["status"] == "ok"
    r = client.post("/v1/faces", content=photo)
    assert r.status_code == 200 and len(r.json()["faces"]) == 2


@pytest.mark.parametrize("side", [7100, 20000, 60000])
def test_one_pixel_limit_however_far_over(side):
    """Just over the server's limit (its own check) or far over it (Pillow's decompression-bomb
    guard, which refuses first): the client is told the same limit, the server's."""
    from PIL import Image

    from fer_keras.serve import uploads

    with pytest.raises(uploads.UploadError) as err:
        uploads.decode(png_header(side, side), 50_000_000)
    msg = err.value.message
    assert err.value.status == 413
    assert "exceeds the limit of 50,000,000 pixels" in msg, msg
    assert f"{Image.MAX_IMAGE_PIXELS:,}" not in msg and str(Image.MAX_IMAGE_PIXELS) not in msg
    assert f"{side * side:,}" in msg or f"{side}x{side}" in msg


def test_chunked_upload_stopped_at_the_limit(service, photo):
    from fastapi.testclient import TestClient

    app = create_app(service=service, config=ServeConfig(max_upload_bytes=len(photo) - 1))
    sent = []

    def body():  # no Content-Length: the server counts while it reads
        for i in range(0, len(photo), 4096):
            sent.append(i)
            yield photo[i:i + 4096]

    with TestClient(app) as c:
        assert "exceeds the limit" in one_line_error(c.post("/v1/faces", content=body()), 413)
        ok = create_app(service=service, config=ServeConfig(max_upload_bytes=len(photo)))
        with TestClient(ok) as c2:
            assert c2.post("/v1/faces", content=photo).status_code == 200


def test_other_formats_and_exif_orientation(client, photo):
    from PIL import Image

    img = Image.open(io.BytesIO(photo)).resize((640, 320), Image.LANCZOS)  # faces of ~60 px
    for fmt in ("PNG", "WEBP", "BMP", "GIF", "TIFF"):
        buf = io.BytesIO()
        img.save(buf, fmt)
        r = client.post("/v1/faces", content=buf.getvalue())
        assert r.status_code == 200 and len(r.json()["faces"]) == 2, fmt
    # a photo stored sideways with EXIF orientation 6 (rotate 90 clockwise to show it): the boxes
    # are in the upright picture, as a browser shows it
    buf = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6
    img.transpose(Image.Transpose.ROTATE_90).save(buf, "JPEG", exif=exif, quality=92)
    body = client.post("/v1/faces", content=buf.getvalue()).json()
    assert body["image"] == {"width": 640, "height": 320} and len(body["faces"]) == 2


# ---------------------------------------------------------------------- the worker pool
class BlockingDetector:
    """A face detector that waits until released: a slow inference on demand."""

    def __init__(self):
        self.entered, self.release = threading.Event(), threading.Event()
        self.haar = detectors.HaarDetector(quiet=True)

    def __call__(self, grey):
        self.entered.set()
        assert self.release.wait(60), "never released"
        return self.haar(grey)


def test_health_answers_while_every_worker_is_busy(service, photo):
    from fer_keras.serve.app import running

    det = BlockingDetector()
    slow = Service(model=service.model, detector=det)
    app = create_app(service=slow, config=ServeConfig(workers=1, max_pending=1))
    with running(app) as url:
        answers = {}

        def post():
            req = urllib.request.Request(url + "/v1/faces", data=photo, method="POST")
            with urllib.request.urlopen(req, timeout=60) as r:
                answers["slow"] = (r.status, json.loads(r.read()))

        t = threading.Thread(target=post)
        t.start()
        try:
            assert det.entered.wait(30)  # the only worker is now inside the slow request
            with urllib.request.urlopen(url + "/v1/health", timeout=10) as r:
                health = json.loads(r.read())
            assert health["status"] == "ok" and health["pending"] == 1
            assert t.is_alive() and "slow" not in answers  # still blocked: health did not wait
            # a flood beyond max_pending is refused at once instead of queueing
            req = urllib.request.Request(url + "/v1/faces", data=photo, method="POST")
            with pytest.raises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(req, timeout=10)
            assert e.value.code == 503 and "busy" in json.loads(e.value.read())["error"]
        finally:
            det.release.set()
            t.join(60)
        assert answers["slow"][0] == 200 and len(answers["slow"][1]["faces"]) == 2


def test_a_crash_inside_is_a_one_line_500_and_the_server_goes_on(service, photo):
    from fastapi.testclient import TestClient

    def broken(grey):
        raise RuntimeError("the detector broke\non two lines")

    app = create_app(service=Service(model=service.model, detector=broken))
    with TestClient(app, raise_server_exceptions=False) as c:
        msg = one_line_error(c.post("/v1/faces", content=photo), 500)
        assert "RuntimeError" in msg and "the detector broke" in msg
        assert c.get("/v1/health").json()["status"] == "ok"


# ---------------------------------------------------------------------- stored check verdicts
def _checks_numbers(passing):
    """checks.json numbers for one method against one control: ``passing`` decides whether the
    method beats the control on every check."""
    good, bad = {"deletion_auc": 0.20, "insertion_auc": 0.50, "road_gap": 0.30}, \
        {"deletion_auc": 0.40, "insertion_auc": 0.30, "road_gap": 0.00}
    method = dict(good if passing else bad, sanity_spearman=0.05 if passing else 0.8,
                  sanity_constant_share=0.0, road_morf=0.2, road_lerf=0.5,
                  cascade={"layers": ["dense", "conv"], "constant_share": [0.0, 0.0],
                           "spearman": [0.1, 0.05] if passing else [0.9, 0.8]})
    return {"methods": {"vanilla": method},
            "controls": {"random": {"deletion_auc": 0.30, "insertion_auc": 0.40,
                                    "road_gap": 0.05}}, "n": 12}


@pytest.mark.parametrize("passing", [True, False])
def test_stored_verdict_is_the_rules_verdict(tmp_path, passing):
    path = tmp_path / "checks.json"
    path.write_text(json.dumps(_checks_numbers(passing)))
    v = method_verdict(load_checks(path), "vanilla", path)
    assert v["passed"] is passing and v["images"] == 12 and v["source"] == "checks.json"
    assert v["failed"] == ([] if passing else ["sanity", "cascade", "deletion", "insertion",
                                               "road"])
    assert method_verdict(load_checks(path), "gradcam", path) is None  # not checked: no verdict


def test_explain_carries_the_stored_verdict(service, photo, tmp_path):
    from fastapi.testclient import TestClient

    path = tmp_path / "mine.json"
    path.write_text(json.dumps(_checks_numbers(False)))
    svc = Service(model=service.model, config=ServeConfig(checks=str(path)))
    with TestClient(create_app(service=svc)) as c:
        out = c.post("/v1/explain?method=vanilla", content=photo).json()
        assert out["verdict"]["passed"] is False and "sanity" in out["verdict"]["failed"]
        assert c.get("/v1/model").json()["checks"]["passed"] == {"vanilla": False}
        raw = c.post("/v1/explain?method=vanilla&format=png", content=photo)
        assert raw.headers["x-fer-checks"].startswith("failed sanity")
        assert c.post("/v1/explain?method=gradcam", content=photo).json()["verdict"] is None
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(Exception, match="bad.json"):
        Service(model=service.model, config=ServeConfig(checks=str(bad)))


def test_shipped_model_has_its_checks(client):
    """The shipped model's checks (fer_keras/weights/fer_net_fer2013.checks.json, RESULTS.md)
    are found beside it and served with every explanation."""
    m = client.get("/v1/model").json()
    assert m["checks"]["source"] == "fer_net_fer2013.checks.json"
    stored = set(m["checks"]["passed"])
    # the four methods of the RESULTS.md run; the registry's newer ones have no stored verdict
    # on this model yet and are served with verdict None (test_explain_carries_the_stored_verdict)
    assert {"vanilla", "smoothgrad", "gradcam", "gradcam++"} <= stored <= set(m["methods"])


# ---------------------------------------------------------------------- the page
def test_page_is_self_contained_and_escapes(client):
    import re

    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "script-src" not in r.headers["content-security-policy"]  # default-src 'self' only
    assert "'self'" in r.headers["content-security-policy"]
    refs = re.findall(r'(?:src|href)="([^"]+)"', r.text)
    assert sorted(refs) == ["/static/app.js", "/static/style.css"]
    for ref in refs:
        f = client.get(ref)
        assert f.status_code == 200
        assert not re.search(r"https?://", f.text), ref  # nothing from another origin (no CDN)
        assert "innerHTML" not in f.text and "insertAdjacentHTML" not in f.text
        assert "document.write" not in f.text and "eval(" not in f.text
    assert "<script>" not in r.text  # no inline script: the CSP would block it anyway
    assert client.get("/static/../config.py").status_code == 404


# ---------------------------------------------------------------------- the CLI
def _cli(args, capsys):
    from fer_keras import cli

    code = cli.main(["serve", *args])
    err = capsys.readouterr().err.strip()
    return code, err


def test_cli_bad_flags_are_one_line_exit_2(capsys, tmp_path):
    import socket

    for args, words in ((["--port", "70000"], "--port"), (["--port", "x"], "--port"),
                        (["--workers", "0"], "--workers"),
                        (["--max-upload-mb", "-1"], "--max-upload-mb"),
                        (["--host", "bad host"], "--host"),
                        (["--checks", str(tmp_path / "none.json")], "none.json"),
                        (["--model", str(tmp_path / "none.keras"), "--port", "0"],
                         "none.keras")):
        code, err = _cli(args, capsys)
        assert code == 2 and len(err.splitlines()) == 1 and words in err, (args, err)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, err = _cli(["--port", str(port)], capsys)
        assert code == 2 and len(err.splitlines()) == 1 and str(port) in err, err


def test_import_stays_light():
    code = ("import sys, fer_keras, fer_keras.serve, fer_keras.cli; "
            "heavy = [m for m in ('fastapi', 'uvicorn', 'starlette') if m in sys.modules]; "
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_config_defaults_bind_localhost():
    from fer_keras.errors import FerInputError

    c = ServeConfig()
    assert c.host == "127.0.0.1" and c.max_upload_bytes == 10_000_000
    with pytest.raises(FerInputError, match="--workers"):
        ServeConfig(workers=0)
