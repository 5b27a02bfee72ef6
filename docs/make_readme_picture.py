"""Draw docs/readme.png, the README's picture: seven real FER2013 PublicTest faces (the first
of each class folder) pasted on a photo, found and labelled by the shipped model, and each
face's saliency maps for four methods of the registry (``fer_keras.faces.photo_explain``, what
``fer-keras explain saliency --image`` runs).

    python docs/make_readme_picture.py [--data ../shared/data/fer2013]
"""
import argparse
import tempfile
from pathlib import Path

from PIL import Image

from fer_keras.faces import photo_explain
from fer_keras.faces import scenes as face_scenes
from fer_keras.serve.service import stored_verdicts

HERE = Path(__file__).resolve().parent
METHODS = ("gradcam", "smoothgrad", "ig-blur", "occlusion")

if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=str(HERE.parent.parent / "shared" / "data" / "fer2013"),
                   help="FER2013 image folders (default: ../shared/data/fer2013 beside the "
                        "repository)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        photo = Path(tmp) / "photo.jpg"
        face_scenes.readme_photo(args.data, photo)  # the README's photo.jpg
        res = photo_explain.explain_photo(
            photo, settings=photo_explain.Settings(methods=METHODS, max_faces=4), out=tmp,
            verdicts=stored_verdicts(None, METHODS))
        Image.open(Path(tmp) / "photo_saliency.png").convert("RGB").quantize(256).save(
            HERE / "readme.png", optimize=True)  # 256 colours: a third of the bytes
    for i, r in enumerate(res["faces"]):
        print(f"face {i}: {r['label']} {r['scores'][r['label']]:.2f} at {r['box']}")
    print(f"written: {HERE / 'readme.png'}")
