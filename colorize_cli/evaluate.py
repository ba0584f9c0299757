"""Evaluation protocol: colour photos -> their L only -> colorized at full resolution -> compared
with the original in 8-bit sRGB. The gray baseline (ab = 0, i.e. the photo's own L shown in gray)
is always measured alongside, so a model's number can be read as a gain over doing nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from colorize_cli import colorspace, data, media, metrics


def evaluate_folder(colorizer, folder: Path, limit: int | None = None) -> dict:
    """Mean PSNR, gray-baseline PSNR and colourfulness (output, truth, ratio) over a folder."""
    paths = data.list_images(folder)[:limit]
    rows = []

    def load(path):
        truth = media.fit_to_format(media.read_image(path), ".jpg")  # 8-bit BGR, alpha dropped
        if truth.ndim == 2:
            raise ValueError(f"{path}: grayscale photo has no colour to compare with")
        return truth

    def score(path, output):
        truth = load(path)
        gray = colorspace.finish_like(colorspace.merge_ab(colorspace.lightness(truth), np.zeros((1, 1, 2), np.float32)), truth)
        rows.append({"file": path.name, "psnr": metrics.psnr(output, truth), "gray_psnr": metrics.psnr(gray, truth),
                     "colorfulness": metrics.colorfulness(output), "truth_colorfulness": metrics.colorfulness(truth)})

    for path, error in colorizer.run(paths, load=load, save=score):
        if error is not None:
            raise error
    mean = {k: float(np.mean([r[k] for r in rows])) for k in ("psnr", "gray_psnr", "colorfulness", "truth_colorfulness")}
    mean["colorfulness_ratio"] = mean["colorfulness"] / mean["truth_colorfulness"]
    mean["images"] = len(rows)
    return mean
