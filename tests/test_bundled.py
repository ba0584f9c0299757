"""The bundled default model: present, intact, and it really adds colour."""

import numpy as np
import pytest
from skimage import data

from colorize_cli import Colorizer, colorspace, registry

pytestmark = pytest.mark.light  # no TensorFlow: see conftest.py


def test_default_model_is_bundled_with_a_matching_checksum():
    card = registry.get_card(registry.DEFAULT_MODEL)
    assert card.has_weights and card.weights_path.stat().st_size < 25 * 2**20
    assert registry.file_sha256(card.weights_path) == card.sha256
    assert {"psnr", "gray_psnr", "colorfulness_ratio"} <= set(card.metrics["kodak24"])
    assert card.training["steps"] > 0 and card.training["data"]


def test_default_model_colorizes_a_gray_photo_visibly():
    gray = data.camera()
    rgb = Colorizer().colorize(gray)
    assert rgb.shape == gray.shape + (3,) and rgb.dtype == np.uint8
    lab = colorspace.rgb_to_lab(rgb)
    assert np.hypot(lab[..., 1], lab[..., 2]).mean() > 3  # mean chroma: 0 for gray
    assert np.abs(lab[..., 0] - colorspace.lightness(gray)).mean() < 0.5  # detail and tones kept


def test_python_api_accepts_rgb_and_rgba():
    rgb = data.astronaut()
    colorizer = Colorizer()
    assert colorizer.colorize(rgb).shape == rgb.shape
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 7, np.uint8)])
    out = colorizer.colorize(rgba)
    assert out.shape == rgba.shape and (out[..., 3] == 7).all()


def test_every_bundled_model_is_intact_and_small():
    bundled = [card for card in registry.list_models().values() if card.path and card.path.parent in registry.BUNDLED_DIRS]
    # a recipe is never named like a model: `-m lsgan` is the bundled model, `-r semantic-lsgan` its recipe
    assert {c.name for c in bundled} >= set(registry.OLD_RECIPE_NAMES) and not {c.name for c in bundled} & set(registry.BUILTIN)
    assert sum(c.weights_path.stat().st_size for c in bundled) < 120 * 2**20
    for card in bundled:
        assert card.weights_path.stat().st_size < 25 * 2**20, card.name
        assert registry.file_sha256(card.weights_path) == card.sha256, card.name
        assert {"kodak24", "bsds500_test"} <= set(card.metrics), card.name
        assert card.training["wall_time_s"] > 0 and card.training["hardware"] and card.training["terms"], card.name
