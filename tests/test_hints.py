"""User-guided colour (colorize_cli.hints): hints reproduced, spread along regions, stopped by edges;
no hints change nothing; bad hints are one-line errors naming what is wrong."""

import dataclasses

import av
import cv2
import numpy as np
import pytest

from colorize_cli import colorspace, hints
from colorize_cli.pipeline import Colorizer
from conftest import invoke, one_line_error, truth_photo

def two_regions(height=90, width=160, edge=80):
    """Gray image: a dark left region and a bright right one (a strong L edge at column `edge`), with mild noise."""
    gray = np.full((height, width), 70, np.float32)
    gray[:, edge:] = 190
    gray += np.random.default_rng(0).normal(0, 1.5, gray.shape)
    return np.clip(gray + 0.5, 0, 255).astype(np.uint8)


def chroma(bgr, y, x):
    lab = colorspace.bgr_to_lab(bgr)
    return float(np.hypot(lab[y, x, 1], lab[y, x, 2]))


# -- propagation ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("prior", ["model", "gray"])
def test_hint_colours_are_reproduced_at_the_hint_pixels(prior):
    truth = truth_photo()
    truth_lab = colorspace.bgr_to_lab(truth)
    gray = colorspace.from_float(colorspace.bgr_to_gray_lab(truth), np.uint8)
    points = [(20, 30), (100, 70), (64, 10), (5, 90)]
    ys = np.array([y for _, y in points], np.int32)
    xs = np.array([x for x, _ in points], np.int32)
    given = hints.Hints(gray.shape[:2], ys, xs, truth_lab[ys, xs, 1:])
    ab_norm = np.random.default_rng(1).uniform(-0.4, 0.4, (16, 16, 2)).astype(np.float32) if prior == "model" else None
    out = hints.render(gray, colorspace.lightness(gray), ab_norm, given)
    delta = np.hypot(*(colorspace.bgr_to_lab(out)[ys, xs, c] - truth_lab[ys, xs, c] for c in (1, 2)))
    assert delta.max() < 2.0  # 8-bit rounding only


def test_a_hint_spreads_within_its_region_and_stops_at_a_strong_edge():
    gray = two_regions()
    lightness = colorspace.lightness(gray)
    red = hints.from_points([(20, 45, "#c03030")], gray.shape, size=5)
    out = hints.render(gray, lightness, np.zeros((8, 8, 2), np.float32), red)  # a model that predicts gray
    hint_chroma = chroma(out, 45, 20)
    assert hint_chroma > 30
    for y, x in ((5, 75), (85, 2), (85, 75)):  # far corners of the hinted region
        assert chroma(out, y, x) > 0.5 * hint_chroma
    for y, x in ((45, 83), (5, 150), (85, 100)):  # across the edge, even right beside it
        assert chroma(out, y, x) < 0.05 * hint_chroma


def test_a_hint_on_one_region_leaves_the_other_at_the_prior():
    gray = two_regions()
    lightness = colorspace.lightness(gray)
    prior = np.empty((8, 8, 2), np.float32)
    prior[..., 0], prior[..., 1] = 0.15, -0.10  # a model that predicts a mild violet everywhere
    automatic = colorspace.bgr_to_lab(colorspace.render(gray, lightness, prior))
    red = hints.from_points([(20, 45, "#c03030")], gray.shape, size=5)
    out = colorspace.bgr_to_lab(hints.render(gray, lightness, prior, red))
    moved = np.hypot(*(out[..., 1:] - automatic[..., 1:]).transpose(2, 0, 1))
    assert moved[:, 82:].max() < 1.0  # the other region: the prior's colour, to 8-bit rounding
    assert moved[:, :78].min() > 20  # the hinted region: all of it recoloured


def test_two_hints_colour_two_regions_with_a_sharp_boundary_pure_levin():
    gray = two_regions()
    given = hints.from_points([(20, 45, "#c03030"), (130, 45, "#3050c0")], gray.shape)
    out = hints.render(gray, colorspace.lightness(gray), None, given, reach=np.inf)
    lab = colorspace.bgr_to_lab(out)
    assert (lab[:, :78, 1] > 20).all()  # red side: a > 0 everywhere
    assert (lab[:, 82:, 2] < -20).all()  # blue side: b < 0 everywhere


def test_no_hints_is_exactly_the_automatic_result():
    colorizer = Colorizer("tiny")
    rgb = truth_photo()[:, :, ::-1]
    automatic = colorizer.colorize(rgb)
    assert np.array_equal(colorizer.colorize(rgb, hints=[]), automatic)
    assert np.array_equal(colorizer.colorize(rgb, hints=hints.Hints.none(rgb.shape[:2])), automatic)
    lightness = colorspace.lightness(rgb)
    ab = np.random.default_rng(0).uniform(-0.5, 0.5, (32, 32, 2)).astype(np.float32)
    assert np.array_equal(hints.render(rgb, lightness, ab, hints.Hints.none(rgb.shape[:2])), colorspace.render(rgb, lightness, ab))


def test_python_api_points_and_rgba_marks():
    colorizer = Colorizer("tiny")
    truth = truth_photo()[:, :, ::-1]  # RGB
    gray = cv2.cvtColor(truth, cv2.COLOR_RGB2GRAY)
    colour = tuple(int(v) for v in truth[40, 60])
    out = colorizer.colorize(gray, hints=[(60, 40, colour)], hint_size=3)
    expected = colorspace.rgb_to_lab(truth[39:42, 59:62])[:, :, 1:].mean((0, 1))
    got = colorspace.rgb_to_lab(out[39:42, 59:62])[:, :, 1:]
    assert np.abs(got - colorspace.rgb_to_lab(np.array([[colour]], np.uint8))[0, 0, 1:]).max() < 12  # its chroma at its L
    assert np.hypot(*(got[1, 1] - expected)) < 12
    marks = np.zeros((48, 64, 4), np.uint8)  # half size, same aspect: scaled to the photo
    marks[10:14, 20:24] = (200, 40, 40, 255)
    painted = colorizer.colorize(gray, hints=marks)
    assert colorspace.rgb_to_lab(painted[22:26, 42:46])[:, :, 1].min() > 25  # reddish where painted


def test_a_painted_rgb_copy_gives_hints_where_colour_was_painted():
    gray = cv2.cvtColor(truth_photo(), cv2.COLOR_BGR2GRAY)
    copy = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    copy[30:40, 50:60] = (40, 160, 40)  # a green stroke (BGR)
    found = hints.from_marks(copy, gray)
    assert len(found) == 100 and found.ys.min() == 30 and found.xs.max() == 59
    assert (found.ab[:, 0] < -30).all()  # green: a < 0


# -- bad hints: one line each, naming the value or the file ----------------------------------------------

@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "photo.png"
    cv2.imwrite(str(path), cv2.cvtColor(truth_photo(), cv2.COLOR_BGR2GRAY))
    return path


@pytest.mark.parametrize("value", ["120,80", "12x,80,red", "120,80,redd", "-1,5,red", "1,2,#12345", "5000,80,red"])
def test_hint_parse_errors_name_the_bad_value(photo, value):
    one_line_error(invoke(photo, "-m", "tiny", "--hint", value), f"'{value}'")
    assert not photo.with_name("photo_color.png").exists()


def test_bad_hint_size_and_reach_are_usage_errors(photo):
    one_line_error(invoke(photo, "-m", "tiny", "--hint", "1,2,red", "--hint-reach", "0"), "--hint-reach 0")
    assert invoke(photo, "-m", "tiny", "--hint", "1,2,red", "--hint-size", "0").exit_code == 2


def test_cli_defaults_are_the_modules():
    import inspect

    from colorize_cli import cli

    defaults = {name: p.default.default for name, p in inspect.signature(cli.colorize_command).parameters.items()}
    assert defaults["hint_size"] == hints.DEFAULT_SIZE and defaults["hint_reach"] == hints.REACH


def test_a_shorter_reach_keeps_a_hint_local_and_a_long_one_shifts_the_whole_photo():
    gray = two_regions(edge=160)  # one uniform region
    red = hints.from_points([(10, 45, "#c03030")], gray.shape)
    lightness, prior = colorspace.lightness(gray), np.zeros((8, 8, 2), np.float32)
    far = {reach: chroma(hints.render(gray, lightness, prior, dataclasses.replace(red, reach=reach)), 45, 150)
           for reach in (0.05, hints.REACH, 4.0)}
    near = {reach: chroma(hints.render(gray, lightness, prior, dataclasses.replace(red, reach=reach)), 45, 40)
            for reach in (0.05, hints.REACH)}
    assert near[0.05] < 0.2 * near[hints.REACH]
    assert far[hints.REACH] < 0.2 * far[4.0] and far[4.0] > 30


def test_a_hint_stays_in_its_region_of_a_photo():
    """One hint on the astronaut's suit: the colour moves on a minority of the photo, and at the hint it is exact."""
    truth = truth_photo((192, 256))
    gray = colorspace.from_float(colorspace.bgr_to_gray_lab(truth), np.uint8)
    lightness, prior = colorspace.lightness(gray), np.zeros((8, 8, 2), np.float32)
    blue = hints.from_points([(45, 124, "#3050c0")], gray.shape[:2])
    moved = {}
    for reach in (hints.REACH, np.inf):
        out = colorspace.bgr_to_lab(hints.render(gray, lightness, prior, dataclasses.replace(blue, reach=reach)))
        moved[reach] = float((np.hypot(out[..., 1], out[..., 2]) > 10).mean())
    assert 0.02 < moved[hints.REACH] < 0.25 and moved[np.inf] > 3 * moved[hints.REACH]  # pure Levin: everywhere


def test_a_close_colour_name_is_suggested(photo):
    one_line_error(invoke(photo, "-m", "tiny", "--hint", "1,2,firebrik"), "'firebrick'")


def test_bad_hints_files_are_one_line_errors(photo, tmp_path):
    wrong = tmp_path / "wrong_aspect.png"
    cv2.imwrite(str(wrong), np.zeros((100, 300, 4), np.uint8))
    unreadable = tmp_path / "unreadable.png"
    unreadable.write_bytes(b"not an image")
    plain = tmp_path / "plain_copy.png"  # no alpha, nothing painted
    cv2.imwrite(str(plain), cv2.cvtColor(cv2.imread(str(photo), cv2.IMREAD_GRAYSCALE), cv2.COLOR_GRAY2BGR))
    transparent = tmp_path / "transparent.png"
    cv2.imwrite(str(transparent), np.zeros((96, 128, 4), np.uint8))
    for bad, needle in ((wrong, "aspect ratio"), (unreadable, "not a decodable image"), (plain, "no hints found"),
                        (transparent, "transparent"), (tmp_path / "missing.png", "cannot read")):
        one_line_error(invoke(photo, "-m", "tiny", "--hints", bad), bad.name, needle)
    assert not photo.with_name("photo_color.png").exists()


def test_hints_are_for_one_input(photo, tmp_path):
    one_line_error(invoke(tmp_path, "-m", "tiny", "--hint", "1,1,red"), "one photo or one video")


# -- the command line, end to end ------------------------------------------------------------------------

def test_cli_hint_colours_the_photo_and_reruns_see_other_hints(tmp_path):
    level = 94  # a gray whose L (39.5) is firebrick's own, so the hinted colour is in gamut
    path = tmp_path / "photo.png"
    cv2.imwrite(str(path), np.full((100, 160), level, np.uint8))
    out = tmp_path / "out.png"
    assert invoke(path, "-m", "tiny", "--hint", "120,80,#b22222", "-o", out).exit_code == 0
    assert np.abs(cv2.imread(str(out))[80, 120].astype(int) - (0x22, 0x22, 0xB2)).max() <= 3  # BGR of #b22222
    again = invoke(path, "-m", "tiny", "--hint", "120,80,navy", "-o", out)
    assert again.exit_code == 2 and "made otherwise" in again.output  # made with other hints: not "done"


def test_video_hints_apply_until_the_first_scene_cut(tmp_path):
    from conftest import make_clip

    clip = make_clip(tmp_path / "film.mp4", frames=16, cut_at=8)
    out = tmp_path / "out.mp4"
    result = invoke(clip, "-m", "tiny", "--no-smooth", "--hint", "48,32,#2040ff", "--hint-size", "16", "-o", out)
    assert result.exit_code == 0, result.output
    assert "hints applied to the first 8 frames" in result.output
    with av.open(str(out)) as container:
        frames = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
    b_values = [float(colorspace.bgr_to_lab(f[28:36, 44:52])[:, :, 2].mean()) for f in frames]
    assert max(b_values[:8]) < -20  # blue before the cut
    assert min(b_values[8:]) > -10  # automatic colour after it
