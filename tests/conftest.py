import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2
import numpy as np
import pytest


def invoke(*args, input=None, catch_exceptions=False):
    """Run the CLI in-process (typer's CliRunner) with `args` turned into strings: the one helper tests use.
    stdout and stderr are kept apart (result.stdout, result.stderr; result.output has both)."""
    from typer.testing import CliRunner

    from colorize_cli.cli import app

    return CliRunner().invoke(app, [str(a) for a in args], input=input, catch_exceptions=catch_exceptions)


@pytest.fixture
def photo(tmp_path):
    """x.jpg: a 64x48 black-and-white photo."""
    path = tmp_path / "x.jpg"
    cv2.imwrite(str(path), cv2.cvtColor(gradient_bgr(), cv2.COLOR_BGR2GRAY))
    return path


@pytest.fixture(scope="session")
def tiny_models_dir(tmp_path_factory):
    """A models directory holding 'tiny': an untrained 32-px U-Net of width 4 with its card."""
    from colorize_cli import networks, registry, train

    directory = tmp_path_factory.mktemp("models")
    card = registry.ModelCard("tiny", "test model", arch="unet", input_size=32, width=4, objective="lsgan")
    train.export_generator(networks.unet_generator(32, 4), card, directory)
    return directory


@pytest.fixture(autouse=True)
def models_env(tiny_models_dir, monkeypatch):
    monkeypatch.setenv("COLORIZE_MODELS_DIR", str(tiny_models_dir))


def gradient_bgr(height=48, width=64, dtype=np.uint8):
    """A colourful test image: hue sweeps across, brightness down."""
    x = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    y = np.linspace(0.2, 1, height, dtype=np.float32)[:, None]
    bgr = np.stack([x * y, (1 - x) * y, np.full((height, width), 0.5, np.float32) * y], axis=2)
    scale = 255 if dtype == np.uint8 else 65535
    return (bgr * scale + 0.5).astype(dtype)


@pytest.fixture
def photo_folder(tmp_path):
    """archive/ with two good JPEGs (one in a subfolder) and a PNG."""
    root = tmp_path / "archive"
    (root / "sub").mkdir(parents=True)
    cv2.imwrite(str(root / "a.jpg"), gradient_bgr())
    cv2.imwrite(str(root / "sub" / "b.jpg"), cv2.cvtColor(gradient_bgr(40, 30), cv2.COLOR_BGR2GRAY))
    cv2.imwrite(str(root / "c.png"), gradient_bgr(20, 50))
    return root
