"""The faces of a photo explained: each face found (:class:`fer_keras.faces.Recognizer`),
classified, and explained by saliency methods of the registry
(:mod:`fer_keras.explain.methods`), drawn over the face (:func:`fer_keras.plotting.saliency_overlay`)
and as one figure (:func:`fer_keras.plotting.photo_explanations`).

``fer-keras explain saliency --image photo.jpg`` calls :func:`explain_photo`; so does the script
that draws the README's picture (``docs/make_readme_picture.py``).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from fer_keras.errors import FerInputError


@dataclasses.dataclass(frozen=True)
class Settings:
    methods: tuple = ()  # registry names; () = every registered method
    samples: int = 20  # SmoothGrad noisy copies
    layer: str | None = None  # the layer of the methods that read one (default: their own)
    seed: int = 0
    size: int = 144  # side of each overlay in pixels
    max_faces: int = 8  # the largest faces explained


def explain_photo(image, model=None, settings=Settings(), out=None, recognizer=None,
                  verdicts=None):
    """Explain every face of ``image`` (a path, PIL image or RGB uint8 array), largest first.

    ``model``: any Keras classifier or model path (default: the shipped model); ``recognizer``:
    a :class:`~fer_keras.faces.Recognizer` to use instead (its model and detector). Returns
    ``{"faces": [{"box", "label", "scores"}] (every face found), "methods": [...],
    "annotated": RGB (H, W, 3), every face labelled "i: label p", "maps": float32 (N faces,
    at most ``max_faces``, M methods, h, w) in [0, 1] at the model's resolution, explaining
    the predicted class, "overlays": RGB uint8 (N, M, size, size, 3), "files": [...]}``. With
    ``out``, writes ``<stem>_faces.png`` (the annotated photo), ``<stem>_saliency.png`` (the
    figure) and ``<stem>_saliency.json`` (faces, labels, scores, methods, verdicts) there.
    ``verdicts``: ``{method: {"passed": bool, "failed": [check, ...], ...}}``, the stored
    explanation checks of this model (:func:`fer_keras.serve.service.method_verdict`), shown
    over each method's column of the figure; a method without one is shown as not checked.
    A photo without a face is a :class:`FerInputError` naming it."""
    from fer_keras import faces, plotting
    from fer_keras.explain import methods as registry
    from fer_keras.explain.saliency import saliency_maps
    from fer_keras.faces import drawing
    from fer_keras.faces import images as face_images
    from fer_keras.fileio import write_json

    if recognizer is None and model is None:
        from fer_keras import models

        model = models.pretrained()  # the gradients need the Keras model, not its ONNX export
    rec = recognizer or faces.Recognizer(model)  # the detector of predict and serve
    name = Path(image).name if isinstance(image, (str, Path)) else "photo"
    rgb = face_images.load_image(image)
    records = rec.detect(rgb)  # every face is labelled; the largest are explained
    if not records:
        raise FerInputError("no face found in the photo", file=name)
    boxes, probs = rec.arrays(records)
    annotated = drawing.draw_faces(rgb, boxes, [f"{i}: {r['label']} {r['scores'][r['label']]:.2f}"
                                              for i, r in enumerate(records)])
    boxes, probs = boxes[:settings.max_faces], probs[:settings.max_faces]
    methods = tuple(settings.methods) or registry.names()
    grey = face_images.to_grey(rgb)
    crops = face_images.crop_faces(grey, boxes, rec.input_shape[:2], rec.scale)
    big = face_images.crop_faces(grey, boxes, (settings.size, settings.size), rec.scale)
    labels = probs.argmax(axis=1)
    maps = np.stack([saliency_maps(rec.model, crops, labels=labels, method=m,
                                   samples=settings.samples, layer=settings.layer,
                                   seed=settings.seed) for m in methods], axis=1)
    overlays = np.stack([[plotting.saliency_overlay(big[i], maps[i, j], size=settings.size)
                          for j in range(len(methods))] for i in range(len(boxes))])
    res = {"faces": records, "methods": list(methods), "annotated": annotated, "maps": maps,
           "overlays": overlays, "files": []}
    if out is not None:
        from PIL import Image

        from fer_keras.fileio import atomic_path

        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        stem = Path(name).stem
        with atomic_path(out / f"{stem}_faces.png", suffix=".png") as tmp:
            Image.fromarray(annotated).save(tmp, format="PNG")
        face_titles = [f"{i}: {r['label']} {r['scores'][r['label']]:.2f}"
                       for i, r in enumerate(records)]
        fig = plotting.photo_explanations(
            _numbered(rgb, rec.arrays(records)[0], len(boxes)), overlays, face_titles,
            list(methods), out / f"{stem}_saliency.png",
            verdicts=[(verdicts or {}).get(m) for m in methods])
        js = out / f"{stem}_saliency.json"
        write_json(js, {"image": name, "faces": records, "methods": list(methods),
                        "explained": "the predicted class of each face",
                        "verdicts": {m: (verdicts or {}).get(m) for m in methods},
                        "settings": dataclasses.asdict(settings)}, sort_keys=False)
        res["files"] = [out / f"{stem}_faces.png", fig, js]
    return res


def _numbered(rgb, boxes, n_rows, row_inches=1.6, points=8):
    """The photo of the figure: each box with its number only (the rows carry the labels), the
    numbers about ``points`` high on a photo panel ``n_rows * row_inches`` high, whatever the
    photo's size (:func:`fer_keras.plotting.photo_explanations` draws the panel that high)."""
    from fer_keras.faces import drawing

    height = rgb.shape[0] * points / 72 / (max(n_rows, 1) * row_inches)  # pixels of the photo
    return drawing.draw_faces(rgb, boxes, [str(i) for i in range(len(boxes))],
                              text_height=max(6.0, height))
