import numpy as np
import pytest
from skimage import data

from colorize_cli import metrics

pytestmark = pytest.mark.light  # no TensorFlow: see conftest.py


def test_psnr_identical_is_capped():
    image = data.astronaut()
    assert metrics.psnr(image, image) == metrics.PSNR_CAP


def test_psnr_known_value():
    a = np.zeros((10, 10, 3), np.uint8)
    b = np.full((10, 10, 3), 255 // 10, np.uint8)  # constant error 25 -> 20*log10(255/25)
    assert abs(metrics.psnr(a, b) - 20 * np.log10(255 / 25)) < 1e-9


def test_colorfulness_of_gray_is_zero_and_of_a_photo_is_positive():
    gray = np.repeat(data.camera()[:, :, None], 3, axis=2)
    assert metrics.colorfulness(gray) == 0
    assert metrics.colorfulness(data.astronaut()[:, :, ::-1]) > 20


def test_colorfulness_of_pure_red_by_hand():
    red = np.zeros((4, 4, 3), np.uint8)
    red[:, :, 2] = 255  # BGR
    # rg = 255, yb = 127.5 everywhere: no spread, mean term 0.3 * hypot(255, 127.5)
    assert abs(metrics.colorfulness(red) - 0.3 * np.hypot(255, 127.5)) < 1e-9
