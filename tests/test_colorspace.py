import cv2
import numpy as np
import pytest
from skimage import color, data

from colorize_cli import colorspace
from conftest import gradient_bgr

pytestmark = pytest.mark.light  # no TensorFlow: see conftest.py


def test_float_round_trip_is_exact():
    rgb = np.random.default_rng(0).random((64, 64, 3), dtype=np.float32)
    back = colorspace.lab_to_rgb(colorspace.rgb_to_lab(rgb))
    assert np.abs(back - rgb).max() < 1e-3


def test_uint8_round_trip_within_one_level():
    bgr = data.astronaut()[:, :, ::-1]
    lab = colorspace.bgr_to_lab(colorspace.to_float(bgr))
    back = colorspace.from_float(colorspace.lab_to_bgr(lab), np.uint8)
    assert np.abs(back.astype(int) - bgr).max() <= 1


def test_lab_matches_scikit_image():
    rgb = data.coffee()[::4, ::4]
    ours = colorspace.rgb_to_lab(colorspace.to_float(rgb))
    assert np.abs(ours - color.rgb2lab(rgb)).max() < 0.05


def test_channel_order_bgr_vs_rgb():
    red_rgb = np.zeros((2, 2, 3), np.float32)
    red_rgb[..., 0] = 1
    assert colorspace.rgb_to_lab(red_rgb)[0, 0, 1] > 50  # red has strongly positive a
    np.testing.assert_allclose(colorspace.bgr_to_lab(red_rgb[..., ::-1]), colorspace.rgb_to_lab(red_rgb), atol=1e-5)


def test_gray_lookup_table_matches_full_conversion():
    gray = data.camera()
    full = colorspace.bgr_to_lab(colorspace.to_float(cv2.merge([gray, gray, gray])))
    assert np.abs(colorspace.lightness(gray) - full[:, :, 0]).max() < 1e-3
    assert np.abs(full[:, :, 1:]).max() < 0.01  # gray has no colour


def test_normalization_inverts():
    norm = colorspace.Normalization()
    values = np.linspace(0, 100, 11, dtype=np.float32)
    np.testing.assert_allclose(norm.denormalize_l(norm.normalize_l(values)), values, atol=1e-5)
    assert norm.normalize_l(np.float32(0)) == -1 and norm.normalize_l(np.float32(100)) == 1
    np.testing.assert_allclose(norm.denormalize_ab(norm.normalize_ab(values - 50)), values - 50, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_merge_keeps_original_lightness(dtype):
    """Whatever ab the model predicts, the output's L is the input's L within one 8-bit level,
    wherever the colour is inside the sRGB gamut (clipping an impossible colour is all that may move L)."""
    image = gradient_bgr(60, 90, dtype)
    lightness = colorspace.lightness(image)
    ab = np.random.default_rng(1).uniform(-0.3, 0.3, (32, 32, 2)).astype(np.float32)
    colour = colorspace.merge_ab(lightness, ab)
    out = colorspace.finish_like(colour, image)
    assert out.shape == image.shape[:2] + (3,) and out.dtype == image.dtype
    in_gamut = ((colour > 0) & (colour < 1)).all(axis=2)
    assert in_gamut.mean() > 0.8
    levels = np.abs(np.round(colorspace.lightness(out) * 2.55) - np.round(lightness * 2.55))
    assert levels[in_gamut].max() <= 1


def test_zero_ab_reproduces_gray_input_exactly():
    gray = data.camera()
    out = colorspace.finish_like(colorspace.merge_ab(colorspace.lightness(gray), np.zeros((8, 8, 2), np.float32)), gray)
    assert out.shape == gray.shape + (3,)
    assert np.abs(out.astype(int) - gray[:, :, None]).max() <= 1


def test_alpha_is_kept():
    bgra = np.dstack([gradient_bgr(), np.arange(48 * 64, dtype=np.uint32).reshape(48, 64).astype(np.uint8)])
    out = colorspace.finish_like(colorspace.merge_ab(colorspace.lightness(bgra), np.zeros((8, 8, 2), np.float32)), bgra)
    assert out.shape == bgra.shape
    np.testing.assert_array_equal(out[:, :, 3], bgra[:, :, 3])


def test_model_input_is_normalised_and_sized():
    net = colorspace.model_input(colorspace.lightness(data.camera()), 64)
    assert net.shape == (64, 64, 1) and net.dtype == np.float32
    assert -1 <= net.min() and net.max() <= 1


def test_strip_rendering_matches_whole_image_rendering(monkeypatch):
    """Large images are merged strip by strip; the result must not depend on it."""
    image = gradient_bgr(300, 500)
    lightness = colorspace.lightness(image)
    ab = np.random.default_rng(2).uniform(-0.2, 0.2, (16, 16, 2)).astype(np.float32)
    whole = colorspace.render(image, lightness, ab)
    monkeypatch.setattr(colorspace, "STRIP_PIXELS", 20_000)  # forces 10-row strips
    strips = colorspace.render(image, lightness, ab)
    assert strips.shape == whole.shape and strips.dtype == whole.dtype
    assert np.abs(strips.astype(int) - whole).max() <= 1
