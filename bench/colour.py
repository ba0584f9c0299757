"""The full-resolution colour stage alone: float path against the 8-bit path, CPU time and accuracy.

    .venv/bin/python bench/colour.py [--sizes 1024x768 640x360 1280x720 1920x1080] [--repeats 50]
                                     [--photos ../shared/data/eval/kodak24] [--threads 2]

Timing: CPU ms per image of `colorspace.render` (ab up-sampling + LAB->BGR + 8-bit, what bench/photos.py
and bench/video.py call the colour stage) on a gray image of each size with the default model's ab,
beside the float path it replaced (`finish_like(merge_ab(..., scratch=True))`), `--repeats` calls each
(measure.stage_cpu_ms: steady state, first call not counted). Accuracy: on each photo of `--photos`
(scikit-image's sample photos when the folder is missing), reduced to gray and also as it is, the 8-bit
output against the float path's: mean |dL|, mean |dab| (CIE LAB of both outputs), PSNR, largest
difference in levels.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from colorize_cli import colorspace, media, registry  # noqa: E402
from colorize_cli.measure import stage_cpu_ms  # noqa: E402
from colorize_cli.pipeline import Colorizer  # noqa: E402

KODAK = ROOT.parent / "shared" / "data" / "eval" / "kodak24"


def photos(folder: Path) -> tuple[str, list[np.ndarray]]:
    if folder.is_dir():
        paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
        return folder.name, [media.read_image(p) for p in paths]
    from skimage import data

    return "scikit-image samples", [np.ascontiguousarray(f()[:, :, ::-1]) for f in (data.astronaut, data.coffee, data.chelsea, data.rocket)]


def float_path(image, lightness, ab):
    return colorspace.finish_like(colorspace.merge_ab(lightness, ab, scratch=True), image)


def psnr(a, b) -> float:
    mse = np.mean((a.astype(np.float64) - b) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["1024x768", "640x360", "1280x720", "1920x1080"])
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--photos", type=Path, default=KODAK)
    parser.add_argument("--model", default=registry.DEFAULT_MODEL)
    parser.add_argument("--threads", type=int, default=None, help="cv2.setNumThreads (default: OpenCV's own)")
    args = parser.parse_args(argv)
    if args.threads is not None:
        cv2.setNumThreads(args.threads)
    colorizer = Colorizer(args.model, workers=1)
    name, images = photos(args.photos)
    load = os.getloadavg()[0]
    print(f"# colour stage: model {colorizer.name} @{colorizer.size}, {os.cpu_count()} CPUs, cv2 threads "
          f"{cv2.getNumThreads()}, load average {load:.1f} at the start\n")
    print("| size | float path, CPU ms | 8-bit path, CPU ms | ratio |")
    print("|---|---|---|---|")
    gray = cv2.cvtColor(images[0], cv2.COLOR_BGR2GRAY) if images[0].ndim == 3 else images[0]
    for size in args.sizes:
        width, height = (int(v) for v in size.split("x"))
        frame = cv2.resize(gray, (width, height), interpolation=cv2.INTER_AREA)
        lightness, net_input = colorizer.prepare(frame)
        ab = colorizer.predict_ab(net_input[None])[0]
        before, _ = stage_cpu_ms(lambda _: float_path(frame, lightness, ab), range(args.repeats))
        after, _ = stage_cpu_ms(lambda _: colorspace.render(frame, lightness, ab, colorizer.norm), range(args.repeats))
        print(f"| {size} | {before:.2f} | {after:.2f} | {before / after:.1f}x |", flush=True)
    print(f"\n| {name} ({len(images)} photos) | mean abs dL | mean abs dab | PSNR dB (min / mean) | largest diff, levels |")
    print("|---|---|---|---|---|")
    for label, gray_input in (("reduced to gray", True), ("as they are", False)):
        rows = []
        for image in images:
            if gray_input and image.ndim == 3:
                image = cv2.cvtColor(image[:, :, :3], cv2.COLOR_BGR2GRAY)
            lightness, net_input = colorizer.prepare(image)
            ab = colorizer.predict_ab(net_input[None])[0]
            ref, new = float_path(image, lightness, ab), colorspace.render(image, lightness, ab, colorizer.norm)
            ref_lab, new_lab = colorspace.bgr_to_lab(ref[:, :, :3]), colorspace.bgr_to_lab(new[:, :, :3])
            rows.append((np.abs(ref_lab[..., 0] - new_lab[..., 0]).mean(), np.abs(ref_lab[..., 1:] - new_lab[..., 1:]).mean(),
                         psnr(ref, new), np.abs(ref.astype(int) - new).max()))
        r = np.array(rows)
        print(f"| {label} | {r[:, 0].mean():.3f} | {r[:, 1].mean():.3f} | {r[:, 2].min():.1f} / {r[:, 2].mean():.1f} | {int(r[:, 3].max())} |")


if __name__ == "__main__":
    main()
