"""The page of ``fer-keras serve`` in a real browser: Playwright driving Debian's headless
chromium (no browser download) against the server on localhost with the shipped model.

Skipped with the reason when playwright or chromium is absent (``apt-get install chromium``;
``FER_KERAS_CHROMIUM`` names another binary). ``FER_KERAS_SCREENSHOT=docs/serve.png`` also
saves the screenshot the README shows.
"""
import base64
import json
import os
import shutil
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="fer_keras[serve] (fastapi) is not installed")
pytest.importorskip("cv2", reason="faces need opencv-python-headless")
sync_api = pytest.importorskip("playwright.sync_api",
                               reason="playwright is not installed (pip install playwright)")

CHROMIUM = os.environ.get("FER_KERAS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
if not os.access(CHROMIUM, os.X_OK):
    pytest.skip(f"no chromium at {CHROMIUM} (apt-get install chromium, or set FER_KERAS_CHROMIUM)",
                allow_module_level=True)

#: Quiet offline: without the background-networking flags chromium keeps trying to reach
#: Google's services, which a closed network refuses.
CHROMIUM_ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 # a synthetic camera, allowed without asking: the webcam path without a webcam
                 "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


def wait_until(page, expression, timeout=60):
    """Poll ``expression`` (JavaScript) in the page until it is truthy. (``wait_for_function``
    evaluates its predicate with ``new Function``, which the page's Content-Security-Policy
    forbids, as it should.)"""
    import time

    t0 = time.monotonic()
    while not page.evaluate(expression):
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"timed out waiting for {expression}")
        page.wait_for_timeout(50)


def _post(url, body, path):
    req = urllib.request.Request(url + path, data=body, method="POST",
                                 headers={"Content-Type": "image/jpeg"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read())


@pytest.fixture(scope="module")
def server():
    from fer_keras.serve.app import create_app, running

    with running(create_app()) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def test_page_shows_faces_scores_and_explanations(server, browser, tmp_path):
    from test_service import two_faces_jpeg

    photo = tmp_path / "two faces.jpg"
    photo.write_bytes(two_faces_jpeg())
    api = _post(server, photo.read_bytes(), "/v1/faces")
    assert len(api["faces"]) == 2

    page = browser.new_page(viewport={"width": 1000, "height": 760})
    dialogs, failed = [], []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: failed.append(str(e)))
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.goto(server + "/")
    wait_until(page, "document.getElementById('model').textContent.startsWith('model:')")
    assert "fer_net_fer2013" in page.text_content("#model")

    # a photo with two faces: two boxes and two charts whose labels are the API's
    page.set_input_files("#file", str(photo))
    page.wait_for_selector(".face-card >> nth=1")
    boxes = page.locator(".face-box")
    cards = page.locator(".face-card")
    assert boxes.count() == 2 and cards.count() == 2
    for i, face in enumerate(api["faces"]):
        top = face["scores"][face["label"]]
        # numbered from 0, as the API's list and the CLI
        assert boxes.nth(i).text_content() == f"{i}: {face['label']} {100 * top:.1f}%"
        card = cards.nth(i)
        assert card.locator(".card-title").text_content() == f"face {i}: {face['label']}"
        rows = card.locator(".bar-row")
        assert rows.count() == 7
        names = [rows.nth(k).locator(".bar-name").text_content() for k in range(7)]
        assert names == list(face["scores"])
        values = [rows.nth(k).locator(".bar-value").text_content() for k in range(7)]
        assert values == [f"{100 * p:.1f}%" for p in face["scores"].values()]
        assert card.locator(".bar-row.top .bar-name").text_content() == face["label"]
        # the bar's drawn width is its score's share of the track
        w = card.locator(".bar-row.top .bar").bounding_box()["width"]
        track = card.locator(".bar-row.top .bar-track").bounding_box()["width"]
        assert abs(w / track - top) < 0.02
        # the box sits on the face: its position on the picture, in the photo's pixels
        img = page.locator("#photo").bounding_box()
        bb = boxes.nth(i).bounding_box()
        scale = img["width"] / api["image"]["width"]
        assert abs((bb["x"] - img["x"]) / scale - face["box"][0]) < 4
        assert abs(bb["width"] / scale - face["box"][2]) < 6
    assert page.locator("#error").is_hidden()
    assert page.text_content("#status") == "2 faces in two faces.jpg"

    # the explanation: one overlay per face, the API's own PNG, and the stored verdict said
    page.check("#explain-toggle")
    wait_until(page, "[...document.querySelectorAll('figure.explanation img')]"
                           ".filter(i => i.complete && i.naturalWidth === 192).length === 2")
    method = page.input_value("#method")
    assert method == "vanilla"
    for i in range(2):
        out = _post(server, photo.read_bytes(), f"/v1/explain?face={i}&method={method}")
        src = cards.nth(i).locator("figure.explanation img").get_attribute("src")
        assert base64.b64decode(src.split(",", 1)[1]) == base64.b64decode(
            out["png"].split(",", 1)[1])
        caption = cards.nth(i).locator("figcaption").text_content()
        assert caption == f"{method} for {out['class']}"
    assert page.locator(".overlay-on-photo").count() == 2
    assert page.locator(".overlay-on-photo >> nth=0").is_visible()
    # the shipped model's stored checks: vanilla fails deletion, insertion and ROAD there
    assert out["verdict"]["failed"] == ["deletion", "insertion", "road"]
    assert page.text_content("#verdict") == (
        "vanilla failed 3 of the 5 explanation checks stored for this model on 200 images "
        "(deletion, insertion, ROAD): read its map with care")
    reasons = page.locator("#verdict-reasons li")
    assert reasons.count() == 5
    assert [reasons.nth(k).text_content() for k in range(5)] == [
        f"{'passed' if e['passed'] else 'failed'} {name}: {e['reason']}"
        for name, e in zip(["model randomisation", "cascading randomisation", "deletion",
                            "insertion", "ROAD"], out["verdict"]["checks"].values())]
    shot = Path(os.environ.get("FER_KERAS_SCREENSHOT") or tmp_path / "serve.png")
    page.screenshot(path=str(shot), full_page=True)
    if "FER_KERAS_SCREENSHOT" in os.environ:  # the README's copy: 256 colours keep it small
        from PIL import Image

        Image.open(shot).convert("RGB").quantize(256).save(shot, optimize=True)

    page.uncheck("#explain-toggle")
    assert page.locator(".overlay-on-photo").count() == 0
    assert page.locator("figure.explanation >> visible=true").count() == 0

    # a text file: the server's one-line error on the page, not a broken page; a file name
    # that is markup is shown as text
    note = tmp_path / "<img src=x onerror=alert(1)>.txt"
    note.write_text("not a photo\n")
    page.set_input_files("#file", str(note))
    page.wait_for_selector("#error", state="visible")
    err = page.text_content("#error")
    assert err == "<img src=x onerror=alert(1)>.txt: not an image (accepted: JPEG, PNG, WebP, " \
                  "GIF, BMP, TIFF)"
    assert page.locator("#error img").count() == 0 and page.locator("#result").is_hidden()
    assert page.text_content("#model").startswith("model:")

    # the page still works after the error: a dropped photo (drag and drop) is analysed
    b64 = base64.b64encode(photo.read_bytes()).decode()
    page.evaluate("""(b64) => {
        const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], "dropped.jpg", {type: "image/jpeg"}));
        document.getElementById("drop").dispatchEvent(
            new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
    }""", b64)
    wait_until(page, "document.getElementById('status').textContent === "
                           "'2 faces in dropped.jpg'")
    assert page.locator("#error").is_hidden() and page.locator(".face-box").count() == 2

    # the webcam (chromium's synthetic camera, no face in it): a snapshot is sent and answered
    page.click("#webcam-start")
    wait_until(page, "document.getElementById('video').videoWidth > 0")
    page.click("#snap")
    wait_until(page, "document.getElementById('status').textContent === "
                     "'no face found in webcam snapshot'")
    assert page.locator(".face-box").count() == 0 and page.locator("#error").is_hidden()
    page.click("#webcam-stop")
    assert page.locator("#webcam").is_hidden()
    assert dialogs == [] and failed == []
    page.close()


def _gap(a, b):
    """Pixels between two bounding boxes (0 when they touch or overlap)."""
    dx = max(b["x"] - (a["x"] + a["width"]), a["x"] - (b["x"] + b["width"]), 0)
    dy = max(b["y"] - (a["y"] + a["height"]), a["y"] - (b["y"] + b["height"]), 0)
    return max(dx, dy)


def _intersect(a, b):
    return (min(a["x"] + a["width"], b["x"] + b["width"]) - max(a["x"], b["x"]) > 0.5 and
            min(a["y"] + a["height"], b["y"] + b["height"]) - max(a["y"], b["y"]) > 0.5)


def test_labels_of_two_adjacent_faces_touch_their_boxes_and_not_each_other(server, browser):
    """A synthetic answer, two faces side by side at the photo's top edge (no room above): the
    page puts each label next to its own box, off the other label and both faces; the browser
    asks for nothing that is not there (the icon included)."""
    page = browser.new_page(viewport={"width": 1000, "height": 760})
    failed = []
    page.on("pageerror", lambda e: failed.append(str(e)))
    page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.status} {r.url}"))
    page.goto(server + "/")
    wait_until(page, "document.getElementById('model').textContent.startsWith('model:')")
    page.evaluate("""async () => {
        const c = document.createElement("canvas");
        c.width = 400; c.height = 300;
        c.getContext("2d").fillRect(0, 0, 400, 300);
        const blob = await new Promise((r) => c.toBlob(r, "image/png"));
        await showPhoto(blob);
        const face = (x) => ({box: [x, 0, 60, 60], label: "Surprise",
                              scores: {Surprise: 0.97, Neutral: 0.03}});
        render({image: {width: 400, height: 300}, faces: [face(150), face(212)]});
    }""")
    boxes = [page.locator(".face-box").nth(i).bounding_box() for i in range(2)]
    labels = [page.locator(".face-label").nth(i).bounding_box() for i in range(2)]
    photo = page.locator("#photo").bounding_box()
    assert labels[0]["width"] > boxes[0]["width"]  # wider than a face: the hard case
    assert not _intersect(labels[0], labels[1]), labels
    for lab, box in zip(labels, boxes):
        assert not any(_intersect(lab, b) for b in boxes), (lab, boxes)
        assert _gap(lab, box) <= 4, (lab, box)  # touching its box (its border aside)
        assert lab["y"] >= photo["y"] - 0.5 and lab["x"] >= photo["x"] - 0.5  # not cut off
    assert failed == []
    page.close()
