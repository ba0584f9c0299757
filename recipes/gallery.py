"""README gallery: before/after strips made by the default model on photos we may redistribute
(scikit-image's sample data). Regenerate with `make gallery`.

    docs/gallery_bw.jpg     true black-and-white photo (camera): input | colorized
    docs/gallery_color.jpg  colour photos (astronaut, coffee, chelsea): gray input | colorized | truth
    docs/gallery_models.jpg every bundled model on the same photos: input | one column per model (| truth)
"""

import argparse
from pathlib import Path

import cv2
import numpy as np
from skimage import data

from colorize_cli import colorspace
from colorize_cli.evaluate import label, scaled, stack_rows
from colorize_cli.pipeline import Colorizer

DOCS = Path(__file__).resolve().parents[1] / "docs"

def main(model: str = "lsgan"):
    colorizer = Colorizer(model)
    DOCS.mkdir(exist_ok=True)
    camera = data.camera()
    bw = np.hstack([label(scaled(cv2.cvtColor(camera, cv2.COLOR_GRAY2BGR)), "black-and-white input"),
                    label(scaled(colorizer.colorize_bgr(camera)), f"colorize -m {colorizer.name}")])
    cv2.imwrite(str(DOCS / "gallery_bw.jpg"), bw, [cv2.IMWRITE_JPEG_QUALITY, 88])
    rows = []
    for name in ("astronaut", "coffee", "chelsea"):
        truth = getattr(data, name)()[:, :, ::-1].copy()
        gray = colorspace.from_float(colorspace.bgr_to_gray_lab(truth), np.uint8)
        rows.append(np.hstack([label(scaled(gray), "input (gray)"), label(scaled(colorizer.colorize_bgr(truth)), "ours"),
                               label(scaled(truth), "truth")]))
    cv2.imwrite(str(DOCS / "gallery_color.jpg"), stack_rows(rows), [cv2.IMWRITE_JPEG_QUALITY, 88])
    print(f"wrote {DOCS / 'gallery_bw.jpg'} and {DOCS / 'gallery_color.jpg'}")
    models_strip()


def models_strip(height: int = 150):
    """Every bundled model side by side (the README's models table, in pictures): rows are the true
    black-and-white camera and three colour photos made gray; the last column is the truth."""
    from colorize_cli import registry

    names = [listing.name for listing in registry.listings() if listing.origin == "bundled"]
    names.sort(key=lambda n: n != registry.DEFAULT_MODEL)  # the default first
    colorizers = [Colorizer(name) for name in names]
    photos = [("camera", cv2.cvtColor(data.camera(), cv2.COLOR_GRAY2BGR), None)]
    for name in ("astronaut", "coffee", "chelsea"):
        truth = getattr(data, name)()[:, :, ::-1].copy()
        photos.append((name, colorspace.from_float(colorspace.bgr_to_gray_lab(truth), np.uint8), truth))

    width = height * 4 // 3

    def cell(image, text):  # centre-cropped to 4:3 so that every row lines up
        h, w = image.shape[:2]
        ch, cw = min(h, w * 3 // 4), min(w, h * 4 // 3)
        top, left = (h - ch) // 2, (w - cw) // 2
        crop = image[top:top + ch, left:left + cw]
        return label(cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA), text)

    rows = []
    for name, gray, truth in photos:
        cells = [cell(gray if gray.ndim == 3 else cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), "input")]
        cells += [cell(c.colorize_bgr(gray), c.name) for c in colorizers]
        cells.append(cell(truth, "truth") if truth is not None else np.full_like(cells[0], 255))
        rows.append(np.hstack(cells))
    path = DOCS / "gallery_models.jpg"
    cv2.imwrite(str(path), np.vstack(rows), [cv2.IMWRITE_JPEG_QUALITY, 85])
    print(f"wrote {path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default="lsgan", help="the model of the first two strips")
    main(parser.parse_args().model)
