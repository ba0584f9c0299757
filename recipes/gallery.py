"""README gallery: before/after strips made by the default model on photos we may redistribute
(scikit-image's sample data). Regenerate with `make gallery`.

    docs/gallery_bw.jpg     true black-and-white photo (camera): input | colorized
    docs/gallery_color.jpg  colour photos (astronaut, coffee, chelsea): gray input | colorized | truth
"""

import sys
from pathlib import Path

import cv2
import numpy as np
from skimage import data

from colorize_cli import colorspace
from colorize_cli.pipeline import Colorizer

DOCS = Path(__file__).resolve().parents[1] / "docs"
HEIGHT = 240


def scaled(bgr: np.ndarray) -> np.ndarray:
    return cv2.resize(bgr, (round(bgr.shape[1] * HEIGHT / bgr.shape[0]), HEIGHT), interpolation=cv2.INTER_AREA)


def label(image: np.ndarray, text: str) -> np.ndarray:
    out = image.copy()
    cv2.putText(out, text, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(out, text, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)
    return out


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
    width = max(r.shape[1] for r in rows)
    rows = [cv2.copyMakeBorder(r, 0, 4, 0, width - r.shape[1], cv2.BORDER_CONSTANT, value=(255, 255, 255)) for r in rows]
    cv2.imwrite(str(DOCS / "gallery_color.jpg"), np.vstack(rows), [cv2.IMWRITE_JPEG_QUALITY, 88])
    print(f"wrote {DOCS / 'gallery_bw.jpg'} and {DOCS / 'gallery_color.jpg'}")


if __name__ == "__main__":
    main(*sys.argv[1:])
