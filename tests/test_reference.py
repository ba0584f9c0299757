"""Colour from a reference photo (colorize_cli.reference): matched colours applied as soft hints over the
model's prediction; hints win over it; unusable references are one-line usage errors."""

import av
import cv2
import numpy as np
import pytest

from colorize_cli import colorspace, hints, metrics, reference
from colorize_cli.pipeline import Colorizer
from conftest import invoke, one_line_error, truth_photo

def gray_of(bgr):
    return colorspace.from_float(colorspace.bgr_to_gray_lab(bgr), np.uint8)[:, :, 0]


def with_reference(gray, ref, prior=None, given=None):
    """hints.render of `gray` over `prior` (normalised ab; default: a model that predicts gray) with `ref`."""
    given = given if given is not None else hints.Hints.none(gray.shape[:2])
    prior = np.zeros((8, 8, 2), np.float32) if prior is None else prior
    return hints.render(gray, colorspace.lightness(gray), prior, hints.Hints(given.shape, given.ys, given.xs, given.ab,
                                                                                  given.reach, ref))


def test_a_reference_of_the_photos_own_truth_reproduces_it_closely():
    truth = truth_photo()
    gray = gray_of(truth)
    out = with_reference(gray, reference.from_image(truth))
    delta = np.hypot(*(colorspace.bgr_to_lab(out)[..., 1:] - colorspace.bgr_to_lab(truth)[..., 1:]).transpose(2, 0, 1))
    assert np.median(delta) < 2.0 and delta.mean() < 4.0
    assert metrics.psnr(out, truth) > 30  # against 17.9 dB for the gray prior alone


def test_a_mirrored_crop_of_the_same_scene_still_brings_its_colours():
    truth = truth_photo((192, 256))
    gray = gray_of(truth)
    mirrored = np.ascontiguousarray(truth[19:173, 26:230][:, ::-1])
    out = with_reference(gray, reference.from_image(mirrored))
    automatic = with_reference(gray, None)
    assert metrics.psnr(out, truth) > metrics.psnr(automatic, truth) + 3


def test_no_reference_is_exactly_the_automatic_result():
    colorizer = Colorizer("tiny")
    rgb = truth_photo()[:, :, ::-1]
    automatic = colorizer.colorize(rgb)
    assert np.array_equal(colorizer.colorize(rgb, reference=None), automatic)
    assert np.array_equal(colorizer.colorize(rgb, reference=[]), automatic)


def test_hints_win_over_the_reference():
    truth = truth_photo()
    gray = gray_of(truth)
    red = hints.from_points([(64, 48, "#c03030")], gray.shape, size=5)
    out = colorspace.bgr_to_lab(with_reference(gray, reference.from_image(truth), given=red))
    lab = np.concatenate([colorspace.lightness(gray)[red.ys, red.xs, None], red.ab], axis=1)[None].astype(np.float32)
    expected = colorspace.bgr_to_lab(colorspace.from_float(colorspace.lab_to_bgr(lab), np.uint8))[0]  # red, as sRGB holds it there
    assert np.hypot(*(out[red.ys, red.xs, 1:] - expected[:, 1:]).T).max() < 2.0
    plain = colorspace.bgr_to_lab(with_reference(gray, reference.from_image(truth)))
    far = np.s_[:, :20]  # well away from the hint: the reference's colour
    assert np.abs(out[far][..., 1:] - plain[far][..., 1:]).mean() < 2.0


def test_python_api_takes_an_rgb_reference_and_several():
    colorizer = Colorizer("tiny")
    truth_rgb = truth_photo()[:, :, ::-1]
    gray = cv2.cvtColor(truth_rgb, cv2.COLOR_RGB2GRAY)
    automatic = colorizer.colorize(gray)
    out = colorizer.colorize(gray, reference=truth_rgb)
    assert metrics.psnr(out, truth_rgb) > metrics.psnr(automatic, truth_rgb) + 5
    both = colorizer.colorize(gray, reference=[truth_rgb, np.ascontiguousarray(truth_rgb[:, ::-1])])
    assert metrics.psnr(both, truth_rgb) > metrics.psnr(automatic, truth_rgb) + 3


# -- the command line ------------------------------------------------------------------------------------

@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "photo.png"
    cv2.imwrite(str(path), gray_of(truth_photo()))
    return path


def test_bad_references_are_one_line_usage_errors(photo, tmp_path):
    unreadable = tmp_path / "unreadable.jpg"
    unreadable.write_bytes(b"not an image")
    gray = tmp_path / "gray.png"
    cv2.imwrite(str(gray), gray_of(truth_photo()))
    gray_rgb = tmp_path / "gray_rgb.png"
    cv2.imwrite(str(gray_rgb), cv2.cvtColor(gray_of(truth_photo()), cv2.COLOR_GRAY2BGR))
    empty = tmp_path / "empty"
    empty.mkdir()
    for bad, needle in ((unreadable, "not a decodable image"), (gray, "gray"), (gray_rgb, "gray"),
                        (tmp_path / "missing.png", "cannot read"), (empty, "has no images")):
        one_line_error(invoke(photo, "-m", "tiny", "--reference", bad), bad.name, needle)
    assert not photo.with_name("photo_color.png").exists()


def test_cli_reference_colours_every_photo_of_a_folder_and_reruns_see_another(tmp_path):
    truth = truth_photo()
    folder = tmp_path / "scans"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), gray_of(truth))
    cv2.imwrite(str(folder / "b.png"), gray_of(cv2.resize(truth, (96, 72))))
    references = tmp_path / "references"
    references.mkdir()
    cv2.imwrite(str(references / "keyframe.png"), truth)
    (references / "README.txt").write_text("where these came from")  # not an image: not a reference
    out = tmp_path / "out"
    assert invoke(folder, "-m", "tiny", "--reference", references, "-o", out).exit_code == 0
    for name, size in (("a.png", (128, 96)), ("b.png", (96, 72))):
        result = cv2.imread(str(out / name))
        assert metrics.psnr(result, cv2.resize(truth, size, interpolation=cv2.INTER_AREA)) > 26
    other = tmp_path / "other.png"
    cv2.imwrite(str(other), truth[:, ::-1])
    again = invoke(folder, "-m", "tiny", "--reference", other, "-o", out)
    assert again.exit_code == 2 and "made otherwise" in again.output


def test_video_reference_stops_at_a_cut_to_a_scene_it_does_not_match(tmp_path):
    from conftest import make_clip

    clip = make_clip(tmp_path / "film.mp4", frames=16, cut_at=8)
    with av.open(str(clip)) as container:
        first = next(container.decode(video=0)).to_ndarray(format="bgr24")
    lab = colorspace.bgr_to_lab(first)
    lab[..., 1], lab[..., 2] = 10.0, -45.0  # the keyframe, hand-coloured blue
    keyframe = tmp_path / "keyframe.png"
    cv2.imwrite(str(keyframe), colorspace.from_float(colorspace.lab_to_bgr(lab), np.uint8))
    out = tmp_path / "out.mp4"
    result = invoke(clip, "-m", "tiny", "--no-smooth", "--reference", keyframe, "-o", out)
    assert result.exit_code == 0, result.output
    assert "the reference applied to 8 of 16 frames (1 of 2 shots)" in result.output
    with av.open(str(out)) as container:
        frames = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
    b_values = [float(colorspace.bgr_to_lab(f)[:, :, 2].mean()) for f in frames]
    assert max(b_values[:8]) < -20  # blue before the cut
    assert min(b_values[8:]) > -10  # automatic colour after it


def tinted(gray_u8, a, b):
    """A gray frame (BGR) hand-coloured with one chroma everywhere."""
    lab = colorspace.bgr_to_lab(gray_u8)
    lab[..., 1], lab[..., 2] = a, b
    return colorspace.from_float(colorspace.lab_to_bgr(lab), np.uint8)


def test_video_each_shot_takes_its_most_similar_reference(tmp_path):
    """Three shots (camera, coffee, camera again), 12 frames each (more than a reference is carried by
    optical flow before it is matched afresh), panning; a reddish keyframe of the camera scene and a bluish one
    of the coffee scene: each shot takes its own, alone (not the two mixed), the third the first's again."""
    from skimage import data

    scenes = [data.camera(), cv2.cvtColor(data.coffee(), cv2.COLOR_RGB2GRAY)]
    width, height, length = 96, 64, 12
    clip = tmp_path / "film.mp4"
    shots = [0, 1, 0]
    with av.open(str(clip), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for shot, scene in enumerate(shots):
            for i in range(length):
                gray = np.ascontiguousarray(scenes[scene][100 + i: 100 + i + height, 150 + 2 * i: 150 + 2 * i + width])
                for packet in stream.encode(av.VideoFrame.from_ndarray(np.dstack([gray] * 3), format="rgb24")):
                    container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    keyframes = []
    for scene, (a, b), name in ((0, (45.0, 25.0), "red.png"), (1, (5.0, -45.0), "blue.png")):
        first = np.ascontiguousarray(scenes[scene][100: 100 + height, 150: 150 + width])
        cv2.imwrite(str(tmp_path / name), tinted(np.dstack([first] * 3), a, b))
        keyframes += ["--reference", tmp_path / name]
    out = tmp_path / "out.mp4"
    result = invoke(clip, "-m", "tiny", "--no-smooth", *keyframes, "-o", out)
    assert result.exit_code == 0, result.output
    assert "the reference applied to 36 of 36 frames (3 of 3 shots: red.png 2, blue.png 1)" in result.output
    with av.open(str(out)) as container:
        frames = [colorspace.bgr_to_lab(f.to_ndarray(format="bgr24")) for f in container.decode(video=0)]
    a_values = np.array([float(f[:, :, 1].mean()) for f in frames]).reshape(3, length)
    b_values = np.array([float(f[:, :, 2].mean()) for f in frames]).reshape(3, length)
    for shot in (0, 2):  # red: not pulled towards the blue keyframe
        assert a_values[shot].min() > 30 and b_values[shot].min() > 10, (a_values[shot], b_values[shot])
    assert b_values[1].max() < -30 and a_values[1].max() < 15, (a_values[1], b_values[1])  # blue
