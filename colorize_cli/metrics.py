"""Image-quality metrics on 8-bit sRGB images (NumPy only, no TensorFlow)."""

from __future__ import annotations

import math

import numpy as np

PSNR_CAP = 100.0  # dB reported for identical images (the true value is infinite)


def psnr(output: np.ndarray, truth: np.ndarray, peak: float = 255.0) -> float:
    """Peak signal-to-noise ratio in dB over all pixels and channels; PSNR_CAP for identical images."""
    mse = float(np.mean((output.astype(np.float64) - truth.astype(np.float64)) ** 2))
    return PSNR_CAP if mse == 0 else min(PSNR_CAP, 10 * math.log10(peak**2 / mse))


def colorfulness(bgr: np.ndarray) -> float:
    """Hasler & Suesstrunk (2003) colourfulness of an 8-bit BGR image: 0 for gray, ~40 for typical photos."""
    b, g, r = (bgr[:, :, i].astype(np.float64) for i in range(3))
    rg, yb = r - g, 0.5 * (r + g) - b
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))
