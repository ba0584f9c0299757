"""Property-based tests: whatever bytes or arrays come in, the decode -> colorize path either works or
raises its documented error, and a failed input never leaves an output file."""

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from skimage import data

from colorize_cli import media
from colorize_cli.errors import ColorizeError
from colorize_cli.pipeline import Colorizer

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def colorizer(tiny_models_dir):
    import os

    os.environ["COLORIZE_MODELS_DIR"] = str(tiny_models_dir)
    return Colorizer("tiny", batch_size=2)


def valid_files():
    small = cv2.resize(data.astronaut()[:, :, ::-1], (48, 40))
    return [cv2.imencode(ext, small)[1].tobytes() for ext in (".png", ".jpg", ".bmp", ".tiff", ".webp")]


@FUZZ
@given(payload=st.binary(max_size=4096), suffix=st.sampled_from([".jpg", ".png", ".tif", ".webp", ".bmp"]))
def test_random_bytes_decode_or_fail_cleanly(tmp_path_factory, payload, suffix):
    path = tmp_path_factory.mktemp("fuzz") / f"x{suffix}"
    path.write_bytes(payload)
    try:
        image = media.read_image(path)
    except media.ImageReadError as exc:
        assert str(exc).startswith(str(path))
        return
    assert image.dtype in (np.uint8, np.uint16) and image.size > 0


@FUZZ
@given(which=st.integers(0, 4), cut=st.integers(0, 10_000), flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8))
def test_corrupted_images_colorize_or_fail_cleanly(tmp_path_factory, colorizer, which, cut, flips):
    payload = bytearray(valid_files()[which])
    for position, value in flips:
        payload[position % len(payload)] = value
    folder = tmp_path_factory.mktemp("corrupt")
    source, target = folder / "in.img", folder / "out.png"
    source.write_bytes(bytes(payload[: max(1, len(payload) - cut)]))
    results = list(colorizer.run([source], load=media.read_image, save=lambda _, image: media.write_image(target, image)))
    (_, _, error), = results
    if error is None:
        assert cv2.imread(str(target)).shape[:2] == media.read_image(source).shape[:2]
    else:
        assert isinstance(error, ColorizeError)
        assert not target.exists() and not list(folder.glob(".*part"))


@FUZZ
@given(height=st.integers(1, 70), width=st.integers(1, 70), channels=st.sampled_from([0, 1, 3, 4]),
       dtype=st.sampled_from([np.uint8, np.uint16, np.float32]), seed=st.integers(0, 2**16))
def test_any_shape_and_dtype_keeps_its_layout(colorizer, height, width, channels, dtype, seed):
    rng = np.random.default_rng(seed)
    shape = (height, width) if channels == 0 else (height, width, channels)
    image = rng.random(shape).astype(np.float32) if dtype == np.float32 else rng.integers(0, np.iinfo(dtype).max, shape, dtype=dtype)
    out = colorizer.colorize(image)
    expected_channels = 4 if channels == 4 else 3
    assert out.shape == (height, width, expected_channels)
    assert out.dtype == dtype
    if channels == 4:
        tolerance = 1 / 65535 if dtype == np.float32 else 0  # float alpha makes a 16-bit round trip
        np.testing.assert_allclose(out[..., 3], image[..., 3], atol=tolerance)


@FUZZ
@given(shape=st.sampled_from([(0, 5), (5, 0), (3, 3, 2), (3, 3, 5), (2, 2, 2, 2)]))
def test_impossible_shapes_raise_value_error(colorizer, shape):
    with pytest.raises(ValueError):
        colorizer.colorize(np.zeros(shape, np.uint8))


# -- the command line: any combination of options ends in one of the documented exit codes -----------------

# left out: what waits on hardware or the network (--camera, --show, a Ray cluster), whose refusals have their own tests
NOT_FUZZED = {"--camera", "--show", "--engine", "--address", "--workers", "--help", "--reconnect"}
VALUES = {"int": ["0", "1", "3", "-2", "x", "100000"], "float": ["0", "0.5", "1.5", "-1", "nan", "inf", "x"],
          "text": ["", "tiny", "lsgam", "[bold]x[/bold]", "q.xyz", "-", "png", "jpg", "bmp", "gif", "3x2", "120,80,#b22222",
                   "missing.keras", "out", "out/q.png"]}


def colorize_options():
    import typer

    from colorize_cli.cli import app

    command = typer.main.get_command(app).commands["colorize"]
    return [p for p in command.params if p.param_type_name == "option" and not NOT_FUZZED & set(p.opts)]


def option_values(option):
    described = option.type_descriptor
    if option.is_flag:
        return [None]
    if described.is_choice:
        return [*map(str, described.choices), "foo"]
    kind = option.bare_type() if hasattr(option, "bare_type") else "str"
    return VALUES["int" if "int" in kind else "float" if "float" in kind else "text"]


@pytest.mark.slow
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_any_options_end_in_a_documented_exit_code(tmp_path_factory, data):
    """Whatever options a user combines, `colorize` answers with exit 0, 1 or 2 and never a traceback."""
    import contextlib

    from conftest import gradient_bgr, invoke

    folder = tmp_path_factory.mktemp("cli")
    (folder / "in").mkdir()
    cv2.imwrite(str(folder / "in" / "a.jpg"), cv2.cvtColor(gradient_bgr(), cv2.COLOR_BGR2GRAY))
    cv2.imwrite(str(folder / "p.png"), gradient_bgr(20, 30))
    paths = data.draw(st.lists(st.sampled_from(["p.png", "in", "in/a.jpg", "nope.jpg", "-"]), max_size=2))
    args = list(paths)
    for option in data.draw(st.lists(st.sampled_from(colorize_options()), max_size=4, unique_by=lambda o: o.name)):
        value = data.draw(st.sampled_from(option_values(option)))
        args += [option.opts[0]] + ([] if value is None else [value])
    if "-m" not in args and "--model" not in args:
        args += ["-m", "tiny"]
    with contextlib.chdir(folder):
        result = invoke(*args, input=b"", catch_exceptions=True)
    assert result.exit_code in (0, 1, 2), (args, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), (args, repr(result.exception))
    assert "Traceback" not in result.output, (args, result.output)
