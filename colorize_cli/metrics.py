"""Image-quality metrics on 8-bit sRGB images (NumPy and OpenCV only: no TensorFlow, no scikit-image)."""

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


def ssim(output: np.ndarray, truth: np.ndarray, peak: float = 255.0, window: int = 7) -> float:
    """Mean structural similarity (Wang et al. 2004) of two images (H, W[, C]), as scikit-image's
    `structural_similarity(..., channel_axis=2, data_range=peak)` computes it by default: 7x7 uniform
    windows, sample covariances, K1 = 0.01, K2 = 0.03, the mean over pixels whose window lies inside the
    image, then over channels. Written here so the base install needs no scikit-image (tests compare)."""
    import cv2

    if min(output.shape[:2]) < window:
        raise ValueError(f"SSIM needs images of at least {window}x{window} pixels, got {output.shape[1]}x{output.shape[0]}")
    x, y = output.astype(np.float64), truth.astype(np.float64)
    mean = lambda image: cv2.blur(image, (window, window), borderType=cv2.BORDER_REFLECT)  # noqa: E731
    ux, uy = mean(x), mean(y)
    cov_norm = window**2 / (window**2 - 1)
    vx, vy = cov_norm * (mean(x * x) - ux * ux), cov_norm * (mean(y * y) - uy * uy)
    vxy = cov_norm * (mean(x * y) - ux * uy)
    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2
    s = (2 * ux * uy + c1) * (2 * vxy + c2) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    pad = (window - 1) // 2
    inside = s[pad:-pad, pad:-pad].reshape(-1, *s.shape[2:])
    return float(inside.mean(axis=0).mean())  # per channel, then over channels


def ciede2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference per pixel of two CIE Lab arrays (..., 3), kL = kC = kH = 1 (Sharma,
    Wu & Dalal 2005, the formulation scikit-image's `deltaE_ciede2000` follows; tests compare)."""
    lab1, lab2 = np.asarray(lab1, np.float64), np.asarray(lab2, np.float64)
    (l1, a1, b1), (l2, a2, b2) = np.moveaxis(lab1, -1, 0), np.moveaxis(lab2, -1, 0)
    chroma7 = (0.5 * (np.hypot(a1, b1) + np.hypot(a2, b2))) ** 7
    a_scale = 1 + 0.5 * (1 - np.sqrt(chroma7 / (chroma7 + 25.0**7)))  # a* stretched for near-neutral colours
    c1, c2 = np.hypot(a1 * a_scale, b1), np.hypot(a2 * a_scale, b2)
    h1, h2 = (np.arctan2(b, a * a_scale) % (2 * np.pi) for a, b in ((a1, b1), (a2, b2)))

    l_mean = 0.5 * (l1 + l2)
    l_term = (l2 - l1) / (1 + 0.015 * (l_mean - 50) ** 2 / np.sqrt(20 + (l_mean - 50) ** 2))
    c_mean = 0.5 * (c1 + c2)
    c_term = (c2 - c1) / (1 + 0.045 * c_mean)

    h_diff, h_sum, c_product = h2 - h1, h1 + h2, c1 * c2
    dh = np.where(h_diff > np.pi, h_diff - 2 * np.pi, np.where(h_diff < -np.pi, h_diff + 2 * np.pi, h_diff))
    dh = np.where(c_product == 0, 0.0, dh)
    wraps = (c_product != 0) & (np.abs(h_diff) > np.pi)
    h_mean = np.where(wraps & (h_sum < 2 * np.pi), h_sum + 2 * np.pi, np.where(wraps, h_sum - 2 * np.pi, h_sum))
    h_mean = 0.5 * np.where(c_product == 0, 2 * h_mean, h_mean)  # one colour neutral: the other's hue
    t = (1 - 0.17 * np.cos(h_mean - np.radians(30)) + 0.24 * np.cos(2 * h_mean)
         + 0.32 * np.cos(3 * h_mean + np.radians(6)) - 0.20 * np.cos(4 * h_mean - np.radians(63)))
    h_term = 2 * np.sqrt(c_product) * np.sin(dh / 2) / (1 + 0.015 * c_mean * t)

    c_mean7 = c_mean**7
    rotation = np.radians(30) * np.exp(-(((np.degrees(h_mean) - 275) / 25) ** 2))
    r_term = -np.sin(2 * rotation) * 2 * np.sqrt(c_mean7 / (c_mean7 + 25.0**7)) * c_term * h_term
    return np.sqrt(np.maximum(l_term**2 + c_term**2 + h_term**2 + r_term, 0))
